"""cs-desk in Excel (xlwings): worksheet functions and the "Refresh cs-desk" button.

A thin face over the engine: :mod:`excel_addin.functions` (worksheet functions for the classic
add-in, xlwings Lite and xlwings Server), :mod:`excel_addin.adapter` (their pure bodies),
:mod:`excel_addin.apply` (the refresh: read the workbook, :func:`cs_desk.sheets.plan_refresh`,
write the sheets), :mod:`excel_addin.macros` (classic ``RunPython`` entry points) and
:mod:`excel_addin.scripts` (``@script`` entry points for xlwings Lite / Server).
See docs/excel.md.
"""


def main() -> None:
    """Entry point of the quickstart-generated add-in ``excel_addin.xlam``: its ribbon button runs
    ``RunPython "import excel_addin; excel_addin.main()"`` (the module name is the add-in's file name)."""
    from .macros import refresh

    refresh()
