"""The KPI reference page (docs/kpis.md), rendered from the registry — never written by hand.

Regenerate with ``python -m cs_desk.kpis.docs > docs/kpis.md``; a test fails when it is stale.
"""
from __future__ import annotations

from .registry import FAMILIES, REGISTRY

UNIT_TEXT = {"fraction": "%", "currency": "money", "count": "count", "score": "score", "ratio": "ratio",
             "months": "months", "days": "days", "hours": "hours", "number": "number"}


def _target(k) -> str:
    if k.target is None:
        return ""
    shown = f"{k.target:.0%}" if k.unit == "fraction" else f"{k.target:g}"
    return ("≥ " if k.direction == "higher" else "< ") + shown


def render_markdown() -> str:
    lines = [
        "# KPI reference",
        "",
        "Generated from the KPI registry (`python -m cs_desk.kpis.docs > docs/kpis.md`); every face",
        "(CLI, workbook, GUI, add-in) reads the same registry. Rates are fractions in data (0.05) and",
        "percentages on sheets. A KPI whose tables are missing is skipped with the reason.",
        "",
    ]
    for fam in FAMILIES.values():
        members = [k for k in REGISTRY.values() if k.family == fam.name]
        if not members:
            continue
        lines += [f"## {fam.label}", "", "| id | label | unit | better | default target | needs | formula |",
                  "|---|---|---|---|---|---|---|"]
        for k in members:
            formula = k.formula.replace("|", "\\|")
            label = k.label if k.default else f"{k.label} (on request: `--kpi {k.id}`)"
            lines.append(f"| `{k.id}` | {label} | {UNIT_TEXT.get(k.unit, k.unit)} | {k.direction or ''} | "
                         f"{_target(k)} | {', '.join(k.needs)} | {formula} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    import cs_desk.kpis  # noqa: F401  (registers every family)

    print(render_markdown(), end="")
