"""The "Refresh cs-desk" button: read the open workbook, plan, write the cs-desk sheets.

Planning is pure (:func:`cs_desk.sheets.plan_refresh`); this module only moves values between
a workbook and the plan, through the small part of the xlwings object model that the desktop
engines (COM on Windows, AppleScript on macOS) and the Office.js engines (xlwings Lite, xlwings
Server's remote engine) share:

* reading: ``book.name``, ``book.sheets``, ``sheet.name``, ``sheet["A1"].value``,
  ``sheet.used_range`` (``.row``, ``.column``, ``.options(ndim=2, err_to_str=True).value``);
* writing: ``book.sheets.add(name, after=...)``, ``sheet.clear()``, ``range.value``,
  ``range.number_format``, ``range.font.bold``, ``range.column_width`` (characters on the desktop,
  points on Office.js: converted here), ``sheet.freeze_panes.freeze_at(...)``, ``app.alert``.

Nothing is read back after it was written (the remote engine only queues writes). Data sheets
are never written: only sheets the plan names, and an existing one only when its A1 carries
the cs-desk marker.
"""
from __future__ import annotations

from cs_desk.sheets import FIRST_DATA_ROW, HEADER_ROW, TEXT, RefreshPlan, SheetPlan, is_output_sheet, plan_refresh

FORMULA_START = ("=", "+", "-", "@")
POINTS_PER_CHARACTER = 5.6  # Calibri 11: one character of width is about 7 px = 5.25 pt, plus padding


def read_book(book) -> dict[str, list[list]]:
    """Every sheet's used range as a 2-D list anchored at A1 (so row numbers are Excel's).

    cs-desk's own output sheets are read as their marker cell only (they are replaced, not read).
    """
    sheets: dict[str, list[list]] = {}
    for sheet in book.sheets:
        first = sheet["A1"].value
        if isinstance(first, str) and is_output_sheet([[first]]):
            sheets[sheet.name] = [[first]]
            continue
        rng = sheet.used_range
        values = rng.options(ndim=2, err_to_str=True).value or []
        row0, col0 = int(rng.row), int(rng.column)
        if col0 > 1:
            values = [[None] * (col0 - 1) + list(r) for r in values]
        if row0 > 1:
            width = len(values[0]) if values else col0
            values = [[None] * width for _ in range(row0 - 1)] + [list(r) for r in values]
        if len(values) == 1 and len(values[0]) == 1 and values[0][0] is None:
            values = []
        sheets[sheet.name] = values
    return sheets


def refresh_workbook(book, alert: bool = True) -> RefreshPlan:
    """Read the book's data sheets, compute, and write CS KPIs / CS Accounts / CS Actions / CS Problems."""
    plan = plan_refresh(read_book(book), book=book.name)
    apply_plan(book, plan)
    if alert and plan.messages:
        _alert(book, "\n".join(plan.messages))
    return plan


def apply_plan(book, plan: RefreshPlan) -> None:
    """Write the plan's sheets into ``book`` (see the module docstring for the calls used)."""
    points = _engine_name(book) not in ("excel",)
    for sp in plan.sheets:
        sheet = _target_sheet(book, sp)
        write_sheet(sheet, sp, width_in_points=points)


def _target_sheet(book, sp: SheetPlan):
    names = {s.name.casefold(): s for s in book.sheets}
    existing = names.get(sp.name.casefold())
    if existing is not None:
        first = existing["A1"].value
        if not (sp.replaces and isinstance(first, str) and is_output_sheet([[first]])):
            raise RuntimeError(f"cs-desk will not overwrite the sheet {sp.name!r}: it did not write it")
        existing.clear()
        return existing
    last = book.sheets[len(book.sheets) - 1]
    return book.sheets.add(name=sp.name, after=last)


def write_sheet(sheet, sp: SheetPlan, width_in_points: bool = False) -> None:
    n_rows = len(sp.rows)
    n_cols = max(sp.ncols, 1)
    last_row = HEADER_ROW + n_rows
    # formats first: a text-formatted cell keeps "=x", "2024-01" or "00123" as typed
    sheet.range((1, 1)).number_format = TEXT
    sheet.range((HEADER_ROW, 1), (HEADER_ROW, n_cols)).number_format = TEXT
    if n_rows:
        for j, fmt in enumerate(sp.number_formats):
            if fmt:
                sheet.range((FIRST_DATA_ROW, j + 1), (last_row, j + 1)).number_format = fmt
        for b in sp.blocks:
            sheet.range((FIRST_DATA_ROW + b.row, b.col + 1),
                        (FIRST_DATA_ROW + b.row + b.nrows - 1, b.col + b.ncols)).number_format = b.number_format
    sheet.range((1, 1)).value = sp.marker
    text_cols = set(sp.text_columns)
    values = [list(sp.header)] + [[_safe(v, j in text_cols) for j, v in enumerate(r)] for r in sp.rows]
    sheet.range((HEADER_ROW, 1)).value = values
    _cosmetic(lambda: setattr(sheet.range((HEADER_ROW, 1), (HEADER_ROW, n_cols)).font, "bold", True))
    _cosmetic(lambda: setattr(sheet.range((1, 1)).font, "italic", True))
    for j, w in enumerate(sp.widths):
        if w:
            width = round(w * POINTS_PER_CHARACTER, 1) if width_in_points else w
            _cosmetic(lambda j=j, width=width: setattr(sheet.range((HEADER_ROW, j + 1)), "column_width", width))
    rows, cols = sp.freeze
    address = _freeze_address(rows, cols)
    if address:
        _cosmetic(lambda: sheet.freeze_panes.freeze_at(address))


def _safe(v, text_column: bool):
    """Text outside a text-formatted column that Excel would read as a formula gets a leading
    apostrophe (Excel's "this is text" prefix, not part of the value)."""
    if isinstance(v, str) and not text_column and v.startswith(FORMULA_START):
        return "'" + v
    return v


def _freeze_address(rows: int, cols: int) -> str | None:
    if rows and cols:
        return f"A1:{_letter(cols)}{rows}"
    if rows:
        return f"1:{rows}"
    if cols:
        return f"A:{_letter(cols)}"
    return None


def _letter(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def _engine_name(book) -> str:
    try:
        return str(book.app.engine.name)
    except Exception:  # noqa: BLE001 - unknown engine: treat widths as points only on Office.js
        return "excel"


def _cosmetic(action) -> None:
    """Bold, widths and frozen panes are nice to have; an engine that lacks one must not stop the
    refresh after the values were written."""
    try:
        action()
    except Exception:  # noqa: BLE001 - e.g. NotImplementedError on an engine, a COM error when freezing
        pass


def _alert(book, text: str) -> None:
    try:
        book.app.alert(text, title="cs-desk")
    except Exception:  # noqa: BLE001 - the sheets are written; a missing dialog is not an error
        pass
