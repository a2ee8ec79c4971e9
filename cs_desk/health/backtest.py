"""Backtest: would the model have seen churn coming?

Score every account as of each past month end (with only what was known then), look at who
churned (or contracted) in the following 30/60/90 days, and report how well the score ranked them.

* **Observations** are account-months: an account active at as-of date *t* with a known outcome
  at *t + horizon*. An account appears once per as-of date.
* **Outcome** (:func:`outcomes_from_grid`): churned within *h* days = MRR > 0 at *t* and MRR = 0 at
  the first month-start instant at or after *t + h days* (cancel and re-subscribe inside the
  window is not churn, as in ``logo_churn_rate``); contracted = 0 < MRR there < MRR at *t*.
  Unknown (no MRR data that far) = not an observation.
* **AUC** (Mann-Whitney): the probability that an account that churned scored *lower* than one
  that did not (ties count half). 0.5 = no better than chance, 1 = perfect ranking.
* **Confidence interval**: percentile bootstrap that resamples *accounts* (all their months
  together, since months of one account are not independent), ``n_boot`` resamples with a fixed
  seed, vectorised: scores are binned to 0.1 points for the resamples (the point estimate uses the
  exact scores).
* **Red lift**: churn rate of the red band / overall churn rate. **Missed**: accounts that churned
  while green (latest such month per account). **False alarms**: red and did not churn within
  the horizon (latest such month per account, with the number of red months).
* A warning is given when fewer than ``MIN_EVENTS`` (30) accounts churned: rates and AUC from so
  few events are not to be trusted.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from ..periods import add_months
from ..problems import Problem
from .explain import weakest_component
from .model import HealthModel
from .scoring import BANDS, Scorer, records

MIN_EVENTS = 30
TARGETS = ("churned", "contracted", "lost")  # lost = churned or contracted
OBS_COLUMNS = ("as_of", "account_id", "account_name", "csm", "segment", "mrr")


# ---------------------------------------------------------------------------------------------
# outcomes
def outcomes_from_grid(grid, as_of_dates: Iterable, horizons: Iterable[int] = (30, 60, 90)) -> pd.DataFrame:
    """What happened after each as-of date, from an MRR grid (``cs_desk.snapshots.MrrGrid``).

    One row per account active at the as-of date: ``account_id, as_of, mrr_at_as_of`` and, per
    horizon *h*, ``churned_<h>d`` and ``contracted_<h>d`` (nullable booleans; NA = the grid does
    not reach *as_of + h*). Vectorised over accounts and dates.
    """
    horizons = sorted({int(h) for h in horizons})
    dates = pd.DatetimeIndex(pd.to_datetime(list(as_of_dates)))
    inst = grid.instants.values
    t = len(inst)
    i0 = np.searchsorted(inst, dates.values, side="right") - 1  # last instant at or before as_of
    mrr = grid.mrr
    m0 = np.where(i0 >= 0, mrr[:, np.clip(i0, 0, max(t - 1, 0))], np.nan) if t else np.full((len(grid.accounts), len(dates)), np.nan)
    active = np.nan_to_num(m0, nan=0.0) > 0
    d_idx, a_idx = np.nonzero(active.T)  # ordered by date, then account
    out = {
        "account_id": np.asarray(grid.accounts)[a_idx],
        "as_of": dates.values[d_idx],
        "mrr_at_as_of": m0[a_idx, d_idx],
    }
    for h in horizons:
        target = (dates + pd.Timedelta(days=h)).values
        ih = np.searchsorted(inst, target, side="left")  # first instant at or after as_of + h
        valid = ih < t
        mh = np.where(valid, mrr[:, np.clip(ih, 0, max(t - 1, 0))], np.nan)[a_idx, d_idx]
        unknown = np.isnan(mh)
        base = m0[a_idx, d_idx]
        churned = np.nan_to_num(mh, nan=1.0) == 0
        contracted = (np.nan_to_num(mh, nan=0.0) > 0) & (np.nan_to_num(mh, nan=0.0) < base - 1e-9)
        out[f"churned_{h}d"] = pd.arrays.BooleanArray(churned, unknown)
        out[f"contracted_{h}d"] = pd.arrays.BooleanArray(contracted, unknown)
    frame = pd.DataFrame(out)
    return frame.sort_values(["as_of", "account_id"], kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# AUC
def auc(score: np.ndarray, event: np.ndarray) -> float:
    """Mann-Whitney AUC with *lower score = higher risk*: P(score of a churner < score of a
    non-churner), ties counted half. NaN without both kinds."""
    score = np.asarray(score, dtype=float)
    event = np.asarray(event, dtype=bool)
    ok = ~np.isnan(score)
    score, event = score[ok], event[ok]
    n1 = int(event.sum())
    n0 = len(event) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    from scipy.stats import rankdata  # local: scipy.stats costs ~0.4 s to import, only a backtest needs it

    ranks = rankdata(score)  # average ranks for ties
    r0 = ranks[~event].sum()
    return float((r0 - n0 * (n0 + 1) / 2.0) / (n0 * n1))


def bootstrap_auc(score: np.ndarray, event: np.ndarray, cluster: np.ndarray, n_boot: int = 500,
                  seed: int = 0, level: float = 0.95, resolution: float = 0.1) -> tuple[float, float]:
    """Percentile CI of the AUC, resampling clusters (accounts) with replacement, vectorised:
    per resample each cluster gets a multinomial count, and the AUC of the weighted sample is
    read off per-score-level sums (scores binned to ``resolution``)."""
    score = np.asarray(score, dtype=float)
    event = np.asarray(event, dtype=bool)
    ok = ~np.isnan(score)
    score, event, cluster = score[ok], event[ok], np.asarray(cluster)[ok]
    if n_boot <= 0 or event.all() or not event.any():
        return (float("nan"), float("nan"))
    from scipy import sparse  # local, like rankdata: keeps `import cs_desk.health` light
    levels, lev = np.unique(np.round(score / resolution).astype(np.int64), return_inverse=True)
    codes, uniq = pd.factorize(cluster)
    a, n_lev = len(uniq), len(levels)
    ones = np.ones(len(score))
    pos = sparse.csr_matrix((ones * event, (lev, codes)), shape=(n_lev, a))
    neg = sparse.csr_matrix((ones * ~event, (lev, codes)), shape=(n_lev, a))
    rng = np.random.default_rng(seed)
    out = np.empty(n_boot)
    chunk = max(1, min(n_boot, int(2e7 // max(a, 1))))
    for start in range(0, n_boot, chunk):  # chunks of resamples bound the memory
        b = min(chunk, n_boot - start)
        w = rng.multinomial(a, np.full(a, 1.0 / a), size=b).T.astype(float)  # a x b
        p = pos @ w  # levels x b: weighted churners per score level
        q = neg @ w
        q_above = np.cumsum(q[::-1], axis=0)[::-1] - q  # non-churners scoring higher
        num = (p * (q_above + 0.5 * q)).sum(axis=0)
        den = p.sum(axis=0) * q.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start:start + b] = num / den
    alpha = (1.0 - level) / 2.0
    valid = out[~np.isnan(out)]
    if not len(valid):
        return (float("nan"), float("nan"))
    return (float(np.quantile(valid, alpha)), float(np.quantile(valid, 1.0 - alpha)))


# ---------------------------------------------------------------------------------------------
@dataclass
class BacktestResult:
    model: str
    horizon: int
    target: str
    as_of_dates: list
    n_observations: int
    n_accounts: int
    n_churned: int  # distinct accounts with the event at least once
    n_events: int  # account-months with the event
    churn_rate: float
    auc: float
    auc_ci: tuple[float, float]
    by_band: pd.DataFrame  # band, observations, churned, churn_rate, share_of_churned
    red_lift: float
    red_precision: float  # churned among red observations
    red_recall: float  # share of churn events that were red beforehand
    missed: pd.DataFrame  # churned while green
    false_alarms: pd.DataFrame  # red, did not churn
    by_month: pd.DataFrame  # as_of, observations, churned, churn_rate, auc
    warnings: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    observations: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def churn_rate_by_band(self) -> dict[str, float]:
        return {r.band: _num(r.churn_rate) for r in self.by_band.itertuples() if r.band in BANDS}

    def as_dict(self, limit: int | None = 100) -> dict:
        """Plain data for json output (NaN -> null); account lists cut to ``limit`` rows."""
        lim = (lambda f: f) if limit is None else (lambda f: f.head(limit))
        return {
            "model": self.model,
            "horizon_days": self.horizon,
            "target": self.target,
            "as_of_first": _date(self.as_of_dates[0]) if self.as_of_dates else None,
            "as_of_last": _date(self.as_of_dates[-1]) if self.as_of_dates else None,
            "months": len(self.as_of_dates),
            "n_observations": self.n_observations,
            "n_accounts": self.n_accounts,
            "n_churned": self.n_churned,
            "n_events": self.n_events,
            "churn_rate": _num(self.churn_rate),
            "auc": _num(self.auc),
            "auc_ci": [_num(self.auc_ci[0]), _num(self.auc_ci[1])],
            "churn_rate_by_band": self.churn_rate_by_band,
            "by_band": records(self.by_band),
            "red_lift": _num(self.red_lift),
            "red_precision": _num(self.red_precision),
            "red_recall": _num(self.red_recall),
            "n_missed": int(len(self.missed)),
            "missed": records(lim(self.missed)),
            "n_false_alarms": int(len(self.false_alarms)),
            "false_alarms": records(lim(self.false_alarms)),
            "by_month": records(self.by_month),
            "warnings": list(self.warnings),
        }

    def summary_records(self) -> list[dict]:
        """The headline figures as ``metric, value`` rows (table / csv output)."""
        d = self.as_dict(limit=0)
        rows = [{"metric": k, "value": d[k]} for k in (
            "model", "horizon_days", "target", "as_of_first", "as_of_last", "months", "n_accounts",
            "n_observations", "n_churned", "n_events", "churn_rate", "auc")]
        rows.append({"metric": "auc_ci_low", "value": d["auc_ci"][0]})
        rows.append({"metric": "auc_ci_high", "value": d["auc_ci"][1]})
        for band, rate in d["churn_rate_by_band"].items():
            rows.append({"metric": f"churn_rate_{band}", "value": rate})
        rows += [{"metric": k, "value": d[k]} for k in ("red_lift", "red_precision", "red_recall", "n_missed",
                                                        "n_false_alarms")]
        rows += [{"metric": "warning", "value": w} for w in self.warnings]
        return rows


def _num(v) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def _date(v) -> str:
    return pd.Timestamp(v).strftime("%Y-%m-%d")


class Backtest:
    """Observations joined once; :meth:`run` re-scores with any weights (the GUI builder calls it
    on every change with ``n_boot=0`` for live AUC / churn per band)."""

    def __init__(self, model: HealthModel, snapshots: pd.DataFrame, outcomes: pd.DataFrame,
                 horizon: int = 90, target: str = "churned"):
        if target not in TARGETS:
            raise ValueError(f"target must be one of {', '.join(TARGETS)}")
        self.horizon, self.target = int(horizon), target
        self.problems: list[Problem] = []
        col = {"churned": f"churned_{horizon}d", "contracted": f"contracted_{horizon}d"}
        need = [col["churned"], col["contracted"]] if target == "lost" else [col[target]]
        missing = [c for c in need if c not in outcomes.columns]
        if missing:
            raise ValueError(f"outcomes have no column {', '.join(missing)}; "
                             f"build them with outcomes_from_grid(..., horizons=({horizon},))")
        outs = outcomes[["account_id", "as_of", *need]]
        left = snapshots.assign(as_of=pd.to_datetime(snapshots["as_of"]),
                                account_id=snapshots["account_id"].astype(str))
        right = outs.assign(as_of=pd.to_datetime(outs["as_of"]), account_id=outs["account_id"].astype(str))
        joined = left.merge(right, on=["account_id", "as_of"], how="inner", suffixes=("", "_outcome"))
        known = np.ones(len(joined), dtype=bool)
        event = np.zeros(len(joined), dtype=bool)
        for c in need:
            known &= joined[c].notna().to_numpy()
            event |= joined[c].fillna(False).to_numpy(dtype=bool)
        joined = joined[known].reset_index(drop=True)
        self.event = event[known]
        self.observations = joined.drop(columns=need)
        self.account_codes, self.account_ids = pd.factorize(self.observations["account_id"])
        self.as_of = self.observations["as_of"].to_numpy()
        self.scorer = Scorer(model, self.observations)
        self.model = model

    def run(self, model: HealthModel | None = None, n_boot: int = 500, seed: int = 0, level: float = 0.95,
            detail: bool = True) -> BacktestResult:
        model = model or self.model
        arrays = self.scorer.compute(model)
        obs = self.observations
        score, band, y = arrays.score, arrays.band, self.event
        codes = self.account_codes
        dates = np.unique(self.as_of)
        scored = ~np.isnan(score)
        n_obs = int(len(obs))
        n_events = int(y.sum())
        n_churned = int(np.unique(codes[y]).size)
        warnings: list[str] = []
        rate = y.mean() if n_obs else float("nan")

        # churn per band
        counts = np.bincount(band, minlength=len(BANDS)).astype(float)
        events = np.bincount(band, weights=y.astype(float), minlength=len(BANDS))
        with np.errstate(invalid="ignore", divide="ignore"):
            rates = events / counts
        by_band = pd.DataFrame({"band": list(BANDS), "observations": counts.astype(int),
                                "churned": events.astype(int), "churn_rate": rates,
                                "share_of_churned": events / n_events if n_events else np.nan})
        if counts[3] == 0:
            by_band = by_band[by_band["band"] != BANDS[3]].reset_index(drop=True)
        red_rate = rates[0]
        red_lift = red_rate / rate if rate and not np.isnan(red_rate) else float("nan")
        red_recall = events[0] / n_events if n_events else float("nan")

        value = auc(score, y)
        ci = bootstrap_auc(score, y, codes, n_boot=n_boot, seed=seed, level=level) if n_boot else (float("nan"),) * 2

        if n_obs == 0:
            warnings.append("no observations: no account was active at an as-of date with a known outcome")
        elif n_churned < MIN_EVENTS:
            warnings.append(
                f"only {n_churned} account(s) {_verb(self.target)} within {self.horizon} days "
                f"in the backtest window; with fewer than about {MIN_EVENTS} events the churn rates and "
                f"the AUC are not reliable")
        if n_obs and (n_events == 0 or n_events == n_obs):
            warnings.append("AUC is undefined: every observation has the same outcome")
        if n_obs and (~scored).any():
            warnings.append(f"{int((~scored).sum())} observation(s) had no data for any component "
                            f"(band unknown) and are left out of the AUC")

        if detail:
            weakest = weakest_component(self.scorer, arrays)
            base = obs[[c for c in OBS_COLUMNS if c in obs.columns]].copy()
            base["score"] = score
            base["band"] = arrays.bands()
            base["weakest"] = weakest
            base[_verb(self.target)] = y
            missed = base[y & (band == 2)]
            missed = missed.sort_values("as_of").drop_duplicates("account_id", keep="last")
            red = base[~y & (band == 0)]
            red_months = red.groupby("account_id").size().rename("red_months")
            false_alarms = red.sort_values("as_of").drop_duplicates("account_id", keep="last")
            false_alarms = false_alarms.merge(red_months, left_on="account_id", right_index=True, how="left")
            sort_cols = ["mrr"] if "mrr" in base.columns else []
            missed = missed.sort_values(sort_cols + ["score"], ascending=[False] * len(sort_cols) + [False]).reset_index(drop=True)
            false_alarms = false_alarms.sort_values(["red_months", "score"], ascending=[False, True]).reset_index(drop=True)
            month_rows = []
            as_of = self.as_of
            for d in dates:  # one AUC per month (a couple of dozen), vectorised inside
                sel = as_of == d
                month_rows.append({"as_of": pd.Timestamp(d), "observations": int(sel.sum()),
                                   "churned": int(y[sel].sum()), "churn_rate": float(y[sel].mean()),
                                   "auc": auc(score[sel], y[sel])})
            by_month = pd.DataFrame(month_rows, columns=["as_of", "observations", "churned", "churn_rate", "auc"])
            observations = base
        else:
            empty = pd.DataFrame()
            missed = false_alarms = by_month = empty
            observations = None

        return BacktestResult(
            model=model.name, horizon=self.horizon, target=self.target,
            as_of_dates=[pd.Timestamp(d) for d in dates], n_observations=n_obs,
            n_accounts=len(self.account_ids), n_churned=n_churned, n_events=n_events,
            churn_rate=float(rate), auc=value, auc_ci=ci, by_band=by_band, red_lift=float(red_lift),
            red_precision=float(red_rate), red_recall=float(red_recall), missed=missed,
            false_alarms=false_alarms, by_month=by_month, warnings=warnings,
            problems=list(self.scorer.problems) + self.problems, observations=observations)


def _verb(target: str) -> str:
    return {"churned": "churned", "contracted": "contracted", "lost": "churned_or_contracted"}[target]


def backtest(model: HealthModel, snapshots_by_month: pd.DataFrame, outcomes: pd.DataFrame,
             horizon: int = 90, target: str = "churned", n_boot: int = 500, seed: int = 0,
             level: float = 0.95) -> BacktestResult:
    """Backtest ``model`` on stacked snapshots (``as_of`` column) against ``outcomes``
    (see :func:`outcomes_from_grid`)."""
    return Backtest(model, snapshots_by_month, outcomes, horizon, target).run(n_boot=n_boot, seed=seed, level=level)


def backtest_dates(grid, months: int = 24, horizon: int = 90) -> list[pd.Timestamp]:
    """The last ``months`` month-start as-of dates whose outcome ``horizon`` days later the grid knows."""
    last_known = add_months(grid.last_month, 1)  # the end of the last month the data covers
    inst = grid.instants
    out = []
    for t in inst:
        if t < grid.first_month:
            continue
        pos = inst.searchsorted(t + pd.Timedelta(days=horizon))
        if pos < len(inst) and inst[pos] <= last_known:
            out.append(t)
    return out[-months:] if months else out


def backtest_dataset(model: HealthModel, dataset, months: int = 24, horizon: int = 90, target: str = "churned",
                     n_boot: int = 500, seed: int = 0,
                     progress: Callable[[float, str], None] | None = None,
                     cancelled: Callable[[], bool] | None = None) -> BacktestResult:
    """Rebuild the monthly snapshots of a dataset, derive outcomes from its MRR, and backtest.

    ``progress(fraction, text)`` is told how far it got; when ``cancelled()`` turns true the work
    stops at the next step and an empty result says so."""
    from .. import snapshots

    grid, problems = snapshots.mrr_grid(dataset)
    if grid is None:
        return empty_result(model, horizon, target, ["no revenue data (an MRR table or subscriptions): "
                                                     "who churned cannot be known"], problems)
    dates = backtest_dates(grid, months, horizon)
    if not dates:
        return empty_result(model, horizon, target, [f"the data does not reach {horizon} days past any month end; "
                                                     f"no as-of date can be checked"], problems)
    from ..accounts_snapshot import account_snapshots  # noqa: PLC0415 - written elsewhere, loaded lazily

    if progress:
        progress(0.0, f"rebuilding {len(dates)} monthly snapshots")
    snaps = account_snapshots(dataset, dates)
    if cancelled and cancelled():
        return empty_result(model, horizon, target, ["cancelled"], problems)
    if progress:
        progress(0.6, "deriving outcomes")
    outcomes = outcomes_from_grid(grid, dates, horizons=sorted({30, 60, 90, int(horizon)}))
    if progress:
        progress(0.7, "scoring and testing")
    result = backtest(model, snaps, outcomes, horizon, target, n_boot=n_boot, seed=seed)
    result.problems = problems + result.problems
    if progress:
        progress(1.0, "done")
    return result


def empty_result(model: HealthModel, horizon: int, target: str, warnings: list[str],
                 problems: list[Problem] | None = None) -> BacktestResult:
    nan = float("nan")
    return BacktestResult(model.name, int(horizon), target, [], 0, 0, 0, 0, nan, nan, (nan, nan),
                          pd.DataFrame(columns=["band", "observations", "churned", "churn_rate", "share_of_churned"]),
                          nan, nan, nan, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), warnings, list(problems or []))
