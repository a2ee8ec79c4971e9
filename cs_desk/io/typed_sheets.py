"""Worksheets read as typed columns (fastexcel: calamine to Arrow), without a Python object per cell.

The cell-by-cell reader (:func:`cs_desk.io.readers._read_calamine`) builds a Python value for
every cell: about 16 s for a 100 MB workbook with 1.7 million event rows. This route hands whole
columns (float64, datetime64, text) to cleaning instead. A sheet takes it only when the result is
what the cell-by-cell reader would give, so a user never gets different numbers from a bigger
file:

* the header row that :func:`~cs_desk.io.readers.detect_header` finds in the sheet's first rows
  (read here straight from the sheet XML) and every row above it hold only text, and fastexcel
  takes that row as its header, column for column;
* every column holds one type of value: with ``dtype_coercion="strict"`` fastexcel refuses a
  column that mixes dates and text, and a number column with an ``n/a`` in it comes typed as
  numbers with that cell missing *and* listed among the cells it could not convert — that list
  must be empty (types are inferred from every row, not a sample);
* no column is a duration.

Any other sheet, and every sheet when fastexcel or pyarrow is not installed, is read cell by
cell, where cleaning reports the odd cells with their row and column as for any other file.
"""
from __future__ import annotations

import logging
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
#: a header whose text sits past this shared-string index is not looked up (the sheet is then
#: read cell by cell): writers store strings in order of first use, so headers come first
MAX_HEAD_STRING_INDEX = 200_000


def available() -> bool:
    """fastexcel and pyarrow are both importable."""
    try:
        import fastexcel  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def _column_index(ref: str) -> int:
    n = 0
    for ch in ref:
        if "A" <= ch <= "Z":
            n = n * 26 + ord(ch) - 64
        else:
            break
    return n - 1


def _text(el) -> str:
    """The text of an ``<si>`` or ``<is>`` element: plain or rich-text runs, phonetic runs left out."""
    if el is None:
        return ""
    parts = []
    for child in el:
        tag = child.tag
        if tag == _NS + "t":
            parts.append(child.text or "")
        elif tag == _NS + "r":
            t = child.find(_NS + "t")
            if t is not None:
                parts.append(t.text or "")
    return "".join(parts)


def _shared_strings(zf: zipfile.ZipFile, upto: int) -> list[str] | None:
    """The first ``upto + 1`` shared strings (streamed: a big table is not read to its end)."""
    from defusedxml.ElementTree import iterparse

    from .readers import _shared_strings_part

    part = _shared_strings_part(zf)
    if part is None:
        return None
    out: list[str] = []
    with zf.open(part) as fh:
        for _, el in iterparse(fh, events=("end",)):
            if el.tag == _NS + "si":
                out.append(_text(el))
                el.clear()
                if len(out) > upto:
                    break
    return out if len(out) > upto else None


