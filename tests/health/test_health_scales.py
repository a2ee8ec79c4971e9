"""Scales on hand-worked values (the arithmetic is written next to each expectation)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cs_desk.health.model import Band, Scale
from cs_desk.health.scales import percentile_rank, points, value_for_points

NAN = np.nan


def pts(scale, values, direction="higher", groups=None):
    return points(scale, direction, pd.Series(values), groups)


def test_linear_is_clamped_and_mirrors_for_lower():
    s = Scale("linear", low=0.2, high=0.9)
    # (0.55 - 0.2) / 0.7 = 0.5 -> 50; below low -> 0; above high -> 100; missing stays missing
    np.testing.assert_allclose(pts(s, [0.55, 0.1, 1.5, 0.2, 0.9, NAN]), [50, 0, 100, 0, 100, NAN])
    # lower is better: 0.55 -> 50 still; 0.2 -> 100; 0.9 -> 0; 0.375 -> 1 - 0.25 = 75
    np.testing.assert_allclose(pts(s, [0.55, 0.2, 0.9, 0.375], "lower"), [50, 100, 0, 75])


def test_bounded_zero_or_missing_outside_the_range():
    s = Scale("bounded", low=0, high=45)
    # inside: 9 days, lower is better -> 1 - 9/45 = 0.8 -> 80; edges are inside (0 -> 100, 45 -> 0)
    np.testing.assert_allclose(pts(s, [9, 0, 45, 46, -1], "lower"), [80, 100, 0, 0, 0])
    m = Scale("bounded", low=0, high=45, outside="missing")
    np.testing.assert_allclose(pts(m, [9, 46, -1], "lower"), [80, NAN, NAN])


def test_bands_left_closed_edges():
    s = Scale("bands", bands=(Band(100, None, 1), Band(50, 1, 3), Band(0, 3, None)), closed="left")
    # [-inf,1) -> 100, [1,3) -> 50, [3,inf) -> 0: the edge value 1 is in the middle band, 3 in the last
    np.testing.assert_allclose(pts(s, [0, 0.99, 1, 2.99, 3, 10, NAN]), [100, 100, 50, 50, 0, 0, NAN])


def test_bands_right_closed_edges_and_gaps_are_missing():
    s = Scale("bands", bands=(Band(0, None, 6), Band(60, 6, 8), Band(100, 9, None)), closed="right")
    # (-inf,6] -> 0, (6,8] -> 60, gap (8,9] -> missing, (9,inf) -> 100
    np.testing.assert_allclose(pts(s, [6, 6.5, 8, 8.5, 9, 10]), [0, 60, 60, NAN, NAN, 100])


def test_band_points_do_not_depend_on_direction():
    s = Scale("bands", bands=(Band(10, None, 5), Band(90, 5, None)))
    np.testing.assert_allclose(pts(s, [1, 7], "lower"), pts(s, [1, 7], "higher"))


def test_percentile_ranks_within_the_portfolio_with_ties():
    s = Scale("percentile")
    # values 10, 20, 20, 40 (+ a missing): ranks 1, 2.5, 2.5, 4 -> (r - 1) / 3 = 0, 0.5, 0.5, 1
    np.testing.assert_allclose(pts(s, [10, 20, 20, 40, NAN]), [0, 50, 50, 100, NAN])
    np.testing.assert_allclose(pts(s, [10, 20, 20, 40], "lower"), [100, 50, 50, 0])
    # a portfolio of one scores 50
    np.testing.assert_allclose(pts(s, [7.0]), [50])


def test_percentile_ranks_per_group():
    s = Scale("percentile")
    groups = np.array([0, 0, 1, 1, 1])
    # group 0: 5, 1 -> 100, 0; group 1: 1, 2, 3 -> 0, 50, 100 (the 5 of group 0 does not count)
    np.testing.assert_allclose(pts(s, [5, 1, 1, 2, 3], groups=groups), [100, 0, 0, 50, 100])
    np.testing.assert_allclose(percentile_rank(np.array([3.0, 1.0])), [1.0, 0.0])


def test_yesno_values_and_direction():
    s = Scale("yesno")
    values = [True, False, 1, 0, "yes", "No", "done", None, NAN, "in progress"]
    # yes -> 100, no -> 0, missing -> NaN; unknown text counts as no
    np.testing.assert_allclose(pts(s, pd.Series(values, dtype=object)), [100, 0, 100, 0, 100, 0, 100, NAN, NAN, 0])
    np.testing.assert_allclose(pts(s, [True, False], "lower"), [0, 100])
    custom = Scale("yesno", yes=("complete",), yes_points=80, no_points=20)
    np.testing.assert_allclose(pts(custom, pd.Series(["Complete", "started"], dtype=object)), [80, 20])


@pytest.mark.parametrize("direction", ["higher", "lower"])
def test_linear_inverse_round_trips(direction):
    s = Scale("linear", low=0.2, high=0.9)
    target = np.array([0.0, 24.3, 50.0, 100.0, 120.0])
    value, qual = value_for_points(s, direction, target, np.zeros(5))
    assert np.isnan(value[-1])  # 120 points cannot be reached
    np.testing.assert_allclose(pts(s, value[:-1], direction), target[:-1])
    assert list(qual) == [""] * 5


def test_bands_inverse_finds_the_nearest_band_edge():
    s = Scale("bands", bands=(Band(100, None, 1), Band(50, 1, 3), Band(0, 3, None)))
    # from 7 tickets: 50 points are reached below 3 (exclusive edge: "<3"), 100 below 1
    value, qual = value_for_points(s, "lower", np.array([40.0, 60.0]), np.array([7.0, 7.0]))
    assert list(value) == [3.0, 1.0] and list(qual) == ["<", "<"]
    up = Scale("bands", bands=(Band(0, None, 0.5), Band(100, 0.5, None)))
    value, qual = value_for_points(up, "higher", np.array([80.0]), np.array([0.2]))
    assert value[0] == 0.5 and qual[0] == ""  # min edge is inclusive with closed = "left"


def test_percentile_inverse_reads_the_portfolio():
    s = Scale("percentile")
    ref = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    value, _ = value_for_points(s, "higher", np.array([60.0]), np.array([10.0]), reference=ref)
    # 60th percentile of 5 values: index ceil(0.6 * 4) = 3 -> 40, which scores (4-1)/4 = 75 >= 60
    assert value[0] == 40.0
