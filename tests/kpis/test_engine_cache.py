"""Several breakdowns in one pass, and the derived data cached on the dataset, change no number.

``compute_many`` (one pass for several ``by`` fields, sharing the MRR grid and the event rows)
and repeated ``compute`` calls (reusing what the dataset cached) must give exactly what a fresh
``compute`` per field gives on a dataset that has never been computed on.
"""
from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from cs_desk import demo
from cs_desk.dataset import Dataset
from cs_desk.kpis import compute, movements
from cs_desk.kpis.engine import compute_many
from cs_desk.kpis.registry import FAMILIES, REGISTRY

FIELDS = ["segment", "csm", "customer_since", "seats"]


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    frames = demo.generate(accounts=160, months=18, seed=11, usage=0.5)
    acc = frames["accounts"].copy()
    acc.loc[acc.index[:7], "segment"] = None  # a "(none)" group
    acc.loc[acc.index[7], "segment"] = "  Enterprise "  # labels are stripped
    acc = pd.concat([acc, acc.iloc[[3]].assign(segment="Duplicate")], ignore_index=True)  # the first row wins
    frames["accounts"] = acc
    tickets = frames["tickets"].copy()
    tickets.loc[tickets.index[:5], "account_id"] = "not-in-accounts"  # unknown accounts: "(none)"
    frames["tickets"] = tickets
    return frames


def fresh(frames) -> Dataset:
    """A dataset nothing was computed on yet (nothing cached)."""
    return Dataset(tables={k: v.copy() for k, v in frames.items()}, options={"today": pd.Timestamp("2026-10-31")})


def assert_same(a, b):
    pd.testing.assert_frame_equal(a.table, b.table, check_exact=True)
    assert a.skipped == b.skipped
    assert [p.message for p in a.problems] == [p.message for p in b.problems]
    assert a.context.group_labels == b.context.group_labels
    assert a.periods == b.periods


def test_compute_many_equals_a_fresh_compute_per_field(frames):
    ds = fresh(frames)
    many = compute_many(ds, "2025-07", "2026-10", by=FIELDS)
    assert list(many) == FIELDS
    for field in FIELDS:
        assert_same(many[field], compute(fresh(frames), "2025-07", "2026-10", by=field))


def test_repeated_computes_reuse_the_cache_without_changing_anything(frames):
    ds = fresh(frames)
    first = {f: compute(ds, by=f) for f in ("segment", "csm")}
    again = compute_many(ds, by=["csm", "segment"])
    quarters = compute(ds, "2025-01", "2026-09", by="segment", granularity="quarter")
    wider = compute(ds, "2024-01", "2027-03", by="csm")  # past the data: a longer grid
    for field in ("segment", "csm"):
        assert_same(first[field], compute(fresh(frames), by=field))
        assert_same(again[field], first[field])
    assert_same(quarters, compute(fresh(frames), "2025-01", "2026-09", by="segment", granularity="quarter"))
    assert_same(wider, compute(fresh(frames), "2024-01", "2027-03", by="csm"))
    assert_same(compute(ds), compute(fresh(frames)))


