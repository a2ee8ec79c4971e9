"""matplotlib charts embedded with the QtAgg backend (FigureCanvasQTAgg).

A :class:`ChartCanvas` owns one Figure sized by the layout (no fixed pixel sizes; the figure
follows the widget and the screen's device pixel ratio). Bars carry a ``gid`` so a click can be
turned into a drill-down.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QSizePolicy

# a chart on a hidden tab has no size yet; matplotlib says so on every draw
warnings.filterwarnings("ignore", message="constrained_layout not applied", category=UserWarning)

COLOURS = {
    "new": "#2e7d32", "reactivation": "#66bb6a", "expansion": "#1e88e5",
    "contraction": "#fb8c00", "churned": "#e53935", "net": "#263238",
    "green": "#43a047", "yellow": "#fdd835", "red": "#e53935",
    "nrr": "#1e88e5", "grr": "#8e24aa", "target": "#9e9e9e", "line": "#37474f",
}
MOVEMENT_LABELS = {"new": "New", "reactivation": "Reactivation", "expansion": "Expansion",
                   "contraction": "Contraction", "churned": "Churned"}


def money_short(v, _pos=None) -> str:
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:.1f}M"
    if a >= 1e3:
        return f"{v / 1e3:.0f}k"
    return f"{v:.0f}"


class ChartCanvas(FigureCanvasQTAgg):
    """One chart. ``bar_clicked(gid)`` fires when a bar with a gid is clicked."""

    bar_clicked = Signal(str)

    def __init__(self, title: str = "", parent=None):
        self.figure = Figure(layout="constrained")
        super().__init__(self.figure)
        self.setParent(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(self.fontMetrics().height() * 12)
        self.title = title
        self.ax = self.figure.add_subplot(111)
        self.mpl_connect("pick_event", self._on_pick)
        self.mpl_connect("draw_event", self._after_draw)
        self._hist = None  # persistent histogram artists (fast redraws)
        self._freeze = False
        self.empty("No data yet")

    def draw(self) -> None:
        # A chart on a hidden tab (Accounts, Health builder while the dashboard opens) is drawn
        # when it is shown: rendering it now would be wasted (and laid out at a size it does not have).
        if not self.isVisible():
            self._hidden_stale = True
            return
        self._hidden_stale = False
        with warnings.catch_warnings():  # a chart on a hidden tab has no size yet
            warnings.filterwarnings("ignore", message="constrained_layout not applied", category=UserWarning)
            super().draw()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if getattr(self, "_hidden_stale", False):
            self.draw_idle()

    def sizeHint(self):  # noqa: N802 - small preferred size: the layout gives charts the room there is
        from PySide6.QtCore import QSize

        fm = self.fontMetrics()
        return QSize(fm.horizontalAdvance("M") * 30, self.minimumHeight())

    # A live chart (the builder's histogram) lays itself out once, then keeps its axes where they
    # are: constrained layout costs more than drawing the bars. A resize lays it out again.
    def _after_draw(self, _event) -> None:
        if self._freeze and self.figure.get_layout_engine() is not None:
            self.figure.set_layout_engine("none")

    def resizeEvent(self, event) -> None:  # noqa: N802
        if self._freeze:
            self.figure.set_layout_engine("constrained")
        super().resizeEvent(event)

    def _style(self, ax) -> None:
        ax.set_title(self.title, fontsize=10, loc="left", fontweight="bold")
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=8)
        ax.grid(axis="y", alpha=0.25)

    def clear(self):
        self._hist = None
        self._freeze = False
        if self.figure.get_layout_engine() is None or type(self.figure.get_layout_engine()).__name__ != \
                "ConstrainedLayoutEngine":
            self.figure.set_layout_engine("constrained")
        self.figure.clear()
        self.ax = self.figure.add_subplot(111)
        self._style(self.ax)
        return self.ax

    def empty(self, text: str) -> None:
        ax = self.clear()
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        ax.spines[["left", "bottom"]].set_visible(False)
        ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=9, color="#616161", wrap=True,
                transform=ax.transAxes)
        self.draw_idle()

    def _on_pick(self, event) -> None:
        gid = event.artist.get_gid()
        if gid:
            self.bar_clicked.emit(str(gid))

    # ---------------------------------------------------------------------------- helpers
    @staticmethod
    def thin_labels(ax, labels: list[str], max_labels: int = 12) -> None:
        step = max(1, int(np.ceil(len(labels) / max_labels)))
        ax.set_xticks(range(len(labels))[::step])
        ax.set_xticklabels(labels[::step], rotation=45, ha="right", fontsize=7)

    # ---------------------------------------------------------------------------- charts
    def movements(self, wide: pd.DataFrame) -> None:
        """Stacked MRR movements per period (gains up, losses down) and the net line.

        ``wide``: period x {new_mrr, reactivation_mrr, expansion_mrr, contraction_mrr, churned_mrr,
        net_new_mrr} from the engine's KPI table. Each bar's gid is ``movement|period``.
        """
        cols = [f"{m}_mrr" for m in MOVEMENT_LABELS]
        if wide is None or wide.empty or not set(cols) <= set(wide.columns):
            self.empty("MRR movements need an MRR or subscriptions table")
            return
        ax = self.clear()
        x = np.arange(len(wide))
        periods = [str(p) for p in wide.index]
        up = np.zeros(len(wide))
        down = np.zeros(len(wide))
        for m in ("new", "reactivation", "expansion"):
            v = wide[f"{m}_mrr"].fillna(0).to_numpy()
            bars = ax.bar(x, v, bottom=up, color=COLOURS[m], label=MOVEMENT_LABELS[m], width=0.8, picker=True)
            for bar, p in zip(bars, periods):
                bar.set_gid(f"{m}|{p}")
            up += v
        for m in ("contraction", "churned"):
            v = -wide[f"{m}_mrr"].fillna(0).to_numpy()
            bars = ax.bar(x, v, bottom=down, color=COLOURS[m], label=MOVEMENT_LABELS[m], width=0.8, picker=True)
            for bar, p in zip(bars, periods):
                bar.set_gid(f"{m}|{p}")
            down += v
        if "net_new_mrr" in wide:
            ax.plot(x, wide["net_new_mrr"].to_numpy(), color=COLOURS["net"], marker="o", markersize=2.5,
                    linewidth=1.2, label="Net new")
        ax.axhline(0, color="#424242", linewidth=0.6)
        ax.yaxis.set_major_formatter(FuncFormatter(money_short))
        self.thin_labels(ax, periods)
        self._legend_above(ax, ncols=6)
        self.draw_idle()

    @staticmethod
    def _legend_above(ax, ncols: int = 3) -> None:
        """Legend in a row above the plot, right-aligned (never over the bars)."""
        ax.legend(fontsize=7, ncols=ncols, loc="lower right", bbox_to_anchor=(1.0, 1.0), frameon=False,
                  borderaxespad=0.2, handlelength=1.2, columnspacing=0.8)

    def lines(self, wide: pd.DataFrame, series: dict[str, str], percent: bool = True,
              targets: dict[str, float] | None = None, colours: dict[str, str] | None = None,
              empty_text: str = "No data", ylim: tuple | None = None) -> None:
        """One line per KPI id in ``series`` {kpi id: label}; dashed target lines."""
        present = {k: v for k, v in series.items() if wide is not None and k in wide.columns
                   and wide[k].notna().any()}
        if not present:
            self.empty(empty_text)
            return
        ax = self.clear()
        periods = [str(p) for p in wide.index]
        x = np.arange(len(periods))
        for k, label in present.items():
            colour = (colours or {}).get(k)
            ax.plot(x, wide[k].to_numpy(dtype=float), marker="o", markersize=2.5, linewidth=1.4, label=label,
                    color=colour)
            t = (targets or {}).get(k)
            if t is not None:
                ax.axhline(t, color=colour or COLOURS["target"], linestyle="--", linewidth=0.8, alpha=0.6)
        if percent:
            ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        if ylim:
            ax.set_ylim(*ylim)
        self.thin_labels(ax, periods)
        self._legend_above(ax, ncols=len(present))
        self.draw_idle()

    def bars(self, values: pd.Series, label: str, percent: bool = False, target: float | None = None,
             colour: str = COLOURS["churned"], gid_prefix: str = "", empty_text: str = "No data") -> None:
        if values is None or values.dropna().empty:
            self.empty(empty_text)
            return
        ax = self.clear()
        periods = [str(p) for p in values.index]
        bars = ax.bar(np.arange(len(values)), values.fillna(0).to_numpy(dtype=float), color=colour, width=0.8,
                      label=label, picker=bool(gid_prefix))
        if gid_prefix:
            for bar, p in zip(bars, periods):
                bar.set_gid(f"{gid_prefix}|{p}")
        if target is not None:
            ax.axhline(target, color=COLOURS["target"], linestyle="--", linewidth=0.9, label="target")
        if percent:
            ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
        else:
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        self.thin_labels(ax, periods)
        self._legend_above(ax, ncols=2)
        self.draw_idle()

    def stacked_share(self, shares: pd.DataFrame, order=("red", "yellow", "green"),
                      empty_text: str = "No data") -> None:
        """Stacked bars of shares per period (health mix); gid ``band|period``."""
        cols = [c for c in order if shares is not None and c in shares.columns]
        if not cols or shares.dropna(how="all").empty:
            self.empty(empty_text)
            return
        ax = self.clear()
        periods = [str(p) for p in shares.index]
        x = np.arange(len(periods))
        bottom = np.zeros(len(periods))
        for c in cols:
            v = shares[c].fillna(0).to_numpy(dtype=float)
            bars = ax.bar(x, v, bottom=bottom, color=COLOURS.get(c, None), label=c, width=0.8, picker=True)
            for bar, p in zip(bars, periods):
                bar.set_gid(f"{c}|{p}")
            bottom += v
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_ylim(0, 1)
        self.thin_labels(ax, periods)
        self._legend_above(ax, ncols=3)
        self.draw_idle()

    def histogram(self, values, bands: list[tuple[str, float, float]] | None = None, other=None,
                  empty_text: str = "No scores") -> None:
        """Score distribution 0..100 in 5-point bins coloured by band; ``other`` (the saved model)
        drawn as an outline. Updated in place after the first call (cheap enough for a slider)."""
        values = np.asarray(values, dtype=float)
        values = values[~np.isnan(values)]
        if not len(values):
            self.empty(empty_text)
            return
        edges = np.linspace(0, 100, 21)
        counts, _ = np.histogram(np.clip(values, 0, 100), bins=edges)
        centres = (edges[:-1] + edges[1:]) / 2
        colours = []
        for c in centres:
            colour = COLOURS["line"]
            for name, lo, hi in bands or []:
                if lo <= c < hi:
                    colour = COLOURS.get(name, colour)
            colours.append(colour)
        oc = None
        if other is not None:
            o = np.asarray(other, dtype=float)
            o = o[~np.isnan(o)]
            if len(o):
                oc, _ = np.histogram(np.clip(o, 0, 100), bins=edges)
        top = max(int(counts.max()), int(oc.max()) if oc is not None else 0, 1) * 1.1
        if self._hist is None:
            ax = self.clear()
            bars = ax.bar(centres, counts, width=4.6, color=colours, label="current model")
            (step,) = ax.step(edges, np.r_[oc, oc[-1]] if oc is not None else np.zeros(21), where="post",
                              color="#212121", linewidth=1.0, label="saved model")
            step.set_visible(oc is not None)
            ax.set_xlim(0, 100)
            ax.set_ylim(0, top)
            ax.set_xlabel("health score", fontsize=8)
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            self._hist = (bars, step)
            self._hist_legend(oc is not None)
            self._freeze = True
        else:
            bars, step = self._hist
            for bar, h, colour in zip(bars, counts, colours):
                bar.set_height(h)
                bar.set_color(colour)
            if oc is not None:
                step.set_data(edges, np.r_[oc, oc[-1]])
            changed = step.get_visible() != (oc is not None)
            step.set_visible(oc is not None)
            if changed:
                self._hist_legend(oc is not None)
            self.ax.set_ylim(0, top)
        self.draw_idle()

    def _hist_legend(self, with_saved: bool) -> None:
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        handles = [Patch(facecolor="#9e9e9e", label="current model (coloured by band)")]
        if with_saved:
            handles.append(Line2D([], [], color="#212121", linewidth=1.0, label="saved model"))
        self.ax.legend(handles=handles, fontsize=7, frameon=False, loc="upper left")

    def series_line(self, values: pd.Series, percent=False, money=False, empty_text="No data",
                    colour: str = COLOURS["nrr"]) -> None:
        if values is None or values.dropna().empty:
            self.empty(empty_text)
            return
        ax = self.clear()
        labels = [str(p) for p in values.index]
        ax.plot(np.arange(len(values)), values.to_numpy(dtype=float), marker="o", markersize=2.5, color=colour)
        if percent:
            ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        if money:
            ax.yaxis.set_major_formatter(FuncFormatter(money_short))
        self.thin_labels(ax, labels, max_labels=8)
        self.draw_idle()

    def hbars(self, values: pd.Series, empty_text="No data", xlim=(0, 100)) -> None:
        """Horizontal bars (health components of one account)."""
        if values is None or values.dropna().empty:
            self.empty(empty_text)
            return
        ax = self.clear()
        y = np.arange(len(values))
        v = values.to_numpy(dtype=float)
        colours = [COLOURS["red"] if x < 40 else COLOURS["yellow"] if x < 70 else COLOURS["green"]
                   for x in np.nan_to_num(v, nan=0)]
        ax.barh(y, np.nan_to_num(v, nan=0), color=colours)
        for yi in np.flatnonzero(np.isnan(v)):
            ax.text(1, yi, "no data", va="center", fontsize=7, color="#9e9e9e")
        ax.set_yticks(y)
        ax.set_yticklabels([str(i).replace("_", " ") for i in values.index], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlim(*xlim)
        ax.grid(axis="x", alpha=0.25)
        ax.grid(axis="y", visible=False)
        self.draw_idle()
