"""Reports: the KPI workbook (.xlsx), the portfolio report (.pdf), csv/json exports.

``build_bundle(dataset, ...)`` computes everything once (:mod:`.bundle`); ``write_workbook``,
``write_pdf`` and ``write_exports`` render a bundle; ``write_reports`` does both steps for the
demo, the GUI and ``cs-desk report``. Every file is written to a temporary name next to the
target and moved into place. ``matplotlib`` and ``reportlab`` (the ``report`` extra) are only
imported when a PDF is written.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from .bundle import Cancelled, ReportBundle, build_bundle
from .exports import write_exports
from .workbook import write_workbook

__all__ = ["Cancelled", "ReportBundle", "build_bundle", "write_workbook", "write_pdf", "write_exports",
           "write_reports", "FORMATS", "BASENAME", "output_paths"]

FORMATS = ("xlsx", "pdf", "csv", "json")
BASENAME = "cs-desk-report"


def write_pdf(bundle: ReportBundle, path, progress=None, cancelled=None) -> Path:
    """Write the portfolio report of ``bundle`` as a PDF (see :mod:`.pdf`); returns the path."""
    from .pdf import write_pdf as _write_pdf  # matplotlib + reportlab: the `report` extra

    return _write_pdf(bundle, path, progress=progress, cancelled=cancelled)


def output_paths(folder, formats: Iterable[str], basename: str = BASENAME) -> dict[str, list[Path]]:
    """The files each format writes into ``folder``."""
    folder = Path(folder)
    out: dict[str, list[Path]] = {}
    for fmt in formats:
        if fmt in ("xlsx", "pdf", "json"):
            out[fmt] = [folder / f"{basename}.{fmt}"]
        elif fmt == "csv":
            out[fmt] = [folder / f"{basename}-{part}.csv" for part in ("kpis", "accounts", "actions")]
        else:
            raise ValueError(f"unknown report format {fmt!r}; use {', '.join(FORMATS)}")
    return out


def write_reports(dataset, out, formats: Iterable[str] = ("xlsx", "pdf"), bundle: ReportBundle | None = None,
                  progress=None, cancelled=None, basename: str = BASENAME, **bundle_options) -> list[Path]:
    """Build the bundle (unless given) and write each format into the folder ``out``.

    Returns the paths written: ``cs-desk-report.xlsx``, ``cs-desk-report.pdf``,
    ``cs-desk-report-{kpis,accounts,actions}.csv``, ``cs-desk-report.json``. ``bundle_options``
    go to :func:`build_bundle` (health_model, playbooks, start, end, by, title ...)."""
    formats = tuple(dict.fromkeys(formats))
    paths = output_paths(out, formats, basename)
    Path(out).mkdir(parents=True, exist_ok=True)
    say = progress or (lambda f, t: None)
    share = 0.4 if bundle is None else 0.0
    if bundle is None:
        bundle = build_bundle(dataset, progress=lambda f, t: say(share * f, t), cancelled=cancelled, **bundle_options)
    written: list[Path] = []
    for i, fmt in enumerate(formats):
        lo = share + (1 - share) * i / len(formats)
        hi = share + (1 - share) * (i + 1) / len(formats)

        def part(f, t, lo=lo, hi=hi):
            say(lo + (hi - lo) * f, t)

        if cancelled is not None and cancelled():
            raise Cancelled("cancelled")
        if fmt == "xlsx":
            written.append(write_workbook(bundle, paths[fmt][0], progress=part, cancelled=cancelled))
        elif fmt == "pdf":
            written.append(write_pdf(bundle, paths[fmt][0], progress=part, cancelled=cancelled))
        else:
            written += write_exports(bundle, fmt, paths[fmt])
    say(1.0, "Reports written")
    return written
