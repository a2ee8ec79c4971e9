"""``cs-desk report``: the KPI workbook, the portfolio PDF and csv/json exports, for scheduled runs.

    cs-desk report FILE... [--config report.toml] [--out DIR] [--formats xlsx,pdf,csv,json]
                   [--health-model model.toml] [--playbooks playbooks.toml] [--mapping mapping.toml]
                   [--from YYYY-MM] [--to YYYY-MM] [--by FIELD]... [--fail-on "logo_churn_rate>0.05"]...

Every key of the config file is also a flag (``health_model`` = ``--health-model``); a flag
given on the command line wins over the file, and paths in the file are relative to the file.
``--fail-on KPI OP VALUE`` checks the portfolio's value of the last month (``5%`` = 0.05) and
turns the exit code to 1 when it holds — so cron or CI can alert. A threshold that cannot be
checked (the KPI was not computed) also counts as breached.

A progress bar on a terminal, nothing in non-interactive runs but problems, and one summary line
at the end. Exit codes: 0 ok; 1 data problems were set aside or a threshold was breached;
2 nothing could be computed, or the command was misused (bad flag, config key or threshold).

argparse only; ``cs_desk.cli`` wires it in with ``report.command.add_parser(subparsers)``.
"""
from __future__ import annotations

import argparse
import math
import operator
import re
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

EXIT_OK, EXIT_PROBLEMS, EXIT_FATAL = 0, 1, 2
TABLES = ("accounts", "mrr", "subscriptions", "usage", "tickets", "surveys", "renewals")
DEFAULT_FORMATS = ("xlsx", "pdf")

#: config key -> (argparse dest, kind); every key is also the flag ``--key-with-dashes``
CONFIG_KEYS: dict[str, tuple[str, str]] = {
    "files": ("files", "paths"),
    "out": ("out", "path"),
    "formats": ("formats", "formats"),
    "title": ("title", "str"),
    "health_model": ("health_model", "path"),
    "playbooks": ("playbooks", "path"),
    "mapping": ("mapping", "path"),
    "from": ("start", "month"),
    "to": ("end", "month"),
    "by": ("by", "strs"),
    "fail_on": ("fail_on", "strs"),
    "end_inclusive": ("end_inclusive", "bool"),
    "currency": ("currency", "str"),
    "date_order": ("date_order", "str"),
    **{t: (f"table_{t}", "paths") for t in TABLES},
}


class UsageProblem(Exception):
    """A message for the user, and exit code 2."""


