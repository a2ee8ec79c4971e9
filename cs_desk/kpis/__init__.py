"""KPIs: one registry (``registry.REGISTRY``), one ``compute``.

Importing this package registers every KPI family; faces read ``REGISTRY`` and never keep a
list of their own.
"""
from . import revenue  # noqa: F401  (registers the revenue and renewal KPIs)
from . import sentiment  # noqa: F401  (NPS, CSAT, CES)
from . import adoption  # noqa: F401  (usage: active users, feature adoption, depth, breadth, stickiness ...)
from . import support  # noqa: F401  (tickets)
from . import onboarding  # noqa: F401  (onboarded accounts, time to onboard)
from . import advocacy  # noqa: F401  (referrals, relationship score)
from . import health_mix  # noqa: F401  (share of accounts per health band, rebuilt as of each period end)
from .engine import KpiResult, UsageError, compute, compute_many, months_covered, movements
from .registry import FAMILIES, KPI, REGISTRY, get, headline_kpis, registry_frame

__all__ = ["KPI", "KpiResult", "REGISTRY", "FAMILIES", "UsageError", "compute", "compute_many", "months_covered", "movements", "get",
           "headline_kpis", "registry_frame"]
