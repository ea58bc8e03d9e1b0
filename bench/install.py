"""What a new user pays to install tilsite and build a first site: venv size, packages, pip time, first build.

    python bench/install.py                       # this checkout
    python bench/install.py --before 7e8caa4      # and an earlier commit, for comparison

For each version: build its wheel, install it into a fresh virtual environment
(the default install, no extras), and build the sample site (docs/, img/,
mkdocs.yml of this checkout) with an empty model cache, then once more with
the cache warm. Reports the venv's size, its packages and the largest ones,
the time of `pip install` (from this machine's package mirror and pip cache:
no download time), and the first and second builds' wall time and peak memory
(VmHWM of the build process and of any child process, added as if they peaked
together). Results go to bench/install.md (and .json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench.run import run  # noqa: E402
from tests.helpers import copy_sample_site  # noqa: E402

HEAVY = ("torch", "transformers", "sentence_transformers", "scipy", "sklearn", "sympy")


def source_tree(revision: str | None, target: Path) -> Path:
    """This checkout's package files, or those of ``revision``, copied to ``target``."""
    target.mkdir(parents=True)
    if revision is None:
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(ROOT / name, target / name)
        shutil.copytree(ROOT / "tilsite", target / "tilsite", ignore=shutil.ignore_patterns("__pycache__"))
    else:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", revision, "pyproject.toml", "README.md", "tilsite"],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def folder_mb(folder: Path) -> float:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink()) / 1e6


def largest(site_packages: Path, count: int = 6) -> list[tuple[str, float]]:
    """The largest top-level folders in site-packages (one per import name, plus ``nvidia`` and the like)."""
    sizes = [
        (path.name, folder_mb(path))
        for path in site_packages.iterdir()
        if path.is_dir() and not path.name.endswith((".dist-info", "__pycache__"))
    ]
    return sorted(sizes, key=lambda item: -item[1])[:count]


def measure(name: str, revision: str | None, work: Path) -> dict:
    print(f"{name}: building the wheel ...", flush=True)
    source = source_tree(revision, work / "source")
    dist = work / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("*.whl")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    print(f"{name}: pip install ...", flush=True)
    start = time.perf_counter()
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], check=True)
    pip_seconds = time.perf_counter() - start
    packages = json.loads(
        subprocess.run(
            [str(python), "-m", "pip", "list", "--format", "json"], capture_output=True, text=True, check=True
        ).stdout
    )
    (site_packages,) = (venv / "lib").glob("python*/site-packages")
    heavy = [
        package
        for package in HEAVY
        if subprocess.run(
            [str(python), "-c", f"import importlib.util, sys; sys.exit(importlib.util.find_spec({package!r}) is None)"]
        ).returncode
        == 0
    ]

    project = copy_sample_site(work / "sample")
    cache = work / "cache"
    os.environ["TILSITE_CACHE_DIR"] = str(cache)
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        print(f"{name}: first build (empty model cache) ...", flush=True)
        first_s, first_mb = run([str(venv / "bin" / "tilsite"), "build"], project)
        print(f"{name}: second build ...", flush=True)
        second_s, second_mb = run([str(venv / "bin" / "tilsite"), "build"], project)
    finally:
        del os.environ["TILSITE_CACHE_DIR"]
    return {
        "version": revision or "this checkout",
        "venv_mb": folder_mb(venv),
        "packages": len(packages),
        "heavy_packages": heavy,
        "largest": largest(site_packages),
        "pip_install_s": pip_seconds,
        "first_build_s": first_s,
        "first_build_mb": first_mb,
        "second_build_s": second_s,
        "second_build_mb": second_mb,
        "model_cache_mb": folder_mb(cache),
    }


def write_report(report: dict, out: Path) -> None:
    out.with_suffix(".json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    lines = [
        "# Install and first build: measured",
        "",
        f"Measured by `python bench/install.py` on {report['machine']}, {report['date']}, in one run. Each version's",
        "wheel goes into a fresh virtual environment (the default install, no extras); the sample site (the notes in",
        "`docs/`) is built with an empty model cache, then again. pip installs from this machine's package mirror",
        "and pip cache, so its time has no download in it.",
        "",
        "| version | venv | packages | heavy packages | pip install | first build (empty model cache) |"
        " peak memory, first build | second build | peak memory, second build | model cache |",
        "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in report["versions"].values():
        heavy = ", ".join(row["heavy_packages"]) or "none"
        lines.append(
            f"| {row['version']} | {row['venv_mb']:.0f} MB | {row['packages']} | {heavy} |"
            f" {row['pip_install_s']:.0f} s |"
            f" {row['first_build_s']:.1f} s | {row['first_build_mb']:.0f} MB | {row['second_build_s']:.1f} s |"
            f" {row['second_build_mb']:.0f} MB | {row['model_cache_mb']:.0f} MB |"
        )
    lines += ["", "Largest folders in site-packages:", ""]
    for row in report["versions"].values():
        sizes = ", ".join(f"{name} {mb:.0f} MB" for name, mb in row["largest"])
        lines.append(f"- {row['version']}: {sizes}")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", help="an earlier commit to measure the same way")
    parser.add_argument("--out", type=Path, default=HERE / "install")
    args = parser.parse_args()
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    report: dict = {"machine": machine, "date": date.today().isoformat(), "versions": {}}
    with tempfile.TemporaryDirectory() as scratch:
        if args.before:
            report["versions"]["before"] = measure("before", args.before, Path(scratch) / "before")
        report["versions"]["now"] = measure("now", None, Path(scratch) / "now")
    write_report(report, args.out)


if __name__ == "__main__":
    main()
