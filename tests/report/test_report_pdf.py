"""The portfolio PDF: pages, furniture on every page, a page per segment and CSM, real charts."""
from __future__ import annotations

import re
import shutil
import subprocess

import pypdf
import pytest

from cs_desk.report import write_pdf
from cs_desk.report.pdf import MAX_TABLE_ROWS


@pytest.fixture(scope="module")
def pdf(bundle, tmp_path_factory):
    path = tmp_path_factory.mktemp("pdf") / "report.pdf"
    seen = []
    assert write_pdf(bundle, path, progress=lambda f, t: seen.append(f)) == path
    assert seen[-1] == 1.0 and seen == sorted(seen)
    return path


@pytest.fixture(scope="module")
def pages(pdf):
    return [p.extract_text() for p in pypdf.PdfReader(pdf).pages]


def test_every_page_has_title_range_and_page_n_of_m(pages, bundle):
    n = len(pages)
    groups = sum(len(bundle.groups(f)) for f in bundle.by)
    assert n >= 1 + groups + 1
    for i, text in enumerate(pages, start=1):
        assert bundle.title in text, i
        assert bundle.date_range in text, i
        assert f"Page {i} of {n}" in text, i


def test_first_page_is_the_portfolio_at_a_glance(pages, bundle):
    first = pages[0]
    assert "Portfolio at a glance" in first
    for label in bundle.headline["label"]:
        assert label.upper() in first
    assert "VALUE AT RISK" in first and ("target <" in first or "target ≥" in first)
    assert re.search(r"[▲▼■] ", first)


def test_a_page_per_segment_and_csm_then_actions_and_problems(pages, bundle):
    text = "\n".join(pages)
    for seg in bundle.groups("segment"):
        assert f"Segment: {seg}" in text
    for csm in bundle.groups("csm"):
        assert f"CSM: {csm}" in text
    for heading in ("Top risks", "Expansion candidates", "RENEWALS DUE", "VALUE AT RISK", "Action list",
                    "Data problems"):
        assert heading in text
    starts = [i for i, t in enumerate(pages) if re.search(r"^(Segment|CSM): ", t, re.M)]
    assert len(starts) == sum(len(bundle.groups(f)) for f in bundle.by)
    if len(bundle.actions) > MAX_TABLE_ROWS:
        assert f"the first {MAX_TABLE_ROWS} are printed" in text


def test_long_tables_repeat_their_header(pages):
    action_pages = [t for t in pages if "Priority" in t and "Owner" in t]
    assert len(action_pages) >= 2  # the action list runs over pages, each with its header row


def test_charts_are_images(pdf):
    reader = pypdf.PdfReader(pdf)
    assert len(reader.pages[0].images) >= 2  # MRR movements and health mix
    assert len(reader.pages[1].images) >= 1  # the group panel


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler) is not installed")
def test_pages_render(pdf, tmp_path):
    subprocess.run(["pdftoppm", "-r", "30", "-png", "-f", "1", "-l", "2", str(pdf), str(tmp_path / "p")],
                   check=True, timeout=60)
    assert len(list(tmp_path.glob("p-*.png"))) == 2
