"""The add-in's configuration points at Python that imports: VBA, ribbon, .xlam, Lite, template."""
from __future__ import annotations

import importlib
import re
import shutil
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

ROOT = Path(__file__).resolve().parents[2]
ADDIN = ROOT / "excel_addin"
XLAM = ADDIN / "classic" / "excel_addin.xlam"
BAS = ADDIN / "vba" / "CsDesk.bas"
RIBBON14 = ADDIN / "ribbon" / "customUI14.xml"
TEMPLATE = ROOT / "workbook_templates" / "cs-desk-input-template.xlsx"

RUNPYTHON = re.compile(r'RunPython\s+"([^"]+)"')


def resolve_python_command(command: str):
    """'import a.b as m; m.f()' or 'import a; a.f()' -> the callable it would call."""
    parts = [p.strip() for p in command.split(";") if p.strip()]
    names = {}
    for p in parts[:-1]:
        m = re.fullmatch(r"import ([\w.]+)(?: as (\w+))?", p)
        assert m, f"unexpected statement {p!r} in {command!r}"
        names[m.group(2) or m.group(1).split(".")[0]] = importlib.import_module(m.group(1))
    call = re.fullmatch(r"([\w.]+)\(\)", parts[-1])
    assert call, f"the command must end in a call: {command!r}"
    obj_path = call.group(1).split(".")
    obj = names[obj_path[0]] if obj_path[0] in names else importlib.import_module(obj_path[0])
    for attr in obj_path[1:]:
        obj = getattr(obj, attr)
    assert callable(obj)
    return obj


def test_vba_runpython_targets_import():
    text = BAS.read_text(encoding="utf-8")
    commands = RUNPYTHON.findall(text)
    assert commands == ["import excel_addin.macros as m; m.refresh()"]
    for c in commands:
        fn = resolve_python_command(c)
        assert fn.__module__ == "excel_addin.macros"
    assert b"\r\n" in BAS.read_bytes()  # the VBA editor imports CRLF files


def test_ribbon_callbacks_exist_in_the_vba_module():
    subs = set(re.findall(r"^Sub (\w+)\(control As IRibbonControl\)", BAS.read_text(encoding="utf-8"), re.M))
    tree = ET.parse(RIBBON14)
    ns = {"ui": "http://schemas.microsoft.com/office/2009/07/customui"}
    actions = {b.get("onAction") for b in tree.getroot().iterfind(".//ui:button", ns)}
    assert actions and actions <= subs
    assert "CsDeskRefresh" in actions


def _xlam_part(name: str) -> bytes:
    with zipfile.ZipFile(XLAM) as z:
        return z.read(name)


def test_xlam_config_sheet_names_the_functions_module():
    assert zipfile.ZipFile(XLAM).testzip() is None
    wb = ET.fromstring(_xlam_part("xl/workbook.xml"))
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    assert [s.get("name") for s in wb.iterfind(".//m:sheet", ns)] == ["myaddin.conf"]
    sheet = ET.fromstring(_xlam_part("xl/worksheets/sheet1.xml"))
    cells = {c.get("r"): "".join(t.text or "" for t in c.iterfind(".//m:t", ns)) for c in sheet.iterfind(".//m:c", ns)}
    assert cells == {"A1": "UDF Modules", "B1": "excel_addin.functions"}
    mod = importlib.import_module(cells["B1"])
    assert mod.FUNCTIONS


def test_xlam_ribbon_calls_the_quickstart_callback():
    ui = ET.fromstring(_xlam_part("customUI/customUI.xml"))
    buttons = ui.findall(".//{http://schemas.microsoft.com/office/2006/01/customui}button")
    assert [(b.get("label"), b.get("onAction")) for b in buttons] == [("Refresh cs-desk", "RibbonMyAddin.RunMain")]


def test_xlam_vba_runs_excel_addin_main():
    olevba = pytest.importorskip("oletools.olevba", reason="oletools reads the add-in's VBA")
    parser = olevba.VBA_Parser(str(XLAM))
    try:
        code = {name: src for _, _, name, src in parser.extract_macros()}
    finally:
        parser.close()
    run_main = code["RibbonMyAddin.bas"]
    assert 'RunPython "import " & mymodule & ";" & mymodule & ".main()"' in run_main
    module = XLAM.stem  # RunMain imports the add-in's file name
    resolve_python_command(f"import {module}; {module}.main()")


