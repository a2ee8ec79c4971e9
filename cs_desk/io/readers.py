"""Readers: one per file format, each ``read(path) -> (list[RawSheet], list[Problem])``.

A reader only turns a file into raw sheets: source header names and raw cell values, with the
row numbers a person sees in Excel or a text editor. It never parses values (that is
:mod:`cs_desk.io.clean`) and never guesses tables (that is :mod:`cs_desk.io.mapping`).

Spreadsheets are untrusted input:

* files are opened read-only and never written;
* a zip is inspected before any reader opens it: a total uncompressed size over
  :data:`MAX_UNCOMPRESSED` or a compression ratio over :data:`MAX_RATIO` on a large member is
  refused as a zip bomb (``FILE_TOO_LARGE``);
* python-calamine (the fast path) parses XML with quick-xml, which does not expand DTD entities;
  the openpyxl fallback uses defusedxml (openpyxl picks it up when it is installed, which
  ``cs-desk`` requires);
* formulas are never evaluated: cached values are read, and a formula cell with no cached value
  is reported (``FORMULA_WITHOUT_VALUE``) by scanning the sheet XML;
* macros in .xlsm files are ignored (neither reader runs VBA).
"""
from __future__ import annotations

import codecs
import csv
import io
import math
import re
import struct
import threading
import zipfile
import zlib
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Callable, Iterable, Iterator
from xml.etree.ElementTree import Element

import numpy as np
import pandas as pd

from ..problems import Code, Problem, Severity

MAX_UNCOMPRESSED = 1 << 30  # 1 GiB of XML in one workbook is far beyond any real export
MAX_RATIO = 200  # deflate on spreadsheet XML gives 5-30x; 200x on a big member is a bomb
RATIO_MIN_SIZE = 10 * (1 << 20)  # only members larger than 10 MB are checked for the ratio
HEADER_SCAN_ROWS = 30  # the header is looked for in the first rows only

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"


@dataclass
class RawSheet:
    """One sheet (or csv file) as read: source header names and raw cell values.

    ``frame`` has one column per source column (named by its header text, made unique) and
    object dtype; text stays text (``"NA"`` is not missing). A worksheet read by
    :mod:`cs_desk.io.typed_sheets` has typed columns instead (float64, datetime64, ``str``,
    bool) holding the same values, and a big csv parsed by Arrow (:func:`_csv_arrow`) has
    ``str`` columns. ``row_numbers[i]`` is the 1-based
    row of data row ``i`` as the user sees it (the header of a csv is row 1).
    """

    file: str
    sheet: str | None
    header_row: int
    frame: pd.DataFrame
    row_numbers: np.ndarray
    #: reader hints for cleaning, e.g. ``{"decimal": ","}`` for a semicolon csv
    hints: dict = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]

    def __len__(self) -> int:
        return len(self.frame)


ReadResult = tuple[list[RawSheet], list[Problem]]
SheetCallback = Callable[[RawSheet], None]


def _problem(code: Code, message: str, file: str, severity: Severity = Severity.ERROR, **kw) -> Problem:
    return Problem(code=code, message=message, severity=severity, file=file, **kw)


# --------------------------------------------------------------------------- header detection

_NUMBER_TEXT = re.compile(r"^[\s$€£¥+\-−(]*[\d.,\s]+[)%]?\s*$")


def _is_empty(v) -> bool:
    if v is None:
        return True
    if isinstance(v, str):
        return not v.strip()
    if isinstance(v, float) and math.isnan(v):
        return True
    return False


def _is_label(v) -> bool:
    """A cell that looks like a column title: text that is not a number, or a real date."""
    if isinstance(v, str):
        return bool(v.strip()) and not _NUMBER_TEXT.match(v)
    return hasattr(v, "year") and hasattr(v, "month")  # datetime headers of a wide MRR sheet


def detect_header(rows: list[list]) -> int | None:
    """Index of the header row among ``rows`` (0-based), or None when there is no data.

    The header is the first row, within the first :data:`HEADER_SCAN_ROWS`, that is about as
    wide as the rows below it (at least 70 % of their median width: title rows above a table
    are narrow) and mostly made of labels. If no row looks like labels (e.g. a wide MRR sheet
    whose month headers are Excel numbers), the first such wide row is the header.
    """
    scan = rows[:HEADER_SCAN_ROWS + 10]
    widths = [sum(not _is_empty(v) for v in row) for row in scan]
    filled = [i for i, w in enumerate(widths) if w]
    if not filled:
        return None
    first_wide = None
    for k, i in enumerate(filled):
        if i >= HEADER_SCAN_ROWS:
            break
        below = [widths[j] for j in filled[k:k + 11]]
        below = below[1:] or below
        if widths[i] < 0.7 * float(np.median(below)):
            continue
        if first_wide is None:
            first_wide = i
        labels = sum(_is_label(v) for v in scan[i] if not _is_empty(v))
        if labels >= 0.6 * widths[i]:
            return i
    return first_wide if first_wide is not None else filled[0]


