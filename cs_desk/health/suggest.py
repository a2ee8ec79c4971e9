"""Suggest weights from history — shown as a suggestion, never applied.

A logistic regression of the outcome (churned within the horizon) on each component's points
(0..1 = points / 100; a missing value counts as 50 points), fitted by iteratively re-weighted
least squares with a small ridge penalty (numpy only). A component whose points protect against
churn gets a negative coefficient; the suggested weight is proportional to ``-coefficient``
(components with a coefficient >= 0 get 0 %: in this history they did not help).

Honesty checks: the AUC of the current and the suggested weights on all observations, and on the
newest third of the as-of dates when the fit used only the older two thirds (out of time). A
suggestion that only wins in-sample is not worth applying. Profiles are ignored by the fit (one
weight per component).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .backtest import MIN_EVENTS, Backtest, auc
from .model import HealthModel, NEUTRAL_POINTS
from .scoring import records


def logistic_irls(x: np.ndarray, y: np.ndarray, l2: float = 1.0, max_iter: int = 50,
                  tol: float = 1e-8) -> np.ndarray:
    """Coefficients (intercept first) of a ridge-penalised logistic regression (intercept not
    penalised), by Newton / IRLS."""
    n, k = x.shape
    xx = np.column_stack([np.ones(n), x])
    beta = np.zeros(k + 1)
    p_mean = min(max(y.mean(), 1e-6), 1 - 1e-6)
    beta[0] = math.log(p_mean / (1 - p_mean))
    pen = np.full(k + 1, l2)
    pen[0] = 0.0
    for _ in range(max_iter):
        eta = xx @ beta
        p = 1.0 / (1.0 + np.exp(-np.clip(eta, -35, 35)))
        w = np.maximum(p * (1 - p), 1e-10)
        grad = xx.T @ (y - p) - pen * beta
        hess = (xx * w[:, None]).T @ xx + np.diag(pen)
        step = np.linalg.solve(hess, grad)
        beta = beta + step
        if np.max(np.abs(step)) < tol:
            break
    return beta


@dataclass
class WeightSuggestion:
    model: str
    table: pd.DataFrame  # component, group, current_weight_pct, coefficient, odds_ratio_per_10_points, suggested_weight_pct
    auc_current: float
    auc_suggested: float
    auc_current_holdout: float
    auc_suggested_holdout: float
    n_observations: int
    n_events: int
    warnings: list[str] = field(default_factory=list)

    def weights(self) -> dict[str, float]:
        """Suggested weights (in %) by component id, for ``HealthModel.with_weights`` — only if a
        person chooses to apply them."""
        return {r.component: float(r.suggested_weight_pct) for r in self.table.itertuples()}

    def as_dict(self) -> dict:
        f = lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)  # noqa: E731
        return {"model": self.model, "components": records(self.table), "auc_current": f(self.auc_current),
                "auc_suggested": f(self.auc_suggested), "auc_current_holdout": f(self.auc_current_holdout),
                "auc_suggested_holdout": f(self.auc_suggested_holdout), "n_observations": self.n_observations,
                "n_events": self.n_events, "warnings": list(self.warnings), "applied": False}


def _design(bt: Backtest) -> np.ndarray:
    pts = bt.scorer.points
    return np.where(np.isnan(pts), NEUTRAL_POINTS, pts) / 100.0


def _suggested_model(model: HealthModel, pct: dict[str, float]) -> HealthModel:
    """Flat weights: every group weight is the sum of its components' suggested weights."""
    group_w = {g.id: sum(pct[c.id] for c in model.components if c.group == g.id) for g in model.groups}
    return model.with_weights(pct, group_w)


def suggest_weights(model: HealthModel, snapshots: pd.DataFrame, outcomes: pd.DataFrame, horizon: int = 90,
                    target: str = "churned", l2: float = 1.0) -> WeightSuggestion:
    bt = Backtest(model, snapshots, outcomes, horizon, target)
    return suggest_from_backtest(bt, model, l2)


def suggest_from_backtest(bt: Backtest, model: HealthModel | None = None, l2: float = 1.0) -> WeightSuggestion:
    model = model or bt.model
    x, y = _design(bt), bt.event.astype(float)
    ids = [c.id for c in model.components]
    current = model.effective_weights()
    warnings: list[str] = []
    n_events = int(y.sum())
    nan = float("nan")
    if n_events == 0 or n_events == len(y):
        warnings.append("every observation has the same outcome; nothing to learn weights from")
        beta = np.zeros(len(ids) + 1)
    else:
        beta = logistic_irls(x, y, l2=l2)
    coef = beta[1:]
    raw = np.maximum(-coef, 0.0)
    total = raw.sum()
    pct = {cid: (100.0 * r / total if total > 0 else 0.0) for cid, r in zip(ids, raw)}
    if total <= 0 and not warnings:
        warnings.append("no component's points lowered churn in this history; no weights to suggest")
    if n_events and len(set(bt.observations["account_id"][bt.event])) < MIN_EVENTS:
        warnings.append(f"fewer than {MIN_EVENTS} accounts churned: the suggestion is not reliable")
    table = pd.DataFrame({
        "component": ids,
        "group": [c.group or "" for c in model.components],
        "current_weight_pct": [100 * current[c] for c in ids],
        "coefficient": coef,
        "odds_ratio_per_10_points": np.exp(coef * 0.1),
        "suggested_weight_pct": [pct[c] for c in ids],
    })
    score_now = bt.scorer.compute(model).score
    auc_now = auc(score_now, bt.event)
    auc_sug = auc(bt.scorer.compute(_suggested_model(model, pct)).score, bt.event) if total > 0 else nan

    # out of time: fit on the older two thirds of the as-of dates, test on the newest third
    as_of = pd.to_datetime(bt.observations["as_of"]).to_numpy()
    dates = np.unique(as_of)
    hold_now = hold_sug = nan
    if len(dates) >= 3:
        cut = dates[int(math.ceil(len(dates) * 2 / 3))] if len(dates) > 3 else dates[2]
        train, test = as_of < cut, as_of >= cut
        if 0 < y[train].sum() < train.sum() and 0 < y[test].sum() < test.sum():
            b_tr = logistic_irls(x[train], y[train], l2=l2)
            r_tr = np.maximum(-b_tr[1:], 0.0)
            if r_tr.sum() > 0:
                pct_tr = {cid: 100.0 * r / r_tr.sum() for cid, r in zip(ids, r_tr)}
                hold_sug = auc(bt.scorer.compute(_suggested_model(model, pct_tr)).score[test], bt.event[test])
            hold_now = auc(score_now[test], bt.event[test])
    if not (math.isnan(hold_now) or math.isnan(hold_sug)) and hold_sug < hold_now:
        warnings.append("out of time the suggested weights rank churn worse than the current ones; keep the current weights")
    return WeightSuggestion(model.name, table, auc_now, auc_sug, hold_now, hold_sug, len(y), n_events, warnings)
