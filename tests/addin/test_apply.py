"""The apply step against a stand-in for the xlwings object model (the calls COM and Office.js share).

The fake book records every call; it supports only what apply.py may use, so a call outside
the shared subset fails here. It also behaves like the remote engine in one respect: a value
written in this run reads back as None (writes are queued), so apply must never read back.
"""
from __future__ import annotations

import datetime as dt
import re

import pytest

from cs_desk.sheets import FIRST_DATA_ROW, HEADER_ROW, MARKER_PREFIX, TEXT, plan_refresh
from excel_addin import apply

NOW = dt.datetime(2026, 11, 2, 9, 30)


def _addr(r, c):
    s = ""
    while c:
        c, k = divmod(c - 1, 26)
        s = chr(65 + k) + s
    return f"{s}{r}"


class FakeFont:
    def __init__(self, rng):
        self._rng = rng

    def __setattr__(self, key, value):
        if key.startswith("_"):
            return object.__setattr__(self, key, value)
        self._rng.sheet.book.log.append(("font", self._rng.sheet.name, self._rng.address, key, value))


class FakeRange:
    def __init__(self, sheet, first, last=None):
        self.sheet, self.first, self.last = sheet, first, last or first

    @property
    def address(self):
        return f"{_addr(*self.first)}:{_addr(*self.last)}"

    @property
    def row(self):
        return self.first[0]

    @property
    def column(self):
        return self.first[1]

    def options(self, **kw):
        assert set(kw) <= {"ndim", "err_to_str"}
        return self

    @property
    def value(self):
        if self.sheet.name in self.sheet.book.written:
            return None  # like the remote engine: what was written this run is not readable
        (r0, c0), (r1, c1) = self.first, self.last
        if self.first == self.last:
            return self.sheet.cells.get(self.first)
        return [[self.sheet.cells.get((r, c)) for c in range(c0, c1 + 1)] for r in range(r0, r1 + 1)]

    @value.setter
    def value(self, v):
        book = self.sheet.book
        book.written.add(self.sheet.name)
        book.log.append(("value", self.sheet.name, _addr(*self.first)))
        rows = v if isinstance(v, list) else [[v]]
        for i, row in enumerate(rows):
            for j, x in enumerate(row):
                self.sheet.cells[(self.first[0] + i, self.first[1] + j)] = x

    @property
    def number_format(self):
        raise NotImplementedError("reading formats is not shared")

    @number_format.setter
    def number_format(self, fmt):
        self.sheet.book.log.append(("format", self.sheet.name, self.address, fmt))
        (r0, c0), (r1, c1) = self.first, self.last
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                self.sheet.formats[(r, c)] = fmt

    @property
    def font(self):
        return FakeFont(self)

    @property
    def column_width(self):
        raise NotImplementedError

    @column_width.setter
    def column_width(self, w):
        self.sheet.book.log.append(("width", self.sheet.name, self.address, w))


class FakeFreeze:
    def __init__(self, sheet):
        self.sheet = sheet

    def freeze_at(self, address):
        self.sheet.book.log.append(("freeze", self.sheet.name, address))


class FakeSheet:
    def __init__(self, book, name, values=None):
        self.book, self.name = book, name
        self.cells, self.formats = {}, {}
        for i, row in enumerate(values or []):
            for j, v in enumerate(row):
                if v is not None:
                    self.cells[(i + 1, j + 1)] = v

    def __getitem__(self, address):
        m = re.fullmatch(r"([A-Z]+)(\d+)", address)
        col = 0
        for ch in m.group(1):
            col = col * 26 + ord(ch) - 64
        return FakeRange(self, (int(m.group(2)), col))

    def range(self, first, last=None):
        return FakeRange(self, first, last)

    @property
    def used_range(self):
        if not self.cells:
            return FakeRange(self, (1, 1))
        rows = [r for r, _ in self.cells]
        cols = [c for _, c in self.cells]
        return FakeRange(self, (min(rows), min(cols)), (max(rows), max(cols)))

    @property
    def freeze_panes(self):
        return FakeFreeze(self)

    def clear(self):
        self.book.log.append(("clear", self.name))
        self.cells, self.formats = {}, {}


class FakeSheets:
    def __init__(self, book):
        self.book, self.items = book, []

    def __iter__(self):
        return iter(list(self.items))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, key):
        if isinstance(key, int):
            return self.items[key]
        return next(s for s in self.items if s.name == key)

    def add(self, name=None, before=None, after=None):
        assert before is None and after is self.items[-1]
        self.book.log.append(("add", name))
        sheet = FakeSheet(self.book, name)
        self.items.append(sheet)
        return sheet


class FakeEngine:
    def __init__(self, name):
        self.name = name


class FakeApp:
    def __init__(self, book, engine):
        self.book, self.engine = book, FakeEngine(engine)

    def alert(self, prompt, title=None, buttons="ok", mode=None, callback=None):
        self.book.log.append(("alert", prompt))


class FakeBook:
    def __init__(self, name, sheets: dict, engine="excel"):
        self.name, self.log, self.written = name, [], set()
        self.sheets = FakeSheets(self)
        for n, v in sheets.items():
            self.sheets.items.append(FakeSheet(self, n, v))
        self.app = FakeApp(self, engine)

    def values(self, name):
        s = self.sheets[name]
        return {k: v for k, v in s.cells.items()}


MRR = [["account_id", "month", "mrr"], ["a", "2024-01", 100], ["b", "2024-01", 200], ["a", "2024-02", 120],
       ["b", "2024-02", 0], ["c", "2024-02", 50]]