def _column_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _header_names(header: list, letters: bool) -> list[str]:
    names: list[str] = []
    seen: dict[str, int] = {}
    for i, v in enumerate(header):
        if _is_empty(v):
            name = f"Column {_column_letter(i) if letters else i + 1}"
        elif hasattr(v, "isoformat") and not isinstance(v, str):
            name = v.isoformat()
            if name.endswith("T00:00:00"):
                name = name[:-9]
        elif isinstance(v, float) and v.is_integer():
            name = str(int(v))
        else:
            name = str(v).strip()
        key = name.lower()
        if key in seen:
            seen[key] += 1
            name = f"{name} ({seen[key]})"
        else:
            seen[key] = 1
        names.append(name)
    return names


def rows_to_sheet(rows: list[list], file: str, sheet: str | None, first_row: int = 1,
                  letters: bool = True, hints: dict | None = None) -> tuple[RawSheet | None, list[Problem]]:
    """Turn a list of rows (row 0 is spreadsheet row ``first_row``) into a RawSheet.

    Finds the header, drops trailing empty columns and fully empty rows (they are not problems).
    """
    h = detect_header(rows)
    if h is None:
        return None, [_problem(Code.EMPTY_SHEET, "The sheet is empty.", file, Severity.INFO, sheet=sheet)]
    data = rows[h + 1:]
    if isinstance(rows, np.ndarray):  # already rectangular (csv)
        arr = data
        width = rows.shape[1]
    else:
        lengths = np.fromiter(map(len, data), dtype=np.int64, count=len(data))
        width = max(len(rows[h]), int(lengths.max()) if len(data) else 0)
        if len(data) and width and (lengths == width).all():
            arr = np.array(data, dtype=object)
            if arr.shape != (len(data), width):  # cells that numpy took for sequences
                arr = np.empty((len(data), width), dtype=object)
                arr[:, :] = data
        else:
            arr = np.empty((len(data), width), dtype=object)
            arr[:] = None
            for i, r in enumerate(data):
                arr[i, : len(r)] = r
    header = list(rows[h]) + [None] * (width - len(rows[h]))
    empty = pd.isna(arr) | (arr == "")
    # keep columns that have a header or any value; drop the rest (trailing/blank columns)
    keep_cols = [j for j in range(width) if not _is_empty(header[j]) or not empty[:, j].all()]
    if len(keep_cols) < width:
        arr = arr[:, keep_cols]
        empty = empty[:, keep_cols]
    names = _header_names([header[j] for j in keep_cols], letters)
    row_numbers = np.arange(len(data), dtype=np.int64) + first_row + h + 1
    keep_rows = ~empty.all(axis=1) if len(keep_cols) else np.zeros(len(data), dtype=bool)
    if not keep_rows.all():
        arr = arr[keep_rows]
        row_numbers = row_numbers[keep_rows]
    frame = pd.DataFrame(arr, columns=names, dtype=object, copy=False)  # arr is ours: no second copy
    raw = RawSheet(file=file, sheet=sheet, header_row=first_row + h, frame=frame,
                   row_numbers=row_numbers, hints=dict(hints or {}))
    return raw, _no_data_rows(raw)


def _no_data_rows(raw: RawSheet) -> list[Problem]:
    if len(raw.frame):
        return []
    return [_problem(Code.EMPTY_SHEET, "The sheet has a header but no data rows.", raw.file,
                     Severity.INFO, sheet=raw.sheet, row=raw.header_row)]


# --------------------------------------------------------------------------- file sniffing

def _sniff(path: Path) -> bytes:
    with open(path, "rb") as fh:  # read-only, binary
        return fh.read(2048)


