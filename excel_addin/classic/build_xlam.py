"""Build the classic add-in ``excel_addin.xlam`` with xlwings' own tooling, then adapt it.

    python excel_addin/classic/build_xlam.py        # writes excel_addin/classic/excel_addin.xlam

1. ``xlwings quickstart excel_addin --addin --ribbon`` (works on Linux: it copies xlwings'
   add-in template) creates ``excel_addin.xlam``. Its VBA (not changed here; editing VBA needs
   Excel) has one ribbon callback, ``RibbonMyAddin.RunMain``, which runs
   ``RunPython "import <file name>; <file name>.main()"``. Because the file is called
   ``excel_addin.xlam`` that is ``import excel_addin; excel_addin.main()`` -> the refresh.
2. The ribbon XML (``customUI/customUI.xml``, a plain part of the zip) gets a cs-desk tab with a
   "Refresh cs-desk" button.
3. The add-in's config sheet ``_myaddin.conf`` (inactive while its name starts with ``_``) is
   renamed ``myaddin.conf`` and holds only ``UDF Modules = excel_addin.functions``, so
   "ImportPythonUDFsToAddin" finds the worksheet functions. Interpreter and conda settings stay
   with the user (``%USERPROFILE%\\.myaddin\\myaddin.conf`` or ``~/myaddin.conf`` on macOS), because an
   entry on the add-in's sheet would override them.

The richer ribbon (Refresh + Import functions) needs new VBA callbacks: see ../vba/CsDesk.bas,
../ribbon/customUI14.xml and docs/excel.md ("Building the full add-in on Windows").
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
XLAM = HERE / "excel_addin.xlam"
UDF_MODULES = "excel_addin.functions"
CONF_SHEET = "myaddin.conf"

RIBBON = """<customUI xmlns="http://schemas.microsoft.com/office/2006/01/customui">
    <ribbon>
        <tabs>
            <tab id="csDeskTab" label="cs-desk">
                <group id="csDeskGroup" label="Customer success">
                    <button id="csDeskRefresh" label="Refresh cs-desk" size="large" onAction="RibbonMyAddin.RunMain"
                            imageMso="RefreshAll"
                            screentip="Refresh cs-desk"
                            supertip="Read this workbook's data sheets and write the CS KPIs, CS Accounts, CS Actions and CS Problems sheets. Data sheets are never changed." />
                </group>
            </tab>
        </tabs>
    </ribbon>
</customUI>"""

CONF_SHEET_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheetPr codeName="Sheet2" /><dimension ref="A1:B1" />'
    '<sheetViews><sheetView tabSelected="1" workbookViewId="0" /></sheetViews>'
    '<sheetFormatPr defaultRowHeight="15.75" />'
    '<cols><col min="1" max="1" width="14.75" customWidth="1" /><col min="2" max="2" width="24" customWidth="1" /></cols>'
    '<sheetData><row r="1">'
    '<c r="A1" t="inlineStr"><is><t>UDF Modules</t></is></c>'
    f'<c r="B1" t="inlineStr"><is><t>{UDF_MODULES}</t></is></c>'
    '</row></sheetData>'
    '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3" />'
    '</worksheet>'
)


def quickstart(folder: Path) -> Path:
    """Run xlwings' quickstart; return the generated add-in."""
    exe = shutil.which("xlwings")
    cmd = [exe] if exe else [sys.executable, "-m", "xlwings.cli"]
    subprocess.run(cmd + ["quickstart", "excel_addin", "--addin", "--ribbon"], cwd=folder, check=True,
                   capture_output=True, text=True, timeout=120)
    return folder / "excel_addin" / "excel_addin.xlam"


def adapt(src: Path, dst: Path) -> Path:
    """Copy ``src`` to ``dst`` with the cs-desk ribbon and config sheet (VBA untouched)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "customUI/customUI.xml":
                data = RIBBON.encode("utf-8")
            elif item.filename == "xl/workbook.xml":
                data = re.sub(rb'name="_myaddin\.conf"', f'name="{CONF_SHEET}"'.encode(), data)
            elif item.filename == "xl/worksheets/sheet1.xml":
                data = CONF_SHEET_XML.encode("utf-8")
            zout.writestr(item, data)
    return dst


def build(out: Path = XLAM) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        src = quickstart(Path(tmp))
        tmp_out = Path(tmp) / "adapted.xlam"
        adapt(src, tmp_out)
        shutil.copyfile(tmp_out, out)
    return out


if __name__ == "__main__":
    print(f"wrote {build(Path(sys.argv[1]) if len(sys.argv) > 1 else XLAM)}")
