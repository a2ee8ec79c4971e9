import datetime as dt

import numpy as np
import pandas as pd
import pytest

from cs_desk.io.mapping import MappingFile, normalise_header, parse_month_header, recognise
from cs_desk.io.presets import PRESETS
from cs_desk.io.readers import RawSheet

from io_helpers import codes


def sheet(columns, rows=(), name="Sheet1", file="export.xlsx"):
    frame = pd.DataFrame([list(r) for r in rows] or None, columns=columns, dtype=object)
    return RawSheet(file=file, sheet=name, header_row=1, frame=frame, row_numbers=np.arange(2, 2 + len(frame)))


@pytest.mark.parametrize("text,expected", [
    ("Current Period Start (UTC)", "current period start"),
    ("senderShopifyCustomerId (metadata)", "sender shopify customer id"),
    ("MRR [EUR]", "mrr"), ("MRR ($)", "mrr"), ("Amount in USD", "amount"), ("Discount %", "discount"),
    ("  Account_ID ", "account id"), ("subscription.plan_id", "subscription plan id"), ("accountId", "account id"),
])
def test_normalise_header(text, expected):
    assert normalise_header(text) == expected


@pytest.mark.parametrize("header", ["2024-01", "2024/01", "Jan 2024", "January 2024", "Jan-24", "01/2024",
                                    dt.datetime(2024, 1, 1), dt.date(2024, 1, 31), 45292, 45292.0, "45292",
                                    "202401", "MRR 2024-01", "2024-01-31"])
def test_month_headers(header):
    assert parse_month_header(header) == pd.Timestamp(2024, 1, 1)


@pytest.mark.parametrize("header", ["Account ID", "2024", "13/2024", "Total", None, 12.5])
def test_not_month_headers(header):
    assert parse_month_header(header) is None


def test_exact_alias_recognition():
    rec = recognise(sheet(["Account ID", "Month", "MRR"]))
    assert rec.table == "mrr" and rec.layout == "long"
    assert rec.mapping == {"account_id": "Account ID", "month": "Month", "mrr": "MRR"}
    assert rec.confidence >= 0.9 and not rec.missing


def test_accounts_by_sheet_name_and_headers():
    rec = recognise(sheet(["Customer ID", "Company", "CSM", "Segment", "Renewal Date"], name="Customers"))
    assert rec.table == "accounts"
    assert rec.mapping["csm"] == "CSM" and rec.mapping["renewal_date"] == "Renewal Date"


def test_csv_file_stem_names_the_table():
    rec = recognise(sheet(["id", "date", "type", "value"], name=None, file="/x/surveys.csv"))
    assert rec.table == "surveys"


def test_fuzzy_fallback_has_lower_confidence():
    rec = recognise(sheet(["Acount Id", "Mnth", "MRR"], name="mrr"))
    assert rec.mapping.get("account_id") == "Acount Id"
    assert rec.field_confidence["account_id"] < 0.9


@pytest.mark.parametrize("headers,month_cols", [
    (["Account ID", "Name", "2024-01", "2024-02", "2024-03"], 3),
    (["Customer", "Jan 2024", "Feb 2024", "Mar 2024", "Apr 2024"], 4),
    (["Account ID", "January 2024", "February 2024", "March 2024"], 3),
    (["Account ID", "Jan-24", "Feb-24", "Mar-24"], 3),
    (["Account ID", "01/2024", "02/2024", "03/2024"], 3),
    (["Account ID", "2024/01", "2024/02", "2024/03"], 3),
])
def test_wide_mrr_recognised(headers, month_cols):
    rec = recognise(sheet(headers, name="Revenue"))
    assert rec.table == "mrr" and rec.layout == "wide"
    assert len(rec.wide_month_columns) == month_cols
    assert "account_id" in rec.mapping


def test_two_month_columns_are_not_wide():
    rec = recognise(sheet(["Account ID", "2024-01", "2024-02"], name="x"))
    assert rec.layout == "long"


STRIPE = ["id", "Customer ID", "Customer Name", "Customer Email", "Plan", "Quantity", "Interval", "Amount",
          "Currency", "Status", "Created (UTC)", "Start (UTC)", "Current Period Start (UTC)",
          "Current Period End (UTC)", "Canceled At (UTC)", "Ended At (UTC)", "Plan Interval Count",
          "senderShopifyCustomerId (metadata)"]
