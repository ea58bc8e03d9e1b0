"""The ``tilsite`` command line."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tilsite.errors import ConfigError, TilsiteError, os_error_message
from tilsite.site.messages import WarningGroups

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig

    from tilsite.index.pipeline import BuildReport
    from tilsite.index.store import SectionIndex
    from tilsite.model.models import EmbeddingModel
    from tilsite.plugin.plugin import TilsitePlugin
    from tilsite.site.build import Settings


def config_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """The ``-f/--config-file`` option shared by every command."""
    return click.option(
        "-f",
        "--config-file",
        type=click.Path(dir_okay=False, path_type=Path),
        default="mkdocs.yml",
        show_default=True,
        envvar="TILSITE_CONFIG",
        help="The site's mkdocs.yml; tilsite reads its settings from the `tilsite` plugin entry.",
    )(function)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn tilsite's own errors, and the file system's, into one-line CLI errors."""
    try:
        yield
    except TilsiteError as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:
        raise click.ClickException(os_error_message(exc)) from exc


def utf8_text(context: click.Context, parameter: click.Parameter, value: str | None) -> Any:
    """Refuse text that is not UTF-8 (a terminal in another encoding), with one line saying so."""
    try:
        if value is not None:
            value.encode("utf-8")
    except UnicodeEncodeError:
        name = (parameter.name or "text").upper()
        raise click.ClickException(
            f"{name} is not UTF-8 text; set your terminal to UTF-8 (for example LANG=C.UTF-8) and try again."
        ) from None
    return value


def load_site(config_file: Path, **overrides: Any) -> tuple[MkDocsConfig, Settings]:
    """Load mkdocs.yml and the tilsite settings declared in it."""
    from mkdocs.config import load_config
    from mkdocs.exceptions import ConfigurationError

    from tilsite.plugin.config import settings_from_config

    if not config_file.is_file():
        raise ConfigError(f"{config_file}: not found. Run tilsite in the folder of your mkdocs.yml, or pass -f.")
    _make_placeholder_docs_dir(config_file)
    try:
        config = load_config(config_file=str(config_file), **overrides)
    except ConfigurationError as exc:
        raise ConfigError(f"{config_file}: {exc}") from exc
    plugin = _plugin(config)
    if plugin is None:
        raise ConfigError(f"{config_file}: add `- tilsite` under `plugins:` to use tilsite with this site.")
    return config, settings_from_config(config, plugin.config)


def _plugin(config: MkDocsConfig) -> TilsitePlugin | None:
    from tilsite.plugin.plugin import TilsitePlugin

    plugin = config.plugins.get("tilsite")
    return plugin if isinstance(plugin, TilsitePlugin) else None


def _make_placeholder_docs_dir(config_file: Path) -> None:
    """Create the empty docs_dir a ``notes_dir`` site names (MkDocs insists that it exists)."""
    from mkdocs.utils.yaml import yaml_load

    try:
        with config_file.open("rb") as stream:
            raw = yaml_load(stream)
    except Exception:  # load_config reports a broken file properly
        return
    if not isinstance(raw, dict) or not isinstance(raw.get("docs_dir"), str):
        return
    entries = raw.get("plugins") or []
    uses_notes_dir = any(
        isinstance(entry, dict) and isinstance(entry.get("tilsite"), dict) and entry["tilsite"].get("notes_dir")
        for entry in (entries if isinstance(entries, list) else [entries])
    )
    if uses_notes_dir:
        (config_file.parent / raw["docs_dir"]).mkdir(parents=True, exist_ok=True)


class _Output:
    """What the CLI prints on stderr besides log lines: the embedding progress, and warnings held back
    to be printed grouped by kind (``--verbose`` prints each one as it comes)."""

    def __init__(self) -> None:
        self.groups: WarningGroups | None = None
        self.progress_open = False
        """A progress bar is drawn on the current terminal line (a log line must start a new one)."""
        self.build_errors: list[str] | None = None
        """While ``tilsite build`` runs MkDocs: the errors MkDocs logs before it aborts, held back to be
        the build's one-line error instead of ``Aborted with a BuildError!``."""

    def end_progress_line(self) -> None:
        if self.progress_open:
            click.echo(err=True)
            self.progress_open = False


