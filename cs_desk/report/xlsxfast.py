"""Big plain tables streamed straight into the workbook package xlsxwriter produced.

xlsxwriter writes every cell through a few Python calls (≈8 µs a cell: the Accounts sheet of
100k accounts takes ~20 s). For the big tables the workbook writer lets xlsxwriter lay the sheet
out — title, header, column formats and widths, filter, frozen panes, conditional formats over
the whole data range — and write the *first* data row only. Once xlsxwriter has closed the
package, :func:`splice` copies it and, for each such sheet, reads the style of every column from
that first row and appends the remaining rows as SpreadsheetML built column by column (text as
inline strings, numbers as numbers, dates as serial numbers in the column's date format; text is
never a formula, whatever it starts with). Compression runs on a second thread: zlib and ISA-L
(:func:`fast_deflate`) release the GIL, so building the next rows and compressing the previous
ones overlap.

Why not a Rust writer (rustpy-xlsxwriter, ~1.6 s for 100k x 18 cells)? It writes whole
workbooks only, so the Summary charts could not reference other sheets or set series colours,
and its ``row_formats`` emit a duplicate ``<row>`` element that Excel reports as damaged. This
module reaches the same speed inside one xlsxwriter workbook. See docs/reports.md.
"""
from __future__ import annotations

import queue
import re
import threading
import zipfile
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Callable

import numpy as np
import pandas as pd
from xlsxwriter.utility import xl_col_to_name

EXCEL_EPOCH = np.datetime64("1899-12-30T00:00:00", "ns")
MAX_TEXT = 32767  # Excel's limit for one cell
CHUNK_ROWS = 20_000
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_CELL = re.compile(r'<c r="([A-Z]+)(\d+)"([^>]*?)/?>')
_STYLE = re.compile(r'\bs="(\d+)"')


@dataclass
class PendingRows:
    """Rows still to write into ``sheet``: ``frame`` goes below the first data row, which
    xlsxwriter wrote at 0-based sheet row ``first_row``."""

    sheet: str
    frame: pd.DataFrame
    first_row: int


# ------------------------------------------------------------------------------------------------
# cells, column by column
_EDGE_SPACE = re.compile(r"(?:^|\n)\s|\s(?:\n|$)")


