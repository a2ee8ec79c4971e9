"""Vendor export presets: the header names real exports use, mapped onto canonical fields.

A preset is recognised when enough of its headers appear in a sheet (see
:func:`cs_desk.io.mapping.recognise`); its mapping then wins over generic aliases, because it
knows what a vendor means (Stripe's ``id`` is the subscription, Zendesk's ``Id`` is the ticket).

Header names come from public exports and code that reads them: Stripe's subscriptions export
(``Customer ID``, ``Start (UTC)``, ``Canceled At (UTC)`` ...; headers are matched after
:func:`~cs_desk.io.mapping.normalise_header`, so ``(UTC)`` and ``(metadata)`` suffixes and
time-zone suffixes such as ``(America/New_York)`` do not matter), Chargebee's data export
(``subscription.*`` / ``customer.*`` dotted names), Zendesk Explore/CSV ticket exports
(``Id``, ``Organization``, ``Solved at``, ``First reply time in minutes``), Intercom's
conversation export (``Conversation ID``, ``Conversation started at``, ``Company ID``),
Salesforce report exports, HubSpot company exports, Delighted and SurveyMonkey responses.

Derived fields: Zendesk gives ``First reply time in minutes`` and Intercom ``First response time
(seconds)`` instead of a timestamp. They map to the pseudo-fields ``first_response_minutes`` /
``first_response_seconds`` (see :data:`DERIVED_FIELDS`); cleaning turns them into
``first_response_at = created_at + duration``.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Preset:
    name: str
    table: str
    columns: dict[str, str]  # source header (as exported) -> canonical field
    #: constant values for fields the export does not carry (e.g. Delighted NPS has no type column)
    defaults: dict[str, str] = field(default_factory=dict)
    #: headers that identify the vendor (default: all headers of the preset)
    markers: tuple[str, ...] = ()
    min_hits: int = 3  # headers of the preset that must be present for it to apply


#: Fields a source may map to that are not canonical columns: table -> {pseudo field: kind}.
DERIVED_FIELDS: dict[str, dict[str, str]] = {
    "tickets": {"first_response_minutes": "number", "first_response_seconds": "number"},
}


STRIPE_SUBSCRIPTIONS = Preset(
    "Stripe subscriptions", "subscriptions",
    {
        "id": "subscription_id",
        "Customer ID": "account_id",
        "Customer": "account_id",
        "Plan": "plan",
        "Product": "plan",
        "Quantity": "quantity",
        "Interval": "interval",
        "Plan Interval": "interval",
        "Interval Count": "interval_count",
        "Plan Interval Count": "interval_count",
        "Amount": "amount",
        "Plan Amount": "amount",
        "Currency": "currency",
        "Plan Currency": "currency",
        "Start (UTC)": "start_date",
        "Start Date (UTC)": "start_date",
        "Ended At (UTC)": "end_date",
    },
    markers=("Customer ID", "Customer Name", "Customer Email", "Status", "Created (UTC)", "Start (UTC)",
             "Start Date (UTC)", "Current Period Start (UTC)", "Current Period End (UTC)", "Canceled At (UTC)",
             "Ended At (UTC)", "Trial Start (UTC)", "Trial End (UTC)", "Cancellation Reason",
             "Cancel At Period End"),
)

CHARGEBEE_SUBSCRIPTIONS = Preset(
    "Chargebee subscriptions", "subscriptions",
    {
        "subscription.id": "subscription_id",
        "customer.id": "account_id",
        "subscription.customer_id": "account_id",
        "subscription.plan_id": "plan",
        "subscription.plan_quantity": "quantity",
        "subscription.plan_amount": "amount",
        "subscription.plan_unit_price": "amount",
        "subscription.billing_period_unit": "interval",
        "subscription.billing_period": "interval_count",
        "subscription.started_at": "start_date",
        "subscription.start_date": "start_date",
        "subscription.activated_at": "start_date",
        "subscription.cancelled_at": "end_date",
        "subscription.mrr": "mrr",
        "subscription.currency_code": "currency",
    },
    markers=("subscription.id", "customer.id", "subscription.customer_id", "subscription.plan_id",
             "subscription.status", "subscription.started_at", "subscription.cancelled_at", "subscription.mrr",
             "subscription.plan_amount", "subscription.billing_period", "subscription.billing_period_unit",
             "subscription.created_at", "subscription.current_term_start", "subscription.current_term_end"),
)

SALESFORCE_ACCOUNTS = Preset(
    "Salesforce accounts", "accounts",
    {
        "Account ID": "account_id",
        "Account Name": "account_name",
        "Account Owner": "csm",
        "Industry": "industry",
        "Type": "segment",
        "Billing Country": "region",
        "Customer Since": "customer_since",
        "Employees": "seats",
        "Created Date": "customer_since",
    },
    markers=("Account ID", "Account Name", "Account Owner", "Billing Country", "Billing State/Province",
             "Billing City", "Annual Revenue", "Account Type", "Type", "Industry", "Employees", "Created Date"),
)

SALESFORCE_RENEWALS = Preset(
    "Salesforce opportunities (renewals)", "renewals",
    {
        "Account ID": "account_id",
        "Close Date": "renewal_date",
        "Stage": "outcome",
        "Amount": "amount_after",
    },
    markers=("Opportunity ID", "Opportunity Name", "Opportunity Owner", "Stage", "Close Date", "Amount",
             "Probability (%)", "Fiscal Period", "Account ID", "Account Name", "Type"),
)

HUBSPOT_COMPANIES = Preset(
    "HubSpot companies", "accounts",
    {
        "Record ID": "account_id",
        "Company name": "account_name",
        "Company owner": "csm",
        "Industry": "industry",
        "Create Date": "customer_since",
        "Lifecycle Stage": "status",
        "Country/Region": "region",
        "Number of Employees": "seats",
        "Type": "segment",
    },
    markers=("Record ID", "Company name", "Company owner", "Company Domain Name", "Create Date",
             "Lifecycle Stage", "Number of Employees", "Country/Region", "Annual Revenue", "Last Activity Date"),
)

ZENDESK_TICKETS = Preset(
    "Zendesk tickets", "tickets",
    {
        "Id": "ticket_id",
        "Organization": "account_id",
        "Created at": "created_at",
        "Solved at": "resolved_at",
        "Priority": "priority",
        "Ticket type": "category",
        "Type": "category",
        "Satisfaction Score": "csat",
        "First reply time in minutes": "first_response_minutes",
    },
    markers=("Id", "Requester", "Requester id", "Requester email", "Organization", "Subject", "Status",
             "Priority", "Via", "Ticket type", "Created at", "Updated at", "Solved at", "Satisfaction Score",
             "Assignee", "Group", "Tags", "First reply time in minutes", "Full resolution time in minutes", "Replies"),
)

INTERCOM_CONVERSATIONS = Preset(
    "Intercom conversations", "tickets",
    {
        "Conversation ID": "ticket_id",
        "Company ID": "account_id",
        "Conversation started at": "created_at",
        "Conversation created at": "created_at",
        "Conversation last closed at": "resolved_at",
        "Conversation first replied at": "first_response_at",
        "First response time (seconds)": "first_response_seconds",
        "Conversation priority": "priority",
        "Conversation tag": "category",
        "Last teammate rating": "csat",
    },
    markers=("Conversation ID", "Conversation started at", "Conversation created at", "Conversation last closed at",
             "Conversation first replied at", "Company ID", "Company name", "Teammate currently assigned",
             "Team currently assigned", "Current conversation state", "Last teammate rating", "Conversation tag",
             "Conversation source", "User email"),
)

DELIGHTED_RESPONSES = Preset(
    "Delighted survey responses", "surveys",
    {
        # Delighted exports one row per response; person properties become their own columns
        # (a "Company ID" property is what ties a response to an account).
        "Company ID": "account_id",
        "Customer ID": "account_id",
        "Account ID": "account_id",
        "Score": "score",
        "Comment": "comment",
        "Created At": "date",
        "Response timestamp": "date",
        "Survey Type": "survey",
        "Email": "respondent",
        "Person ID": "respondent",
    },
    defaults={"survey": "nps"},  # Delighted's default (and most common) survey is NPS
    markers=("Response ID", "Score", "Comment", "Created At", "Response timestamp", "Email", "Name",
             "Permalink", "Notes", "Tags", "Survey Type", "Person ID", "Updated At"),
)

SURVEYMONKEY_RESPONSES = Preset(
    "SurveyMonkey responses", "surveys",
    {
        "Respondent ID": "respondent",
        "Email Address": "respondent",
        "End Date": "date",
        "Custom Data 1": "account_id",
    },
    defaults={"survey": "nps"},
    markers=("Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address", "Email Address",
             "First Name", "Last Name", "Custom Data 1"),
    min_hits=4,
)

PRESETS: list[Preset] = [
    STRIPE_SUBSCRIPTIONS,
    CHARGEBEE_SUBSCRIPTIONS,
    SALESFORCE_ACCOUNTS,
    SALESFORCE_RENEWALS,
    HUBSPOT_COMPANIES,
    ZENDESK_TICKETS,
    INTERCOM_CONVERSATIONS,
    DELIGHTED_RESPONSES,
    SURVEYMONKEY_RESPONSES,
]


def preset(name: str) -> Preset:
    for p in PRESETS:
        if p.name == name:
            return p
    raise KeyError(f"unknown preset {name!r}; known: {', '.join(p.name for p in PRESETS)}")
