"""The KPI workbook (.xlsx) of a report bundle.

Sheets: Summary (headline KPIs with target, previous value, change and a red/green mark; native
Excel charts of MRR movements, NRR/GRR, logo churn, health mix and NPS over time, and the monthly
trend table they read), KPIs (period x KPI, formatted per the registry's unit), Movements,
Accounts (snapshot with health score and a colour scale), Health (component points per account),
Cohorts (retention triangles with a heat map, sBG projection), Actions, Problems, Definitions.

Every table has a frozen header, a filter, column widths and number formats; numbers stay
numbers, dates are dates, and text is always written as text (``=HYPERLINK(...)`` or ``-5 Corp``
from the input never becomes a formula). Big tables go through :mod:`.xlsxfast`. The file is
written to a temporary name next to the target and moved into place.
"""
from __future__ import annotations

import datetime as dt
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import xlsxwriter

from ..accounts_snapshot import METRICS
from ..io.atomic import atomic_path
from ..kpis import REGISTRY, registry_frame
from ..kpis.registry import base_id
from ..problems import PROBLEM_COLUMNS
from .bundle import Cancelled, ReportBundle, kpi_unit, trend_frame
from .formats import excel_change_format, excel_format, missing
from .xlsxfast import PendingRows, splice

MAX_ROWS = 1_048_576
#: tables with more cells than this go through the fast path (xlsxfast)
FAST_CELLS = 20_000
HEADER_ROW = 3  # 0-based row of a table's header: title, subtitle, one blank row above it

NAVY = "#1F3864"
GREEN, AMBER, RED = "#2E7D32", "#F9A825", "#C62828"
SERIES_COLOURS = {
    "new": "#2E7D32", "expansion": "#66BB6A", "reactivation": "#A5D6A7",
    "contraction": "#EF9A9A", "churned": "#C62828", "net": NAVY,
}
BAND_FILL = {"green": ("#C6EFCE", "#006100"), "yellow": ("#FFEB9C", "#9C5700"), "red": ("#FFC7CE", "#9C0006")}


@dataclass(frozen=True)
class Column:
    key: str  # column of the frame
    header: str
    kind: str = "text"  # a registry unit, or text / date / datetime / integer / bool
    width: float | None = None


# ------------------------------------------------------------------------------------------------
def write_workbook(bundle: ReportBundle, path, progress: Callable[[float, str], None] | None = None,
                   cancelled: Callable[[], bool] | None = None, fast_cells: int = FAST_CELLS) -> Path:
    """Write the KPI workbook of ``bundle`` to ``path`` (atomically); returns the path.

    ``fast_cells``: tables with more cells than this are streamed by :mod:`.xlsxfast`
    (0 = every table, a huge number = none)."""
    path = Path(path)
    say = progress or (lambda f, t: None)
    buffer = io.BytesIO()
    book = _Book(buffer, bundle, fast_cells)
    steps = [("Summary", _summary_sheet), ("KPIs", _kpi_sheet), ("Movements", _movement_sheet),
             ("Accounts", _account_sheet), ("Health", _health_sheet), ("Cohorts", _cohort_sheet),
             ("Actions", _action_sheet), ("Problems", _problem_sheet), ("Definitions", _definition_sheet)]
    for i, (name, fn) in enumerate(steps):
        if cancelled is not None and cancelled():
            raise Cancelled("cancelled")
        say(0.5 * i / len(steps), f"Workbook: {name}")
        fn(book, bundle)
    book.wb.close()
    say(0.5, "Workbook: writing the large sheets")
    buffer.seek(0)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as out:
            splice(buffer, out, book.pending, progress=lambda f: say(0.5 + 0.5 * f, "Workbook: writing rows"),
                   cancelled=cancelled)
    say(1.0, "Workbook written")
    return path


