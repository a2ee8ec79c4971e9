"""Model files: validation names every problem with its key and line; round trip; the shipped examples."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from health_helpers import KNOWN, component, model

from cs_desk.health import HealthModel, load, loads, save, score, validate
from cs_desk.problems import Code, Severity

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "workbook_templates"

BAD = """name = "broken"
colour = "blue"

[bands]
red = 80
green = 60

[groups.adoption]
weight = 0

[[components]]
id = "seat"
group = "adoption"
metric = "seat_utilisation"
weight = -5
direction = "higher"
scale = { type = "linear", low = 0.9, high = 0.2 }

[[components]]
id = "nps"
metric = "last_nps"
weight = "ten"
scale = { type = "bands", bands = [
    { max = 7, points = 0 },
    { min = 6, max = 9, points = 60 },
    { min = 9, points = 140 },
] }
missing = "ignore"

[[components]]
id = "nps"
metric = "depth"
weight = 1
direction = "sideways"
scale = { type = "linear", low = 0, high = 1 }

[[profiles]]
name = "new"
when = { tenure_dayz = { lt = 90 } }
weights = { seat = -1, nobody = 2 }
"""


def by_key(problems):
    return {p.column: p for p in problems}


def test_every_problem_is_reported_with_its_key_and_line():
    m, problems = loads(BAD, "bad.toml")
    assert m is None
    found = {(p.column, p.code, p.row) for p in problems}
    expected = {
        ("colour", Code.UNKNOWN_KEY, 2),
        ("bands.green", Code.THRESHOLDS_OUT_OF_ORDER, 6),
        ("groups.adoption.weight", Code.BAD_WEIGHT, 9),
        ("components[1].metric", Code.UNKNOWN_METRIC, 14),
        ("components[1].weight", Code.BAD_WEIGHT, 15),
        ("components[1].scale.high", Code.THRESHOLDS_OUT_OF_ORDER, 17),
        ("components[2].weight", Code.WRONG_TYPE, 22),
        ("components[2].scale.bands[3].points", Code.HEALTH_MODEL_INVALID, 26),
        ("components[2].missing", Code.HEALTH_MODEL_INVALID, 28),
        ("components[3].direction", Code.HEALTH_MODEL_INVALID, 34),
        ("profiles[1].when.tenure_dayz", Code.UNKNOWN_METRIC, 39),
        ("profiles[1].weights.seat", Code.BAD_WEIGHT, 40),
        ("profiles[1].weights.nobody", Code.UNKNOWN_KEY, 40),
    }
    assert expected <= found, sorted(found - expected, key=str)
    assert all(p.file == "bad.toml" and p.severity is Severity.ERROR for p in problems)
    seat = by_key(problems)["components[1].metric"]
    assert "did you mean 'seat_utilization'" in seat.message
    assert seat.value == "seat_utilisation"


def test_overlapping_bands_and_duplicate_ids():
    text = BAD.replace('{ min = 9, points = 140 }', '{ min = 9, points = 100 }')
    _, problems = loads(text, "bad.toml")
    keys = by_key(problems)
    # band 2 starts at 6, inside band 1 (< 7)
    assert keys["components[2].scale.bands[2]"].code is Code.THRESHOLDS_OUT_OF_ORDER
    assert keys["components[2].scale.bands[2]"].row == 25
    dup = [p for p in problems if p.code is Code.DUPLICATE_ID]
    assert dup and dup[0].column == "components[3].id" and dup[0].row == 31


def test_syntax_error_names_its_line():
    m, problems = loads('name = "x"\n[[components]]\nid = "a\n', "x.toml")
    assert m is None and len(problems) == 1
    assert problems[0].code is Code.TOML_SYNTAX and problems[0].row == 3


def test_missing_file_and_required_keys():
    m, problems = load("/nonexistent/model.toml")
    assert m is None and problems[0].code is Code.FILE_NOT_FOUND
    m, problems = loads('name = "x"\n', "x.toml")
    assert m is None and problems[0].code is Code.MISSING_KEY
    m, problems = loads('[[components]]\nid = "a"\nmetric = "depth"\nweight = 1\n', "x.toml")
    assert m is None
    assert {(p.column, p.row) for p in problems} == {("components[1]", 1)}  # scale is required
    assert "scale" in problems[0].message


def test_scale_needs_a_direction_and_groups_must_be_declared():
    _, problems = loads(component("a", "depth", 1, '{ type = "linear", low = 0, high = 1 }')
                        .replace('direction = "higher"\n', 'group = "nowhere"\n'), "x.toml")
    msgs = {p.column: p.message for p in problems}
    assert "direction" in msgs["components[1]"]
    assert "[groups.nowhere]" in msgs["components[1].group"]


def test_warnings_keep_the_model():
    text = component("a", "depth", 1, '{ type = "bands", bands = [{ max = 0.2, points = 0 }, { min = 0.5, points = 100 }] }')
    m, problems = loads(text + '\n[groups.empty]\nweight = 3\n', "x.toml")
    assert m is not None
    assert {p.severity for p in problems} == {Severity.WARNING}
    assert any("gap between 0.2 and 0.5" in p.message for p in problems)


def test_metric_names_default_to_the_snapshot_contract_or_the_given_columns():
    text = component("a", "my_custom_metric", 1, '{ type = "linear", low = 0, high = 1 }')
    m, problems = loads(text)
    assert m is None and problems[0].code is Code.UNKNOWN_METRIC
    m, problems = loads(text, known_metrics=["my_custom_metric"])
    assert m is not None and problems == []


def test_round_trip_through_toml_and_save(tmp_path):
    m, problems = load(TEMPLATES / "health_default.toml")
    assert problems == []
    again, problems = loads(m.to_toml(), known_metrics=KNOWN)
    assert problems == [] and again == m
    target = tmp_path / "saved.toml"
    save(m.with_weights({"nps": 42}), target)
    loaded, problems = HealthModel.load(target)
    assert problems == [] and loaded.component("nps").weight == 42
    assert "% of the score" in target.read_text()  # normalised weights shown as comments
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left behind


@pytest.mark.parametrize("name", ["health_default.toml", "health_adoption_first.toml"])
def test_example_models_load_without_problems_and_score(name):
    m, problems = load(TEMPLATES / name)
    assert problems == [] and m is not None
    assert m.profiles, "each example shows a profile"
    table = m.weights_table()
    for _, rows in table.groupby("profile"):
        assert rows["weight_pct"].sum() == pytest.approx(100)
    snap = pd.DataFrame({"account_id": ["a", "b"], "seat_utilization": [0.8, 0.1], "depth": [0.7, 0.1],
                         "tenure_days": [400, 20], "segment": ["SMB", "Enterprise"]})
    s = score(m, snap)
    assert s["score"].between(0, 100).all()


def test_validate_a_model_built_in_code():
    m = model(component("a", "m1", 1, '{ type = "linear", low = 0, high = 1 }'))
    assert validate(m, KNOWN) == []
    bad = m.with_weights({"a": 0})
    problems = validate(bad, KNOWN)
    assert [p.code for p in problems] == [Code.BAD_WEIGHT]


def test_with_weights_never_changes_the_model_in_place():
    m = model(component("a", "m1", 1, '{ type = "linear", low = 0, high = 1 }')
              + component("b", "m2", 3, '{ type = "linear", low = 0, high = 1 }'))
    m2 = m.with_weights({"a": 3})
    assert m.component("a").weight == 1 and m2.component("a").weight == 3
    assert m.effective_weights() == {"a": 0.25, "b": 0.75}
    assert m2.effective_weights() == {"a": 0.5, "b": 0.5}
    with pytest.raises(KeyError):
        m.with_weights({"zzz": 1})


def test_default_model_is_the_shipped_example():
    from cs_desk.health import default_model

    m, problems = default_model()
    assert problems == [] and m.name == "Default health model"
    m, problems = default_model("health_adoption_first.toml")
    assert problems == [] and m.name == "Adoption-first health model"


def _fuzz_values():
    from hypothesis import strategies as st

    scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 200), st.floats(-1e3, 1e3, allow_nan=False),
                        st.sampled_from(["linear", "bands", "percentile", "yesno", "bounded", "higher", "lower",
                                         "reweight", "neutral", "zero", "depth", "seat_utilization", "g", "a", "<"]))
    keys = st.sampled_from(["id", "metric", "weight", "group", "direction", "scale", "type", "low", "high", "bands",
                            "min", "max", "points", "missing", "stale_after_days", "when", "weights", "name",
                            "priority", "red", "green", "closed", "outside", "yes", "reasons", "scales", "op",
                            "value", "lt", "tenure_days", "group_weights", "undated", "age_metric"])
    return st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(keys, inner, max_size=5)), max_leaves=25)


def test_any_parsed_structure_gives_problems_never_an_exception():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from cs_desk.health.model import from_dict

    top = st.fixed_dictionaries({}, optional={
        "name": _fuzz_values(), "bands": _fuzz_values(), "groups": _fuzz_values(),
        "components": st.lists(_fuzz_values(), max_size=3), "profiles": st.lists(_fuzz_values(), max_size=2)})

    @settings(max_examples=200, deadline=None)
    @given(top)
    def check(data):
        model, problems = from_dict(data, known_metrics=KNOWN)
        assert model is not None or problems

    check()
