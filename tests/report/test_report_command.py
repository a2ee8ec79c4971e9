"""`cs-desk report`: formats, config file = flags, --fail-on thresholds and exit codes."""
from __future__ import annotations

import argparse
import json

import pandas as pd
import pytest

from cs_desk import demo
from cs_desk.report import command

from .conftest import hostile_frames


def parse(argv: list[str]):
    parser = argparse.ArgumentParser(prog="cs-desk")
    parser.add_argument("-q", "--quiet", action="store_true")
    command.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def run(argv: list[str]) -> int:
    return command.run(parse(argv))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> list[str]:
    folder = tmp_path_factory.mktemp("inputs")
    frames = hostile_frames(accounts=150, months=15)
    surveys = frames["surveys"]  # a small sample's CES answers all look like a 1-5 scale: a warning
    frames["surveys"] = surveys[surveys["survey"] != "CES"]
    return [str(p) for p in demo.write_demo_inputs(frames, folder)]


def test_writes_every_format_and_one_summary_line(inputs, tmp_path, capsys):
    out = tmp_path / "reports"
    code = run(["report", *inputs, "--out", str(out), "--formats", "xlsx,pdf,csv,json"])
    captured = capsys.readouterr()
    assert code in (0, 1)
    names = sorted(p.name for p in out.iterdir())
    assert names == ["cs-desk-report-accounts.csv", "cs-desk-report-actions.csv", "cs-desk-report-kpis.csv",
                     "cs-desk-report.json", "cs-desk-report.pdf", "cs-desk-report.xlsx"]
    lines = captured.out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cs-desk report: ") and "MRR" in lines[0]
    assert "\r[" not in captured.err  # no progress bar when stderr is not a terminal
    doc = json.loads((out / "cs-desk-report.json").read_text(encoding="utf-8"))
    assert {"title", "range", "headline", "kpis", "books", "actions", "problems"} <= set(doc)
    kpis = pd.read_csv(out / "cs-desk-report-kpis.csv")
    assert list(kpis.columns) == ["period", "group_by", "group", "kpi", "value", "unit"]
    accounts = pd.read_csv(out / "cs-desk-report-accounts.csv")
    assert {"account_id", "score", "band"} <= set(accounts.columns)
    assert "-5 Corp" in set(accounts["account_name"])


def test_fail_on_turns_the_exit_code_to_one(inputs, tmp_path, capsys):
    args = ["report", *inputs, "--out", str(tmp_path), "--formats", "json", "-q"]
    code = run(args[:1] + args[1:] + ["--fail-on", "logo_churn_rate>=0", "--fail-on", "nrr < 1000%"])
    err = capsys.readouterr().err
    assert code == 1
    assert "threshold logo_churn_rate>=0: breached" in err and "nrr < 1000%: breached" in err
    code = run(["report", *inputs, "--out", str(tmp_path), "--formats", "json",
                "--fail-on", "logo_churn_rate>1", "--fail-on", "nrr>=10"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "thresholds ok" in captured.out


@pytest.mark.parametrize("extra, message", [
    (["--fail-on", "no_such_kpi>1"], "unknown KPI 'no_such_kpi'"),
    (["--fail-on", "logo churn is high"], "write it as KPI OP VALUE"),
    (["--by", "favourite_colour"], "no such field"),
    (["--formats", "xlsx,docx"], "--formats"),
    (["--from", "2025-13"], "--from"),
    (["--health-model", "/nonexistent/model.toml"], "--health-model"),
])
def test_misuse_exits_2_with_one_clear_message(inputs, tmp_path, capsys, extra, message):
    code = run(["report", *inputs, "--out", str(tmp_path), "--formats", "json", *extra])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.glob("cs-desk-report*"))


def test_no_inputs_exits_2(tmp_path, capsys):
    assert run(["report", "--out", str(tmp_path)]) == 2
    assert "no input files" in capsys.readouterr().err


def test_config_keys_are_flags_and_flags_win(inputs, tmp_path, capsys):
    conf_dir = tmp_path / "conf"
    conf_dir.mkdir()
    (conf_dir / "report.toml").write_text(
        "[report]\n"
        f"files = {json.dumps(inputs)}\n"
        'out = "out"\n'  # relative to the config file
        'formats = ["json"]\n'
        'by = ["segment"]\n'
        'title = "Weekly CS review"\n'
        'fail_on = ["logo_churn_rate>=0"]\n', encoding="utf-8")
    code = run(["report", "--config", str(conf_dir / "report.toml")])
    assert code == 1  # the config's threshold is breached
    doc = json.loads((conf_dir / "out" / "cs-desk-report.json").read_text(encoding="utf-8"))
    assert doc["title"] == "Weekly CS review" and doc["by"] == ["segment"]
    capsys.readouterr()
    code = run(["report", "--config", str(conf_dir / "report.toml"), "--formats", "csv", "--out", str(tmp_path / "o2"),
                "--fail-on", "logo_churn_rate>1"])
    assert code == 0
    assert sorted(p.suffix for p in (tmp_path / "o2").iterdir()) == [".csv"] * 3


def test_bad_config_exits_2(tmp_path, capsys):
    conf = tmp_path / "report.toml"
    conf.write_text('formats = ["xlsx"]\ncolour = "blue"\n', encoding="utf-8")
    assert run(["report", "--config", str(conf)]) == 2
    assert "unknown key(s) colour" in capsys.readouterr().err
    conf.write_text("by = 3\n", encoding="utf-8")
    assert run(["report", "--config", str(conf)]) == 2
    assert "by must be a list of text" in capsys.readouterr().err
    conf.write_text("formats = [\n", encoding="utf-8")
    assert run(["report", "--config", str(conf)]) == 2
    assert "not valid TOML" in capsys.readouterr().err


def test_progress_bar_only_when_asked_or_on_a_terminal(inputs, tmp_path, capsys):
    run(["report", *inputs, "--out", str(tmp_path), "--formats", "json", "--progress", "always"])
    err = capsys.readouterr().err
    assert "\r[" in err and "100%" in err


def test_thresholds_parse():
    t = command.parse_threshold(" nrr <= 95% ")
    assert (t.kpi, t.op, t.value) == ("nrr", "<=", 0.95)
    assert t.breached(0.9) and not t.breached(0.99)
    t = command.parse_threshold("feature_adoption[reports]<0.2")
    assert t.kpi == "feature_adoption[reports]" and t.value == 0.2
    with pytest.raises(command.UsageProblem):
        command.parse_threshold("nrr => 1")


def test_the_example_config_is_valid():
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "workbook_templates" / "report.toml"
    args = parse(["report"])
    command.apply_config(args, example)
    assert args.formats == "xlsx,pdf,csv,json" and args.by == ["segment", "csm"]
    assert Path(args.health_model) == example.parent / "health_default.toml"
    assert all(command.parse_threshold(t) for t in args.fail_on)
    assert Path(args.out).parent == example.parent
