"""The portfolio report (.pdf): reportlab platypus pages with matplotlib charts.

Page 1 is the portfolio at a glance: KPI tiles (value, change against the previous month with a
trend arrow coloured by the KPI's direction, target and status), MRR movements and the health
mix. Then one page per segment and per CSM — the book of business: ARR over time, health
distribution, value at risk (MRR of red accounts), renewals due within 30 / 90 / 180 days, top
risks with reasons and expansion candidates — then the action list and the data problems.
Tables are paginated with their header repeated; every page carries the title, the date range
and "page N of M". Written to a temporary file and moved into place.
"""
from __future__ import annotations

import datetime as dt
import math
from functools import partial
from pathlib import Path
from typing import Callable
from xml.sax.saxutils import escape

import matplotlib
import pandas as pd
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import (BaseDocTemplate, CondPageBreak, Flowable, Frame, KeepInFrame, PageBreak, PageTemplate,
                                Paragraph, Spacer, Table, TableStyle)

from ..io.atomic import atomic_path
from . import charts
from .bundle import Cancelled, ReportBundle, trend_frame
from .formats import fmt_money_short, fmt_value

PAGE = landscape(A4)
MARGIN = 14 * mm
TOP, BOTTOM = MARGIN + 8, MARGIN + 4  # room for the page furniture
WIDTH = PAGE[0] - 2 * MARGIN
HEIGHT = PAGE[1] - TOP - BOTTOM
#: rows of the action list and of the problem list printed (the workbook has all of them)
MAX_TABLE_ROWS = 150
#: rows of the top-risk and expansion lists on a group page (so a group fits on one page)
GROUP_RISKS, GROUP_EXPANSION = 6, 5
REASON_CHARS = 150  # a reason longer than this is cut (the workbook's Actions sheet has it whole)
NAVY = colors.HexColor("#1F3864")
GREY = colors.HexColor("#595959")
LIGHT = colors.HexColor("#F3F5F9")
RULE = colors.HexColor("#D9D9D9")
GOOD, BAD, NEUTRAL = colors.HexColor("#2E7D32"), colors.HexColor("#C62828"), colors.HexColor("#8C8C8C")
BAND_COLOURS = {"green": GOOD, "yellow": colors.HexColor("#F9A825"), "red": BAD}
GROUP_TITLES = {"segment": "Segment", "csm": "CSM", "plan": "Plan", "region": "Region", "industry": "Industry"}


# ------------------------------------------------------------------------------------------------
# fonts and styles
_FONTS: tuple[str, str] | None = None


def fonts() -> tuple[str, str]:
    """(regular, bold) font names: DejaVu Sans from matplotlib's data (arrows, accents, €)."""
    global _FONTS
    if _FONTS is None:
        base = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
        try:
            pdfmetrics.registerFont(TTFont("CSDesk", str(base / "DejaVuSans.ttf")))
            pdfmetrics.registerFont(TTFont("CSDesk-Bold", str(base / "DejaVuSans-Bold.ttf")))
            pdfmetrics.registerFontFamily("CSDesk", normal="CSDesk", bold="CSDesk-Bold", italic="CSDesk",
                                          boldItalic="CSDesk-Bold")
            _FONTS = ("CSDesk", "CSDesk-Bold")
        except Exception:  # noqa: BLE001 - a matplotlib without its fonts: the PDF core fonts
            _FONTS = ("Helvetica", "Helvetica-Bold")
    return _FONTS


class _Styles:
    def __init__(self):
        regular, bold = fonts()
        self.regular, self.bold = regular, bold
        self.h1 = ParagraphStyle("h1", fontName=bold, fontSize=16, leading=20, textColor=NAVY, spaceAfter=2)
        self.h2 = ParagraphStyle("h2", fontName=bold, fontSize=11, leading=14, textColor=NAVY, spaceBefore=6,
                                 spaceAfter=4)
        self.sub = ParagraphStyle("sub", fontName=regular, fontSize=8.5, leading=11, textColor=GREY, spaceAfter=6)
        self.body = ParagraphStyle("body", fontName=regular, fontSize=8, leading=10)
        self.cell = ParagraphStyle("cell", fontName=regular, fontSize=7.5, leading=9)
        self.cell_r = ParagraphStyle("cellr", parent=self.cell, alignment=TA_RIGHT)
        self.head = ParagraphStyle("head", fontName=bold, fontSize=7.5, leading=9, textColor=colors.white)
        self.tile_label = ParagraphStyle("tl", fontName=bold, fontSize=6.8, leading=8, textColor=GREY)
        self.tile_value = ParagraphStyle("tv", fontName=bold, fontSize=17, leading=20, textColor=NAVY)
        self.tile_line = ParagraphStyle("tn", fontName=regular, fontSize=7.2, leading=9, textColor=GREY)
        self.note = ParagraphStyle("note", fontName=regular, fontSize=7.5, leading=9.5, textColor=GREY)


