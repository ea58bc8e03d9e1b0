"""``tilsite init``: make an existing TIL repository a tilsite site without touching its notes.

Writes ``mkdocs.yml`` (notes read in place through the plugin's ``notes_dir``), a
GitHub Actions workflow that publishes to GitHub Pages, and ``.gitignore`` entries
for the build output. Nothing here imports MkDocs.
"""

from __future__ import annotations

import posixpath
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tilsite.errors import ConfigError
from tilsite.notes.sources import scan_notes
from tilsite.notes.wikilinks import obsidian_vault, uses_wiki_links
from tilsite.workdir import DEFAULT_NAME, PLACEHOLDER_DOCS

WORK_DIR = DEFAULT_NAME
PLACEHOLDER_DOCS_DIR = f"{WORK_DIR}/{PLACEHOLDER_DOCS}"
"""MkDocs refuses the repository root as docs_dir and insists docs_dir exists; tilsite creates this empty one."""
WORKFLOW_PATH = ".github/workflows/tilsite.yml"
_GITHUB_REMOTE = re.compile(r"github\.com[:/]+(?P<owner>[\w.-]+)/(?P<repo>[\w.-]+?)(?:\.git)?/?$")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_TEMPLATES = re.compile(r"^[\W\d_]*(?:templates?|템플릿)$", re.IGNORECASE)
"""A folder of Obsidian templates: ``Templates``, ``05 - Template``, ``_템플릿``."""
_HUGO_CONFIGS = ("hugo.toml", "hugo.yaml", "hugo.yml", "hugo.json", "config.toml")
"""A Hugo site's configuration, beside its ``archetypes`` (templates of new posts)."""
_INSTRUCTIONS = frozenset({"CLAUDE.md", "AGENTS.md", "GEMINI.md", "copilot-instructions.md"})
"""Files that tell coding assistants how to work in the repository: not notes."""


@dataclass(slots=True)
class InitResult:
    """What ``init_repository`` wrote and found."""

    written: list[str] = field(default_factory=list)
    """Files written, relative to the repository."""
    notes: int = 0
    """Markdown notes found."""
    notebooks: int = 0
    """Notebooks found (published as pages)."""
    assets: int = 0
    """Images and other files notes can link to."""
    folders: list[str] = field(default_factory=list)
    """Top-level folders with notes."""
    korean: bool = False
    """Whether the notes contain Hangul (Korean search is turned on)."""
    language: str = "en"
    """The language the site speaks to its readers (``theme.language``): ``ko`` for Korean notes, ``ja`` for
    notes with kana, ``zh`` for notes mostly in Chinese characters, else ``en``."""
    templates: list[str] = field(default_factory=list)
    """Folders of templates (Obsidian's ``Templates``, ``05 - Template``, ``_템플릿``; Hugo's ``archetypes``), left
    out of the site."""
    instructions: list[str] = field(default_factory=list)
    """Files of instructions for coding assistants (``CLAUDE.md``, ``AGENTS.md``), left out of the site."""
    wiki: bool = False
    """Whether the notes are an Obsidian vault or link each other by wiki links (``[[Note]]``)."""
    site_url: str | None = None
    """The GitHub Pages address, when ``origin`` is a GitHub remote."""
    skipped: str = ""
    """What was left out, counted by suffix, in one line."""
    outside: list[str] = field(default_factory=list)
    """Symbolic links that lead out of the repository (or round in a loop): never read."""


def github_urls(remote: str) -> tuple[str, str] | None:
    """(Pages URL, repository URL) for a GitHub remote such as ``git@github.com:me/TIL.git``."""
    match = _GITHUB_REMOTE.search(remote.strip())
    if not match:
        return None
    owner, repo = match.group("owner"), match.group("repo")
    pages = f"https://{owner.lower()}.github.io/"
    if repo.lower() != f"{owner.lower()}.github.io":
        pages += f"{repo}/"
    return pages, f"https://github.com/{owner}/{repo}"


def _git(root: Path, *args: str) -> str:
    try:
        result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


def _yaml_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


_KANA = re.compile(r"[\u3041-\u30ff]")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")
CHINESE_SHARE = 0.2
"""Notes whose letters are at least this share Chinese characters (and no kana or Hangul) are in Chinese."""