_OUTPUT = _Output()


class _EchoHandler(logging.Handler):
    """Writes records to whatever stderr click sees now (not the one present at setup)."""

    def emit(self, record: logging.LogRecord) -> None:
        groups = _OUTPUT.groups
        if record.levelno == logging.WARNING and groups is not None and groups.add(record.getMessage()):
            return
        if record.levelno >= logging.ERROR and _OUTPUT.build_errors is not None:
            _OUTPUT.build_errors.append(record.getMessage())
            return
        _OUTPUT.end_progress_line()
        click.echo(self.format(record), err=True)


def _setup_logging(verbose: bool = False) -> None:
    """Print tilsite's messages plainly and MkDocs' with their level, as `mkdocs` itself does."""
    for name, pattern in (("tilsite", "%(message)s"), ("mkdocs", "%(levelname)-7s -  %(message)s")):
        logger = logging.getLogger(name)
        if not any(isinstance(handler, _EchoHandler) for handler in logger.handlers):
            handler = _EchoHandler()
            handler.setFormatter(logging.Formatter(pattern))
            logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    level = logging.DEBUG if verbose else logging.INFO
    for name in ("tilsite", "mkdocs.plugins.tilsite"):
        logging.getLogger(name).setLevel(level)


@contextmanager
def grouped_warnings(verbose: bool) -> Iterator[None]:
    """Hold back warnings of known kinds and print them grouped at the end (unless ``verbose``)."""
    if verbose:
        yield
        return
    groups = _OUTPUT.groups = WarningGroups()
    try:
        yield
    finally:
        _OUTPUT.groups = None
        _OUTPUT.end_progress_line()
        for line in groups.lines():
            click.echo(f"{'WARNING':<7} -  {line}", err=True)
        if len(groups):
            click.echo("Run with --verbose to see each warning.", err=True)


@contextmanager
def progress_bar(label: str = "Embedding sections") -> Iterator[Callable[[int, int], None]]:
    """A ``progress(done, total)`` callback: a bar redrawn in place on a terminal, a line every 10% in a log."""
    started: float | None = None
    shown = -1

    def progress(done: int, total: int) -> None:
        nonlocal started, shown
        if not total:
            return
        now = time.monotonic()
        if started is None:
            started = now
        share = done / total
        left = f", about {_duration((now - started) * (1 - share) / share)} left" if 0 < share < 1 else ""
        if sys.stderr.isatty():
            filled = int(share * 30)
            bar = "#" * filled + "-" * (30 - filled)
            click.echo(f"\r{label} [{bar}] {done}/{total}{left}\x1b[K", err=True, nl=False)
            _OUTPUT.progress_open = done < total
            if done == total:
                click.echo(err=True)
        elif int(share * 10) > shown:
            shown = int(share * 10)
            click.echo(f"{label}: {done}/{total} ({share:.0%}){left}", err=True)

    try:
        yield progress
    finally:
        _OUTPUT.end_progress_line()


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def run_index(config: MkDocsConfig, settings: Settings, verbose: bool = False) -> tuple[SectionIndex, BuildReport]:
    """Index the pages MkDocs would build, with a progress bar, and print what was done."""
    from mkdocs.structure.files import get_files

    from tilsite.plugin.plugin import note_files
    from tilsite.site.build import SiteBuild

    plugin = _plugin(config)
    if plugin is None:
        raise ConfigError(f"{config.config_file_path}: the tilsite plugin is not in its `plugins:` list.")
    files = plugin.site_files(get_files(config), config)
    with progress_bar() as progress:
        # No site, nothing rendered meanwhile: the model runs here (and stays loaded for `tilsite serve`).
        build = SiteBuild(dataclasses.replace(settings, site_search=False, model_process=False), progress=progress)
        try:
            report = build.collect(note_files(files))
            index = build.finish()
        finally:
            build.close()
    groups = WarningGroups()
    for problem in report.problems:
        if verbose or not groups.add(str(problem)):
            click.secho(f"warning: {problem}", fg="yellow", err=True)
    for line in groups.lines():
        click.secho(f"warning: {line}", fg="yellow", err=True)
    click.echo(report.summary(), err=True)
    return index, report


