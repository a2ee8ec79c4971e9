"""Open the demo files, accept the column mapping, and check the dashboard against the engine."""
from __future__ import annotations

import pandas as pd
from PySide6.QtWidgets import QDialog

from gui.formatting import format_value

from .conftest import LOAD_TIMEOUT_MS, open_and_wait


def cli_compute(files, tmp_path, by=None, period="month") -> pd.DataFrame:
    """What `cs-desk compute FILES [--by] [--period] --format csv` writes for the same files."""
    from cs_desk.cli import main

    out = tmp_path / f"kpis-{by}-{period}.csv"
    args = ["compute", *map(str, files), "--period", period, "--format", "csv", "--out", str(out)]
    if by:
        args += ["--by", by]
    assert main(args) in (0, 1)  # 1: data problems were set aside (listed), still computed
    return pd.read_csv(out, keep_default_na=False, na_values=[""], dtype={"period": str, "group": str})


def test_open_demo_accept_mapping_and_tiles_match_cs_desk_compute(qtbot, window, demo_files, tmp_path):
    open_and_wait(qtbot, window, demo_files)
    assert window.tabs.currentWidget() is window.dashboard
    assert {"accounts", "mrr"} <= set(window.dataset.tables)

    # the mapping dialog shows every sheet with its recognition; accepting it reloads with it
    with qtbot.waitSignal(window.runner.finished, timeout=LOAD_TIMEOUT_MS):
        window.edit_mapping()
    dialog = window.mapping_dialog
    qtbot.waitUntil(dialog.isVisible)
    tables = {ch.table for ch in dialog.choices}
    assert {"accounts", "subscriptions", "mrr", "usage", "tickets", "surveys", "renewals"} <= tables
    assert dialog.preview.model.rowCount() > 0  # live preview of the first sheet
    with qtbot.waitSignal(window.analysis_ready, timeout=LOAD_TIMEOUT_MS):
        dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=LOAD_TIMEOUT_MS)
    assert window.mapping is not None and len(window.mapping.entries) >= 7

    # every headline tile shows what `cs-desk compute` gives for the last month
    tidy = cli_compute(demo_files, tmp_path)
    last = tidy["period"].iloc[-1]
    assert window.dashboard.period == last
    from cs_desk.kpis import REGISTRY

    texts = window.dashboard.tile_texts()
    assert {"mrr", "arr", "nrr", "grr", "logo_churn_rate"} <= set(texts)
    for kpi_id, text in texts.items():
        row = tidy[(tidy["period"] == last) & (tidy["group"] == "all") & (tidy["kpi"] == kpi_id)]
        assert len(row) == 1, kpi_id
        assert text == format_value(row["value"].iloc[0], REGISTRY[kpi_id].unit), kpi_id

    # choose an earlier period: the tiles follow
    previous = tidy["period"].unique()[-3]
    window.dashboard.period_box.setCurrentText(previous)
    row = tidy[(tidy["period"] == previous) & (tidy["group"] == "all") & (tidy["kpi"] == "mrr")]
    assert window.dashboard.tile_texts()["mrr"] == format_value(row["value"].iloc[0], "currency")


def test_group_and_quarter_selectors_recompute_like_the_cli(qtbot, loaded, demo_files, tmp_path):
    dash = loaded.dashboard
    with qtbot.waitSignal(loaded.runner.finished, timeout=LOAD_TIMEOUT_MS):
        dash.by_box.setCurrentIndex(dash.by_box.findData("segment"))
    with qtbot.waitSignal(loaded.runner.finished, timeout=LOAD_TIMEOUT_MS):
        dash.granularity_box.setCurrentIndex(dash.granularity_box.findData("quarter"))
    tidy = cli_compute(demo_files, tmp_path, by="segment", period="quarter")
    dash.group_box.setCurrentText("SMB")
    period = dash.period
    assert period == tidy["period"].iloc[-1]
    row = tidy[(tidy["period"] == period) & (tidy["group"] == "SMB") & (tidy["kpi"] == "nrr")]
    assert dash.tile_texts()["nrr"] == format_value(row["value"].iloc[0], "fraction")


def test_charts_are_drawn(loaded):
    dash = loaded.dashboard
    ax = dash.chart_movements.figure.axes[0]
    assert len(ax.patches) > 0  # bars
    assert dash.chart_retention.figure.axes[0].lines
    assert dash.chart_churn.figure.axes[0].patches
