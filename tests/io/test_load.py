import datetime as dt
import os

import pandas as pd
import pytest
import xlsxwriter

from cs_desk.dataset import Dataset
from cs_desk.io import inspect, load
from cs_desk.io.mapping import MappingFile
from cs_desk.problems import Code

from io_helpers import codes, find, write_csv, write_xlsx


@pytest.fixture
def workbook(tmp_path):
    path = tmp_path / "portfolio.xlsx"
    write_xlsx(path, {
        "Accounts": [["Customer success export"], [],
                     ["Account ID", "Account Name", "CSM", "Segment", "Region", "Customer Since"],
                     [1001, "Acme", "Ann", "SMB", "NA", dt.datetime(2023, 1, 15)],
                     [1002, "Beta", "Bob", "ENT", "EMEA", "2023-03-01"],
                     [1003, "Gamma", "Ann", "SMB", "APAC", "not a date"],
                     [1001, "Acme again", "Ann", "SMB", "NA", None]],
        "MRR": [["Account ID", "2024-01", "2024-02", "2024-03"],
                [1001, 100, 110, None],
                [1002, 500, "oops", 520],
                [1004, 50, 50, 50]],
        "Notes": [["Whatever", "Else"], ["x", "y"]],
    })
    return path


def test_load_workbook_end_to_end(workbook):
    ds = load(workbook)
    acc, mrr = ds.tables["accounts"], ds.tables["mrr"]
    assert acc["account_id"].tolist() == ["1001", "1002", "1003"]
    assert acc["region"].tolist() == ["NA", "EMEA", "APAC"]
    assert acc["customer_since"].tolist()[:2] == [pd.Timestamp(2023, 1, 15), pd.Timestamp(2023, 3, 1)]
    assert len(mrr) == 7  # 9 cells, one empty, one bad
    assert mrr[mrr.account_id == "1001"]["month"].tolist() == [pd.Timestamp(2024, 1, 1), pd.Timestamp(2024, 2, 1)]
    # every problem is located as the user sees it
    (bad_date,) = find(ds.problems, "bad_date")
    assert (bad_date.sheet, bad_date.row, bad_date.column, bad_date.value) == ("Accounts", 6, "Customer Since",
                                                                              "not a date")
    (bad_num,) = find(ds.problems, "bad_number")
    assert (bad_num.sheet, bad_num.row, bad_num.column, bad_num.value) == ("MRR", 3, "2024-02", "oops")
    (dup,) = find(ds.problems, "duplicate_row")
    assert (dup.sheet, dup.row, dup.file) == ("Accounts", 7, str(workbook))
    (unknown,) = find(ds.problems, "unknown_account")
    assert unknown.table == "mrr" and "1004" in unknown.message
    (notes,) = find(ds.problems, "sheet_not_recognised")
    assert notes.sheet == "Notes" and notes.severity.value == "info"
    # sources
    src = {s.table: s for s in ds.sources}
    assert src["accounts"].header_row == 3 and src["accounts"].rows == 4 and src["accounts"].rows_set_aside == 1
    assert src["mrr"].layout == "wide" and src["mrr"].rows_set_aside == 1
    assert ds.rows_set_aside() == {"accounts": 1, "mrr": 1}
    assert not ds.errors


def test_hidden_columns_document_provenance(workbook):
    ds = load(workbook)
    acc = ds.tables["accounts"]
    assert list(acc.columns[-2:]) == ["_row", "_source"]
    assert acc["_row"].tolist() == [4, 5, 6]
    assert ds.sources[acc["_source"].iloc[0]].sheet == "Accounts"


def test_input_file_unchanged(workbook, tmp_path):
    csv_path = write_csv(tmp_path / "usage.csv", [["account_id", "date"], ["1001", "2024-01-05"]])
    for p in (workbook, csv_path):
        os.utime(p, (1_600_000_000, 1_600_000_000))
    before = {p: (p.read_bytes(), p.stat().st_mtime) for p in (workbook, csv_path)}
    load([workbook, csv_path])
    assert {p: (p.read_bytes(), p.stat().st_mtime) for p in (workbook, csv_path)} == before


