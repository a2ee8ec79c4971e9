"""``cs-desk excel refresh book.xlsx --out new.xlsx``: the add-in's refresh without Excel.

Reads every sheet of the workbook (cached values, as Excel would hand them to the add-in), plans
the refresh with :func:`cs_desk.sheets.plan_refresh` — the same plan the "Refresh cs-desk"
button applies — and writes a copy of the workbook with the ``CS KPIs``, ``CS Accounts``,
``CS Actions`` and ``CS Problems`` sheets added. The input file is never modified.

argparse only; ``cs_desk.cli`` wires it in with ``sheets_command.add_parser(subparsers)``.
Exit codes as every cs-desk command: 0 ok, 1 data problems were set aside, 2 nothing could be
computed or the command was misused.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_PROBLEMS, EXIT_FATAL = 0, 1, 2


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``excel`` (with its ``refresh`` subcommand) to the cs-desk command line."""
    excel = subparsers.add_parser("excel", help="the Excel add-in's refresh, on a workbook file (no Excel needed)",
                                  description="Excel workbooks: what the add-in's buttons do, as commands.")
    sub = excel.add_subparsers(dest="excel_command", metavar="SUBCOMMAND")
    p = sub.add_parser(
        "refresh", help="write the CS KPIs / CS Accounts / CS Actions / CS Problems sheets into a copy of a workbook",
        description="Read the data sheets of BOOK (recognised by sheet name or headers; a 'cs-desk settings' "
                    "sheet may hold a saved mapping and settings), compute, and write a copy of BOOK with the "
                    "cs-desk sheets added. BOOK itself is never changed.")
    p.add_argument("book", metavar="BOOK.xlsx", help="the workbook (.xlsx or .xlsm)")
    p.add_argument("--out", metavar="NEW.xlsx",
                   help="where to write the refreshed copy (default: BOOK-cs-desk.xlsx next to BOOK)")
    p.add_argument("--health-model", metavar="model.toml", help="health model (default: the settings sheet's, "
                                                                  "else cs-desk's default model)")
    p.add_argument("--playbooks", metavar="playbooks.toml", help="playbook rules for the action list")
    p.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="print nothing but errors")
    excel.set_defaults(func=run)
    p.set_defaults(func=run)
    return excel


def run(args) -> int:
    from .problems import Severity
    from .sheets import RefreshError, plan_refresh, read_workbook_values, render_plan_to_file

    if getattr(args, "excel_command", None) != "refresh":
        _err("cs-desk excel: give a subcommand: cs-desk excel refresh BOOK.xlsx --out NEW.xlsx")
        return EXIT_FATAL
    book = Path(args.book)
    out = Path(args.out) if args.out else book.with_name(f"{book.stem}-cs-desk.xlsx")
    if out.suffix.lower() not in (".xlsx",):
        _err(f"cs-desk excel refresh: --out must end in .xlsx (got {out.name})")
        return EXIT_FATAL
    try:
        if out.exists() and book.exists() and out.resolve() == book.resolve():
            raise RefreshError("--out must be a new file: cs-desk never changes the input workbook.")
        model = _load(args.health_model, "health")
        rules = _load(args.playbooks, "playbooks")
        sheets, read_problems = read_workbook_values(book)
        plan = plan_refresh(sheets, book=book.name, health_model=model, playbooks=rules)
        plan.problems[:0] = read_problems
        render_plan_to_file(plan, book, out)
    except RefreshError as exc:
        _err(f"cs-desk excel refresh: {exc}")
        return EXIT_FATAL
    quiet = getattr(args, "quiet", False)
    if not quiet:
        for line in plan.messages:
            _err(line)
        _err(f"wrote {out} (sheets: {', '.join(s.name for s in plan.sheets)})")
    if not plan.recognised:
        return EXIT_FATAL
    serious = [p for p in plan.problems if p.severity is not Severity.INFO]
    return EXIT_PROBLEMS if serious else EXIT_OK


def _load(path, what: str):
    """A health model or playbook file named on the command line (None when not given)."""
    from .sheets import RefreshError

    if not path:
        return None
    if what == "health":
        from .health import HealthModel

        model, problems = HealthModel.load(path)
    else:
        from .alerts import load_playbooks

        got = load_playbooks(path)
        model, problems = got if isinstance(got, tuple) else (got, [])
    if model is None:
        raise RefreshError(f"{path}: " + "; ".join(str(p) for p in problems[:5]))
    for p in problems:
        _err(str(p))
    return model


def _err(text: str) -> None:
    print(text, file=sys.stderr)


def main(argv=None) -> int:  # pragma: no cover - convenience until cli.py wires it in
    parser = argparse.ArgumentParser(prog="cs-desk")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return EXIT_FATAL
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
