import json

import numpy as np
import openpyxl
import pandas as pd
import pytest

from cs_desk.io.atomic import atomic_path
from cs_desk.io.writers import WRITERS, write_table


@pytest.fixture
def tidy():
    return pd.DataFrame({
        "period": ["2024-01", "2024-02", "2024-02"],
        "group": ["=HYPERLINK(\"http://x\")", "+1 555", "@sum"],
        "kpi": ["nrr", "mrr", "-churn"],
        "value": [1.0523, 125000.0, np.nan],
        "when": pd.to_datetime(["2024-01-31", "2024-02-29", None]),
    })


def test_registry():
    assert set(WRITERS) == {"csv", "json", "xlsx", "table"}


def test_csv_and_json_return_text(tidy):
    text = write_table(tidy, "csv")
    assert text.splitlines()[0] == "period,group,kpi,value,when"
    records = json.loads(write_table(tidy, "json"))
    assert records[2]["value"] is None and records[2]["when"] is None
    assert records[0]["when"] == "2024-01-31" and records[1]["value"] == 125000.0


def test_table_is_aligned(tidy):
    lines = write_table(tidy, "table").splitlines()
    assert lines[0].startswith("period") and set(lines[1]) <= {"-", " "}
    value_col = lines[0].index("value") + len("value")
    assert lines[2][:value_col].endswith("1.0523")  # right-aligned
    assert lines[3][:value_col].endswith("125,000")


def test_xlsx_text_never_becomes_formula(tidy, tmp_path):
    out = tmp_path / "kpis.xlsx"
    assert write_table(tidy, "xlsx", out) is None
    wb = openpyxl.load_workbook(out)
    ws = wb.active
    assert [c.value for c in ws[1]] == ["period", "group", "kpi", "value", "when"]
    assert ws["B2"].value == "=HYPERLINK(\"http://x\")" and ws["B2"].data_type == "s"
    assert ws["B3"].data_type == "s" and ws["B4"].data_type == "s" and ws["C4"].value == "-churn"
    assert ws["D3"].value == 125000 and ws["D4"].value is None
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref.startswith("A1")
    assert ws["E2"].is_date and ws["A1"].font.b
    assert ws.column_dimensions["B"].width > 10


def test_xlsx_needs_a_path(tidy):
    with pytest.raises(ValueError):
        write_table(tidy, "xlsx")


@pytest.mark.parametrize("fmt", ["csv", "json", "table"])
def test_files_written_atomically(tidy, tmp_path, fmt):
    out = tmp_path / f"out.{fmt}"
    out.write_text("old")
    write_table(tidy, fmt, out)
    assert out.read_text() == write_table(tidy, fmt)
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temp files left


def test_atomic_path_failure_keeps_target(tmp_path):
    target = tmp_path / "report.xlsx"
    target.write_text("previous")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half written")
            raise RuntimeError("boom")
    assert target.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["report.xlsx"]


def test_atomic_path_success(tmp_path):
    target = tmp_path / "new.txt"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target
        tmp.write_text("done")
    assert target.read_text() == "done"
    assert target.stat().st_mode & 0o644 == 0o644


def test_unknown_format(tidy):
    with pytest.raises(ValueError):
        write_table(tidy, "pdf")
