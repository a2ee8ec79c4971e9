"""Loading: files -> recognised, cleaned, validated canonical tables (a :class:`Dataset`).

``load(paths)`` reads every file (:mod:`.readers`), recognises each sheet (:mod:`.mapping`),
melts wide MRR sheets, cleans values (:mod:`.clean`), concatenates several sources of one
table and runs cross-table checks (:mod:`.validate`). Nothing raises on bad data: every
problem is a :class:`~cs_desk.problems.Problem` in ``dataset.problems``.

Hidden columns: each loaded table keeps ``_row`` (1-based source row) and ``_source`` (index
into ``dataset.sources``) so later checks can point at the user's cell. Code that computes
KPIs ignores columns whose name starts with ``_``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ..dataset import Dataset, Source
from ..problems import Code, Problem, Severity
from ..schema import TABLES
from .clean import clean_frame
from .mapping import MappingFile, Recognition, recognise
from .readers import READERS, RawSheet, read
from .validate import SOURCE_COLUMN, cross_validate

__all__ = ["load", "inspect", "SheetSummary", "Inspection", "melt_wide", "canonical_frame", "READERS",
           "RawSheet", "MappingFile", "Recognition", "recognise", "clean_frame", "clean_sheet", "cross_validate",
           "load_sheets"]

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class SheetSummary:
    """What ``cs-desk map`` shows about a sheet before any value is parsed."""

    file: str
    sheet: str | None
    header_row: int
    rows: int
    columns: tuple[str, ...]
    sample: tuple[tuple, ...] = ()  # the first data rows, raw


class Inspection(list):
    """``inspect`` result: a list of (SheetSummary, Recognition) with ``.problems`` attached."""

    problems: list[Problem]

    def __init__(self, items=(), problems=None):
        super().__init__(items)
        self.problems = list(problems or [])


def _as_paths(paths) -> list[str]:
    if paths is None:
        return []
    if isinstance(paths, (str, Path)):
        return [str(paths)]
    return [str(p) for p in paths]


def _split_spec(spec: str) -> tuple[str, str | None]:
    """``"file.xlsx#Sheet"`` -> (file, sheet); a csv has no sheet."""
    if "#" in spec:
        file, sheet = spec.rsplit("#", 1)
        return file, sheet or None
    return spec, None


def _same_file(a: str, b: str) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return a == b


def _load_mapping(mapping) -> tuple[MappingFile | None, list[Problem]]:
    if mapping is None or isinstance(mapping, MappingFile):
        return mapping, []
    return MappingFile.load(mapping)


def _as_floats(flat: np.ndarray) -> np.ndarray | None:
    """The cells as floats (empty -> NaN) when every cell is a number or empty, else None."""
    work = flat.copy()
    work[flat == ""] = np.nan
    try:
        return work.astype(float)
    except (TypeError, ValueError):
        return None


def melt_wide(raw: RawSheet, rec: Recognition) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """A wide MRR sheet (one column per month) as long rows: (frame with account_id, month,
    mrr [, currency]; source row of each row; source column of each row). Empty cells are no
    row; the month is the first day of the month."""
    frame = raw.frame
    month_cols = [c for c in frame.columns if c in rec.wide_month_columns]
    typed = all(pd.api.types.is_float_dtype(frame[c].dtype) for c in month_cols)
    values = frame[month_cols].to_numpy(dtype=float if typed else object)
    n, m = values.shape
    flat = values.ravel()  # row-major: row 0 month 0, row 0 month 1, ...
    numbers = flat if typed else _as_floats(flat)  # typed: number columns from the typed reader
    if numbers is not None:  # the usual case: numbers or empty cells
        keep = ~np.isnan(numbers)
        flat = numbers
    else:
        keep = ~(pd.isna(flat) | (flat == ""))
    if numbers is None and keep.any() and pd.api.types.infer_dtype(flat[keep], skipna=True) not in (
            "floating", "integer", "mixed-integer-float", "decimal"):
        strs = np.fromiter((isinstance(v, str) for v in flat[keep]), dtype=bool, count=int(keep.sum()))
        if strs.any():
            kept_idx = np.flatnonzero(keep)
            blank = np.array([not v.strip() for v in flat[kept_idx[strs]]], dtype=bool)
            keep[kept_idx[strs][blank]] = False
    row_idx = np.repeat(np.arange(n), m)[keep]
    col_idx = np.tile(np.arange(m), n)[keep]
    months = np.array([rec.wide_month_columns[c] for c in month_cols], dtype="datetime64[ns]")
    def repeat(col: str) -> pd.Categorical:
        # categorical: cleaning parses each account once, not once per month
        codes, uniques = pd.factorize(frame[col].to_numpy(dtype=object), use_na_sentinel=True)
        return pd.Categorical.from_codes(codes[row_idx], categories=pd.Index(uniques, dtype=object))

    mrr = flat[keep]
    if pd.api.types.infer_dtype(mrr, skipna=True) in ("floating", "integer", "mixed-integer-float"):
        mrr = mrr.astype(float)  # the usual case: real numbers in the cells
    out = {"account_id": repeat(rec.mapping["account_id"]),
           "month": months[col_idx] if m else np.zeros(0, "datetime64[ns]"),
           "mrr": mrr}
    if "currency" in rec.mapping:
        out["currency"] = repeat(rec.mapping["currency"])
    rows = np.asarray(raw.row_numbers, dtype=np.int64)[row_idx]
    columns = np.asarray(month_cols, dtype=object)[col_idx] if m else np.zeros(0, dtype=object)
    return pd.DataFrame(out), rows, columns


def canonical_frame(raw: RawSheet, rec: Recognition) -> tuple[pd.DataFrame, np.ndarray, dict]:
    """Rename mapped source columns to canonical names (long) or melt (wide).
    Returns (frame, row numbers, source_columns for problem messages)."""
    if rec.layout == "wide":
        frame, rows, cols = melt_wide(raw, rec)
        source_columns: dict = {"mrr": cols, "month": cols, "account_id": rec.mapping["account_id"]}
        if "currency" in rec.mapping:
            source_columns["currency"] = rec.mapping["currency"]
        return frame, rows, source_columns
    data = {fld: raw.frame[src] for fld, src in rec.mapping.items() if src in raw.frame.columns}
    frame = pd.DataFrame(data)
    for fld, value in rec.defaults.items():
        if fld not in frame.columns:
            frame[fld] = value
    if frame.empty and len(raw.frame):
        frame = pd.DataFrame(index=range(len(raw.frame)))
    return frame, np.asarray(raw.row_numbers, dtype=np.int64), dict(rec.mapping)


def _read_all(files: list[str], progress: Progress | None, share: float) -> tuple[list[RawSheet], list[Problem]]:
    sheets: list[RawSheet] = []
    problems: list[Problem] = []
    for k, f in enumerate(files):
        if progress:
            progress(share * k / max(len(files), 1), f"Reading {Path(f).name}")
        s, p = read(f)
        sheets.extend(s)
        problems.extend(p)
    return sheets, problems


def _explicit_targets(explicit: dict | None) -> tuple[dict[str, tuple[str, str | None]], list[Problem]]:
    targets: dict[str, tuple[str, str | None]] = {}
    problems: list[Problem] = []
    for table, spec in (explicit or {}).items():
        if table not in TABLES:
            problems.append(Problem(Code.OPTION_INVALID, f"{table!r} is not a table; use one of {', '.join(TABLES)}.",
                                    Severity.ERROR, value=str(spec)))
            continue
        targets[table] = _split_spec(str(spec))
    return targets, problems


def clean_sheet(raw: RawSheet, rec: Recognition, options: dict | None = None):
    """One recognised sheet in canonical form, cleaned: ``(canonical frame, cleaned, problems)``.
    The options are the load's, then the mapping entry's, then what the reader saw (decimal comma)."""
    frame, rows, source_columns = canonical_frame(raw, rec)
    opts = {**(options or {}), **(rec.options or {}), "source_columns": source_columns}
    if "decimal" not in opts and raw.hints.get("decimal"):
        opts["decimal"] = raw.hints["decimal"]
    cleaned, problems = clean_frame(frame, rec.table, file=raw.file, sheet=raw.sheet, row_numbers=rows,
                                    options=opts)
    return frame, cleaned, problems


NOT_RECOGNISED_ADVICE = "Map it with `cs-desk map` if it should be."


def _process_sheet(ds: Dataset, raw: RawSheet, hint: str | None, mf: MappingFile | None,
                   targets: dict, options: dict, parts: dict[str, list[pd.DataFrame]],
                   advice: str = NOT_RECOGNISED_ADVICE) -> Recognition:
    """Recognise, clean and register one sheet (problems go to ``ds.problems``)."""
    rec = recognise(raw, mf, table_hint=hint)
    if hint:
        rec.how = "explicit" if rec.how == "auto" else rec.how
    where = dict(file=raw.file, sheet=raw.sheet)
    headers = f"{', '.join(raw.columns[:12])}{', ...' if len(raw.columns) > 12 else ''}"
    if rec.table is None:
        ds.problems.append(Problem(Code.SHEET_NOT_RECOGNISED,
                                   f"The sheet does not look like any known table (headers: {headers}); it was not "
                                   f"used. {advice}",
                                   Severity.INFO, row=raw.header_row, **where))
        return rec
    if hint is None and rec.table in targets:
        ds.problems.append(Problem(Code.SHEET_NOT_RECOGNISED,
                                   f"The sheet looks like {rec.table} data but another sheet was given for that "
                                   "table; it was not used.", Severity.INFO, table=rec.table, **where))
        return rec
    if rec.missing:
        ds.problems.append(Problem(Code.MISSING_COLUMN,
                                   f"The sheet looks like {rec.table} data but no column holds "
                                   f"{', '.join(rec.missing)}; it was not used. Headers found: {headers}.",
                                   Severity.ERROR, row=raw.header_row, table=rec.table, **where))
        return rec
    frame, cleaned, problems = clean_sheet(raw, rec, options)
    ds.problems.extend(problems)
    cleaned[SOURCE_COLUMN] = np.int64(len(ds.sources))
    ds.sources.append(Source(
        file=raw.file, sheet=raw.sheet, table=rec.table, rows=len(frame), rows_set_aside=len(frame) - len(cleaned),
        mapping=dict(rec.mapping), confidence=rec.confidence, unmapped=tuple(rec.unmapped),
        header_row=raw.header_row, layout=rec.layout))
    parts.setdefault(rec.table, []).append(cleaned)
    return rec


def _finish(ds: Dataset, parts: dict[str, list[pd.DataFrame]]) -> None:
    """Concatenate each table's sources and check across tables."""
    for table, frames in parts.items():
        ds.tables[table] = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    ds.problems.extend(cross_validate(ds))


