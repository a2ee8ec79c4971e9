"""The plan rendered into a real workbook (`cs-desk excel refresh book.xlsx --out new.xlsx`)."""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import math
import shutil

import openpyxl
import pytest

from cs_desk import sheets_command
from cs_desk.sheets import (HEADER_ROW, MARKER_PREFIX, OUTPUT_SHEETS, RefreshError, plan_refresh,
                            read_workbook_values, render_plan_to_file)

from .conftest import convert_with_libreoffice, soffice

NOW = dt.datetime(2026, 11, 2, 9, 30)


MRR = [["account_id", "month", "mrr"], ["a", "2024-01", 100], ["b", "2024-01", 200], ["a", "2024-02", 120],
       ["b", "2024-02", 0], ["c", "2024-02", 50]]


@pytest.fixture
def small_book(tmp_path):
    path = tmp_path / "small.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "mrr"
    for row in MRR:
        wb.active.append(row)
    accounts = wb.create_sheet("accounts")
    for row in (["account_id", "segment"], ["a", "SMB"], ["b", "SMB"], ["c", "Ent"]):
        accounts.append(row)
    wb.save(path)
    return path


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_cli(*argv) -> int:
    parser = argparse.ArgumentParser(prog="cs-desk")
    sheets_command.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    return args.func(args)


@pytest.fixture(scope="module")
def refreshed(demo_book, tmp_path_factory):
    folder = tmp_path_factory.mktemp("refreshed")
    book = folder / "book.xlsx"
    shutil.copyfile(demo_book, book)
    before = sha(book)
    out = folder / "new.xlsx"
    code = run_cli("excel", "refresh", str(book), "--out", str(out), "-q")
    assert sha(book) == before, "the input workbook was modified"
    return book, out, code


def test_cli_writes_a_copy_with_the_cs_sheets(refreshed, demo_sheets):
    book, out, code = refreshed
    assert code in (0, 1)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == list(demo_sheets) + list(OUTPUT_SHEETS)
    for name in OUTPUT_SHEETS:
        ws = wb[name]
        assert ws["A1"].value.startswith(f"{MARKER_PREFIX}: {name}")
        assert ws.freeze_panes is not None
    # data sheets copied unchanged
    for name, values in demo_sheets.items():
        got = [list(r) for r in wb[name].iter_rows(values_only=True)]
        assert got == values, name


def test_rendered_kpis_equal_compute_for_the_same_file(refreshed):
    """Numbers in Excel equal the CLI's: the engine's compute over the file the CLI would load."""
    from cs_desk import io
    from cs_desk.kpis import compute

    book, out, _ = refreshed
    ref = compute(io.load([book])).table
    want = {(r.kpi, r.period): r.value for r in ref.itertuples() if r.group == "all"}
    ws = openpyxl.load_workbook(out, data_only=True)["CS KPIs"]
    rows = list(ws.iter_rows(min_row=HEADER_ROW, values_only=True))
    header, body = rows[0], rows[1:]
    assert header[:3] == ("KPI", "id", "target")
    n = 0
    for row in body:
        for period, v in zip(header[3:], row[3:]):
            w = want[(row[1], period)]
            if v is None:
                assert math.isnan(w), (row[1], period)
            else:
                assert v == pytest.approx(w, rel=1e-12, abs=1e-9), (row[1], period)
            n += 1
    assert n == len(want) > 100


def test_number_formats_and_text_cells(refreshed):
    _, out, _ = refreshed
    ws = openpyxl.load_workbook(out)["CS KPIs"]
    ids = {ws.cell(r, 2).value: r for r in range(HEADER_ROW + 1, ws.max_row + 1)}
    assert ws.cell(ids["nrr"], 4).number_format == "0.0%"
    assert ws.cell(ids["mrr"], 4).number_format == "#,##0"
    assert ws.cell(HEADER_ROW, 4).data_type == "s" and ws.cell(HEADER_ROW, 4).number_format == "@"