def _markup(head: bytes) -> bytes:
    """The start of a text file, lower-cased ASCII, for sniffing HTML / XML."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        head = head.decode("utf-16", errors="ignore").encode("ascii", errors="ignore")
    return head.lstrip(codecs.BOM_UTF8).lstrip().lower()


def _looks_like_html(head: bytes) -> bool:
    text = _markup(head)
    return text.startswith((b"<html", b"<!doctype html", b"<table", b"<meta", b"<head", b"<body")) or (
        text.startswith(b"<") and not text.startswith(b"<?xml") and b"<table" in text)


def _ole_is_encrypted(path: Path) -> bool:
    """An OOXML file protected with a password is a CFB (OLE2) container holding an
    ``EncryptedPackage`` stream; its directory entry names are UTF-16LE."""
    needle = "EncryptedPackage".encode("utf-16-le")
    with open(path, "rb") as fh:
        size = path.stat().st_size
        if size <= 64 << 20:
            return needle in fh.read()
        head = fh.read(16 << 20)
        fh.seek(max(0, size - (16 << 20)))
        return needle in head or needle in fh.read()


def check_zip(path: Path, file: str) -> list[Problem]:
    """Refuse corrupt zips and zip bombs before a reader decompresses anything."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        return [_problem(Code.FILE_UNREADABLE, f"The file is damaged or not a real Excel workbook ({exc}).", file)]
    total = sum(i.file_size for i in infos)
    if total > MAX_UNCOMPRESSED:
        return [_problem(Code.FILE_TOO_LARGE,
                         f"The workbook would unpack to {total / (1 << 30):.1f} GiB (the limit is "
                         f"{MAX_UNCOMPRESSED / (1 << 30):.0f} GiB); it was not opened.", file)]
    for i in infos:
        if i.file_size > RATIO_MIN_SIZE and i.file_size > MAX_RATIO * max(i.compress_size, 1):
            return [_problem(Code.FILE_TOO_LARGE,
                             f"Part {i.filename!r} of the workbook is compressed {i.file_size / max(i.compress_size, 1):.0f}"
                             f" times (more than {MAX_RATIO}); it looks like a zip bomb and was not opened.", file)]
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names and "xl/workbook.bin" not in names:
        return [_problem(Code.FILE_UNREADABLE, "The file is a zip archive but not an Excel workbook.", file)]
    return []


# --------------------------------------------------------------------------- formula scan

_FORMULA_NO_VALUE = re.compile(
    rb'<c r="([A-Z]{1,3})(\d+)"[^>]*>\s*(?:<f\b[^>]*/>|<f\b[^>]*>[^<]*</f>)\s*(?:<v\s*/>|<v>\s*</v>)?\s*(?:<is>\s*</is>)?\s*</c>')


def _local(el: Element) -> str:
    return el.tag.rsplit("}", 1)[-1]


def _part_path(target: str) -> str:
    """A relationship target of xl/workbook.xml as a zip member path."""
    target = target.lstrip("/")
    return target if target.startswith("xl/") else "xl/" + target


def _workbook_relationships(zf: zipfile.ZipFile) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, part path) of xl/workbook.xml; raises on a missing or bad part."""
    from defusedxml.ElementTree import fromstring  # entity expansion off

    rels = fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    return {r.get("Id"): (r.get("Type", ""), _part_path(r.get("Target", "")))
            for r in rels.iter() if _local(r) == "Relationship" and r.get("Target")}


def _shared_strings_part(zf: zipfile.ZipFile) -> str | None:
    """The workbook's shared-strings part, or None (none, or unreadable relationships)."""
    try:
        rels = _workbook_relationships(zf)
    except Exception:  # noqa: BLE001 - no relationships: no shared strings
        return None
    return next((path for typ, path in rels.values() if typ.endswith("/sharedStrings")), None)


def _sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> worksheet part path, from workbook.xml and its relationships."""
    from defusedxml.ElementTree import fromstring  # entity expansion off

    try:
        wb = fromstring(zf.read("xl/workbook.xml"))
        rels = _workbook_relationships(zf)
    except Exception:  # noqa: BLE001 - a scan that cannot run is not an error in itself
        return {}
    out = {}
    for el in wb.iter():
        if _local(el) != "sheet":
            continue
        rid = next((v for k, v in el.attrib.items() if k.endswith("}id")), None)
        if rid in rels:
            out[el.get("name")] = rels[rid][1]
    return out


def _raw_inflater():
    """A raw-deflate decompressor: ISA-L's (``isal``, 2-3x zlib's speed on sheet XML) when it is
    installed, else zlib's."""
    try:
        from isal import isal_zlib

        return isal_zlib.decompressobj(-zlib.MAX_WBITS), isal_zlib.error
    except ImportError:
        return zlib.decompressobj(-zlib.MAX_WBITS), zlib.error


