"""cs-desk worksheet functions: one module for the classic add-in, xlwings Lite and xlwings Server.

``from xlwings import func, arg`` binds the decorators of the runtime that imports this module:
the COM UDF decorators on Windows (classic add-in, "Import Functions"), the Office.js ones in
xlwings Lite (Pyodide) and xlwings Server, and no-op decorators anywhere else (Linux, tests),
where these are plain functions. Every argument is declared ``ndim=2`` or as a single value, so
each runtime hands the same Python values to the body; each body is one call into the pure
:mod:`excel_addin.adapter`, which turns bad input into a ``#CS: ...`` text instead of an error.

No type hints on the parameters: the classic decorators would turn them into converters.
"""
from xlwings import arg, func

from . import adapter

TABLE_DOC = "A table with its header row, e.g. Billing!A1:F500 (MRR by month, subscriptions, surveys ...)"
MORE_DOC = "Optional: another table the KPI needs (e.g. the accounts table for CLV:CAC or a group)"


@func(category="cs-desk")
@arg("scores", ndim=2, err_to_str=True, doc="NPS answers 0-10 (a column or row; empty cells are skipped, a header cell is allowed)")
def cs_nps(scores):
    """Net Promoter Score: % promoters (9-10) minus % detractors (0-6), from -100 to 100."""
    return adapter.cs_nps(scores)


@func(category="cs-desk")
@arg("scores", ndim=2, err_to_str=True, doc="CSAT answers on a 1-5 scale")
def cs_csat(scores):
    """Customer satisfaction: share of 4-5 answers on a 1-5 scale (format the cell as %)."""
    return adapter.cs_csat(scores)


@func(category="cs-desk")
@arg("scores", ndim=2, err_to_str=True, doc="CES answers on a 1-7 scale")
def cs_ces(scores):
    """Customer effort score: mean answer on a 1-7 scale."""
    return adapter.cs_ces(scores)


@func(category="cs-desk")
@arg("table", ndim=2, err_to_str=True, doc="MRR by month (long or one column per month) or subscriptions, with headers")
@arg("from_month", doc="Optional: the month (2024-03), quarter (2024Q1) or year (2024); default the last month")
@arg("to_month", doc="Optional: the last month of a span that starts at from_month (same calendar year)")
def cs_nrr(table, from_month=None, to_month=None):
    """Net revenue retention: end MRR of the accounts active at the start / their start MRR."""
    return adapter.cs_range_kpi("nrr", table, from_month, to_month)


@func(category="cs-desk")
@arg("table", ndim=2, err_to_str=True, doc="MRR by month (long or one column per month) or subscriptions, with headers")
@arg("from_month", doc="Optional: the month (2024-03), quarter (2024Q1) or year (2024); default the last month")
@arg("to_month", doc="Optional: the last month of a span that starts at from_month (same calendar year)")
def cs_grr(table, from_month=None, to_month=None):
    """Gross revenue retention: start MRR kept (expansion not counted) / start MRR."""
    return adapter.cs_range_kpi("grr", table, from_month, to_month)


@func(category="cs-desk")
@arg("table", ndim=2, err_to_str=True, doc="MRR by month (long or one column per month) or subscriptions, with headers")
@arg("from_month", doc="Optional: the month (2024-03), quarter (2024Q1) or year (2024); default the last month")
@arg("to_month", doc="Optional: the last month of a span that starts at from_month (same calendar year)")
def cs_logo_churn(table, from_month=None, to_month=None):
    """Logo churn rate: accounts active at the start and not at the end / accounts active at the start."""
    return adapter.cs_range_kpi("logo_churn_rate", table, from_month, to_month)


@func(category="cs-desk")
@arg("table", ndim=2, err_to_str=True, doc="MRR by month (long or one column per month) or subscriptions, with headers")
@arg("from_month", doc="Optional: first month (default: every month of the data)")
@arg("to_month", doc="Optional: last month")
@arg("only", doc="Optional: new, reactivation, expansion, contraction or churned (comma-separated)")
def cs_movements(table, from_month=None, to_month=None, only=None):
    """MRR movements per account and month (spills: period, account_id, movement, start_mrr, end_mrr, delta)."""
    return adapter.cs_movements(table, from_month, to_month, only)


@func(category="cs-desk")
@arg("kpi_id", doc="A KPI id such as nrr, logo_churn_rate, nps, arpa (=CS_KPI_LIST() lists them)")
@arg("table", ndim=2, err_to_str=True, doc=TABLE_DOC)
@arg("period", doc="Optional: month (2024-03), quarter (2024Q1) or year (2024); default the last month")
@arg("group", doc="Optional: field=value, e.g. segment=SMB (needs the accounts table)")
@arg("table2", ndim=2, err_to_str=True, doc=MORE_DOC)
@arg("table3", ndim=2, err_to_str=True, doc=MORE_DOC)
@arg("table4", ndim=2, err_to_str=True, doc=MORE_DOC)
def cs_kpi(kpi_id, table, period=None, group=None, table2=None, table3=None, table4=None):
    """Any cs-desk KPI for one period and group, from one or more tables (recognised by their headers)."""
    return adapter.cs_kpi(kpi_id, table, period, group, table2, table3, table4)


@func(category="cs-desk")
@arg("accounts_table", ndim=2, err_to_str=True, doc="The accounts table with its header row")
@arg("model", ndim=2, doc="Optional: a health model as TOML text (one cell, or a column of lines)")
@arg("as_of", doc="Optional: score as of this date (default: the end of the data)")
@arg("table2", ndim=2, err_to_str=True, doc="Optional: MRR, usage, tickets or surveys table the model reads")
@arg("table3", ndim=2, err_to_str=True, doc="Optional: another table the model reads")
@arg("table4", ndim=2, err_to_str=True, doc="Optional: another table the model reads")
def cs_health(accounts_table, model=None, as_of=None, table2=None, table3=None, table4=None):
    """Health score per account (spills: account_id, score 0-100, band red/yellow/green)."""
    return adapter.cs_health(accounts_table, model, as_of, table2, table3, table4)


@func(category="cs-desk")
def cs_kpi_list():
    """Every KPI cs-desk computes (spills: id, label, unit, needs, formula)."""
    return adapter.cs_kpi_list()


#: What Excel sees, by Python name (tests and the Lite/Server re-exports use it).
FUNCTIONS = (cs_nps, cs_csat, cs_ces, cs_nrr, cs_grr, cs_logo_churn, cs_movements, cs_kpi, cs_health, cs_kpi_list)
__all__ = [f.__name__ for f in FUNCTIONS]