class _Book:
    """An xlsxwriter workbook with cached formats and the table layout every sheet shares."""

    def __init__(self, target, bundle: ReportBundle, fast_cells: int):
        self.wb = xlsxwriter.Workbook(target, {
            "in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
            "strings_to_urls": False, "nan_inf_to_errors": False, "default_date_format": "yyyy-mm-dd",
        })
        self.wb.set_properties({"title": bundle.title, "subject": bundle.date_range,
                                "author": "cs-desk", "comments": "Written by cs-desk report"})
        self.bundle = bundle
        self.fast_cells = fast_cells
        self.pending: list[PendingRows] = []
        self._formats: dict[tuple, object] = {}
        self.title = self.fmt(bold=True, font_size=14, font_color=NAVY)
        self.subtitle = self.fmt(italic=True, font_color="#595959")
        self.section = self.fmt(bold=True, font_size=11, font_color=NAVY, bottom=1, bottom_color=NAVY)
        self.header = self.fmt(bold=True, font_color="#FFFFFF", bg_color=NAVY, text_wrap=True,
                               valign="vcenter", border=1, border_color="#BFBFBF")
        self.id_row = self.fmt(font_size=8, font_color="#808080", italic=True)
        self.note = self.fmt(italic=True, font_color="#7F7F7F", text_wrap=False)

    def fmt(self, **props):
        """One Format per distinct set of properties (xlsxwriter dedupes them, we keep them few)."""
        key = tuple(sorted((k, v) for k, v in props.items() if v is not None))
        if key not in self._formats:
            self._formats[key] = self.wb.add_format(dict(key))
        return self._formats[key]

    def kind_format(self, kind: str, **extra):
        num = excel_format(kind)
        return self.fmt(num_format=num, **extra) if (num or extra) else None

    def sheet(self, name: str, subtitle: str, tab: str | None = None, fit_width: bool = True):
        ws = self.wb.add_worksheet(name)
        ws.write_string(0, 0, f"{name} — {self.bundle.title}" if name != "Summary" else self.bundle.title, self.title)
        ws.write_string(1, 0, subtitle, self.subtitle)
        ws.set_row(0, 22)
        if tab:
            ws.set_tab_color(tab)
        ws.set_landscape()
        ws.set_paper(9)  # A4
        if fit_width:  # wide data sheets print at full size, their first columns repeated
            ws.fit_to_pages(1, 0)
        ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
        rng = self.bundle.date_range.replace("&", "&&")
        ws.set_footer(f"&L&8{self.bundle.title.replace('&', '&&')}&C&8{rng}&R&8Page &P of &N")
        return ws

    def range_text(self) -> str:
        b = self.bundle
        parts = [b.date_range] if b.date_range else []
        if b.as_of is not None:
            parts.append(f"snapshot at {b.as_of:%Y-%m-%d}")
        return " · ".join(parts)

    # -- tables ------------------------------------------------------------------------------
    def table(self, ws, frame: pd.DataFrame, columns: list[Column], top: int = HEADER_ROW,
              freeze_cols: int = 0, allow_fast: bool = True, main: bool = True) -> tuple[int, int]:
        """Header at row ``top``, data below; filter, widths and formats and — for the ``main``
        table of a sheet — frozen header, header repeated on printed pages.
        Returns (first data row, last data row) — last < first when the table is empty."""
        frame = frame.reset_index(drop=True)
        n = min(len(frame), MAX_ROWS - top - 1)
        if n < len(frame):
            ws.write_string(1, 6, f"Showing the first {n:,} of {len(frame):,} rows (Excel's row limit).", self.note)
            frame = frame.iloc[:n]
        for j, col in enumerate(columns):
            ws.write_string(top, j, col.header, self.header)
        ws.set_row(top, 30)
        formats = [self.kind_format(c.kind) for c in columns]
        ws.autofilter(top, 0, top + max(n, 1), len(columns) - 1)
        if main:
            for j, col in enumerate(columns):
                ws.set_column(j, j, col.width or _width(frame[col.key] if col.key in frame else None, col))
            ws.freeze_panes(top + 1, freeze_cols)
            ws.repeat_rows(top)
        if n == 0:
            ws.write_string(top + 1, 0, "(none)", self.note)
            return top + 1, top
        data = _rounded(frame[[c.key for c in columns]], columns)
        fast = allow_fast and n > 1 and n * len(columns) > self.fast_cells
        rows = data.iloc[:1] if fast else data
        for i, values in enumerate(rows.itertuples(index=False, name=None)):
            for j, v in enumerate(values):
                _write(ws, top + 1 + i, j, v, formats[j])
        if fast:
            self.pending.append(PendingRows(ws.get_name(), data.iloc[1:], top + 1))
        return top + 1, top + n


#: decimals kept per column kind in the tables (far below what the number formats show; shorter
#: numbers make big sheets faster to write and smaller)
DECIMALS = {"currency": 2, "fraction": 6, "score": 3, "ratio": 4, "number": 6, "days": 2, "hours": 2, "months": 3,
            "count": 6}


