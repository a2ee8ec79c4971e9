"""health_mix: the snapshot restricted to the model's columns gives exactly the full snapshot's mix."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cs_desk import demo, kpis
from cs_desk.accounts_snapshot import COLUMNS, account_snapshots
from cs_desk.dataset import Dataset
from cs_desk.health import TEMPLATES, default_model, load, score_history
from cs_desk.kpis import health_mix

HEALTH_KPIS = ["health_mix", "health_mix_change", "accounts_at_risk"]


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset(tables=demo.generate(200, months=18, seed=5))


def _models():
    out = []
    for path in sorted(TEMPLATES.glob("health_*.toml")):
        model, _ = load(path)
        assert model is not None, path
        out.append(pytest.param(model, id=path.stem))
    return out


def test_snapshot_columns_cover_what_the_model_reads():
    model, _ = default_model()
    cols = health_mix.snapshot_columns(model)
    assert set(cols) <= set(COLUMNS)
    for comp in model.components:
        assert comp.metric in cols
        if comp.stale_after_days is not None:
            assert comp.age_column in cols
    for prof in model.profiles:
        assert all(c.metric in cols for c in prof.when)
    assert {"account_id", "as_of", "active"} <= set(cols)
    # the expensive families the default model does not read are not asked for
    assert "renewal_date" not in cols and "onboarding_status" not in cols


@pytest.mark.parametrize("by", [None, "segment"])
@pytest.mark.parametrize("model", _models())
def test_health_mix_same_with_and_without_column_restriction(dataset, model, by, monkeypatch):
    options = {"health_model": model}
    restricted = kpis.compute(dataset, kpis=HEALTH_KPIS, by=by, options=options)
    monkeypatch.setattr(health_mix, "snapshot_columns", lambda model: None)  # full snapshots
    full = kpis.compute(dataset, kpis=HEALTH_KPIS, by=by, options=options)
    assert not restricted.skipped and len(restricted.table) > 0
    pd.testing.assert_frame_equal(restricted.table, full.table, check_exact=True)


@pytest.mark.parametrize("model", _models())
def test_health_mix_matches_score_history_of_full_snapshots(dataset, model):
    """The KPI equals the band shares of score_history over the full (unrestricted) snapshots."""
    result = kpis.compute(dataset, kpis=["health_mix"], options={"health_model": model})
    table = result.table
    periods = sorted(table["period"].unique())
    ends = [pd.Period(p, "M").to_timestamp() + pd.offsets.MonthBegin(1) for p in periods]
    snaps = account_snapshots(dataset, ends)
    snaps = snaps[snaps["active"]].reset_index(drop=True)
    scores = score_history(model, snaps)
    counts = pd.crosstab(scores["month"], scores["band"].astype(str))
    for band in ("green", "yellow", "red"):
        if band not in counts:
            counts[band] = 0
    shares = counts[["green", "yellow", "red"]].div(counts[["green", "yellow", "red"]].sum(axis=1), axis=0)
    got = table.pivot(index="period", columns="kpi", values="value")
    for band in ("green", "yellow", "red"):
        np.testing.assert_allclose(got[f"health_mix[{band}]"].to_numpy(dtype=float),
                                   shares.reindex(got.index)[band].to_numpy(dtype=float), rtol=0, atol=1e-12)


def test_restricted_snapshot_equals_full_columns(dataset):
    model, _ = default_model()
    cols = health_mix.snapshot_columns(model)
    dates = pd.date_range("2025-06-01", "2026-10-01", freq="MS")
    full = account_snapshots(dataset, dates)
    part = account_snapshots(dataset, dates, columns=cols)
    assert list(part.columns) == [c for c in COLUMNS if c in cols]
    pd.testing.assert_frame_equal(part, full[list(part.columns)], check_exact=True)


def test_health_mix_by_several_fields_equals_each_field_alone(dataset):
    """The health family counts every field's groups from one set of snapshots and scores."""
    many = kpis.compute_many(dataset, kpis=HEALTH_KPIS, by=["segment", "csm"])
    for field, result in many.items():
        alone = kpis.compute(dataset, kpis=HEALTH_KPIS, by=field)
        pd.testing.assert_frame_equal(result.table, alone.table, check_exact=True)
        assert set(result.table["group"]) > {"all"}


@pytest.mark.parametrize("chunk", [1, 450])
@pytest.mark.parametrize("model", _models())
def test_health_mix_scored_in_chunks_of_dates_equals_all_at_once(dataset, model, chunk, monkeypatch):
    """Big portfolios are scored a few as-of dates at a time; percentile scales rank within a
    date, so the mix equals scoring every row at once (chunk 1: one date per chunk; 450: several)."""
    options = {"health_model": model}
    whole = kpis.compute(dataset, kpis=HEALTH_KPIS, by="segment", options=options)
    monkeypatch.setattr(health_mix, "CHUNK_ROWS", chunk)
    chunked = kpis.compute(dataset, kpis=HEALTH_KPIS, by="segment", options=options)
    assert len(whole.table) > 0
    pd.testing.assert_frame_equal(chunked.table, whole.table, check_exact=True)
