"""Big csv files are parsed by Arrow (``readers._csv_arrow``): the sheets must be exactly what the
pandas route gives, cell for cell, with the same header, row numbers and problems, or the Arrow
route must step aside. Files here are small, so the size threshold is lowered for the tests."""
from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cs_desk.io import readers

pytest.importorskip("pyarrow")


@pytest.fixture(autouse=True)
def arrow_for_every_size(monkeypatch):
    monkeypatch.setattr(readers, "ARROW_CSV_MIN_CHARS", 0)


def _cells(sheet) -> list[list]:
    frame = sheet.frame.astype(object)
    return [[None if (isinstance(v, float) and np.isnan(v)) else v for v in row] for row in frame.to_numpy().tolist()]


def _same(path):
    """Both routes on one file; returns whether the Arrow route took it."""
    took = []
    original = readers._csv_arrow

    def spy(*args):
        got = original(*args)
        took.append(got is not None)
        return got

    readers._csv_arrow = spy
    try:
        fast_sheets, fast_problems = readers.read_csv(path)
    finally:
        readers._csv_arrow = original
    slow_sheets, slow_problems = readers.read_csv(path, arrow=False)
    assert [(p.code, p.message, p.row, p.severity) for p in fast_problems] == \
        [(p.code, p.message, p.row, p.severity) for p in slow_problems]
    assert len(fast_sheets) == len(slow_sheets)
    for f, s in zip(fast_sheets, slow_sheets):
        assert list(f.frame.columns) == list(s.frame.columns)
        assert _cells(f) == _cells(s)
        assert f.row_numbers.tolist() == s.row_numbers.tolist()
        assert (f.header_row, f.sheet, f.file, f.hints) == (s.header_row, s.sheet, s.file, s.hints)
        assert all(pd.api.types.is_string_dtype(t) for t in f.frame.dtypes)
    return bool(took and took[0])


_CELL = st.one_of(
    st.sampled_from(["", " ", "NA", "n/a", "0", "007", "1,5", "12.0", "2024-01-31", "ACC-1", "=1+1", "x y",
                     'say "hi"', "a\nb", "a\r\nb", "é€", ";", "\t"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=6),
)


@st.composite
def tables(draw):
    width = draw(st.integers(1, 4))
    header = draw(st.lists(st.sampled_from(["account_id", "name", "", "MRR", "mrr", "2024-01", "Seats"]),
                           min_size=width, max_size=width))
    body = draw(st.lists(st.lists(_CELL, min_size=width, max_size=width), max_size=8))
    rows = [header] + body
    if draw(st.booleans()):  # a title line above the table
        rows.insert(0, ["Export of 2024-05-01"])
    if body and draw(st.booleans()):  # a ragged row
        i = draw(st.integers(1, len(rows) - 1))
        rows[i] = rows[i][: max(1, width - 1)] if draw(st.booleans()) else rows[i] + ["extra"]
    return rows


@given(rows=tables(), delim=st.sampled_from([",", ";", "\t"]), blank=st.integers(0, 3),
       ending=st.sampled_from(["\n", "\r\n"]))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_arrow_route_gives_what_pandas_gives(tmp_path, rows, delim, blank, ending):
    buf = io.StringIO()
    csv.writer(buf, delimiter=delim, lineterminator=ending).writerows(rows)
    text = buf.getvalue()
    if blank:  # blank lines inside and at the end
        lines = text.split(ending)
        lines.insert(min(blank, len(lines) - 1), "")
        text = ending.join(lines) + ending * (blank - 1)
    if not text.strip():
        return
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode("utf-8"))
    _same(path)


@given(text=st.text(alphabet=st.sampled_from(list('ab,;" \n\r\t1')), min_size=1, max_size=60))
@example(text='a,b\n"ab"c,2\n')
@example(text='a,b\n"x""y",2')
@example(text='a,b\na"b,2\n')
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_arrow_route_on_raw_text_gives_what_pandas_gives(tmp_path, text):
    """Not written by a csv writer: stray quotes, lone carriage returns, ragged rows."""
    if not text.strip():
        return
    path = tmp_path / "r.csv"
    path.write_bytes(text.encode("utf-8"))
    _same(path)