def _p(text, style) -> Paragraph:
    return Paragraph(escape("" if text is None else str(text)), style)


def _hex(colour) -> str:
    return colour.hexval().replace("0x", "#")


# ------------------------------------------------------------------------------------------------
# page furniture: title, date range, "page N of M"
class _NumberedCanvas(rl_canvas.Canvas):
    """Defers every page until the end so the footer can say "page N of M"."""

    def __init__(self, *args, title: str = "", date_range: str = "", stamp: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self._pages: list[dict] = []
        self._title, self._range, self._stamp = title, date_range, stamp

    def showPage(self):  # noqa: N802 - reportlab's name
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self._furniture(total)
            super().showPage()
        super().save()

    def _furniture(self, total: int) -> None:
        regular, bold = fonts()
        w, h = PAGE
        self.saveState()
        self.setStrokeColor(NAVY)
        self.setLineWidth(1.2)
        self.line(MARGIN, h - MARGIN + 2, w - MARGIN, h - MARGIN + 2)
        self.setFillColor(NAVY)
        self.setFont(bold, 9)
        self.drawString(MARGIN, h - MARGIN + 6, self._title)
        self.setFont(regular, 8.5)
        self.setFillColor(GREY)
        self.drawRightString(w - MARGIN, h - MARGIN + 6, self._range)
        self.setStrokeColor(RULE)
        self.setLineWidth(0.5)
        self.line(MARGIN, MARGIN - 6, w - MARGIN, MARGIN - 6)
        self.setFont(regular, 7.5)
        self.drawString(MARGIN, MARGIN - 16, f"{self._title} · {self._range}" if self._range else self._title)
        self.drawCentredString(w / 2, MARGIN - 16, self._stamp)
        self.drawRightString(w - MARGIN, MARGIN - 16, f"Page {self._pageNumber} of {total}")
        self.restoreState()


# ------------------------------------------------------------------------------------------------
def write_pdf(bundle: ReportBundle, path, progress: Callable[[float, str], None] | None = None,
              cancelled: Callable[[], bool] | None = None) -> Path:
    """Write the portfolio report of ``bundle`` to ``path`` (atomically); returns the path."""
    path = Path(path)
    say = progress or (lambda f, t: None)
    st = _Styles()
    story: list = []
    say(0.0, "PDF: portfolio at a glance")
    story += _glance(bundle, st)
    groups = [(f, g) for f in bundle.by for g in bundle.groups(f)]
    for i, (field, group) in enumerate(groups):
        if cancelled is not None and cancelled():
            raise Cancelled("cancelled")
        say(0.1 + 0.7 * i / max(len(groups), 1), f"PDF: {GROUP_TITLES.get(field, field)} {group}")
        # one page per group: shrink a little rather than spill a row onto a page of its own
        story += [PageBreak(), KeepInFrame(WIDTH, HEIGHT - 2, _group_page(bundle, field, group, st), mode="shrink")]
    say(0.8, "PDF: actions and data problems")
    story += [PageBreak()] + _actions(bundle, st) + _problems(bundle, st)
    stamp = f"cs-desk · written {dt.date.today():%Y-%m-%d}"
    canvasmaker = partial(_NumberedCanvas, title=bundle.title, date_range=bundle.date_range, stamp=stamp)
    say(0.85, "PDF: laying out pages")
    # binary streams: ASCII85 makes the file a quarter bigger and, without reportlab's C
    # accelerator, costs a second per few charts; every PDF reader takes binary
    rl_config.useA85 = 0
    with atomic_path(path) as tmp:
        doc = BaseDocTemplate(str(tmp), pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=TOP,
                              bottomMargin=BOTTOM, title=bundle.title, author="cs-desk",
                              subject=f"Portfolio report {bundle.date_range}", creator="cs-desk report")
        frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body", leftPadding=0,
                      rightPadding=0, topPadding=0, bottomPadding=0)
        doc.addPageTemplates([PageTemplate(id="page", frames=[frame])])
        doc.build(story, canvasmaker=canvasmaker)
    say(1.0, "PDF written")
    return path


