"""Builders shared by the health tests: models from TOML snippets, hand-made snapshots, histories."""
from __future__ import annotations

import numpy as np
import pandas as pd

from cs_desk.health import loads
from cs_desk.health.model import SNAPSHOT_COLUMNS
from cs_desk.snapshots import MrrGrid

KNOWN = set(SNAPSHOT_COLUMNS) | {"m1", "m2", "m3", "flag", "signal", "noise", "pulse_reason", "pulse_age"}


def model(text: str, name: str = "test"):
    """A model from a TOML snippet; fails the test when the snippet has any problem."""
    m, problems = loads(f'name = "{name}"\n' + text, "test.toml", KNOWN)
    assert m is not None and problems == [], [str(p) for p in problems]
    return m


def component(cid: str, metric: str, weight: float, scale: str, direction: str = "higher",
              missing: str = "reweight", extra: str = "") -> str:
    return (f'\n[[components]]\nid = "{cid}"\nmetric = "{metric}"\nweight = {weight}\n'
            f'direction = "{direction}"\nscale = {scale}\nmissing = "{missing}"\n{extra}\n')


def snapshot(**columns) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    data = {"account_id": [f"A{i + 1}" for i in range(n)]}
    data.update(columns)
    return pd.DataFrame(data)


def history(n_accounts: int = 400, months: int = 18, churn_share: float = 0.4, seed: int = 7):
    """A constructed history where the right answer is known.

    Every account pays 100 a month until its churn month (some never churn). ``signal`` is the
    number of months until the account churns (capped at 12, so it is *the* churn signal);
    ``noise`` is random. Returns ``(grid, snapshots, as_of_dates, churn_index)``.
    """
    rng = np.random.default_rng(seed)
    instants = pd.date_range("2022-01-01", periods=months + 5, freq="MS")
    t = len(instants)
    ids = pd.Index([f"C{i:04d}" for i in range(n_accounts)], name="account_id")
    churn_at = np.where(rng.random(n_accounts) < churn_share, rng.integers(2, t, n_accounts), t + 100)
    cols = np.arange(t)
    mrr = np.where(cols[None, :] < churn_at[:, None], 100.0, 0.0)
    grid = MrrGrid(ids, instants, mrr, np.zeros(mrr.shape), instants[1], instants[-2], "mrr")
    dates = list(instants[1:months + 1])
    frames = []
    for d in dates:
        i = instants.get_loc(d)
        frames.append(pd.DataFrame({
            "account_id": ids, "as_of": d,
            "account_name": [f"Account {x}" for x in ids],
            "csm": np.where(np.arange(n_accounts) % 2 == 0, "Ana", "Ben"),
            "signal": np.clip(churn_at - i, 0, 12).astype(float),
            "noise": rng.random(n_accounts),
            "mrr": mrr[:, i],
            "active": mrr[:, i] > 0,
        }))
    return grid, pd.concat(frames, ignore_index=True), dates, churn_at


SIGNAL_MODEL = component("sig", "signal", 1, '{ type = "linear", low = 0, high = 12 }')
NOISE_MODEL = component("noise", "noise", 1, '{ type = "linear", low = 0, high = 1 }')