def head_rows(zf: zipfile.ZipFile, part: str, limit: int) -> tuple[list[list], list[list[bool]]] | None:
    """The sheet's first ``limit`` rows from row 1, dense from column A, as the cell-by-cell
    reader gives them for header detection (text as ``str``, empty cells as ``""``, other
    values as numbers), and for each cell whether it is text. None when the XML is not as
    expected."""
    from defusedxml.ElementTree import iterparse

    cells: dict[int, list[tuple[int, str, str | None, object]]] = {}
    row_no = 0
    try:
        with zf.open(part) as fh:
            for _, el in iterparse(fh, events=("end",)):
                if el.tag != _NS + "row":
                    continue
                r = el.get("r")
                row_no = int(r) if r else row_no + 1
                if row_no > limit:
                    break
                items = []
                col = -1
                for c in el.iter(_NS + "c"):
                    ref = c.get("r")
                    col = _column_index(ref) if ref else col + 1
                    v = c.find(_NS + "v")
                    items.append((col, c.get("t") or "n", None if v is None else v.text,
                                  c.find(_NS + "is")))
                cells[row_no] = items
                el.clear()
    except Exception:  # noqa: BLE001 - any surprise (bad XML, a DTD): read cell by cell
        return None
    needed = [int(v) for items in cells.values() for _, t, v, _ in items if t == "s" and v is not None]
    strings: list[str] = []
    if needed:
        if max(needed) > MAX_HEAD_STRING_INDEX:
            return None
        got = _shared_strings(zf, max(needed))
        if got is None:
            return None
        strings = got
    rows: list[list] = []
    kinds: list[list[bool]] = []
    last = max(cells) if cells else 0
    for n in range(1, last + 1):
        items = cells.get(n, [])
        width = max((c for c, *_ in items), default=-1) + 1
        row: list = [""] * width
        is_text = [True] * width
        for col, t, v, inline in items:
            if t == "s":
                value = strings[int(v)] if v is not None else ""
            elif t == "inlineStr":
                value = _text(inline)
            elif t == "str":
                value = v or ""
            elif v is None:
                value = ""
            else:  # numbers, booleans, errors, ISO dates: not text for header detection
                value = float(v) if t == "n" else v
                is_text[col] = False
            row[col] = value
        rows.append(row)
        kinds.append(is_text)
    return rows, kinds


def _empty_mask(frame: pd.DataFrame) -> np.ndarray:
    """Rows where every cell is missing or an empty text (the cell-by-cell reader drops them)."""
    empty = np.ones(len(frame), dtype=bool)
    for col in frame.columns:
        s = frame[col]
        blank = s.isna().to_numpy(dtype=bool)
        if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
            blank = blank | (s == "").fillna(False).to_numpy(dtype=bool)
        empty &= blank
        if not empty.any():
            break
    return empty


def read_sheet(path: Path, name: str, head: list[list], kinds: list[list[bool]], file: str):
    """The sheet as a RawSheet of typed columns, or None when it must be read cell by cell."""
    import fastexcel

    # fastexcel logs a warning for every column it cannot type (e.g. an empty one) and reads it as
    # text; that is expected here and must not reach the terminal of `cs-desk report`
    logging.getLogger("fastexcel").setLevel(logging.ERROR)
    from .readers import RawSheet, _header_names, _is_empty, detect_header

    h = detect_header(head)
    if h is None or not all(k for row in kinds[:h + 1] for k in row):
        return None  # no header in the first rows, or a number/date above or in the header row
    header = head[h]
    try:
        sheet = fastexcel.read_excel(str(path)).load_sheet(
            name, header_row=h, schema_sample_rows=None, dtype_coercion="strict")
        columns = sheet.selected_columns
        if sheet.height == 0 or any(str(c.dtype) == "duration" for c in columns):
            return None
        raw_header = []
        for c in columns:
            i = c.absolute_index
            if str(c.column_name_from) != "looked_up" or i >= len(header) or c.name != header[i]:
                return None
            raw_header.append(header[i])
        used = {c.absolute_index for c in columns}
        if any(not _is_empty(v) for i, v in enumerate(header) if i not in used):
            return None
        batch, errors = sheet.to_arrow_with_errors()
    except fastexcel.FastExcelError:
        return None  # mixed types in a column, or anything else fastexcel refuses
    if errors is not None and errors.errors:
        return None
    import pyarrow as pa

    frame = batch.to_pandas()
    for i, fld in enumerate(batch.schema):
        if pa.types.is_date(fld.type):  # date cells arrive as datetime.date objects
            frame.isetitem(i, pd.to_datetime(frame.iloc[:, i]))
    frame.columns = _header_names(raw_header, letters=True)
    row_numbers = np.arange(len(frame), dtype=np.int64) + h + 2  # header at sheet row h + 1
    empty = _empty_mask(frame)
    if empty.all():
        return None
    if empty.any():
        frame = frame.loc[~empty].reset_index(drop=True)
        row_numbers = row_numbers[~empty]
    return RawSheet(file=file, sheet=name, header_row=h + 1, frame=frame, row_numbers=row_numbers)