def test_xlam_is_what_build_xlam_makes(tmp_path):
    """The committed add-in equals a fresh `xlwings quickstart` + our adaptation (part by part)."""
    if shutil.which("xlwings") is None:
        pytest.skip("the xlwings command is not on PATH")
    from excel_addin.classic import build_xlam

    fresh = build_xlam.build(tmp_path / "excel_addin.xlam")
    with zipfile.ZipFile(fresh) as a, zipfile.ZipFile(XLAM) as b:
        assert sorted(a.namelist()) == sorted(b.namelist())
        for name in a.namelist():
            assert a.read(name) == b.read(name), f"{name} differs: run python excel_addin/classic/build_xlam.py"


def test_template_workbook_is_current_and_recognised(tmp_path):
    import openpyxl

    from cs_desk.schema import TABLES
    from cs_desk.sheets import plan_refresh, read_workbook_values

    spec = importlib.util.spec_from_file_location("make_templates", ROOT / "workbook_templates" / "make_templates.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    fresh = mod.build(tmp_path / "t.xlsx")
    committed = openpyxl.load_workbook(TEMPLATE)
    new = openpyxl.load_workbook(fresh)
    assert committed.sheetnames == new.sheetnames == ["Instructions", *TABLES, "cs-desk settings"]
    for name in committed.sheetnames:
        assert [list(r) for r in committed[name].iter_rows(values_only=True)] == \
               [list(r) for r in new[name].iter_rows(values_only=True)], f"{name}: run make_templates.py"
    for t in TABLES.values():
        assert [c.value for c in committed[t.name][1]] == list(t.field_names)
    sheets, _ = read_workbook_values(TEMPLATE)
    plan = plan_refresh(sheets, book=TEMPLATE.name)
    assert set(plan.recognised.values()) == set(TABLES)
    assert not [p for p in plan.problems if p.sheet == "cs-desk settings"]


def test_docs_cover_installation_and_the_manual_checklist():
    text = (ROOT / "docs" / "excel.md").read_text(encoding="utf-8")
    for needle in ("Use it in Excel", "Windows", "macOS", "xlwings Lite", "Manual checklist", "excel_addin.xlam",
                   "CsDesk.bas", "customUI14.xml", "cs-desk excel refresh"):
        assert needle in text, needle


LITE_SIM = r'''
import importlib.abc, importlib.util, sys
BLOCK = {"python_calamine", "duckdb", "polars", "pyarrow", "matplotlib", "reportlab", "PySide6", "rustpy_xlsxwriter"}
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in BLOCK:
            raise ImportError("not available on Pyodide: " + name)
sys.meta_path.insert(0, Blocker())
spec = importlib.util.spec_from_file_location("lite_main", sys.argv[1])
main = importlib.util.module_from_spec(spec)
spec.loader.exec_module(main)
MRR = [["account_id", "month", "mrr"], ["a", "2024-01", 100], ["b", "2024-01", 200], ["a", "2024-02", 120],
       ["b", "2024-02", 0], ["c", "2024-02", 50]]
assert abs(main.cs_nrr(MRR) - 0.4) < 1e-12, main.cs_nrr(MRR)
assert main.cs_nps([[9], [3]]) == 0.0
from cs_desk.sheets import plan_refresh
plan = plan_refresh({"mrr": MRR, "accounts": [["account_id", "segment"], ["a", "SMB"], ["b", "SMB"], ["c", "Ent"]]})
assert plan.recognised == {"mrr": "mrr", "accounts": "accounts"}, plan.recognised
print("ok")
'''


def test_lite_path_needs_no_compiled_only_package(tmp_path):
    """What xlwings Lite runs (main.py -> excel_addin -> cs_desk) works with python-calamine, DuckDB,
    polars, matplotlib, reportlab and Qt unimportable, as on Pyodide."""
    import subprocess
    import sys

    script = tmp_path / "lite_sim.py"
    script.write_text(LITE_SIM, encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script), str(ROOT / "workbook_templates" / "xlwings_lite" / "main.py")],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr[-3000:]
