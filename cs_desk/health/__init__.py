"""Health scores: readable TOML models, vectorised scoring, history, and a backtest against churn.

Public API (the CLI, GUI and add-in call only these):

* models — :class:`HealthModel` (``HealthModel.load(path) -> (model, problems)``), :func:`load`,
  :func:`loads`, :func:`validate`, :func:`save`, ``model.weights_table()``, ``model.with_weights()``
* scoring — :func:`score`, :class:`Scorer` (precomputed points; re-weights in ~1 ms),
  :func:`scored_snapshot` (snapshot + health columns, for playbooks), :func:`score_summary`,
  :func:`health_mix`, :func:`explain`, :func:`score_records`
* history — :func:`score_history`, :func:`history_dataset`, :func:`score_trend`,
  :func:`with_previous`, :func:`latest_with_previous`, :func:`mix_history`
* validation against outcomes — :func:`backtest`, :func:`backtest_dataset`,
  :func:`outcomes_from_grid`, :class:`Backtest`, :class:`BacktestResult`, :func:`auc`
* :func:`compare`, :func:`compare_summary`; :func:`suggest_weights` (a suggestion, never applied)
"""
from __future__ import annotations

from pathlib import Path

from .backtest import (MIN_EVENTS, Backtest, BacktestResult, auc, backtest, backtest_dataset, backtest_dates,
                       bootstrap_auc, outcomes_from_grid)
from .compare import compare, compare_records, compare_summary
from .conditions import Condition
from .explain import Explanation, explain
from .history import (history_dataset, latest_with_previous, mix_history, month_end_instants, score_history,
                      score_trend, with_previous)
from .model import (BAND_NAMES, DIRECTIONS, MISSING_POLICIES, SCALE_TYPES, Band, BandThresholds, Component,
                    Group, HealthModel, Profile, Scale, dumps, load, loads, save, validate)
from .scoring import (BANDS, ScoreArrays, Scorer, health_mix, health_mix_change, records, score, score_records,
                      score_summary, scored_snapshot)
from .suggest import WeightSuggestion, suggest_from_backtest, suggest_weights

#: the example models and playbooks that ship with cs-desk, as package data (the copies in the
#: repository's workbook_templates/ are kept identical by tests/test_templates.py)
TEMPLATES = Path(__file__).resolve().parents[1] / "data"
DEFAULT_MODEL = "health_default.toml"


def default_model(name: str = DEFAULT_MODEL) -> tuple[HealthModel | None, list]:
    """The shipped example model (``health_default.toml``; or ``health_adoption_first.toml``):
    ``(model, problems)`` like :func:`load`."""
    return load(TEMPLATES / name)


__all__ = [
    "BAND_NAMES", "BANDS", "DIRECTIONS", "MIN_EVENTS", "MISSING_POLICIES", "SCALE_TYPES",
    "Backtest", "BacktestResult", "Band", "BandThresholds", "Component", "Condition", "Explanation", "Group",
    "HealthModel", "Profile", "Scale", "ScoreArrays", "Scorer", "WeightSuggestion",
    "DEFAULT_MODEL", "TEMPLATES", "auc", "backtest", "backtest_dataset", "backtest_dates", "bootstrap_auc", "compare", "compare_records",
    "compare_summary", "default_model", "dumps", "explain", "health_mix", "health_mix_change", "history_dataset",
    "latest_with_previous", "load", "loads", "mix_history", "month_end_instants", "outcomes_from_grid",
    "records", "save", "score", "score_history", "score_records", "score_summary", "score_trend", "scored_snapshot", "suggest_from_backtest",
    "suggest_weights", "validate", "with_previous",
]
