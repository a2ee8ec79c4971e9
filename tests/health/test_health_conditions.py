"""Text conditions are worked out once per distinct value; the result equals the plain per-row
definition (strip, lower-case, compare) for any mix of text, numbers and missing values."""
from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from cs_desk.health.conditions import Condition, evaluate_one

cells = st.one_of(st.none(), st.just(np.nan), st.sampled_from(["SMB", " smb ", "Enterprise", "", "  ", "mid"]),
                  st.integers(0, 3), st.text(max_size=4))


def _per_row(col: pd.Series, op: str, values: tuple) -> np.ndarray:
    text = col.astype("string").str.strip().str.lower()
    if op in ("missing", "present"):
        miss = col.isna().to_numpy() | (text == "").fillna(True).to_numpy()
        return miss if op == "missing" else ~miss
    hit = text.isin([str(v).strip().lower() for v in values]).fillna(False).to_numpy(dtype=bool)
    if op in ("not in", "!="):
        hit = ~hit
    return hit & text.notna().to_numpy()


@settings(max_examples=150, deadline=None)
@given(st.lists(cells, min_size=0, max_size=40), st.sampled_from(["in", "not in", "==", "!=", "missing", "present"]),
       st.lists(st.sampled_from(["smb", "Enterprise ", "MID", "x"]), min_size=1, max_size=3))
def test_text_condition_equals_per_row_definition(column, op, wanted):
    frame = pd.DataFrame({"segment": pd.Series(column, dtype=object)})
    values = tuple(wanted) if op in ("in", "not in") else (None if op in ("missing", "present") else wanted[0])
    cond = Condition("segment", op, values)
    want = _per_row(frame["segment"], op, values if isinstance(values, tuple) else (values,))
    assert np.array_equal(evaluate_one(cond, frame), want)


def test_text_condition_by_hand():
    frame = pd.DataFrame({"segment": [" SMB", "smb ", "Enterprise", None, "", "Mid-market"]})
    assert evaluate_one(Condition("segment", "==", "smb"), frame).tolist() == [True, True, False, False, False, False]
    assert evaluate_one(Condition("segment", "not in", ("smb", "enterprise")), frame).tolist() == \
        [False, False, False, False, True, True]
    assert evaluate_one(Condition("segment", "missing", None), frame).tolist() == \
        [False, False, False, True, True, False]