def test_a_replaced_table_is_seen(frames):
    ds = fresh(frames)
    before = compute(ds, by="segment", kpis=["mrr", "tickets", "nps"])
    accounts = ds.tables["accounts"].copy()
    accounts["segment"] = "One"
    ds.tables["accounts"] = accounts
    tickets = ds.tables["tickets"]
    ds.tables["tickets"] = tickets.iloc[: len(tickets) // 2].copy()
    after = compute(ds, by="segment", kpis=["mrr", "tickets", "nps"])
    assert set(after.table["group"]) <= {"all", "One", "(none)"}
    assert after.value("tickets") < before.value("tickets")
    check = fresh(frames)
    check.tables["accounts"], check.tables["tickets"] = accounts, ds.tables["tickets"]
    assert_same(after, compute(check, by="segment", kpis=["mrr", "tickets", "nps"]))


def test_families_not_written_for_several_fields_run_once_per_field(frames):
    """The health family reads ``ctx.by`` itself: the engine gives it one field at a time."""
    assert not FAMILIES[REGISTRY["health_mix"].family].several_by
    kpis = ["mrr", "health_mix", "accounts_at_risk"]
    ds = fresh(frames)
    many = compute_many(ds, "2026-05", "2026-10", by=["segment", "csm"], kpis=kpis)
    for field in ("segment", "csm"):
        assert_same(many[field], compute(fresh(frames), "2026-05", "2026-10", by=field, kpis=kpis))


def test_the_cache_is_not_pickled_and_grids_are_shared_read_only(frames):
    ds = fresh(frames)
    result = compute(ds, by="segment", kpis=["mrr"])
    assert "_derived" in ds.__dict__
    copy = pickle.loads(pickle.dumps(ds))
    assert "_derived" not in copy.__dict__
    assert compute(ds, by="csm", kpis=["mrr"]).context.grid is result.context.grid
    with pytest.raises(ValueError):
        result.context.grid.mrr[0, 0] = 1.0


def test_movements_without_flat_rows_are_the_rest_of_the_full_table(frames):
    ds = fresh(frames)
    result = compute(ds, by="segment", kpis=["mrr"])
    full = movements(ds, by="segment")
    assert (full["movement"] == "flat").any()
    from cs_desk.kpis.revenue import movements as account_movements

    moved = account_movements(result.context, flat=False)
    pd.testing.assert_frame_equal(moved, full[full["movement"] != "flat"].reset_index(drop=True))
    assert full.groupby("period")["end_mrr"].sum().to_numpy() == pytest.approx(
        result.series("mrr").to_numpy())
    assert np.isfinite(full["delta"]).all()


def test_account_codes_factorised_once_and_shared(frames):
    """``Dataset.codes`` is ``pd.factorize`` of the column, computed once per table, read-only,
    and redone when the table is replaced; the loading checks, the KPIs and the snapshot use it."""
    ds = fresh(frames)
    codes, uniques = ds.codes("tickets")
    want_codes, want_uniques = pd.factorize(ds.tables["tickets"]["account_id"])
    assert np.array_equal(codes, want_codes) and list(uniques) == list(want_uniques)
    assert ds.codes("tickets")[0] is codes
    with pytest.raises(ValueError):
        codes[0] = 5
    compute(ds, by="segment", kpis=["tickets"])
    assert ds.codes("tickets")[0] is codes  # the KPIs took the same arrays
    ds.tables["tickets"] = ds.tables["tickets"].iloc[::-1].reset_index(drop=True)
    again, _ = ds.codes("tickets")
    assert again is not codes
    assert np.array_equal(again, pd.factorize(ds.tables["tickets"]["account_id"])[0])


def test_codes_of_every_table_and_column_stay_cached(frames):
    """The report asks for the codes of many (table, column) pairs; none is evicted and built
    again (four slots per name used to drop the first ones)."""
    ds = fresh(frames)
    pairs = [(t, "account_id") for t in ("accounts", "subscriptions", "mrr", "tickets", "surveys", "renewals")]
    pairs += [("tickets", "priority"), ("tickets", "category"), ("surveys", "survey")]
    first = {pair: ds.codes(*pair) for pair in pairs if pair[0] in ds.tables and pair[1] in ds.tables[pair[0]]}
    assert len(first) >= 8
    for pair, got in first.items():
        assert ds.codes(*pair) is got


def test_two_threads_asking_for_one_key_build_it_once(frames):
    import threading
    import time

    ds = fresh(frames)
    builds: list[str] = []
    start = threading.Barrier(3)

    def build():
        builds.append(threading.current_thread().name)
        time.sleep(0.2)  # long enough for the other thread to ask meanwhile
        return object()

    got: dict[str, object] = {}

    def ask(name):
        start.wait()
        got[name] = ds.cached("slow", "key", ("tickets",), build)

    threads = [threading.Thread(target=ask, args=(n,), name=n) for n in ("a", "b", "c")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert len(builds) == 1 and len(got) == 3
    assert got["a"] is got["b"] is got["c"]
    # another key is not held up by it, and a replaced table is built again
    assert ds.cached("slow", "other", ("tickets",), build) is not got["a"] and len(builds) == 2
    ds.tables["tickets"] = ds.tables["tickets"].copy()
    assert ds.cached("slow", "key", ("tickets",), build) is not got["a"] and len(builds) == 3