def test_read_book_anchors_at_a1_and_skips_own_sheets():
    book = FakeBook("b.xlsx", {"mrr": [[None, None], [None, None, None, "x"]],
                               "CS KPIs": [[f"{MARKER_PREFIX}: CS KPIs"], ["KPI"], ["MRR"]]})
    book.sheets["mrr"].cells = {(3, 2): "account_id", (3, 3): "mrr", (4, 2): "a", (4, 3): 5.0}
    sheets = apply.read_book(book)
    assert sheets["mrr"][2][1:3] == ["account_id", "mrr"] and sheets["mrr"][3][1:3] == ["a", 5.0]
    assert sheets["mrr"][0] == [None, None, None]
    assert sheets["CS KPIs"] == [[f"{MARKER_PREFIX}: CS KPIs"]]


def test_refresh_writes_only_the_planned_sheets_and_never_data_sheets():
    book = FakeBook("b.xlsx", {"mrr": MRR, "Notes": [["keep me"]]})
    before = {n: book.values(n) for n in ("mrr", "Notes")}
    plan = apply.refresh_workbook(book)
    assert [s.name for s in book.sheets] == ["mrr", "Notes", "CS KPIs", "CS Accounts", "CS Actions", "CS Problems"]
    assert {n: book.values(n) for n in ("mrr", "Notes")} == before
    touched = {e[1] for e in book.log if e[0] in ("value", "format", "font", "width", "freeze", "clear")}
    assert touched == {s.name for s in plan.sheets}
    kpis = book.sheets["CS KPIs"]
    assert kpis.cells[(1, 1)].startswith(MARKER_PREFIX)
    assert kpis.cells[(HEADER_ROW, 1)] == "KPI"
    row = next(r for r in range(FIRST_DATA_ROW, FIRST_DATA_ROW + 40) if kpis.cells.get((r, 2)) == "nrr")
    assert kpis.cells[(row, 4)] == pytest.approx(0.4)
    assert kpis.formats[(row, 4)] == "0.0%"
    assert ("freeze", "CS KPIs", "A1:C2") in book.log
    assert any(e[0] == "alert" for e in book.log)


def test_formats_are_set_before_values_so_text_stays_text():
    book = FakeBook("b.xlsx", {"accounts": [["account_id", "account_name"], ["a", "=cmd|' /C calc'!A0"]],
                               "mrr": MRR})
    apply.refresh_workbook(book, alert=False)
    for name in ("CS KPIs", "CS Problems"):
        events = [e for e in book.log if e[1] == name and e[0] in ("format", "value")]
        first_value = next(i for i, e in enumerate(events) if e[0] == "value")
        header_fmt = next(i for i, e in enumerate(events) if e[0] == "format" and e[2].endswith("2") and e[3] == TEXT)
        assert header_fmt < first_value
    kpis = book.sheets["CS KPIs"]
    assert kpis.formats[(HEADER_ROW, 4)] == TEXT  # "2024-02" stays a period label, not a date


def test_apostrophe_for_formula_text_outside_text_columns():
    assert apply._safe("=1+1", text_column=False) == "'=1+1"
    assert apply._safe("=1+1", text_column=True) == "=1+1"
    assert apply._safe("plain", text_column=False) == "plain"
    assert apply._safe(3.0, text_column=False) == 3.0


def test_users_own_sheet_is_left_alone_and_rerun_replaces_own_sheets():
    book = FakeBook("b.xlsx", {"mrr": MRR, "CS KPIs": [["my own table"], [1, 2]]})
    plan = apply.refresh_workbook(book, alert=False)
    assert book.sheets["CS KPIs"].cells == {(1, 1): "my own table", (2, 1): 1, (2, 2): 2}
    assert "CS KPIs (2)" in [s.name for s in book.sheets]
    assert any("CS KPIs (2)" in m for m in plan.messages)
    # second run: same sheets, cleared and rewritten, nothing added
    book.written.clear()
    book.log.clear()
    apply.refresh_workbook(book, alert=False)
    assert not [e for e in book.log if e[0] == "add"]
    assert {e[1] for e in book.log if e[0] == "clear"} == {"CS KPIs (2)", "CS Accounts", "CS Actions", "CS Problems"}
    assert book.sheets["CS KPIs"].cells[(1, 1)] == "my own table"


def test_apply_refuses_a_sheet_without_marker():
    book = FakeBook("b.xlsx", {"mrr": MRR})
    plan = plan_refresh(apply.read_book(book), book="b.xlsx", now=NOW)
    plan.sheets[0].replaces = True
    book.sheets.items.append(FakeSheet(book, plan.sheets[0].name, [["mine"]]))
    with pytest.raises(RuntimeError, match="will not overwrite"):
        apply.apply_plan(book, plan)
    assert book.sheets[plan.sheets[0].name].cells == {(1, 1): "mine"}


def test_widths_in_points_on_office_js_engines():
    for engine, factor in (("excel", 1.0), ("remote", apply.POINTS_PER_CHARACTER), ("officejs", apply.POINTS_PER_CHARACTER)):
        book = FakeBook("b.xlsx", {"mrr": MRR}, engine=engine)
        plan = apply.refresh_workbook(book, alert=False)
        widths = [e[3] for e in book.log if e[0] == "width" and e[1] == "CS KPIs"]
        assert widths[0] == pytest.approx(round(plan.sheets[0].widths[0] * factor, 1))