def _rounded(frame: pd.DataFrame, columns: list[Column]) -> pd.DataFrame:
    out = frame.copy()
    for c in columns:
        digits = DECIMALS.get(c.kind)
        if digits is not None and pd.api.types.is_float_dtype(out[c.key].dtype):
            out[c.key] = out[c.key].round(digits)
    return out


def _write(ws, r: int, c: int, v, fmt) -> None:
    """One cell: numbers as numbers, dates as dates, everything else as text (never a formula)."""
    if missing(v):
        if fmt is not None:
            ws.write_blank(r, c, None, fmt)
        return
    if isinstance(v, (bool, np.bool_)):
        ws.write_boolean(r, c, bool(v), fmt)
    elif isinstance(v, (int, float, np.integer, np.floating)):
        f = float(v)
        if math.isfinite(f):
            ws.write_number(r, c, f, fmt)
        elif fmt is not None:
            ws.write_blank(r, c, None, fmt)
    elif isinstance(v, (pd.Timestamp, dt.datetime, dt.date, np.datetime64)):
        ts = pd.Timestamp(v)
        if ts.tzinfo is not None:
            ts = ts.tz_convert(None)
        ws.write_datetime(r, c, ts.to_pydatetime(), fmt)
    else:
        ws.write_string(r, c, str(v)[:32767], fmt)


def _width(values: pd.Series | None, col: Column) -> float:
    head = max((len(w) for w in col.header.split()), default=4) + 2
    if col.kind in ("date",):
        return max(11, head)
    if col.kind == "datetime":
        return max(16, head)
    if col.kind != "text" or values is None:
        return max(10, min(head, 16))
    sample = values.dropna().astype(str).head(500)
    longest = int(sample.str.len().quantile(0.95)) if len(sample) else 6
    return float(max(8, min(max(longest + 2, head), 48)))


def _label(column: str) -> str:
    return column.replace("_", " ").capitalize()


# ------------------------------------------------------------------------------------------------
# Summary
TREND = [  # (key, header, kind)
    ("period", "Month", "text"),
    ("mrr", "MRR", "currency"),
    ("new_mrr", "New", "currency"),
    ("expansion_mrr", "Expansion", "currency"),
    ("reactivation_mrr", "Reactivation", "currency"),
    ("contraction_mrr", "Contraction", "currency"),
    ("churned_mrr", "Churned", "currency"),
    ("net_new_mrr", "Net new MRR", "currency"),
    ("nrr", "NRR", "fraction"),
    ("grr", "GRR", "fraction"),
    ("logo_churn_rate", "Logo churn", "fraction"),
    ("nps", "NPS", "score"),
    ("green", "Green", "fraction"),
    ("yellow", "Yellow", "fraction"),
    ("red", "Red", "fraction"),
]


