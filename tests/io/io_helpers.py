"""Helpers for tests/io: write real files (xlsx via openpyxl/xlsxwriter, csv via the csv module)."""
from __future__ import annotations

import csv
from pathlib import Path

import openpyxl


def write_xlsx(path: Path, sheets: dict[str, list[list]], keep_vba: bool = False) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(list(r))
    wb.save(path)
    return path


def write_csv(path: Path, rows: list[list], delimiter: str = ",", encoding: str = "utf-8") -> Path:
    with open(path, "w", newline="", encoding=encoding) as fh:
        csv.writer(fh, delimiter=delimiter).writerows(rows)
    return path


def codes(problems) -> list[str]:
    return [p.code.value for p in problems]


def find(problems, code: str):
    return [p for p in problems if p.code.value == code]