def test_arrow_route_takes_a_plain_export(tmp_path):
    rows = [["account_id", "created_at", "csat", "note", ""]]
    rows += [[f"ACC-{i:03d}", f"2024-01-{i % 28 + 1:02d} 10:00:00", str(i % 5 + 1) if i % 3 else "",
              'said "ok", then left' if i % 7 == 0 else "", ""] for i in range(500)]
    rows.insert(40, ["", "", "", "", ""])  # an empty row: dropped, its number kept
    path = tmp_path / "tickets.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    assert _same(path)  # the Arrow route took it (and gave the same)
    (sheet,), _ = readers.read_csv(path)
    assert list(sheet.frame.columns) == ["account_id", "created_at", "csat", "note"]  # blank column dropped
    assert len(sheet.frame) == 500 and 41 not in sheet.row_numbers.tolist() and sheet.row_numbers[-1] == 502
    assert sheet.frame["note"].iloc[0] == 'said "ok", then left' and sheet.frame["csat"].iloc[0] == ""


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1252", "utf-16"])
def test_arrow_route_after_decoding(tmp_path, encoding):
    rows = [["account_id", "name"]] + [[f"A{i}", "Café Müller"] for i in range(50)]
    path = tmp_path / "enc.csv"
    with open(path, "w", newline="", encoding=encoding) as fh:
        csv.writer(fh, delimiter=";").writerows(rows)
    assert _same(path)
    (sheet,), _ = readers.read_csv(path)
    assert sheet.frame["name"].iloc[0] == "Café Müller" and sheet.hints["decimal"] == ","


def test_ragged_and_title_files_are_left_to_pandas(tmp_path):
    title = tmp_path / "title.csv"
    title.write_text("Account export\naccount_id,name\nA1,x\n", encoding="utf-8")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("account_id,name\nA1,x\nA2\nA3,z,extra\n", encoding="utf-8")
    for path in (title, ragged):
        assert not _same(path)


def test_demo_as_csv_loads_the_same_both_ways(tmp_path, monkeypatch):
    """Every demo table as a csv file, with a few bad cells: the cleaned tables and every
    problem are the same whether Arrow or pandas parsed the files."""
    from cs_desk import demo, io as csio

    frames = demo.generate(150, months=14, usage=0.3)
    paths = []
    for name, frame in frames.items():
        frame = frame.copy()
        if name == "tickets":
            frame["csat"] = frame["csat"].astype(object)
            frame.loc[frame.index[3], "csat"] = "five"  # not a number: reported with its row
            frame["created_at"] = frame["created_at"].astype(object)
            frame.loc[frame.index[5], "created_at"] = "31/02/2024"  # not a date
        path = tmp_path / f"{name}.csv"
        frame.to_csv(path, index=False, date_format="%Y-%m-%d %H:%M:%S")
        paths.append(path)
    took = []
    original = readers._csv_arrow
    monkeypatch.setattr(readers, "_csv_arrow", lambda *a: took.append(a[2]) or original(*a))
    fast = csio.load(paths)
    assert len(took) == len(paths)
    monkeypatch.setattr(readers, "_csv_arrow", lambda *a: None)
    slow = csio.load(paths)
    assert [str(p) for p in fast.problems] == [str(p) for p in slow.problems]
    assert {(p.row, p.column) for p in fast.problems if "'five'" in str(p) or "31/02/2024" in str(p)} == \
        {(5, "csat"), (7, "created_at")}
    assert set(fast.tables) == set(slow.tables) and len(fast.tables) == len(paths)
    for name in fast.tables:
        pd.testing.assert_frame_equal(fast.tables[name], slow.tables[name])