class _Picture(Flowable):
    """A rendered chart at a fixed size (drawn straight from the RGB pixels)."""

    def __init__(self, image, width: float, height: float):
        super().__init__()
        self.image, self.width, self.height = image, width, height

    def wrap(self, available_width, available_height):
        return self.width, self.height

    def draw(self):
        self.canv.drawImage(ImageReader(self.image), 0, 0, self.width, self.height)


def _image(fig, width: float) -> _Picture:
    w_in, h_in = fig.get_size_inches()
    return _Picture(charts.render_image(fig), width, width * h_in / w_in)


# ------------------------------------------------------------------------------------------------
# page 1
def _glance(bundle: ReportBundle, st: _Styles) -> list:
    out: list = [_p("Portfolio at a glance", st.h1)]
    portfolio = bundle.books[bundle.books["group_by"] == "all"]
    line = []
    if len(portfolio):
        line.append(f"{int(portfolio['accounts'].iloc[0]):,} active accounts")
    if bundle.as_of is not None:
        line.append(f"snapshot at {bundle.as_of:%Y-%m-%d}")
    if bundle.periods:
        line.append(f"KPIs of {_month_name(bundle.periods[-1])} against {_month_name(bundle.periods[-2])}"
                    if len(bundle.periods) > 1 else f"KPIs of {_month_name(bundle.periods[-1])}")
    out.append(_p(" · ".join(line), st.sub))
    tiles = headline_tiles(bundle) + extra_tiles(bundle)
    if tiles:
        out.append(_tile_grid(tiles[:15], st, columns=5))
    else:
        out.append(_p("No KPI could be computed from these inputs.", st.body))
    out.append(Spacer(1, 8))
    trend = trend_frame(bundle)
    figures = []
    if trend["new_mrr"].notna().any():
        figures.append((charts.mrr_movements(trend), 0.62))
    mix = bundle.health_mix
    if len(mix) and mix.notna().any().any():
        figures.append((charts.health_mix(mix), 0.38))
    if figures:
        total = sum(share for _, share in figures)
        cells = [_image(fig, WIDTH * share / total - 6) for fig, share in figures]
        table = Table([cells], colWidths=[WIDTH * share / total for _, share in figures])
        table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
        out.append(table)
    for note in bundle.notes:
        out.append(_p(note, st.note))
    return out


def _month_name(label: str) -> str:
    try:
        return f"{pd.Timestamp(label + '-01'):%b %Y}"
    except (ValueError, TypeError):
        return str(label)


def _change_text(unit: str, change: float, previous: float) -> str:
    if unit == "fraction":
        return f"{change * 100:+.1f} pts"
    if unit == "currency":
        rel = f" ({change / previous:+.1%})" if previous else ""
        return f"{'+' if change >= 0 else '−'}{fmt_money_short(abs(change))}{rel}"
    return fmt_value(change, unit, signed=True)


def _target_text(rec: dict) -> str:
    target = rec["target"]
    if target is None or (isinstance(target, float) and math.isnan(target)):
        return "no target"
    op = "≥" if rec["direction"] == "higher" else "<"
    return f"target {op} {fmt_value(target, rec['unit'])} · {rec['status'] or 'n/a'}"


def headline_tiles(bundle: ReportBundle) -> list[dict]:
    """One tile per headline KPI: label, value, change with an arrow, target and status."""
    prev = _month_name(bundle.periods[-2]) if len(bundle.periods) > 1 else ""
    tiles = []
    for rec in bundle.headline.to_dict("records"):
        unit = rec["unit"]
        value = fmt_money_short(rec["value"]) if unit == "currency" else fmt_value(rec["value"], unit)
        change = rec["change"]
        if isinstance(change, float) and math.isnan(change):
            trend_line, trend_colour = "no previous month", NEUTRAL
        else:
            arrow = "▲" if change > 0 else "▼" if change < 0 else "■"
            trend_colour = GOOD if rec["trend"] == "better" else BAD if rec["trend"] == "worse" else NEUTRAL
            trend_line = f"{arrow} {_change_text(unit, change, rec['previous'])} vs {prev}"
        status = rec["status"]
        bar = GOOD if status == "on target" else BAD if status == "off target" else NEUTRAL
        tiles.append({"label": rec["label"], "value": value, "trend": trend_line, "trend_colour": trend_colour,
                      "target": _target_text(rec), "bar": bar})
    return tiles


