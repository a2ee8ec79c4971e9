"""Why an account scores what it does: weakest component, "what would lift it", per-component breakdown.

* **weakest** — the component that costs the score most: ``weight × (100 − points)`` (score
  points lost against full marks), among components with weight.
* **lift to next band** — the smallest change of *one* component that moves the account into the
  next band (red -> yellow, yellow -> green). The score is linear in each component's points, so
  component ``c`` needs ``Δpts = (threshold − score) / weight_c`` more points; the component
  needing the fewest extra points (the smallest move along its scale) wins, provided its scale can
  give that many. The metric value that does it comes from inverting the scale, shown rounded in
  the helpful direction, e.g. ``seat_utilization 0.35 -> 0.52``. ``<`` / ``>`` mark an open band
  edge (``open_tickets 7 -> <3``). Components without a value under the ``reweight`` policy are
  not proposed (giving them a value would change every weight).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import scales
from .conditions import truthy
from .model import HealthModel
from .scoring import BANDS, ScoreArrays, Scorer, records

NO_SINGLE = "no single component can do it"


def weakest_component(scorer: Scorer, arrays: ScoreArrays) -> np.ndarray:
    lost = np.where(arrays.weight > 0, arrays.weight * (100.0 - scorer._p0), -1.0)
    if lost.shape[1] == 0:
        return np.full(scorer.n, "", dtype=object)
    j = lost.argmax(axis=1)
    names = np.array(scorer.component_ids, dtype=object)[j]
    worst = lost[np.arange(scorer.n), j]
    return np.where((worst > 1e-9) & ~np.isnan(arrays.score), names, "")


def _scale_rows(scorer: Scorer, j: int):
    """(scale, row mask) pairs: the component's scale, and each profile's override of it."""
    model = scorer.model
    comp = model.components[j]
    pidx = scorer.profile_idx
    overridden = np.zeros(scorer.n, dtype=bool)
    pairs = []
    for i, prof in enumerate(model.profiles, start=1):
        if comp.id in prof.scales:
            sel = pidx == i
            overridden |= sel
            pairs.append((prof.scales[comp.id], sel))
    pairs.insert(0, (comp.scale, ~overridden))
    return pairs


def lift_columns(scorer: Scorer, arrays: ScoreArrays) -> dict[str, np.ndarray]:
    n, k = scorer.n, len(scorer.component_ids)
    band = arrays.band
    thr = np.where(band == 0, arrays.red, np.where(band == 1, arrays.green, np.nan))
    need = thr - arrays.score
    best_dp = np.full(n, np.inf)
    best_j = np.full(n, -1)
    for j in range(k):
        ew = arrays.weight[:, j]
        maxp = np.zeros(n)
        for scale, sel in _scale_rows(scorer, j):
            maxp[sel] = scale.max_points(scorer.model.components[j].direction)
        with np.errstate(invalid="ignore", divide="ignore"):
            dp = need / ew
            target = scorer._p0[:, j] + dp
            ok = (ew > 0) & scorer.present[:, j] & (need > 0) & (target <= maxp + 1e-9)
        better = ok & (dp < best_dp)
        best_dp = np.where(better, dp, best_dp)
        best_j = np.where(better, j, best_j)
    text = np.full(n, "", dtype=object)
    comp_out = np.full(n, "", dtype=object)
    value_out = np.full(n, np.nan)
    needs_lift = (band == 0) | (band == 1)
    text[needs_lift & (best_j < 0)] = NO_SINGLE
    for j in range(k):
        rows = np.flatnonzero(best_j == j)
        if not len(rows):
            continue
        comp = scorer.model.components[j]
        cur_all = scorer.values[comp.id]
        target_pts = scorer._p0[rows, j] + best_dp[rows] + 1e-9
        tval = np.full(len(rows), np.nan)
        qual = np.full(len(rows), "", dtype=object)
        cur_num = scales.numeric(cur_all)
        groups = scorer.groups
        for scale, sel in _scale_rows(scorer, j):
            sub = sel[rows]
            if not sub.any():
                continue
            if scale.type == "percentile" and groups is not None:  # rank within the row's as-of date
                v = _percentile_targets(scale, comp.direction, target_pts[sub], cur_num, groups, rows[sub])
                q = ""
            else:
                v, q = scales.value_for_points(scale, comp.direction, target_pts[sub], cur_num[rows][sub],
                                               reference=cur_num)
            tval[sub], qual[sub] = v, q
            if scale.type == "yesno":
                qual[sub] = "yesno"
        comp_out[rows] = comp.id
        value_out[rows] = tval
        text[rows] = _lift_text(comp.metric, cur_all.to_numpy()[rows], tval, qual, comp.direction,
                                _whole_numbers(comp.metric, cur_all))
    return {"lift_to_next_band": text, "lift_component": comp_out, "lift_value": value_out}


def _percentile_targets(scale, direction, target, ref, groups, rows) -> np.ndarray:
    out = np.full(len(rows), np.nan)
    for key in pd.unique(groups[rows]):
        sel = groups[rows] == key
        mine = groups == key
        v, _ = scales.value_for_points(scale, direction, target[sel], ref[mine], reference=ref[mine])
        out[sel] = v
    return out


def fmt_numbers(values, toward=None) -> np.ndarray:
    """Readable numbers, vectorised: 0 decimals from 100, 1 from 10, 2 from 0.1, else 3, trailing
    zeros dropped; NaN -> "(no data)". ``toward`` (+1 up / -1 down / 0) rounds in that direction,
    so a target shown rounded still reaches the band."""
    v = np.atleast_1d(np.asarray(values, dtype=float))
    out = np.full(v.shape, "(no data)", dtype=object)
    ok = ~np.isnan(v)
    a = np.abs(np.where(ok, v, 0.0))
    digits = np.select([a >= 100, a >= 10, (a >= 0.1) | (a == 0)], [0, 1, 2], 3)
    if toward is not None:
        scale = 10.0 ** digits
        toward = np.broadcast_to(np.asarray(toward), v.shape)
        with np.errstate(invalid="ignore"):
            v = np.where(toward > 0, np.ceil(v * scale - 1e-9) / scale,
                         np.where(toward < 0, np.floor(v * scale + 1e-9) / scale, v))
    for d in range(4):
        sel = ok & (digits == d)
        if sel.any():
            text = np.char.mod(f"%.{d}f", v[sel])
            if d:
                text = np.char.rstrip(np.char.rstrip(text, "0"), ".")
            out[sel] = text
    out[out == "-0"] = "0"
    return out


def fmt_number(v: float, toward: str = "") -> str:
    """One readable number (see :func:`fmt_numbers`); ``toward`` = "up" / "down"."""
    return fmt_numbers([np.nan if v is None else v], {"up": 1, "down": -1}.get(toward, 0))[0]


def _whole_numbers(metric: str, values: pd.Series) -> bool:
    """Is the metric a count (targets are then shown as whole numbers)? From the metric's unit
    when ``METRICS`` knows it, else from the data: an integer column, or 20+ values all whole."""
    from .model import snapshot_metrics

    info = (snapshot_metrics() or {}).get(metric)
    unit = getattr(info, "unit", None)
    if unit is not None:
        return unit in ("count", "days")
    if pd.api.types.is_integer_dtype(values.dtype):
        return True
    v = scales.numeric(values)
    v = v[~np.isnan(v)]
    return len(v) >= 20 and bool(np.all(np.mod(v, 1) == 0))


def _lift_text(metric: str, current: np.ndarray, target: np.ndarray, qual: np.ndarray, direction: str,
               integral: bool = False) -> np.ndarray:
    """"<metric> <now> -> <target>" for the accounts that need a lift, built column-wise."""
    current = pd.Series(current)
    cur_num = scales.numeric(current)
    yesno = qual == "yesno"
    edge = (qual != "") & ~yesno  # an open band edge: shown as it is, with < or >
    up = np.where(np.isnan(cur_num), direction == "higher", target > cur_num)
    shown = target
    if integral:
        shown = np.where(edge, target, np.where(up, np.ceil(target - 1e-9), np.floor(target + 1e-9)))
    toward = np.where(edge | integral, 0, np.where(up, 1, -1))
    target_text = np.where(edge, qual, "") + fmt_numbers(shown, toward)
    current_text = fmt_numbers(cur_num)
    if yesno.any():
        t = truthy(current)
        current_text = np.where(yesno, np.where(np.isnan(t), "(no data)", np.where(t > 0, "yes", "no")), current_text)
        target_text = np.where(yesno, np.where(target > 0, "yes", "no"), target_text)
    return (metric + " " + current_text + " -> " + target_text).astype(object)


# ---------------------------------------------------------------------------------------------
@dataclass
class Explanation:
    account_id: str
    score: float
    band: str
    profile: str
    weakest: str
    lift_to_next_band: str
    components: pd.DataFrame = field(repr=False)

    def as_dict(self) -> dict:
        return {"account_id": self.account_id, "score": None if math.isnan(self.score) else self.score,
                "band": self.band, "profile": self.profile, "weakest": self.weakest,
                "lift_to_next_band": self.lift_to_next_band, "components": records(self.components)}


EXPLAIN_COLUMNS = ["component", "label", "group", "metric", "value", "status", "points", "weight_pct",
                   "contribution", "share", "lost", "scale"]


def explain(model: HealthModel, snapshot: pd.DataFrame, account_id: str, scorer: Scorer | None = None,
            as_of=None) -> Explanation | None:
    """Component-by-component breakdown of one account (None when the account is not in the
    snapshot). With stacked snapshots pass ``as_of`` to pick the date (default: the latest)."""
    scorer = scorer or Scorer(model, snapshot)
    arrays = scorer.compute(model)
    snap = scorer.snapshot
    rows = np.flatnonzero(snap["account_id"].astype(str).to_numpy() == str(account_id))
    if "as_of" in snap.columns and len(rows):
        dates = pd.to_datetime(snap["as_of"].to_numpy()[rows])
        rows = rows[dates == (pd.Timestamp(as_of) if as_of is not None else dates.max())]
    if not len(rows):
        return None
    r = int(rows[-1])
    comps = scorer.model.components
    prof = scorer.model.profiles[scorer.profile_idx[r] - 1] if scorer.profile_idx[r] > 0 else None
    table = []
    for j, c in enumerate(comps):
        raw = scorer.raw[r, j]
        if scorer.stale[r, j]:
            status = "stale"
        elif np.isnan(raw):
            status = "missing"
        else:
            status = "ok"
        if status != "ok" and c.missing != "reweight":
            status += f" ({c.missing})"
        w = arrays.weight[r, j]
        pts = scorer.points[r, j]
        value = scorer.values[c.id].iloc[r]
        table.append({
            "component": c.id, "label": c.label or c.id, "group": c.group or "", "metric": c.metric,
            "value": value, "status": status, "points": pts, "weight_pct": 100 * w,
            "contribution": w * scorer._p0[r, j], "share": (w * scorer._p0[r, j] / arrays.score[r])
            if arrays.score[r] > 0 else np.nan, "lost": w * (100 - scorer._p0[r, j]) if w > 0 else 0.0,
            "scale": scorer.model.scale_of(c.id, prof).describe(c.direction),
        })
    lift = lift_columns(scorer, arrays)["lift_to_next_band"][r]
    weakest = weakest_component(scorer, arrays)[r]
    return Explanation(str(snap["account_id"].iloc[r]), float(arrays.score[r]), BANDS[arrays.band[r]],
                       scorer.profile_names[scorer.profile_idx[r]], weakest, lift,
                       pd.DataFrame(table, columns=EXPLAIN_COLUMNS))
