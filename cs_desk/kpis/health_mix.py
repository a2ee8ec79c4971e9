"""``health_mix``: share of paying accounts per health band at each period end, and its change.

These KPIs rebuild every account's health score as of every period end, which costs far more than
every other KPI together on a big portfolio (~30 s for 100k accounts x 36 months), so they are
computed on request: ``compute(kpis=["health_mix", ...])`` / ``cs-desk compute --kpi health_mix``
and in the reports, which show the health mix.

The health model is ``options["health_model"]`` (a loaded model or a TOML path); without one the
shipped default model is used. Scores are rebuilt as of each period end from the per-account
snapshot, so no information from after the period is used.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .context import Context
from .registry import REVENUE, family, kpi, safe_div

BANDS = ("green", "yellow", "red")


def _model(options: dict):
    from ..health import default_model, load

    given = options.get("health_model")
    if given is not None and not isinstance(given, (str, bytes)) and not hasattr(given, "__fspath__"):
        return given, []
    return load(given) if given is not None else default_model()


@family("health", needs=(REVENUE,), label="Health")
def aggregate_health(ctx: Context) -> pd.DataFrame:
    from ..accounts_snapshot import account_snapshots
    from ..health import score_history

    model, problems = _model(ctx.options)
    ctx.problems.extend(problems)
    index = ctx.index()
    if model is None:
        return pd.DataFrame({f"n_{b}": np.nan for b in BANDS}, index=index)
    stacked = account_snapshots(ctx.dataset, [p.end for p in ctx.periods], options=ctx.options)
    stacked = stacked[stacked["active"].fillna(False).astype(bool)] if "active" in stacked else stacked
    scores = score_history(model, stacked.reset_index(drop=True))
    label_of = {p.end: p.label for p in ctx.periods}
    scores["period"] = pd.to_datetime(scores["as_of"]).map(label_of)
    parts = [scores.assign(group="all")]
    if ctx.by:
        labels = np.asarray(ctx.group_labels[1:], dtype=object)
        parts.append(scores.assign(group=labels[ctx.group_codes(scores["account_id"])]))
    table = pd.concat(parts).groupby(["period", "group", "band"]).size().unstack("band")
    table = table.reindex(index).reindex(columns=list(BANDS)).fillna(0.0)
    return pd.DataFrame({f"n_{b}": table[b].to_numpy() for b in BANDS}, index=index)


@kpi("health_mix", label="Health mix", unit="fraction", family="health", default=False,
     formula="Share of paying accounts in each health band (green / yellow / red) at the end of the period, "
             "scored with the health model as of that date")
def health_mix(a: pd.DataFrame) -> pd.DataFrame:
    total = sum(a[f"n_{b}"] for b in BANDS)
    return pd.DataFrame({b: safe_div(a[f"n_{b}"], total) for b in BANDS})


@kpi("health_mix_change", label="Health mix change", unit="fraction", family="health", default=False,
     formula="Change of each band's share against the previous period (percentage points as a fraction)")
def health_mix_change(a: pd.DataFrame) -> pd.DataFrame:
    mix = health_mix(a)
    return mix - mix.groupby(level="group", sort=False).shift(1)


@kpi("accounts_at_risk", label="Accounts at risk", unit="count", family="health", direction="lower", default=False,
     formula="Paying accounts in the red band at the end of the period")
def accounts_at_risk(a: pd.DataFrame) -> pd.Series:
    return a["n_red"]
