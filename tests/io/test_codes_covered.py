"""Every problem code the loading layer can emit is triggered by at least one test in tests/io."""
import re
from pathlib import Path

from cs_desk.problems import Code

ROOT = Path(__file__).resolve().parents[2]


def test_every_emitted_code_is_tested():
    source = "".join(p.read_text() for p in (ROOT / "cs_desk" / "io").glob("*.py"))
    emitted = {Code[name] for name in re.findall(r"Code\.([A-Z_]+)", source)}
    tests = "".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py") if p.name != Path(__file__).name)
    untested = sorted(c.value for c in emitted if f'"{c.value}"' not in tests and f"Code.{c.name}" not in tests)
    assert untested == []
