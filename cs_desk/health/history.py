"""Score history: every account's score as of each month end, trends, and last month's score.

"As of the end of month m" is the instant *first day of m + 1* (DESIGN.md, "Time"); the as-of
column holds that instant, and ``month`` labels (``2024-03``) name the month that ended.
Snapshots for past dates come from ``cs_desk.accounts_snapshot.account_snapshots`` (no
information after the as-of date), so a history is what the model *would have said* then.
"""
from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
import pandas as pd

from ..periods import add_months, month_start
from .model import HealthModel
from .scoring import BAND_CODE, Scorer

HISTORY_COLUMNS = ("as_of", "month", "account_id", "score", "band", "profile")


def month_end_instants(last_month, months: int) -> list[pd.Timestamp]:
    """The as-of instants at the end of the ``months`` months up to and including ``last_month``."""
    end = add_months(month_start(last_month), 1)
    return [add_months(end, -i) for i in range(months - 1, -1, -1)]


def month_label(instant) -> str:
    """The month that ends at ``instant`` (an as-of instant): 2024-04-01 -> ``2024-03``."""
    m = add_months(month_start(instant), -1) if pd.Timestamp(instant) == month_start(instant) else month_start(instant)
    return f"{m.year:04d}-{m.month:02d}"


def score_history(model: HealthModel, snapshots: pd.DataFrame, explain: bool = False) -> pd.DataFrame:
    """Score stacked snapshots (with an ``as_of`` column): one row per account and as-of date."""
    if "as_of" not in snapshots.columns:
        raise ValueError("score_history needs stacked snapshots with an `as_of` column")
    scores = Scorer(model, snapshots).score(explain=explain)
    scores.insert(scores.columns.get_loc("as_of") + 1, "month", _labels(scores["as_of"]))
    return scores.sort_values(["as_of", "account_id"], kind="stable").reset_index(drop=True)


def _labels(as_of: pd.Series) -> np.ndarray:
    dates = pd.to_datetime(as_of)
    uniq = dates.unique()
    mapping = {t: month_label(t) for t in uniq}  # one label per date, not per account
    return dates.map(mapping).to_numpy()


def history_dataset(model: HealthModel, dataset, months: int = 12, last_month=None,
                    progress: Callable[[float, str], None] | None = None,
                    cancelled: Callable[[], bool] | None = None) -> pd.DataFrame:
    """Score history of a dataset for the last ``months`` month ends (default: up to the last
    month the data covers). Cancelled (``cancelled()`` true after the snapshots) -> an empty table."""
    from ..accounts_snapshot import account_snapshots  # noqa: PLC0415 - written elsewhere, loaded lazily

    if last_month is None:
        last_month = last_data_month(dataset)
    dates = month_end_instants(last_month, months)
    if progress:
        progress(0.0, f"rebuilding {len(dates)} monthly snapshots")
    snaps = account_snapshots(dataset, dates)
    if cancelled and cancelled():
        return pd.DataFrame(columns=list(HISTORY_COLUMNS))
    if progress:
        progress(0.7, "scoring")
    out = score_history(model, snaps)
    if progress:
        progress(1.0, "done")
    return out


def last_data_month(dataset) -> pd.Timestamp:
    """The last month the data covers: the revenue grid's, else the latest date in any table."""
    from ..snapshots import mrr_grid

    grid, _ = mrr_grid(dataset)
    if grid is not None:
        return grid.last_month
    latest = None
    for frame in dataset.tables.values():
        for col in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[col]) and frame[col].notna().any():
                v = frame[col].max()
                latest = v if latest is None or v > latest else latest
    return month_start(latest if latest is not None else pd.Timestamp.today())


def score_trend(history: pd.DataFrame, months: int | None = None, flat: float = 5.0) -> pd.DataFrame:
    """Per-account trend: one column per month (label of the month that ended), ``change`` (last
    minus first available score), ``change_1m`` and ``trend`` (up / down / flat within ±``flat``)."""
    h = history
    dates = sorted(pd.to_datetime(h["as_of"]).unique())
    if months is not None:
        dates = dates[-months:]
        h = h[pd.to_datetime(h["as_of"]).isin(dates)]
    wide = h.pivot_table(index="account_id", columns="as_of", values="score", aggfunc="last")
    wide = wide.reindex(columns=dates)
    values = wide.to_numpy(dtype=float)
    wide.columns = [month_label(t) for t in wide.columns]
    n_cols = values.shape[1]
    first = _first_valid(values)
    last = _first_valid(values[:, ::-1])
    out = wide.reset_index()
    out["change"] = last - first
    out["change_1m"] = values[:, -1] - values[:, -2] if n_cols >= 2 else np.nan
    out["trend"] = np.where(np.isnan(out["change"]), "", np.where(out["change"] > flat, "up",
                                                                  np.where(out["change"] < -flat, "down", "flat")))
    return out


def _first_valid(values: np.ndarray) -> np.ndarray:
    if values.shape[1] == 0:
        return np.full(values.shape[0], np.nan)
    ok = ~np.isnan(values)
    idx = ok.argmax(axis=1)
    out = values[np.arange(values.shape[0]), idx]
    return np.where(ok.any(axis=1), out, np.nan)


def with_previous(current: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """``current`` scores plus ``score_prev``, ``band_prev``, ``score_change`` and
    ``band_change`` (``worse`` / ``better`` / ``same``) from ``previous`` (e.g. last month's)."""
    prev = previous[["account_id", "score", "band"]].rename(columns={"score": "score_prev", "band": "band_prev"})
    prev = prev.drop_duplicates("account_id", keep="last")
    out = current.drop(columns=[c for c in ("score_prev", "band_prev", "score_change", "band_change")
                                if c in current.columns]).merge(prev, on="account_id", how="left")
    out["score_change"] = out["score"] - out["score_prev"]
    # band codes as floats (NaN: no band), so the comparisons are plain booleans whatever string
    # storage pandas uses (with pyarrow installed, a str column maps to a nullable dtype)
    now = pd.to_numeric(out["band"].astype(object).map(BAND_CODE), errors="coerce").to_numpy(dtype=float)
    before = pd.to_numeric(out["band_prev"].astype(object).map(BAND_CODE), errors="coerce").to_numpy(dtype=float)
    scored = (now < 3) & (before < 3)
    out["band_change"] = np.where(~scored, "", np.where(now < before, "worse",
                                                        np.where(now > before, "better", "same")))
    out["band_prev"] = out["band_prev"].astype("string")
    return out


def latest_with_previous(history: pd.DataFrame) -> pd.DataFrame:
    """The latest as-of date's scores with the previous date's attached (what playbooks read)."""
    dates = sorted(pd.to_datetime(history["as_of"]).unique())
    as_of = pd.to_datetime(history["as_of"])
    current = history[as_of == dates[-1]]
    if len(dates) < 2:
        return with_previous(current, current.iloc[0:0])
    return with_previous(current.reset_index(drop=True), history[as_of == dates[-2]])


def mix_history(history: pd.DataFrame, weight: str | None = None, by: str | None = None) -> pd.DataFrame:
    """Health mix per month with its month-over-month change (see :func:`scoring.health_mix`)."""
    from .scoring import health_mix

    out = health_mix(history, by=by, weight=weight)
    out.insert(1, "month", _labels(out["as_of"]))
    return out


def account_history(history: pd.DataFrame, account_ids: Iterable[str]) -> pd.DataFrame:
    ids = set(map(str, account_ids))
    return history[history["account_id"].astype(str).isin(ids)].reset_index(drop=True)
