"""The example models and playbooks ship twice: in workbook_templates/ for people, and as package
data (cs_desk/data) for an installed cs-desk. They must be the same files."""
from pathlib import Path

import pytest

from cs_desk.alerts import default_playbooks
from cs_desk.health import TEMPLATES, default_model

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ["health_default.toml", "health_adoption_first.toml", "playbooks.toml"]


@pytest.mark.parametrize("name", SHIPPED)
def test_package_data_equals_workbook_templates(name):
    assert (TEMPLATES / name).read_bytes() == (ROOT / "workbook_templates" / name).read_bytes()


def test_shipped_models_and_playbooks_load_cleanly():
    for name in SHIPPED[:2]:
        model, problems = default_model(name)
        assert model is not None and not [p for p in problems if p.severity.value == "error"]
    playbooks, problems = default_playbooks()
    assert playbooks is not None and playbooks.rules