def member_chunks(path: Path, info: zipfile.ZipInfo, size: int = 1 << 16) -> Iterator[bytes]:
    """The uncompressed bytes of one zip member, chunk by chunk, read straight from the file.

    For scans only (the formula scan): the member's CRC is not checked, since the reader that
    takes the values (calamine) reads and checks the same member; a member that inflates to more
    than its declared size, is cut short or does not inflate raises ``zipfile.BadZipFile``.
    Members that are encrypted or use another method than stored/deflated go through
    :mod:`zipfile`."""
    if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        with zipfile.ZipFile(path) as zf, zf.open(info) as fh:
            while chunk := fh.read(size):
                yield chunk
        return
    with open(path, "rb") as fh:
        fh.seek(info.header_offset)
        local = fh.read(30)
        if len(local) < 30 or local[:4] != ZIP_MAGIC:
            raise zipfile.BadZipFile(f"{info.filename}: bad local header")
        name_len, extra_len = struct.unpack("<HH", local[26:30])
        fh.seek(info.header_offset + 30 + name_len + extra_len)
        inflater, error = _raw_inflater() if info.compress_type == zipfile.ZIP_DEFLATED else (None, None)
        left, produced = info.compress_size, 0
        while left:
            raw = fh.read(min(size, left))
            if not raw:
                raise zipfile.BadZipFile(f"{info.filename}: member is cut short")
            left -= len(raw)
            while raw:
                if inflater is None:
                    out, raw = raw, b""
                else:  # at most 8 chunks out per call: a lying member cannot blow up memory
                    try:
                        out = inflater.decompress(raw, 8 * size)
                    except error as exc:
                        raise zipfile.BadZipFile(f"{info.filename}: {exc}") from None
                    raw = inflater.unconsumed_tail
                produced += len(out)
                if produced > info.file_size:
                    raise zipfile.BadZipFile(f"{info.filename}: inflates past its declared size")
                if out:
                    yield out
        if inflater is not None:
            out = inflater.flush()  # output the last call held back (its input is all consumed)
            if produced + len(out) > info.file_size:
                raise zipfile.BadZipFile(f"{info.filename}: inflates past its declared size")
            if not inflater.eof:
                raise zipfile.BadZipFile(f"{info.filename}: member is cut short")
            if out:
                yield out


def scan_formulas_without_value(path: Path, file: str, sheets: Iterable[str] | None = None,
                                limit: int = 200) -> list[Problem]:
    """Formula cells that have no cached value (e.g. a workbook written by a script and never
    opened in Excel). Their value would read as empty; they are reported, never evaluated.

    python-calamine only returns cached values (an uncached formula reads as an empty cell) and
    has no formula API in the version we use, so the sheet XML is streamed and matched here
    (:func:`member_chunks`: inflating is most of the cost).
    """
    problems: list[Problem] = []
    try:
        with zipfile.ZipFile(path) as zf:
            parts = _sheet_parts(zf)
            for name, part in parts.items():
                if sheets is not None and name not in sheets:
                    continue
                cells: list[tuple[str, int]] = []
                tail = b""
                try:
                    info = zf.getinfo(part)
                except KeyError:
                    continue
                for chunk in member_chunks(path, info):
                    buf = tail + chunk
                    if b"<f" in buf:
                        # only complete cells: stop at the last "</c>" and carry the rest
                        cut = buf.rfind(b"</c>") + 4
                        for m in _FORMULA_NO_VALUE.finditer(buf, 0, cut if cut > 3 else 0):
                            cells.append((m.group(1).decode(), int(m.group(2))))
                        tail = buf[cut:] if cut > 3 else buf[-65536:]
                    else:
                        tail = buf[-4096:]
                for col, row in cells[:limit]:
                    problems.append(Problem(
                        Code.FORMULA_WITHOUT_VALUE,
                        f"Cell {col}{row} holds a formula with no saved result, so it reads as empty. "
                        "Open the file in Excel and save it to store the results.",
                        Severity.WARNING, file=file, sheet=name, row=row, column=col))
                if len(cells) > limit:
                    problems.append(Problem(
                        Code.FORMULA_WITHOUT_VALUE,
                        f"{len(cells) - limit} more formula cells have no saved result.",
                        Severity.WARNING, file=file, sheet=name, value=str(len(cells) - limit)))
    except (zipfile.BadZipFile, OSError):
        pass  # a damaged member: the reader that takes the values reports it
    return problems


# --------------------------------------------------------------------------- excel

def _calamine_rows(path: Path, name: str) -> list[list]:
    from python_calamine import CalamineWorkbook

    with CalamineWorkbook.from_path(str(path)) as wb:
        return wb.get_sheet_by_name(name).to_python(skip_empty_area=False)