def _text_content(values: list) -> list[str]:
    """Inline-string cells. Each check runs once over the whole column (joined) and each fix
    only when the column needs it, so the common column — no ``&<>``, no control character, no
    edge space, nothing too long — is one concatenation per cell."""
    missing = pd.isna(np.asarray(values, dtype=object)).tolist() if values else []
    texts = ["" if gone else (v if isinstance(v, str) else str(v)) for v, gone in zip(values, missing)]
    if max(map(len, texts), default=0) > MAX_TEXT:
        texts = [t[:MAX_TEXT] for t in texts]
    joined = "\n".join(texts)
    if "&" in joined or "<" in joined or ">" in joined:
        texts = [t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") for t in texts]
    if _ILLEGAL.search(joined):
        texts = [_ILLEGAL.sub(lambda m: f"_x{ord(m.group()):04X}_", t) for t in texts]
    head, tail = ' t="inlineStr"><is><t>', "</t></is>"
    if _EDGE_SPACE.search(joined):
        keep = ' t="inlineStr"><is><t xml:space="preserve">'
        cells = [(keep if t[:1].isspace() or t[-1:].isspace() else head) + t + tail for t in texts]
    else:
        cells = [head + t + tail for t in texts]
    if any(missing):
        cells = [">" if gone else c for c, gone in zip(cells, missing)]
    return cells


def _number_content(values: np.ndarray) -> list[str]:
    finite = np.isfinite(values)
    texts = list(map(repr, values.tolist()))
    if finite.all():
        return ["><v>" + t + "</v>" for t in texts]
    return ["><v>" + t + "</v>" if ok else ">" for t, ok in zip(texts, finite.tolist())]


def _content_of_values(values: pd.Series) -> list[str]:
    """Cell contents for the values of one column (any length; see :func:`column_content`)."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        vals = values.astype(object).tolist()
        return [">" if v is None or v is pd.NA else (' t="b"><v>1</v>' if v else ' t="b"><v>0</v>') for v in vals]
    if pd.api.types.is_datetime64_any_dtype(dtype):
        ts = values
        if getattr(ts.dt, "tz", None) is not None:
            ts = ts.dt.tz_localize(None)
        raw = ts.to_numpy(dtype="datetime64[ns]")
        serial = (raw - EXCEL_EPOCH).astype("timedelta64[ns]").astype(np.int64) / 86_400e9
        serial[np.isnat(raw)] = np.nan
        whole = np.isfinite(serial) & (serial == np.floor(serial))
        texts = _number_content(serial)
        return [t.replace(".0</v>", "</v>") if w else t for t, w in zip(texts, whole.tolist())]
    if pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        return _number_content(pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan))
    return _text_content(values.astype(object).tolist())


def column_content(series: pd.Series) -> list[str]:
    """The part of each cell after ``<c r=".." s=".."``: ``><v>1.5</v>``, `` t="inlineStr">...``
    or ``>`` for an empty cell. Built once per distinct value (segments, bands, dates and
    counts repeat a lot), then spread over the rows."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    if len(uniques) > 0.7 * len(series):  # mostly distinct: no gain from factorizing
        return _content_of_values(series.reset_index(drop=True))
    contents = np.empty(len(uniques) + 1, dtype=object)
    contents[:-1] = _content_of_values(pd.Series(uniques, dtype=series.dtype if len(uniques) else object))
    contents[-1] = ">"
    return contents[codes].tolist()  # code -1 (missing) picks the empty cell at the end


def rows_xml(frame: pd.DataFrame, first_row_number: int, styles: list[int]) -> str:
    """SpreadsheetML ``<row>`` elements of ``frame``; its first row is sheet row
    ``first_row_number`` (1-based); ``styles[j]`` is the cell style index of column j."""
    n = len(frame)
    if n == 0:
        return ""
    cells = []
    for j, s in enumerate(styles):
        style = f' s="{s}"' if s else ""
        cells.append(f'<c r="{xl_col_to_name(j)}%s"{style}%s</c>')
    template = "<row r=\"%s\">" + "".join(cells) + "</row>"
    numbers = [str(r) for r in range(first_row_number, first_row_number + n)]
    args: list = [numbers]
    for j in range(len(styles)):
        args += [numbers, column_content(frame.iloc[:, j])]
    return "".join([template % t for t in zip(*args)])


# ------------------------------------------------------------------------------------------------
# package surgery
def _sheet_parts(zin: zipfile.ZipFile) -> dict[str, str]:
    """sheet name -> part name (``xl/worksheets/sheet3.xml``), from workbook.xml and its rels."""
    from xml.etree import ElementTree as ET  # our own package, not user input

    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
          "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
          "p": "http://schemas.openxmlformats.org/package/2006/relationships"}
    book = ET.fromstring(zin.read("xl/workbook.xml"))
    rels = ET.fromstring(zin.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target") for r in rels.findall("p:Relationship", ns)}
    out = {}
    for sheet in book.findall("m:sheets/m:sheet", ns):
        target = targets[sheet.get(f"{{{ns['r']}}}id")]
        out[sheet.get("name")] = target.lstrip("/") if target.startswith("/") else "xl/" + target
    return out


def _first_row_styles(head: str, row_number: int, ncols: int) -> list[int]:
    start = head.rfind(f'<row r="{row_number}"')
    if start < 0:
        raise ValueError(f"row {row_number} was not written by xlsxwriter")
    styles = [0] * ncols
    for m in _CELL.finditer(head, start):
        col = _col_index(m.group(1))
        if int(m.group(2)) != row_number or col >= ncols:
            continue
        s = _STYLE.search(m.group(3))
        styles[col] = int(s.group(1)) if s else 0
    return styles


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def splice(source: BinaryIO | str, target: BinaryIO | str, pending: list[PendingRows],
           level: int = 1, progress: Callable[[float], None] | None = None,
           cancelled: Callable[[], bool] | None = None) -> None:
    """Copy the package ``source`` to ``target``, appending each pending frame to its sheet."""
    by_sheet = {p.sheet: p for p in pending}
    total_rows = sum(len(p.frame) for p in pending) or 1
    done = 0
    # the archive's default level applies to the streamed sheets; the small parts get 6
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zout:
        parts = {part: by_sheet[name] for name, part in _sheet_parts(zin).items() if name in by_sheet}
        for info in zin.infolist():
            data = zin.read(info.filename)
            job = parts.get(info.filename)
            if job is None or job.frame.empty:
                zout.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
                continue
            xml = data.decode("utf-8")
            cut = xml.index("</sheetData>")
            head, tail = xml[:cut], xml[cut:]
            first_number = job.first_row + 1
            styles = _first_row_styles(head, first_number, job.frame.shape[1])
            last_number = first_number + len(job.frame)
            head = re.sub(r'<dimension ref="([A-Z]+\d+):([A-Z]+)\d+"/>',
                          lambda m: f'<dimension ref="{m.group(1)}:{m.group(2)}{last_number}"/>', head, count=1)
            big = len(job.frame) * job.frame.shape[1] * 120 > 1_500_000_000
            with zout.open(info.filename, "w", force_zip64=big) as stream:
                fast_deflate(stream, level)
                writer = _Writer(stream)
                try:
                    writer.put(head.encode("utf-8"))
                    for lo in range(0, len(job.frame), CHUNK_ROWS):
                        if cancelled is not None and cancelled():
                            raise _cancelled()
                        chunk = job.frame.iloc[lo:lo + CHUNK_ROWS]
                        writer.put(rows_xml(chunk, first_number + 1 + lo, styles).encode("utf-8"))
                        done += len(chunk)
                        if progress is not None:
                            progress(done / total_rows)
                    writer.put(tail.encode("utf-8"))
                finally:
                    writer.close()


def fast_deflate(stream, level: int = 1) -> bool:
    """Let ISA-L (the ``isal`` package of the ``fast`` extra) deflate a zip member that
    :meth:`zipfile.ZipFile.open` just opened for writing: the same deflate format, about 4x the
    speed of zlib at level 1 on sheet XML and a little smaller. ``level`` is zlib's, capped at
    ISA-L's highest (3). zipfile still writes the headers and the CRC. Returns False, leaving
    zlib in place, without isal or when the stream is not a fresh deflating zipfile member
    (zipfile offers no public hook for the compressor, so this checks the private attributes
    it replaces)."""
    try:
        from isal import isal_zlib
    except ImportError:
        return False
    if (type(stream).__name__ != "_ZipWriteFile" or getattr(stream, "_compressor", None) is None
            or getattr(stream, "_file_size", None) != 0 or getattr(stream, "_compress_size", None) != 0):
        return False
    stream._compressor = isal_zlib.compressobj(min(max(level, 0), isal_zlib.ISAL_BEST_COMPRESSION),
                                               zlib.DEFLATED, -zlib.MAX_WBITS)
    return True


def _cancelled():
    from .bundle import Cancelled

    return Cancelled("cancelled")


class _Writer:
    """Writes byte chunks to a stream on a second thread (compression overlaps building)."""

    def __init__(self, stream):
        self.stream = stream
        self.queue: queue.Queue = queue.Queue(maxsize=4)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="xlsx-compress", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            chunk = self.queue.get()
            if chunk is None:
                return
            if self.error is None:
                try:
                    self.stream.write(chunk)
                except BaseException as exc:  # re-raised on the caller's thread
                    self.error = exc

    def put(self, chunk: bytes) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(chunk)

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error
