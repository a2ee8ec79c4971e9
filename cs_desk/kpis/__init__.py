"""KPIs: one registry (``registry.REGISTRY``), one ``compute``.

Importing this package registers every KPI family; faces read ``REGISTRY`` and never keep a
list of their own.
"""
from . import revenue  # noqa: F401  (registers the revenue and renewal KPIs)
from .engine import KpiResult, UsageError, compute, movements
from .registry import FAMILIES, KPI, REGISTRY, get, headline_kpis, registry_frame

__all__ = ["KPI", "KpiResult", "REGISTRY", "FAMILIES", "UsageError", "compute", "movements", "get",
           "headline_kpis", "registry_frame"]