def _typed_or_rows(path: Path, name: str, part: str | None, file: str, typed: bool) -> RawSheet | list[list]:
    """The sheet as typed columns when :mod:`typed_sheets` can give exactly what the cell-by-cell
    reader would, else its rows cell by cell."""
    if typed and part is not None:
        from . import typed_sheets

        try:
            with zipfile.ZipFile(path) as zf:
                head = typed_sheets.head_rows(zf, part, HEADER_SCAN_ROWS + 10)
            raw = None if head is None else typed_sheets.read_sheet(path, name, head[0], head[1], file)
        except Exception:  # noqa: BLE001 - the typed route is only a shortcut: read cell by cell
            raw = None
        if raw is not None:
            return raw
    return _calamine_rows(path, name)


def _read_calamine(path: Path, file: str, on_sheet: SheetCallback | None = None,
                   typed: bool | None = None) -> ReadResult:
    """Every worksheet with python-calamine; sheets whose values fit the typed route
    (:mod:`cs_desk.io.typed_sheets`, on when fastexcel and pyarrow are installed and ``typed`` is
    not False) come as typed columns without a Python object per cell."""
    from concurrent.futures import ThreadPoolExecutor

    from python_calamine import CalamineWorkbook

    from . import typed_sheets

    with CalamineWorkbook.from_path(str(path)) as wb:
        names = [m.name for m in wb.sheets_metadata if not str(m.typ).endswith("ChartSheet")]
    if typed is None:
        typed = typed_sheets.available()
    with zipfile.ZipFile(path) as zf:
        parts = _sheet_parts(zf)
        sizes = {name: zf.getinfo(part).file_size for name, part in parts.items() if part in zf.NameToInfo}
    sheets: list[RawSheet] = []
    problems: list[Problem] = []
    # both readers parse without the GIL: sheets are parsed side by side (one workbook handle
    # each). They are delivered in workbook order; the largest sheet starts first on one worker
    # while the other takes the rest in order, so the first sheets are ready to clean early.
    largest = max(names, key=lambda n: sizes.get(n, 0)) if names else None
    order = sorted(names, key=lambda n: n != largest)
    with ThreadPoolExecutor(max_workers=min(2, max(len(names), 1))) as pool:
        started = {name: pool.submit(_typed_or_rows, path, name, parts.get(name), file, typed) for name in order}
        for name in names:
            got = started[name].result()
            if isinstance(got, RawSheet):
                raw, probs = got, []
            else:
                raw, probs = rows_to_sheet(got, file, name, first_row=1)
            problems.extend(probs)
            if raw is not None:
                sheets.append(raw)
                if on_sheet is not None:
                    on_sheet(raw)  # e.g. clean this sheet while the next one is still being parsed
    return sheets, problems


def _read_openpyxl(path: Path, file: str) -> ReadResult:
    import openpyxl

    sheets: list[RawSheet] = []
    problems: list[Problem] = []
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
    try:
        for ws in wb.worksheets:
            rows = [list(r) for r in ws.iter_rows(min_row=1, values_only=True)]
            raw, probs = rows_to_sheet(rows, file, ws.title, first_row=1)
            problems.extend(probs)
            if raw is not None:
                sheets.append(raw)
    finally:
        wb.close()
    return sheets, problems


