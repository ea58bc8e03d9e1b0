"""The package as a user gets it: wheel and sdist built, the wheel installed into a fresh virtual environment,
and the sample site built there with an empty model cache and no PyTorch."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from .helpers import copy_sample_site

ROOT = Path(__file__).parents[1]
DEFAULT_INSTALL_LIMIT_MB = 700
"""Issue 13: the default install must stay light (it was 1.8 GB with PyTorch)."""


def _source_copy(target: Path) -> Path:
    """The files a build reads, copied so that building writes nothing into the checkout."""
    target.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, target / name)
    shutil.copytree(ROOT / "tilsite", target / "tilsite", ignore=shutil.ignore_patterns("__pycache__"))
    return target


def _folder_mb(folder: Path) -> float:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink()) / 1e6


@pytest.mark.real_model
def test_wheel_and_sdist_build_and_the_wheel_builds_the_sample_site_in_a_fresh_venv(tmp_path: Path) -> None:
    source = _source_copy(tmp_path / "source")
    dist = tmp_path / "dist"
    # Without flags, build makes the sdist and then the wheel from the unpacked sdist, so the wheel
    # shows that the sdist holds everything too.
    built = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(dist), str(source)], capture_output=True, text=True
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = dist.glob("tilsite-*.whl")
    (sdist,) = dist.glob("tilsite-*.tar.gz")

    packaged = [
        "tilsite/data/common_pieces.txt",
        "tilsite/site/assets/related.css",
        "tilsite/site/assets/search/search-worker.js",
        "tilsite/site/assets/search/vendor/transformers.min.js",
        "tilsite/site/assets/search/vendor/ort-wasm-simd-threaded.wasm",
        "tilsite/site/assets/search/vendor/LICENSE-transformers.js.txt",
    ]
    wheel_names = set(zipfile.ZipFile(wheel).namelist())
    with tarfile.open(sdist) as archive:
        sdist_names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for name in packaged:
        assert name in wheel_names, f"{name} missing from the wheel"
        assert name in sdist_names, f"{name} missing from the sdist"
        assert zipfile.ZipFile(wheel).getinfo(name).file_size == (ROOT / name).stat().st_size

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    installed = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(wheel)], capture_output=True, text=True
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    missing = subprocess.run(
        [
            str(bin_dir / "python"),
            "-c",
            "import importlib.util as u; print(' '.join(n for n in ('torch', 'transformers', 'sentence_transformers')"
            " if u.find_spec(n)))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert missing.stdout.strip() == "", f"the default install pulls in {missing.stdout.strip()}"
    size = _folder_mb(venv)
    assert size <= DEFAULT_INSTALL_LIMIT_MB, f"the fresh venv takes {size:.0f} MB"

    project = copy_sample_site(tmp_path / "sample")
    cache = tmp_path / "empty-cache"
    environment = {**os.environ, "TILSITE_CACHE_DIR": str(cache)}
    environment.pop("PYTHONPATH", None)  # the installed wheel, not this checkout
    result = subprocess.run(
        [str(bin_dir / "tilsite"), "build"], cwd=project, env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "Preparing the bundled multilingual-e5-small" in result.stdout + result.stderr  # the cache was empty
    assert (project / "site" / "index.html").is_file()
    assert list((project / "site").rglob("model_q4.onnx")), "the browser's search model was not published"
    assert "관련 노트" in (project / "site" / "ml" / "overfitting" / "index.html").read_text(encoding="utf-8")  # ko
    imported = subprocess.run(
        [str(bin_dir / "python"), "-c", "import tilsite, sys; print(tilsite.__file__)"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    assert str(venv) in imported.stdout  # the build ran the wheel's code
