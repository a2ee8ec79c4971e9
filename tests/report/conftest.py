"""Shared fixtures: a small demo portfolio (with hostile account names) and its report bundle."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from cs_desk import demo
from cs_desk.dataset import Dataset

#: account names that must stay text in every output (never a formula)
HOSTILE_NAMES = ['=HYPERLINK("http://evil.example","click")', "-5 Corp", "+1 Partners", "@SUM(A1) Ltd",
                 "Ampersand & <Angle> Co"]


def hostile_frames(accounts: int = 240, months: int = 24, seed: int = 7) -> dict[str, pd.DataFrame]:
    frames = demo.generate(accounts=accounts, months=months, seed=seed, usage=0.5)
    acc = frames["accounts"]
    for i, name in enumerate(HOSTILE_NAMES):
        acc.loc[acc.index[i], "account_name"] = name
    return frames


@pytest.fixture(scope="session")
def demo_frames() -> dict[str, pd.DataFrame]:
    return hostile_frames()


@pytest.fixture(scope="session")
def demo_dataset(demo_frames) -> Dataset:
    return Dataset(tables={k: v.copy() for k, v in demo_frames.items()})


@pytest.fixture(scope="session")
def bundle(demo_dataset):
    from cs_desk.report import build_bundle

    return build_bundle(demo_dataset)


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert_with_libreoffice(src: Path, fmt: str, outdir: Path, timeout: int = 150) -> Path:
    """Convert with LibreOffice headless in a private profile; returns the converted file."""
    profile = outdir / "lo-profile"
    cmd = [soffice(), f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
           "--convert-to", fmt, "--outdir", str(outdir), str(src)]
    env = {**os.environ, "HOME": str(outdir)}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    out = outdir / f"{src.stem}.{fmt.split(':')[0]}"
    assert out.exists(), f"LibreOffice did not convert {src.name}: {done.stdout}\n{done.stderr}"
    return out
