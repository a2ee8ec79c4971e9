"""Health-score builder: tune the model and see what it does, live.

Left: every component of the model with a weight slider and spin box, its share of the score,
its scale (type and parameters) and its missing-data policy; the band thresholds. Right: the
score distribution (current model, with the saved one as an outline), band counts and their
change, the accounts whose band changes against the saved model, and the backtest (AUC, churn per
band), recomputed on the worker thread shortly after the last change.

Scoring uses the engine's fast path: ``cs_desk.health.scoring.Scorer`` keeps each account's
component points, so a weight or band change is one ``Scorer.compute(model)`` (~1 ms for 10k
accounts); a scale or policy change recomputes the points of the new model structure.
"""
from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np
import pandas as pd
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QGridLayout, QGroupBox, QHBoxLayout,
                               QLabel, QLineEdit, QPushButton, QSlider,
                               QSplitter, QVBoxLayout, QWidget)

from ..models import FilterableTable
from .charts import ChartCanvas
from .scrolling import scroll_area

BANDS = ("red", "yellow", "green", "unknown")
SCALE_TYPES = ("linear", "bounded", "bands", "percentile", "yesno")
POLICIES = (("reweight", "re-weight others"), ("neutral", "count as 50"), ("zero", "count as 0"))
SLIDER_MAX = 100


def band_counts(band_codes: np.ndarray) -> dict[str, int]:
    counts = np.bincount(np.asarray(band_codes, dtype=int), minlength=4)
    return {b: int(counts[i]) for i, b in enumerate(BANDS)}


def parse_bands(text: str):
    """``"<0.2:0; 0.2-0.5:50; >=0.5:100"`` style text -> tuple of engine ``Band`` records.

    Each item is ``min-max:points``; leave a side empty for an open band (``-0.2:0``, ``0.5-:100``).
    """
    from cs_desk.health.model import Band

    out = []
    for item in [i.strip() for i in text.replace(",", ";").split(";") if i.strip()]:
        rng, _, pts = item.rpartition(":")
        if not rng:
            raise ValueError(f"{item!r}: write min-max:points, e.g. 0.2-0.5:50")
        lo, sep, hi = rng.strip().partition("~") if "~" in rng else _split_range(rng.strip())
        out.append(Band(points=float(pts), min=float(lo) if lo.strip() else None,
                        max=float(hi) if hi.strip() else None))
    if not out:
        raise ValueError("no bands")
    return tuple(out)


def _split_range(rng: str) -> tuple[str, str, str]:
    # "a-b" where a or b may be negative: split on the first '-' that is not a sign
    for i, ch in enumerate(rng):
        if ch == "-" and i > 0 and rng[i - 1] not in "eE-":
            return rng[:i], "-", rng[i + 1:]
    if rng.startswith("-") and rng.count("-") == 1:
        return "", "-", rng[1:]
    return rng, "-", ""


def bands_text(bands) -> str:
    def num(v):
        return "" if v is None else f"{v:g}"
    return "; ".join(f"{num(b.min)}-{num(b.max)}:{b.points:g}" for b in bands)


