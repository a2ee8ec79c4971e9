"""Canonical tables and fields: the single source of truth for names, kinds and aliases.

Readers map any source column onto these fields; every KPI, sheet and face uses only these
names. A field's *kind* decides how its values are parsed and what the cleaned column holds:

=========  ==========================================================
kind       cleaned dtype
=========  ==========================================================
id         str (stripped; numbers like ``1001.0`` become ``"1001"``)
text       str or missing
category   str or missing (e.g. segment, plan, survey type)
date       datetime64[ns], time of day dropped
datetime   datetime64[ns], time of day kept
number     float64
money      float64 (currency symbols and thousands separators removed)
integer    float64 holding whole numbers (missing allowed)
fraction   float64 in 0..1 (``"20%"`` -> 0.2)
interval   float64 number of months (month=1, quarter=3, year=12, "6" -> 6)
score      float64 (survey / sentiment scores)
=========  ==========================================================
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    label: str
    fields: tuple[Field, ...]
    sheet_names: tuple[str, ...] = ()  # sheet / file names that identify this table
    description: str = ""
    # alternative sets of fields of which at least one must be present (besides `required`)
    one_of: tuple[tuple[str, ...], ...] = field(default=())

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"table {self.name!r} has no field {name!r}")

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


def F(name: str, kind: str, *aliases: str, required: bool = False, description: str = "") -> Field:
    return Field(name, kind, required, tuple(aliases), description)


ACCOUNT_ID = F(
    "account_id", "id",
    "account id", "account", "customer id", "customer", "company id", "client id", "org id",
    "organization id", "organisation id", "account number", "customer number", "tenant id",
    "workspace id", "id",
    required=True, description="Identifier shared by every table",
)

ACCOUNTS = Table(
    "accounts", "Accounts (CRM)",
    (
        ACCOUNT_ID,
        F("account_name", "text", "account name", "name", "company", "company name", "customer name",
          "organization", "organisation", "client"),
        F("csm", "category", "csm", "customer success manager", "owner", "account owner", "csm name",
          "success manager", "assigned csm"),
        F("segment", "category", "segment", "tier", "customer segment", "market segment"),
        F("plan", "category", "plan", "plan name", "product", "package", "edition"),
        F("industry", "category", "industry", "vertical", "sector"),
        F("region", "category", "region", "geo", "territory", "country"),
        F("customer_since", "date", "customer since", "start date", "signup date", "signed up",
          "created", "created date", "close date", "became customer", "first paid", "contract start"),
        F("renewal_date", "date", "renewal date", "renewal", "next renewal", "contract end",
          "contract end date", "renews on"),
        F("seats", "integer", "seats", "licenses", "licences", "seat count", "licensed users", "users purchased"),
        F("cac", "money", "cac", "acquisition cost", "customer acquisition cost"),
        F("onboarded_on", "date", "onboarded on", "onboarding completed", "onboarding date", "go live",
          "go live date", "went live", "onboarded"),
        F("referrals", "integer", "referrals", "referral count", "referred"),
        F("reviews", "integer", "reviews", "review count"),
        F("case_studies", "integer", "case studies", "case study"),
        F("csm_sentiment", "score", "csm sentiment", "sentiment", "pulse", "csm pulse", "csm score"),
        F("csm_sentiment_date", "date", "csm sentiment date", "sentiment date", "pulse date",
          "sentiment updated", "pulse updated"),
        F("status", "category", "status", "account status", "lifecycle stage", "stage"),
        F("churn_date", "date", "churn date", "churned on", "cancellation date", "cancelled on"),
    ),
    sheet_names=("accounts", "account", "customers", "companies", "crm", "clients"),
)

MRR = Table(
    "mrr", "MRR (billing, one row per account and month)",
    (
        ACCOUNT_ID,
        F("month", "date", "month", "period", "billing month", "date", "month start", required=True),
        F("mrr", "money", "mrr", "monthly recurring revenue", "revenue", "amount", "monthly revenue",
          required=True),
        F("currency", "category", "currency", "currency code", "ccy"),
    ),
    sheet_names=("mrr", "revenue", "billing", "monthly revenue", "mrr by month"),
    description="Long form. A wide sheet (one column per month) is melted into this form.",
)

SUBSCRIPTIONS = Table(
    "subscriptions", "Subscriptions (billing)",
    (
        ACCOUNT_ID,
        F("start_date", "date", "start date", "start", "started", "started at", "current period start",
          "activated at", "created", required=True),
        F("end_date", "date", "end date", "end", "ended", "ended at", "canceled at", "cancelled at",
          "cancel date", "cancellation date"),
        F("mrr", "money", "mrr", "monthly recurring revenue", "monthly amount"),
        F("amount", "money", "amount", "price", "plan amount", "recurring amount", "unit amount"),
        F("interval", "interval", "interval", "billing period", "billing interval", "billing frequency",
          "plan interval", "term", "billing cycle"),
        F("interval_count", "integer", "interval count", "plan interval count", "billing period count"),
        F("quantity", "number", "quantity", "qty", "plan quantity"),
        F("discount", "fraction", "discount", "discount percent", "percent off"),
        F("plan", "category", "plan", "plan name", "product", "plan id", "product name", "add on"),
        F("subscription_id", "id", "subscription id", "subscription", "sub id"),
        F("currency", "category", "currency", "currency code", "ccy"),
    ),
    sheet_names=("subscriptions", "subscription", "subs", "contracts", "billing"),
    one_of=(("mrr",), ("amount", "interval")),
)

USAGE = Table(
    "usage", "Usage events (product analytics)",
    (
        ACCOUNT_ID,
        F("date", "datetime", "date", "timestamp", "event time", "time", "occurred at", "day",
          "event date", "created at", required=True),
        F("user_id", "id", "user id", "user", "email", "user email", "distinct id", "member id"),
        F("feature", "category", "feature", "event", "event name", "action", "module"),
        F("count", "number", "count", "events", "event count", "quantity", "times"),
    ),
    sheet_names=("usage", "events", "activity", "product usage", "usage events"),
)

TICKETS = Table(
    "tickets", "Support tickets",
    (
        ACCOUNT_ID,
        F("created_at", "datetime", "created at", "created", "opened", "opened at", "date",
          "created date", "ticket created", required=True),
        F("ticket_id", "id", "ticket id", "id", "ticket", "case number", "case id", "conversation id"),
        F("resolved_at", "datetime", "resolved at", "solved at", "closed at", "resolved", "solved",
          "closed", "resolution date"),
        F("first_response_at", "datetime", "first response at", "first replied at", "first reply at",
          "first response"),
        F("category", "category", "category", "type", "topic", "reason", "ticket type"),
        F("priority", "category", "priority", "severity", "urgency"),
        F("csat", "score", "csat", "satisfaction", "satisfaction score", "rating"),
        F("ces", "score", "ces", "effort", "customer effort score"),
    ),
    sheet_names=("tickets", "support", "cases", "conversations", "support tickets"),
)

SURVEYS = Table(
    "surveys", "Surveys (NPS / CSAT / CES)",
    (
        ACCOUNT_ID,
        F("date", "date", "date", "response date", "submitted at", "responded at", "created at",
          "survey date", required=True),
        F("survey", "category", "survey", "survey type", "type", "metric", "question type", required=True),
        F("score", "score", "score", "rating", "response", "answer", "value", required=True),
        F("respondent", "id", "respondent", "email", "person", "contact", "user id"),
        F("comment", "text", "comment", "comments", "feedback", "verbatim", "reason"),
    ),
    sheet_names=("surveys", "survey", "nps", "csat", "ces", "feedback", "responses"),
)

RENEWALS = Table(
    "renewals", "Renewals",
    (
        ACCOUNT_ID,
        F("renewal_date", "date", "renewal date", "date", "due date", "close date", "contract end",
          required=True),
        F("outcome", "category", "outcome", "status", "result", "stage", required=True),
        F("amount_before", "money", "amount before", "previous amount", "old arr", "arr before",
          "current arr"),
        F("amount_after", "money", "amount after", "new amount", "new arr", "arr after", "renewed arr"),
    ),
    sheet_names=("renewals", "renewal", "contracts due"),
)

TABLES: dict[str, Table] = {t.name: t for t in (ACCOUNTS, MRR, SUBSCRIPTIONS, USAGE, TICKETS, SURVEYS, RENEWALS)}

#: Tables that can provide revenue (MRR snapshots). One of them is enough to start.
REVENUE_TABLES = ("mrr", "subscriptions")

#: Renewal outcomes understood by ``renewal_rate`` (lower-cased source text -> canonical value).
RENEWAL_OUTCOMES = {
    "renewed": "renewed", "renew": "renewed", "won": "renewed", "closed won": "renewed", "yes": "renewed",
    "churned": "churned", "churn": "churned", "lost": "churned", "closed lost": "churned",
    "cancelled": "churned", "canceled": "churned", "no": "churned",
    "open": "open", "pending": "open", "in progress": "open", "": "open",
    # CRM opportunity stages (Salesforce defaults and common variants)
    "closed - won": "renewed", "closed/won": "renewed", "auto-renewed": "renewed", "auto renewed": "renewed",
    "closed - lost": "churned", "closed/lost": "churned", "not renewed": "churned", "non-renewal": "churned",
    "did not renew": "churned",
    "prospecting": "open", "qualification": "open", "needs analysis": "open", "value proposition": "open",
    "id. decision makers": "open", "perception analysis": "open", "proposal/price quote": "open",
    "negotiation/review": "open", "negotiation": "open", "proposal": "open", "discovery": "open",
    "commit": "open", "at risk": "open",
}

#: Survey types (lower-cased source text -> canonical value).
SURVEY_TYPES = {
    "nps": "nps", "net promoter": "nps", "net promoter score": "nps",
    "csat": "csat", "satisfaction": "csat", "customer satisfaction": "csat",
    "ces": "ces", "effort": "ces", "customer effort": "ces", "customer effort score": "ces",
}

#: The scale each survey type is expected on (min, max).
SURVEY_SCALES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}


def table(name: str) -> Table:
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; known: {', '.join(TABLES)}") from None
