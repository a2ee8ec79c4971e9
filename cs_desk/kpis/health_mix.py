"""``health_mix``: share of paying accounts per health band at each period end, and its change.

These KPIs rebuild every account's health score as of every period end, which costs more than
most other KPIs together on a big portfolio, so they are computed on request: ``compute(kpis=["health_mix", ...])`` / ``cs-desk compute --kpi health_mix``
and in the reports, which show the health mix.

The health model is ``options["health_model"]`` (a loaded model or a TOML path); without one the
shipped default model is used. Scores are rebuilt as of each period end from the per-account
snapshot, so no information from after the period is used; the snapshot computes only the
columns the model reads (:func:`snapshot_columns`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .context import Context
from .registry import REVENUE, family, kpi, reads, safe_div

BANDS = ("green", "yellow", "red")


def _model(options: dict):
    from ..health import default_model, load

    given = options.get("health_model")
    if given is not None and not isinstance(given, (str, bytes)) and not hasattr(given, "__fspath__"):
        return given, []
    return load(given) if given is not None else default_model()


#: Snapshot columns the health mix reads besides the model's own (``active`` filters the paying
#: accounts; segment and mrr are cheap and commonly read).
_MIX_COLUMNS = ("account_id", "as_of", "active", "segment", "mrr")


def snapshot_columns(model) -> list[str] | None:
    """The snapshot columns scoring ``model`` reads: its components' metrics (and staleness age
    and reason columns), its profiles' ``when`` metrics, plus :data:`_MIX_COLUMNS`. Names that
    are not snapshot columns are left out (the scorer treats them as missing either way)."""
    from ..accounts_snapshot import COLUMNS

    names = set(_MIX_COLUMNS)
    for comp in model.components:
        names.add(comp.metric)
        if comp.stale_after_days is not None:
            names.add(comp.age_column)
        if comp.reason_metric:
            names.add(comp.reason_metric)
    for prof in model.profiles:
        names.update(cond.metric for cond in prof.when)
    return [c for c in COLUMNS if c in names]


@family("health", needs=(REVENUE,), label="Health")
def aggregate_health(ctx: Context) -> pd.DataFrame:
    """Paying accounts per band (``n_green`` ...) at each period end, for ``all`` and each group
    (counted as for any number of fields; the engine gives this family one field at a time)."""
    from ..accounts_snapshot import account_snapshots
    from ..health.scoring import BANDS as SCORE_BANDS

    model, problems = _model(ctx.options)
    ctx.problems.extend(problems)
    index = ctx.index()
    if model is None:
        return pd.DataFrame({f"n_{b}": np.nan for b in BANDS}, index=index)
    stacked = account_snapshots(ctx.dataset, [p.end for p in ctx.periods], options=ctx.options,
                                columns=snapshot_columns(model), active_only=True)
    # the bands of score_history(model, stacked), without its (here unused) per-row table and sort
    band_of_code = np.array([BANDS.index(b) if b in BANDS else -1 for b in SCORE_BANDS])
    band = band_of_code[_score_bands(model, stacked)]
    period = _period_of_end(ctx, stacked["as_of"].to_numpy(dtype="datetime64[ns]"))
    counted = (period >= 0) & (band >= 0)
    width = len(ctx.group_labels)
    counts = np.zeros(len(index) * len(BANDS))
    for group in ctx.group_rows(ctx.group_codes(stacked["account_id"])):  # "all", then each field's group
        cell = (period * width + group) * len(BANDS) + band
        counts += np.bincount(cell[counted], minlength=len(counts))
    counts = counts.reshape(len(index), len(BANDS))
    return pd.DataFrame({f"n_{b}": counts[:, i] for i, b in enumerate(BANDS)}, index=index)


#: rows scored at once: whole as-of dates up to about this many rows (the scorer's arrays are
#: rows x components; scoring 35 dates x 100k accounts in one go spends more time faulting in
#: fresh memory than scoring)
CHUNK_ROWS = 200_000


def _score_bands(model, stacked: pd.DataFrame) -> np.ndarray:
    """The scorer's band code of every row, scored a few whole as-of dates at a time (percentile
    scales rank within an as-of date, so the result equals scoring every row at once)."""
    from ..health import Scorer

    codes, _ = pd.factorize(stacked["as_of"])
    if len(stacked) <= CHUNK_ROWS or not len(codes):
        return Scorer(model, stacked).compute().band
    order = np.argsort(codes, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(codes))])
    band = np.empty(len(stacked), dtype=np.int8)
    first = 0
    while first < len(bounds) - 1:
        last = first + 1  # at least one date; more while they fit
        while last < len(bounds) - 1 and bounds[last + 1] - bounds[first] <= CHUNK_ROWS:
            last += 1
        rows = order[bounds[first]:bounds[last]]
        band[rows] = Scorer(model, stacked.iloc[rows]).compute().band
        first = last
    return band


def _period_of_end(ctx: Context, instants: np.ndarray) -> np.ndarray:
    """Position of the period ending at each instant (-1: none ends there)."""
    return pd.DatetimeIndex([p.end for p in ctx.periods]).get_indexer(instants)


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


kpi("accounts_at_risk", label="Accounts at risk", unit="count", family="health", direction="lower", default=False,
    formula="Paying accounts in the red band at the end of the period")(reads("n_red"))