def _summary_sheet(book: _Book, bundle: ReportBundle) -> None:
    ws = book.sheet("Summary", book.range_text(), tab=NAVY, fit_width=False)
    ws.set_print_scale(52)  # a scale, not "fit to": Excel ignores manual page breaks under "fit to"
    ws.set_column(0, 0, 25)
    ws.set_column(1, 6, 12.5)
    ws.set_column(7, 14, 10.5)
    row = 3
    ws.write_string(row, 0, f"Headline KPIs — {bundle.periods[-1] if bundle.periods else 'no data'}", book.section)
    row += 1
    heads = ["KPI", "Value", "Target", "Previous month", "Change", "Status", "Trend"]
    for j, h in enumerate(heads):
        ws.write_string(row, j, h, book.header)
    ws.set_row(row, 30)
    head_row = row
    good = book.fmt(bg_color=BAND_FILL["green"][0], font_color=BAND_FILL["green"][1], bold=True, align="center")
    bad = book.fmt(bg_color=BAND_FILL["red"][0], font_color=BAND_FILL["red"][1], bold=True, align="center")
    up = book.fmt(font_color=GREEN, align="center")
    down = book.fmt(font_color=RED, align="center")
    flat = book.fmt(font_color="#595959", align="center")
    for rec in bundle.headline.to_dict("records"):
        row += 1
        num = book.kind_format(rec["unit"])
        ws.write_string(row, 0, rec["label"])
        for j, key in ((1, "value"), (2, "target"), (3, "previous")):
            _write(ws, row, j, rec[key], num)
        _write(ws, row, 4, rec["change"], book.fmt(num_format=excel_change_format(rec["unit"])))
        status = rec["status"]
        if status:
            ws.write_string(row, 5, "✔ on target" if status == "on target" else "✖ off target",
                            good if status == "on target" else bad)
        trend = rec["trend"]
        if trend:
            arrow = "▲" if rec["change"] > 0 else "▼" if rec["change"] < 0 else "■"
            ws.write_string(row, 6, f"{arrow} {trend}", up if trend == "better" else down if trend == "worse" else flat)
    if bundle.headline.empty:
        ws.write_string(row + 1, 0, "No headline KPI could be computed from these inputs.", book.note)
        row += 1
    notes_row = row + 2
    for k, note in enumerate(_summary_notes(bundle)):
        ws.write_string(notes_row + k, 0, note, book.note)
    chart_top = notes_row + len(_summary_notes(bundle)) + 1

    trend = trend_frame(bundle)
    per_row = 3
    charts_rows = (len(_chart_kinds(trend)) + per_row - 1) // per_row * 16
    trend_top = chart_top + charts_rows + 1
    ws.write_string(trend_top - 1, 0, "Monthly trend (portfolio) — the data behind the charts", book.section)
    ws.set_h_pagebreaks([trend_top - 1])  # printed: headline and charts on page 1, the trend table after
    columns = [Column(k, h, kind) for k, h, kind in TREND]
    first, last = book.table(ws, trend, columns, top=trend_top, allow_fast=False, main=False)
    ws.freeze_panes(head_row + 1, 1)
    if last < first:
        return
    charts = _summary_charts(book, trend, first, last, columns)
    for i, chart in enumerate(charts):  # three per row, placed in pixels from column A
        ws.insert_chart(chart_top + (i // per_row) * 16, 0, chart,
                        {"x_offset": 4 + (i % per_row) * 485, "y_offset": 6})


def _summary_notes(bundle: ReportBundle) -> list[str]:
    notes = list(bundle.notes)
    if bundle.skipped:
        notes.append(f"{len(bundle.skipped)} KPI(s) skipped for missing tables (see the Problems sheet).")
    serious = [p for p in bundle.problems if p.severity.value != "info"]
    if serious:
        notes.append(f"{len(serious)} data problem(s) were found; rows set aside are listed on the Problems sheet.")
    return notes


def _chart_kinds(trend: pd.DataFrame) -> list[str]:
    """Which Summary charts have data: movements, retention, churn, health mix, NPS."""
    def has(key):
        return key in trend.columns and trend[key].notna().any()

    kinds = [("movements", has("new_mrr")), ("retention", has("nrr") or has("grr")),
             ("churn", has("logo_churn_rate")), ("health", has("green")), ("nps", has("nps"))]
    return [k for k, ok in kinds if ok]


def _summary_charts(book: _Book, trend: pd.DataFrame, first: int, last: int, columns: list[Column]) -> list:
    wb = book.wb
    col = {c.key: j for j, c in enumerate(columns)}
    cats = ["Summary", first, 0, last, 0]

    def values(key, lo=first):
        return ["Summary", lo, col[key], last, col[key]]

    def style(chart, title, num_format, legend=True):
        chart.set_title({"name": title, "name_font": {"size": 11, "bold": True, "color": NAVY}})
        chart.set_y_axis({"num_format": num_format, "num_font": {"size": 8},
                          "major_gridlines": {"visible": True, "line": {"color": "#E7E6E6"}}})
        chart.set_x_axis({"num_font": {"size": 8, "rotation": -45}, "label_position": "low"})
        chart.set_legend({"position": "bottom", "font": {"size": 8}} if legend else {"none": True})
        chart.set_size({"width": 470, "height": 300})
        chart.set_chartarea({"border": {"color": "#D9D9D9"}})
        return chart

    charts = []
    kinds = _chart_kinds(trend)
    if "movements" in kinds:
        chart = wb.add_chart({"type": "column", "subtype": "stacked"})
        for key, name, colour in (("new_mrr", "New", "new"), ("expansion_mrr", "Expansion", "expansion"),
                                  ("reactivation_mrr", "Reactivation", "reactivation"),
                                  ("contraction_mrr", "Contraction", "contraction"), ("churned_mrr", "Churned", "churned")):
            chart.add_series({"name": name, "categories": cats, "values": values(key),
                              "fill": {"color": SERIES_COLOURS[colour]}, "border": {"none": True}, "gap": 40})
        line = wb.add_chart({"type": "line"})
        line.add_series({"name": "Net new MRR", "categories": cats, "values": values("net_new_mrr"),
                         "line": {"color": SERIES_COLOURS["net"], "width": 2}, "marker": {"type": "none"}})
        chart.combine(line)
        charts.append(style(chart, "MRR movements", "#,##0"))
    if "retention" in kinds:
        chart = wb.add_chart({"type": "line"})
        for key, name, colour in (("nrr", "NRR", NAVY), ("grr", "GRR", "#ED7D31")):
            chart.add_series({"name": name, "categories": cats, "values": values(key),
                              "line": {"color": colour, "width": 2}, "marker": {"type": "none"}})
        charts.append(style(chart, "Net and gross revenue retention", "0%"))
    if "churn" in kinds:
        chart = wb.add_chart({"type": "column"})
        chart.add_series({"name": "Logo churn", "categories": cats, "values": values("logo_churn_rate"),
                          "fill": {"color": RED}, "border": {"none": True}, "gap": 60})
        charts.append(style(chart, "Logo churn (monthly)", "0.0%", legend=False))
    if "health" in kinds:
        lo = first + int(np.flatnonzero(trend["green"].notna().to_numpy())[0])
        chart = wb.add_chart({"type": "column", "subtype": "percent_stacked"})
        for band, colour in (("green", GREEN), ("yellow", AMBER), ("red", RED)):
            chart.add_series({"name": band.capitalize(), "categories": ["Summary", lo, 0, last, 0],
                              "values": values(band, lo), "fill": {"color": colour}, "border": {"none": True},
                              "gap": 30})
        charts.append(style(chart, "Health mix (share of active accounts)", "0%"))
    if "nps" in kinds:
        chart = wb.add_chart({"type": "line"})
        chart.add_series({"name": "NPS", "categories": cats, "values": values("nps"),
                          "line": {"color": "#7030A0", "width": 2}, "marker": {"type": "circle", "size": 4}})
        charts.append(style(chart, "NPS", "0", legend=False))
    return charts


# ------------------------------------------------------------------------------------------------
# KPIs
def _kpi_sheet(book: _Book, bundle: ReportBundle) -> None:
    ws = book.sheet("KPIs", "Every KPI per month: the portfolio first, then each group. "
                    "Row 3 holds the KPI ids; the Definitions sheet has every formula.", fit_width=False)
    ws.repeat_columns(0, 2)
    table = bundle.kpi_table
    if table.empty:
        book.table(ws, pd.DataFrame({"period": []}), [Column("period", "Month")])
        return
    wide = table.pivot_table(index=["group_by", "group", "period"], columns="kpi", values="value",
                             sort=False, dropna=False)
    kpi_order = list(dict.fromkeys(table["kpi"]))
    wide = wide.reindex(columns=kpi_order).reset_index()
    groups = {"all": "Portfolio"}
    wide["group_by"] = wide["group_by"].map(lambda g: groups.get(g, _label(g)))
    columns = [Column("period", "Month", width=9), Column("group_by", "Breakdown", width=11),
               Column("group", "Group", width=None)]
    for k in kpi_order:
        base = REGISTRY.get(base_id(k))
        header = base.label if base and k == base.id else (f"{base.label}: {k.split('[', 1)[1].rstrip(']')}" if base else k)
        columns.append(Column(k, header, kpi_unit(k), width=13))
    wide = wide[[c.key for c in columns]]
    for j, c in enumerate(columns[3:], start=3):
        ws.write_string(HEADER_ROW - 1, j, c.key, book.id_row)
    book.table(ws, wide, columns, freeze_cols=3)


# ------------------------------------------------------------------------------------------------
# Movements, Accounts, Health
def _names(bundle: ReportBundle) -> pd.Series:
    snap = bundle.snapshot
    if "account_name" in snap.columns:
        return snap.set_index("account_id")["account_name"]
    return pd.Series(dtype=object)


def _movement_sheet(book: _Book, bundle: ReportBundle) -> None:
    group = bundle.by[0] if bundle.by else None
    ws = book.sheet("Movements", "Every account whose MRR moved, per month (accounts with unchanged MRR are left out). "
                    "Contraction from moving to a longer billing period is marked as extension.")
    mv = bundle.movements.copy()
    mv.insert(2, "account_name", mv["account_id"].map(_names(bundle)))
    columns = [Column("period", "Month", width=9), Column("account_id", "Account ID"),
               Column("account_name", "Account name")]
    if group:
        columns.append(Column("group", _label(group)))
    columns += [Column("movement", "Movement", width=13), Column("start_mrr", "Start MRR", "currency"),
                Column("end_mrr", "End MRR", "currency"), Column("delta", "Change", "currency"),
                Column("extension", "Extension", "bool", width=10)]
    first, last = book.table(ws, mv, columns, freeze_cols=3)
    if last >= first:
        j = next(i for i, c in enumerate(columns) if c.key == "movement")
        for text, colour in (("churned", RED), ("contraction", "#E57373"), ("new", GREEN),
                             ("expansion", "#43A047"), ("reactivation", "#43A047")):
            ws.conditional_format(first, j, last, j, {"type": "cell", "criteria": "==", "value": f'"{text}"',
                                                      "format": book.fmt(font_color=colour)})


ACCOUNT_FIRST = ["account_id", "account_name", "csm", "segment", "plan", "region", "industry", "mrr", "arr",
                 "score", "band", "weakest", "lift_to_next_band", "renewal_date", "days_to_renewal"]
ACCOUNT_SKIP_PREFIX = ("pts_", "weight_", "share_", "reason_", "_")
ACCOUNT_SKIP = {"as_of", "lift_component", "lift_value"}
#: score explanations: on the Health sheet, not repeated on Accounts
HEALTH_DETAIL = ["score_prev", "score_change", "band_prev", "band_change", "profile", "missing_components",
                 "stale_components"]
#: units of the columns health scoring adds (snapshot metrics have theirs in METRICS)
SCORE_KINDS = {"score": "score", "score_prev": "score", "score_change": "score", "lift_value": "number"}
UNIT_KINDS = {"bool": "bool"}  # snapshot metric units are registry units, except yes/no


def _kind_of(frame: pd.DataFrame, column: str) -> str:
    if column in METRICS:
        return UNIT_KINDS.get(METRICS[column].unit, METRICS[column].unit)
    if column in SCORE_KINDS:
        return SCORE_KINDS[column]
    dtype = frame[column].dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "date"
    if pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        return "number"
    return "text"


def account_columns(frame: pd.DataFrame) -> list[str]:
    first = [c for c in ACCOUNT_FIRST if c in frame.columns]
    rest = [c for c in frame.columns if c not in first and c not in ACCOUNT_SKIP and c not in HEALTH_DETAIL
            and not str(c).startswith(ACCOUNT_SKIP_PREFIX)]
    return first + rest


HEADERS = {"account_id": "Account ID", "csm": "CSM", "score": "Health score", "band": "Band",
           "lift_to_next_band": "Lift to next band", "score_prev": "Score last month",
           "score_change": "Score change", "band_prev": "Band last month", "band_change": "Band change"}


def _header(column: str) -> str:
    """The snapshot's own label for a metric (``METRICS``), else a readable column name."""
    if column in HEADERS:
        return HEADERS[column]
    if column in METRICS:
        return METRICS[column].label
    return _label(column)


def _band_formats(book: _Book, ws, first: int, last: int, j: int) -> None:
    for band, (fill, font) in BAND_FILL.items():
        ws.conditional_format(first, j, last, j, {"type": "cell", "criteria": "==", "value": f'"{band}"',
                                                  "format": book.fmt(bg_color=fill, font_color=font)})


def _score_scale(ws, first: int, last: int, j: int, model) -> None:
    bands = getattr(model, "bands", None)
    red, green = getattr(bands, "red", 40), getattr(bands, "green", 70)
    ws.conditional_format(first, j, last, j, {
        "type": "3_color_scale", "min_type": "num", "min_value": 0, "min_color": "#F8696B",
        "mid_type": "num", "mid_value": (red + green) / 2, "mid_color": "#FFEB84",
        "max_type": "num", "max_value": 100, "max_color": "#63BE7B"})


def _account_sheet(book: _Book, bundle: ReportBundle) -> None:
    snap = bundle.snapshot
    n = len(snap)
    ws = book.sheet("Accounts", f"One row per account at {bundle.as_of:%Y-%m-%d}: {n:,} accounts, with health score and band."
                    if bundle.as_of is not None else "No per-account snapshot (no data).", tab=GREEN, fit_width=False)
    ws.repeat_columns(0, 1)
    keys = account_columns(snap) if n else ["account_id"]
    columns = [Column(c, _header(c), _kind_of(snap, c) if c in snap else "text") for c in keys]
    first, last = book.table(ws, snap, columns, freeze_cols=min(2, len(columns)))
    if last < first:
        return
    for j, c in enumerate(columns):
        if c.key == "score":
            _score_scale(ws, first, last, j, bundle.health_model)
        elif c.key == "band":
            _band_formats(book, ws, first, last, j)


def _component_label(model, cid: str) -> str:
    """The component's label from the model ("Seats in use"), else its id made readable."""
    try:
        label = model.component(cid).label if model is not None else ""
    except KeyError:
        label = ""
    return label or _label(cid)


def _health_sheet(book: _Book, bundle: ReportBundle) -> None:
    health = bundle.health
    model = bundle.health_model
    name = getattr(model, "name", "") or "health model"
    ws = book.sheet("Health", f"Component points (0–100) per account under “{name}”; the score is their weighted mean. "
                    "The Definitions sheet lists the components and weights.", tab=GREEN, fit_width=False)
    ws.repeat_columns(0, 1)
    if health.empty:
        book.table(ws, health, [Column("account_id", "Account ID")])
        return
    pts = [c for c in health.columns if str(c).startswith("pts_")]
    lead = [c for c in ("account_id", "account_name", "csm", "segment", "active", "score", "band", "score_prev",
                        "score_change",
                        "band_change", "profile", "weakest", "lift_to_next_band") if c in health.columns]
    tail = [c for c in ("missing_components", "stale_components") if c in health.columns]
    columns = [Column(c, _header(c), _kind_of(health, c)) for c in lead]
    columns += [Column(c, _component_label(model, c[4:]), "score", width=12) for c in pts]
    columns += [Column(c, _header(c), "text") for c in tail]
    first, last = book.table(ws, health, columns, freeze_cols=min(2, len(columns)))
    if last < first:
        return
    for j, c in enumerate(columns):
        if c.key in ("score", "score_prev") or c.key.startswith("pts_"):
            _score_scale(ws, first, last, j, model)
        elif c.key == "band":
            _band_formats(book, ws, first, last, j)


# ------------------------------------------------------------------------------------------------
# Cohorts
def _cohort_sheet(book: _Book, bundle: ReportBundle) -> None:
    ws = book.sheet("Cohorts", "Retention by first-paid month: share of each cohort's accounts (logos) and of its "
                    "first-month MRR (revenue) still there N months later.")
    tables = bundle.cohorts
    if tables is None or len(tables.logo) == 0:
        ws.write_string(HEADER_ROW, 0, "No cohorts: cohorts need an MRR table or subscriptions.", book.note)
        return
    row = HEADER_ROW
    for title, frame in (("Logo retention", tables.logo), ("Revenue retention", tables.revenue)):
        ws.write_string(row, 0, title, book.section)
        row += 1
        row = _triangle(book, ws, frame, tables.sizes, row) + 2
    if tables.censored:
        ws.write_string(row - 1, 0, f"{tables.censored:,} account(s) were already paying when the data starts; "
                                    "their cohort is unknown and they are not in the triangles.", book.note)
        row += 1
    proj = bundle.cohort_projection
    if proj is not None and not proj.empty:
        ws.write_string(row, 0, "Projected survival (shifted-beta-geometric model)", book.section)
        row += 1
        months = [m for m in (3, 6, 12, 24) if m in proj.columns]
        frame = proj.reset_index().rename(columns={proj.index.name or "index": "cohort"})
        cols = [Column("cohort", "Cohort", width=10), Column("fit", "Fit", width=9),
                Column("observed_months", "Months observed", "count"), Column("alpha", "alpha", "score"),
                Column("beta", "beta", "score")]
        frame = frame.rename(columns={m: f"s{m}" for m in months})
        cols += [Column(f"s{m}", f"Survival at {m} months", "fraction") for m in months]
        _plain_table(book, ws, frame, cols, row)
    ws.freeze_panes(HEADER_ROW + 2, 2)


def _triangle(book: _Book, ws, frame: pd.DataFrame, sizes: pd.Series, top: int) -> int:
    """Cohort x months-since-start with a heat map; returns the last row written."""
    ws.write_string(top, 0, "Cohort", book.header)
    ws.write_string(top, 1, "Accounts", book.header)
    months = list(frame.columns)
    for j, m in enumerate(months):
        ws.write_string(top, 2 + j, f"M{m}", book.header)
    ws.set_column(0, 0, 11)
    ws.set_column(1, 1, 10)
    ws.set_column(2, 2 + len(months), 8)
    pct = book.fmt(num_format="0%", align="center", font_size=9)
    count = book.kind_format("count")
    for i, (cohort, values) in enumerate(frame.iterrows(), start=1):
        ws.write_string(top + i, 0, str(cohort))
        _write(ws, top + i, 1, sizes.get(cohort), count)
        for j, v in enumerate(values.to_numpy()):
            if not missing(v):
                ws.write_number(top + i, 2 + j, float(v), pct)
    last = top + len(frame)
    if len(frame) and months:
        ws.conditional_format(top + 1, 2, last, 1 + len(months), {
            "type": "3_color_scale", "min_type": "num", "min_value": 0.5, "min_color": "#F8696B",
            "mid_type": "num", "mid_value": 0.8, "mid_color": "#FFEB84",
            "max_type": "num", "max_value": 1.0, "max_color": "#63BE7B"})
    return last


def _plain_table(book: _Book, ws, frame: pd.DataFrame, columns: list[Column], top: int) -> int:
    """A small table inside a sheet (no filter, no frozen panes); returns the last row."""
    for j, c in enumerate(columns):
        ws.write_string(top, j, c.header, book.header)
    ws.set_row(top, 30)
    formats = [book.kind_format(c.kind) for c in columns]
    for i, values in enumerate(frame[[c.key for c in columns]].itertuples(index=False, name=None), start=1):
        for j, v in enumerate(values):
            _write(ws, top + i, j, v, formats[j])
    return top + len(frame)


# ------------------------------------------------------------------------------------------------
# Actions, Problems, Definitions
def _action_sheet(book: _Book, bundle: ReportBundle) -> None:
    actions = bundle.actions
    ws = book.sheet("Actions", f"{len(actions):,} action(s) from the playbooks, most urgent first.", tab=AMBER)
    kinds = {"due": "date", "mrr": "currency", "arr": "currency", "score": "score"}
    keys = list(actions.columns) if len(actions.columns) else ["account_id"]
    columns = [Column(c, _header(c), kinds.get(c, _kind_of(actions, c) if c in actions else "text")) for c in keys]
    first, last = book.table(ws, actions, columns, freeze_cols=min(2, len(columns)))
    if last >= first and "priority" in keys:
        j = keys.index("priority")
        for text, colour in (("high", RED), ("urgent", RED), ("medium", "#9C5700"), ("low", "#595959")):
            ws.conditional_format(first, j, last, j, {"type": "cell", "criteria": "==", "value": f'"{text}"',
                                                      "format": book.fmt(font_color=colour, bold=text in ("high", "urgent"))})


def _problem_sheet(book: _Book, bundle: ReportBundle) -> None:
    frame = bundle.problems_frame()
    ws = book.sheet("Problems", f"{len(frame):,} data problem(s): where (file, sheet, row as you see it, column), "
                    "what, and what was done. Rows set aside are not in the results.", tab=RED)
    columns = [Column(c, _header(c), "integer" if c == "row" else "text") for c in PROBLEM_COLUMNS]
    columns = [Column(c.key, c.header, c.kind, width=70 if c.key == "message" else None) for c in columns]
    first, last = book.table(ws, frame, columns)
    if last >= first:
        j = PROBLEM_COLUMNS.index("severity")
        for text, colour in (("error", RED), ("warning", "#9C5700")):
            ws.conditional_format(first, j, last, j, {"type": "cell", "criteria": "==", "value": f'"{text}"',
                                                      "format": book.fmt(font_color=colour, bold=True)})


def _definition_sheet(book: _Book, bundle: ReportBundle) -> None:
    ws = book.sheet("Definitions", "Every KPI as the registry defines it (the same definitions the CLI, GUI and "
                    "Excel add-in use).")
    defs = registry_frame()
    columns = [Column("kpi", "KPI id", width=28), Column("label", "Label", width=26), Column("unit", "Unit", width=9),
               Column("direction", "Better", width=8), Column("target", "Default target", "number", width=10),
               Column("formula", "Formula", width=90), Column("needs", "Needs", width=16),
               Column("family", "Family", width=11)]
    first, last = book.table(ws, defs, columns, allow_fast=False)
    for i, unit in enumerate(defs["unit"].tolist()):  # targets in their KPI's unit
        _write(ws, first + i, 4, defs["target"].iloc[i], book.kind_format(unit))
    model = bundle.health_model
    weights = getattr(model, "weights_table", None)
    if callable(weights):
        table = weights()
        row = last + 3
        ws.write_string(row, 0, f"Health model: {getattr(model, 'name', '')}", book.section)
        bands = getattr(model, "bands", None)
        if bands is not None:
            ws.write_string(row + 1, 0, f"Bands: red below {bands.red:g}, green from {bands.green:g}, yellow between.",
                            book.note)
        cols = [Column(c, _header(c), _kind_of(table, c)) for c in table.columns]
        _plain_table(book, ws, table, cols, row + 2)
