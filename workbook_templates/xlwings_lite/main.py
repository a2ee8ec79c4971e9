"""cs-desk for xlwings Lite: paste this into the Lite editor's main.py (and requirements.txt beside it).

The worksheet functions and the "Refresh cs-desk" script are the same as the desktop add-in's:
each body is one call into cs-desk's ``excel_addin`` package, which requirements.txt installs.
Functions are defined here (not only re-exported) because xlwings Lite registers what main.py
itself defines with ``@func`` / ``@script``.

In a cell: =CS_NPS(Surveys!D2:D500)   =CS_NRR(MRR!A1:AK601, "2024-03")   =CS_KPI("arpa", MRR!A1:AK601)
Button: run the script ``refresh_cs_desk`` from the task pane.
"""
import xlwings as xw
from xlwings import arg, func, script

from excel_addin import adapter
from excel_addin.apply import refresh_workbook


@func
@arg("scores", ndim=2, err_to_str=True, doc="NPS answers 0-10")
def cs_nps(scores):
    """Net Promoter Score: % promoters (9-10) minus % detractors (0-6), from -100 to 100."""
    return adapter.cs_nps(scores)


@func
@arg("scores", ndim=2, err_to_str=True, doc="CSAT answers on a 1-5 scale")
def cs_csat(scores):
    """Customer satisfaction: share of 4-5 answers on a 1-5 scale (format the cell as %)."""
    return adapter.cs_csat(scores)


@func
@arg("scores", ndim=2, err_to_str=True, doc="CES answers on a 1-7 scale")
def cs_ces(scores):
    """Customer effort score: mean answer on a 1-7 scale."""
    return adapter.cs_ces(scores)


@func
@arg("table", ndim=2, err_to_str=True, doc="MRR by month or subscriptions, with headers")
@arg("from_month", doc="Optional: month (2024-03), quarter (2024Q1) or year (2024)")
@arg("to_month", doc="Optional: last month of a span within one calendar year")
def cs_nrr(table, from_month=None, to_month=None):
    """Net revenue retention."""
    return adapter.cs_range_kpi("nrr", table, from_month, to_month)


@func
@arg("table", ndim=2, err_to_str=True, doc="MRR by month or subscriptions, with headers")
@arg("from_month", doc="Optional: month (2024-03), quarter (2024Q1) or year (2024)")
@arg("to_month", doc="Optional: last month of a span within one calendar year")
def cs_grr(table, from_month=None, to_month=None):
    """Gross revenue retention."""
    return adapter.cs_range_kpi("grr", table, from_month, to_month)


@func
@arg("table", ndim=2, err_to_str=True, doc="MRR by month or subscriptions, with headers")
@arg("from_month", doc="Optional: month (2024-03), quarter (2024Q1) or year (2024)")
@arg("to_month", doc="Optional: last month of a span within one calendar year")
def cs_logo_churn(table, from_month=None, to_month=None):
    """Logo churn rate."""
    return adapter.cs_range_kpi("logo_churn_rate", table, from_month, to_month)


@func
@arg("table", ndim=2, err_to_str=True, doc="MRR by month or subscriptions, with headers")
@arg("from_month", doc="Optional: first month")
@arg("to_month", doc="Optional: last month")
@arg("only", doc="Optional: new, reactivation, expansion, contraction or churned")
def cs_movements(table, from_month=None, to_month=None, only=None):
    """MRR movements per account and month (spills)."""
    return adapter.cs_movements(table, from_month, to_month, only)


@func
@arg("kpi_id", doc="A KPI id such as nrr, logo_churn_rate, nps, arpa")
@arg("table", ndim=2, err_to_str=True, doc="A table with its header row")
@arg("period", doc="Optional: month (2024-03), quarter (2024Q1) or year (2024)")
@arg("group", doc="Optional: field=value, e.g. segment=SMB")
@arg("table2", ndim=2, err_to_str=True, doc="Optional: another table the KPI needs")
@arg("table3", ndim=2, err_to_str=True, doc="Optional: another table the KPI needs")
@arg("table4", ndim=2, err_to_str=True, doc="Optional: another table the KPI needs")
def cs_kpi(kpi_id, table, period=None, group=None, table2=None, table3=None, table4=None):
    """Any cs-desk KPI for one period and group."""
    return adapter.cs_kpi(kpi_id, table, period, group, table2, table3, table4)


@func
@arg("accounts_table", ndim=2, err_to_str=True, doc="The accounts table with its header row")
@arg("model", ndim=2, doc="Optional: a health model as TOML text")
@arg("as_of", doc="Optional: score as of this date")
@arg("table2", ndim=2, err_to_str=True, doc="Optional: MRR, usage, tickets or surveys table")
@arg("table3", ndim=2, err_to_str=True, doc="Optional: another table")
@arg("table4", ndim=2, err_to_str=True, doc="Optional: another table")
def cs_health(accounts_table, model=None, as_of=None, table2=None, table3=None, table4=None):
    """Health score per account (spills: account_id, score, band)."""
    return adapter.cs_health(accounts_table, model, as_of, table2, table3, table4)


@func
def cs_kpi_list():
    """Every KPI cs-desk computes (spills)."""
    return adapter.cs_kpi_list()


@script
def refresh_cs_desk(book: xw.Book):
    """Refresh cs-desk: write the CS KPIs, CS Accounts, CS Actions and CS Problems sheets."""
    refresh_workbook(book)