def read_excel(path: str | Path, engine: str = "auto", on_sheet: SheetCallback | None = None) -> ReadResult:
    """Read every worksheet of an .xlsx/.xlsm (or a file with an Excel name that is really
    something else: legacy .xls, an encrypted workbook, HTML) into RawSheets.

    ``engine``: ``"auto"`` (python-calamine, typed columns where they fit, openpyxl if calamine
    fails), ``"calamine"``, ``"cells"`` (python-calamine cell by cell only) or ``"openpyxl"``."""
    p = Path(path)
    file = str(path)
    if not p.is_file():
        return [], [_problem(Code.FILE_NOT_FOUND, "The file does not exist.", file)]
    try:
        head = _sniff(p)
    except OSError as exc:
        return [], [_problem(Code.FILE_UNREADABLE, f"The file could not be opened ({exc.strerror or exc}).", file)]
    if head.startswith(OLE_MAGIC):
        if p.suffix.lower() in (".xlsx", ".xlsm") and _ole_is_encrypted(p):
            return [], [_problem(Code.FILE_ENCRYPTED,
                                 "The workbook is protected with a password. Open it in Excel, remove the "
                                 "password (File > Info > Protect Workbook) and save it again.", file)]
        return [], [_problem(Code.UNSUPPORTED_FORMAT,
                             "This is a legacy Excel 97-2003 workbook (.xls). Open it in Excel and save it as "
                             ".xlsx (File > Save As > Excel Workbook).", file)]
    if _looks_like_html(head):
        sheets, problems = read_html(p)
        for raw in sheets if on_sheet is not None else ():
            on_sheet(raw)
        return sheets, problems
    if b"urn:schemas-microsoft-com:office:spreadsheet" in _markup(head):
        return [], [_problem(Code.UNSUPPORTED_FORMAT,
                             "This is an Excel 2003 XML spreadsheet. Open it in Excel and save it as .xlsx.", file)]
    if not head.startswith(ZIP_MAGIC):
        if not head:
            return [], [_problem(Code.EMPTY_SHEET, "The file is empty.", file, Severity.ERROR)]
        return [], [_problem(Code.FILE_UNREADABLE,
                             "The file has an Excel name but is not an Excel workbook (maybe a csv or a "
                             "damaged download).", file)]
    problems = check_zip(p, file)
    if problems:
        return [], problems
    # the formula scan inflates the sheet XML with zlib, which releases the GIL: run it while
    # calamine parses
    scan: dict[str, list[Problem]] = {}
    worker = threading.Thread(target=lambda: scan.setdefault("p", scan_formulas_without_value(p, file)),
                              daemon=True)
    worker.start()
    sheets: list[RawSheet] = []
    errors: list[str] = []
    delivered: list[RawSheet] = []

    def deliver(raw: RawSheet) -> None:
        delivered.append(raw)
        if on_sheet is not None:
            on_sheet(raw)

    for eng in (("calamine", "openpyxl") if engine == "auto" else (engine,)):
        if delivered:
            break  # a reader that failed after delivering sheets is not retried (no duplicates)
        try:
            if eng in ("calamine", "cells"):
                sheets, problems = _read_calamine(p, file, deliver, typed=False if eng == "cells" else None)
            else:
                sheets, problems = _read_openpyxl(p, file)
                for raw in sheets:
                    deliver(raw)
            break
        except Exception as exc:  # noqa: BLE001 - any reader failure becomes one problem
            errors.append(f"{eng}: {exc}")
    else:
        worker.join()
        return [], [_problem(Code.FILE_UNREADABLE, "The workbook could not be read: " + "; ".join(errors), file)]
    worker.join()
    if errors and delivered:  # failed part-way: what was read is kept, the rest is reported
        sheets = delivered
        problems = problems + [_problem(Code.FILE_UNREADABLE, "Part of the workbook could not be read: "
                                        + "; ".join(errors), file)]
    return sheets, scan.get("p", []) + problems


# --------------------------------------------------------------------------- html disguised as excel

