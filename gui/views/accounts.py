"""Accounts: the per-account snapshot (sortable, filterable, health colour) and an account panel
with its MRR history, health components and open actions.

The table is ``account_snapshot`` with the health score columns beside it; the panel reads the
engine's movements (MRR at the end of every period), the health score's component points and
the playbook actions. A drill-down from the dashboard narrows the table to the accounts behind
a KPI and says so in a banner.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QFormLayout, QFrame, QHBoxLayout, QLabel, QPushButton,
                               QSplitter, QVBoxLayout, QWidget)

from ..formatting import format_cell, format_value
from ..models import FilterableTable
from .charts import ChartCanvas
from .scrolling import scroll_area

BAND_COLOURS = {"green": QColor(200, 230, 201), "yellow": QColor(255, 245, 157), "red": QColor(255, 205, 210)}
FIRST_COLUMNS = ["account_id", "account_name", "band", "score", "health_score", "csm", "segment", "plan", "mrr",
                 "arr", "mrr_trend_3m", "renewal_date", "days_to_renewal", "seats", "active_users_30d",
                 "seat_utilization", "days_since_last_activity", "tickets_90d", "last_nps", "csm_sentiment"]
MONEY = {"mrr", "arr", "mrr_3m_ago", "cac"}
FRACTION = {"seat_utilization", "depth", "mrr_trend_3m", "usage_trend"}


def score_column(frame: pd.DataFrame) -> str | None:
    for c in ("score", "health_score"):
        if c in frame.columns:
            return c
    return None


def component_columns(frame: pd.DataFrame, model) -> dict[str, str]:
    """component id -> column with its points in the health score output (naming varies)."""
    if model is None or frame is None:
        return {}
    out = {}
    for c in getattr(model, "components", ()):
        for name in (f"pts_{c.id}", f"points_{c.id}", f"{c.id}_points", f"points[{c.id}]", f"{c.id}.points", f"component_{c.id}"):
            if name in frame.columns:
                out[c.id] = name
                break
    return out


class AccountPanel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = QLabel("<i>Select an account</i>", self)
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.facts = QFormLayout()
        self.facts.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.mrr_chart = ChartCanvas("MRR history", self)
        self.health_chart = ChartCanvas("Health components (points 0–100)", self)
        self.actions = QLabel("", self)
        self.actions.setWordWrap(True)
        self.actions.setTextFormat(Qt.TextFormat.RichText)
        self.actions.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        inner = QWidget(self)
        v = QVBoxLayout(inner)
        v.addWidget(self.title)
        v.addLayout(self.facts)
        v.addWidget(self.mrr_chart)
        v.addWidget(self.health_chart)
        v.addWidget(QLabel("<b>Actions</b>", self))
        v.addWidget(self.actions)
        v.addStretch(1)
        scroll = scroll_area(inner, self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)
        self.account_id: str | None = None

    def clear(self) -> None:
        self.account_id = None
        self.title.setText("<i>No account selected</i>")
        while self.facts.rowCount():
            self.facts.removeRow(0)
        self.mrr_chart.empty("")
        self.health_chart.empty("")
        self.actions.setText("")

    def show_account(self, row: pd.Series, history: pd.Series | None, components: pd.Series | None,
                     actions: pd.DataFrame | None, band_col: str | None = "band") -> None:
        self.account_id = str(row.get("account_id"))
        name = row.get("account_name")
        band = str(row.get(band_col, "")) if band_col else ""
        sc = row.get("score", row.get("health_score", math.nan))
        colour = {"green": "#2e7d32", "yellow": "#f9a825", "red": "#c62828"}.get(band, "#607d8b")
        badge = (f" <span style='color:{colour}'>●</span> health {format_value(sc, 'score')} ({band})"
                 if band and band != "nan" else "")
        self.title.setText(f"<h3>{name if isinstance(name, str) else self.account_id}</h3>"
                           f"{self.account_id}{badge}")
        while self.facts.rowCount():
            self.facts.removeRow(0)
        for key in ("csm", "segment", "plan", "mrr", "arr", "renewal_date", "days_to_renewal", "seats",
                    "active_users_30d", "seat_utilization", "days_since_last_activity", "tickets_90d",
                    "last_nps", "csm_sentiment", "tenure_days", "status"):
            if key in row.index and not (isinstance(row[key], float) and math.isnan(row[key])):
                value = row[key]
                text = (format_value(value, "currency") if key in MONEY else
                        format_value(value, "fraction") if key in FRACTION else format_cell(value))
                self.facts.addRow(key.replace("_", " ") + ":", QLabel(text, self))
        if history is not None and len(history):
            self.mrr_chart.series_line(history, money=True)
        else:
            self.mrr_chart.empty("No MRR history for this account")
        if components is not None and len(components):
            self.health_chart.hbars(components)
        else:
            self.health_chart.empty("No health score (load or build a health model)")
        if actions is not None and len(actions):
            items = []
            for _, a in actions.iterrows():
                pr = a.get("priority", "")
                reason = a.get("reason", "")
                what = a.get("action", a.get("suggested_action", ""))
                items.append(f"<li><b>{pr}</b> {reason}<br><i>{what}</i></li>")
            self.actions.setText("<ul>" + "".join(items) + "</ul>")
        else:
            self.actions.setText("<i>No open actions.</i>")


class AccountsView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.analysis = None
        self.frame = pd.DataFrame()
        self.banner = QFrame(self)
        self.banner.setObjectName("drillBanner")
        self.banner.setStyleSheet("#drillBanner { background: palette(alternate-base); border: 1px solid palette(mid);"
                                  " border-radius: 4px; }")
        bl = QHBoxLayout(self.banner)
        self.banner_text = QLabel("", self.banner)
        self.banner_text.setWordWrap(True)
        clear = QPushButton("Show all accounts", self.banner)
        clear.clicked.connect(self.clear_drill_down)
        bl.addWidget(self.banner_text, 1)
        bl.addWidget(clear)
        self.banner.hide()
        self.table = FilterableTable("Filter accounts (name, CSM, segment … or column:text, e.g. band:red)", self)
        self.table.model.cell_colour = self._cell_colour
        self.table.row_selected.connect(self._selected)
        self.panel = AccountPanel(self)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.table)
        splitter.addWidget(self.panel)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        fm = self.fontMetrics()
        splitter.setSizes([fm.horizontalAdvance("M") * 70, fm.horizontalAdvance("M") * 40])
        self.splitter = splitter
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(splitter, 1)
        self.drill_title: str | None = None

    # ---------------------------------------------------------------------------------- data
    def set_analysis(self, analysis) -> None:
        self.analysis = analysis
        snap = analysis.snapshot if analysis is not None else None
        frame = snap.copy() if snap is not None else pd.DataFrame()
        if len(frame):
            first = [c for c in FIRST_COLUMNS if c in frame.columns]
            frame = frame[first + [c for c in frame.columns if c not in first]]
        self.frame = frame.reset_index(drop=True)
        m = self.table.model
        for c in frame.columns:
            if c in MONEY:
                m.formatters[c] = lambda v: format_value(v, "currency")
            elif c in FRACTION:
                m.formatters[c] = lambda v: format_value(v, "fraction")
            elif c in ("score", "health_score"):
                m.formatters[c] = lambda v: f"{float(v):.0f}"
        self.table.set_frame(self.frame)
        if self.drill_title is None:
            self.clear_drill_down()
        if len(self.frame) and self.table.proxy.rowCount():
            self.table.view.selectRow(0)

    def _band_column(self) -> str | None:
        return "band" if "band" in self.frame.columns else None

    def _cell_colour(self, row: int, column: str):
        bc = self._band_column()
        if bc is None or column not in (bc, "score", "health_score", "account_id", "account_name"):
            return None
        return BAND_COLOURS.get(str(self.table.model.frame[bc].iat[row]))

    # ---------------------------------------------------------------------------------- drill-down
    def drill_down(self, title: str, ids) -> None:
        ids = [str(i) for i in ids]
        self.drill_title = title
        self.table.proxy.set_id_filter("account_id", ids)
        shown = self.table.proxy.rowCount()
        extra = "" if shown == len(ids) else f" ({len(ids) - shown} of them are not in the snapshot)"
        self.banner_text.setText(f"<b>{title}</b>{extra}")
        self.banner.show()
        self.table._update_count()
        if shown:
            self.table.view.selectRow(0)
        else:
            self.panel.clear()

    def clear_drill_down(self) -> None:
        self.drill_title = None
        self.table.proxy.set_id_filter(None, None)
        self.banner.hide()
        self.table._update_count()

    def visible_ids(self) -> list[str]:
        frame = self.table.visible_frame()
        return frame["account_id"].astype(str).tolist() if "account_id" in frame else []

    def select_account(self, account_id: str) -> bool:
        shown = self.table.model.frame  # in the order the table sorted it
        ids = shown["account_id"].astype(str).tolist() if "account_id" in shown else []
        if account_id not in ids:
            return False
        src = ids.index(account_id)
        proxy_index = self.table.proxy.mapFromSource(self.table.model.index(src, 0))
        if not proxy_index.isValid():
            self.clear_drill_down()
            self.table.filter.clear()
            proxy_index = self.table.proxy.mapFromSource(self.table.model.index(src, 0))
        self.table.view.selectRow(proxy_index.row())
        self.table.view.scrollTo(proxy_index)
        self._selected(src)
        return True

    def _selected(self, src_row: int) -> None:
        shown = self.table.model.frame  # in the order the table sorted it
        if shown.empty or src_row < 0 or src_row >= len(shown):
            return
        row = shown.iloc[src_row]
        aid = str(row.get("account_id"))
        a = self.analysis
        history = None
        if a is not None and a.kpis is not None:
            from ..backend import mrr_history

            history = mrr_history(a.kpis, aid)
        components = None
        if a is not None and a.health is not None and a.health_model is not None:
            cols = component_columns(self.frame, a.health_model)
            if cols:
                components = pd.Series({cid: row.get(col, np.nan) for cid, col in cols.items()}, dtype=float)
        actions = None
        if a is not None and a.actions is not None and "account_id" in a.actions:
            actions = a.actions[a.actions["account_id"].astype(str) == aid]
        self.panel.show_account(row, history, components, actions, self._band_column())
