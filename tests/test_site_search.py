"""Search on the published site: compact index files, the browser model, and a real browser (Chromium)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest
from click.testing import CliRunner

from tilsite.cli import cli
from tilsite.model.browser import kept_piece_ids
from tilsite.results.keywords import KeywordRanker
from tilsite.site.build import DIAGRAMS_LICENSE, DIAGRAMS_SCRIPT
from tilsite.site.published import ASSETS, SEARCH_DIR, VENDOR, quantize_rows

from .conftest import FakeEmbedder
from .helpers import ROOT, browse, copy_sample_site, node, serving

QUERIES = [
    "과적합 막는 법",
    "모델이 학습 데이터를 외워버릴 때",
    "how to undo changes to a branch history",
    "파이썬 가상환경 만들기",
    "HTTP 상태 코드 의미",
    "git 브랜치 합치기",
    "list comprehension 문법",
    "학습률 조절하기",
]


def _build(project: Path) -> str:
    result = CliRunner().invoke(cli, ["build", "-f", str(project / "mkdocs.yml")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


# -- compact files, with the fake model ---------------------------------------------------------------------------


def test_the_build_says_how_to_keep_the_search_model_from_page_to_page(site: Path, fake_model: FakeEmbedder) -> None:
    hint = "set site_url and add navigation.instant"
    assert hint in _build(site)  # the fixture has neither
    config = site / "mkdocs.yml"
    features = "  name: material\n  features:\n    - navigation.instant\n"
    text = config.read_text(encoding="utf-8").replace("  name: material\n", features)
    config.write_text(f"site_url: https://example.org/til/\n{text}", encoding="utf-8")
    assert hint not in _build(site)


def test_quantized_rows_keep_cosine_order() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(50, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    codes, scales = quantize_rows(vectors)
    assert codes.dtype == np.int8 and scales.dtype == np.float32
    restored = codes.astype(np.float32) * scales[:, None]
    assert np.abs(restored - vectors).max() <= scales.max() / 2 + 1e-7
    query = vectors[7]
    assert int(np.argmax(restored @ query)) == 7


def test_published_vectors_are_kept_for_the_index_content(tmp_path: Path) -> None:
    from tilsite.index.cache import EmbeddingCache
    from tilsite.index.store import SectionIndex, SectionRecord
    from tilsite.results.search import query_shifts
    from tilsite.site.published import FORMAT_VERSION, search_files

    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(6, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    records = [SectionRecord(f"n{i}.md", "T", "H", "h", f"n{i}/#h", "s", "t", str(i)) for i in range(6)]
    cache = EmbeddingCache(tmp_path / "cache.sqlite")

    def published(index: SectionIndex) -> dict[str, bytes | None]:
        files = search_files(index, None, cache)
        return {item.uri.rsplit("/", 1)[1]: item.content for item in files if item.content is not None}

    def never() -> np.ndarray:
        raise AssertionError("the vectors were not needed")

    def kept() -> bytes | None:
        return cache.get_derived("published vectors", f"{FORMAT_VERSION}-{'c' * 64}")

    expected = published(SectionIndex("m", records, vectors))  # no content hash: nothing kept
    assert kept() is None
    # The browser shifts queries as the CLI does (search.query_shifts), to five decimals.
    shifts = json.loads(expected["index.json"] or b"")["query_shifts"]
    assert set(shifts) == {"", "latin"}
    for name, shift in query_shifts(SectionIndex("m", records, vectors)).items():
        np.testing.assert_allclose(shifts[name], shift, atol=1e-5)
    first = published(SectionIndex("m", records, vectors, "c" * 64))
    assert first == expected and kept() is not None
    assert published(SectionIndex("m", records, never, "c" * 64)) == expected
    cache.put_derived(
        "published vectors", f"{FORMAT_VERSION}-{'c' * 64}", b"\0" * 7
    )  # damaged: not a whole number of rows
    assert published(SectionIndex("m", records, vectors, "c" * 64)) == expected
    published(SectionIndex("m", records[:5], vectors[:5], "d" * 64))
    assert kept() is None  # one kept at a time: the last index's
    cache.close()


def test_site_gets_keyword_search_files_with_content_hashed_names(site: Path, fake_model: FakeEmbedder) -> None:
    _build(site)
    folder = site / "site" / SEARCH_DIR
    settings = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    # The fake model has no browser copy: the site searches by keywords, and says so.
    assert settings["model"] is None
    sections = (folder / settings["sections"]).read_bytes()
    vectors = (folder / settings["vectors"]).read_bytes()
    assert settings["sections"] == f"sections-{hashlib.sha256(sections).hexdigest()[:16]}.json"
    assert settings["vectors"] == f"vectors-{hashlib.sha256(vectors).hexdigest()[:16]}.bin"
    records = json.loads(sections)
    assert len(records) == settings["count"] > 0
    assert len(vectors) == settings["count"] * (settings["dimension"] + 4)
    for name in ("search-ui.js", "search-core.js", "search-worker.js", *(f"vendor/{v}" for v in VENDOR)):
        assert (folder / name).is_file(), name
    page = (site / "site" / "index.html").read_text(encoding="utf-8")
    assert f'<script src="{SEARCH_DIR}/search-ui.js" type="module">' in page
    # A rebuild with nothing changed keeps every file name, so browsers keep them cached.
    _build(site)
    assert json.loads((folder / "index.json").read_text(encoding="utf-8")) == settings


def test_site_search_can_be_turned_off(site: Path, fake_model: FakeEmbedder) -> None:
    config = site / "mkdocs.yml"
    config.write_text(config.read_text(encoding="utf-8").replace("- tilsite:", "- tilsite:\n      site_search: false"))
    _build(site)
    assert not (site / "site" / SEARCH_DIR).exists()
    assert "search-ui.js" not in (site / "site" / "index.html").read_text(encoding="utf-8")


def test_javascript_keyword_ranking_matches_python() -> None:
    documents = [
        "과적합을 막으려면 정규화와 dropout 을 쓴다",
        "Git rebase rewrites history; git merge keeps it",
        "파이썬 가상환경은 venv 로 만든다. state_dict 저장",
        "HTTP 404 는 페이지가 없다는 뜻",
        "과적합 과적합 과적합 early-stopping",
    ]
    queries = [
        "과적합이 뭐야",
        "git merge",
        "state_dict",
        "venv 가상환경",
        "404",
        "없는 단어",
        "how to rebase a branch",
    ]
    results = json.loads(node("keywords.mjs", stdin=json.dumps({"documents": documents, "queries": queries})))
    ranker = KeywordRanker(documents)
    for query, in_js in zip(queries, results, strict=True):
        in_python = ranker.rank(query, 10)
        assert [position for position, _ in in_python] == [position for position, _ in in_js["ranked"]], query
        assert [score for _, score in in_python] == pytest.approx([score for _, score in in_js["ranked"]], rel=1e-9)
        # The hybrid ranking's keyword weight follows the share of the query's terms the notes hold, in both.
        assert ranker.known_share(query) == pytest.approx(in_js["known"], rel=1e-12), query
    assert ranker.known_share("how to rebase a branch") == pytest.approx(1 / 5)  # only "rebase" is in the notes
    assert ranker.known_share("없는 단어") == 0.0


def test_vendored_browser_files_are_the_pinned_npm_packages() -> None:
    sources = {
        "transformers.min.js": "@huggingface/transformers/dist/transformers.min.js",
        "ort-wasm-simd-threaded.js": "onnxruntime-web/dist/ort-wasm-simd-threaded.mjs",
        "ort-wasm-simd-threaded.wasm": "onnxruntime-web/dist/ort-wasm-simd-threaded.wasm",
    }
    assert set(sources) == set(VENDOR)
    for name, source in sources.items():
        installed = ROOT / "node_modules" / source
        assert installed.is_file(), f"{installed} is missing: run `npm ci --ignore-scripts`"
        assert (ASSETS / "vendor" / name).read_bytes() == installed.read_bytes(), name
    # The script that draws the notes' diagrams, vendored the same way.
    installed = ROOT / "node_modules" / "mermaid" / "dist" / DIAGRAMS_SCRIPT.name
    assert installed.is_file(), f"{installed} is missing: run `npm ci --ignore-scripts`"
    assert DIAGRAMS_SCRIPT.read_bytes() == installed.read_bytes()
    assert DIAGRAMS_LICENSE.read_bytes() == (ROOT / "node_modules" / "mermaid" / "LICENSE").read_bytes()


def test_kept_vocabulary_always_holds_required_pieces_and_single_characters() -> None:
    vocab = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab += [("▁가", -5.0), ("나", -6.0), ("▁abc", -3.0), ("▁abd", -9.0), ("▁漢字", -1.0), ("x", -20.0)]
    vocab += [("▁rare", -30.0)]
    keep = kept_piece_ids(vocab, required={10}, budget=9)
    pieces = [vocab[index][0] for index in keep]
    assert pieces == ["<s>", "<pad>", "</s>", "<unk>", "▁가", "나", "▁abc", "x", "▁rare"]


def test_kept_vocabulary_takes_ascii_hangul_and_common_symbols_only() -> None:
    vocab = [("<s>", 0.0), ("▁·", -1.0), ("→", -1.0), ("“", -1.0), ("…", -1.0), ("▁ㄱㄴ", -1.0), ("ᄀ", -1.0)]
    vocab += [("▁a→b", -2.0), ("▁привет", -1.0), ("▁😀", -1.0), ("漢", -1.0), ("▁é", -1.0), ("\u3000", -1.0)]
    pieces = [vocab[index][0] for index in kept_piece_ids(vocab, budget=100)]
    # Symbols below U+3000 (é is a letter, U+3000 a space), Hangul and jamo; no Cyrillic, emoji or Han.
    assert pieces == ["<s>", "▁·", "→", "“", "…", "▁ㄱㄴ", "ᄀ", "▁a→b"]


def test_keyword_search_in_the_browser_shows_note_text_as_text(site: Path, fake_model: FakeEmbedder) -> None:
    markup = '<img src=x onerror="window.tilsiteInjected=1"><b>zebra</b>'
    note = f"# 마크업 노트\n\n## `{markup}` 태그\n\nzebra 얼룩말 `<script>window.tilsiteInjected=2</script>`\n"
    (site / "docs" / "markup.md").write_text(note, encoding="utf-8")
    _build(site)
    with serving(site / "site") as url:
        output = _browse(url, ["zebra 얼룩말"], expect="keyword")
    result = output["results"][0]
    # The fake model has no browser copy: keyword results, and the box says why there are no others.
    assert result["kind"] == "keyword"
    assert "no browser copy" in result["status"]
    assert result["hits"][0]["heading"] == f"{markup} 태그"
    assert output["injected"] == {"flag": None, "elements": 0}
    assert not any("/models/" in url for url in output["requests"])


# -- the real model in a real browser -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = copy_sample_site(tmp_path_factory.mktemp("browser") / "sample")
    _build(project)
    return project


@pytest.fixture(scope="module")
def served(built_sample: Path) -> Iterator[str]:
    with serving(built_sample / "site") as url:
        yield url


def _browse(url: str, queries: list[str], **options: object) -> dict:
    return browse("search.mjs", {"url": url, "queries": queries, "wait_ms": 120_000, **options})


def _site_path(url: str) -> str:
    parts = urlsplit(url)
    return unquote(parts.path.lstrip("/")) + (f"#{unquote(parts.fragment)}" if parts.fragment else "")


@pytest.mark.real_model
def test_cut_vocabulary_tokenises_the_notes_exactly_and_javascript_agrees(built_sample: Path) -> None:
    from tokenizers import Tokenizer

    from tilsite.index.store import load_index
    from tilsite.model.browser import ensure_browser_model
    from tilsite.model.store import ModelStore
    from tilsite.site.published import record_texts

    store = ModelStore()
    folder = store.ensure()
    texts = [*record_texts(load_index(built_sample / ".tilsite" / "index").records), "query: "]
    web, _ = ensure_browser_model(store, texts, {})
    full, cut = Tokenizer.from_file(str(folder / "tokenizer.json")), Tokenizer.from_file(str(web / "tokenizer.json"))
    assert cut.get_vocab_size() < full.get_vocab_size() // 8
    for text in texts:
        assert cut.encode(text).tokens == full.encode(text).tokens, text
    # Common technical English that the notes never use keeps its pieces too (tilsite/data/common_pieces.txt).
    english = "query: the generator uses less memory; login conflict changes the layout of the database server"
    assert cut.encode(english).tokens == full.encode(english).tokens
    # Words the notes never use still become pieces of Hangul or ASCII, never <unk>.
    unseen = ["query: 쥐며느리와 공룡의 관계", "query: zymurgy quokka"]
    assert all("<unk>" not in cut.encode(text).tokens for text in unseen)
    in_js = json.loads(node("tokenize.mjs", str(web), stdin=json.dumps(texts + unseen)))
    assert in_js == [cut.encode(text).ids for text in texts + unseen]


@pytest.mark.real_model
def test_browser_answers_by_meaning_like_the_cli_and_stays_on_the_site(built_sample: Path, served: str) -> None:
    output = _browse(served + "git/branch-merge/", QUERIES, follow=True, keyboard=True)
    # Nothing left the site's origin (the worker's blob: URLs belong to it too).
    origin = served.rstrip("/")
    assert all(url.removeprefix("blob:").startswith(origin) for url in output["requests"]), output["requests"]
    assert any("/models/" in url and url.endswith(".onnx") for url in output["requests"])
    assert not [line for line in output["console"] if line.startswith(("error", "pageerror"))], output["console"]
    config = str(built_sample / "mkdocs.yml")
    overlaps = []
    for result in output["results"]:
        assert result["kind"] == "hybrid", result
        cli_hits = json.loads(
            CliRunner().invoke(cli, ["search", "-f", config, result["query"], "--top", "5", "--json"]).output
        )
        in_browser = [_site_path(hit["url"]) for hit in result["hits"][:5]]
        on_cli = [hit["url"].removeprefix("./") for hit in cli_hits]
        # Close calls may swap places (the browser model is int8), but the best hit is among the CLI's best three.
        assert in_browser[0] in on_cli[:3], (result["query"], in_browser, on_cli)
        overlaps.append(len(set(in_browser) & set(on_cli)) / 5)
    assert sum(overlaps) / len(overlaps) >= 0.9, overlaps
    first = output["results"][0]
    assert _site_path(first["hits"][0]["url"]).startswith("ml/overfitting/#")
    # The first hit's link opens the note at the matching heading; arrow keys reach the results.
    assert output["followed"]["found"], output["followed"]
    assert output["focused"] == output["results"][-1]["hits"][0]["url"]


@pytest.mark.real_model
def test_without_webassembly_keyword_results_still_come_and_the_box_says_why(served: str) -> None:
    output = _browse(served, ["과적합"], wasm=False)
    result = output["results"][0]
    assert result["kind"] == "keyword"
    # The site is Korean, so the box says so in Korean, and why in its own words.
    assert "의미 검색을 쓸 수 없음: this browser has no WebAssembly" in result["status"], result["status"]
    assert _site_path(result["hits"][0]["url"]).startswith("ml/overfitting/")
    assert not any(url.endswith(".onnx") for url in output["requests"])


@pytest.mark.real_model
def test_the_model_stays_loaded_from_page_to_page_with_instant_navigation(tmp_path: Path) -> None:
    project = copy_sample_site(tmp_path / "sample")
    (project / "site").mkdir()
    with serving(project / "site") as url:
        # Material's instant navigation needs site_url (its sitemap says which links it may open in place).
        config = project / "mkdocs.yml"
        config.write_text(f"site_url: {url}\n" + config.read_text(encoding="utf-8"), encoding="utf-8")
        _build(project)
        output = _browse(url, ["과적합 막는 법"], next_click="git/rebase-vs-merge/", next_query="git 브랜치 합치기")
    second = output["second"]
    assert second["url"] == url + "git/rebase-vs-merge/"
    assert second["samePage"], "the second page was a full page load"
    assert [hit for hit in second["hits"] if "/git/" in hit], second["hits"]
    # One model download and one load for both pages: the second page's query waited for no model.
    assert len([request for request in output["requests"] if request.endswith(".onnx")]) == 1, output["requests"]
    assert second["stats"]["loadMs"] == output["results"][0]["stats"]["loadMs"]


@pytest.mark.real_model
def test_after_a_full_page_load_the_model_loads_without_waiting_for_the_search_box(served: str) -> None:
    second_page = served + "git/rebase-vs-merge/"
    output = _browse(
        served, ["과적합 막는 법"], next_url=second_page, next_query="git 브랜치 합치기", next_wait_ready=True
    )
    second = output["second"]
    assert not second["samePage"]  # no site_url here: a full page load, and the model loaded again ...
    assert second["stats"]["loadMs"] > 0  # ... by itself, before the search box was touched (the visitor had
    assert [hit for hit in second["hits"] if "/git/" in hit], second["hits"]  # searched by meaning before)
