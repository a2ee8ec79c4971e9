"""Classic add-in entry points, called from VBA with ``RunPython`` (Windows and macOS).

``RunPython "import excel_addin.macros as m; m.refresh()"`` — see excel_addin/vba/CsDesk.bas.
``xw.Book.caller()`` is the workbook the button was pressed in; it only exists when Excel runs
the call, so nothing here can run on Linux (the body it calls, :func:`apply.refresh_workbook`, can).
"""
from __future__ import annotations

import xlwings as xw

from .apply import refresh_workbook


def refresh() -> None:
    """The "Refresh cs-desk" button."""
    refresh_workbook(xw.Book.caller())
