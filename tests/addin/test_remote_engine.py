"""Tier 2: the functions and the refresh through xlwings' remote (Office.js) engine, in-process.

The remote engine and ``xlwings.server`` are xlwings PRO: these tests run only when the
environment provides a licence key in ``XLWINGS_LICENSE_KEY`` (e.g. a CI secret holding a trial
or paid key) and are skipped otherwise. cs-desk never stores or writes a key.

They run in a child Python because xlwings binds its decorators when first imported: the
Office.js ones need ``XLWINGS_ON_SERVER=true`` *before* that import, and this test session has
imported xlwings already (without it, the server would register no function at all).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not os.environ.get("XLWINGS_LICENSE_KEY"),
    reason="needs an xlwings PRO licence key in XLWINGS_LICENSE_KEY (remote engine / xlwings.server); "
           "cs-desk ships none",
)

CHILD = textwrap.dedent(r"""
    import asyncio, json, sys
    import xlwings as xw
    import xlwings.server as xs
    from excel_addin import functions
    from excel_addin.apply import refresh_workbook

    out = {}
    meta = xs.custom_functions_meta(functions)
    out["meta"] = {f["name"]: [p["name"] for p in f["parameters"]] for f in meta["functions"]}
    call = {"client": "Office.js", "func_name": "cs_nps", "args": [[[10], [9], [8], [7], [6], [0], [10], [3], [9], [10]]],
            "caller_address": "[b.xlsx]Sheet1!H1", "culture_info_name": "en-US", "date_format": "m/d/yyyy",
            "version": xw.__version__, "runtime": "1.4"}
    out["nps"] = asyncio.run(xs.custom_functions_call(call, functions))
    call = dict(call, func_name="cs_nrr", args=[
        [["account_id", "month", "mrr"], ["a", 45322, 100], ["b", 45322, 200], ["a", 45351, 120], ["b", 45351, 0],
         ["c", 45351, 50]], [["2024-02"]], [[None]]])
    out["nrr"] = asyncio.run(xs.custom_functions_call(call, functions))
    payload = {"client": "Office.js", "version": xw.__version__,
               "book": {"name": "b.xlsx", "active_sheet_index": 0, "selection": "A1"},
               "sheets": [{"name": "mrr", "values": [["account_id", "month", "mrr"],
                                                     ["a", "2024-01-31T00:00:00.000Z", 100], ["b", "2024-01-31T00:00:00.000Z", 200],
                                                     ["a", "2024-02-29T00:00:00.000Z", 120], ["b", "2024-02-29T00:00:00.000Z", 0],
                                                     ["c", "2024-02-29T00:00:00.000Z", 50]]}]}
    book = xw.Book(json=payload)
    plan = refresh_workbook(book, alert=False)
    out["sheets"] = [s.name for s in plan.sheets]
    out["actions"] = book.json()["actions"]
    print(json.dumps(out, default=str))
""")


@pytest.fixture(scope="module")
def remote():
    env = {**os.environ, "XLWINGS_ON_SERVER": "true", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_metadata_names_and_parameters(remote):
    meta = {k.upper(): v for k, v in remote["meta"].items()}
    assert meta["CS_NPS"] == ["scores"]
    assert meta["CS_NRR"] == ["table", "from_month", "to_month"]
    assert set(meta) == {"CS_NPS", "CS_CSAT", "CS_CES", "CS_NRR", "CS_GRR", "CS_LOGO_CHURN", "CS_MOVEMENTS",
                         "CS_KPI", "CS_HEALTH", "CS_KPI_LIST"}


def test_functions_called_as_office_js_calls_them(remote):
    assert remote["nps"] == [[20.0]]
    assert remote["nrr"][0][0] == pytest.approx(0.4)


def test_refresh_through_the_remote_engine_writes_only_cs_sheets(remote):
    actions = remote["actions"]
    added = [a["args"][1] for a in actions if a["func"] == "addSheet"]
    assert added == remote["sheets"] == ["CS KPIs", "CS Accounts", "CS Actions", "CS Problems"]
    assert all(a.get("sheet_position") != 0 for a in actions if a["func"] != "addSheet"), "the data sheet was written"
    assert any(a["func"] == "setNumberFormat" for a in actions)