class _TableParser(HTMLParser):
    """Collects the cells of every <table> (Salesforce-style "xls" exports are HTML tables)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._depth += 1
            self.tables.append([])
        elif tag == "tr" and self._depth:
            self._row = []
            self.tables[-1].append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr":
            self._row = None
        elif tag == "table" and self._depth:
            self._depth -= 1

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def read_html(path: str | Path) -> ReadResult:
    """Read the tables of an HTML file saved with an Excel name. Cells stay text.

    pandas.read_html is not used: it needs lxml or html5lib and converts "NA" to missing.
    """
    p = Path(path)
    file = str(path)
    raw = p.read_bytes()
    text, _ = _decode(raw)
    parser = _TableParser()
    try:
        parser.feed(text)
        parser.close()
    except Exception as exc:  # noqa: BLE001
        return [], [_problem(Code.UNSUPPORTED_FORMAT, f"The file is a web page, not a workbook, and could not be read ({exc}).", file)]
    tables = [t for t in parser.tables if any(any(c for c in r) for r in t)]
    if not tables:
        return [], [_problem(Code.UNSUPPORTED_FORMAT,
                             "The file is a web page (HTML) saved with an Excel name and holds no table. "
                             "Open it in Excel and save it as .xlsx.", file)]
    sheets, problems = [], [_problem(Code.UNSUPPORTED_FORMAT,
                                     "The file is a web page (HTML) saved with an Excel name; its tables were read "
                                     "as text. Saving it as .xlsx in Excel avoids surprises.", file, Severity.INFO)]
    for i, t in enumerate(tables):
        name = "Table" if len(tables) == 1 else f"Table {i + 1}"
        sheet, probs = rows_to_sheet(t, file, name, first_row=1, letters=False)
        problems.extend(probs)
        if sheet is not None:
            sheets.append(sheet)
    return sheets, problems


# --------------------------------------------------------------------------- csv / text

def _decode(raw: bytes) -> tuple[str, str]:
    """Decode text: BOMs first, then UTF-8, then Windows-1252, then Latin-1 (never fails)."""
    if raw.startswith(codecs.BOM_UTF8):
        return raw[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16", errors="replace"), "utf-16"
    for enc in ("utf-8", "cp1252"):
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1"), "latin-1"


DELIMITERS = ",;\t|"


def _field_counts(lines: list[str], delim: str) -> list[int]:
    try:
        return [len(r) for r in csv.reader(lines, delimiter=delim) if any(c.strip() for c in r)]
    except csv.Error:
        return []


def _consistency(counts: list[int]) -> tuple[float, int]:
    if not counts:
        return 0.0, 0
    values, freq = np.unique(counts, return_counts=True)
    mode = int(values[np.argmax(freq)])
    return float(freq.max()) / len(counts), mode


def detect_delimiter(sample: str) -> str:
    """The delimiter among , ; tab | : csv.Sniffer first, checked for a consistent field count;
    otherwise the candidate whose field count is most consistent across lines (and > 1)."""
    lines = sample.splitlines()[:200]
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may cut the last line
    try:
        sniffed = csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        sniffed = None
    if sniffed:
        share, mode = _consistency(_field_counts(lines, sniffed))
        if mode > 1 and share >= 0.8:
            return sniffed
    best, best_key = ",", (0.0, 0)
    for d in DELIMITERS:
        share, mode = _consistency(_field_counts(lines, d))
        if mode > 1 and (share, mode) > best_key:
            best, best_key = d, (share, mode)
    return best


#: below this many characters a file is parsed by pandas alone (the Arrow route's set-up costs more)
ARROW_CSV_MIN_CHARS = 1 << 20


def _csv_arrow(text: str, delim: str, file: str, hints: dict) -> ReadResult | None:
    """The file parsed by Arrow's multi-threaded csv reader into ``str`` columns (no Python
    object per cell), giving exactly what the pandas route gives, or None to leave it to that
    route: when pyarrow is missing or any record has another number of fields than the first
    (ragged rows, a title line above the table), since pandas pads such rows.

    Same rules as the pandas route: every cell is text ("" for an empty field, nothing becomes
    missing), quotes as in RFC 4180 with newlines inside quoted fields, blank lines are rows
    (empty rows are dropped by the sheet rules, their numbers kept), row numbers count records.
    The header, empty columns and empty rows follow :func:`rows_to_sheet`."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pacsv
    except ImportError:
        return None
    data = text.encode("utf-8")
    parse = pacsv.ParseOptions(delimiter=delim, quote_char='"', double_quote=True, escape_char=False,
                               newlines_in_values=True, ignore_empty_lines=False)
    as_text = {"null_values": [], "strings_can_be_null": False, "quoted_strings_can_be_null": False}
    ends = [i for i in (data.find(b"\n"), data.find(b"\r")) if i >= 0]
    first = pacsv.read_csv(  # the first line alone gives the number of columns
        pa.py_buffer(data[: min(ends) + 1] if ends else data), parse_options=parse,
        read_options=pacsv.ReadOptions(autogenerate_column_names=True, use_threads=False),
        convert_options=pacsv.ConvertOptions(**as_text))
    names = [f"f{i}" for i in range(first.num_columns)]
    table = pacsv.read_csv(  # every record must have that many fields, or this raises
        pa.py_buffer(data), parse_options=parse,
        read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 22),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.large_string() for n in names}, **as_text))
    del data
    head = table.slice(0, HEADER_SCAN_ROWS + 10).to_pylist()
    head_rows = [[row[n] for n in names] for row in head]
    h = detect_header(head_rows)
    if h is None:
        return None  # no data in the first rows: the pandas route reports it
    body = table.slice(h + 1)
    header = head_rows[h]
    # an empty cell is "" (never null here); a column is kept when it has a header or a value
    empty = [pc.equal(body.column(n), "").combine_chunks() for n in names]
    all_empty = [pc.all(e).as_py() is not False for e in empty]  # pc.all of no rows is null: empty
    keep_cols = [j for j in range(len(names)) if not _is_empty(header[j]) or not all_empty[j]]
    row_numbers = np.arange(body.num_rows, dtype=np.int64) + 1 + h + 1
    if keep_cols:
        blank = np.ones(body.num_rows, dtype=bool)
        for j in keep_cols:
            blank &= empty[j].to_numpy(zero_copy_only=False)
        keep_rows = ~blank
    else:
        keep_rows = np.zeros(body.num_rows, dtype=bool)
    body = body.select([names[j] for j in keep_cols])
    if not keep_rows.all():
        body = body.filter(pa.array(keep_rows))
        row_numbers = row_numbers[keep_rows]
    frame = body.to_pandas(types_mapper={pa.large_string(): pd.StringDtype("pyarrow", na_value=np.nan)}.get,
                           self_destruct=True)
    frame.columns = _header_names([header[j] for j in keep_cols], letters=False)
    raw = RawSheet(file=file, sheet=None, header_row=1 + h, frame=frame, row_numbers=row_numbers,
                   hints=dict(hints))
    return [raw], _no_data_rows(raw)