def load_sheets(raws, mapping: MappingFile | str | Path | None = None, options: dict | None = None,
                advice: str = NOT_RECOGNISED_ADVICE) -> tuple[Dataset, list[Recognition]]:
    """The loading steps of :func:`load` over sheets already in memory (e.g. handed over by Excel):
    ``raws`` is a list of ``(RawSheet, table hint or None)``. Returns the dataset and each sheet's
    recognition, in order. ``advice`` ends the message for a sheet that is no known table."""
    options = dict(options or {})
    mf, problems = _load_mapping(mapping)
    if mf is not None:
        options = {**mf.options, **options}
    ds = Dataset(options=options)
    ds.problems.extend(problems)
    parts: dict[str, list[pd.DataFrame]] = {}
    recognitions = [_process_sheet(ds, raw, hint, mf, {}, options, parts, advice) for raw, hint in raws]
    _finish(ds, parts)
    return ds, recognitions


def load(paths=None, explicit: dict[str, str] | None = None, mapping: MappingFile | str | Path | None = None,
         options: dict | None = None, progress: Progress | None = None) -> Dataset:
    """Load files into a :class:`Dataset`.

    ``paths``: files (.xlsx, .xlsm, .csv, .txt, .tsv); every sheet is recognised.
    ``explicit``: ``{"accounts": "crm.xlsx#Accounts", "mrr": "billing.csv"}`` fixes which sheet
    feeds a table (other sheets are then not used for that table). A workbook without
    ``#sheet`` means its first sheet.
    ``mapping``: a :class:`MappingFile` or the path of a saved one; its entries win.
    ``options``: ``date_order``, ``decimal``, ``cents``, ``end_date_inclusive``, ``currency``
    (global; a mapping entry's options override them per source).
    ``progress(fraction, text)`` is called as files are read and cleaned.
    """
    options = dict(options or {})
    ds = Dataset(options=options)
    mf, problems = _load_mapping(mapping)
    ds.problems.extend(problems)
    if mf is not None:
        options = {**mf.options, **options}
        ds.options = options
    targets, problems = _explicit_targets(explicit)
    ds.problems.extend(problems)
    files = _as_paths(paths)
    for f, _ in targets.values():
        if not any(_same_file(f, g) for g in files):
            files.append(f)

    parts: dict[str, list[pd.DataFrame]] = {}
    matched: set[str] = set()  # explicit tables whose sheet was found

    def hint_for(raw: RawSheet, first: bool) -> str | None:
        for table, (f, sheet) in targets.items():
            if not _same_file(raw.file, f):
                continue
            if (sheet is None and first) or (sheet is not None and raw.sheet is not None
                                              and raw.sheet.strip().lower() == sheet.strip().lower()):
                return table
        return None

    def process(raw: RawSheet, first: bool) -> None:
        hint = hint_for(raw, first)
        if hint:
            matched.add(hint)
        _process_sheet(ds, raw, hint, mf, targets, options, parts)

    for k, f in enumerate(files):
        if progress:
            progress(0.95 * k / max(len(files), 1), f"Reading {Path(f).name}")
        seen: list[RawSheet] = []

        def on_sheet(raw: RawSheet, seen=seen) -> None:
            seen.append(raw)
            process(raw, first=len(seen) == 1)

        _, problems = read(f, on_sheet=on_sheet)
        ds.problems.extend(problems)
        for table, (tf, sheet) in targets.items():
            if table not in matched and _same_file(tf, f) and (seen or Path(f).exists()):
                ds.problems.append(Problem(Code.SHEET_NOT_FOUND,
                                           f"The sheet {sheet!r} given for the {table} table is not in the file "
                                           f"(sheets: {', '.join(str(s.sheet) for s in seen) or 'none'}).",
                                           Severity.ERROR, file=tf, sheet=sheet, table=table))

    if progress:
        progress(0.95, "Checking across tables")
    _finish(ds, parts)
    if not ds.tables and not ds.errors:
        ds.problems.append(Problem(Code.MISSING_COLUMN, "No table could be recognised in the files given; map the "
                                                         "sheets with `cs-desk map`.", Severity.ERROR))
    if progress:
        progress(1.0, "Loaded")
    return ds


def inspect(paths, mapping: MappingFile | str | Path | None = None) -> Inspection:
    """Read files and recognise every sheet without cleaning values (for ``cs-desk map``)."""
    mf, problems = _load_mapping(mapping)
    sheets, more = _read_all(_as_paths(paths), None, 1.0)
    out = Inspection(problems=problems + more)
    for raw in sheets:
        sample = tuple(tuple(r) for r in raw.frame.head(5).itertuples(index=False, name=None))
        summary = SheetSummary(file=raw.file, sheet=raw.sheet, header_row=raw.header_row, rows=len(raw.frame),
                               columns=tuple(raw.columns), sample=sample)
        out.append((summary, recognise(raw, mf)))
    return out
