"""``cs-desk health score|backtest|compare|check|suggest``: the health engine on the command line.

argparse only; ``cs_desk.cli`` wires it in with ``add_parser(subparsers, add_inputs, add_output)``.
Exit codes as every cs-desk command: 0 ok, 1 data problems were set aside, 2 nothing could be
computed (e.g. the model file has errors) or the command was misused.
"""
from __future__ import annotations

import json
import sys

import pandas as pd

EXIT_OK, EXIT_PROBLEMS, EXIT_FATAL = 0, 1, 2
SCORE_COLUMNS = ["account_id", "account_name", "csm", "segment", "mrr", "score", "band", "profile", "weakest",
                 "lift_to_next_band"]


def _cli():
    from .. import cli  # the command line's own helpers (loading, output, CliError)

    return cli


def add_parser(sub, add_inputs, add_output) -> None:
    health = sub.add_parser("health", help="score accounts with a health model, backtest it, compare two models",
                            description="Health scores from a TOML model (see workbook_templates/health_default.toml).")
    hs = health.add_subparsers(dest="health_command", metavar="SUBCOMMAND")

    def model_arg(p, name="model", help_text="health model TOML"):
        p.add_argument(name, metavar=f"{name.upper()}.toml", help=help_text)

    p = hs.add_parser("score", help="score every account as of a date")
    model_arg(p)
    add_inputs(p)
    p.add_argument("--as-of", metavar="YYYY-MM-DD", help="date of the snapshot (default: end of the last data month)")
    p.add_argument("--all-accounts", action="store_true", help="also list accounts that no longer pay")
    p.add_argument("--components", action="store_true", help="add each component's points")
    add_output(p, formats=("table", "csv", "json", "xlsx"))
    p.set_defaults(func=run_score)

    p = hs.add_parser("backtest", help="score each past month end and check who churned afterwards")
    model_arg(p)
    add_inputs(p)
    p.add_argument("--months", type=int, default=24, help="month ends to score (default 24)")
    p.add_argument("--horizon", type=int, default=90, choices=(30, 60, 90), help="days after each month end (default 90)")
    p.add_argument("--target", choices=("churned", "contracted", "lost"), default="churned",
                   help="what counts as the outcome (lost = churned or contracted)")
    p.add_argument("--bootstrap", type=int, default=500, help="bootstrap resamples for the AUC interval (default 500)")
    add_output(p, formats=("table", "csv", "json"))
    p.set_defaults(func=run_backtest)

    p = hs.add_parser("compare", help="accounts whose band changes between two models")
    model_arg(p, "model_a", "the current model")
    model_arg(p, "model_b", "the candidate model")
    add_inputs(p)
    p.add_argument("--as-of", metavar="YYYY-MM-DD")
    add_output(p, formats=("table", "csv", "json", "xlsx"))
    p.set_defaults(func=run_compare)

    p = hs.add_parser("check", help="validate a model file and show its normalised weights")
    model_arg(p)
    add_output(p, formats=("table", "csv", "json"))
    p.set_defaults(func=run_check)

    p = hs.add_parser("suggest", help="suggest weights from history (logistic regression); never applied")
    model_arg(p)
    add_inputs(p)
    p.add_argument("--months", type=int, default=24)
    p.add_argument("--horizon", type=int, default=90, choices=(30, 60, 90))
    add_output(p, formats=("table", "csv", "json"))
    p.set_defaults(func=run_suggest)
    health.set_defaults(func=lambda args: _usage(health))