@click.group()
@click.version_option(package_name="tilsite")
def cli() -> None:
    """Turn a folder of Today-I-Learned notes into a site with related notes and search by meaning."""
    _setup_logging()


def verbose_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """The ``-v/--verbose`` option: every warning on its own line, and what tilsite found for each link."""
    return click.option(
        "-v", "--verbose", is_flag=True, help="Print each warning on its own line instead of grouped by kind."
    )(function)


@cli.command()
@config_option
@click.option("--strict", is_flag=True, help="Fail on MkDocs warnings (broken links or anchors).")
@verbose_option
def build(config_file: Path, strict: bool, verbose: bool) -> None:
    """Index the notes and build the site into site_dir (the old site stays until the new one is complete)."""
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.exceptions import MkDocsException

    from tilsite.files import process_folder

    with user_errors():
        config, _ = load_site(config_file, strict=strict)
        site_dir = Path(config.site_dir)
        site_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = process_folder(site_dir.parent, f".{site_dir.name}-building-")
        config.site_dir = str(staging)
        config.plugins.on_startup(command="build", dirty=False)
        _setup_logging(verbose)
        _OUTPUT.build_errors = []
        try:
            with grouped_warnings(verbose), progress_bar() as progress:
                # The plugin indexes the notes during the build; it draws our progress bar.
                plugin = _plugin(config)
                if plugin is not None:
                    plugin.prepare(progress, site_dir)
                mkdocs_build(config)
        except MkDocsException as exc:
            shutil.rmtree(staging, ignore_errors=True)
            errors = _OUTPUT.build_errors or []
            reason = "; ".join(error.removeprefix("tilsite: ") for error in errors) or str(exc)
            raise click.ClickException(f"{config_file}: site build failed: {reason}") from exc
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        finally:
            _OUTPUT.build_errors = None
            config.plugins.on_shutdown()
        _replace_dir(staging, site_dir)
        click.echo(f"Site written to {site_dir}", err=True)


def _replace_dir(new: Path, target: Path) -> None:
    """Put ``new`` at ``target``, keeping the old folder until the new one is in place."""
    new.chmod(0o755)
    if target.exists():
        retired = target.with_name(f".{target.name}-old")
        shutil.rmtree(retired, ignore_errors=True)
        target.rename(retired)
        new.rename(target)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        new.rename(target)


@cli.command()
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite an existing mkdocs.yml and workflow.")
@click.option(
    "--install",
    default="",
    callback=utf8_text,
    help="What the workflow installs for tilsite instead of the action's own copy (a PyPI spec, a Git URL).",
)
@click.option(
    "--action",
    default=None,
    callback=utf8_text,
    help="The tilsite GitHub Action the workflow uses (OWNER/REPO@VERSION); default: this tilsite's own.",
)
def init(path: Path, force: bool, install: str, action: str | None) -> None:
    """Make the TIL repository at PATH a tilsite site, without moving or editing any note.

    Writes mkdocs.yml (notes read in place, navigation from the folders), a GitHub
    Actions workflow that publishes the site to GitHub Pages, and .gitignore entries.
    """
    from tilsite.site.scaffold import init_repository

    with user_errors():
        result = init_repository(path, install=install, force=force, action=action)
    found = f"Found {result.notes} note{'s' if result.notes != 1 else ''}"
    if result.notebooks:
        found += f" and {result.notebooks} notebook{'s' if result.notebooks != 1 else ''}"
    if result.folders:
        shown = ", ".join(result.folders[:8]) + (" ..." if len(result.folders) > 8 else "")
        found += f" in {len(result.folders)} folders ({shown})"
    click.echo(f"{found}, {result.assets} images and other files to publish.")
    if result.skipped:
        click.echo(f"They stay as they are; the site {result.skipped}, except those that notes link to.")
    if result.outside:
        shown = ", ".join(result.outside[:5]) + (" ..." if len(result.outside) > 5 else "")
        click.echo(
            f"Left out {len(result.outside)} symbolic link(s) that lead outside the repository or round in a loop"
            f" ({shown}): what they point at is never read or published."
        )
    click.echo(f"Korean notes: {'yes, search and theme set up for Korean' if result.korean else 'none found'}.")
    if result.language in ("ja", "zh"):
        click.echo(f"Notes in {'Japanese' if result.language == 'ja' else 'Chinese'}: the theme speaks it.")
    if result.wiki:
        click.echo("Obsidian notes: [[wiki links]], ![[embeds]], callouts and ==highlights== show as in Obsidian.")
    if result.templates or result.instructions:
        left = [f"the templates in {', '.join(result.templates)}"] if result.templates else []
        left += [", ".join(result.instructions)] if result.instructions else []
        click.echo(
            f"Left out {' and '.join(left)}: they are not notes"
            " (exclude_docs in mkdocs.yml; delete those lines to publish them)."
        )
    for name in result.written:
        click.echo(f"Wrote {path / name}")
    if result.site_url:
        click.echo(f"The site will be published at {result.site_url}")
    click.echo(f"Next, in {path}: `tilsite build` (site in site/) or `tilsite serve` (live preview).")
    click.echo("To publish: commit and push, then in GitHub: Settings > Pages > Source: GitHub Actions.")


