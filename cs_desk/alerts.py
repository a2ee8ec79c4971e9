"""Playbooks: rules over per-account metrics and health scores -> an action list.

A playbook file is TOML (``workbook_templates/playbooks.toml`` is the example)::

    name = "Default playbooks"
    only_active = true              # rules look at paying accounts only (column `active`)

    [[rules]]
    id = "renewal_at_risk"
    priority = "high"               # high / medium / low
    when = [{ metric = "days_to_renewal", op = "<=", value = 60 },
            { metric = "band", op = "!=", value = "green" }]
    reason = "renews in {days_to_renewal:.0f} days and health is {band} ({score:.0f})"
    action = "Book a renewal call with the sponsor; agree a success plan."
    due_days = 7
    group = "health"                # optional: of the rules in one group, only the first that
                                    # matches (in file order) fires for an account

Conditions use the safe language of :mod:`cs_desk.health.conditions` (all must hold; no
``eval``). ``reason`` may name any column in braces, with an optional format
(``{seat_utilization:.0%}``); without one, the reason lists the conditions with the account's
numbers. Actions do not repeat: one per account and rule, and none for an (account, rule) that is
already open in ``open_actions``.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
import pandas as pd

from .health import tomlsource
from .health.conditions import Condition, column, evaluate, parse_conditions
from .health.explain import fmt_number
from .health.model import default_known_metrics, snapshot_metrics
from .health.tomlsource import Checker, TomlSource
from .problems import Code, Problem, Severity

PRIORITIES = ("high", "medium", "low")
ACTION_COLUMNS = ["account_id", "account_name", "owner", "priority", "rule", "reason", "action", "due", "as_of"]
#: columns a health score table adds to the snapshot (rules may read them)
HEALTH_COLUMNS = ("score", "band", "profile", "weakest", "lift_to_next_band", "score_prev", "band_prev",
                  "score_change", "band_change", "missing_components", "stale_components")
CLOSED_STATUSES = {"done", "closed", "resolved", "dismissed", "completed", "cancelled", "canceled"}
_TEMPLATE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([<>^=]?[+\-]?[0-9]*(?:\.[0-9]+)?[%fdeg]?))?\}")
_RULE_KEYS = ("id", "label", "priority", "when", "reason", "action", "due_days", "group", "description")


@dataclass(frozen=True)
class Rule:
    id: str
    when: tuple[Condition, ...]
    priority: str = "medium"
    action: str = ""
    reason: str = ""  # template; "" = generated from the conditions
    due_days: int = 7
    group: str | None = None
    label: str = ""
    description: str = ""


@dataclass(frozen=True)
class Playbooks:
    name: str
    rules: tuple[Rule, ...]
    only_active: bool = True
    description: str = ""
    source: str | None = field(default=None, compare=False)

    def rule(self, rid: str) -> Rule:
        for r in self.rules:
            if r.id == rid:
                return r
        raise KeyError(f"no rule {rid!r} in playbooks {self.name!r}")

    def metrics(self) -> set[str]:
        names = {c.metric for r in self.rules for c in r.when}
        for r in self.rules:
            names |= {m.group(1) for m in _TEMPLATE.finditer(r.reason)}
        return names


def known_columns(extra: Iterable[str] | None = None) -> set[str]:
    names = default_known_metrics() | set(HEALTH_COLUMNS) | {"as_of"}
    if extra is not None:
        names |= set(extra)
    return names


def load_playbooks(path, known_metrics: Iterable[str] | None = None) -> tuple[Playbooks | None, list[Problem]]:
    """Read a playbook file: ``(playbooks, problems)``; playbooks is None when there is an error.
    ``known_metrics`` adds column names (e.g. ``pts_<component>`` of a health model) to the
    snapshot and health columns rules may read."""
    pb, problems = tomlsource.build(tomlsource.read(path, "playbook"),
                                    lambda data, source: playbooks_from_dict(data, source, known_metrics))
    if pb is not None:
        pb = Playbooks(pb.name, pb.rules, pb.only_active, pb.description, str(path))
    return pb, problems


def default_playbooks() -> tuple[Playbooks | None, list[Problem]]:
    """The shipped example playbooks (``workbook_templates/playbooks.toml``)."""
    from .health import TEMPLATES

    return load_playbooks(TEMPLATES / "playbooks.toml")


def loads_playbooks(text: str, file: str | None = None,
                    known_metrics: Iterable[str] | None = None) -> tuple[Playbooks | None, list[Problem]]:
    return tomlsource.build(tomlsource.parse(text, file),
                            lambda data, source: playbooks_from_dict(data, source, known_metrics))


def playbooks_from_dict(data: dict, source: TomlSource | None = None,
                        known_metrics: Iterable[str] | None = None) -> tuple[Playbooks | None, list[Problem]]:
    check = Checker(source or TomlSource(""), "playbooks", Code.PLAYBOOK_INVALID)
    known = known_columns(known_metrics)
    # any pts_/weight_/share_ column of a health model is fine too
    check.known_keys(data, (), ("name", "description", "only_active", "rules"))
    name = check.string(data, (), "name", default="Playbooks") or "Playbooks"
    description = check.string(data, (), "description", default="") or ""
    only_active = check.boolean(data, (), "only_active", True)
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        check.add(("rules",) if "rules" in data else (), Code.MISSING_KEY,
                  "a playbook file needs at least one [[rules]] table")
        raw_rules = []
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_rules):
        p = ("rules", i)
        raw = check.table_of(raw, p)
        if raw is None:
            continue
        n_before = len(check.problems)
        check.known_keys(raw, p, _RULE_KEYS)
        rid = check.string(raw, p, "id", required=True)
        if rid is not None and rid in seen:
            check.add(p + ("id",), Code.DUPLICATE_ID, f"rule id {rid!r} is used twice", rid)
        seen.add(rid)
        priority = check.string(raw, p, "priority", default="medium", choices=PRIORITIES)
        if "when" not in raw:
            check.add(p, Code.MISSING_KEY, "`when` is required, e.g. when = [{ metric = \"score\", op = \"<\", value = 40 }]")
            when: tuple[Condition, ...] = ()
        else:
            metric_ok = _Known(known)
            when = parse_conditions(raw["when"], p + ("when",), check, metric_ok, Code.PLAYBOOK_INVALID)
        action = check.string(raw, p, "action", required=True)
        reason = check.string(raw, p, "reason", default="") or ""
        for m in _TEMPLATE.finditer(reason):
            if m.group(1) not in _Known(known):
                check.add(p + ("reason",), Code.UNKNOWN_METRIC, f"the reason names an unknown column {{{m.group(1)}}}",
                          m.group(1))
        leftover = _TEMPLATE.sub("", reason)
        if "{" in leftover or "}" in leftover:
            check.add(p + ("reason",), Code.PLAYBOOK_INVALID,
                      "braces in a reason must name a column, e.g. {score} or {seat_utilization:.0%}", reason)
        due = check.number(raw, p, "due_days", default=7, at_least=0, integer=True)
        group = check.string(raw, p, "group")
        label = check.string(raw, p, "label", default="") or ""
        desc = check.string(raw, p, "description", default="") or ""
        if check.errors_since(n_before) or rid is None:
            continue
        rules.append(Rule(rid, when, priority or "medium", action or "", reason, int(due), group, label, desc))
    if check.failed:
        return None, check.problems
    return Playbooks(name, tuple(rules), only_active, description), check.problems


class _Known:
    """Set-like: snapshot/health columns plus any per-component column of a health model."""

    def __init__(self, names: set[str]):
        self.names = names

    def __contains__(self, name: str) -> bool:
        return name in self.names or bool(re.match(r"^(pts|weight|share|reason)_[A-Za-z][A-Za-z0-9_]*$", name))

    def __iter__(self):
        return iter(self.names)


# ---------------------------------------------------------------------------------------------
def missing_columns(playbooks: Playbooks, frame: pd.DataFrame) -> list[Problem]:
    """A problem per rule that reads a column the frame does not have (the rule cannot fire)."""
    out = []
    for r in playbooks.rules:
        absent = sorted({c.metric for c in r.when if c.op != "missing"} - set(frame.columns))
        if absent:
            out.append(Problem(Code.MISSING_COLUMN,
                               f"rule {r.id!r} reads {', '.join(absent)}, which the data does not have; "
                               f"it cannot fire", Severity.WARNING, file=playbooks.source,
                               column=", ".join(absent), table="playbooks"))
    return out


def actions(current: pd.DataFrame, playbooks: Playbooks, open_actions: pd.DataFrame | None = None,
            as_of=None) -> pd.DataFrame:
    """The action list for ``current`` (a snapshot joined with its health scores, one row per
    account). Columns: account_id, account_name, owner (the CSM), priority, rule, reason (with the
    account's numbers), action, due, as_of. Sorted by priority, due date, then ARR (value at risk).

    ``open_actions`` (columns account_id, rule and optionally status): an (account, rule) that is
    still open there is not raised again; rows whose status is done/closed/resolved/dismissed do
    not count as open.
    """
    frame = current.reset_index(drop=True)
    if playbooks.only_active and "active" in frame.columns:
        frame = frame[frame["active"].fillna(False).astype(bool).to_numpy()].reset_index(drop=True)
    ref = _as_of(frame, as_of)
    fired_groups: dict[str, np.ndarray] = {}
    parts = []
    for rule in playbooks.rules:
        hit = evaluate(rule.when, frame, as_of)
        if rule.group:
            done = fired_groups.get(rule.group, np.zeros(len(frame), dtype=bool))
            hit &= ~done
            fired_groups[rule.group] = done | hit
        rows = np.flatnonzero(hit)
        if not len(rows):
            continue
        sub = frame.iloc[rows]
        due = ref.iloc[rows] + pd.Timedelta(days=rule.due_days)
        parts.append(pd.DataFrame({
            "account_id": sub["account_id"].astype(str).to_numpy(),
            "account_name": column(sub, "account_name").to_numpy(),
            "owner": column(sub, "csm").astype(object).fillna("unassigned").to_numpy(),
            "priority": rule.priority,
            "rule": rule.id,
            "reason": _reasons(rule, sub, ref.iloc[rows]),
            "action": rule.action,
            "due": due.to_numpy(),
            "as_of": ref.iloc[rows].to_numpy(),
            "_arr": pd.to_numeric(column(sub, "arr"), errors="coerce").fillna(0.0).to_numpy(),
        }))
    if not parts:
        return pd.DataFrame(columns=ACTION_COLUMNS)
    out = pd.concat(parts, ignore_index=True).drop_duplicates(["account_id", "rule"])
    if open_actions is not None and len(open_actions):
        still_open = open_actions
        if "status" in open_actions.columns:
            status = open_actions["status"].astype("string").str.strip().str.lower()
            still_open = open_actions[~status.isin(CLOSED_STATUSES).fillna(False).to_numpy()]
        keys = set(zip(still_open["account_id"].astype(str), still_open["rule"].astype(str)))
        keep = [(a, r) not in keys for a, r in zip(out["account_id"], out["rule"])]
        out = out[np.array(keep, dtype=bool)]
    out["_p"] = out["priority"].map({p: i for i, p in enumerate(PRIORITIES)})
    out = out.sort_values(["_p", "due", "_arr", "account_id"], ascending=[True, True, False, True], kind="stable")
    return out.drop(columns=["_p", "_arr"]).reset_index(drop=True)[ACTION_COLUMNS]


def action_records(frame: pd.DataFrame) -> list[dict]:
    from .health.scoring import records

    return records(frame)


def _as_of(frame: pd.DataFrame, as_of) -> pd.Series:
    if as_of is not None:
        return pd.Series(pd.Timestamp(as_of), index=frame.index)
    if "as_of" in frame.columns:
        return pd.to_datetime(frame["as_of"]).fillna(pd.Timestamp.today().normalize())
    return pd.Series(pd.Timestamp.today().normalize(), index=frame.index)


# ---------------------------------------------------------------------------------------------
# reason text
_FRACTION_HINT = ("utilization", "utilisation", "share", "rate", "depth", "trend")


def _is_fraction(name: str) -> bool:
    metrics = snapshot_metrics() or {}
    m = metrics.get(name)
    unit = getattr(m, "unit", None) if m is not None else None
    if unit is not None:
        return unit == "fraction"
    return any(h in name for h in _FRACTION_HINT)


def format_value(name: str, value: Any, spec: str | None = None) -> str:
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, float, np.integer, np.floating)):
        v = float(value)
        if spec:
            try:
                return format(v, spec)
            except ValueError:
                pass
        if _is_fraction(name):
            return f"{100 * v:.0f} %"
        return fmt_number(v)
    return str(value)


def _reasons(rule: Rule, rows: pd.DataFrame, ref: pd.Series) -> list[str]:
    out = []
    names = [m.group(1) for m in _TEMPLATE.finditer(rule.reason)] if rule.reason else [c.metric for c in rule.when]
    records_ = rows[[c for c in dict.fromkeys(names) if c in rows.columns]].to_dict("records")  # only what is shown
    for rec, day in zip(records_, ref):  # text only for the accounts a rule fired for
        if rule.reason:
            out.append(_TEMPLATE.sub(lambda m: format_value(m.group(1), rec.get(m.group(1)), m.group(2)), rule.reason))
        else:
            out.append("; ".join(_describe(c, rec, day) for c in rule.when))
    return out


def _describe(c: Condition, rec: dict, day) -> str:
    value = rec.get(c.metric)
    if c.op in ("within_days", "older_than_days"):
        if value is None or pd.isna(value):
            return f"{c.metric} n/a"
        days = (pd.Timestamp(day) - pd.Timestamp(value)).days
        return f"{c.metric} {format_value(c.metric, value)} ({days} days ago)"
    if c.op in ("missing", "present"):
        return f"{c.metric} {'missing' if c.op == 'missing' else format_value(c.metric, value)}"
    target = c.value
    if isinstance(target, tuple):
        shown = "[" + ", ".join(format_value(c.metric, v) for v in target) + "]"
    else:
        shown = format_value(c.metric, target)
    return f"{c.metric} {format_value(c.metric, value)} ({c.op} {shown})"