class ComponentRow:
    """The editors of one component (weight, scale, missing policy) in the builder's grid."""

    def __init__(self, builder: "HealthBuilder", grid: QGridLayout, row: int, comp):
        self.builder = builder
        self.cid = comp.id
        parent = builder.components_box
        arrow = "↑" if comp.direction == "higher" else "↓"
        name = QLabel(f"{comp.label or comp.id.replace('_', ' ')}<br><small>{arrow} {comp.metric}</small>", parent)
        if comp.group:
            name.setIndent(parent.fontMetrics().horizontalAdvance("MM"))
        name.setToolTip(comp.describe())
        self.slider = QSlider(Qt.Orientation.Horizontal, parent)
        self.slider.setRange(0, SLIDER_MAX)
        self.slider.setToolTip("weight")
        self.spin = QDoubleSpinBox(parent)
        self.spin.setRange(0.0, 1000.0)
        self.spin.setDecimals(1)
        self.spin.setSingleStep(1.0)
        self.spin.setKeyboardTracking(False)
        self.share = QLabel("", parent)
        self.share.setMinimumWidth(parent.fontMetrics().horizontalAdvance("100.0% "))
        self.share.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.scale_type = QComboBox(parent)
        self.scale_type.addItems(SCALE_TYPES)
        self.low = QDoubleSpinBox(parent)
        self.high = QDoubleSpinBox(parent)
        for box in (self.low, self.high):
            box.setRange(-1e9, 1e9)
            box.setDecimals(3)
            box.setKeyboardTracking(False)
            box.setMaximumWidth(parent.fontMetrics().horizontalAdvance("-0000.000") * 2)
        self.low.setToolTip("value that scores 0 points (100 when lower is better)")
        self.high.setToolTip("value that scores 100 points (0 when lower is better)")
        self.bands = QLineEdit(parent)
        self.bands.setPlaceholderText("min-max:points; …  e.g. -0.2:0; 0.2-0.5:50; 0.5-:100")
        self.policy = QComboBox(parent)
        for value, label in POLICIES:
            self.policy.addItem(label, value)
        self.policy.setToolTip("What a missing value counts as")
        params = QWidget(parent)
        pl = QHBoxLayout(params)
        pl.setContentsMargins(0, 0, 0, 0)
        pl.addWidget(self.low)
        pl.addWidget(self.high)
        pl.addWidget(self.bands, 1)
        for col, w in enumerate((name, self.slider, self.spin, self.share, self.scale_type, params, self.policy)):
            grid.addWidget(w, row, col)
        self.set_from(comp, builder.model.component_weight(comp.id))
        self.slider.valueChanged.connect(self._slider_moved)
        self.spin.valueChanged.connect(self._spin_changed)
        self.scale_type.currentTextChanged.connect(self._scale_changed)
        self.low.valueChanged.connect(self._scale_changed)
        self.high.valueChanged.connect(self._scale_changed)
        self.bands.editingFinished.connect(self._scale_changed)
        self.policy.currentIndexChanged.connect(self._policy_changed)

    def set_from(self, comp, weight: float) -> None:
        self._quiet = True
        self.spin.setValue(weight)
        self.slider.setValue(int(round(min(weight, SLIDER_MAX))))
        s = comp.scale
        self.scale_type.setCurrentText(s.type)
        if s.low is not None:
            self.low.setValue(float(s.low))
        if s.high is not None:
            self.high.setValue(float(s.high))
        self.bands.setText(bands_text(s.bands) if s.bands else "")
        self.policy.setCurrentIndex(max(self.policy.findData(comp.missing), 0))
        self._show_params(s.type)
        self._quiet = False

    def _show_params(self, kind: str) -> None:
        self.low.setVisible(kind in ("linear", "bounded"))
        self.high.setVisible(kind in ("linear", "bounded"))
        self.bands.setVisible(kind == "bands")

    def _slider_moved(self, value: int) -> None:
        if self._quiet:
            return
        self._quiet = True
        self.spin.setValue(float(value))
        self._quiet = False
        self.builder.set_weight(self.cid, float(value))

    def _spin_changed(self, value: float) -> None:
        if self._quiet:
            return
        self._quiet = True
        self.slider.setValue(int(round(min(value, SLIDER_MAX))))
        self._quiet = False
        self.builder.set_weight(self.cid, float(value))

    def _scale_changed(self, *_args) -> None:
        if self._quiet:
            return
        from cs_desk.health.model import Scale

        kind = self.scale_type.currentText()
        self._show_params(kind)
        old = self.builder.model.component(self.cid).scale
        try:
            if kind in ("linear", "bounded"):
                low, high = self.low.value(), self.high.value()
                if low == high:
                    raise ValueError("low and high must differ")
                scale = replace(old, type=kind, low=low, high=high, bands=())
            elif kind == "bands":
                scale = replace(old, type=kind, bands=parse_bands(self.bands.text()), low=None, high=None)
            else:
                scale = Scale(type=kind, yes=old.yes, yes_points=old.yes_points, no_points=old.no_points)
        except ValueError as exc:
            self.builder.say(f"{self.cid}: {exc}", error=True)
            return
        self.builder.set_component(self.cid, scale=scale)

    def _policy_changed(self) -> None:
        if not self._quiet:
            self.builder.set_component(self.cid, missing=self.policy.currentData())


