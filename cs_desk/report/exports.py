"""Machine-readable exports of a report bundle: csv tables and one json document.

* csv: ``…-kpis.csv`` (tidy: period, group_by, group, kpi, value, unit), ``…-accounts.csv`` (the
  per-account snapshot with health score and band), ``…-actions.csv``.
* json: ``{title, range, as_of, headline, kpis, books, risks, expansion, actions, problems,
  skipped, notes}`` — every table as a list of records; NaN is ``null``, dates are ISO text.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..io.atomic import atomic_path
from ..io.writers import to_json, write_table
from .bundle import ReportBundle
from .workbook import account_columns


def _records(frame: pd.DataFrame) -> list[dict]:
    return json.loads(to_json(frame)) if len(frame.columns) else []


def bundle_document(bundle: ReportBundle) -> dict:
    """The bundle as plain json-able data (no per-account table: that is the csv's job)."""
    return {
        "title": bundle.title,
        "range": {"from": f"{bundle.start:%Y-%m}" if bundle.start is not None else None,
                  "to": f"{bundle.end:%Y-%m}" if bundle.end is not None else None},
        "as_of": f"{bundle.as_of:%Y-%m-%d}" if bundle.as_of is not None else None,
        "by": list(bundle.by),
        "headline": _records(bundle.headline),
        "kpis": _records(bundle.kpi_table),
        "books": _records(bundle.books),
        "risks": _records(bundle.risks),
        "expansion": _records(bundle.expansion),
        "actions": _records(bundle.actions),
        "problems": _records(bundle.problems_frame()),
        "skipped": [{"kpi": k, "reason": why} for k, why in bundle.skipped],
        "notes": list(bundle.notes),
    }


def write_exports(bundle: ReportBundle, fmt: str, paths: list[Path]) -> list[Path]:
    """Write the ``csv`` tables (kpis, accounts, actions — in that order) or the ``json`` document."""
    if fmt == "json":
        text = json.dumps(bundle_document(bundle), ensure_ascii=False, indent=1) + "\n"
        with atomic_path(paths[0]) as tmp:
            Path(tmp).write_text(text, encoding="utf-8")
        return [Path(paths[0])]
    if fmt == "csv":
        accounts = bundle.snapshot
        tables = [bundle.kpi_table, accounts[account_columns(accounts)] if len(accounts.columns) else accounts,
                  bundle.actions]
        for frame, path in zip(tables, paths):
            write_table(frame, "csv", path)
        return [Path(p) for p in paths]
    raise ValueError(f"unknown export format {fmt!r}")
