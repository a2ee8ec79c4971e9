import datetime as dt
import zipfile

import pandas as pd
import pytest
import xlsxwriter

from cs_desk.io import readers
from cs_desk.io.readers import READERS, read, read_csv, read_excel

from io_helpers import codes, find, write_xlsx


def test_registry_covers_formats():
    assert {".xlsx", ".xlsm", ".csv", ".txt", ".tsv"} <= set(READERS)


def test_xlsx_title_rows_above_header(xlsx):
    path = xlsx("crm.xlsx", {"Accounts": [
        ["Account export"], ["generated 2024-05-01"], [],
        ["Account ID", "Name", "Region"],
        ["A1", "Acme", "NA"],
        [None, None, None],
        ["A2", "Beta", "EMEA"],
        [], [],
    ]})
    sheets, problems = read(path)
    assert not [p for p in problems if p.severity.value == "error"]
    (s,) = sheets
    assert s.sheet == "Accounts" and s.header_row == 4
    assert list(s.frame.columns) == ["Account ID", "Name", "Region"]
    assert s.frame["Region"].tolist() == ["NA", "EMEA"]  # "NA" stays text
    assert list(s.row_numbers) == [5, 7]  # the empty row 6 is skipped, numbering kept
    # text stays text: object columns cell by cell, ``str`` columns from the typed route
    assert all(pd.api.types.is_string_dtype(t) for t in s.frame.dtypes)


def test_xlsm_is_read(tmp_path):
    path = tmp_path / "book.xlsm"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("MRR")
    ws.write_row(0, 0, ["account_id", "month", "mrr"])
    ws.write_row(1, 0, ["A1", "2024-01", 100])
    wb.close()
    sheets, problems = read(path)
    assert sheets[0].frame.iloc[0].tolist() == ["A1", "2024-01", 100.0]


def test_openpyxl_fallback_gives_same_rows(xlsx):
    path = xlsx("b.xlsx", {"S": [["t"], [], ["id", "x"], ["1", dt.datetime(2024, 1, 2)], [None, None], ["2", 3]]})
    a, _ = read_excel(path, engine="calamine")
    b, _ = read_excel(path, engine="openpyxl")
    assert a[0].header_row == b[0].header_row == 3
    assert list(a[0].row_numbers) == list(b[0].row_numbers) == [4, 6]
    import pandas as pd
    assert pd.Timestamp(a[0].frame.iloc[0, 1]) == pd.Timestamp(b[0].frame.iloc[0, 1]) == pd.Timestamp(2024, 1, 2)


@pytest.mark.parametrize("delim", [",", ";", "\t", "|"])
def test_csv_dialects(csvfile, delim):
    path = csvfile("a.csv", [["account_id", "region", "mrr"], ["1001", "NA", "1,5"], ["1002", "EMEA", "2"]], delim)
    (s,), problems = read_csv(path)
    assert list(s.frame.columns) == ["account_id", "region", "mrr"]
    assert s.frame["region"].tolist() == ["NA", "EMEA"]
    assert list(s.row_numbers) == [2, 3]
    assert s.hints["delimiter"] == delim


def test_csv_encodings(tmp_path):
    p1 = tmp_path / "bom.csv"
    p1.write_bytes("\ufeffaccount_id,name\nA1,Zoë\n".encode("utf-8"))
    p2 = tmp_path / "win.csv"
    p2.write_bytes("account_id;name\nA1;Café “quoted” €\n".encode("cp1252"))
    (s1,), _ = read_csv(p1)
    (s2,), _ = read_csv(p2)
    assert list(s1.frame.columns) == ["account_id", "name"]  # no BOM in the first header
    assert s1.frame.iloc[0, 1] == "Zoë"
    assert s2.frame.iloc[0, 1] == "Café “quoted” €"
    assert s2.hints["encoding"] == "cp1252" and s2.hints["decimal"] == ","


