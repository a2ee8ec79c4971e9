"""Report charts drawn with matplotlib and rendered to PNG bytes in memory.

Figures are made with ``matplotlib.figure.Figure`` and the Agg canvas explicitly — never
``pyplot`` — so rendering neither picks nor changes the process-wide backend (the GUI draws its
own charts with Qt in the same process) and works on a worker thread.
"""
from __future__ import annotations

import io

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from .formats import fmt_money_short

NAVY = "#1F3864"
GREY = "#595959"
LIGHT = "#E7E6E6"
BANDS = {"green": "#2E7D32", "yellow": "#F9A825", "red": "#C62828"}
MOVEMENTS = (("new_mrr", "New", "#2E7D32"), ("expansion_mrr", "Expansion", "#66BB6A"),
             ("reactivation_mrr", "Reactivation", "#A5D6A7"), ("contraction_mrr", "Contraction", "#EF9A9A"),
             ("churned_mrr", "Churned", "#C62828"))
DPI = 200
RC = {"font.family": "DejaVu Sans", "font.size": 7.5, "axes.edgecolor": "#BFBFBF", "axes.labelcolor": GREY,
      "xtick.color": GREY, "ytick.color": GREY, "axes.titleweight": "bold", "axes.titlesize": 9,
      "axes.titlecolor": NAVY, "legend.frameon": False, "legend.fontsize": 7}


def render_image(fig: Figure, dpi: int = DPI):
    """The figure drawn by the Agg canvas (no pyplot) as an RGB ``PIL.Image`` — no alpha
    channel, so a PDF needs no soft mask, and no PNG round trip."""
    from PIL import Image

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    fig.set_dpi(dpi)
    fig.set_facecolor("white")
    with matplotlib.rc_context(RC):
        canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    return Image.fromarray(np.ascontiguousarray(rgba[:, :, :3]))


def render_png(fig: Figure, dpi: int = DPI) -> bytes:
    """The figure as PNG bytes (previews, the GUI)."""
    buf = io.BytesIO()
    render_image(fig, dpi).save(buf, format="PNG")
    return buf.getvalue()


def _figure(width_in: float, height_in: float, ncols: int = 1, ratios=None):
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(width_in, height_in), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(1, ncols, gridspec_kw={"width_ratios": ratios} if ratios else None)
    return fig, np.atleast_1d(axes)


def _tidy(ax, grid_axis: str = "y") -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis=grid_axis, color=LIGHT, linewidth=0.6)
    ax.set_axisbelow(True)
    ax.tick_params(length=2)


def _period_ticks(ax, labels: list[str], max_ticks: int = 12) -> None:
    x = np.arange(len(labels))
    step = max(1, int(np.ceil(len(labels) / max_ticks)))
    ax.set_xticks(x[::step])
    ax.set_xticklabels([labels[i] for i in x[::step]], rotation=45, ha="right")
    ax.set_xlim(-0.6, len(labels) - 0.4)


def _money_axis(ax) -> None:
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_money_short(v)))
    ax.yaxis.set_major_locator(MaxNLocator(6))


def mrr_movements(trend: pd.DataFrame, width_in: float = 6.4, height_in: float = 2.9) -> Figure:
    """Stacked monthly MRR movements (losses below zero) with the net new MRR line."""
    with matplotlib.rc_context(RC):
        fig, (ax,) = _figure(width_in, height_in)
        labels = trend["period"].astype(str).tolist()
        x = np.arange(len(labels))
        up = np.zeros(len(x))
        down = np.zeros(len(x))
        for key, name, colour in MOVEMENTS:
            v = trend[key].fillna(0.0).to_numpy(dtype=float) if key in trend else np.zeros(len(x))
            base = np.where(v >= 0, up, down)
            ax.bar(x, v, bottom=base, color=colour, width=0.75, label=name, linewidth=0)
            up += np.where(v >= 0, v, 0)
            down += np.where(v < 0, v, 0)
        if "net_new_mrr" in trend:
            ax.plot(x, trend["net_new_mrr"].to_numpy(dtype=float), color=NAVY, linewidth=1.4, label="Net new MRR")
        ax.axhline(0, color="#7F7F7F", linewidth=0.6)
        ax.set_title("MRR movements per month", loc="left")
        _period_ticks(ax, labels)
        _money_axis(ax)
        _tidy(ax)
        ax.legend(ncol=6, loc="upper center", bbox_to_anchor=(0.5, -0.28), handlelength=1.2, columnspacing=1)
    return fig


def health_mix(mix: pd.DataFrame, width_in: float = 3.6, height_in: float = 2.9) -> Figure:
    """Share of active accounts per band, month by month (stacked to 100 %)."""
    with matplotlib.rc_context(RC):
        fig, (ax,) = _figure(width_in, height_in)
        labels = [str(p) for p in mix.index]
        x = np.arange(len(labels))
        bottom = np.zeros(len(x))
        for band in ("green", "yellow", "red"):
            v = mix[band].fillna(0.0).to_numpy(dtype=float) if band in mix else np.zeros(len(x))
            ax.bar(x, v, bottom=bottom, color=BANDS[band], width=0.75, label=band.capitalize(), linewidth=0)
            bottom += v
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_title("Health mix (share of active accounts)", loc="left")
        _period_ticks(ax, labels, max_ticks=8)
        _tidy(ax)
        ax.legend(ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.28), handlelength=1.2)
    return fig


def group_panel(arr: pd.Series, bands: dict[str, tuple[int, float]], title_arr: str = "ARR per month",
                width_in: float = 10.4, height_in: float = 1.75) -> Figure:
    """A book of business at a glance: ARR over time (left), accounts and MRR per health band (right).

    ``bands``: band -> (accounts, MRR)."""
    with matplotlib.rc_context(RC):
        fig, (left, right) = _figure(width_in, height_in, ncols=2, ratios=[1.6, 1])
        labels = [str(p) for p in arr.index]
        x = np.arange(len(labels))
        values = arr.to_numpy(dtype=float)
        left.fill_between(x, values, color="#D6DCE5", linewidth=0)
        left.plot(x, values, color=NAVY, linewidth=1.4)
        left.set_title(title_arr, loc="left")
        if len(labels):
            _period_ticks(left, labels, max_ticks=10)
            finite = values[np.isfinite(values)]
            if len(finite):
                left.set_ylim(0, max(finite.max() * 1.12, 1))
        _money_axis(left)
        _tidy(left)
        names = ["red", "yellow", "green"]
        counts = np.array([bands.get(b, (0, 0.0))[0] for b in names], dtype=float)
        mrr = np.array([bands.get(b, (0, 0.0))[1] for b in names], dtype=float)
        total = mrr.sum()
        y = np.arange(len(names))
        right.barh(y, counts, color=[BANDS[b] for b in names], height=0.6)
        right.set_yticks(y)
        right.set_yticklabels([b.capitalize() for b in names])
        for yi, c, m in zip(y, counts, mrr):
            share = f"{m / total:.0%} of MRR" if total else ""
            right.text(c, yi, f"  {int(c):,} · {share}", va="center", fontsize=7, color=GREY)
        right.set_xlim(0, max(counts.max() * 1.6, 1))
        right.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
        right.set_title("Accounts by health band", loc="left")
        _tidy(right, grid_axis="x")
    return fig
