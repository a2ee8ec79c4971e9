"""Generate the input template workbook: ``python workbook_templates/make_templates.py``.

``cs-desk-input-template.xlsx`` has an Instructions sheet, one sheet per canonical table (the
sheet name and the canonical headers, so cs-desk recognises it without a mapping; required
columns in bold; date columns formatted as dates) and a ``cs-desk settings`` sheet. Headers come
from ``cs_desk.schema`` (the single source of truth), so re-run this script when the schema
changes; a test checks the committed file is current.
"""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "cs-desk-input-template.xlsx"
FIXED_TIME = dt.datetime(2025, 1, 1)

DATE_KINDS = {"date": "yyyy-mm-dd", "datetime": "yyyy-mm-dd hh:mm"}
KIND_WIDTH = {"date": 12, "datetime": 17, "text": 28, "id": 14}

SETTINGS_ROWS = [
    ("setting", "value", "what it does"),
    ("from", "", "First month to compute, e.g. 2024-01 (default: the first month of the data)"),
    ("to", "", "Last month, e.g. 2024-12 (default: the last month of the data)"),
    ("period", "", "month, quarter or year (default month)"),
    ("by", "", "Also group the KPIs by this accounts column, e.g. segment or csm"),
    ("as of", "", "Score health as of this date (default: the end of the data)"),
    ("kpis", "", "Only these KPI ids, comma-separated (default: all)"),
    ("sheet: My export", "", "Name the table a sheet holds when its headers are not recognised "
                             "(accounts, mrr, subscriptions, usage, tickets, surveys, renewals or ignore)"),
    ("mapping", "", "A saved column mapping (the text `cs-desk map --save` writes)"),
    ("health model", "", "A health model (TOML text); default: cs-desk's default model"),
    ("playbooks", "", "Playbook rules (TOML text) for the action list"),
]


def instructions() -> list[str]:
    from cs_desk.schema import TABLES

    lines = [
        "cs-desk input template",
        "",
        "Paste each export into the sheet of the same name (or keep your own sheets: cs-desk recognises tables by "
        "sheet name and by headers, also vendor exports such as Stripe, Chargebee, Salesforce, HubSpot, Zendesk).",
        "You only need accounts or one revenue sheet (mrr or subscriptions) to start; every KPI says which tables it needs.",
        "Bold headers are required. Keep one header row; dates as real dates (or 2024-03-31); money as numbers.",
        "MRR may also be 'wide': account_id and one column per month headed 2024-01, 2024-02, ...",
        "Subscriptions: end_date is the first day not covered (empty = still running); interval = month, quarter, "
        "year or a number of months.",
        "",
        "Then: press 'Refresh cs-desk' (Excel add-in or xlwings Lite), or run",
        "    cs-desk excel refresh this-file.xlsx --out refreshed.xlsx",
        "cs-desk writes the sheets CS KPIs, CS Accounts, CS Actions and CS Problems; your data sheets are never changed.",
        "Worksheet functions: =CS_NPS(range), =CS_NRR(table, \"2024-03\"), =CS_KPI(\"arpa\", table), =CS_KPI_LIST().",
        "Settings (period, grouping, a saved mapping, a health model) go on the 'cs-desk settings' sheet.",
        "",
        "Tables and columns:",
    ]
    for t in TABLES.values():
        req = ", ".join(t.required)
        lines.append(f"  {t.name}: {t.label}. Required: {req}." + (
            " Also one of: " + " or ".join(" + ".join(g) for g in t.one_of) + "." if t.one_of else ""))
    return lines


def build(path: Path = TEMPLATE) -> Path:
    import openpyxl
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from cs_desk.schema import TABLES

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Instructions"
    for i, line in enumerate(instructions(), start=1):
        c = ws.cell(row=i, column=1, value=line)
        c.data_type = "s"
        if i == 1:
            c.font = Font(bold=True, size=14)
    ws.column_dimensions["A"].width = 120
    bold = Font(bold=True)
    for t in TABLES.values():
        sh = wb.create_sheet(t.name)
        for j, f in enumerate(t.fields, start=1):
            c = sh.cell(row=1, column=j, value=f.name)
            if f.required or any(f.name in g for g in t.one_of):
                c.font = bold
            letter = get_column_letter(j)
            sh.column_dimensions[letter].width = max(len(f.name) + 3, KIND_WIDTH.get(f.kind, 11))
            if f.kind in DATE_KINDS:
                sh.column_dimensions[letter].number_format = DATE_KINDS[f.kind]
        sh.freeze_panes = "A2"
    st = wb.create_sheet("cs-desk settings")
    for i, row in enumerate(SETTINGS_ROWS, start=1):
        for j, v in enumerate(row, start=1):
            c = st.cell(row=i, column=j, value=v or None)
            if i == 1:
                c.font = bold
    st.column_dimensions["A"].width = 20
    st.column_dimensions["B"].width = 30
    st.column_dimensions["C"].width = 100
    wb.properties.creator = "cs-desk"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    path = Path(path)
    tmp = path.with_suffix(".tmp.xlsx")
    wb.save(tmp)
    tmp.replace(path)
    return path


if __name__ == "__main__":
    out = build(Path(sys.argv[1]) if len(sys.argv) > 1 else TEMPLATE)
    print(f"wrote {out}")
