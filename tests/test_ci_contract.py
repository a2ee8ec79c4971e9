"""The README's two commands are the ones CI and users run: keep them in sync."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _bash_blocks(text: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", text, flags=re.S)]


def test_ci_runs_exactly_the_readme_test_command():
    readme_blocks = _bash_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    ci_command = ci.split("# BEGIN README TEST COMMAND\n", 1)[1].split("\n# END README TEST COMMAND", 1)[0].strip()
    assert readme_blocks[1] == ci_command
    assert "pytest" in ci_command


def test_readme_first_command_runs_the_demo():
    first = _bash_blocks((ROOT / "README.md").read_text(encoding="utf-8"))[0]
    assert first.startswith("pip install") and first.endswith("cs-desk demo")


def test_ci_treats_no_tests_collected_as_a_failure_it_reports():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert '"$rc" -eq 5' in ci