def extra_tiles(bundle: ReportBundle) -> list[dict]:
    """Book-of-business tiles for page 1: active accounts, value at risk, renewals due, health mix."""
    books = bundle.books[bundle.books["group_by"] == "all"]
    if books.empty:
        return []
    b = books.iloc[0]
    tiles = [{"label": "Value at risk", "value": fmt_money_short(b["value_at_risk"]),
              "trend": f"MRR of {int(b['red']):,} red accounts"
              + (f" · {b['red_share_of_mrr']:.0%} of MRR" if not pd.isna(b["red_share_of_mrr"]) else ""),
              "trend_colour": BAD if b["red"] else NEUTRAL, "target": "health score below the red threshold",
              "bar": BAD if b["red"] else GOOD}]
    tiles.append({"label": "Renewals due in 90 days", "value": f"{int(b['renewals_90d']):,}",
                  "trend": f"ARR {fmt_money_short(b['renewals_90d_arr'])}", "trend_colour": NEUTRAL,
                  "target": f"{int(b['renewals_30d']):,} within 30 days · {int(b['renewals_180d']):,} within 180",
                  "bar": NEUTRAL})
    scored = b["green"] + b["yellow"] + b["red"]
    if scored:
        tiles.append({"label": "Health mix", "value": f"{b['green'] / scored:.0%} green",
                      "trend": f"{b['yellow'] / scored:.0%} yellow · {b['red'] / scored:.0%} red", "trend_colour": NEUTRAL,
                      "target": f"mean score {b['mean_score']:.0f}" if not pd.isna(b["mean_score"]) else "",
                      "bar": NEUTRAL})
    tiles.append({"label": "Active accounts", "value": f"{int(b['accounts']):,}",
                  "trend": f"ARR {fmt_money_short(b['arr'])}", "trend_colour": NEUTRAL,
                  "target": f"MRR {fmt_money_short(b['mrr'])}", "bar": NEUTRAL})
    return tiles


def _tile(tile: dict, st: _Styles) -> list:
    trend = ParagraphStyle("tt", parent=st.tile_line, textColor=tile["trend_colour"])
    return [_p(tile["label"].upper(), st.tile_label), _p(tile["value"], st.tile_value),
            _p(tile["trend"], trend), _p(tile["target"], st.tile_line)]


def _tile_grid(tiles: list[dict], st: _Styles, columns: int = 4) -> Table:
    gap = 6
    width = (WIDTH - gap * (columns - 1)) / columns
    rows = [tiles[i:i + columns] for i in range(0, len(tiles), columns)]
    data, style = [], [("VALIGN", (0, 0), (-1, -1), "TOP")]
    for r, row in enumerate(rows):
        cells = []
        for c in range(columns):
            tile = row[c] if c < len(row) else None
            cells.append(_tile(tile, st) if tile else "")
            if c < columns - 1:
                cells.append("")
            if tile:
                col = 2 * c
                style += [("BACKGROUND", (col, r), (col, r), LIGHT),
                          ("LINEBEFORE", (col, r), (col, r), 3, tile["bar"]),
                          ("LEFTPADDING", (col, r), (col, r), 8), ("TOPPADDING", (col, r), (col, r), 5),
                          ("BOTTOMPADDING", (col, r), (col, r), 6)]
        data.append(cells)
    widths = []
    for c in range(columns):
        widths.append(width)
        if c < columns - 1:
            widths.append(gap)
    table = Table(data, colWidths=widths, rowHeights=None, spaceAfter=0)
    style += [("BOTTOMPADDING", (0, 0), (-1, -1), 6)]
    table.setStyle(TableStyle(style))
    return table