@cli.command()
@config_option
@verbose_option
def index(config_file: Path, verbose: bool) -> None:
    """Index the notes (embedding only new or changed sections) without building the site."""
    with user_errors():
        run_index(*load_site(config_file), verbose=verbose)


def _load_index(settings: Settings) -> tuple[SectionIndex, EmbeddingModel]:
    from tilsite.index.store import load_index
    from tilsite.model.models import load_model

    model = load_model(settings.model)
    return load_index(settings.work.index, model_id=model.model_id), model


@cli.command()
@config_option
@click.argument("query", callback=utf8_text)
@click.option("-n", "--top", default=10, show_default=True, type=click.IntRange(1, 1000), help="Number of results.")
@click.option("--notes", is_flag=True, help="Show only the best section of each note.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of results.")
def search(config_file: Path, query: str, top: int, notes: bool, as_json: bool) -> None:
    """Search the notes by meaning and keywords; prints the best-matching sections."""
    from tilsite.results.search import Searcher

    with user_errors():
        config, settings = load_site(config_file)
        section_index, model = _load_index(settings)
        hits = Searcher(section_index, model).search(query, top, notes=notes)
    results = [hit.as_dict(config.site_url or "") for hit in hits]
    if as_json:
        click.echo(json.dumps(results, ensure_ascii=False, indent=2))
        return
    if not results:
        click.echo("No results.")
    _print_results(results, "{:.4f}")


def _print_results(results: list[dict[str, Any]], score_format: str) -> None:
    """``search`` and ``related`` results as text: the same fields, with the score each list is sorted by."""
    for rank, result in enumerate(results, start=1):
        place = f"{result['path']}#{result['anchor']}" if result["anchor"] else result["path"]
        heading = f" › {result['heading']}" if result["heading"] != result["title"] else ""
        click.echo(f"{rank:>2}. {result['title']}{heading}  (score {score_format.format(result['score'])})")
        click.echo(f"    {place}  {result['url']}")
        why = f"§ {result['from_heading']} → " if result.get("from_anchor") else ""
        if why or result["snippet"]:
            click.echo(f"    {why}{result['snippet']}")
        for copy in result.get("near_copies", []):
            click.echo(
                f"    near-copy: § {copy['from_heading']} ≈ § {copy['heading']}"
                f" ({copy['overlap'] * 100:.0f}% of the shorter one's text is in the other)"
            )


