"""The KPI workbook: sheets, formats, charts, text never a formula, fast path = xlsxwriter path,
atomic write, and LibreOffice opens it."""
from __future__ import annotations

import datetime as dt
import re
import zipfile

import numpy as np
import openpyxl
import pypdf
import pandas as pd
import pytest

from cs_desk.report import Cancelled, write_workbook
from cs_desk.report import xlsxfast
from cs_desk.report.workbook import HEADER_ROW

from .conftest import HOSTILE_NAMES, convert_with_libreoffice, soffice

SHEETS = ["Summary", "KPIs", "Movements", "Accounts", "Health", "Cohorts", "Actions", "Problems", "Definitions"]
HEADER = HEADER_ROW + 1  # 1-based row of the table headers


@pytest.fixture(scope="module")
def workbook_path(bundle, tmp_path_factory):
    path = tmp_path_factory.mktemp("wb") / "report.xlsx"
    assert write_workbook(bundle, path, fast_cells=0) == path  # every big table through the fast path
    return path


@pytest.fixture(scope="module")
def book(workbook_path):
    return openpyxl.load_workbook(workbook_path)


def _headers(ws) -> dict[str, int]:
    return {c.value: c.column for c in ws[HEADER] if c.value is not None}


def _column(ws, header: str) -> list:
    col = _headers(ws)[header]
    return [ws.cell(r, col) for r in range(HEADER + 1, ws.max_row + 1)]


def test_sheets_frozen_headers_and_filters(book):
    assert book.sheetnames == SHEETS
    for name in ("KPIs", "Movements", "Accounts", "Health", "Actions", "Problems", "Definitions"):
        ws = book[name]
        assert ws.freeze_panes is not None and int(re.sub(r"\D", "", ws.freeze_panes)) == HEADER + 1, name
        assert ws.auto_filter.ref and ws.auto_filter.ref.split(":")[0].endswith(str(HEADER)), name
    assert book["Summary"]["A1"].value == "Customer success portfolio report"


def test_no_cell_anywhere_is_a_formula(book):
    for ws in book:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate} = {cell.value!r}"


def test_hostile_names_stay_text(book, bundle):
    names = [c.value for c in _column(book["Accounts"], "Account name")]
    for hostile in HOSTILE_NAMES:
        assert hostile in names
    for cell in _column(book["Accounts"], "Account name"):
        if cell.value in HOSTILE_NAMES:
            assert cell.data_type == "s"
    acts = book["Actions"]
    action_names = {c.value for c in _column(acts, "Account name")}
    assert action_names & set(HOSTILE_NAMES) or not set(bundle.actions["account_name"]) & set(HOSTILE_NAMES)


def test_numbers_stay_numbers_with_unit_formats(book, bundle):
    acc = book["Accounts"]
    mrr = _column(acc, "MRR")
    assert all(isinstance(c.value, (int, float)) for c in mrr if c.value is not None)
    assert {c.number_format for c in mrr} == {"#,##0"}
    assert {c.number_format for c in _column(acc, "Health score")} == {"0.0"}
    renew = [c for c in _column(acc, "Renewal date") if c.value is not None]
    assert renew and all(isinstance(c.value, dt.datetime) and c.number_format == "yyyy-mm-dd" for c in renew)
    if "Seat utilization" in _headers(acc):
        assert {c.number_format for c in _column(acc, "Seat utilization")} == {"0.0%"}
    kpis = book["KPIs"]
    ids = {c.value: c.column for c in kpis[HEADER - 1] if c.value}
    churn = [kpis.cell(r, ids["logo_churn_rate"]) for r in range(HEADER + 1, kpis.max_row + 1)]
    assert {c.number_format for c in churn} == {"0.0%"}
    assert all(isinstance(c.value, float) for c in churn if c.value is not None)
    mrr_col = [kpis.cell(r, ids["mrr"]) for r in range(HEADER + 1, kpis.max_row + 1)]
    assert {c.number_format for c in mrr_col} == {"#,##0"}
    # the portfolio row of the last month equals the bundle
    last = [r for r in range(HEADER + 1, kpis.max_row + 1)
            if kpis.cell(r, 1).value == bundle.periods[-1] and kpis.cell(r, 2).value == "Portfolio"]
    assert kpis.cell(last[0], ids["mrr"]).value == pytest.approx(bundle.kpis.value("mrr"))


def test_summary_headline_rows_and_marks(book, bundle):
    ws = book["Summary"]
    labels = {ws.cell(r, 1).value: r for r in range(1, 40)}
    for rec in bundle.headline.to_dict("records"):
        r = labels[rec["label"]]
        assert ws.cell(r, 2).value == pytest.approx(rec["value"])
        fmt = ws.cell(r, 2).number_format
        assert fmt == ("0.0%" if rec["unit"] == "fraction" else "#,##0" if rec["unit"] == "currency" else fmt)
        if rec["status"]:
            mark = ws.cell(r, 6)
            assert rec["status"] in mark.value
            assert mark.fill.fgColor.rgb.endswith("C6EFCE" if rec["status"] == "on target" else "FFC7CE")


def test_summary_has_native_charts(workbook_path):
    with zipfile.ZipFile(workbook_path) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) >= 4
        xml = " ".join(z.read(n).decode() for n in charts)
    for title in ("MRR movements", "Net and gross revenue retention", "Logo churn", "Health mix"):
        assert title in xml
    assert "Summary!$" in xml  # series read the trend table on the Summary sheet