# ------------------------------------------------------------------------------------------------
# one page per segment / CSM
def _group_page(bundle: ReportBundle, field: str, group: str, st: _Styles) -> list:
    title = GROUP_TITLES.get(field, field.replace("_", " ").capitalize())
    books = bundle.books
    row = books[(books["group_by"] == field) & (books["group"] == group)]
    out: list = [_p(f"{title}: {group}", st.h1),
                 _p(f"Book of business at {bundle.as_of:%Y-%m-%d}" if bundle.as_of is not None else "Book of business",
                    st.sub)]
    if row.empty:
        return out + [_p("No active accounts.", st.body)]
    b = row.iloc[0]
    scored = b["green"] + b["yellow"] + b["red"]
    tiles = [
        {"label": "ARR", "value": fmt_money_short(b["arr"]), "trend": f"MRR {fmt_money_short(b['mrr'])}",
         "trend_colour": NEUTRAL, "target": f"{int(b['accounts']):,} active accounts", "bar": NAVY},
        {"label": "Health score (mean)", "value": "–" if pd.isna(b["mean_score"]) else f"{b['mean_score']:.0f}",
         "trend": f"{int(b['green']):,} green · {int(b['yellow']):,} yellow · {int(b['red']):,} red",
         "trend_colour": NEUTRAL, "target": f"{b['green'] / scored:.0%} green" if scored else "",
         "bar": NEUTRAL},
        {"label": "Value at risk", "value": fmt_money_short(b["value_at_risk"]),
         "trend": f"MRR of red accounts · {b['red_share_of_mrr']:.0%} of MRR" if not pd.isna(b["red_share_of_mrr"]) else "",
         "trend_colour": BAD if b["red"] else NEUTRAL, "target": f"{int(b['red']):,} red accounts",
         "bar": BAD if b["red"] else GOOD},
        {"label": "Renewals due", "value": f"{int(b['renewals_30d'])} / {int(b['renewals_90d'])} / {int(b['renewals_180d'])}",
         "trend": "within 30 / 90 / 180 days", "trend_colour": NEUTRAL,
         "target": f"ARR {fmt_money_short(b['renewals_30d_arr'])} / {fmt_money_short(b['renewals_90d_arr'])} / "
                   f"{fmt_money_short(b['renewals_180d_arr'])}", "bar": NEUTRAL},
    ]
    out.append(_tile_grid(tiles, st, columns=4))
    result = bundle.kpis_by.get(field)
    arr = result.series("arr", group=group) if result is not None else pd.Series(dtype=float)
    bands = {band: (int(b[band]), _band_mrr(bundle, field, group, band)) for band in ("green", "yellow", "red")}
    out.append(_image(charts.group_panel(arr, bands), WIDTH))
    other = "segment" if field != "segment" else "csm"
    other_title = GROUP_TITLES.get(other, other)
    risks = bundle.risks[(bundle.risks["group_by"] == field) & (bundle.risks["group"] == group)].head(GROUP_RISKS)
    out.append(_p("Top risks — red accounts, and yellow ones renewing within 90 days or with an urgent action",
                  st.h2))
    if risks.empty:
        out.append(_p("None: no red account, no yellow account close to renewal.", st.body))
    else:
        rows = [[r["account_name"] if not pd.isna(r["account_name"]) else r["account_id"], r.get(other, ""),
                 fmt_value(r["mrr"], "currency"), fmt_value(r["score"], "score"), _renewal(r["days_to_renewal"]),
                 _cut(r["reason"])] for r in _with_other(risks, bundle, other).to_dict("records")]
        out.append(_table(["Account", other_title, "MRR", "Score", "Renews", "Why"], rows,
                          [0.2, 0.12, 0.08, 0.06, 0.09, 0.45], st, right={2, 3}))
    cands = bundle.expansion[(bundle.expansion["group_by"] == field)
                             & (bundle.expansion["group"] == group)].head(GROUP_EXPANSION)
    out.append(_p("Expansion candidates — healthy accounts outgrowing their plan", st.h2))
    if cands.empty:
        snap = bundle.snapshot
        usage = any(c in snap.columns and snap[c].notna().any() for c in ("seat_utilization", "usage_trend"))
        out.append(_p("None: no green account uses 85 % of its seats or grew its usage by 20 %." if usage else
                      "No usage data: expansion candidates need seat utilisation or usage trends.", st.body))
    else:
        rows = [[r["account_name"] if not pd.isna(r["account_name"]) else r["account_id"], r.get(other, ""),
                 fmt_value(r["mrr"], "currency"), fmt_value(r["score"], "score"),
                 fmt_value(r["seat_utilization"], "fraction"), r["reason"]]
                for r in _with_other(cands, bundle, other).to_dict("records")]
        out.append(_table(["Account", other_title, "MRR", "Score", "Seats used", "Why"], rows,
                          [0.22, 0.12, 0.08, 0.06, 0.08, 0.44], st, right={2, 3, 4}))
    return out