def test_csv_title_rows_and_ragged_lines(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("Billing report\n\naccount_id,month,mrr\nA1,2024-01,10\n\nA2,2024-01,20,extra\n")
    (s,), _ = read_csv(path)
    assert s.header_row == 3
    assert list(s.row_numbers) == [4, 6]
    assert s.frame.iloc[1, :3].tolist() == ["A2", "2024-01", "20"]


def test_detect_header_numeric_month_headers():
    rows = [["MRR by month"], ["Account", 45292, 45323, 45352], ["A1", 1, 2, 3]]
    assert readers.detect_header(rows) == 1


def test_missing_file(tmp_path):
    _, problems = read(tmp_path / "nope.xlsx")
    assert codes(problems) == ["file_not_found"]
    _, problems = read(tmp_path / "nope.csv")
    assert codes(problems) == ["file_not_found"]


def test_unsupported_extension(tmp_path):
    p = tmp_path / "data.pdf"
    p.write_bytes(b"%PDF")
    _, problems = read(p)
    assert codes(problems) == ["unsupported_format"]


def test_legacy_xls_refused(tmp_path):
    p = tmp_path / "old.xls"
    p.write_bytes(readers.OLE_MAGIC + b"\0" * 1024)
    sheets, problems = read(p)
    assert sheets == [] and codes(problems) == ["unsupported_format"]
    assert "save it as .xlsx" in problems[0].message


def test_encrypted_xlsx(tmp_path):
    # an OOXML file with a password is a CFB container with an EncryptedPackage stream
    p = tmp_path / "secret.xlsx"
    entry = "EncryptedPackage".encode("utf-16-le").ljust(64, b"\0")
    p.write_bytes(readers.OLE_MAGIC + b"\0" * 504 + entry + b"\0" * 448)
    sheets, problems = read(p)
    assert sheets == [] and codes(problems) == ["file_encrypted"]
    assert "password" in problems[0].message


def test_corrupt_zip(tmp_path):
    p = tmp_path / "broken.xlsx"
    p.write_bytes(b"PK\x03\x04" + b"garbage" * 100)
    sheets, problems = read(p)
    assert sheets == [] and codes(problems) == ["file_unreadable"]


def test_zip_without_workbook(tmp_path):
    p = tmp_path / "notexcel.xlsx"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("hello.txt", "hi")
    assert codes(read(p)[1]) == ["file_unreadable"]


def test_zip_bomb_refused(tmp_path):
    p = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (12 << 20))  # 12 MB of zeros, ~1000x
    sheets, problems = read(p)
    assert sheets == [] and codes(problems) == ["file_too_large"]
    assert "zip bomb" in problems[0].message


def test_zip_total_size_bound(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "MAX_UNCOMPRESSED", 1000)
    p = write_xlsx(tmp_path / "ok.xlsx", {"S": [["a"], [1]]})
    assert codes(read(p)[1]) == ["file_too_large"]


def test_html_disguised_as_xls(tmp_path):
    p = tmp_path / "report.xls"
    p.write_text("<html><body><table><tr><th>Account ID</th><th>Region</th></tr>"
                 "<tr><td>A1</td><td>NA</td></tr><tr><td>A2</td><td>EMEA</td></tr></table></body></html>")
    (s,), problems = read(p)
    assert list(s.frame.columns) == ["Account ID", "Region"]
    assert s.frame["Region"].tolist() == ["NA", "EMEA"]
    assert codes(problems) == ["unsupported_format"] and problems[0].severity.value == "info"


def test_html_without_table(tmp_path):
    p = tmp_path / "page.xlsx"
    p.write_text("<html><body>Session expired</body></html>")
    sheets, problems = read(p)
    assert sheets == [] and codes(problems) == ["unsupported_format"]


def test_text_file_with_excel_name(tmp_path):
    p = tmp_path / "x.xlsx"
    p.write_text("a,b\n1,2\n")
    assert codes(read(p)[1]) == ["file_unreadable"]


def test_empty_sheet_and_header_only(xlsx):
    path = xlsx("e.xlsx", {"Empty": [], "Head": [["account_id", "name"]]})
    sheets, problems = read(path)
    assert [p.sheet for p in find(problems, "empty_sheet")] == ["Empty", "Head"]
    assert len(sheets) == 1 and len(sheets[0].frame) == 0


def test_formula_without_cached_value(xlsx):
    path = xlsx("f.xlsx", {"MRR": [["account_id", "month", "mrr"], ["A1", "2024-01", 10],
                                   ["A2", "2024-01", "=B2*2"]]})
    sheets, problems = read(path)
    (p,) = find(problems, "formula_without_value")
    assert (p.sheet, p.row, p.column) == ("MRR", 3, "C")
    value = sheets[0].frame.iloc[1, 2]
    assert value is None or value == "" or pd.isna(value)  # empty: never evaluated


def test_formula_with_cached_value_is_fine(tmp_path):
    p = tmp_path / "cached.xlsx"
    wb = xlsxwriter.Workbook(str(p))
    ws = wb.add_worksheet("S")
    ws.write_row(0, 0, ["a", "b"])
    ws.write_number(1, 0, 2)
    ws.write_formula(1, 1, "=A2*2", None, 4)
    wb.close()
    sheets, problems = read(p)
    assert not find(problems, "formula_without_value")
    assert sheets[0].frame.iloc[0, 1] == 4


