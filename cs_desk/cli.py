"""The ``cs-desk`` command line: a thin face over the engine (argparse only).

Exit codes (every subcommand):

* 0 — done, no data problems;
* 1 — done, but data problems were set aside (listed on stderr and in the output), or a
  ``--fail-on`` threshold was breached;
* 2 — nothing sensible could be computed, or the command was misused.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

import pandas as pd

EXIT_OK, EXIT_PROBLEMS, EXIT_FATAL = 0, 1, 2
FORMATS = ("table", "csv", "json", "xlsx")
TABLE_FLAGS = ("accounts", "mrr", "subscriptions", "usage", "tickets", "surveys", "renewals")


class CliError(Exception):
    """A message for the user, and exit code 2."""


# -- shared helpers --------------------------------------------------------------------------------
def _err(*parts) -> None:
    print(*parts, file=sys.stderr)


def _add_inputs(p: argparse.ArgumentParser, positional: bool = True) -> None:
    if positional:
        p.add_argument("files", nargs="*", metavar="FILE",
                       help="xlsx / xlsm / csv files; tables are recognised by sheet name or headers")
    g = p.add_argument_group("tables given explicitly (F may be file.xlsx#Sheet)")
    for name in TABLE_FLAGS:
        g.add_argument(f"--{name}", metavar="F", dest=f"table_{name}", help=f"the {name} table")
    p.add_argument("--mapping", metavar="mapping.toml", help="column mapping saved by `cs-desk map --save`")
    p.add_argument("--end-inclusive", action="store_true",
                   help="subscription end dates are the last day covered (default: first day not covered)")
    p.add_argument("--currency", help="keep only rows in this currency when a table mixes currencies")
    p.add_argument("--date-order", choices=("dmy", "mdy"), help="how to read ambiguous dates like 03/04/2024")


def _add_range(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="start", metavar="YYYY-MM", help="first month (default: first month of data)")
    p.add_argument("--to", dest="end", metavar="YYYY-MM", help="last month (default: last month of data)")
    p.add_argument("--by", metavar="FIELD", help="also group by this accounts field (segment, csm, plan, region ...)")
    p.add_argument("--period", choices=("month", "quarter", "year"), default="month",
                   help="period length (a quarter compares its first and last snapshot)")


def _add_output(p: argparse.ArgumentParser, formats=FORMATS, default="table") -> None:
    p.add_argument("--format", choices=formats, default=None,
                   help=f"output format (default: {default}, or from the --out extension)")
    p.add_argument("--out", metavar="PATH", help="write to this file instead of the terminal")


def _options(args) -> dict:
    opts = {}
    if getattr(args, "end_inclusive", False):
        opts["end_date_inclusive"] = True
    if getattr(args, "currency", None):
        opts["currency"] = args.currency
    if getattr(args, "date_order", None):
        opts["date_order"] = args.date_order
    return opts


def load_inputs(args):
    """Load the dataset named by the input arguments; CliError when nothing can be read."""
    from . import io

    explicit = {name: getattr(args, f"table_{name}") for name in TABLE_FLAGS if getattr(args, f"table_{name}", None)}
    files = list(getattr(args, "files", []) or [])
    if not files and not explicit:
        raise CliError("no input files: give FILE ... or --accounts/--mrr/--subscriptions ... "
                       "(try `cs-desk demo` for an example portfolio)")
    mapping = None
    if getattr(args, "mapping", None):
        mapping, problems = io.MappingFile.load(args.mapping)
        if mapping is None:
            raise CliError("\n".join(str(p) for p in problems) or f"cannot read mapping {args.mapping}")
        for p in problems:
            _err(str(p))
    return io.load(files, explicit=explicit or None, mapping=mapping, options=_options(args))


def _parse_month(text):
    from .periods import parse_month

    if text is None:
        return None
    try:
        return parse_month(text)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _out_format(args, default="table") -> str:
    if args.format:
        return args.format
    if args.out:
        suffix = Path(args.out).suffix.lower().lstrip(".")
        if suffix in FORMATS:
            return suffix
    return default


def _emit(frame: pd.DataFrame, args, sheets: dict | None = None, default="table") -> None:
    from .io.writers import write_table

    fmt = _out_format(args, default)
    if fmt == "xlsx" and not args.out:
        raise CliError("--format xlsx needs --out FILE.xlsx")
    text = write_table(frame, fmt, args.out, extra_sheets=sheets)
    if text is not None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    elif args.out:
        _err(f"wrote {args.out}")


def _report_problems(problems, quiet=False) -> int:
    """Print problems to stderr; return the exit code they imply (INFO does not count)."""
    from .problems import Severity

    serious = [p for p in problems if p.severity is not Severity.INFO]
    if serious and not quiet:
        _err(f"{len(serious)} data problem(s) (rows set aside are not in the results):")
        for p in serious[:50]:
            _err("  " + str(p))
        if len(serious) > 50:
            _err(f"  ... and {len(serious) - 50} more: `cs-desk validate` lists them all")
    return EXIT_PROBLEMS if serious else EXIT_OK


def _rows_set_aside_line(dataset) -> str | None:
    lost = {t: n for t, n in dataset.rows_set_aside().items() if n}
    if not lost:
        return None
    return "rows set aside: " + ", ".join(f"{t} {n}" for t, n in sorted(lost.items()))


# -- commands --------------------------------------------------------------------------------------
def cmd_compute(args) -> int:
    from .kpis import compute
    from .problems import problems_frame

    dataset = load_inputs(args)
    if not dataset.tables:
        _report_problems(dataset.problems)
        raise CliError("none of the inputs held a table cs-desk recognises (see `cs-desk map FILE`)")
    result = compute(dataset, _parse_month(args.start), _parse_month(args.end), by=args.by,
                     granularity=args.period, kpis=args.kpi or None)
    if result.table.empty:
        _report_problems(result.problems)
        for kpi_id, why in result.skipped[:5]:
            _err(f"  {kpi_id}: {why}")
        raise CliError("no KPI could be computed from these inputs")
    sheets = {"Problems": problems_frame(result.problems),
              "Skipped": pd.DataFrame(result.skipped, columns=["kpi", "reason"])}
    _emit(result.table, args, sheets)
    code = _report_problems(result.problems)
    line = _rows_set_aside_line(dataset)
    if line:
        _err(line)
    if result.skipped and not args.quiet:
        _err(f"{len(result.skipped)} KPI(s) skipped: " + "; ".join(f"{k} ({why})" for k, why in result.skipped[:6])
             + (" ..." if len(result.skipped) > 6 else ""))
    return code


def cmd_movements(args) -> int:
    from .kpis import movements

    dataset = load_inputs(args)
    frame = movements(dataset, _parse_month(args.start), _parse_month(args.end), by=args.by,
                      granularity=args.period)
    if args.only:
        frame = frame[frame["movement"].isin(args.only)]
    if not args.include_flat:
        frame = frame[frame["movement"] != "flat"]
    _emit(frame.reset_index(drop=True), args)
    return _report_problems(dataset.problems)


def cmd_validate(args) -> int:
    from .problems import Severity, problems_frame

    dataset = load_inputs(args)
    frame = problems_frame(dataset.problems)[["file", "sheet", "row", "column", "code", "severity", "message"]]
    _emit(frame, args)
    if any(p.severity is Severity.ERROR for p in dataset.problems) and not dataset.tables:
        return EXIT_FATAL
    return EXIT_PROBLEMS if any(p.severity is not Severity.INFO for p in dataset.problems) else EXIT_OK


def cmd_map(args) -> int:
    from . import io

    mapping = None
    if args.mapping:
        mapping, problems = io.MappingFile.load(args.mapping)
        for p in problems:
            _err(str(p))
    found = io.inspect([args.file], mapping=mapping)
    for p in found.problems:
        _err(str(p))
    for sheet, rec in found:
        recognised = bool(rec and rec.table)
        head = f"\n{sheet.file} — sheet {sheet.sheet!r} (header in row {sheet.header_row}, {sheet.rows} rows): "
        if not recognised:
            print(head + "not recognised; columns: " + ", ".join(map(str, sheet.columns)))
            continue
        print(head + f"{rec.table} ({rec.layout}), confidence {rec.confidence:.0%}"
              + (f", preset {rec.preset}" if getattr(rec, "preset", None) else ""))
        for canonical, source in rec.mapping.items():
            conf = rec.field_confidence.get(canonical, rec.confidence)
            print(f"  {canonical:<22} <- {str(source):<34} {conf:>5.0%}")
        if rec.wide_month_columns:
            print(f"  (+ {len(rec.wide_month_columns)} month columns melted into rows)")
        if getattr(rec, "missing", None):
            print("  MISSING required: " + ", ".join(rec.missing))
        if rec.unmapped:
            print("  unmapped: " + ", ".join(map(str, rec.unmapped)))
    if args.save:
        saved = mapping or io.MappingFile()
        for sheet, rec in found:
            if rec and rec.table:
                saved.add(sheet.file, sheet.sheet, rec)
        saved.save(args.save)
        _err(f"wrote {args.save}: correct it and pass it back with --mapping {args.save}")
    return EXIT_OK if any(rec and rec.table for _, rec in found) else EXIT_FATAL


def cmd_cohorts(args) -> int:
    from .kpis.cohorts import cohort_triangles, contractual_clv, fit_sbg, project_cohorts
    from .snapshots import mrr_grid

    dataset = load_inputs(args)
    grid, problems = mrr_grid(dataset)
    if grid is None:
        raise CliError("cohorts need an MRR table or subscriptions, and neither was loaded")
    tables = cohort_triangles(grid, _parse_month(args.start), _parse_month(args.end))
    if args.project:
        frame = project_cohorts(tables.survivors, horizon=args.horizon)
        fit = fit_sbg(tables.survivors)
        last_mrr = grid.mrr[:, -1]
        active = last_mrr > 0
        arpa = float(last_mrr[active].mean()) if active.any() else float("nan")
        clv = contractual_clv(arpa, fit, discount_rate_monthly=args.discount, horizon=args.horizon_clv)
        _err(f"pooled shifted-beta-geometric fit: alpha {fit.alpha:.3f}, beta {fit.beta:.3f}; "
             f"contractual CLV at ARPA {arpa:,.2f} = {clv:,.2f}")
    else:
        frame = (tables.revenue if args.kind == "revenue" else tables.logo).copy()
        frame.insert(0, "accounts", tables.sizes.reindex(frame.index))
        frame.columns = [str(c) for c in frame.columns]
    frame = frame.reset_index()
    frame.columns = [str(c) for c in frame.columns]
    _emit(frame, args)
    if tables.censored:
        _err(f"{tables.censored} account(s) were already paying at the first snapshot: their cohort is unknown "
             "and they are not in the triangle")
    return _report_problems(list(dataset.problems) + problems)


def cmd_kpis(args) -> int:
    from .kpis import registry_frame

    _emit(registry_frame(), args)
    return EXIT_OK


def cmd_demo(args) -> int:
    from .demo_run import run_demo

    return run_demo(Path(args.out), accounts=args.accounts, seed=args.seed, months=args.months,
                    report=not args.no_report, echo=print)


# -- parser ----------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="cs-desk",
        description="Customer-success KPIs (churn, NRR/GRR, NPS, adoption, health) from your own files.",
        epilog="Exit codes: 0 ok, 1 data problems set aside or threshold breached, 2 nothing computed / misuse.")
    parser.add_argument("--version", action="version", version=f"cs-desk {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="print no problem list on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("demo", help="write the demo portfolio, its KPIs and reports into a folder")
    p.add_argument("--out", default="cs-desk-demo", help="folder (default ./cs-desk-demo)")
    p.add_argument("--accounts", type=int, default=600, help="number of accounts (default 600)")
    p.add_argument("--months", type=int, default=36, help="months of history (default 36)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--no-report", action="store_true", help="skip the xlsx/pdf report")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("compute", help="compute KPIs into a tidy table (period, group, kpi, value, unit)")
    _add_inputs(p)
    _add_range(p)
    p.add_argument("--kpi", action="append", metavar="ID", help="only these KPIs (repeatable); see `cs-desk kpis`")
    _add_output(p)
    p.set_defaults(func=cmd_compute)

    p = sub.add_parser("movements", help="per period, every account's start/end MRR and movement type")
    _add_inputs(p)
    _add_range(p)
    p.add_argument("--only", action="append", choices=("new", "reactivation", "expansion", "contraction", "churned"),
                   help="only these movements (repeatable)")
    p.add_argument("--include-flat", action="store_true", help="also list accounts whose MRR did not change")
    _add_output(p)
    p.set_defaults(func=cmd_movements)

    p = sub.add_parser("cohorts", help="logo / revenue retention by first-paid month, and sBG projections")
    _add_inputs(p)
    p.add_argument("--from", dest="start", metavar="YYYY-MM", help="first cohort month")
    p.add_argument("--to", dest="end", metavar="YYYY-MM", help="last observed month")
    p.add_argument("--kind", choices=("logo", "revenue"), default="logo", help="which retention triangle")
    p.add_argument("--project", action="store_true",
                   help="project each cohort's survival with the shifted-beta-geometric model")
    p.add_argument("--horizon", type=int, default=24, help="months to project (default 24)")
    p.add_argument("--horizon-clv", type=int, default=60, help="months counted in the contractual CLV (default 60)")
    p.add_argument("--discount", type=float, default=0.0, help="monthly discount rate for the contractual CLV")
    _add_output(p)
    p.set_defaults(func=cmd_cohorts)

    p = sub.add_parser("map", help="show how each sheet and column of FILE is recognised")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--mapping", metavar="mapping.toml", help="start from a saved mapping")
    p.add_argument("--save", metavar="mapping.toml", help="write the mapping so you can correct it")
    p.set_defaults(func=cmd_map)

    p = sub.add_parser("validate", help="list every data problem (file, sheet, row, column, code, severity, message)")
    _add_inputs(p)
    _add_output(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("kpis", help="list every KPI with its formula, unit and target")
    _add_output(p)
    p.set_defaults(func=cmd_kpis)

    from . import sheets_command
    from .health import command as health_command
    from .report import command as report_command

    report_command.add_parser(sub)  # cs-desk report FILES... --out DIR --formats xlsx,pdf --fail-on ...

    health_command.add_parser(sub, _add_inputs, _add_output)  # cs-desk health score|backtest|compare ...
    sheets_command.add_parser(sub)  # cs-desk excel refresh BOOK.xlsx --out NEW.xlsx

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_FATAL
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        _err(f"cs-desk {args.command}: {exc}")
        return EXIT_FATAL
    except (ValueError, KeyError) as exc:
        from .kpis import UsageError

        if isinstance(exc, UsageError):
            _err(f"cs-desk {args.command}: {exc}")
            return EXIT_FATAL
        raise
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
