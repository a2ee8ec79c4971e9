"""Writers for tidy tables (KPI results, problem lists, snapshots): one registry by format.

``write_table(frame, fmt, out)`` renders ``frame`` as csv, json, xlsx or a plain text table.
With ``out=None`` the text is returned (xlsx needs a path); otherwise the file is written
atomically and None is returned. In xlsx, text is always written as text: a value such as
``=HYPERLINK(...)`` or ``+1 555`` never becomes a formula.
"""
from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .atomic import atomic_path


def _jsonable(v):
    if v is None:
        return None
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, (pd.Timestamp, dt.datetime, dt.date)):
        if pd.isna(v):
            return None
        ts = pd.Timestamp(v)
        return ts.date().isoformat() if ts == ts.normalize() else ts.isoformat()
    if v is pd.NaT or v is pd.NA:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def _records(frame: pd.DataFrame) -> list[dict]:
    cols = [str(c) for c in frame.columns]
    return [dict(zip(cols, map(_jsonable, row))) for row in frame.itertuples(index=False, name=None)]


def to_csv(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n", date_format="%Y-%m-%d")


def to_json(frame: pd.DataFrame) -> str:
    return json.dumps(_records(frame), ensure_ascii=False, indent=1) + "\n"


def _cell_text(v) -> str:
    v = _jsonable(v)
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}" if abs(v) >= 10_000 else str(v)
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return f"{int(v):,}" if abs(v) >= 10_000 else str(int(v))
        if abs(v) >= 1000:
            return f"{v:,.2f}"
        return f"{v:.4f}".rstrip("0").rstrip(".")
    return str(v)


def to_text_table(frame: pd.DataFrame) -> str:
    """A plain aligned table for the terminal: numbers right-aligned, text left-aligned."""
    cols = [str(c) for c in frame.columns]
    numeric = [pd.api.types.is_numeric_dtype(frame[c].dtype) and not pd.api.types.is_bool_dtype(frame[c].dtype)
               for c in frame.columns]
    body = [[_cell_text(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    widths = [max([len(c)] + [len(r[j]) for r in body]) for j, c in enumerate(cols)]

    def line(cells: list[str]) -> str:
        parts = [c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric)]
        return "  ".join(parts).rstrip()

    out = [line(cols), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in body]
    return "\n".join(out) + "\n"


def write_xlsx(frame: pd.DataFrame, path: str | Path, sheet: str = "Data",
               extra_sheets: dict[str, pd.DataFrame] | None = None) -> None:
    """Tidy tables as a workbook: bold frozen header, autofilter, sensible widths, dates as dates.

    ``frame`` goes on ``sheet``; ``extra_sheets`` (e.g. Problems) follow, empty ones skipped.
    """
    import xlsxwriter

    sheets = {sheet: frame, **{k: v for k, v in (extra_sheets or {}).items() if v is not None and len(v)}}
    with atomic_path(path) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False,
                                            "strings_to_numbers": False, "nan_inf_to_errors": False})
        try:
            formats = {
                "head": wb.add_format({"bold": True, "bottom": 1, "bg_color": "#EEF2F7", "text_wrap": False}),
                "date": wb.add_format({"num_format": "yyyy-mm-dd"}),
                "datetime": wb.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
            }
            for name, data in sheets.items():
                _write_sheet(wb.add_worksheet(str(name)[:31]), data, formats)
        finally:
            wb.close()


def _write_sheet(ws, frame: pd.DataFrame, formats: dict) -> None:
    cols = [str(c) for c in frame.columns]
    for j, c in enumerate(cols):
        ws.write_string(0, j, c, formats["head"])
    widths = [len(c) for c in cols]
    for i, row in enumerate(frame.itertuples(index=False, name=None), start=1):
        for j, v in enumerate(row):
            v = _jsonable(v) if not isinstance(v, (pd.Timestamp, dt.datetime, dt.date)) else v
            if v is None or (isinstance(v, float) and math.isnan(v)):
                continue
            if isinstance(v, (pd.Timestamp, dt.datetime, dt.date)):
                if pd.isna(v):
                    continue
                ts = pd.Timestamp(v)
                if ts.tzinfo is not None:
                    ts = ts.tz_convert(None)
                plain = ts == ts.normalize()
                ws.write_datetime(i, j, ts.to_pydatetime(), formats["date" if plain else "datetime"])
                widths[j] = max(widths[j], 10 if plain else 16)
            elif isinstance(v, bool):
                ws.write_boolean(i, j, v)
            elif isinstance(v, (int, float)):
                ws.write_number(i, j, v)
                widths[j] = max(widths[j], min(len(_cell_text(v)), 20))
            else:
                text = str(v)
                ws.write_string(i, j, text)  # never a formula, whatever it starts with
                widths[j] = max(widths[j], len(text))
    for j, w in enumerate(widths):
        ws.set_column(j, j, min(max(w + 2, 8), 60))
    ws.freeze_panes(1, 0)
    if cols:
        ws.autofilter(0, 0, max(len(frame), 1), len(cols) - 1)


def _text_writer(render: Callable[[pd.DataFrame], str]) -> Callable[..., str | None]:
    def write(frame: pd.DataFrame, out: str | Path | None = None, extra_sheets=None) -> str | None:
        text = render(frame)
        if out is None:
            return text
        with atomic_path(out) as tmp:
            Path(tmp).write_text(text, encoding="utf-8", newline="")
        return None

    return write


def _xlsx_writer(frame: pd.DataFrame, out: str | Path | None = None, extra_sheets=None) -> str | None:
    if out is None:
        raise ValueError("the xlsx format needs an output path")
    write_xlsx(frame, out, sheet="KPIs" if "kpi" in frame.columns else "Data", extra_sheets=extra_sheets)
    return None


#: format -> writer(frame, out=None, extra_sheets=None); text formats ignore extra sheets
#: (their problems go to stderr), the workbook gets one sheet each.
WRITERS: dict[str, Callable[..., str | None]] = {
    "csv": _text_writer(to_csv),
    "json": _text_writer(to_json),
    "table": _text_writer(to_text_table),
    "xlsx": _xlsx_writer,
}


def write_table(frame: pd.DataFrame, fmt: str, out: str | Path | None = None,
                extra_sheets: dict[str, pd.DataFrame] | None = None) -> str | None:
    """Render ``frame`` in ``fmt`` (csv, json, xlsx, table). Returns the text when ``out`` is
    None, else writes ``out`` atomically and returns None. ``extra_sheets`` only reach xlsx."""
    try:
        writer = WRITERS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(WRITERS)}") from None
    return writer(frame, out, extra_sheets=extra_sheets)