@cli.command()
@config_option
@click.argument("path")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of related notes.")
def related(config_file: Path, path: str, as_json: bool) -> None:
    """List the notes related to the note at PATH (relative to the notes folder, or a file path), as its page does;
    a section that nearly repeats one of the other note's is marked (``near_copies`` in --json)."""
    from tilsite.results.copies import find_near_copies
    from tilsite.results.related import compute_related

    with user_errors():
        config, settings = load_site(config_file)
        section_index, _ = _load_index(settings)
        note = _note_path(path, settings.notes_dir)
        if note not in {record.path for record in section_index.records}:
            raise click.ClickException(f"{path}: not an indexed note; give a path below {settings.notes_dir}.")
        items = compute_related(
            section_index, settings.related_count, settings.related_threshold, settings.related_exclude
        ).get(note, [])
        copies: dict[str, list[dict[str, Any]]] = {}
        for pair in find_near_copies(section_index):
            for mine, theirs in ((pair.first, pair.second), (pair.second, pair.first)):
                if mine.path == note:
                    copies.setdefault(theirs.path, []).append(
                        {
                            "from_anchor": mine.anchor,
                            "from_heading": mine.heading,
                            "anchor": theirs.anchor,
                            "heading": theirs.heading,
                            "overlap": round(pair.overlap, 3),
                        }
                    )
    site_url = (config.site_url or "").rstrip("/")
    results = [
        {
            "path": item.target.path,
            "title": item.target.title,
            "heading": item.target.heading,
            "anchor": item.target.anchor,
            "url": f"{site_url}/{item.target.url}" if site_url else item.target.url,
            "score": round(item.score, 6),
            "snippet": item.target.snippet,
            "from_anchor": item.source.anchor,
            "from_heading": item.source.heading,
            "near_copies": copies.get(item.target.path, []),
        }
        for item in items
    ]
    if as_json:
        click.echo(json.dumps(results, ensure_ascii=False, indent=2))
        return
    if not results:
        click.echo("No related notes above the threshold (`related_threshold`).")
    _print_results(results, "{:.3f}")


@cli.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print the topics as JSON.")
def topics(config_file: Path, as_json: bool) -> None:
    """List the topics of the notes (grouped by meaning, as on the site's topics page) with their notes."""
    from tilsite.results.topics import compute_topics

    with user_errors():
        config, settings = load_site(config_file)
        section_index, model = _load_index(settings)
        model.close()
        found = compute_topics(section_index, settings.related_exclude)
    site_url = (config.site_url or "").rstrip("/")
    listed: list[dict[str, Any]] = [
        {
            "topic": topic.number + 1,
            "label": topic.label,
            "words": list(topic.words),
            "notes": [
                {
                    "path": record.path,
                    "title": record.title,
                    "heading": record.heading,
                    "anchor": record.anchor,
                    "url": f"{site_url}/{record.url}" if site_url else record.url,
                    "map": [round(value, 4) for value in found.positions.get(record.path, (0.5, 0.5))],
                }
                for record in topic.notes
            ],
        }
        for topic in found.topics
    ]
    if as_json:
        click.echo(json.dumps(listed, ensure_ascii=False, indent=2))
        return
    if not listed:
        click.echo("No notes to group.")
    for topic in listed:
        click.echo(f"{topic['topic']:>2}. {topic['label']}  ({len(topic['notes'])} notes)")
        for note in topic["notes"]:
            heading = f" › {note['heading']}" if note["anchor"] and note["heading"] != note["title"] else ""
            click.echo(f"    {note['path']}  {note['title']}{heading}")