CHARGEBEE = ["subscription.id", "customer.id", "subscription.plan_id", "subscription.plan_quantity",
             "subscription.status", "subscription.started_at", "subscription.cancelled_at", "subscription.mrr",
             "subscription.plan_amount", "subscription.billing_period", "subscription.billing_period_unit",
             "subscription.currency_code"]
SALESFORCE_ACCOUNTS = ["Account ID", "Account Name", "Account Owner", "Industry", "Type", "Billing Country",
                       "Billing State/Province", "Annual Revenue", "Customer Since", "Created Date"]
SALESFORCE_OPPS = ["Opportunity ID", "Opportunity Name", "Account ID", "Account Name", "Type", "Stage",
                   "Close Date", "Amount", "Probability (%)", "Opportunity Owner"]
HUBSPOT = ["Record ID", "Company name", "Company owner", "Industry", "Create Date", "Lifecycle Stage",
           "Number of Employees", "Country/Region", "Company Domain Name", "Last Activity Date"]
ZENDESK = ["Id", "Requester", "Requester id", "Requester email", "Organization", "Subject", "Status", "Priority",
           "Via", "Ticket type", "Created at", "Updated at", "Solved at", "Satisfaction Score",
           "First reply time in minutes", "Full resolution time in minutes", "Replies", "Tags"]
INTERCOM = ["Conversation ID", "Conversation started at (America/New_York)",
            "Conversation last closed at (America/New_York)", "Conversation first replied at (America/New_York)",
            "Company ID", "Company name", "Teammate currently assigned", "Team currently assigned",
            "Current conversation state", "Last teammate rating", "Conversation tag", "User email"]
DELIGHTED = ["Response ID", "Email", "Name", "Score", "Comment", "Created At", "Updated At", "Permalink", "Notes",
             "Tags", "Company ID"]
SURVEYMONKEY = ["Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address", "Email Address",
                "First Name", "Last Name", "Custom Data 1",
                "How likely is it that you would recommend us to a friend or colleague?"]


@pytest.mark.parametrize("headers,table,expect", [
    (STRIPE, "subscriptions", {"subscription_id": "id", "account_id": "Customer ID", "start_date": "Start (UTC)",
                               "end_date": "Ended At (UTC)", "amount": "Amount", "interval": "Interval",
                               "interval_count": "Plan Interval Count", "quantity": "Quantity"}),
    (CHARGEBEE, "subscriptions", {"subscription_id": "subscription.id", "account_id": "customer.id",
                                  "mrr": "subscription.mrr", "start_date": "subscription.started_at",
                                  "end_date": "subscription.cancelled_at",
                                  "interval": "subscription.billing_period_unit",
                                  "interval_count": "subscription.billing_period"}),
    (SALESFORCE_ACCOUNTS, "accounts", {"account_id": "Account ID", "account_name": "Account Name",
                                       "csm": "Account Owner", "region": "Billing Country",
                                       "customer_since": "Customer Since"}),
    (SALESFORCE_OPPS, "renewals", {"account_id": "Account ID", "renewal_date": "Close Date", "outcome": "Stage",
                                   "amount_after": "Amount"}),
    (HUBSPOT, "accounts", {"account_id": "Record ID", "account_name": "Company name", "csm": "Company owner",
                           "customer_since": "Create Date", "status": "Lifecycle Stage"}),
    (ZENDESK, "tickets", {"ticket_id": "Id", "account_id": "Organization", "created_at": "Created at",
                          "resolved_at": "Solved at", "csat": "Satisfaction Score",
                          "first_response_minutes": "First reply time in minutes"}),
    (INTERCOM, "tickets", {"ticket_id": "Conversation ID", "account_id": "Company ID",
                           "created_at": "Conversation started at (America/New_York)",
                           "resolved_at": "Conversation last closed at (America/New_York)"}),
    (DELIGHTED, "surveys", {"account_id": "Company ID", "score": "Score", "date": "Created At",
                            "comment": "Comment"}),
    (SURVEYMONKEY, "surveys", {"account_id": "Custom Data 1", "date": "End Date",
                               "score": "How likely is it that you would recommend us to a friend or colleague?"}),
])
def test_vendor_presets_recognised_from_real_headers(headers, table, expect):
    rec = recognise(sheet(headers, name="export"))
    assert rec.table == table, rec
    for fld, src in expect.items():
        assert rec.mapping.get(fld) == src, (fld, rec.mapping)
    assert rec.complete
    assert rec.preset is not None