def test_formula_looking_input_is_written_as_text(tmp_path):
    book = tmp_path / "evil.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "accounts"
    ws.append(["account_id", "account_name"])
    for r in (["a", "x"], ["b", "y"]):
        ws.append(r)
    surveys = wb.create_sheet("surveys")
    surveys.append(["account_id", "date", "survey", "score", "comment"])
    surveys.append(["a", dt.datetime(2024, 1, 5), "NPS", "=1+1", "=HYPERLINK(\"http://x\")"])
    surveys.cell(2, 4).data_type = "s"
    surveys.cell(2, 5).data_type = "s"
    wb.save(book)
    sheets, _ = read_workbook_values(book)
    plan = plan_refresh(sheets, book=book.name, now=NOW)
    out = render_plan_to_file(plan, book, tmp_path / "out.xlsx")
    wb2 = openpyxl.load_workbook(out)
    for name in OUTPUT_SHEETS:
        for row in wb2[name].iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value[:1] in "=+-@":
                    assert c.data_type == "s", (name, c.coordinate, c.value)
    probs = wb2["CS Problems"]
    assert any(isinstance(c.value, str) and c.value.startswith("=1+1") for row in probs.iter_rows() for c in row)


def test_rerendering_a_refreshed_book_replaces_own_sheets_and_keeps_users(tmp_path, small_book):
    book = tmp_path / "b.xlsx"
    wb = openpyxl.load_workbook(small_book)
    wb.create_sheet("CS KPIs").append(["my own numbers"])
    wb.save(book)
    sheets, _ = read_workbook_values(book)
    plan = plan_refresh(sheets, book=book.name, now=NOW)
    first = render_plan_to_file(plan, book, tmp_path / "one.xlsx")
    assert openpyxl.load_workbook(first)["CS KPIs"]["A1"].value == "my own numbers"
    sheets2, _ = read_workbook_values(first)
    plan2 = plan_refresh(sheets2, book=first.name, now=NOW)
    second = render_plan_to_file(plan2, first, tmp_path / "two.xlsx")
    names = openpyxl.load_workbook(second).sheetnames
    assert names == openpyxl.load_workbook(first).sheetnames
    assert names.count("CS KPIs (2)") == 1


def test_refusals(tmp_path, demo_book):
    sheets, _ = read_workbook_values(demo_book)
    plan = plan_refresh(sheets, now=NOW)
    with pytest.raises(RefreshError, match="new file"):
        render_plan_to_file(plan, demo_book, demo_book)
    with pytest.raises(RefreshError, match="does not exist"):
        read_workbook_values(tmp_path / "missing.xlsx")
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"not a zip at all")
    with pytest.raises(RefreshError):
        read_workbook_values(junk)
    assert run_cli("excel", "refresh", str(junk), "--out", str(tmp_path / "o.xlsx"), "-q") == 2
    assert run_cli("excel", "refresh", str(demo_book), "--out", str(tmp_path / "o.csv"), "-q") == 2
    assert run_cli("excel") == 2


@pytest.mark.libreoffice
@pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_opens_the_refreshed_workbook(refreshed, tmp_path):
    _, out, _ = refreshed
    small = tmp_path / "cs-sheets.xlsx"
    wb = openpyxl.load_workbook(out)
    for ws in list(wb.worksheets):
        if ws.title not in ("CS KPIs", "CS Problems"):
            wb.remove(ws)
    wb.save(small)
    csv = convert_with_libreoffice(small, "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
                                   tmp_path)
    texts = {p.name: p.read_text(encoding="utf-8") for p in tmp_path.glob("*.csv")}
    assert csv.exists() and set(texts) == {"cs-sheets-CS KPIs.csv", "cs-sheets-CS Problems.csv"}
    kpi_text = texts["cs-sheets-CS KPIs.csv"]
    assert "Net revenue retention" in kpi_text and MARKER_PREFIX in kpi_text
    nrr_line = next(line for line in kpi_text.splitlines() if ",nrr," in line)
    assert "%" in nrr_line  # the number format survived: 97.6% rather than 0.976
    pdf = convert_with_libreoffice(small, "pdf", tmp_path)
    assert pdf.stat().st_size > 1000


def test_wired_into_the_cs_desk_command_line(small_book, tmp_path):
    """What the lead's one line in cli.py gives: `cs-desk -q excel refresh BOOK --out NEW`."""
    from cs_desk import cli

    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if "excel" not in sub.choices:
        sheets_command.add_parser(sub)
    out = tmp_path / "new.xlsx"
    args = parser.parse_args(["-q", "excel", "refresh", str(small_book), "--out", str(out)])
    assert args.quiet is True and args.command == "excel"
    assert args.func(args) in (0, 1)
    assert "CS KPIs" in openpyxl.load_workbook(out, read_only=True).sheetnames