@cli.command(name="eval")
@config_option
@click.argument("queries", required=False, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--related", "score_related", is_flag=True, help="Score related notes against topic folders.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def evaluate(config_file: Path, queries: Path | None, score_related: bool, as_json: bool) -> None:
    """Measure search on QUERIES (JSON lines: {"query": ..., "expect": ["note.md"]}) and, with --related,
    how often related notes share a note's topic folder: its top-level folder, or the first level of folders
    below the one all notes share (for notes kept in topic folders)."""
    from tilsite.results import evaluate as scoring
    from tilsite.results.search import METHODS, Searcher

    if queries is None and not score_related:
        raise click.UsageError("give a QUERIES file, --related, or both.")
    results: dict[str, Any] = {}
    with user_errors():
        _, settings = load_site(config_file)
        section_index, model = _load_index(settings)
        try:
            paths = {record.path for record in section_index.records}
            if queries is not None:
                asked = scoring.read_queries(queries, paths)
                with progress_bar("Asking the queries") as progress:
                    found = scoring.evaluate_search(Searcher(section_index, model), asked, progress)
                results["search"] = found.as_dict()
            if score_related:
                results["related"] = _related_scores(section_index, settings)
        finally:
            model.close()
    if as_json:
        click.echo(json.dumps(results, ensure_ascii=False, indent=2))
        return
    if "search" in results:
        found = results["search"]
        click.echo(f"Search, {found['queries']} queries ({queries}), notes ranked as `tilsite search --notes`:")
        click.echo(f"  {'':14} {'hit@1':>6} {'hit@5':>6} {'MRR@10':>7}")
        rows = [("", found["methods"])] + [(f" ({group})", scores) for group, scores in found["groups"].items()]
        for label, by_method in rows:
            for method in METHODS:
                scores = by_method[method]
                name = f"{method}{label}"
                click.echo(f"  {name:14} {scores['hit@1']:6.2f} {scores['hit@5']:6.2f} {scores['mrr@10']:7.2f}")
        click.echo("  (hybrid is what `tilsite search` and the site's search box rank by)")
        if found["misses"]:
            click.echo(f"Misses of the hybrid ranking (expected note not in the first 5), {len(found['misses'])}:")
        for miss in found["misses"]:
            where = f"rank {miss['rank']}" if miss["rank"] else "not in the first 10"
            click.echo(f"  {miss['query']}  → {', '.join(miss['expect'])}: {where}; first: {', '.join(miss['got'])}")
    if "related" in results:
        scores = results["related"]
        ours, baseline = scores["tilsite"], scores["tfidf"]
        if not ours["notes"]:
            click.echo("Related notes: no topic folder holds two notes, so there is nothing to score them against.")
            return
        click.echo(
            f"Related notes in the note's own topic folder ({ours['notes']} notes in {ours['folders']} folders,"
            f" up to {settings.related_count or 5} each):"
        )
        click.echo(f"  tilsite  precision {ours['precision']:.3f}, {ours['filled'] * 100:.0f}% of places filled")
        click.echo(f"  TF-IDF   precision {baseline['precision']:.3f} (keywords alone, every place filled)")


def _related_scores(section_index: SectionIndex, settings: Settings) -> dict[str, Any]:
    """``tilsite eval --related``: related notes and the TF-IDF baseline scored against the folders."""
    from tilsite.results import evaluate as scoring
    from tilsite.results.related import compute_related, excluded

    exclude = settings.related_exclude
    paths = sorted({record.path for record in section_index.records})
    kept = [path for path in paths if not excluded(path, exclude)]
    if not kept:
        raise click.ClickException("no notes to score: every indexed note is in `related_exclude`.")
    count = settings.related_count or 5
    ours = compute_related(section_index, count, settings.related_threshold, exclude)
    return {
        "tilsite": scoring.folder_scores(scoring.related_lists(ours), kept, count).as_dict(),
        "tfidf": scoring.folder_scores(scoring.keyword_baseline(section_index, kept, count), kept, count).as_dict(),
    }


def _note_path(path: str, notes_dir: Path) -> str:
    """The indexed path of the note a user named (relative to the notes folder, or a file path)."""
    from tilsite.notes.sources import page_uri

    key = path.replace("\\", "/")
    key = key[2:] if key.startswith("./") else key
    candidate = Path(path)
    if candidate.exists():
        with suppress(ValueError):
            key = candidate.resolve().relative_to(notes_dir.resolve()).as_posix()
    # A notebook or a `.MD` note is indexed under the page path it is published at.
    return page_uri(key) or key


@cli.command()
@config_option
@click.option("-a", "--dev-addr", default="127.0.0.1:8000", show_default=True, help="Address to serve on.")
def serve(config_file: Path, dev_addr: str) -> None:
    """Preview the site with live reload; an edited note is re-embedded, the rest come from the cache."""
    from mkdocs.commands.serve import serve as mkdocs_serve

    with user_errors():
        run_index(*load_site(config_file))
        mkdocs_serve(config_file=str(config_file), dev_addr=dev_addr, livereload=True)
