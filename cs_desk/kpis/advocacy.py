"""Advocacy and relationship KPIs from the accounts table (DESIGN.md, "Sentiment").

The CRM fields ``referrals``, ``reviews`` and ``case_studies`` are counts without a date, so
they are summed over the accounts that had become customers by the period end
(``customer_since`` before it, or unknown). ``relationship_score`` is the mean CSM sentiment of
the accounts that are customers at the period end (paying, when there is revenue data); with a
``csm_sentiment_date`` only sentiments recorded before the period end count.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .adoption import customers_at
from .context import Context, latest_accounts
from .registry import family, kpi, reads, safe_div

COUNTS = ("referrals", "reviews", "case_studies")


@family("advocacy", needs=("accounts",), label="Advocacy and relationship", several_by=True)
def aggregate_advocacy(ctx: Context) -> pd.DataFrame:
    acc, positions = latest_accounts(ctx.dataset)
    ids = pd.Index(acc["account_id"].astype(object))
    codes = ctx.group_codes_at(positions)
    ends = [p.end for p in ctx.periods]
    P = len(ends)
    since = acc["customer_since"].to_numpy(dtype="datetime64[ns]") if "customer_since" in acc else \
        np.full(len(acc), np.datetime64("NaT"), dtype="datetime64[ns]")
    instants = np.array(ends, dtype="datetime64[ns]")
    known = np.isnat(since)[:, None] | (since[:, None] < instants[None, :])  # customer by each period end
    blocks = {}
    advocate = np.zeros((len(acc), P), dtype=bool)
    for name in COUNTS:
        if name in acc:
            v = pd.to_numeric(acc[name], errors="coerce").to_numpy(dtype=float)
            vals = np.where(known, np.nan_to_num(v)[:, None], 0.0)
            blocks[name] = ctx.sum_by_group(vals, codes)
            advocate |= known & (np.nan_to_num(v)[:, None] > 0)
        else:
            blocks[name] = np.full((len(ctx.group_labels), P), np.nan)
    blocks["advocate_accounts"] = ctx.sum_by_group(advocate.astype(float), codes)
    blocks["customers"] = ctx.sum_by_group(known.astype(float), codes)
    if "csm_sentiment" in acc:
        s = pd.to_numeric(acc["csm_sentiment"], errors="coerce").to_numpy(dtype=float)
        pop = customers_at(ctx, ids, ends)
        current = np.ones((len(acc), P)) if pop is None else pop
        has = ~np.isnan(s)[:, None] & (current == 1)
        if "csm_sentiment_date" in acc:
            d = acc["csm_sentiment_date"].to_numpy(dtype="datetime64[ns]")
            has &= np.isnat(d)[:, None] | (d[:, None] < instants[None, :])
        unknown = np.isnan(current).all(axis=0) if len(acc) else np.zeros(P, bool)
        sums = np.where(has, np.nan_to_num(s)[:, None], 0.0)
        cnt = has.astype(float)
        sums[:, unknown] = np.nan
        cnt[:, unknown] = np.nan
        blocks["sentiment_sum"] = ctx.sum_by_group(sums, codes)
        blocks["sentiment_count"] = ctx.sum_by_group(cnt, codes)
    else:
        blocks["sentiment_sum"] = np.full((len(ctx.group_labels), P), np.nan)
        blocks["sentiment_count"] = np.full((len(ctx.group_labels), P), np.nan)
    return ctx.frame_from_blocks(blocks)


kpi("referrals", label="Referrals", unit="count", family="advocacy", direction="higher",
    formula="Sum of accounts.referrals over the accounts that were customers by the period end (the CRM "
            "count has no date)")(reads("referrals"))


kpi("reviews", label="Reviews", unit="count", family="advocacy", direction="higher",
    formula="Sum of accounts.reviews over the accounts that were customers by the period end")(reads("reviews"))


kpi("case_studies", label="Case studies", unit="count", family="advocacy", direction="higher",
    formula="Sum of accounts.case_studies over the accounts that were customers by the period "
            "end")(reads("case_studies"))


kpi("advocate_accounts", label="Advocate accounts", unit="count", family="advocacy", direction="higher",
    formula="Accounts (customers by the period end) with at least one referral, review or case "
            "study")(reads("advocate_accounts"))


@kpi("relationship_score", label="Relationship score", unit="score", family="advocacy", direction="higher",
     formula="Mean CSM sentiment (accounts.csm_sentiment, on the CRM's own scale) of the accounts that are "
             "customers at the period end; with csm_sentiment_date, only sentiments recorded before the end")
def relationship_score(a):
    return safe_div(a["sentiment_sum"], a["sentiment_count"])
