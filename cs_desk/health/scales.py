"""Scales: a metric value -> 0..100 points, vectorised over accounts (and back, for "what would lift it").

==========  =====================================================================================
type        points
==========  =====================================================================================
linear      ``100 * (v - low) / (high - low)``, clamped to 0..100 (direction ``lower`` mirrors it:
            ``low`` -> 100, ``high`` -> 0)
bounded     as linear inside ``[low, high]`` (both edges included); outside the range the value
            scores 0 points (``outside = "zero"``, the default) or counts as missing
            (``outside = "missing"``: the missing-data policy then applies)
bands       the points of the band the value falls in. ``closed = "left"`` (default): a band
            covers ``min <= v < max``; ``closed = "right"``: ``min < v <= max``. A band without
            ``min``/``max`` is open on that side. A value in no band (a gap) counts as missing.
            Direction does not change band points (they are written out).
percentile  the value's rank within the portfolio being scored (per as-of date when several are
            scored together): lowest 0, highest 100, ties share their average rank, a portfolio
            of one scores 50. Direction ``lower`` mirrors it.
yesno       ``yes_points`` (default 100) for yes, ``no_points`` (default 0) for no; direction
            ``lower`` swaps the defaults. Yes = true, a number > 0, or text such as "yes",
            "true", "done" (plus any value listed in ``yes``); no = false, 0, "no" or any other
            text.
==========  =====================================================================================

Missing values (NaN, empty) give NaN points; the component's missing-data policy decides what
they become (see :mod:`cs_desk.health.scoring`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .conditions import truthy
from .model import Scale


def numeric(values: pd.Series | np.ndarray) -> np.ndarray:
    """Values as float (True/False -> 1/0, numeric text parsed, anything else NaN)."""
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if series.dtype == bool:
        return series.to_numpy(dtype=float)
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series.to_numpy(dtype=float, na_value=np.nan)
    if pd.api.types.is_timedelta64_dtype(series.dtype):
        return series.dt.total_seconds().to_numpy() / 86400.0
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def yes_values(scale: Scale, values: pd.Series) -> np.ndarray:
    """1.0 yes, 0.0 no, NaN unknown."""
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    t = truthy(series)
    if scale.yes:
        text = series.astype("string").str.strip().str.lower()
        extra = text.isin([y.strip().lower() for y in scale.yes]).fillna(False).to_numpy(dtype=bool)
        t = np.where(extra, 1.0, t)
    if not pd.api.types.is_numeric_dtype(series.dtype) and series.dtype != bool:
        # any other text is "no" (e.g. onboarding_status "in progress" when yes = ["done"])
        text_present = series.notna().to_numpy() & (series.astype("string").str.strip() != "").fillna(False).to_numpy(dtype=bool)
        t = np.where(np.isnan(t) & text_present, 0.0, t)
    return t


def points(scale: Scale, direction: str, values: pd.Series | np.ndarray,
           groups: np.ndarray | None = None) -> np.ndarray:
    """0..100 points for every value; NaN where the value is missing (or outside a bounded scale
    with ``outside = "missing"``, or in a gap between bands)."""
    if scale.type == "yesno":
        yes, no = scale.points_for_yes(direction)
        t = yes_values(scale, values if isinstance(values, pd.Series) else pd.Series(values))
        return np.where(np.isnan(t), np.nan, np.where(t > 0, yes, no))
    v = numeric(values)
    if scale.type in ("linear", "bounded"):
        lo, hi = float(scale.low), float(scale.high)
        frac = (v - lo) / (hi - lo)
        if direction == "lower":
            frac = 1.0 - frac
        pts = 100.0 * np.clip(frac, 0.0, 1.0)
        if scale.type == "bounded":
            with np.errstate(invalid="ignore"):
                outside = (v < lo) | (v > hi)
            pts = np.where(outside, 0.0 if scale.outside == "zero" else np.nan, pts)
        return pts
    if scale.type == "bands":
        out = np.full(v.shape, np.nan)
        with np.errstate(invalid="ignore"):
            for band in scale.bands:  # loop over bands (a handful), vectorised over accounts
                inside = _in_band(v, band, scale.closed)
                out = np.where(np.isnan(out) & inside, band.points, out)
        return out
    if scale.type == "percentile":
        pct = percentile_rank(v, groups)
        return 100.0 * (pct if direction == "higher" else 1.0 - pct)
    raise ValueError(f"unknown scale type {scale.type!r}")


def _in_band(v: np.ndarray, band, closed: str) -> np.ndarray:
    inside = ~np.isnan(v)
    if band.min is not None:
        inside &= (v >= band.min) if closed == "left" else (v > band.min)
    if band.max is not None:
        inside &= (v < band.max) if closed == "left" else (v <= band.max)
    return inside


def percentile_rank(v: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
    """(average rank - 1) / (n - 1) among the non-missing values (of the same group); 0.5 when n = 1."""
    s = pd.Series(v)
    if groups is None:
        rank = s.rank(method="average").to_numpy()
        n = np.full(len(v), float(s.notna().sum()))
    else:
        grouped = s.groupby(groups, sort=False)
        rank = grouped.rank(method="average").to_numpy()
        n = grouped.transform("count").to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = np.where(n > 1, (rank - 1.0) / (n - 1.0), 0.5)
    return np.where(np.isnan(v), np.nan, pct)


# ---------------------------------------------------------------------------------------------
# inverse: which value gives at least `target` points
def value_for_points(scale: Scale, direction: str, target: np.ndarray, current: np.ndarray,
                     reference: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The value nearest to ``current`` at which the component scores at least ``target`` points.

    Returns ``(value, qualifier)``: qualifier ``""`` means "at this value", ``"<"`` / ``">"``
    mean strictly below / above it (an open band edge). NaN where no value reaches the target.
    For percentile scales the value is read from ``reference`` (the values of the portfolio the
    account is ranked in).
    """
    target = np.asarray(target, dtype=float)
    n = target.shape[0]
    qual = np.full(n, "", dtype=object)
    if scale.type in ("linear", "bounded"):
        lo, hi = float(scale.low), float(scale.high)
        frac = np.clip(target / 100.0, 0.0, 1.0)
        value = lo + frac * (hi - lo) if direction == "higher" else hi - frac * (hi - lo)
        return np.where(target <= 100.0 + 1e-9, value, np.nan), qual
    if scale.type == "yesno":
        yes, no = scale.points_for_yes(direction)
        value = np.where(yes >= target, 1.0, np.where(no >= target, 0.0, np.nan))
        return value, qual
    if scale.type == "bands":
        best = np.full(n, np.nan)
        best_dist = np.full(n, np.inf)
        best_qual = qual.copy()
        cur = np.asarray(current, dtype=float)
        for band in scale.bands:
            ok = band.points >= target - 1e-9
            lo = -np.inf if band.min is None else band.min
            hi = np.inf if band.max is None else band.max
            left = scale.closed == "left"
            with np.errstate(invalid="ignore"):
                below = (cur < lo) if left else (cur <= lo)  # move up to the lower edge
                above = (cur >= hi) if left else (cur > hi)  # move down to the upper edge
            dist = np.where(below, lo - cur, np.where(above, cur - hi, 0.0))
            edge = np.where(below, lo, np.where(above, hi, cur))
            q = np.where(below, "" if left else ">", np.where(above, "<" if left else "", ""))
            # no current value: any edge of the band will do
            nan_cur = np.isnan(cur)
            fallback = lo if np.isfinite(lo) else hi
            fq = ("" if left else ">") if np.isfinite(lo) else ("<" if left else "")
            dist = np.where(nan_cur, 1e300 - band.points, dist)
            edge = np.where(nan_cur, fallback, edge)
            q = np.where(nan_cur, fq, q)
            better = ok & (dist < best_dist) & np.isfinite(edge)
            best = np.where(better, edge, best)
            best_dist = np.where(better, dist, best_dist)
            best_qual = np.where(better, q, best_qual)
        return best, best_qual
    if scale.type == "percentile":
        ref = np.asarray(reference if reference is not None else current, dtype=float)
        vals = np.sort(ref[~np.isnan(ref)])
        if len(vals) == 0:
            return np.full(n, np.nan), qual
        frac = np.clip(target / 100.0, 0.0, 1.0)
        if direction == "lower":
            idx = np.floor((1.0 - frac) * (len(vals) - 1) + 1e-9).astype(int)
        else:
            idx = np.ceil(frac * (len(vals) - 1) - 1e-9).astype(int)
        value = np.where(target <= 100.0 + 1e-9, vals[np.clip(idx, 0, len(vals) - 1)], np.nan)
        return value, qual
    raise ValueError(f"unknown scale type {scale.type!r}")