def test_every_preset_is_tested():
    tested = {"Stripe subscriptions", "Chargebee subscriptions", "Salesforce accounts",
              "Salesforce opportunities (renewals)", "HubSpot companies", "Zendesk tickets", "Intercom conversations",
              "Delighted survey responses", "SurveyMonkey responses"}
    assert {p.name for p in PRESETS} == tested


def test_delighted_defaults_to_nps():
    rec = recognise(sheet(DELIGHTED))
    assert rec.defaults == {"survey": "nps"}


def test_unrecognised_sheet():
    rec = recognise(sheet(["Foo", "Bar"], name="Notes"))
    assert rec.table is None and rec.unmapped == ("Foo", "Bar")


def test_table_hint_forces_table():
    rec = recognise(sheet(["Customer", "When", "Amount"], name="x"), table_hint="mrr")
    assert rec.table == "mrr" and rec.mapping["account_id"] == "Customer"
    assert "month" in rec.missing


def test_saved_mapping_wins(tmp_path):
    raw = sheet(["Account ID", "Month", "MRR", "Other"], name="Data", file="/tmp/bill.xlsx")
    mf, problems = MappingFile.from_dict({"source": [{
        "file": "bill.xlsx", "sheet": "Data", "table": "mrr",
        "columns": {"account_id": "Account ID", "month": "Month", "mrr": "Other"},
        "options": {"date_order": "dmy"}}]})
    assert problems == []
    rec = recognise(raw, mf)
    assert rec.how == "saved" and rec.mapping["mrr"] == "Other" and rec.options == {"date_order": "dmy"}
    assert rec.confidence == 1.0


def test_mapping_file_round_trip(tmp_path):
    mf = MappingFile(options={"currency": "EUR"})
    rec = recognise(sheet(STRIPE, name=None, file="stripe_subs.csv"))
    mf.add("/data/stripe_subs.csv", None, rec, options={"end_date_inclusive": True})
    wide = recognise(sheet(["Account ID", "Jan 2024", "Feb 2024", "Mar 2024"], name="MRR"))
    mf.add("book.xlsx", "MRR", wide)
    path = tmp_path / "mapping.toml"
    mf.save(path)
    text = path.read_text()
    assert text.startswith("# cs-desk column mapping") and "[[source]]" in text
    loaded, problems = MappingFile.load(path)
    assert problems == []
    assert loaded.options == {"currency": "EUR"}
    assert [(e.file, e.sheet, e.table, e.layout) for e in loaded.entries] == [
        ("stripe_subs.csv", None, "subscriptions", "long"), ("book.xlsx", "MRR", "mrr", "wide")]
    assert loaded.entries[0].columns == rec.mapping
    assert loaded.entries[0].options == {"end_date_inclusive": True}
    assert loaded.to_dict() == mf.to_dict()


def test_invalid_mapping_keys_are_reported(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('''
colour = "red"
[options]
date_order = "ydm"
[[source]]
file = "a.csv"
table = "acounts"
[[source]]
file = "b.csv"
table = "mrr"
layout = "sideways"
[source.columns]
account_id = "Customer"
revenue = "Rev"
[source.options]
bogus = 1
''')
    mf, problems = MappingFile.load(path)
    keys = {p.column for p in problems}
    assert keys == {"colour", "options.date_order", "source[0].table", "source[1].layout", "source[1].columns.revenue",
                    "source[1].options.bogus"}
    assert set(codes(problems)) == {"mapping_invalid"}
    assert all(p.file == str(path) for p in problems)
    assert mf.entries[0].columns == {"account_id": "Customer"}


def test_mapping_not_toml(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text("this is = = not toml")
    _, problems = MappingFile.load(path)
    assert codes(problems) == ["mapping_invalid"]
