"""Dashboard: period and group selectors, headline KPI tiles, charts, drill-down.

Numbers come from the engine's ``KpiResult`` (``compute``) and its movements table; tiles are the
registry's headline KPIs. Clicking a tile or a bar emits ``drill_down(title, account_ids)``.
"""
from __future__ import annotations

import math

import pandas as pd
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QGridLayout, QHBoxLayout, QLabel,
                               QVBoxLayout, QWidget)

from ..formatting import format_value
from .charts import ChartCanvas
from .scrolling import scroll_area
from .tiles import KpiTile

GRANULARITIES = (("Months", "month"), ("Quarters", "quarter"), ("Years", "year"))
GROUP_FIELDS = ("segment", "csm", "plan", "region", "industry", "status")
TILE_COLUMNS = 5

# Which accounts stand behind a KPI (drill-down): a movement filter on the period's movements.
CHURN_KPIS = {"logo_churn_rate", "logos_churned", "churned_mrr", "logo_churn_rate_annualized",
              "logo_retention_rate"}
COHORT_KPIS = {"nrr", "grr", "gross_mrr_churn_rate", "net_mrr_churn_rate", "logos_start", "expansion_rate",
               "portfolio_growth", "portfolio_growth_rate"}
MOVEMENT_KPIS = {"new_mrr": "new", "logos_new": "new", "reactivation_mrr": "reactivation",
                 "logos_reactivated": "reactivation", "expansion_mrr": "expansion",
                 "contraction_mrr": "contraction", "extension_mrr": "contraction"}