def test_wide_mrr_every_header_style(tmp_path):
    path = tmp_path / "wide.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    styles = {
        "Real dates": [dt.datetime(2024, 1, 1), dt.datetime(2024, 2, 1), dt.datetime(2024, 3, 1)],
        "Serials": [45292, 45323, 45352],
        "Iso": ["2024-01", "2024-02", "2024-03"],
        "Names": ["Jan 2024", "Feb 2024", "Mar 2024"],
        "Long names": ["January 2024", "February 2024", "March 2024"],
        "Short": ["Jan-24", "Feb-24", "Mar-24"],
        "Us": ["01/2024", "02/2024", "03/2024"],
        "Slash": ["2024/01", "2024/02", "2024/03"],
    }
    date_fmt = wb.add_format({"num_format": "mmm yyyy"})
    for name, headers in styles.items():
        ws = wb.add_worksheet(name)
        ws.write(0, 0, "Account ID")
        for j, h in enumerate(headers, start=1):
            if isinstance(h, dt.datetime):
                ws.write_datetime(0, j, h, date_fmt)
            else:
                ws.write(0, j, h)
        ws.write_row(1, 0, [f"{name}-A", 10, 20, 30])
        ws.write_row(2, 0, [f"{name}-B", None, 5, None])
    wb.close()
    ds = load(path)
    mrr = ds.tables["mrr"]
    assert [s.layout for s in ds.sources] == ["wide"] * len(styles)
    for name in styles:
        a = mrr[mrr.account_id == f"{name}-A"]
        assert a["month"].tolist() == [pd.Timestamp(2024, m, 1) for m in (1, 2, 3)], name
        assert a["mrr"].tolist() == [10, 20, 30]
        b = mrr[mrr.account_id == f"{name}-B"]
        assert b["month"].tolist() == [pd.Timestamp(2024, 2, 1)]  # empty cells are no rows
    assert not ds.problems


def test_several_sources_of_one_table_are_concatenated(tmp_path):
    a = write_csv(tmp_path / "mrr_2023.csv", [["account_id", "month", "mrr"], ["A", "2023-12", "10"]])
    b = write_csv(tmp_path / "mrr_2024.csv", [["account_id", "month", "mrr"], ["A", "2024-01", "12"],
                                              ["A", "2023-12", "10"]])
    ds = load([a, b])
    mrr = ds.tables["mrr"]
    assert mrr["mrr"].tolist() == [10, 12]
    (dup,) = find(ds.problems, "duplicate_row")
    assert dup.file == str(b) and dup.row == 3
    assert [s.rows_set_aside for s in ds.sources] == [0, 1]


def test_explicit_table_overrides_recognition(tmp_path):
    path = write_xlsx(tmp_path / "x.xlsx", {
        "Sheet1": [["Customer", "When", "Amount"], ["A", "2024-01", 5]],
        "Sheet2": [["account_id", "month", "mrr"], ["B", "2024-01", 7]],
    })
    ds = load(path, explicit={"mrr": f"{path}#Sheet1"}, mapping=MappingFile.from_dict({"source": [
        {"file": "x.xlsx", "sheet": "Sheet1", "table": "mrr",
         "columns": {"account_id": "Customer", "month": "When", "mrr": "Amount"}}]})[0])
    assert ds.tables["mrr"]["account_id"].tolist() == ["A"]
    assert any(p.sheet == "Sheet2" and p.code is Code.SHEET_NOT_RECOGNISED for p in ds.problems)


def test_explicit_sheet_not_found(tmp_path):
    path = write_xlsx(tmp_path / "x.xlsx", {"Sheet1": [["account_id"], ["A"]]})
    ds = load([], explicit={"accounts": f"{path}#Nope"})
    (p,) = find(ds.problems, "sheet_not_found")
    assert p.severity.value == "error" and "Sheet1" in p.message


def test_explicit_unknown_table(tmp_path):
    ds = load([], explicit={"acounts": "x.csv"})
    assert "option_invalid" in codes(ds.problems)


def test_missing_required_column_is_one_error(tmp_path):
    path = write_csv(tmp_path / "mrr.csv", [["account_id", "amount"], ["A", "5"]])
    ds = load(path)
    (p,) = find(ds.problems, "missing_column")
    assert p.severity.value == "error" and "month" in p.message and p.table == "mrr"


def test_saved_mapping_file_path_and_options(tmp_path):
    data = write_csv(tmp_path / "billing.csv", [["Kunde", "Monat", "Umsatz"], ["A", "03.02.2024", "1.234,50"],
                                                ["B", "04.02.2024", "99,00"]], delimiter=";")
    mf = MappingFile.from_dict({"source": [{"file": "billing.csv", "table": "mrr", "columns": {
        "account_id": "Kunde", "month": "Monat", "mrr": "Umsatz"}, "options": {"date_order": "dmy"}}]})[0]
    mpath = tmp_path / "map.toml"
    mf.save(mpath)
    ds = load(data, mapping=mpath)
    mrr = ds.tables["mrr"]
    assert mrr["mrr"].tolist() == [1234.5, 99.0]
    assert mrr["month"].tolist() == [pd.Timestamp(2024, 2, 1)] * 2
    assert not find(ds.problems, "ambiguous_date_format")


