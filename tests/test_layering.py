"""The engine never imports a face: no Qt, no xlwings, no CLI framework (DESIGN.md, Layout)."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"PySide6", "PyQt5", "PyQt6", "shiboken6", "xlwings", "click", "typer", "rich", "gui", "excel_addin"}


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_engine_source_imports_no_face():
    offenders = {}
    for path in sorted((ROOT / "cs_desk").rglob("*.py")):
        bad = _imported_roots(path) & FORBIDDEN
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}


def test_importing_the_whole_engine_loads_no_face():
    code = (
        "import importlib, pkgutil, sys, cs_desk\n"
        "for m in pkgutil.walk_packages(cs_desk.__path__, 'cs_desk.'):\n"
        "    importlib.import_module(m.name)\n"
        f"bad = sorted(n for n in sys.modules if n.split('.')[0] in {sorted(FORBIDDEN)!r})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == ""


def test_faces_do_not_reach_into_each_other():
    for face, other in (("gui", "excel_addin"), ("excel_addin", "gui")):
        for path in sorted((ROOT / face).rglob("*.py")):
            assert other not in _imported_roots(path), f"{path} imports {other}"


def test_detector_sees_a_forbidden_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import json\nfrom PySide6.QtWidgets import QWidget\n")
    assert _imported_roots(bad) & FORBIDDEN == {"PySide6"}