def _with_other(frame: pd.DataFrame, bundle: ReportBundle, other: str) -> pd.DataFrame:
    if other in frame.columns or other not in bundle.snapshot.columns:
        return frame
    lookup = bundle.snapshot.set_index("account_id")[other]
    return frame.assign(**{other: frame["account_id"].map(lookup)})


def _band_mrr(bundle: ReportBundle, field: str, group: str, band: str) -> float:
    snap = bundle.snapshot
    if "band" not in snap.columns or field not in snap.columns:
        return 0.0
    active = snap["active"].fillna(False).astype(bool) if "active" in snap.columns else snap["mrr"].fillna(0) > 0
    rows = snap[active & (snap[field].astype(str) == group) & (snap["band"].astype(str) == band)]
    return float(pd.to_numeric(rows["mrr"], errors="coerce").fillna(0).sum()) if "mrr" in rows else 0.0


def _cut(text, limit: int = REASON_CHARS) -> str:
    text = "" if text is None or (isinstance(text, float) and math.isnan(text)) else str(text)
    return text if len(text) <= limit else text[:limit - 1].rstrip(" ;,") + "…"


def _renewal(days) -> str:
    if days is None or pd.isna(days):
        return "–"
    days = int(days)
    return "overdue" if days < 0 else f"in {days} d"


def _table(headers: list[str], rows: list[list], shares: list[float], st: _Styles, right=frozenset()) -> Table:
    """A table over the page width (``shares`` of it per column); long tables split across
    pages with the header repeated."""
    data = [[Paragraph(escape(h), st.head) for h in headers]]
    for row in rows:
        data.append([_p("" if v is None or (isinstance(v, float) and math.isnan(v)) else v,
                        st.cell_r if j in right else st.cell) for j, v in enumerate(row)])
    table = Table(data, colWidths=[WIDTH * s / sum(shares) for s in shares], repeatRows=1)
    table.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), NAVY),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, LIGHT]),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
    ]))
    return table


# ------------------------------------------------------------------------------------------------
# actions, problems
def _actions(bundle: ReportBundle, st: _Styles) -> list:
    actions = bundle.actions
    out: list = [_p("Action list", st.h1),
                 _p(f"{len(actions):,} action(s) from the playbooks, most urgent first"
                    + (f"; the first {MAX_TABLE_ROWS} are printed, the workbook's Actions sheet has all."
                       if len(actions) > MAX_TABLE_ROWS else "."), st.sub)]
    if actions.empty:
        return out + [_p("No playbook rule fired.", st.body)]
    rows = []
    for r in actions.head(MAX_TABLE_ROWS).to_dict("records"):
        name = r.get("account_name")
        rows.append([r.get("priority", ""), name if isinstance(name, str) and name else r.get("account_id", ""),
                     r.get("owner", ""), r.get("reason", ""), r.get("action", ""),
                     f"{pd.Timestamp(r['due']):%Y-%m-%d}" if not pd.isna(r.get("due")) else ""])
    return out + [_table(["Priority", "Account", "Owner", "Why", "Action", "Due"], rows,
                         [0.07, 0.16, 0.11, 0.3, 0.28, 0.08], st)]


def _problems(bundle: ReportBundle, st: _Styles) -> list:
    problems = bundle.problems_frame()
    out: list = [CondPageBreak(120), Spacer(1, 10), _p("Data problems", st.h1),
                 _p(f"{len(problems):,} problem(s) found while reading and computing"
                    + (f"; the first {MAX_TABLE_ROWS} are printed, the workbook's Problems sheet has all."
                       if len(problems) > MAX_TABLE_ROWS else ".")
                    + " Rows set aside are not in the results.", st.sub)]
    if problems.empty:
        out.append(_p("None: every row of the inputs was used.", st.body))
    else:
        rows = []
        for r in problems.head(MAX_TABLE_ROWS).to_dict("records"):
            parts = [(r["file"], "{}"), (r["sheet"], "sheet {}"), (r["row"], "row {}"), (r["column"], "column {}")]
            where = ", ".join(fmt.format(v) for v, fmt in parts if not pd.isna(v) and str(v) != "")
            rows.append([r["severity"], where, r["code"], r["message"]])
        out.append(_table(["Severity", "Where", "Code", "What"], rows, [0.07, 0.25, 0.13, 0.55], st))
    if bundle.notes:
        out += [_p("Notes", st.h2)] + [_p(n, st.note) for n in bundle.notes]
    return out