# ------------------------------------------------------------------------------------------------
# parser
def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``report`` to the cs-desk command line."""
    from ..cli import _add_inputs

    p = subparsers.add_parser(
        "report", help="write the KPI workbook, the portfolio PDF and csv/json exports (for scheduled runs)",
        description="Load FILES, compute every KPI, health score and action once, and write the reports into "
                    "--out. Every key of --config is also a flag; flags win over the file.",
        epilog="Exit codes: 0 ok, 1 data problems set aside or a --fail-on threshold breached, 2 nothing "
               "computed or misuse. Example: cs-desk report crm.xlsx billing.csv --out reports "
               "--fail-on 'logo_churn_rate>3%%' --fail-on 'nrr<1'")
    _add_inputs(p)
    p.add_argument("--config", metavar="report.toml", help="settings file (see workbook_templates/report.toml)")
    p.add_argument("--out", metavar="DIR", help="folder for the reports (default: ./cs-desk-report)")
    p.add_argument("--formats", metavar="LIST", help="comma-separated: xlsx,pdf,csv,json (default: xlsx,pdf)")
    p.add_argument("--title", help="report title (default: Customer success portfolio report)")
    p.add_argument("--health-model", metavar="model.toml", help="health model (default: the one cs-desk ships)")
    p.add_argument("--playbooks", metavar="playbooks.toml", help="playbook rules for the action list")
    p.add_argument("--from", dest="start", metavar="YYYY-MM", help="first month (default: first month of data)")
    p.add_argument("--to", dest="end", metavar="YYYY-MM", help="last month (default: last month of data)")
    p.add_argument("--by", action="append", default=[], metavar="FIELD",
                   help="break KPIs and books of business down by this accounts field (repeatable; "
                        "default: segment and csm)")
    p.add_argument("--fail-on", action="append", default=[], metavar="'KPI>VALUE'",
                   help="exit 1 when the portfolio's last-month KPI meets the condition (repeatable); "
                        "operators > >= < <= == !=, values like 0.05 or 5%%")
    p.add_argument("--progress", choices=("auto", "always", "never"), default="auto",
                   help="progress bar on stderr (default: only on a terminal)")
    # also after the subcommand; SUPPRESS keeps `cs-desk -q report` working
    p.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                   help="print no problem list, no progress bar (the summary line stays)")
    p.set_defaults(func=run)
    return p


# ------------------------------------------------------------------------------------------------
# config file
def apply_config(args, path: str | Path) -> None:
    """Fill every setting not given as a flag from the TOML file ``path`` (UsageProblem on errors)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageProblem(f"--config {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageProblem(f"--config {path}: cannot read it ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageProblem(f"--config {path}: not valid TOML ({exc})") from None
    data = data.get("report", data) if isinstance(data.get("report"), dict) else data
    unknown = sorted(set(data) - set(CONFIG_KEYS))
    if unknown:
        raise UsageProblem(f"--config {path}: unknown key(s) {', '.join(unknown)}; known: {', '.join(CONFIG_KEYS)}")
    base = path.parent
    for key, value in data.items():
        dest, kind = CONFIG_KEYS[key]
        current = getattr(args, dest, None)
        if current not in (None, [], False, ""):
            continue  # the flag wins
        setattr(args, dest, _config_value(path, key, kind, value, base))


def _config_value(path: Path, key: str, kind: str, value: Any, base: Path):
    def bad(expected: str):
        raise UsageProblem(f"--config {path}: {key} must be {expected}, not {value!r}")

    if kind in ("path", "str", "month"):
        if not isinstance(value, str):
            bad("text")
        return _resolve(value, base) if kind == "path" else value
    if kind in ("paths", "strs"):
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            bad("a list of text")
        return [_resolve(v, base) for v in values] if kind == "paths" else list(values)
    if kind == "formats":
        values = value.split(",") if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            bad('a list like ["xlsx", "pdf"]')
        return ",".join(values)
    if kind == "bool":
        if not isinstance(value, bool):
            bad("true or false")
        return value
    raise AssertionError(kind)  # pragma: no cover


def _resolve(value: str, base: Path) -> str:
    if "#" in value and not Path(value).exists():  # file.xlsx#Sheet
        file, sheet = value.split("#", 1)
        return f"{_resolve(file, base)}#{sheet}"
    p = Path(value).expanduser()
    return str(p if p.is_absolute() else base / p)


# ------------------------------------------------------------------------------------------------
# thresholds
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne, ">": operator.gt, "<": operator.lt,
}
_THRESHOLD = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]+\])?)\s*(>=|<=|==|!=|>|<)\s*([-+]?[0-9.]+(?:e[-+]?\d+)?)\s*(%?)\s*$")


@dataclass(frozen=True)
class Threshold:
    kpi: str
    op: str
    value: float
    text: str

    def breached(self, actual: float) -> bool:
        return _OPS[self.op](actual, self.value)


def parse_threshold(text: str) -> Threshold:
    """``"logo_churn_rate>0.05"`` / ``"nrr < 100%"`` -> Threshold (UsageProblem when malformed or unknown)."""
    from ..kpis import REGISTRY
    from ..kpis.registry import base_id

    m = _THRESHOLD.match(text)
    if not m:
        raise UsageProblem(f"--fail-on {text!r}: write it as KPI OP VALUE, e.g. 'logo_churn_rate>0.05' "
                           "or 'nrr<100%' (operators > >= < <= == !=)")
    kpi, op, number, pct = m.groups()
    if base_id(kpi) not in REGISTRY:
        raise UsageProblem(f"--fail-on {text!r}: unknown KPI {kpi!r}; `cs-desk kpis` lists them")
    try:
        value = float(number) / (100 if pct else 1)
    except ValueError:
        raise UsageProblem(f"--fail-on {text!r}: {number!r} is not a number") from None
    return Threshold(kpi, op, value, text.strip())


