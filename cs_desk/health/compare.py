"""Compare two health models on the same snapshot: which accounts change band, and how."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .model import HealthModel
from .scoring import BANDS, Scorer, records

COMPARE_COLUMNS = ["account_id", "account_name", "csm", "segment", "score_a", "band_a", "score_b", "band_b",
                   "score_change", "change"]


def _active(snapshot: pd.DataFrame, only_active: bool) -> pd.DataFrame:
    if only_active and "active" in snapshot.columns:
        return snapshot[snapshot["active"].fillna(False).astype(bool).to_numpy()].reset_index(drop=True)
    return snapshot


def _scores(model_a: HealthModel, model_b: HealthModel, snapshot: pd.DataFrame):
    scorer = Scorer(model_a, snapshot)
    a = scorer.compute(model_a)
    if model_b.signature() == model_a.signature():  # same points, other weights: re-weight only
        b = scorer.compute(model_b)
    else:
        b = Scorer(model_b, snapshot).compute(model_b)
    return a, b


def compare(model_a: HealthModel, model_b: HealthModel, snapshot: pd.DataFrame,
            only_changed: bool = True, only_active: bool = True) -> pd.DataFrame:
    """Accounts whose band differs between ``model_a`` and ``model_b`` (all accounts with
    ``only_changed=False``): scores and bands under both, ``score_change`` (b − a) and ``change``
    (``worse`` / ``better`` / ``same``; to or from ``unknown`` counts as ``changed``). Accounts
    that get worse come first, the biggest moves first (green -> red before yellow -> red), then by
    the size of the score change. Accounts whose ``active`` is False (no longer paying) are left
    out unless ``only_active=False``."""
    snapshot = _active(snapshot, only_active)
    a, b = _scores(model_a, model_b, snapshot)
    out = pd.DataFrame({"account_id": snapshot["account_id"].to_numpy()})
    for col in ("as_of", "account_name", "csm", "segment"):
        if col in snapshot.columns:
            out[col] = snapshot[col].to_numpy()
    out["score_a"], out["band_a"] = a.score, a.bands()
    out["score_b"], out["band_b"] = b.score, b.bands()
    out["score_change"] = b.score - a.score
    unknown = (a.band == 3) | (b.band == 3)
    delta = a.band.astype(int) - b.band.astype(int)  # > 0: b is a worse band
    out["change"] = np.where(a.band == b.band, "same", np.where(unknown, "changed",
                                                                 np.where(delta > 0, "worse", "better")))
    kind = {"worse": 0, "changed": 1, "better": 2, "same": 3}
    out["_kind"] = out["change"].map(kind)
    out["_bands"] = -np.abs(delta)
    out["_abs"] = -np.abs(np.nan_to_num(out["score_change"].to_numpy(), nan=0.0))
    if only_changed:
        out = out[out["change"] != "same"]
    out = out.sort_values(["_kind", "_bands", "_abs", "account_id"]).drop(columns=["_kind", "_bands", "_abs"])
    return out.reset_index(drop=True)


def compare_summary(model_a: HealthModel, model_b: HealthModel, snapshot: pd.DataFrame,
                    only_active: bool = True) -> pd.DataFrame:
    """Accounts per (band under a, band under b): rows = band_a, columns = band_b."""
    snapshot = _active(snapshot, only_active)
    a, b = _scores(model_a, model_b, snapshot)
    table = pd.crosstab(pd.Series(a.bands(), name="band_a"), pd.Series(b.bands(), name="band_b"), dropna=False)
    return table.reindex(index=list(BANDS), columns=list(BANDS), fill_value=0)


def compare_records(frame: pd.DataFrame) -> list[dict]:
    return records(frame)
