"""The health-score builder: weights, bands, save/load, compare, backtest — as cs_desk says."""
from __future__ import annotations

import numpy as np
import pytest

from .conftest import LOAD_TIMEOUT_MS


@pytest.fixture
def builder(loaded):
    b = loaded.builder
    assert b.model is not None and b.snapshot is not None and len(b.snapshot) > 0
    return b


def engine_counts(model, snapshot) -> dict[str, int]:
    from cs_desk import health

    bands = health.score(model, snapshot)["band"].astype(str)
    return {b: int((bands == b).sum()) for b in ("red", "yellow", "green", "unknown")}


def test_weight_change_moves_band_counts_as_cs_desk_says(builder):
    start = builder.model
    before = builder.current_band_counts()
    assert before == engine_counts(start, builder.snapshot)
    changed = False
    for comp in start.components:
        builder.rows[comp.id].spin.setValue(100.0)  # the spin box, as a user would
        expected = engine_counts(start.with_weights({comp.id: 100.0}), builder.snapshot)
        assert builder.current_band_counts() == expected
        assert builder.model.component_weight(comp.id) == 100.0
        assert builder.rows[comp.id].slider.value() == 100
        if expected != before:
            changed = True
            break
        builder.rows[comp.id].spin.setValue(start.component_weight(comp.id))
    assert changed, "no single weight change moved any account across a band"
    # the accounts that change band are listed against the saved model
    moved = builder.changes.model.frame
    assert len(moved) > 0
    assert set(moved["saved_band"]) | set(moved["new_band"]) <= {"red", "yellow", "green", "unknown"}
    assert (moved["saved_band"] != moved["new_band"]).all()


def test_band_thresholds_and_missing_policy(builder):
    start = builder.model
    builder.green_spin.setValue(90)
    assert builder.current_band_counts() == engine_counts(start.with_bands(start.bands.red, 90), builder.snapshot)
    comp = start.components[0]
    row = builder.rows[comp.id]
    policy = "zero" if comp.missing != "zero" else "neutral"
    row.policy.setCurrentIndex(row.policy.findData(policy))
    assert builder.model.component(comp.id).missing == policy
    from dataclasses import replace

    expected_model = replace(start.with_bands(start.bands.red, 90),
                             components=tuple(replace(c, missing=policy) if c.id == comp.id else c
                                              for c in start.components))
    assert builder.current_band_counts() == engine_counts(expected_model, builder.snapshot)


def test_save_load_and_compare_with_saved(builder, loaded, tmp_path):
    from cs_desk.health import HealthModel

    comp = builder.model.components[0]
    builder.rows[comp.id].spin.setValue(77.0)
    path = loaded.save_model(builder.model, path=str(tmp_path / "tuned.toml"))
    assert path and (tmp_path / "tuned.toml").exists()
    reread, problems = HealthModel.load(path)
    assert reread is not None, problems
    assert reread.component_weight(comp.id) == 77.0
    assert len(builder.changes.model.frame) == 0  # the saved version is now the reference
    assert loaded.load_model(path)
    assert builder.model.component_weight(comp.id) == 77.0
    assert loaded.settings.last_health_model == path


def test_backtest_figures_update_after_a_change(qtbot, builder, loaded):
    builder.backtest_timer.setInterval(10)
    loaded.tabs.setCurrentWidget(builder)  # the backtest runs while the builder is on screen
    builder.rows[builder.model.components[0].id].spin.setValue(50.0)
    qtbot.waitUntil(lambda: "AUC" in builder.backtest_label.text() or "Backtest:" in builder.backtest_label.text()
                    and builder.backtest_label.text() != "Backtest: –", timeout=LOAD_TIMEOUT_MS)
    assert "AUC" in builder.backtest_label.text(), builder.backtest_label.text()


def test_builder_update_is_fast(builder):
    comp = builder.model.components[0]
    for w in (10.0, 20.0, 30.0):
        builder.rows[comp.id].spin.setValue(w)
    assert np.median(builder.update_times[-3:]) < 250  # ms, on ~200 accounts (bench/ has the 10k figure)


def test_compare_with_another_model_file_lists_band_changes(builder):
    from pathlib import Path

    from cs_desk import health

    other_path = Path(__file__).resolve().parents[2] / "workbook_templates" / "health_adoption_first.toml"
    other, problems = health.HealthModel.load(other_path)
    assert other is not None, problems
    builder.set_reference(other, str(other_path))
    mine = health.score(builder.model, builder.snapshot)["band"].astype(str).to_numpy()
    theirs = health.score(other, builder.snapshot)["band"].astype(str).to_numpy()
    assert len(builder.changes.model.frame) == int((mine != theirs).sum())


def test_group_weight_changes_the_score_like_the_engine(builder):
    model = builder.model
    gid = next(g for g in builder.group_rows)
    builder.group_rows[gid].spin.setValue(90.0)
    expected = model.with_weights(group_weights={gid: 90.0})
    assert builder.model.group_weight(gid) == 90.0
    assert builder.current_band_counts() == engine_counts(expected, builder.snapshot)
    share = sum(expected.effective_weights()[c.id] for c in expected.components if c.group_id == gid)
    assert builder.group_rows[gid].share.text() == f"{share:.1%}"
