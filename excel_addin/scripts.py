"""xlwings Lite / xlwings Server scripts (task-pane buttons): ``@script`` functions.

Not for the classic add-in's ``UDF_MODULES``: on Windows ``xw.script`` is the classic ``sub``
decorator, and "Import Functions" would turn these into VBA subs. The classic button goes
through :mod:`excel_addin.macros` instead.
"""
import xlwings as xw
from xlwings import script

from .apply import refresh_workbook


@script
def refresh_cs_desk(book: xw.Book):
    """Refresh cs-desk: write the CS KPIs, CS Accounts, CS Actions and CS Problems sheets."""
    refresh_workbook(book)