class GroupRow:
    """A group's weight (its components share it by their own weights)."""

    def __init__(self, builder: "HealthBuilder", grid: QGridLayout, row: int, gid: str):
        self.builder = builder
        self.gid = gid
        parent = builder.components_box
        group = builder.model.group(gid)
        title = group.label if group and group.label else gid.replace("_", " ").capitalize()
        label = QLabel(f"<b>{title}</b>"
                       f" <small>(group)</small>", parent)
        label.setToolTip("The group's weight; its components share it in proportion to their own weights")
        self.slider = QSlider(Qt.Orientation.Horizontal, parent)
        self.slider.setRange(0, SLIDER_MAX)
        self.spin = QDoubleSpinBox(parent)
        self.spin.setRange(0.0, 1000.0)
        self.spin.setDecimals(1)
        self.spin.setKeyboardTracking(False)
        self.share = QLabel("", parent)
        self.share.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        font = self.share.font()
        font.setBold(True)
        self.share.setFont(font)
        for col, w in enumerate((label, self.slider, self.spin, self.share)):
            grid.addWidget(w, row, col)
        self._quiet = True
        weight = builder.model.group_weight(gid)
        self.spin.setValue(weight)
        self.slider.setValue(int(round(min(weight, SLIDER_MAX))))
        self._quiet = False
        self.slider.valueChanged.connect(lambda v: self._changed(float(v), from_slider=True))
        self.spin.valueChanged.connect(lambda v: self._changed(float(v), from_slider=False))

    def _changed(self, value: float, from_slider: bool) -> None:
        if self._quiet:
            return
        self._quiet = True
        if from_slider:
            self.spin.setValue(value)
        else:
            self.slider.setValue(int(round(min(value, SLIDER_MAX))))
        self._quiet = False
        self.builder.set_group_weight(self.gid, value)


