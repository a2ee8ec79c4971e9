"""Click a tile or a bar: the Accounts view shows the accounts behind the number."""
from __future__ import annotations


def test_tile_click_drills_down_to_churned_accounts(qtbot, loaded):
    from cs_desk.kpis import movements
    from PySide6.QtCore import Qt

    dash = loaded.dashboard
    mv = movements(loaded.dataset)
    # a month with churn, so the drill-down has rows
    churned = mv[mv["movement"] == "churned"]
    period = churned["period"].value_counts().index[0]
    dash.period_box.setCurrentText(period)
    expected = set(churned.loc[churned["period"] == period, "account_id"])
    tile = dash.tiles["logo_churn_rate"]
    qtbot.mouseClick(tile, Qt.MouseButton.LeftButton)
    assert loaded.tabs.currentWidget() is loaded.accounts
    assert loaded.accounts.banner.isVisible() or not loaded.accounts.banner.isHidden()
    assert set(loaded.accounts.visible_ids()) == expected
    assert f"{len(expected)} churned accounts in {period}" in loaded.accounts.banner_text.text()
    assert loaded.accounts.panel.account_id in expected  # the first one is opened in the panel

    loaded.accounts.clear_drill_down()
    assert len(loaded.accounts.visible_ids()) == len(loaded.accounts.frame)


def test_bar_click_drills_down_to_a_movement(qtbot, loaded):
    from cs_desk.kpis import movements

    mv = movements(loaded.dataset)
    exp = mv[mv["movement"] == "expansion"]
    period = exp["period"].iloc[-1]
    with qtbot.waitSignal(loaded.dashboard.drill_down) as blocker:
        loaded.dashboard.chart_movements.bar_clicked.emit(f"expansion|{period}")
    title, ids = blocker.args
    assert set(ids) == set(exp.loc[exp["period"] == period, "account_id"])
    assert set(loaded.accounts.visible_ids()) == set(ids)
    assert "Expansion" in title