def notes_language(texts: list[str]) -> str:
    """The language of the notes, for the theme: ``ko`` (any Hangul, as Korean search is set up then), ``ja`` (kana
    in a few notes), ``zh`` (Chinese characters make up ``CHINESE_SHARE`` of their letters), else ``en``."""
    if any(_HANGUL.search(text) for text in texts):
        return "ko"
    if sum(bool(_KANA.search(text)) for text in texts) >= max(1, len(texts) // 20):
        return "ja"
    han = sum(len(_HAN.findall(text)) for text in texts)
    latin = sum(len(_LATIN.findall(text)) for text in texts)
    return "zh" if han and han >= CHINESE_SHARE * (han + latin) else "en"


def mkdocs_yml(
    site_name: str,
    korean: bool,
    site_url: str | None = None,
    repo_url: str | None = None,
    branch: str = "main",
    wiki: bool = False,
    templates: tuple[str, ...] = (),
    language: str | None = None,
    instructions: tuple[str, ...] = (),
) -> str:
    """The ``mkdocs.yml`` for a repository whose notes stay where they are; ``wiki``: notes written in
    Obsidian (or with its wiki links), whose ``==highlights==`` are shown too; ``templates``: the folders of its
    templates, left out of the site."""
    lines = [
        "# Written by `tilsite init`. Your notes are read where they are (tilsite `notes_dir` below);",
        "# the navigation follows your folders and is rebuilt on every build, so new notes appear by themselves.",
        f"site_name: {_yaml_string(site_name)}",
    ]
    if site_url:
        lines.append(f"site_url: {site_url}")
    if repo_url:
        lines += [
            "# Material links to the repository and shows its stars and forks, which the visitor's browser asks",
            "# api.github.com for. Without these two lines the site loads nothing from other origins.",
            f"repo_url: {repo_url}",
            f"edit_uri: edit/{branch}/",
        ]
    lines += [
        "# MkDocs cannot build from the repository root itself: this empty folder stands in for docs_dir",
        "# (tilsite creates it) and the notes come from notes_dir.",
        f"docs_dir: {PLACEHOLDER_DOCS_DIR}",
        "site_dir: site",
        "",
        "theme:",
        "  name: material",
        f"  language: {language or ('ko' if korean else 'en')}  # what tilsite and the theme write in the pages",
        "  font: false  # the system's fonts, not Google Fonts",
        "  features:",
        "    # Each page holds only the part of the navigation it shows (no navigation.sections, which shows",
        "    # every top-level folder open): with every note in every page, 2,000 notes take gigabytes.",
        "    - navigation.prune",
        "    # Pages open without a full page load (when site_url is set): search by meaning keeps its model.",
        "    - navigation.instant",
        "    - navigation.top",
        "    - search.highlight",
        "  palette:",
        '    - media: "(prefers-color-scheme: light)"',
        "      scheme: default",
        "      toggle:",
        "        icon: material/brightness-7",
        "        name: Dark mode",
        '    - media: "(prefers-color-scheme: dark)"',
        "      scheme: slate",
        "      toggle:",
        "        icon: material/brightness-4",
        "        name: Light mode",
        "",
        "# Notes render as on GitHub: tables, footnotes, task lists, ~~strikethrough~~, bare URLs as links,",
        "# and (tilsite's github_markdown below) lists nested by 2 spaces, lists right under a paragraph,",
        "# Markdown between HTML blocks such as <details>, alerts (> [!NOTE]) and Obsidian's callouts",
        "# (> [!tip]- folds) as admonitions, math ($x$, $$...$$, ```math) as MathML that browsers show",
        "# without a script, and Obsidian's [[wiki links]] and ![[embeds]] as links and images.",
        "markdown_extensions:",
        "  - toc:",
        "      permalink: true",
        "      # Keep Korean in heading ids, so GitHub-style links such as DAY56.md#project-생성하기 resolve.",
        "      slugify: !!python/name:markdown.extensions.toc.slugify_unicode",
        "  - admonition",
        "  - pymdownx.details",
        "  - tables",
        "  - footnotes",
        "  - sane_lists",
        "  - pymdownx.highlight",
        "  - pymdownx.superfences",
        "  - pymdownx.tasklist:",
        "      custom_checkbox: true",
        "  - pymdownx.tilde:",
        "      subscript: false",
        "  - pymdownx.magiclink",
        "  # :tada: as GitHub shows it: the emoji itself (no images to download).",
        "  - pymdownx.emoji:",
        "      emoji_index: !!python/name:pymdownx.emoji.gemoji",
        "      emoji_generator: !!python/name:pymdownx.emoji.to_alt",
        *(["  # ==highlights== as Obsidian shows them.", "  - pymdownx.mark"] if wiki else []),
        "",
    ]
    if templates or instructions:
        lines += [
            "# Templates (Obsidian's, Hugo's archetypes) and instructions for coding assistants are not notes: left",
            "# out of the site and of related notes and search (delete these lines to publish them).",
            "exclude_docs: |",
            *(f"  /{_gitignore_escaped(folder)}/" for folder in templates),
            *(f"  /{_gitignore_escaped(path)}" for path in instructions),
            "",
        ]
    lines += [
        "validation:",
        "  links:",
        "    # `/img/x.png` means the repository root, as on GitHub; it becomes a relative URL,",
        "    # so the site also works under a sub-path such as https://user.github.io/TIL/.",
        "    absolute_links: relative_to_docs",
        "  anchors: warn",
        "",
        "plugins:",
        "  - search:",
        f"      lang: [{'en, ko' if korean else 'en'}]",
        "  - tilsite:",
        "      notes_dir: .",
        f"      work_dir: {WORK_DIR}",
        "      github_markdown: true",
        "",
    ]
    return "\n".join(lines)


_RELEASE = re.compile(r"\d+(?:\.\d+)*(?:(?:a|b|rc)\d+)?")
"""A version a release tag is made for (not ``0.3.0.dev1`` or ``0.2.0+local``)."""


def action_reference() -> str:
    """The GitHub Action of the tilsite that is running, pinned to its version (``owner/repo@v0.2.0``), from the
    package's ``[project.urls]``: a workflow it writes builds with the same tilsite."""
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        info = metadata("tilsite")
    except PackageNotFoundError as exc:
        raise ConfigError(
            "tilsite is not installed as a package; install it (pip install -e .) and run again."
        ) from exc
    urls = [entry.split(",", 1)[1].strip() for entry in info.get_all("Project-URL") or [] if "," in entry]
    repository = next((url for url in urls if _GITHUB_REMOTE.search(url)), None)
    match = _GITHUB_REMOTE.search(repository or "")
    if match is None:
        raise ConfigError("tilsite's package names no GitHub repository; pass --action OWNER/REPO@VERSION.")
    version = info["Version"]
    if not _RELEASE.fullmatch(version):
        raise ConfigError(
            f"tilsite {version} is not a released version, so no tag pins its action; pass --action"
            f" {match.group('owner')}/{match.group('repo')}@REF (a tag, branch or commit)."
        )
    return f"{match.group('owner')}/{match.group('repo')}@v{version}"


def pages_workflow(action: str, branch: str = "main", install: str = "", strict: bool = False) -> str:
    """A GitHub Actions workflow: on every push to ``branch``, build the site with the tilsite ``action``
    (``owner/repo@version``, or ``./`` for the action in the repository itself) and deploy it to GitHub Pages.

    ``install`` is what the action installs for tilsite instead of its own copy (a PyPI spec, a Git URL);
    ``strict`` fails the build on broken links and anchors instead of reporting them.
    """
    inputs = [f"          strict: {'true' if strict else 'false'}"]
    if not strict:
        inputs[0] += "  # true: a broken link or anchor in a note fails the build (and nothing is published)"
    if install:
        inputs.append(f"          install: {_yaml_string(install)}")
    with_lines = "\n".join(inputs)
    return f"""# Builds the TIL site on every push to {branch} and publishes it to GitHub Pages.
# Enable it once: repository Settings > Pages > Build and deployment > Source: GitHub Actions.
name: Publish site

on:
  push:
    branches: [{branch}]
  workflow_dispatch:

permissions:
  contents: read
  pages: write
  id-token: write

concurrency:
  group: pages
  cancel-in-progress: false

jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          # Whole history: a note with no date in its front matter or name is dated by its first commit.
          fetch-depth: 0
      # Installs tilsite (this version), keeps the model and the notes' embeddings between runs (an
      # unchanged note is never embedded again), builds the site and uploads it for GitHub Pages.
      - uses: {action}
        with:
{with_lines}

  deploy:
    needs: build
    runs-on: ubuntu-latest
    environment:
      name: github-pages
      url: ${{{{ steps.deployment.outputs.page_url }}}}
    steps:
      - id: deployment
        uses: actions/deploy-pages@v4
"""


def init_repository(root: Path, install: str = "", force: bool = False, action: str | None = None) -> InitResult:
    """Write mkdocs.yml, the Pages workflow and .gitignore entries into the repository at ``root``.

    Raises ``ConfigError`` when ``root`` is not a folder, holds no notes, or already has
    ``mkdocs.yml`` or the workflow (unless ``force``).
    """
    if not root.is_dir():
        raise ConfigError(f"{root}: not a folder. Give the path of your TIL repository.")
    config_path = root / "mkdocs.yml"
    workflow_path = root / WORKFLOW_PATH
    for path in (config_path, workflow_path):
        if path.exists() and not force:
            raise ConfigError(f"{path}: already exists; remove it or pass --force to overwrite it.")
    scan = scan_notes(root, (root / "site", root / WORK_DIR, config_path))
    pages = [file for file in scan.files if file.kind == "page"]
    notebooks = [file for file in scan.files if file.kind == "notebook"]
    if not pages and not notebooks:
        raise ConfigError(f"{root}: no Markdown notes or notebooks found; run tilsite init in your TIL repository.")
    result = InitResult(
        notes=len(pages),
        notebooks=len(notebooks),
        assets=len(scan.files) - len(pages) - len(notebooks),
        folders=sorted({file.uri.split("/", 1)[0] for file in scan.pages if "/" in file.uri}),
        skipped=scan.skipped_summary(),
        outside=scan.outside,
    )
    texts = [file.path.read_text("utf-8", errors="ignore")[:20_000] for file in pages[:200]]
    result.language = notes_language(texts)
    result.korean = result.language == "ko"  # any Hangul
    notes = {file.uri: text for file, text in zip(pages, texts, strict=False)}
    result.wiki = uses_wiki_links(notes, obsidian_vault(root))
    folders = {posixpath.dirname(file.uri) for file in pages}
    if result.wiki:
        result.templates = sorted(folder for folder in folders if _TEMPLATES.match(posixpath.basename(folder)))
    if "archetypes" in folders and any((root / name).is_file() for name in _HUGO_CONFIGS):
        result.templates.append("archetypes")  # Hugo's templates of new posts
    result.instructions = sorted(file.uri for file in pages if posixpath.basename(file.uri) in _INSTRUCTIONS)
    urls = github_urls(_git(root, "remote", "get-url", "origin"))
    result.site_url = urls[0] if urls else None
    branch = _git(root, "symbolic-ref", "--short", "HEAD") or "main"
    site_name = _site_name(root.resolve().name, urls[1] if urls else None)
    workflow = pages_workflow(action or action_reference(), branch, install)
    config_path.write_text(
        mkdocs_yml(
            site_name,
            result.korean,
            result.site_url,
            urls[1] if urls else None,
            branch,
            result.wiki,
            tuple(result.templates),
            result.language,
            tuple(result.instructions),
        ),
        encoding="utf-8",
    )
    result.written.append("mkdocs.yml")
    workflow_path.parent.mkdir(parents=True, exist_ok=True)
    workflow_path.write_text(workflow, encoding="utf-8")
    result.written.append(WORKFLOW_PATH)
    if _ensure_ignored(root / ".gitignore", ["site/", f"{WORK_DIR}/"]):
        result.written.append(".gitignore")
    (root / PLACEHOLDER_DOCS_DIR).mkdir(parents=True, exist_ok=True)
    return result


def _site_name(folder: str, repo_url: str | None) -> str:
    """``TIL`` for a repository named ``TIL`` (``kim TIL`` when its GitHub owner is known), the name as it is
    when it says TIL already (``my-til``), else the name followed by ``TIL``."""
    if folder.lower() == "til":
        owner = repo_url.rstrip("/").split("/")[-2] if repo_url else ""
        return f"{owner} TIL" if owner else "TIL"
    if re.search(r"(?i)(?<![a-z])til(?![a-z])", folder):
        return folder
    return f"{folder} TIL"


def _ensure_ignored(path: Path, patterns: list[str]) -> bool:
    """Append the ``patterns`` missing from ``.gitignore``; return whether the file changed."""
    existing = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    present = {line.strip() for line in existing.splitlines()}
    missing = [pattern for pattern in patterns if pattern not in present and pattern.rstrip("/") not in present]
    if not missing:
        return False
    prefix = "" if not existing or existing.endswith("\n") else "\n"
    path.write_text(existing + prefix + "# tilsite build output\n" + "\n".join(missing) + "\n", encoding="utf-8")
    return True


def _gitignore_escaped(path: str) -> str:
    """``path`` as a pattern of ``exclude_docs`` (gitignore syntax) that matches it alone."""
    return re.sub(r"([\\*?\[\]!#])", r"\\\1", path)