def _usage(parser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_FATAL


def _model(path):
    from . import load
    from ..problems import Severity

    model, problems = load(path)
    for p in problems:
        print(str(p), file=sys.stderr)
    if model is None or any(p.severity is Severity.ERROR for p in problems):
        raise _cli().CliError(f"the health model {path} has errors (listed above); nothing was scored")
    return model


def _as_of(dataset, text):
    from ..periods import add_months
    from ..snapshots import mrr_grid

    if text:
        try:
            return pd.Timestamp(text)
        except ValueError:
            raise _cli().CliError(f"--as-of {text!r} is not a date; write it as YYYY-MM-DD") from None
    grid, _ = mrr_grid(dataset)
    if grid is None:
        raise _cli().CliError("health scores need an MRR table or subscriptions to know who is a customer")
    return add_months(grid.last_month, 1)


def _scored(model, dataset, as_of, all_accounts=False):
    from ..accounts_snapshot import account_snapshot
    from . import score

    snapshot = account_snapshot(dataset, as_of)
    if not all_accounts and "active" in snapshot:
        snapshot = snapshot[snapshot["active"].fillna(False).astype(bool)].reset_index(drop=True)
    return snapshot, score(model, snapshot)


def _exit(dataset) -> int:
    from ..problems import Severity

    serious = [p for p in dataset.problems if p.severity is not Severity.INFO]
    if serious:
        print(f"{len(serious)} data problem(s) were set aside; `cs-desk validate` lists them", file=sys.stderr)
    return EXIT_PROBLEMS if serious else EXIT_OK


def run_score(args) -> int:
    load_inputs, emit = _cli().load_inputs, _cli()._emit
    model = _model(args.model)
    dataset = load_inputs(args)
    as_of = _as_of(dataset, args.as_of)
    snapshot, scores = _scored(model, dataset, as_of, args.all_accounts)
    frame = snapshot.drop(columns=[c for c in scores.columns if c in snapshot.columns and c != "account_id"])
    frame = frame.merge(scores, on="account_id", how="left")
    columns = [c for c in SCORE_COLUMNS if c in frame.columns]
    if args.components:
        columns += [c for c in frame.columns if c.startswith("pts_")]
    frame = frame[columns].sort_values(["score", "account_id"], na_position="last").reset_index(drop=True)
    frame["score"] = frame["score"].round(1)
    emit(frame, args)
    mix = frame["band"].value_counts(normalize=True) if len(frame) else pd.Series(dtype=float)
    print(f"{len(frame)} accounts scored as of {as_of:%Y-%m-%d} with {model.name!r}: "
          + ", ".join(f"{b} {mix.get(b, 0):.0%}" for b in ("green", "yellow", "red")), file=sys.stderr)
    return _exit(dataset)


def run_backtest(args) -> int:
    load_inputs, emit = _cli().load_inputs, _cli()._emit
    from . import backtest_dataset

    model = _model(args.model)
    dataset = load_inputs(args)
    if not dataset.has_revenue:
        raise _cli().CliError("a backtest needs an MRR table or subscriptions to know who churned")
    result = backtest_dataset(model, dataset, months=args.months, horizon=args.horizon, target=args.target,
                              n_boot=args.bootstrap)
    fmt = args.format or ("json" if (args.out or "").endswith(".json") else "table")
    if fmt == "json":
        text = json.dumps(result.as_dict(), indent=1, default=str)
        if args.out:
            from ..io.atomic import atomic_path

            with atomic_path(args.out) as tmp:
                open(tmp, "w", encoding="utf-8").write(text + "\n")
        else:
            print(text)
    else:
        emit(pd.DataFrame(result.summary_records()), args)
        bands = result.as_dict(limit=0).get("churn_rate_by_band", {})
        print("churn rate by band: " + ", ".join(f"{b} {_pct(v)}" for b, v in bands.items()), file=sys.stderr)
    for warning in result.as_dict(limit=0).get("warnings", []):
        print("warning: " + warning, file=sys.stderr)
    return _exit(dataset)


def _pct(v) -> str:
    return "n/a" if v is None or (isinstance(v, float) and v != v) else f"{v:.1%}"


def run_compare(args) -> int:
    load_inputs, emit = _cli().load_inputs, _cli()._emit
    from . import compare

    a, b = _model(args.model_a), _model(args.model_b)
    dataset = load_inputs(args)
    from ..accounts_snapshot import account_snapshot

    snapshot = account_snapshot(dataset, _as_of(dataset, args.as_of))
    frame = compare(a, b, snapshot)
    emit(frame.reset_index(drop=True), args)
    print(f"{len(frame)} account(s) change band between {a.name!r} and {b.name!r}", file=sys.stderr)
    return _exit(dataset)


def run_check(args) -> int:
    load_inputs, emit = _cli().load_inputs, _cli()._emit
    model = _model(args.model)
    emit(model.weights_table(), args)
    return EXIT_OK


def run_suggest(args) -> int:
    load_inputs, emit = _cli().load_inputs, _cli()._emit
    from ..accounts_snapshot import account_snapshots
    from ..snapshots import mrr_grid
    from . import backtest_dates, outcomes_from_grid, suggest_weights

    model = _model(args.model)
    dataset = load_inputs(args)
    grid, _ = mrr_grid(dataset)
    if grid is None:
        raise _cli().CliError("suggesting weights needs an MRR table or subscriptions to know who churned")
    dates = backtest_dates(grid, args.months, args.horizon)
    suggestion = suggest_weights(model, account_snapshots(dataset, dates), outcomes_from_grid(grid, dates),
                                 horizon=args.horizon)
    emit(suggestion.table, args)
    print("a suggestion only: nothing was changed in " + args.model, file=sys.stderr)
    return _exit(dataset)