def test_cohorts_and_definitions(book, bundle):
    ws = book["Cohorts"]
    assert ws.cell(HEADER, 1).value == "Logo retention"
    assert ws.conditional_formatting  # heat map
    values = [c.value for row in ws.iter_rows(min_row=HEADER + 2, max_row=HEADER + 4, min_col=3, max_col=3) for c in row]
    assert all(v == pytest.approx(1.0) for v in values if v is not None)  # month 0 retains everyone
    defs = book["Definitions"]
    ids = [c.value for c in _column(defs, "KPI id")]
    assert {"logo_churn_rate", "nrr", "grr", "mrr"} <= set(ids)
    churn_row = HEADER + 1 + ids.index("logo_churn_rate")
    assert defs.cell(churn_row, 5).value == 0.05 and defs.cell(churn_row, 5).number_format == "0.0%"


def test_colour_scale_on_health_score(book):
    rules = book["Accounts"].conditional_formatting
    kinds = [r.type for cf in rules for r in cf.rules]
    assert "colorScale" in kinds


def test_fast_path_writes_what_xlsxwriter_writes(bundle, tmp_path):
    fast, slow = tmp_path / "fast.xlsx", tmp_path / "slow.xlsx"
    write_workbook(bundle, fast, fast_cells=0)
    write_workbook(bundle, slow, fast_cells=10**12)
    a = openpyxl.load_workbook(fast)
    b = openpyxl.load_workbook(slow)
    for name in ("Movements", "Accounts", "Health", "Actions"):
        ra = list(a[name].iter_rows(values_only=False))
        rb = list(b[name].iter_rows(values_only=False))
        assert len(ra) == len(rb), name
        for x_row, y_row in zip(ra, rb):
            for x, y in zip(x_row, y_row):
                # xlsxwriter writes 16 significant digits, the fast path the shortest exact repr
                numeric = isinstance(y.value, (int, float)) and not isinstance(y.value, bool)
                value = pytest.approx(y.value, rel=1e-15) if numeric else y.value
                assert (x.value, x.number_format) == (value, y.number_format), f"{name}!{x.coordinate}"
        assert a[name].dimensions == b[name].dimensions


def test_cancel_leaves_no_file_behind(bundle, tmp_path):
    target = tmp_path / "cancelled.xlsx"
    target.write_bytes(b"previous report")
    with pytest.raises(Cancelled):
        write_workbook(bundle, target, cancelled=lambda: True)
    assert target.read_bytes() == b"previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["cancelled.xlsx"]


def test_xlsxfast_cells():
    series = pd.Series(["a & b <c>", " padded ", "\x01bell", None, "x" * 40000], dtype=object)
    cells = xlsxfast.column_content(series)
    assert cells[0] == ' t="inlineStr"><is><t>a &amp; b &lt;c&gt;</t></is>'
    assert 'xml:space="preserve"' in cells[1]
    assert "_x0001_bell" in cells[2]
    assert cells[3] == ">"
    assert len(cells[4]) < 32767 + 60
    nums = xlsxfast.column_content(pd.Series([1.5, np.nan, np.inf, -2.0]))
    assert nums == ["><v>1.5</v>", ">", ">", "><v>-2.0</v>"]
    dates = xlsxfast.column_content(pd.Series(pd.to_datetime(["1900-03-01 00:00", None, "2024-01-01 12:00"])))
    assert dates == ["><v>61</v>", ">", "><v>45292.5</v>"]
    bools = xlsxfast.column_content(pd.Series([True, False]))
    assert bools == [' t="b"><v>1</v>', ' t="b"><v>0</v>']
    xml = xlsxfast.rows_xml(pd.DataFrame({"a": ["=1+1"], "b": [2.0]}), 7, [0, 3])
    assert xml == '<row r="7"><c r="A7" t="inlineStr"><is><t>=1+1</t></is></c><c r="B7" s="3"><v>2.0</v></c></row>'


@pytest.mark.libreoffice
@pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_opens_the_workbook(workbook_path, tmp_path):
    pdf = convert_with_libreoffice(workbook_path, "pdf", tmp_path)
    reader = pypdf.PdfReader(pdf)
    assert len(reader.pages) >= 3
    first = reader.pages[0].extract_text()
    assert "Customer success portfolio report" in first and "Headline KPIs" in first


def test_fast_deflate_member_reads_back(tmp_path):
    """With isal installed a spliced sheet is deflated by ISA-L inside a zipfile member: zipfile
    reads it back byte for byte with a good CRC; anything but a fresh deflating member is left
    to zlib."""
    import random

    rnd = random.Random(5)
    data = "".join(f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>ACC-{rnd.randrange(10**6)}</t></is></c>'
                   f'<c r="B{i}"><v>{rnd.random()}</v></c></row>' for i in range(30_000)).encode()
    path = tmp_path / "m.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("sheet.xml", "w") as stream:
            took = xlsxfast.fast_deflate(stream)
            for i in range(0, len(data), 1 << 16):
                stream.write(data[i:i + (1 << 16)])
            assert not xlsxfast.fast_deflate(stream)  # bytes already written: left alone
    try:
        import isal  # noqa: F401
        assert took
    except ImportError:
        assert not took
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        assert zf.read("sheet.xml") == data
        assert zf.getinfo("sheet.xml").compress_size < len(data) / 3
    with zipfile.ZipFile(tmp_path / "s.zip", "w", zipfile.ZIP_STORED) as zf, zf.open("a", "w") as stream:
        assert not xlsxfast.fast_deflate(stream)  # a stored member has no compressor to replace
    with open(tmp_path / "plain.bin", "wb") as fh:
        assert not xlsxfast.fast_deflate(fh)  # not a zip member at all