def test_reading_never_modifies_the_input(xlsx, csvfile):
    import os
    for path in (xlsx("a.xlsx", {"S": [["account_id"], ["A1"]]}), csvfile("a.csv", [["account_id"], ["A1"]])):
        os.utime(path, (1_600_000_000, 1_600_000_000))
        before = path.read_bytes(), path.stat().st_mtime
        read(path)
        assert (path.read_bytes(), path.stat().st_mtime) == before


def test_excel_2003_xml_refused(tmp_path):
    p = tmp_path / "old.xls"
    p.write_text('<?xml version="1.0"?>\n<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">'
                 "</Workbook>")
    sheets, problems = read(p)
    assert sheets == [] and codes(problems) == ["unsupported_format"] and ".xlsx" in problems[0].message


# --------------------------------------------------------------------------- member_chunks
def _inflaters():
    import zlib

    kinds = [("zlib", lambda: (zlib.decompressobj(-zlib.MAX_WBITS), zlib.error))]
    try:
        from isal import isal_zlib
    except ImportError:
        return kinds
    return kinds + [("isal", lambda: (isal_zlib.decompressobj(-zlib.MAX_WBITS), isal_zlib.error))]


@pytest.fixture(params=_inflaters(), ids=lambda k: k[0])
def inflater(request, monkeypatch):
    monkeypatch.setattr(readers, "_raw_inflater", request.param[1])
    return request.param[0]


def _zip(path, members, method=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize("size", [7, 4096, 1 << 22])
@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED, zipfile.ZIP_BZIP2])
def test_member_chunks_give_the_member_bytes(tmp_path, inflater, size, method):
    import random

    rnd = random.Random(3)
    members = {
        "xl/worksheets/sheet1.xml": "".join(f'<row r="{i}"><c r="A{i}"><v>{rnd.random()}</v></c></row>'
                                            for i in range(20_000)).encode(),
        "empty.xml": b"",
        "same.xml": b"a" * 300_000,  # high ratio: output is held back between calls
    }
    path = _zip(tmp_path / "m.zip", members, method)
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            chunks = list(readers.member_chunks(path, info, size))
            assert b"".join(chunks) == members[info.filename]
            assert all(chunks)  # no empty chunks


def test_member_chunks_refuse_damaged_members(tmp_path, inflater):
    data = "".join(f"<c>{i * 7919 % 10007}</c>" for i in range(50_000)).encode()
    path = _zip(tmp_path / "d.zip", {"s.xml": data})
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("s.xml")
    # declares fewer bytes than it inflates to (a zip bomb lies like this)
    import copy

    small = copy.copy(info)
    small.file_size = len(data) // 2
    with pytest.raises(zipfile.BadZipFile, match="declared size"):
        b"".join(readers.member_chunks(path, small, 4096))
    # the compressed bytes are garbled in the middle
    raw = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename)
    raw[start + 100:start + 400] = b"\xff" * 300
    garbled = tmp_path / "g.zip"
    garbled.write_bytes(bytes(raw))
    with pytest.raises(zipfile.BadZipFile):
        b"".join(readers.member_chunks(garbled, info, 4096))
    # the file ends before the member does
    cut = tmp_path / "c.zip"
    cut.write_bytes(path.read_bytes()[:start + info.compress_size // 2])
    with pytest.raises(zipfile.BadZipFile, match="cut short"):
        b"".join(readers.member_chunks(cut, info, 4096))


def test_formula_scan_across_chunks_and_inflaters(tmp_path, inflater, monkeypatch):
    """A formula without a saved value is found wherever the chunk boundaries fall."""
    p = tmp_path / "many.xlsx"
    wb = xlsxwriter.Workbook(str(p))
    ws = wb.add_worksheet("S")
    ws.write_row(0, 0, ["account_id", "mrr"])
    for r in range(1, 3000):
        ws.write_string(r, 0, f"A{r}")
        if r % 997 == 0:
            ws.write_formula(r, 1, f"=LEN(A{r + 1})", None, "")
        else:
            ws.write_number(r, 1, r)
    wb.close()
    # xlsxwriter stores a formula's result as <v>0</v> by default; "" gives a cell with no value
    original = readers.member_chunks
    for size in (64, 1 << 22):
        monkeypatch.setattr(readers, "member_chunks", lambda path, info, size=size: original(path, info, size))
        problems = readers.scan_formulas_without_value(p, str(p))
        assert [(x.row, x.column) for x in problems] == [(998, "B"), (1995, "B"), (2992, "B")]