def test_bad_mapping_file_reported(tmp_path):
    mpath = tmp_path / "m.toml"
    mpath.write_text("[[source]]\nfile='a.csv'\ntable='nope'\n")
    ds = load([], mapping=mpath)
    assert "mapping_invalid" in codes(ds.problems)


def test_mixed_currencies(tmp_path):
    path = write_csv(tmp_path / "mrr.csv", [["account_id", "month", "mrr", "currency"], ["A", "2024-01", "1", "usd"],
                                            ["B", "2024-01", "2", "EUR"], ["C", "2024-01", "3", "$"]])
    ds = load(path)
    (p,) = find(ds.problems, "mixed_currencies")
    assert p.severity.value == "error" and "EUR" in p.message and len(ds.tables["mrr"]) == 3
    ds = load(path, options={"currency": "usd"})
    (p,) = find(ds.problems, "mixed_currencies")
    assert p.severity.value == "warning" and p.row == 3 and p.value == "EUR"
    assert ds.tables["mrr"]["account_id"].tolist() == ["A", "C"]
    assert ds.sources[0].rows_set_aside == 1


def test_bad_files_give_one_clear_problem_not_a_traceback(tmp_path):
    enc = tmp_path / "enc.xlsx"
    enc.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500 + "EncryptedPackage".encode("utf-16-le"))
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 nope")
    ds = load([enc, old, broken, tmp_path / "missing.csv"])
    assert codes(ds.problems)[:4] == ["file_encrypted", "unsupported_format", "file_unreadable", "file_not_found"]
    assert ds.tables == {}


def test_surveys_sheet_named_nps_without_type_column(tmp_path):
    path = write_csv(tmp_path / "nps.csv", [["account_id", "date", "score"], ["A", "2024-01-02", "9"]])
    ds = load(path)
    assert ds.tables["surveys"]["survey"].tolist() == ["nps"]


def test_stripe_export_end_to_end(tmp_path):
    rows = [["id", "Customer ID", "Customer Name", "Plan", "Quantity", "Interval", "Amount", "Currency", "Status",
             "Created (UTC)", "Start (UTC)", "Canceled At (UTC)", "Ended At (UTC)"],
            ["sub_1", "cus_A", "Acme", "pro", "2", "month", "49.00", "usd", "active", "2024-01-01 10:00",
             "2024-01-01 10:00", "", ""],
            ["sub_2", "cus_B", "Beta", "pro", "1", "year", "1200.00", "usd", "canceled", "2023-01-01 10:00",
             "2023-01-01 10:00", "2023-12-01 10:00", "2024-01-01 10:00"]]
    ds = load(write_csv(tmp_path / "subscriptions.csv", rows))
    subs = ds.tables["subscriptions"]
    assert subs["mrr"].tolist() == [98.0, 100.0]
    assert subs["end_date"].tolist()[1] == pd.Timestamp(2024, 1, 1)
    assert ds.sources[0].mapping["account_id"] == "Customer ID"


def test_progress_is_reported(workbook):
    seen = []
    load(workbook, progress=lambda f, text: seen.append((f, text)))
    assert seen[0][0] == 0 and seen[-1] == (1.0, "Loaded")
    assert all(0 <= f <= 1 for f, _ in seen)


def test_inspect(workbook):
    result = inspect(workbook)
    assert [(s.sheet, r.table) for s, r in result] == [("Accounts", "accounts"), ("MRR", "mrr"), ("Notes", None)]
    summary, rec = result[0]
    assert summary.header_row == 3 and summary.rows == 4 and summary.columns[0] == "Account ID"
    assert result.problems == []


def test_from_frames_uses_same_cleaning_and_validation():
    ds = Dataset.from_frames(accounts=pd.DataFrame({"account_id": ["A", "A", "B"]}),
                             mrr=pd.DataFrame({"account_id": ["A", "Z"], "month": ["2024-01", "2024-01"],
                                               "mrr": ["$1,000", "5"]}))
    assert ds.tables["accounts"]["account_id"].tolist() == ["A", "B"]
    (dup,) = find(ds.problems, "duplicate_row")
    assert dup.row == 3 and dup.file == "<data>" and dup.sheet == "accounts"
    assert ds.tables["mrr"]["mrr"].tolist() == [1000.0, 5.0]
    assert find(ds.problems, "unknown_account")


def test_nothing_recognised_is_an_error(tmp_path):
    ds = load(write_csv(tmp_path / "misc.csv", [["foo", "bar"], ["1", "2"]]))
    assert "sheet_not_recognised" in codes(ds.problems) and ds.errors