class Dashboard(QWidget):
    recompute_requested = Signal(object, str)  # by (str | None), granularity
    drill_down = Signal(str, object)  # title, list of account ids

    def __init__(self, parent=None):
        super().__init__(parent)
        from cs_desk.kpis import headline_kpis

        self.headline = headline_kpis()
        self.result = None
        self.movements: pd.DataFrame | None = None
        self.analysis = None
        self.by: str | None = None
        self.granularity = "month"
        self.tiles: dict[str, KpiTile] = {}
        self._updating = False

        # selectors --------------------------------------------------------------------------
        self.period_box = QComboBox(self)
        self.period_box.setToolTip("The period the tiles show (charts show every period)")
        self.granularity_box = QComboBox(self)
        for label, value in GRANULARITIES:
            self.granularity_box.addItem(label, value)
        self.by_box = QComboBox(self)
        self.by_box.addItem("Whole portfolio", None)
        self.group_box = QComboBox(self)
        self.group_box.addItem("all", "all")
        self.group_box.setEnabled(False)
        self.period_box.currentIndexChanged.connect(self._refresh)
        self.group_box.currentIndexChanged.connect(self._refresh)
        self.granularity_box.currentIndexChanged.connect(self._selectors_changed)
        self.by_box.currentIndexChanged.connect(self._selectors_changed)
        bar = QHBoxLayout()
        for text, w in (("Period", self.period_box), ("Periods of", self.granularity_box),
                        ("Group by", self.by_box), ("Group", self.group_box)):
            label = QLabel(text, self)
            label.setBuddy(w)
            bar.addWidget(label)
            bar.addWidget(w)
            bar.addSpacing(self.fontMetrics().horizontalAdvance("MM"))
        bar.addStretch(1)
        self.info = QLabel("", self)
        self.info.setObjectName("dashInfo")

        # tiles ------------------------------------------------------------------------------
        self.tile_grid = QGridLayout()
        self.tile_grid.setSpacing(8)

        # charts -----------------------------------------------------------------------------
        self.chart_movements = ChartCanvas("MRR movements", self)
        self.chart_retention = ChartCanvas("NRR and GRR", self)
        self.chart_churn = ChartCanvas("Logo churn rate", self)
        self.chart_health = ChartCanvas("Health mix", self)
        self.chart_movements.setToolTip("Click a bar for the accounts behind it")
        self.chart_churn.setToolTip("Click a bar for the accounts that churned that month")
        self.chart_health.setToolTip("Click a bar for the accounts in that band")
        self.chart_nps = ChartCanvas("NPS", self)
        self.chart_movements.bar_clicked.connect(self._bar_clicked)
        self.chart_churn.bar_clicked.connect(self._bar_clicked)
        self.chart_health.bar_clicked.connect(self._health_clicked)
        charts = QGridLayout()
        charts.setSpacing(8)
        charts.addWidget(self.chart_movements, 0, 0, 1, 2)
        charts.addWidget(self.chart_retention, 0, 2)
        charts.addWidget(self.chart_churn, 1, 0)
        charts.addWidget(self.chart_health, 1, 1)
        charts.addWidget(self.chart_nps, 1, 2)
        for c in range(3):
            charts.setColumnStretch(c, 1)

        inner = QWidget(self)
        v = QVBoxLayout(inner)
        v.addLayout(self.tile_grid)
        v.addWidget(self.info)
        v.addLayout(charts, 1)
        scroll = scroll_area(inner, self)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(scroll, 1)

    # ------------------------------------------------------------------------------ inputs
    def set_analysis(self, analysis) -> None:
        """A new dataset was analysed: month KPIs for the whole portfolio."""
        self.analysis = analysis
        self._fill_group_fields(analysis.dataset)
        self._updating = True
        self.granularity_box.setCurrentIndex(0)
        self.by_box.setCurrentIndex(0)
        self._updating = False
        self.by, self.granularity = None, "month"
        self.set_result(analysis.kpis, analysis.movements)

    def set_result(self, result, movements: pd.DataFrame | None) -> None:
        self.result = result
        self.movements = movements
        self._updating = True
        periods = list(result.periods) if result is not None else []
        current = self.period_box.currentText()
        self.period_box.clear()
        self.period_box.addItems(periods)
        if current in periods and self.granularity == "month":
            self.period_box.setCurrentIndex(periods.index(current))
        else:
            self.period_box.setCurrentIndex(len(periods) - 1)
        groups = sorted(set(result.table["group"])) if result is not None and not result.table.empty else ["all"]
        groups = ["all"] + [g for g in groups if g != "all"]
        self.group_box.clear()
        for g in groups:
            self.group_box.addItem(g, g)
        self.group_box.setEnabled(len(groups) > 1)
        self._updating = False
        self._build_tiles()
        self._refresh()

    def _fill_group_fields(self, dataset) -> None:
        self._updating = True
        self.by_box.clear()
        self.by_box.addItem("Whole portfolio", None)
        accounts = dataset.table("accounts") if dataset is not None else pd.DataFrame()
        for f in GROUP_FIELDS:
            if f in accounts.columns and accounts[f].notna().any():
                self.by_box.addItem(f.replace("_", " ").capitalize(), f)
        self._updating = False

    def _selectors_changed(self) -> None:
        if self._updating:
            return
        self.by = self.by_box.currentData()
        self.granularity = self.granularity_box.currentData() or "month"
        self.recompute_requested.emit(self.by, self.granularity)

    # ------------------------------------------------------------------------------ drawing
    @property
    def period(self) -> str | None:
        return self.period_box.currentText() or None

    @property
    def group(self) -> str:
        return self.group_box.currentData() or "all"

    def _build_tiles(self) -> None:
        computed = set(self.result.table["kpi"]) if self.result is not None and not self.result.table.empty else set()
        wanted = [k for k in self.headline if k.id in computed]
        if [t for t in self.tiles] == [k.id for k in wanted]:
            return
        for tile in self.tiles.values():
            self.tile_grid.removeWidget(tile)
            tile.deleteLater()
        self.tiles = {}
        for i, k in enumerate(wanted):
            tile = KpiTile(k, self)
            tile.clicked.connect(self._tile_clicked)
            self.tile_grid.addWidget(tile, i // TILE_COLUMNS, i % TILE_COLUMNS)
            self.tiles[k.id] = tile
        for c in range(TILE_COLUMNS):
            self.tile_grid.setColumnStretch(c, 1)

    def _refresh(self) -> None:
        if self._updating or self.result is None:
            return
        period, group = self.period, self.group
        periods = list(self.result.periods)
        pos = periods.index(period) if period in periods else len(periods) - 1
        previous = periods[pos - 1] if pos > 0 else None
        for kpi_id, tile in self.tiles.items():
            series = self.result.series(kpi_id, group)
            value = series.get(period, math.nan) if period else math.nan
            prev = series.get(previous, math.nan) if previous else math.nan
            history = series.iloc[: pos + 1].tail(12)
            tile.set_data(value, prev, history.to_numpy(), period or "", previous)
        skipped = getattr(self.result, "skipped", []) or []
        headline_ids = {k.id for k in self.headline}
        missing = [(k, why) for k, why in skipped if k in headline_ids]
        from cs_desk.kpis import REGISTRY

        by_reason: dict[str, list[str]] = {}
        for k, why in missing:
            by_reason.setdefault(why, []).append(REGISTRY[k].label if k in REGISTRY else k)
        text = "Not shown: " + "; ".join(f"{', '.join(labels)} ({why})" for why, labels in by_reason.items()) \
            if missing else ""
        self.info.setToolTip(text)
        self.info.setText(self.info.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight,
                                                             max(self.width() - 40, 200)))
        self.info.setVisible(bool(missing))
        self._draw_charts(group)

    def _draw_charts(self, group: str) -> None:
        wide = self.result.wide(group) if self.result is not None and not self.result.table.empty else pd.DataFrame()
        if not wide.empty:
            wide = wide.reindex([p for p in self.result.periods if p in wide.index])
        self.chart_movements.movements(wide)
        from cs_desk.kpis import REGISTRY

        targets = {k: REGISTRY[k].target for k in ("nrr", "grr") if k in REGISTRY}
        self.chart_retention.lines(wide, {"nrr": "NRR", "grr": "GRR"}, targets=targets,
                                   colours={"nrr": "#1e88e5", "grr": "#8e24aa"},
                                   empty_text="NRR/GRR need an MRR or subscriptions table")
        churn = wide["logo_churn_rate"] if "logo_churn_rate" in wide else None
        self.chart_churn.bars(churn, "logo churn rate", percent=True,
                              target=REGISTRY["logo_churn_rate"].target if "logo_churn_rate" in REGISTRY else None,
                              gid_prefix="churned", empty_text="Logo churn needs an MRR or subscriptions table")
        mix = self.analysis.health_mix if self.analysis is not None else None
        if mix is not None and group == "all" and self.granularity == "month":
            self.chart_health.stacked_share(mix, empty_text="No health history")
        elif self.analysis is not None and self.analysis.snapshot is not None and "band" in self.analysis.snapshot:
            band = self.analysis.snapshot["band"].astype(str)
            share = band.value_counts(normalize=True).to_frame().T
            share.index = [f"as of {self.analysis.as_of:%Y-%m-%d}" if self.analysis.as_of is not None else "now"]
            self.chart_health.stacked_share(share)
        else:
            self.chart_health.empty("Health mix needs account data\nand a health model (see the Health builder)")
        if "nps" in wide.columns and wide["nps"].notna().any():
            nps_target = REGISTRY["nps"].target if "nps" in REGISTRY else None
            self.chart_nps.lines(wide, {"nps": "NPS"}, percent=False, targets={"nps": nps_target},
                                 colours={"nps": "#00897b"}, ylim=(-100, 100))
        else:
            self.chart_nps.empty("NPS needs a surveys table with NPS answers")

    # ------------------------------------------------------------------------------ drill-down
    def accounts_for(self, kpi_id: str, period: str | None = None, group: str | None = None) -> tuple[str, list]:
        """(title, account ids) behind a KPI in a period: a selection on the engine's movements."""
        period = period or self.period
        group = group or self.group
        mv = self.movements
        if mv is None or mv.empty:
            return f"{kpi_id} in {period}", []
        rows = mv[mv["period"] == period]
        if group != "all" and "group" in rows:
            rows = rows[rows["group"] == group]
        label = kpi_id
        from cs_desk.kpis import REGISTRY

        if kpi_id.split("[")[0] in REGISTRY:
            label = REGISTRY[kpi_id.split("[")[0]].label
        elif f"{kpi_id}_mrr" in REGISTRY:  # a bar of the movements chart
            label = REGISTRY[f"{kpi_id}_mrr"].label
        where = f" in {period}" + (f", {group}" if group != "all" else "")
        if kpi_id in CHURN_KPIS or kpi_id == "churned":
            rows = rows[rows["movement"] == "churned"]
            lost = format_value(rows["start_mrr"].sum(), "currency")
            return f"{label}: {len(rows)} churned accounts{where} (MRR lost {lost})", \
                rows.sort_values("start_mrr", ascending=False)["account_id"].tolist()
        if kpi_id in COHORT_KPIS:
            rows = rows[rows["start_mrr"] > 0].sort_values("delta")
            return f"{label}: {len(rows)} accounts active at the start{where} (biggest losses first)", \
                rows["account_id"].tolist()
        if kpi_id in MOVEMENT_KPIS or kpi_id in ("new", "reactivation", "expansion", "contraction"):
            movement = MOVEMENT_KPIS.get(kpi_id, kpi_id)
            rows = rows[rows["movement"] == movement]
            if kpi_id == "extension_mrr":
                rows = rows[rows["extension"]]
            delta = format_value(rows["delta"].sum(), "currency")
            return f"{label}: {len(rows)} accounts{where} (MRR change {delta})", \
                rows.sort_values("delta", key=abs, ascending=False)["account_id"].tolist()
        if kpi_id.startswith("nps") or kpi_id in ("csat", "ces"):
            return self._respondents(kpi_id, label, period, group)
        rows = rows[rows["end_mrr"] > 0].sort_values("end_mrr", ascending=False)
        return f"{label}: {len(rows)} accounts active at the end{where}", rows["account_id"].tolist()

    def _respondents(self, kpi_id, label, period, group):
        """Accounts that answered the survey in the period (a selection of the surveys table)."""
        ds = self.analysis.dataset if self.analysis is not None else None
        ctx = getattr(self.result, "context", None)
        if ds is None or ctx is None or not ds.has("surveys"):
            return label, []
        p = next((p for p in ctx.periods if p.label == period), None)
        if p is None:
            return label, []
        s = ds.table("surveys")
        kind = "nps" if kpi_id.startswith("nps") else kpi_id
        s = s[(s["survey"] == kind) & (s["date"] >= p.start) & (s["date"] < p.end)]
        ids = list(dict.fromkeys(s["account_id"]))
        if group != "all" and ctx.by:
            ids = [i for i in ids if ctx.groups.get(i) == group]
        return f"{label}: {len(ids)} accounts that answered {kind.upper()} in {period}", ids

    def _tile_clicked(self, kpi_id: str) -> None:
        title, ids = self.accounts_for(kpi_id)
        self.drill_down.emit(title, ids)

    def _bar_clicked(self, gid: str) -> None:
        kind, _, period = gid.partition("|")
        title, ids = self.accounts_for(kind, period)
        self.drill_down.emit(title, ids)

    def _health_clicked(self, gid: str) -> None:
        band, _, period = gid.partition("|")
        snap = self.analysis.snapshot if self.analysis is not None else None
        if snap is None or "band" not in snap:
            return
        ids = snap.loc[snap["band"].astype(str) == band, "account_id"].tolist()
        note = "" if period.startswith("as of") or period == (self.result.periods[-1] if self.result else "") \
            else f" (bands as of {self.analysis.as_of:%Y-%m-%d}; history per account is not kept)"
        self.drill_down.emit(f"Health band {band}: {len(ids)} accounts{note}", ids)

    def tile_texts(self) -> dict[str, str]:
        return {k: t.value_text for k, t in self.tiles.items()}

    def expected_text(self, kpi_id: str, value) -> str:
        from cs_desk.kpis import REGISTRY

        return format_value(value, REGISTRY[kpi_id].unit)