class HealthBuilder(QWidget):
    """Signals: ``backtest_requested(model)`` (debounced), ``apply_requested(model)``,
    ``load_requested()``, ``save_requested(model, as_new)``, ``compare_requested()``."""

    backtest_requested = Signal(object)
    apply_requested = Signal(object)
    load_requested = Signal()
    save_requested = Signal(object, bool)
    compare_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model = None  # the model being edited
        self.saved = None  # the reference (saved / loaded file) to compare with
        self.saved_path: str | None = None
        self.snapshot: pd.DataFrame | None = None
        self.scorer = None
        self.saved_scorer = None
        self.arrays = None
        self.saved_arrays = None
        self.rows: dict[str, ComponentRow] = {}
        self.group_rows: dict[str, GroupRow] = {}
        self.last_update_ms = math.nan
        self.update_times: list[float] = []
        self.backtest_timer = QTimer(self)
        self.backtest_timer.setSingleShot(True)
        self.backtest_timer.setInterval(600)
        self.backtest_timer.timeout.connect(lambda: self.model is not None and self.backtest_requested.emit(self.model))

        # header -------------------------------------------------------------------------------
        self.title = QLabel("<i>No health model loaded.</i>", self)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setWordWrap(True)
        buttons = QHBoxLayout()
        self.load_button = QPushButton("Load model…", self)
        self.save_button = QPushButton("Save", self)
        self.save_as_button = QPushButton("Save as…", self)
        self.compare_button = QPushButton("Compare with file…", self)
        self.revert_button = QPushButton("Revert to saved", self)
        self.apply_button = QPushButton("Use for the portfolio", self)
        self.apply_button.setToolTip("Re-score the Accounts, Actions and dashboard with this model")
        self.load_button.clicked.connect(self.load_requested)
        self.save_button.clicked.connect(lambda: self.model is not None and self.save_requested.emit(self.model, False))
        self.save_as_button.clicked.connect(lambda: self.model is not None and self.save_requested.emit(self.model, True))
        self.compare_button.clicked.connect(self.compare_requested)
        self.revert_button.clicked.connect(self.revert)
        self.apply_button.clicked.connect(lambda: self.model is not None and self.apply_requested.emit(self.model))
        for b in (self.load_button, self.save_button, self.save_as_button, self.compare_button, self.revert_button,
                  self.apply_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)

        # left: components -----------------------------------------------------------------------
        self.components_box = QWidget(self)
        self.grid = QGridLayout(self.components_box)
        self.grid.setColumnStretch(1, 2)
        self.grid.setColumnStretch(5, 2)
        bands_box = QGroupBox("Bands: red below, green from", self)
        bl = QHBoxLayout(bands_box)
        self.red_spin = QDoubleSpinBox(self)
        self.green_spin = QDoubleSpinBox(self)
        for s in (self.red_spin, self.green_spin):
            s.setRange(0, 100)
            s.setDecimals(0)
            s.valueChanged.connect(self._bands_changed)
        bl.addWidget(QLabel("red <", self))
        bl.addWidget(self.red_spin)
        bl.addWidget(QLabel("≤ yellow <", self))
        bl.addWidget(self.green_spin)
        bl.addWidget(QLabel("≤ green", self))
        bl.addStretch(1)
        self.profiles_note = QLabel("", self)
        self.profiles_note.setWordWrap(True)
        left_inner = QWidget(self)
        ll = QVBoxLayout(left_inner)
        ll.addWidget(self.components_box)
        ll.addWidget(bands_box)
        ll.addWidget(self.profiles_note)
        ll.addStretch(1)
        left = scroll_area(left_inner, self)

        # right: effects --------------------------------------------------------------------------
        self.chart = ChartCanvas("Score distribution (outline: saved model)", self)
        self.counts = QLabel("", self)
        self.counts.setTextFormat(Qt.TextFormat.RichText)
        self.backtest_label = QLabel("Backtest: –", self)
        self.backtest_label.setTextFormat(Qt.TextFormat.RichText)
        self.backtest_label.setWordWrap(True)
        self.changes = FilterableTable("Filter accounts that change band", self)
        right = QWidget(self)
        rl = QVBoxLayout(right)
        rl.addWidget(self.chart, 3)
        rl.addWidget(self.counts)
        rl.addWidget(self.backtest_label)
        self.changes_title = QLabel("<b>Accounts that change band against the saved model</b>", self)
        rl.addWidget(self.changes_title)
        rl.addWidget(self.changes, 2)

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        em = self.fontMetrics().horizontalAdvance("M")
        splitter.setSizes([em * 80, em * 50])
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(splitter, 1)
        self._enable(False)

    def _enable(self, on: bool) -> None:
        for b in (self.save_button, self.save_as_button, self.compare_button, self.revert_button, self.apply_button):
            b.setEnabled(on)

    # ----------------------------------------------------------------------------- inputs
    def set_snapshot(self, snapshot: pd.DataFrame | None) -> None:
        """The per-account snapshot to score (from ``account_snapshot``)."""
        self.snapshot = snapshot
        self.scorer = self.saved_scorer = None
        if self.model is not None:
            self._rebuild_scorers()
            self.update_effects()

    def set_model(self, model, path: str | None = None, as_saved: bool = True) -> None:
        """Edit ``model``; with ``as_saved`` it is also the reference to compare with."""
        self.model = model
        if as_saved:
            self.saved, self.saved_path = model, path
        self.title.setText(f"<b>{model.name}</b>" + (f" — {path}" if path else " (not saved yet)")
                           + (f"<br>{model.description}" if getattr(model, "description", "") else ""))
        self._build_rows()
        self._enable(True)
        self._rebuild_scorers()
        self.update_effects()

    def set_reference(self, model, path: str | None) -> None:
        """Compare against another model (e.g. a file) without editing it."""
        self.saved, self.saved_path = model, path
        self.saved_scorer = None
        self._rebuild_scorers()
        self.update_effects()

    def revert(self) -> None:
        if self.saved is not None:
            self.set_model(self.saved, self.saved_path, as_saved=True)

    def _build_rows(self) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        self.rows = {}
        self.group_rows = {}
        for col, text in enumerate(("Component (↑ higher / ↓ lower is better)", "Weight", "", "Share", "Scale",
                                    "Scale parameters", "If missing")):
            label = QLabel(f"<b>{text}</b>", self.components_box)
            self.grid.addWidget(label, 0, col)
        row = 1
        for gid in self.model.group_ids:
            members = [c for c in self.model.components if c.group_id == gid]
            if self.model.group(gid) is not None:  # a declared group: its own weight, then its members
                self.group_rows[gid] = GroupRow(self, self.grid, row, gid)
                row += 1
            for comp in members:
                self.rows[comp.id] = ComponentRow(self, self.grid, row, comp)
                row += 1
        self.red_spin.blockSignals(True)
        self.green_spin.blockSignals(True)
        self.red_spin.setValue(self.model.bands.red)
        self.green_spin.setValue(self.model.bands.green)
        self.red_spin.blockSignals(False)
        self.green_spin.blockSignals(False)
        profiles = getattr(self.model, "profiles", ())
        self.profiles_note.setText(
            ("Profiles (their own weight overrides are kept as in the file): "
             + ", ".join(p.name for p in profiles)) if profiles else "")

    def _rebuild_scorers(self) -> None:
        if self.snapshot is None or self.model is None:
            return
        from cs_desk.health.scoring import Scorer

        if self.scorer is None:
            self.scorer = Scorer(self.model, self.snapshot)
        if self.saved is not None and (self.saved_scorer is None or self.saved_arrays is None
                                       or self.saved_arrays.model is not self.saved):
            self.saved_scorer = Scorer(self.saved, self.snapshot)
            self.saved_arrays = self.saved_scorer.compute(self.saved)

    # ----------------------------------------------------------------------------- edits
    def set_weight(self, cid: str, weight: float) -> None:
        self.model = self.model.with_weights({cid: weight})
        self.update_effects()

    def set_group_weight(self, gid: str, weight: float) -> None:
        self.model = self.model.with_weights(group_weights={gid: weight})
        self.update_effects()

    def set_component(self, cid: str, **changes) -> None:
        comps = tuple(replace(c, **changes) if c.id == cid else c for c in self.model.components)
        self.model = replace(self.model, components=comps)
        self.update_effects()

    def _bands_changed(self) -> None:
        if self.model is None:
            return
        red, green = self.red_spin.value(), self.green_spin.value()
        if red > green:
            self.say("The red threshold must not be above the green one.", error=True)
            return
        self.model = self.model.with_bands(red, green)
        self.update_effects()

    def say(self, text: str, error: bool = False) -> None:
        self.status.setText(f"<span style='color:#c62828'>{text}</span>" if error else text)

    # ----------------------------------------------------------------------------- effects
    def update_effects(self) -> None:
        """Re-score and redraw (runs on every change; see bench/bench_gui.py for its cost)."""
        if self.model is None:
            return
        t0 = time.perf_counter()
        shares = self.model.effective_weights()
        for cid, row in self.rows.items():
            row.share.setText(f"{shares.get(cid, 0.0):.1%}")
        for gid, grow in self.group_rows.items():
            total = sum(shares.get(c.id, 0.0) for c in self.model.components if c.group_id == gid)
            grow.share.setText(f"{total:.1%}")
        if self.snapshot is None or self.scorer is None:
            self.counts.setText("Open a portfolio to see what this model does to your accounts.")
            return
        self.arrays = self.scorer.compute(self.model)
        now = band_counts(self.arrays.band)
        before = band_counts(self.saved_arrays.band) if self.saved_arrays is not None else None
        colours = {"red": "#c62828", "yellow": "#f9a825", "green": "#2e7d32", "unknown": "#607d8b"}
        parts = []
        for b in BANDS:
            if b == "unknown" and not now[b] and not (before or {}).get(b):
                continue
            delta = "" if before is None else f" ({now[b] - before[b]:+d})"
            parts.append(f"<span style='color:{colours[b]}'>■</span> {b}: <b>{now[b]:,}</b>{delta}")
        self.counts.setText("&nbsp;&nbsp;&nbsp;".join(parts))
        self._draw()
        self._changes()
        ms = (time.perf_counter() - t0) * 1000
        self.last_update_ms = ms
        self.update_times.append(ms)
        self.say(f"Re-scored {self.scorer.n:,} accounts in {ms:.0f} ms.")
        self.request_backtest()

    def request_backtest(self) -> None:
        """Backtest shortly after the last change, and only while the builder is on screen."""
        if self.isVisible():
            self._backtest_stale = False
            self.backtest_timer.start()
        else:
            self._backtest_stale = True

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if getattr(self, "_backtest_stale", False) and self.model is not None:
            self.request_backtest()

    def _draw(self) -> None:
        bands = [("red", 0, self.model.bands.red), ("yellow", self.model.bands.red, self.model.bands.green),
                 ("green", self.model.bands.green, 100.01)]
        other = self.saved_arrays.score if self.saved_arrays is not None and self.saved is not self.model else None
        self.chart.histogram(self.arrays.score, bands, other=other)

    def _changes(self) -> None:
        if self.saved_arrays is None:
            self.changes.set_frame(pd.DataFrame())
            return
        moved = np.flatnonzero(self.arrays.band != self.saved_arrays.band)
        snap = self.snapshot
        codes = np.array(BANDS, dtype=object)
        frame = pd.DataFrame({
            "account_id": snap["account_id"].to_numpy()[moved],
            "account_name": snap["account_name"].to_numpy()[moved] if "account_name" in snap else "",
            "saved_band": codes[self.saved_arrays.band[moved]],
            "new_band": codes[self.arrays.band[moved]],
            "saved_score": self.saved_arrays.score[moved],
            "new_score": self.arrays.score[moved],
            "mrr": snap["mrr"].to_numpy()[moved] if "mrr" in snap else np.nan,
        })
        frame = frame.sort_values("mrr", ascending=False, na_position="last") if "mrr" in snap else frame
        self.changes.model.formatters.update({"saved_score": lambda v: f"{v:.0f}", "new_score": lambda v: f"{v:.0f}"})
        self.changes.set_frame(frame.reset_index(drop=True), resize=len(self.changes.model.frame.columns) == 0)
        self.changes_title.setText(f"<b>{len(frame):,} account(s) change band against the saved model</b>")

    def current_band_counts(self) -> dict[str, int]:
        return band_counts(self.arrays.band) if self.arrays is not None else {}

    # ----------------------------------------------------------------------------- backtest
    def show_backtest(self, summary: dict | None, message: str = "") -> None:
        if not summary:
            self.backtest_label.setText(f"Backtest: {message or 'not available'}")
            return
        auc = summary.get("auc")
        ci = summary.get("auc_ci")
        text = f"<b>Backtest</b> ({summary.get('what', 'churn in the following months')}): "
        if auc is not None and not (isinstance(auc, float) and math.isnan(auc)):
            text += f"AUC <b>{auc:.2f}</b>"
            if ci and all(c is not None for c in ci):
                text += f" (95% CI {ci[0]:.2f}–{ci[1]:.2f})"
        rates = summary.get("churn_rate_by_band") or {}
        if rates:
            text += " · churn rate by band: " + ", ".join(
                f"{b} {r:.1%}" for b, r in rates.items() if r is not None and not (isinstance(r, float) and math.isnan(r)))
        n, c = summary.get("n_accounts"), summary.get("n_churned")
        if n is not None:
            text += f" · {n:,} account-months, {c:,} churned"
        if summary.get("warning"):
            text += f"<br><span style='color:#c62828'>{summary['warning']}</span>"
        self.backtest_label.setText(text)
