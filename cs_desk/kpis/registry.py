"""The KPI registry: the one list of KPIs every face reads.

A *family* computes base quantities once for every (period, group) — e.g. start MRR, churned
MRR, logos at start — as a DataFrame indexed by ``(period, group)``. A *KPI* is a registry entry
next to a small pure function that derives its value from those columns, vectorised over all
periods and groups at once. A KPI function may return a DataFrame instead of a Series: then each
column is one value of a dimension and the output id is ``kpi_id[column]``
(e.g. ``feature_adoption[reports]``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

UNITS = ("fraction", "currency", "count", "score", "ratio", "months", "days", "hours", "number")
DIRECTIONS = ("higher", "lower", None)

#: A pseudo-table name: satisfied by an MRR table or by subscriptions.
REVENUE = "revenue"


@dataclass(frozen=True)
class KPI:
    id: str
    label: str
    unit: str
    family: str
    formula: str
    fn: Callable[[pd.DataFrame], "pd.Series | pd.DataFrame"]
    direction: str | None = None  # "higher" or "lower" is better; None = neither
    target: float | None = None
    needs: tuple[str, ...] = ()
    headline: bool = False  # shown as a tile / on the summary sheet
    description: str = ""
    default: bool = True  # False: computed only when asked for by id (costly, e.g. health mix)

    def meets_target(self, value: float | None) -> bool | None:
        """True/False against the default target; None when there is no target or no value."""
        if self.target is None or value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        if self.direction == "higher":
            return value >= self.target
        if self.direction == "lower":
            return value < self.target
        return None

    def is_better(self, new: float, old: float) -> bool | None:
        if self.direction is None or any(v is None or (isinstance(v, float) and math.isnan(v)) for v in (new, old)):
            return None
        return new > old if self.direction == "higher" else new < old


@dataclass(frozen=True)
class Family:
    name: str
    needs: tuple[str, ...]
    aggregate: Callable  # (Context) -> DataFrame indexed by (period, group)
    label: str = ""
    #: the aggregator works through the context's group helpers only (group codes, sums,
    #: event slots), so one call serves a context grouped by several fields at once
    several_by: bool = False


REGISTRY: dict[str, KPI] = {}
FAMILIES: dict[str, Family] = {}


def family(name: str, needs: tuple[str, ...], label: str = "", several_by: bool = False):
    """Register a family aggregator: ``@family("revenue", needs=(REVENUE,))``.

    ``several_by``: the aggregator handles a context grouped by several fields at once (see
    :class:`Family`); otherwise the engine calls it once per field."""

    def register(fn):
        if name in FAMILIES:
            raise ValueError(f"KPI family {name!r} registered twice")
        FAMILIES[name] = Family(name, tuple(needs), fn, label or name, several_by)
        return fn

    return register


def kpi(id: str, *, label: str, unit: str, family: str, formula: str, direction: str | None = None,
        target: float | None = None, needs: tuple[str, ...] | None = None, headline: bool = False,
        description: str = "", default: bool = True):
    """Register a KPI next to its function (see module docstring)."""
    if unit not in UNITS:
        raise ValueError(f"KPI {id!r}: unit {unit!r} not in {UNITS}")
    if direction not in DIRECTIONS:
        raise ValueError(f"KPI {id!r}: direction {direction!r} not in {DIRECTIONS}")

    def register(fn):
        if id in REGISTRY:
            raise ValueError(f"KPI {id!r} registered twice")
        fam_needs = FAMILIES[family].needs if family in FAMILIES else ()
        all_needs = tuple(dict.fromkeys(fam_needs + tuple(needs or ())))
        REGISTRY[id] = KPI(id, label, unit, family, formula, fn, direction, target, all_needs,
                           headline, description, default)
        return fn

    return register


def base_id(kpi_id: str) -> str:
    """``feature_adoption[reports]`` -> ``feature_adoption``."""
    return kpi_id.split("[", 1)[0]


def get(kpi_id: str) -> KPI:
    try:
        return REGISTRY[base_id(kpi_id)]
    except KeyError:
        raise KeyError(f"unknown KPI {kpi_id!r}; `cs-desk kpis` lists them") from None


def headline_kpis() -> list[KPI]:
    return [k for k in REGISTRY.values() if k.headline]


def reads(name: str):
    """A KPI function that reads one aggregated column as it is (counts, sums)."""
    return lambda a: a[name]


def safe_div(num, den):
    """num / den with NaN (undefined) where den is 0 or missing — never inf."""
    num = pd.Series(num) if not isinstance(num, (pd.Series, pd.DataFrame)) else num
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    return out.where(np.isfinite(out)) if isinstance(out, (pd.Series, pd.DataFrame)) else out


def registry_frame() -> pd.DataFrame:
    """Every KPI's definition as a table (Definitions sheet, docs page, `cs-desk kpis`)."""
    rows = [
        {"kpi": k.id, "label": k.label, "unit": k.unit, "direction": k.direction or "",
         "target": k.target, "formula": k.formula, "needs": ", ".join(k.needs), "family": k.family}
        for k in REGISTRY.values()
    ]
    return pd.DataFrame(rows, columns=["kpi", "label", "unit", "direction", "target", "formula", "needs", "family"])
