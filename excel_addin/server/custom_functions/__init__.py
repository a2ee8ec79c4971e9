"""xlwings Server registers the @func functions importable from this package: cs-desk's, re-exported."""
from excel_addin.functions import (  # noqa: F401  (re-exported on purpose: xlwings Server registers these)
    cs_ces,
    cs_csat,
    cs_grr,
    cs_health,
    cs_kpi,
    cs_kpi_list,
    cs_logo_churn,
    cs_movements,
    cs_nps,
    cs_nrr,
)
