"""Scoring: a health model over a per-account snapshot, vectorised over accounts.

The work is split in two so the GUI builder can re-score on every slider move:

1. :class:`Scorer` computes, once per (model structure, snapshot), each account's **component
   points** (n accounts x k components, after staleness and the missing-data policy) and which
   profile applies to it. This depends on metrics, scales, directions and profile conditions —
   never on weights or band thresholds.
2. :meth:`Scorer.compute` turns points into scores with the weights of a model (a few n x k
   array operations; ~1 ms for 10k accounts). :meth:`Scorer.score` adds the output columns.
   Passing a model whose :meth:`~cs_desk.health.model.HealthModel.signature` differs (another
   scale, metric, profile condition ...) recomputes the points first.

Score of one account (weights of the profile that applies to it)::

    group points  = Σ_c∈g w_c · pts_c / Σ_c∈g w_c          over the group's components with a value
    score         = Σ_g W_g · group points_g / Σ_g W_g       over the groups with any value

A component with no value under the ``reweight`` policy drops out of its group (the group's other
components share its weight); a group with no value drops out and the other groups share its
weight. ``neutral`` counts a missing value as 50 points, ``zero`` as 0. An ungrouped component is
a group of its own. An account with no value at all gets no score (NaN) and band ``unknown``.
Bands: ``red`` below ``bands.red``, ``green`` at or above ``bands.green``, ``yellow`` between.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..problems import Code, Problem, Severity
from . import scales
from .conditions import column, evaluate
from .model import DEFAULT_PROFILE, NEUTRAL_POINTS, UNKNOWN_BAND, HealthModel

BANDS = ("red", "yellow", "green", UNKNOWN_BAND)  # band codes 0..3
BAND_CODE = {b: i for i, b in enumerate(BANDS)}
#: snapshot columns carried into the score table when present
CARRY = ("as_of", "account_name", "csm", "segment", "plan", "mrr", "arr", "active")
_ROUND = 9  # scores are rounded so that float noise never moves an account across a threshold


@dataclass
class ScoreArrays:
    """Scores of every account as arrays (the fast path; see :meth:`Scorer.frame`)."""

    score: np.ndarray  # n, NaN = no data
    band: np.ndarray  # n, int8 codes into BANDS
    weight: np.ndarray  # n x k effective weight of each component (rows sum to 1 where scored)
    red: np.ndarray  # n, thresholds of the profile that applies
    green: np.ndarray
    model: HealthModel

    def bands(self) -> pd.Categorical:
        return pd.Categorical.from_codes(self.band, categories=list(BANDS))


class Scorer:
    """Precomputed component points of one snapshot under one model structure.

    ``snapshot`` is one row per account (``account_id`` plus metric columns), or several stacked
    snapshots with an ``as_of`` column (percentile scales then rank within each as-of date).
    The snapshot is never modified.
    """

    def __init__(self, model: HealthModel, snapshot: pd.DataFrame, group_by: str | None = "as_of"):
        self.snapshot = snapshot
        self.group_by = group_by if group_by and group_by in snapshot.columns else None
        self.n = len(snapshot)
        self._prepare(model)

    # -- points (weight-independent) ------------------------------------------------------------
    def _prepare(self, model: HealthModel) -> None:
        snap = self.snapshot
        self.model = model
        self.signature = model.signature()
        self.problems: list[Problem] = []
        n, comps = self.n, model.components
        k = len(comps)
        self.component_ids = [c.id for c in comps]
        self.group_ids = list(model.group_ids)
        gindex = {g: i for i, g in enumerate(self.group_ids)}
        self.comp_group = np.array([gindex[c.group_id] for c in comps], dtype=int)
        self._G = np.zeros((k, len(self.group_ids)))
        self._G[np.arange(k), self.comp_group] = 1.0
        self.groups = None
        if self.group_by is not None:
            self.groups = pd.factorize(snap[self.group_by])[0]

        # which profile applies: 0 = defaults, i + 1 = model.profiles[i]
        pidx = np.zeros(n, dtype=int)
        order = model.profiles_by_precedence()
        for prof in reversed(order):  # lowest precedence first; later assignments win
            i = model.profiles.index(prof) + 1
            pidx = np.where(evaluate(prof.when, snap), i, pidx)
        self.profile_idx = pidx
        self.profile_names = [DEFAULT_PROFILE] + [p.name for p in model.profiles]

        self.values: dict[str, pd.Series] = {}
        self.raw = np.full((n, k), np.nan)  # points before staleness / policy
        self.stale = np.zeros((n, k), dtype=bool)
        pts = np.full((n, k), np.nan)
        for j, comp in enumerate(comps):
            if comp.metric not in snap.columns:
                self.problems.append(Problem(
                    Code.MISSING_COLUMN,
                    f"health component {comp.id!r} reads {comp.metric!r}, which the snapshot does not have; "
                    f"it counts as missing for every account ({_policy_text(comp.missing)})",
                    Severity.WARNING, column=comp.metric, table="health"))
            values = column(snap, comp.metric)
            self.values[comp.id] = values
            p = scales.points(comp.scale, comp.direction, values, self.groups)
            for i, prof in enumerate(model.profiles, start=1):
                if comp.id in prof.scales and (pidx == i).any():
                    alt = scales.points(prof.scales[comp.id], comp.direction, values, self.groups)
                    p = np.where(pidx == i, alt, p)
            self.raw[:, j] = p
            if comp.stale_after_days is not None:
                age = scales.numeric(column(snap, comp.age_column))
                with np.errstate(invalid="ignore"):
                    stale = age > comp.stale_after_days
                if comp.undated == "missing":
                    stale |= np.isnan(age)
                stale &= ~np.isnan(p)
                self.stale[:, j] = stale
                if stale.any():
                    self.problems.append(Problem(
                        Code.STALE_VALUE,
                        f"{int(stale.sum())} account(s) have a {comp.metric} older than "
                        f"{comp.stale_after_days:g} days; it counts as missing for them "
                        f"({_policy_text(comp.missing)})", Severity.INFO, column=comp.metric, table="health"))
                p = np.where(stale, np.nan, p)
            if comp.missing == "neutral":
                p = np.where(np.isnan(p), NEUTRAL_POINTS, p)
            elif comp.missing == "zero":
                p = np.where(np.isnan(p), 0.0, p)
            pts[:, j] = p
        self.points = pts
        self.present = ~np.isnan(pts)
        self._p0 = np.where(self.present, pts, 0.0)
        # Accounts with the same profile and the same components present share their effective
        # weights: weights are computed once per such pattern (a few hundred at most), then
        # gathered per account.
        first, self._pattern = _group_rows(_row_keys(self.present, pidx))
        self._pattern_profile = pidx[first]
        self._pattern_present = self.present[first]

    def _ensure(self, model: HealthModel | None) -> HealthModel:
        if model is None or model is self.model:
            return self.model
        if model.signature() != self.signature:
            self._prepare(model)
        self.model = model
        return model

    # -- weights --------------------------------------------------------------------------------
    def _weight_tables(self, model: HealthModel):
        profs = [None, *model.profiles]
        W = np.array([[model.component_weight(cid, p) for cid in self.component_ids] for p in profs])
        GW = np.array([[model.group_weight(gid, p) for gid in self.group_ids] for p in profs])
        red = np.array([model.bands_of(p).red for p in profs])
        green = np.array([model.bands_of(p).green for p in profs])
        return W, GW, red, green

    def compute(self, model: HealthModel | None = None) -> ScoreArrays:
        """Scores with the weights and bands of ``model`` (default: the scorer's model)."""
        model = self._ensure(model)
        W, GW, red, green = self._weight_tables(model)
        pidx = self.profile_idx
        pp = self._pattern_profile
        wm = W[pp] * self._pattern_present  # patterns x k: weights of the components with a value
        gsum = wm @ self._G  # patterns x groups: per group, the weight that has a value
        gw = GW[pp] * (gsum > 0)  # a group without any value drops out
        den = gw.sum(axis=1)
        live = (gsum > 0) & (den > 0)[:, None]
        # effective weight = group share × the component's share of its group
        ratio = np.divide(gw, gsum * den[:, None], out=np.zeros_like(gw), where=live)
        ew = (wm * ratio[:, self.comp_group])[self._pattern]  # accounts x k
        score = np.round(np.einsum("ij,ij->i", ew, self._p0), _ROUND)
        score = np.where((den > 0)[self._pattern], score, np.nan)
        r, g = red[pidx], green[pidx]
        band = np.where(np.isnan(score), 3, np.where(score < r, 0, np.where(score >= g, 2, 1))).astype(np.int8)
        return ScoreArrays(score, band, ew, r, g, model)

    def scores(self, model: HealthModel | None = None) -> np.ndarray:
        return self.compute(model).score

    # -- output ---------------------------------------------------------------------------------
    def frame(self, arrays: ScoreArrays, explain: bool = True) -> pd.DataFrame:
        snap = self.snapshot
        out: dict[str, object] = {"account_id": snap["account_id"].to_numpy()} if "account_id" in snap else {}
        for col in CARRY:
            if col in snap.columns:
                out[col] = snap[col].to_numpy()
        out["profile"] = pd.Categorical.from_codes(self.profile_idx, categories=self.profile_names) \
            if len(set(self.profile_names)) == len(self.profile_names) else np.array(self.profile_names)[self.profile_idx]
        out["score"] = arrays.score
        out["band"] = arrays.bands()
        contrib = arrays.weight * self._p0
        with np.errstate(invalid="ignore", divide="ignore"):
            share = contrib / arrays.score[:, None]
        share = np.where(arrays.score[:, None] > 0, share, np.nan)
        if explain:
            from .explain import lift_columns, weakest_component

            out["weakest"] = weakest_component(self, arrays)
            out.update(lift_columns(self, arrays))
            out["missing_components"] = _join_flags(self.component_ids, np.isnan(self.raw) | self.stale)
            out["stale_components"] = _join_flags(self.component_ids, self.stale)
        for j, cid in enumerate(self.component_ids):
            out[f"pts_{cid}"] = self.points[:, j]
        for j, cid in enumerate(self.component_ids):
            out[f"weight_{cid}"] = arrays.weight[:, j]
        for j, cid in enumerate(self.component_ids):
            out[f"share_{cid}"] = share[:, j]
        if explain:
            for comp in self.model.components:
                if comp.reason_metric:
                    reasons = column(snap, comp.reason_metric)
                    text = reasons.astype("string").map(dict(comp.reasons)) if comp.reasons else reasons
                    out[f"reason_{comp.id}"] = text.where(text.notna(), reasons).to_numpy(dtype=object)
        return pd.DataFrame(out)

    def score(self, model: HealthModel | None = None, explain: bool = True) -> pd.DataFrame:
        """One row per snapshot row: score, band, profile, points / weight / share per component
        (``pts_<id>``, ``weight_<id>``, ``share_<id>``) and, with ``explain``, the weakest
        component and what would lift the account to the next band."""
        return self.frame(self.compute(model), explain=explain)


def _policy_text(policy: str) -> str:
    return {"reweight": "the other components share its weight", "neutral": "scored as 50 points",
            "zero": "scored as 0 points"}[policy]


def _row_keys(flags: np.ndarray, high: np.ndarray | None = None) -> np.ndarray:
    """One int64 per row of a bool matrix (bit j = column j; ``high`` above them), so that rows
    can be grouped with a fast 1-d ``np.unique``. More than 55 columns: the rows themselves
    (``np.unique(..., axis=0)``, slower)."""
    n, k = flags.shape
    if k > 55:  # pragma: no cover - models with more than 55 components
        return np.column_stack([np.zeros(n, dtype=np.int64) if high is None else high, flags])
    key = np.zeros(n, dtype=np.int64) if high is None else high.astype(np.int64) << k
    for j in range(k):
        key |= flags[:, j].astype(np.int64) << j
    return key


def _group_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first row of each distinct key, group of every row)."""
    _, first, inverse = np.unique(keys, axis=0 if keys.ndim == 2 else None, return_index=True,
                                  return_inverse=True)
    return first, inverse.ravel()


def _join_flags(names: list[str], flags: np.ndarray) -> np.ndarray:
    """", ".join(names where flag) per row: one text per distinct combination, then gathered."""
    first, inverse = _group_rows(_row_keys(flags))
    texts = np.array([", ".join(n for n, f in zip(names, flags[i]) if f) for i in first], dtype=object)
    return texts[inverse] if len(texts) else np.full(flags.shape[0], "", dtype=object)


# ---------------------------------------------------------------------------------------------
def score(model: HealthModel, snapshot: pd.DataFrame, explain: bool = True) -> pd.DataFrame:
    """Score every row of ``snapshot`` with ``model`` (see :class:`Scorer` for the columns)."""
    return Scorer(model, snapshot).score(explain=explain)


SUMMARY_COLUMNS = ("account_id", "as_of", "account_name", "csm", "segment", "mrr", "profile", "score", "band",
                   "weakest", "lift_to_next_band", "missing_components", "stale_components")


def score_summary(scores: pd.DataFrame) -> pd.DataFrame:
    """The columns a person reads first (no per-component columns), riskiest accounts first."""
    cols = [c for c in SUMMARY_COLUMNS if c in scores.columns]
    return scores[cols].sort_values(["score", "account_id"], na_position="first", kind="stable").reset_index(drop=True)


def scored_snapshot(model: HealthModel, snapshot: pd.DataFrame, previous: pd.DataFrame | None = None,
                    explain: bool = True) -> pd.DataFrame:
    """The snapshot with its health columns alongside (what playbooks and account views read).

    With ``previous`` (e.g. last month's snapshot) it also has ``score_prev``, ``band_prev``,
    ``score_change`` and ``band_change``.
    """
    scores = score(model, snapshot, explain=explain)
    extra = scores.drop(columns=[c for c in scores.columns if c in snapshot.columns])
    out = pd.concat([snapshot.reset_index(drop=True), extra], axis=1)
    if previous is not None:
        from .history import with_previous

        out = with_previous(out, score(model, previous, explain=False))
    return out


def score_records(scores: pd.DataFrame) -> list[dict]:
    """Score rows as plain dicts (json output): NaN -> None, timestamps -> ISO dates."""
    return records(scores)


def records(frame: pd.DataFrame) -> list[dict]:
    out = []
    cols = list(frame.columns)
    for row in frame.itertuples(index=False, name=None):
        out.append({c: _plain(v) for c, v in zip(cols, row)})
    return out


def _plain(v):
    if v is None:
        return None
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if np.isnan(v) else float(v)
    if isinstance(v, pd.Timestamp):
        return None if pd.isna(v) else v.isoformat()[:10] if v == v.normalize() else v.isoformat()
    if v is pd.NaT or v is pd.NA:
        return None
    if isinstance(v, np.datetime64):
        return _plain(pd.Timestamp(v))
    return v


def health_mix(scores: pd.DataFrame, by: str | None = None, weight: str | None = None,
               only_active: bool = True) -> pd.DataFrame:
    """Share of accounts per band (``health_mix`` KPI) and its change.

    ``scores`` is a score table; with an ``as_of`` column (a score history) the mix is given per
    as-of date and ``change`` is the change in share against the previous date (fractions:
    0.05 = 5 percentage points). ``weight="mrr"`` weighs accounts by a column (value at risk).
    ``by`` splits by a column (e.g. ``csm``, ``segment``). Accounts with ``active`` False are
    left out when ``only_active``; band ``unknown`` is counted but not part of the shares' base.
    """
    frame = scores
    if only_active and "active" in frame.columns:
        frame = frame[frame["active"].fillna(False).astype(bool)]
    keys = [k for k in ("as_of", by) if k and k in frame.columns]
    w = frame[weight].fillna(0.0).astype(float) if weight else pd.Series(1.0, index=frame.index)
    band = frame["band"].astype("string")
    table = (pd.DataFrame({**{k: frame[k] for k in keys}, "band": band, "w": w})
             .groupby(keys + ["band"], observed=True, dropna=False)["w"].sum())
    full_index = _band_index(table, keys)
    table = table.reindex(full_index, fill_value=0.0)
    out = table.rename("accounts" if not weight else weight).reset_index()
    value_col = out.columns[-1]
    scored = out["band"] != UNKNOWN_BAND
    base = out[scored].groupby(keys)[value_col].transform("sum") if keys else out.loc[scored, value_col].sum()
    out["share"] = np.nan
    out.loc[scored, "share"] = out.loc[scored, value_col] / base
    out["change"] = np.nan
    if "as_of" in keys:
        other = [k for k in keys if k != "as_of"]
        out = out.sort_values(["as_of", *other, "band"], key=lambda s: s.map(BAND_CODE) if s.name == "band" else s)
        out["change"] = out.groupby(other + ["band"] if other else ["band"])["share"].diff()
    else:
        out = out.sort_values([*keys, "band"], key=lambda s: s.map(BAND_CODE) if s.name == "band" else s)
    return out.reset_index(drop=True)


def _band_index(table: pd.Series, keys: list[str]) -> pd.MultiIndex | pd.Index:
    if not keys:
        return pd.Index(list(BANDS), name="band")
    levels = [table.index.get_level_values(k).unique() for k in keys]
    return pd.MultiIndex.from_product([*levels, list(BANDS)], names=[*keys, "band"])


def health_mix_change(current: pd.DataFrame, previous: pd.DataFrame, weight: str | None = None) -> pd.DataFrame:
    """Mix now and a month (or any time) ago: band, share, previous_share, change."""
    now = health_mix(current.drop(columns="as_of", errors="ignore"), weight=weight)
    before = health_mix(previous.drop(columns="as_of", errors="ignore"), weight=weight)
    out = now[["band", now.columns[1], "share"]].copy()
    out["previous_share"] = before["share"].to_numpy()
    out["change"] = out["share"] - out["previous_share"]
    return out