def check_thresholds(bundle, thresholds: list[Threshold]) -> list[str]:
    """One line per breached (or uncheckable) threshold, about the last month's portfolio value."""
    from .formats import fmt_value
    from .bundle import kpi_unit

    lines = []
    period = bundle.periods[-1] if bundle.periods else None
    for t in thresholds:
        actual = bundle.kpis.value(t.kpi, period) if period else math.nan
        if math.isnan(actual):
            lines.append(f"{t.text}: cannot check, {t.kpi} was not computed for {period or 'any month'}")
        elif t.breached(actual):
            lines.append(f"{t.text}: breached, {t.kpi} is {fmt_value(actual, kpi_unit(t.kpi))} in {period}")
    return lines


# ------------------------------------------------------------------------------------------------
# progress
class _Bar:
    """A one-line progress bar on stderr, redrawn in place (only on a terminal)."""

    def __init__(self, enabled: bool, stream=None):
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self._last = -1.0

    def __call__(self, fraction: float, text: str) -> None:
        if not self.enabled or (fraction - self._last < 0.005 and fraction < 1):
            return
        self._last = fraction
        width = 28
        done = int(round(width * fraction))
        line = f"\r[{'#' * done}{'.' * (width - done)}] {fraction:4.0%} {text[:48]:<48}"
        self.stream.write(line)
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self._last >= 0:
            self.stream.write("\r" + " " * 86 + "\r")
            self.stream.flush()


# ------------------------------------------------------------------------------------------------
def run(args) -> int:
    """Run ``cs-desk report`` for parsed ``args``; returns the exit code."""
    try:
        return _run(args)
    except UsageProblem as exc:
        _err(f"cs-desk report: {exc}")
        return EXIT_FATAL


def _run(args) -> int:
    from ..cli import CliError, _report_problems, load_inputs
    from ..kpis import UsageError
    from ..problems import Severity
    from . import FORMATS, build_bundle, write_reports
    from .bundle import resolve_health_model, resolve_playbooks

    t0 = time.perf_counter()
    if getattr(args, "config", None):
        apply_config(args, args.config)
    formats = _formats(getattr(args, "formats", None), FORMATS)
    thresholds = [parse_threshold(t) for t in (getattr(args, "fail_on", None) or [])]
    start, end = _month_arg(getattr(args, "start", None), "--from"), _month_arg(getattr(args, "end", None), "--to")
    out = Path(getattr(args, "out", None) or "cs-desk-report")
    quiet = bool(getattr(args, "quiet", False))
    mode = getattr(args, "progress", "auto")
    bar = _Bar(mode == "always" or (mode == "auto" and not quiet and sys.stderr.isatty()))
    try:
        bar(0.0, "Loading the inputs")
        try:
            dataset = load_inputs(args)
        except CliError as exc:
            raise UsageProblem(str(exc)) from None
        if not dataset.tables:
            _report_problems(dataset.problems)
            raise UsageProblem("none of the inputs held a table cs-desk recognises (see `cs-desk map FILE`)")
        by = list(getattr(args, "by", None) or []) or None
        _check_by(dataset, by)
        model, model_problems = _load_setting(resolve_health_model, getattr(args, "health_model", None), "--health-model")
        rules, rule_problems = _load_setting(resolve_playbooks, getattr(args, "playbooks", None), "--playbooks")
        options = {"health_model": model, "playbooks": rules, "start": start, "end": end,
                   "title": getattr(args, "title", None)}
        if by is not None:
            options["by"] = by
        bar(0.1, "Computing")
        try:
            bundle = build_bundle(dataset, progress=lambda f, t: bar(0.1 + 0.5 * f, t), **options)
        except UsageError as exc:
            raise UsageProblem(str(exc)) from None
        bundle.problems[:0] = model_problems + rule_problems
        if bundle.kpis.table.empty:
            _report_problems(bundle.problems, quiet=quiet)
            raise UsageProblem("no KPI could be computed from these inputs")
        written = write_reports(dataset, out, formats=formats, bundle=bundle,
                                progress=lambda f, t: bar(0.6 + 0.4 * f, t))
    finally:
        bar.close()
    serious = [p for p in bundle.problems if p.severity is not Severity.INFO]
    _report_problems(serious, quiet=quiet)
    breaches = check_thresholds(bundle, thresholds)
    for line in breaches:
        _err(f"cs-desk report: threshold {line}")
    print(summary_line(bundle, written, out, breaches, thresholds, serious, time.perf_counter() - t0))
    return EXIT_PROBLEMS if (breaches or serious) else EXIT_OK


