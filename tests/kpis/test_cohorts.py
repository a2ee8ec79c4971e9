"""Cohort triangles and the shifted-beta-geometric (sBG) projection (cs_desk.kpis.cohorts).

Grid convention (snapshots.MrrGrid): column i is the MRR at the instant instants[i], a month
start, i.e. the MRR at the END of the month starting at instants[i - 1]. An account first active
in column i has first-paid month (cohort) instants[i - 1].
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from cs_desk.kpis.cohorts import (
    CohortTables,
    SbgFit,
    cohort_of_accounts,
    cohort_triangles,
    contractual_clv,
    fit_sbg,
    project_cohorts,
    sbg_churn_probability,
    sbg_derl,
    sbg_expected_lifetime,
    sbg_loglik,
    sbg_retention_rate,
    sbg_survival,
)
from cs_desk.snapshots import MrrGrid

NAN = np.nan


def make_grid(rows: dict[str, list[float]], start: str = "2024-01-01", first_month=None,
              last_month=None, source: str = "subscriptions") -> MrrGrid:
    ids = list(rows)
    mrr = np.array([rows[i] for i in ids], dtype=float).reshape(len(ids), -1)
    instants = pd.date_range(start, periods=mrr.shape[1], freq="MS")
    return MrrGrid(
        accounts=pd.Index(ids, name="account_id"),
        instants=instants,
        mrr=mrr,
        interval=np.zeros(mrr.shape),
        first_month=pd.Timestamp(first_month) if first_month else instants[0],
        last_month=pd.Timestamp(last_month) if last_month else instants[-2],
        source=source,
    )


def assert_frame(frame: pd.DataFrame, expected: list[list[float]]):
    np.testing.assert_allclose(frame.to_numpy(dtype=float), np.array(expected, dtype=float),
                               rtol=0, atol=1e-12, equal_nan=True)


# ------------------------------------------------------------------------------------------------
# A hand-worked portfolio. Instants Jan 1 .. Jun 1 2024 (6 snapshots); the range is Jan .. May.
#
#             Jan1 Feb1 Mar1 Apr1 May1 Jun1     first >0 at   cohort (first-paid month)
#   a           0   10   10    0   10   10       Feb 1         2024-01  (paid inside the grid's first month;
#                                                                        churns in Mar, reactivates in Apr)
#   b           0    0   20   30   30    0       Mar 1         2024-02  (expands 20 -> 30, churns in May)
#   c           0    0   10   10    0    0       Mar 1         2024-02  (churns in Apr)
#   d           5    5    5    5    5    5       Jan 1         unknown: already paying at the first snapshot
#   e           0    0    0    0    0    0       never         -
#
# Cohort 2024-01 = {a}: columns k = 0..4 are the snapshots Feb1..Jun1 -> a: 10 10 0 10 10
# Cohort 2024-02 = {b, c}: k = 0..3 are Mar1..Jun1 -> active 2 2 1 0; MRR 30 40 30 0
# Cohorts 2024-03..05 have no accounts. Observation ends at Jun 1 (end of May): the triangle.
# ------------------------------------------------------------------------------------------------
PORTFOLIO = {
    "a": [0, 10, 10, 0, 10, 10],
    "b": [0, 0, 20, 30, 30, 0],
    "c": [0, 0, 10, 10, 0, 0],
    "d": [5, 5, 5, 5, 5, 5],
    "e": [0, 0, 0, 0, 0, 0],
}


@pytest.fixture
def portfolio() -> MrrGrid:
    return make_grid(PORTFOLIO)


def test_hand_worked_triangle(portfolio):
    t = cohort_triangles(portfolio)
    assert isinstance(t, CohortTables)
    assert list(t.logo.index) == ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05"]
    assert list(t.logo.columns) == [0, 1, 2, 3, 4]
    assert t.logo.index.name == "cohort" and t.logo.columns.name == "month"
    assert t.sizes.tolist() == [1, 2, 0, 0, 0]
    assert t.censored == 1  # d
    assert_frame(t.counts, [
        [1, 1, 0, 1, 1],
        [2, 2, 1, 0, NAN],
        [0, 0, 0, NAN, NAN],
        [0, 0, NAN, NAN, NAN],
        [0, NAN, NAN, NAN, NAN],
    ])
    assert_frame(t.logo, [
        [1, 1, 0, 1, 1],
        [1, 1, 0.5, 0, NAN],
        [NAN] * 5, [NAN] * 5, [NAN] * 5,  # empty cohorts: retention undefined
    ])
    assert_frame(t.mrr, [
        [10, 10, 0, 10, 10],
        [30, 40, 30, 0, NAN],
        [0, 0, 0, NAN, NAN],
        [0, 0, NAN, NAN, NAN],
        [0, NAN, NAN, NAN, NAN],
    ])
    assert_frame(t.revenue, [
        [1, 1, 0, 1, 1],
        [1, 40 / 30, 1, 0, NAN],
        [NAN] * 5, [NAN] * 5, [NAN] * 5,
    ])
    # survivors: active at every snapshot since month 0 (a's reactivation does not count)
    assert_frame(t.survivors.iloc[:2], [
        [1, 1, 0, 0, 0],
        [2, 2, 1, 0, NAN],
    ])


def test_revenue_retention_above_one_with_expansion(portfolio):
    t = cohort_triangles(portfolio)
    assert t.revenue.loc["2024-02", 1] == pytest.approx(40 / 30)
    assert t.revenue.loc["2024-02", 1] > 1
    assert t.logo.loc["2024-02", 1] == 1.0  # nobody left: the gain is pure expansion


def test_reactivated_account_stays_in_its_first_cohort(portfolio):
    t = cohort_triangles(portfolio)
    assert cohort_of_accounts(portfolio)["a"] == "2024-01"
    # a is inactive at Apr 1 (k = 2), back at May 1 (k = 3): it counts again in 2024-01 ...
    assert t.logo.loc["2024-01"].tolist() == [1.0, 1.0, 0.0, 1.0, 1.0]
    # ... and is never a new account of 2024-03 (the month it came back in)
    assert t.sizes["2024-03"] == 0


def test_account_first_paid_inside_the_grids_first_month(portfolio):
    # a's first positive snapshot is Feb 1 = the end of January, the grid's first month
    assert cohort_of_accounts(portfolio)["a"] == "2024-01"
    assert cohort_triangles(portfolio).sizes["2024-01"] == 1


def test_account_paying_at_the_first_snapshot_is_left_censored(portfolio):
    # d already pays at Jan 1: it may have started at any time before; no cohort
    cohorts = cohort_of_accounts(portfolio)
    assert pd.isna(cohorts["d"]) and pd.isna(cohorts["e"])
    t = cohort_triangles(portfolio)
    assert t.sizes.sum() == 3 and t.censored == 1


def test_future_cells_are_nan_triangle(portfolio):
    t = cohort_triangles(portfolio)
    n = len(t.counts)
    for r in range(n):
        for k in range(n):
            assert math.isnan(t.counts.iloc[r, k]) == (r + k > n - 1)


def test_mrr_table_grid_opening_balance_and_month_without_data():
    # An MRR-table grid: column 0 (start of the table's first month) is unknown, and the table
    # has no rows for March 2024, so the snapshot Apr 1 (end of March) is unknown too.
    #               Jan1 Feb1 Mar1 Apr1 May1
    rows = {
        "x": [NAN, 10, 10, NAN, 10],  # in the opening balance: cohort unknown (censored)
        "y": [NAN, 0, 20, NAN, 0],  # first paid in February (Feb 1 = 0, Mar 1 = 20) -> 2024-02
        "z": [NAN, 0, 0, NAN, 7],  # first seen after the gap: started in March or April -> censored
    }
    grid = make_grid(rows, first_month="2024-02-01", last_month="2024-04-01", source="mrr")
    t = cohort_triangles(grid)
    assert list(t.sizes.index) == ["2024-02", "2024-03", "2024-04"]
    assert t.sizes.tolist() == [1, 0, 0]
    assert t.censored == 2
    # 2024-02: k = 0 is Mar 1, k = 1 is Apr 1 (unknown), k = 2 is May 1
    assert_frame(t.logo.iloc[:1], [[1, NAN, 0]])
    assert cohort_of_accounts(grid).tolist()[1] == "2024-02"


def test_first_and_last_limit_rows_and_observation(portfolio):
    t = cohort_triangles(portfolio, first="2024-02", last=pd.Timestamp("2024-03-01"))
    assert list(t.sizes.index) == ["2024-02", "2024-03"]
    assert t.sizes.tolist() == [2, 0]
    # observed up to the end of March (Apr 1): 2024-02 has k = 0 (Mar 1) and k = 1 (Apr 1)
    assert_frame(t.logo.iloc[:1], [[1, 1]])
    # a (cohort 2024-01) is before the range: not counted anywhere, not censored either
    assert t.censored == 1  # d


def test_grouping_gives_one_triangle_per_group(portfolio):
    by = pd.Series({"a": "smb", "b": "ent", "c": "smb", "d": "ent"})
    tables = cohort_triangles(portfolio, by=by)
    assert list(tables) == ["ent", "smb", "(none)"]  # e has no group
    assert tables["smb"].sizes.tolist() == [1, 1, 0, 0, 0]
    assert tables["ent"].sizes.tolist() == [0, 1, 0, 0, 0]
    assert tables["ent"].censored == 1 and tables["smb"].censored == 0
    assert_frame(tables["ent"].revenue.iloc[1:2], [[1, 1.5, 1.5, 0, NAN]])
    assert_frame(tables["smb"].logo.iloc[1:2], [[1, 1, 0, 0, NAN]])
    total = cohort_triangles(portfolio)
    summed = sum(tab.counts.fillna(0) for tab in tables.values())
    pd.testing.assert_frame_equal(summed, total.counts.fillna(0))


def test_inputs_are_not_mutated(portfolio):
    before = portfolio.mrr.copy()
    by = pd.Series({"a": "smb"})
    cohort_triangles(portfolio, by=by)
    np.testing.assert_array_equal(portfolio.mrr, before)
    assert by.to_dict() == {"a": "smb"}
    counts = cohort_triangles(portfolio).survivors
    copy = counts.copy()
    project_cohorts(counts, horizon=3)
    pd.testing.assert_frame_equal(counts, copy)


def test_empty_grid_gives_empty_tables():
    grid = MrrGrid(pd.Index([], name="account_id"), pd.date_range("2024-01-01", periods=3, freq="MS"),
                   np.zeros((0, 3)), np.zeros((0, 3)), pd.Timestamp("2024-01-01"),
                   pd.Timestamp("2024-02-01"), "mrr")
    t = cohort_triangles(grid)
    assert t.sizes.tolist() == [0, 0]
    assert t.logo.isna().all().all()
    proj = project_cohorts(t.survivors, horizon=2)
    assert (proj["fit"] == "none").all()


# -- properties -----------------------------------------------------------------------------------
mrr_values = st.sampled_from([0.0, 0.0, 0.0, 5.0, 10.0, 25.0])


@st.composite
def grids(draw):
    n_acc = draw(st.integers(1, 12))
    n_inst = draw(st.integers(2, 9))
    mrr = draw(hnp.arrays(float, (n_acc, n_inst), elements=mrr_values))
    ids = [f"acc{i:02d}" for i in range(n_acc)]
    return make_grid({i: list(row) for i, row in zip(ids, mrr)})


@settings(max_examples=150, deadline=None)
@given(grids())
def test_properties_of_triangles(grid):
    t = cohort_triangles(grid)
    logo = t.logo.to_numpy()
    finite = logo[np.isfinite(logo)]
    assert ((finite >= 0) & (finite <= 1)).all()
    filled = t.sizes > 0
    assert (t.logo.loc[filled, 0] == 1.0).all()
    assert (t.revenue.loc[filled, 0] == 1.0).all()
    assert (t.revenue.to_numpy()[np.isfinite(t.revenue.to_numpy())] >= 0).all()
    counts, surv = t.counts.to_numpy(), t.survivors.to_numpy()
    ok = np.isfinite(counts)
    assert (counts[ok] <= t.sizes.to_numpy()[:, None].repeat(counts.shape[1], 1)[ok]).all()
    assert (surv[ok] <= counts[ok]).all()
    for row in surv:  # survivors never rise
        vals = row[np.isfinite(row)]
        assert (np.diff(vals) <= 0).all()
    # every account is in exactly one place: a cohort, censored, or never paid / outside the range
    assert t.sizes.sum() + t.censored <= len(grid.accounts)


@settings(max_examples=100, deadline=None)
@given(grids(), st.randoms(use_true_random=False))
def test_shuffling_and_renaming_accounts_changes_nothing(grid, rnd):
    order = list(range(len(grid.accounts)))
    rnd.shuffle(order)
    shuffled = MrrGrid(pd.Index([f"renamed-{grid.accounts[i]}" for i in order], name="account_id"),
                       grid.instants, grid.mrr[order], grid.interval[order], grid.first_month,
                       grid.last_month, grid.source)
    a, b = cohort_triangles(grid), cohort_triangles(shuffled)
    for name in ("logo", "revenue", "counts", "mrr", "survivors"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    pd.testing.assert_series_equal(a.sizes, b.sizes)
    assert a.censored == b.censored


# ================================================================================================
# sBG against Fader & Hardie, "How to Project Customer Retention", Journal of Interactive
# Marketing 21(1), 2007 (preprint http://www.brucehardie.com/papers/021/sbg_2006-05-30.pdf).
# Table 1: survivors of two cohorts of 1000 customers, years 0..12; the paper fits years 1..7.
# Published maximum-likelihood estimates: Regular alpha = 0.704, beta = 1.182; High End
# alpha = 0.668, beta = 3.806 (the preprint body misprints 0.688; appendix B has 0.668 with
# LL = -1.611 per customer). Cross-checked in:
#   * pymc-labs/pymc-marketing docs/source/notebooks/clv/dev/sBG_marimo.py
#     ref_val = {'highend': [0.668, 3.806], 'regular': [0.704, 1.182]}
#   * jdmaturen/shifted_beta_geometric_py shifted_beta_geometric/sbg.py test():
#     High End alpha 0.668, beta 3.806; LL(1, 1) = -2.115 per customer; derl(.., 0.1, 7) = 7.530
#     (README), and the multi-cohort data 10000, 8000, 6480, 5307, 4391 of Fader & Hardie (2010)
#     giving alpha 3.80, beta 15.19.
# ================================================================================================
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241, 223, 207, 194, 183, 173]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491, 468, 445, 427, 409, 394]


@pytest.mark.parametrize("data, alpha, beta", [(REGULAR, 0.704, 1.182), (HIGH_END, 0.668, 3.806)])
def test_fit_reproduces_published_estimates(data, alpha, beta):
    fit = fit_sbg(data[:8])  # years 0..7
    assert isinstance(fit, SbgFit) and fit.converged
    assert fit.alpha == pytest.approx(alpha, abs=5e-4)
    assert fit.beta == pytest.approx(beta, abs=5e-4)
    assert fit.n == 1000 and fit.periods == 7
    # fractions give the same estimates, and a per-customer log-likelihood
    frac = fit_sbg(np.array(data[:8]) / 1000)
    assert frac.alpha == pytest.approx(fit.alpha, rel=1e-6)
    assert frac.beta == pytest.approx(fit.beta, rel=1e-6)
    assert frac.loglik == pytest.approx(fit.loglik / 1000, rel=1e-9)


def test_published_log_likelihoods():
    high_end = np.array(HIGH_END[:8]) / 1000
    assert sbg_loglik(0.668, 3.806, high_end) == pytest.approx(-1.611, abs=5e-4)
    assert sbg_loglik(1.0, 1.0, high_end) == pytest.approx(-2.115, abs=1e-3)  # the starting point
    assert fit_sbg(high_end).loglik == pytest.approx(-1.611, abs=5e-4)


@pytest.mark.parametrize("data, year12_error", [(REGULAR, 0.02), (HIGH_END, 0.04)])
def test_projection_matches_held_out_years(data, year12_error):
    fit = fit_sbg(data[:8])
    projected = sbg_survival(fit.alpha, fit.beta, np.arange(13)) * 1000
    actual = np.array(data, dtype=float)
    # in-sample and out-of-sample (years 8..12) within 2 percentage points of the cohort
    assert np.abs(projected - actual).max() < 20
    # the paper reports year-12 errors of "only 4% and 2%" (High End, Regular)
    rel = abs(projected[12] - actual[12]) / actual[12]
    assert rel < year12_error + 0.005
    assert projected[12] == pytest.approx({173: 170.0, 394: 378.0}[data[12]], abs=0.5)


def test_pooled_fit_of_several_cohorts():
    # Fader & Hardie (2010) case 1: four yearly cohorts of 10000, observed 4, 3, 2, 1 years
    rows = [[10000, 8000, 6480, 5307, 4391], [10000, 8000, 6480, 5307, NAN],
            [10000, 8000, 6480, NAN, NAN], [10000, 8000, NAN, NAN, NAN]]
    fit = fit_sbg(rows)
    assert fit.alpha == pytest.approx(3.80, abs=0.01)
    assert fit.beta == pytest.approx(15.19, abs=0.01)
    assert fit.n == 40000 and fit.periods == 4


def test_fit_recovers_parameters_of_an_exact_curve():
    t = np.arange(25)
    curve = sbg_survival(1.3, 4.2, t) * 1e6
    fit = fit_sbg(curve)
    assert fit.alpha == pytest.approx(1.3, rel=1e-3)
    assert fit.beta == pytest.approx(4.2, rel=1e-3)


def test_fit_edge_cases():
    empty = fit_sbg([])
    assert math.isnan(empty.alpha) and not empty.converged
    assert math.isnan(fit_sbg([100]).alpha)  # nothing observed after the start
    assert not fit_sbg([10, 10, 10, 10]).converged  # nobody left: maximum on the boundary
    assert not fit_sbg([10, 0]).converged  # everybody left at once
    # a rise (reactivations) is capped: same fit as the running minimum
    capped = fit_sbg([100, 80, 85, 60])
    plain = fit_sbg([100, 80, 80, 60])
    assert capped.alpha == pytest.approx(plain.alpha, rel=1e-6)
    # a period without observation: interval-censored, still fits
    gap = fit_sbg([1000, 631, NAN, 382, 326, 289, 262, 241])
    assert gap.converged and gap.alpha == pytest.approx(0.704, abs=0.05)


def test_model_identities():
    a, b = 0.704, 1.182
    t = np.arange(1, 30)
    s = sbg_survival(a, b, np.arange(30))
    assert s[0] == 1.0
    np.testing.assert_allclose(sbg_retention_rate(a, b, t), s[1:] / s[:-1], rtol=1e-12)
    np.testing.assert_allclose(1 - np.cumsum(sbg_churn_probability(a, b, t)), s[1:], rtol=1e-10)
    assert sbg_retention_rate(a, b, 1) == pytest.approx(b / (a + b))
    assert (np.diff(sbg_retention_rate(a, b, t)) > 0).all()  # retention rises (sorting effect)


def test_expected_lifetime():
    # closed form E[T] = (alpha + beta - 1) / (alpha - 1), counting month 0
    assert sbg_expected_lifetime(2.0, 10.0) == pytest.approx(11.0)
    assert sbg_expected_lifetime(2.0, 10.0, age=5) == pytest.approx(16.0)
    assert sbg_expected_lifetime(0.704, 1.182) == math.inf  # alpha <= 1: no finite mean
    # discounted: the hypergeometric form equals the brute-force sum of the survival curve
    k = np.arange(20000)
    for a, b, d, age in [(0.704, 1.182, 0.1, 0), (0.668, 3.806, 0.01, 3), (3.8, 15.19, 0.02, 1)]:
        brute = np.sum(sbg_survival(a, b, age + k) / sbg_survival(a, b, age) * (1 / (1 + d)) ** k)
        assert sbg_expected_lifetime(a, b, d, age) == pytest.approx(brute, rel=1e-9)
    # a horizon sums the first periods only
    assert sbg_expected_lifetime(0.704, 1.182, horizon=3) == pytest.approx(
        float(np.sum(sbg_survival(0.704, 1.182, np.arange(3)))))
    assert math.isnan(sbg_expected_lifetime(NAN, 1.0))


def test_derl_fader_hardie_2010():
    a, b, d = 0.668, 3.806, 0.10
    # jdmaturen README: High End, d = 10%, after 7 renewals -> 7.530
    assert sbg_derl(a, b, d, 7) == pytest.approx(7.530, abs=1e-3)
    # definition: sum over t >= n of S(t) / S(n - 1) / (1 + d)^(t - n), n - 1 = renewals
    for renewals in (0, 1, 4, 11):
        n = renewals + 1
        t = np.arange(n, n + 20000)
        brute = np.sum(sbg_survival(a, b, t) / sbg_survival(a, b, n - 1) * (1 / (1 + d)) ** (t - n))
        assert sbg_derl(a, b, d, renewals) == pytest.approx(brute, rel=1e-9)
        assert sbg_derl(a, b, d, renewals) == pytest.approx(
            sbg_retention_rate(a, b, n) * sbg_expected_lifetime(a, b, d, age=n), rel=1e-12)
    assert sbg_derl(2.0, 10.0, 0.0, 0) == pytest.approx(10.0)  # (beta + n - 1) / (alpha - 1)
    assert sbg_derl(0.5, 1.0, 0.0, 0) == math.inf


def test_contractual_clv():
    fit = SbgFit(2.0, 10.0, NAN, 1000)
    assert contractual_clv(100.0, fit) == pytest.approx(100 * 11)
    assert contractual_clv(100.0, (2.0, 10.0), 0.01) == pytest.approx(
        100 * sbg_expected_lifetime(2.0, 10.0, 0.01))
    assert contractual_clv(100.0, fit, horizon=12) == pytest.approx(
        100 * float(np.sum(sbg_survival(2.0, 10.0, np.arange(12)))))
    # no finite mean and no discount/horizon: undefined (NaN), never infinite
    assert math.isnan(contractual_clv(100.0, (0.704, 1.182)))
    assert math.isfinite(contractual_clv(100.0, (0.704, 1.182), 0.01))
    # homogeneous churn (alpha, beta huge with mean churn c) -> the simple ARPA / churn
    c = 0.05
    big = 1e6
    assert contractual_clv(100.0, (big * c, big * (1 - c))) == pytest.approx(100 / c, rel=1e-3)
    arpa = pd.Series([10.0, 20.0], index=["smb", "ent"])
    pd.testing.assert_series_equal(contractual_clv(arpa, fit), arpa * 11)


def test_project_cohorts_uses_own_or_pooled_fit():
    # regular (8 observed years), high end young (3 years), an empty cohort
    counts = pd.DataFrame(
        [REGULAR[:8], HIGH_END[:4] + [NAN] * 4, [0] + [NAN] * 7],
        index=pd.Index(["regular", "high_end", "empty"], name="cohort"), dtype=float)
    proj = project_cohorts(counts, horizon=12, min_months=4)
    assert proj.loc["regular", "fit"] == "cohort"
    assert proj.loc["regular", "alpha"] == pytest.approx(0.704, abs=5e-4)
    assert proj.loc["high_end", "fit"] == "pooled"
    pooled = fit_sbg(counts.to_numpy())
    assert proj.loc["high_end", "alpha"] == pytest.approx(pooled.alpha)
    assert proj.loc["empty", "fit"] == "none" and proj.loc["empty", 5] != proj.loc["empty", 5]
    assert proj.loc["regular", "observed_months"] == 7 and proj.loc["high_end", "observed_months"] == 3
    curve = proj.loc["regular", list(range(13))].to_numpy(dtype=float)
    assert curve[0] == 1.0 and (np.diff(curve) < 0).all()
    assert curve[12] * 1000 == pytest.approx(170.0, abs=0.5)
    # with min_months lowered, the young cohort gets its own fit
    own = project_cohorts(counts, horizon=12, min_months=3)
    assert own.loc["high_end", "fit"] == "cohort"


def test_projection_from_triangles_recovers_simulated_parameters():
    # 6000 accounts, churn probability ~ Beta(0.8, 6), starting over 24 months; vectorised simulation
    rng = np.random.default_rng(7)
    n, months = 6000, 25
    start = rng.integers(1, months, n)
    life = rng.geometric(rng.beta(0.8, 6.0, n))
    k = np.arange(months)
    active = (k >= start[:, None]) & (k < (start + life)[:, None])
    grid = make_grid({f"A{i}": list(np.where(active[i], 50.0, 0.0)) for i in range(n)})
    tables = cohort_triangles(grid)
    pooled = fit_sbg(tables.survivors.to_numpy())
    assert pooled.alpha == pytest.approx(0.8, rel=0.15)
    assert pooled.beta == pytest.approx(6.0, rel=0.2)
    proj = project_cohorts(tables.survivors, horizon=24)
    assert set(proj["fit"]) <= {"cohort", "pooled", "none"}
    young = proj.index[proj["observed_months"] < 4]
    assert (proj.loc[young[young.isin(tables.sizes[tables.sizes > 0].index)], "fit"] == "pooled").all()
    # no churn in the simulation beyond the model: survivors == counts (nobody comes back)
    pd.testing.assert_frame_equal(tables.survivors, tables.counts)
