from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]


def _bash_blocks(section: str) -> list[str]:
    """The bash blocks of the README section headed ``## {section}``."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    body = readme.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", body, re.DOTALL)]


def test_readme_has_two_setup_commands_and_ci_runs_the_test_one() -> None:
    build_command, test_command = _bash_blocks("Set up")
    assert build_command == "pip install -e . && tilsite build"  # the default install: no PyTorch
    assert "pytest" in test_command
    ci_lines = (ROOT / ".ci/run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci_lines


def test_readme_screenshot_exists() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", readme):
        assert (ROOT / image).is_file(), image