def _load_setting(resolve, path, flag: str):
    """A model / playbook file named on the command line: (loaded, warnings); exit 2 on errors.
    Not named: (None, []) and the bundle loads the default."""
    if not path:
        return None, []
    loaded, problems = resolve(path)
    if loaded is None:
        from ..cli import _report_problems

        _report_problems(problems)
        raise UsageProblem(f"{flag} {path}: " + ("; ".join(p.message for p in problems[:3]) or "cannot be read"))
    return loaded, problems


def _formats(text: str | None, known: tuple[str, ...]) -> tuple[str, ...]:
    if not text:
        return DEFAULT_FORMATS
    chosen = [f.strip().lower() for f in str(text).split(",") if f.strip()]
    unknown = [f for f in chosen if f not in known]
    if unknown or not chosen:
        raise UsageProblem(f"--formats {text!r}: use a comma-separated list of {', '.join(known)}")
    return tuple(dict.fromkeys(chosen))


def _month_arg(text: str | None, flag: str):
    from ..periods import parse_month

    if not text:
        return None
    try:
        return parse_month(text)
    except ValueError as exc:
        raise UsageProblem(f"{flag}: {exc}") from None


def _check_by(dataset, by: list[str] | None) -> None:
    """A --by field the user named must exist (the default fields may be missing quietly)."""
    if not by:
        return
    accounts = dataset.table("accounts")
    if not dataset.has("accounts"):
        raise UsageProblem(f"--by {by[0]} needs an accounts table, and none was loaded")
    missing = [f for f in by if f not in accounts.columns]
    if missing:
        fields = ", ".join(c for c in accounts.columns if not str(c).startswith("_") and c != "account_id")
        raise UsageProblem(f"--by {missing[0]!r}: the accounts table has no such field (it has: {fields})")


def summary_line(bundle, written, out: Path, breaches, thresholds, serious, seconds: float) -> str:
    """``cs-desk report: 2026-10 · MRR 825.5k · NRR 102.1% · ... · 2 files in out/ (3.1 s)``."""
    from .formats import fmt_money_short, fmt_value

    parts = [bundle.periods[-1] if bundle.periods else "no data"]
    for kpi, label in (("mrr", "MRR"), ("nrr", "NRR"), ("grr", "GRR"), ("logo_churn_rate", "logo churn"), ("nps", "NPS")):
        value = bundle.kpis.value(kpi)
        if not math.isnan(value):
            shown = fmt_money_short(value) if kpi == "mrr" else fmt_value(value, "fraction" if kpi != "nps" else "score")
            parts.append(f"{label} {shown}")
    books = bundle.books[bundle.books["group_by"] == "all"]
    if len(books) and books["red"].iloc[0]:
        parts.append(f"{int(books['red'].iloc[0]):,} red accounts")
    parts.append(f"{len(bundle.actions):,} actions")
    if serious:
        parts.append(f"{len(serious):,} data problems")
    if thresholds:
        parts.append(f"{len(breaches)} of {len(thresholds)} thresholds breached" if breaches else "thresholds ok")
    kinds = ", ".join(sorted({Path(p).suffix.lstrip(".") for p in written}))
    parts.append(f"{len(written)} file(s) in {out}/ ({kinds}) in {seconds:.1f}s")
    return "cs-desk report: " + " · ".join(parts)


def _err(text: str) -> None:
    print(text, file=sys.stderr)


def main(argv=None) -> int:  # pragma: no cover - until cli.py wires the subcommand in
    parser = argparse.ArgumentParser(prog="cs-desk")
    parser.add_argument("-q", "--quiet", action="store_true")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
