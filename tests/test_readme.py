from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]


def _bash_blocks() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", readme, re.DOTALL)]


def test_readme_has_two_setup_commands_and_ci_runs_the_test_one() -> None:
    build_command, test_command = _bash_blocks()[:2]
    assert build_command.startswith("pip install torch==2.13.0") and build_command.endswith("tilsite build")
    assert "pytest" in test_command
    ci_lines = (ROOT / ".ci/run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci_lines


def test_readme_screenshot_exists() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", readme):
        assert (ROOT / image).is_file(), image
