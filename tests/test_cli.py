"""The cs-desk command line end to end, on real files: formats, exit codes, messages."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from cs_desk import demo
from cs_desk.cli import main

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "workbook_templates" / "health_default.toml"


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli-demo")
    frames = demo.generate(accounts=150, months=24, seed=3)
    return [str(p) for p in demo.write_demo_inputs(frames, folder)]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_compute_csv_is_the_tidy_table(demo_files, capsys, tmp_path):
    out_file = tmp_path / "kpis.csv"
    code, _, err = run(capsys, "compute", *demo_files, "--by", "segment", "--out", out_file)
    assert code == 0, err
    table = pd.read_csv(out_file, keep_default_na=False)
    assert list(table.columns) == ["period", "group", "kpi", "value", "unit"]
    assert {"all", "SMB", "Mid-Market", "Enterprise"} <= set(table["group"])
    assert {"mrr", "arr", "active_accounts", "new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr",
            "reactivation_mrr", "net_new_mrr", "nrr", "grr", "logo_churn_rate", "nps"} <= set(table["kpi"])
    mrr = table[(table.kpi == "mrr") & (table.group == "all")]
    arr = table[(table.kpi == "arr") & (table.group == "all")]
    assert pd.to_numeric(arr["value"]).to_numpy() == pytest.approx(12 * pd.to_numeric(mrr["value"]).to_numpy())


def test_compute_json_and_xlsx(demo_files, capsys, tmp_path):
    code, out, _ = run(capsys, "compute", *demo_files, "--kpi", "mrr", "--kpi", "nrr", "--format", "json")
    assert code == 0
    records = json.loads(out)
    assert {r["kpi"] for r in records} == {"mrr", "nrr"}
    xlsx = tmp_path / "k.xlsx"
    code, _, _ = run(capsys, "compute", *demo_files, "--kpi", "mrr", "--out", xlsx)
    assert code == 0
    wb = openpyxl.load_workbook(xlsx, read_only=True)
    assert wb.sheetnames[0] == "KPIs"
    rows = list(wb["KPIs"].iter_rows(values_only=True))
    assert rows[0] == ("period", "group", "kpi", "value", "unit")
    assert isinstance(rows[1][3], float)


def test_quarters_and_range(demo_files, capsys):
    code, out, _ = run(capsys, "compute", *demo_files, "--kpi", "nrr", "--period", "quarter", "--from", "2025-01",
                       "--to", "2025-12", "--format", "csv")
    assert code == 0
    periods = pd.read_csv(pd.io.common.StringIO(out))["period"].unique().tolist()
    assert periods == ["2025Q1", "2025Q2", "2025Q3", "2025Q4"]


def test_bad_rows_give_exit_1_and_name_the_row(tmp_path, capsys):
    csv = tmp_path / "mrr.csv"
    csv.write_text("account_id,month,mrr\nA,2024-01,100\nB,2024-01,50\nA,2024-02,110\nB,2024-02,-5\n"
                   "C,not a month,10\n", encoding="utf-8")
    code, out, err = run(capsys, "compute", "--mrr", csv, "--kpi", "mrr", "--format", "csv")
    assert code == 1
    assert "row 5" in err and "row 6" in err  # the negative MRR and the bad month, as a text editor numbers them
    assert pd.read_csv(pd.io.common.StringIO(out))["value"].iloc[-1] == 110


def test_nothing_computable_is_exit_2_without_traceback(tmp_path, capsys):
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 this is not really a workbook")
    code, out, err = run(capsys, "compute", broken)
    assert code == 2
    assert "broken.xlsx" in err and "Traceback" not in err
    code, _, err = run(capsys, "compute")
    assert code == 2 and "no input files" in err
    code, _, err = run(capsys, "compute", tmp_path / "missing.csv")
    assert code == 2 and "missing.csv" in err


def test_usage_errors_are_exit_2(demo_files, capsys):
    code, _, err = run(capsys, "compute", *demo_files, "--by", "colour")
    assert code == 2 and "no such field" in err
    code, _, err = run(capsys, "compute", *demo_files, "--from", "2025-13")
    assert code == 2 and "YYYY-MM" in err
    with pytest.raises(SystemExit) as exc:
        main(["compute", "--format", "pdf"])
    assert exc.value.code == 2


def test_validate_lists_problems_as_a_table(tmp_path, capsys):
    csv = tmp_path / "subs.csv"
    csv.write_text("account_id;start_date;end_date;mrr\nA;2024-01-01;2023-12-01;10\nB;2024-01-01;;x\n",
                   encoding="utf-8")
    code, out, _ = run(capsys, "validate", "--subscriptions", csv, "--format", "csv")
    assert code == 1
    frame = pd.read_csv(pd.io.common.StringIO(out))
    assert list(frame.columns) == ["file", "sheet", "row", "column", "code", "severity", "message"]
    assert {"end_before_start"} <= set(frame["code"])
    assert 2 in set(frame["row"])


def test_map_shows_and_saves_a_mapping_that_round_trips(demo_files, capsys, tmp_path):
    saved = tmp_path / "mapping.toml"
    code, out, err = run(capsys, "map", demo_files[0], "--save", saved)
    assert code == 0
    assert "mrr (wide)" in out and "account_id" in out
    code, out, _ = run(capsys, "compute", *demo_files, "--mapping", saved, "--kpi", "mrr", "--format", "json")
    assert code == 0 and json.loads(out)


def test_movements_drill_down(demo_files, capsys):
    code, out, _ = run(capsys, "movements", *demo_files, "--only", "churned", "--format", "csv")
    assert code == 0
    frame = pd.read_csv(pd.io.common.StringIO(out))
    assert set(frame["movement"]) == {"churned"} and (frame["end_mrr"] == 0).all()


def test_kpis_lists_the_registry(capsys):
    code, out, _ = run(capsys, "kpis", "--format", "csv")
    frame = pd.read_csv(pd.io.common.StringIO(out))
    assert code == 0 and {"nrr", "logo_churn_rate", "nps"} <= set(frame["kpi"])


def test_health_score_and_backtest(demo_files, capsys):
    code, out, err = run(capsys, "health", "score", MODEL, *demo_files, "--format", "csv")
    assert code == 0, err
    scores = pd.read_csv(pd.io.common.StringIO(out))
    assert scores["score"].between(0, 100).all() and set(scores["band"]) <= {"red", "yellow", "green"}
    code, out, err = run(capsys, "health", "backtest", MODEL, *demo_files, "--months", "12", "--bootstrap", "50",
                         "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    for key in ("auc", "auc_ci", "n_accounts", "n_churned", "churn_rate_by_band"):
        assert key in result
    assert 0.5 < result["auc"] <= 1


def test_health_model_with_errors_is_exit_2(tmp_path, demo_files, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[[components]]\nid = "a"\nmetric = "no_such_metric"\nweight = -1\n')
    code, _, err = run(capsys, "health", "score", bad, *demo_files)
    assert code == 2
    assert "no_such_metric" in err and "line" in err


def test_cohorts_triangle(demo_files, capsys):
    code, out, _ = run(capsys, "cohorts", *demo_files, "--format", "csv")
    assert code == 0
    frame = pd.read_csv(pd.io.common.StringIO(out))
    assert (frame["0"].dropna() == 1).all()


def test_console_script_runs_as_a_process(demo_files):
    proc = subprocess.run([sys.executable, "-m", "cs_desk.cli", "compute", *demo_files, "--kpi", "mrr",
                           "--format", "csv"], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("period,group,kpi,value,unit")


def test_demo_writes_inputs_kpis_and_reports_and_prints_a_summary(tmp_path, capsys):
    out = tmp_path / "demo"
    code, text, _ = run(capsys, "demo", "--out", out, "--accounts", 80, "--months", 14, "--seed", 2)
    assert code == 0
    for name in ("cs-desk-demo.xlsx", "usage.csv", "kpis.csv", "kpis_by_segment.csv", "kpis.xlsx",
                 "cs-desk-report.xlsx", "cs-desk-report.pdf"):
        assert (out / name).stat().st_size > 0, name
    kpis = pd.read_csv(out / "kpis.csv", keep_default_na=False)
    assert list(kpis.columns) == ["period", "group", "kpi", "value", "unit"]
    # the file holds what `cs-desk compute` gives for the demo inputs (plus the report's health mix)
    again = main(["compute", str(out / "cs-desk-demo.xlsx"), str(out / "usage.csv"), "--kpi", "nrr",
                  "--format", "csv"])
    computed = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))
    assert again == 0
    demo_nrr = kpis[kpis.kpi == "nrr"]["value"].replace("", float("nan")).astype(float).to_numpy()
    assert demo_nrr == pytest.approx(computed["value"].to_numpy(), nan_ok=True)
    assert "MRR" in text and "NRR" in text and "logo churn" in text and "NPS" in text
    assert str(out.resolve()) in text


def test_demo_without_report(tmp_path, capsys):
    out = tmp_path / "demo"
    code, _, _ = run(capsys, "demo", "--out", out, "--accounts", 60, "--months", 13, "--no-report")
    assert code == 0 and (out / "kpis.csv").exists() and not (out / "cs-desk-report.pdf").exists()