def read_csv(path: str | Path, arrow: bool = True) -> ReadResult:
    """Read a delimited text file. Every cell stays text (``"NA"`` is North America).

    Big files are parsed by Arrow when pyarrow is installed and every record has the same
    number of fields (:func:`_csv_arrow`: ``str`` columns, the same cells); otherwise, or with
    ``arrow=False``, by pandas (object columns)."""
    p = Path(path)
    file = str(path)
    if not p.is_file():
        return [], [_problem(Code.FILE_NOT_FOUND, "The file does not exist.", file)]
    try:
        raw = p.read_bytes()
    except OSError as exc:
        return [], [_problem(Code.FILE_UNREADABLE, f"The file could not be opened ({exc.strerror or exc}).", file)]
    if raw.startswith(ZIP_MAGIC) or raw.startswith(OLE_MAGIC):
        return [], [_problem(Code.UNSUPPORTED_FORMAT,
                             "The file has a text name but is a workbook; rename it to .xlsx.", file)]
    text, encoding = _decode(raw)
    del raw
    if not text.strip():
        return [], [_problem(Code.EMPTY_SHEET, "The file is empty.", file, Severity.INFO)]
    delim = detect_delimiter(text[: 1 << 16])
    hints = {"encoding": encoding, "delimiter": delim}
    if delim == ";":
        hints["decimal"] = ","  # semicolon files come from locales with decimal commas
    if arrow and len(text) > ARROW_CSV_MIN_CHARS:
        try:
            got = _csv_arrow(text, delim, file, hints)
        except Exception:  # noqa: BLE001 - the Arrow route is only a shortcut: parse with pandas
            got = None
        if got is not None:
            return got
    sample_rows = list(csv.reader(text[: 1 << 16].splitlines()[:HEADER_SCAN_ROWS * 4], delimiter=delim))
    width = max((len(r) for r in sample_rows), default=1)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delim, header=None, names=list(range(width)),
                            dtype=object, keep_default_na=False, na_filter=False, engine="c",
                            skip_blank_lines=False, quotechar='"', doublequote=True)
        rows = frame.to_numpy(dtype=object)
    except (pd.errors.ParserError, ValueError):
        # ragged rows (more fields than the sample showed): the csv module pads nothing, so do it
        rows = [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delim)]
    sheet, problems = rows_to_sheet(rows, file, None, first_row=1, letters=False, hints=hints)
    return ([sheet] if sheet is not None else []), problems


# --------------------------------------------------------------------------- registry

Reader = Callable[[str | Path], ReadResult]

READERS: dict[str, Reader] = {
    ".xlsx": read_excel,
    ".xlsm": read_excel,
    ".xls": read_excel,  # sniffed: a real .xls is refused with a message, an xlsx/HTML one is read
    ".csv": read_csv,
    ".txt": read_csv,
    ".tsv": read_csv,
}


def read(path: str | Path, on_sheet: SheetCallback | None = None) -> ReadResult:
    """Read any supported file, choosing the reader by extension. ``on_sheet(raw)`` is called
    for each sheet as soon as it is read (workbooks parse their sheets in parallel)."""
    p = Path(path)
    reader = READERS.get(p.suffix.lower())
    if reader is None:
        if not p.exists():
            return [], [_problem(Code.FILE_NOT_FOUND, "The file does not exist.", str(path))]
        return [], [_problem(Code.UNSUPPORTED_FORMAT,
                             f"Files ending in {p.suffix or '(no extension)'} cannot be read; use .xlsx, .xlsm or .csv.",
                             str(path))]
    if on_sheet is not None and reader is read_excel:
        return read_excel(path, on_sheet=on_sheet)
    sheets, problems = reader(path)
    if on_sheet is not None:
        for raw in sheets:
            on_sheet(raw)
    return sheets, problems
