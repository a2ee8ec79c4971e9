"""Fixtures for the Excel add-in tests: a small demo workbook read the way Excel hands it over."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

DEMO_ACCOUNTS, DEMO_MONTHS, DEMO_SEED = 120, 15, 11


@pytest.fixture(scope="session")
def demo_book(tmp_path_factory) -> Path:
    """cs_desk.demo.generate -> write_demo_inputs: the demo workbook (usage stays in its csv)."""
    from cs_desk import demo

    folder = tmp_path_factory.mktemp("demo")
    frames = demo.generate(accounts=DEMO_ACCOUNTS, months=DEMO_MONTHS, seed=DEMO_SEED)
    paths = demo.write_demo_inputs(frames, folder)
    return next(p for p in paths if p.suffix == ".xlsx")


@pytest.fixture(scope="session")
def demo_sheets(demo_book) -> dict[str, list[list]]:
    """Every sheet of the demo workbook as 2-D lists, read with openpyxl (cached values)."""
    import openpyxl

    wb = openpyxl.load_workbook(demo_book, read_only=True, data_only=True)
    try:
        return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}
    finally:
        wb.close()


@pytest.fixture(scope="session")
def demo_plan(demo_sheets, demo_book):
    import datetime as dt

    from cs_desk.sheets import plan_refresh

    return plan_refresh(demo_sheets, book=demo_book.name, now=dt.datetime(2026, 11, 2, 9, 30))


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert_with_libreoffice(src: Path, fmt: str, outdir: Path, timeout: int = 120) -> Path:
    """LibreOffice headless with a private profile (no clash with a running instance)."""
    exe = soffice()
    if exe is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    profile = outdir / "lo-profile"
    cmd = [exe, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
           "--convert-to", fmt, "--outdir", str(outdir), str(src)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=timeout, env={**os.environ, "HOME": str(outdir)})
    ext = fmt.split(":")[0]
    outs = sorted(outdir.glob(f"{src.stem}*.{ext}"))  # one file per sheet with the csv "all sheets" option
    assert outs, f"LibreOffice wrote nothing for {src.name}"
    return outs[0]
