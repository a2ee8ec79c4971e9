from pathlib import Path

import cs_desk.kpis  # noqa: F401
from cs_desk.kpis.docs import render_markdown
from cs_desk.kpis.registry import REGISTRY

ROOT = Path(__file__).resolve().parents[2]


def test_kpi_reference_page_is_generated_from_the_registry():
    page = (ROOT / "docs" / "kpis.md").read_text(encoding="utf-8")
    assert page == render_markdown(), "docs/kpis.md is stale: python -m cs_desk.kpis.docs > docs/kpis.md"


def test_every_kpi_is_on_the_page():
    page = render_markdown()
    for kpi_id in REGISTRY:
        assert f"`{kpi_id}`" in page
