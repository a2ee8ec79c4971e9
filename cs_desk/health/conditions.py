"""A small, safe condition language for profiles and playbook rules (no ``eval``).

Two spellings, both read into the same :class:`Condition` records (all conditions must hold):

* list form — ``when = [{ metric = "score", op = "<", value = 40 }, { metric = "band", op = "!=", value = "green" }]``
* table form — ``when = { tenure_days = { lt = 90 }, segment = "Enterprise" }``
  (a bare value means ``==``; a list means ``in``).

Operators: ``<  <=  >  >=  ==  !=  in  not in`` (word forms ``lt le gt ge eq ne in not_in``),
``missing`` / ``present`` (no value), and for date columns ``within_days`` / ``older_than_days``
(relative to the as-of date). A comparison with a missing value is false (use ``missing`` to ask
for it). Text compares case-insensitively and ignoring surrounding spaces; ``true``/``false``
compare with yes/no columns (``1``, ``"yes"``, ``True`` ...).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import pandas as pd

from ..problems import Code
from .tomlsource import Checker

SYMBOL_OPS = ("<", "<=", ">", ">=", "==", "!=", "in", "not in", "missing", "present",
              "within_days", "older_than_days")
WORD_OPS = {"lt": "<", "le": "<=", "lte": "<=", "gt": ">", "ge": ">=", "gte": ">=", "eq": "==",
            "ne": "!=", "in": "in", "not_in": "not in", "missing": "missing", "present": "present",
            "within_days": "within_days", "older_than_days": "older_than_days"}
_NO_VALUE = ("missing", "present")
_ORDER_OPS = ("<", "<=", ">", ">=")
_TRUE = {"true", "yes", "y", "t", "1", "x", "done", "complete", "completed"}
_FALSE = {"false", "no", "n", "f", "0"}


@dataclass(frozen=True)
class Condition:
    metric: str
    op: str
    value: Any = None

    def describe(self) -> str:
        if self.op in _NO_VALUE:
            return f"{self.metric} is {self.op}"
        if self.op == "within_days":
            return f"{self.metric} within the last {self.value:g} days"
        if self.op == "older_than_days":
            return f"{self.metric} older than {self.value:g} days"
        return f"{self.metric} {self.op} {_fmt_value(self.value)}"

    def to_toml(self) -> dict:
        out = {"metric": self.metric, "op": self.op}
        if self.op not in _NO_VALUE:
            out["value"] = list(self.value) if isinstance(self.value, tuple) else self.value
        return out


def _fmt_value(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_fmt_value(v) for v in value) + "]"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# ---------------------------------------------------------------------------------------------
def parse_conditions(raw: Any, path: tuple, check: Checker, known_metrics: Iterable[str] | None,
                     code: Code) -> tuple[Condition, ...]:
    """Read either spelling of ``when``; every problem goes to ``check`` with its line."""
    known = known_metrics if known_metrics is None or hasattr(known_metrics, "__contains__") else set(known_metrics)
    out: list[Condition] = []
    if isinstance(raw, dict):
        for metric, spec in raw.items():
            p = path + (metric,)
            if isinstance(spec, dict):
                if not spec:
                    check.add(p, code, "empty condition; write e.g. `{ lt = 90 }`")
                for word, value in spec.items():
                    op = WORD_OPS.get(word)
                    if op is None:
                        check.add(p + (word,), Code.UNKNOWN_KEY,
                                  f"unknown operator; use one of {', '.join(WORD_OPS)}", word)
                        continue
                    cond = _make(metric, op, value, p + (word,), check, known, code, metric_path=p)
                    if cond:
                        out.append(cond)
            else:
                op = "in" if isinstance(spec, list) else "=="
                cond = _make(metric, op, spec, p, check, known, code)
                if cond:
                    out.append(cond)
    elif isinstance(raw, list):
        for i, item in enumerate(raw):
            p = path + (i,)
            if not isinstance(item, dict):
                check.add(p, Code.WRONG_TYPE, "each condition must be a table like "
                                             "`{ metric = \"score\", op = \"<\", value = 40 }`", item)
                continue
            check.known_keys(item, p, ("metric", "op", "value"))
            metric = check.string(item, p, "metric", required=True)
            op_raw = check.string(item, p, "op", required=True)
            if metric is None or op_raw is None:
                continue
            op = op_raw.strip().lower()
            op = WORD_OPS.get(op, op)
            if op not in SYMBOL_OPS:
                check.add(p + ("op",), code, f"unknown operator; use one of {', '.join(SYMBOL_OPS)}", op_raw)
                continue
            if op not in _NO_VALUE and "value" not in item:
                check.add(p, Code.MISSING_KEY, f"`value` is required for op {op!r}")
                continue
            cond = _make(metric, op, item.get("value"), p + ("value",), check, known, code,
                         metric_path=p + ("metric",))
            if cond:
                out.append(cond)
    else:
        check.add(path, Code.WRONG_TYPE, "`when` must be a list of conditions or a table", raw)
    return tuple(out)


def _make(metric: str, op: str, value: Any, path: tuple, check: Checker, known: Any,
          code: Code, metric_path: tuple | None = None) -> Condition | None:
    if known is not None and metric not in known:
        check.add(metric_path or path, Code.UNKNOWN_METRIC,
                  f"unknown metric {metric!r}; it is not a per-account metric", metric)
        return None
    if op in _NO_VALUE:
        return Condition(metric, op, None)
    if op in ("in", "not in"):
        if not isinstance(value, list) or not value:
            check.add(path, Code.WRONG_TYPE, f"op {op!r} needs a non-empty list of values", value)
            return None
        return Condition(metric, op, tuple(value))
    if op in ("within_days", "older_than_days"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            check.add(path, Code.WRONG_TYPE, f"op {op!r} needs a number of days >= 0", value)
            return None
        return Condition(metric, op, float(value))
    if isinstance(value, (list, dict)):
        check.add(path, Code.WRONG_TYPE, f"op {op!r} needs one value, not {type(value).__name__}", value)
        return None
    if op in _ORDER_OPS and isinstance(value, (str, bool)):
        check.add(path, Code.WRONG_TYPE, f"op {op!r} needs a number or a date", value)
        return None
    return Condition(metric, op, value)


# ---------------------------------------------------------------------------------------------
def column(frame: pd.DataFrame, metric: str) -> pd.Series:
    if metric in frame.columns:
        return frame[metric]
    return pd.Series(np.nan, index=frame.index, dtype=float)


def truthy(series: pd.Series) -> np.ndarray:
    """1.0 (yes), 0.0 (no) or NaN (unknown) for a yes/no-like column."""
    if series.dtype == bool:
        return series.to_numpy(dtype=float)
    if pd.api.types.is_numeric_dtype(series.dtype):
        vals = series.to_numpy(dtype=float)
        return np.where(np.isnan(vals), np.nan, (vals > 0).astype(float))
    num = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)  # True/False -> 1/0
    text = _as_text(series)
    words = np.where(text.isin(list(_TRUE)).fillna(False).to_numpy(dtype=bool), 1.0,
                     np.where(text.isin(list(_FALSE)).fillna(False).to_numpy(dtype=bool), 0.0, np.nan))
    words[series.isna().to_numpy()] = np.nan
    out = np.where(np.isnan(num), words, (num > 0).astype(float))
    return out


def _as_text(series: pd.Series) -> pd.Series:
    return series.astype("string").str.strip().str.lower()


def _text_codes(series: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """(codes, normalised distinct values): ``_as_text`` worked out once per distinct value
    (a stacked snapshot repeats a few segment names over millions of rows); code -1 is missing."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    return codes, _as_text(pd.Series(np.asarray(uniques, dtype=object), dtype=object))


def _per_row(codes: np.ndarray, per_value: np.ndarray, missing: bool) -> np.ndarray:
    """Spread a per-distinct-value flag over the rows (``missing`` where the code is -1)."""
    out = np.full(len(codes), missing, dtype=bool)
    known = codes >= 0
    out[known] = per_value[codes[known]]
    return out


def _norm_text(value: Any) -> str:
    return str(value).strip().lower()


def evaluate_one(cond: Condition, frame: pd.DataFrame, as_of: Any = None) -> np.ndarray:
    col = column(frame, cond.metric)
    n = len(frame)
    if cond.op in ("missing", "present"):
        if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            codes, text = _text_codes(col)
            miss = _per_row(codes, (text == "").fillna(True).to_numpy(dtype=bool), True)
        else:
            miss = col.isna().to_numpy()
        return miss if cond.op == "missing" else ~miss
    if cond.op in ("within_days", "older_than_days"):
        dates = pd.to_datetime(col, errors="coerce")
        ref = _as_of_series(frame, as_of)
        age = (ref - dates).dt.total_seconds().to_numpy() / 86400.0
        with np.errstate(invalid="ignore"):
            if cond.op == "within_days":
                res = (age >= 0) & (age <= cond.value)
            else:
                res = age > cond.value
        return np.where(np.isnan(age), False, res)
    values = cond.value if isinstance(cond.value, tuple) else (cond.value,)
    if cond.op in ("in", "not in", "==", "!="):
        if all(isinstance(v, bool) for v in values):
            t = truthy(col)
            hit = np.zeros(n, dtype=bool)
            for v in values:
                hit |= t == float(v)
            known = ~np.isnan(t)
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            num = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
            hit = np.isin(num, np.array(values, dtype=float))
            known = ~np.isnan(num)
        elif all(isinstance(v, (dt.date, dt.datetime)) for v in values):
            dates = pd.to_datetime(col, errors="coerce")
            hit = dates.isin([pd.Timestamp(v) for v in values]).to_numpy()
            known = dates.notna().to_numpy()
        else:
            codes, text = _text_codes(col)
            hit = _per_row(codes, text.isin([_norm_text(v) for v in values]).fillna(False).to_numpy(dtype=bool),
                           False)
            known = _per_row(codes, text.notna().to_numpy(), False)
        if cond.op in ("not in", "!="):
            hit = ~hit
        return hit & known
    # ordering
    v = cond.value
    if isinstance(v, (dt.date, dt.datetime)):
        left = pd.to_datetime(col, errors="coerce")
        right = pd.Timestamp(v)
        left_vals = left.to_numpy(dtype="datetime64[ns]")
        known = ~np.isnat(left_vals)
        right_vals = np.datetime64(right.to_datetime64())
    else:
        left_vals = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
        known = ~np.isnan(left_vals)
        right_vals = float(v)
    with np.errstate(invalid="ignore"):
        res = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}[cond.op](left_vals, right_vals)
    return res & known


def evaluate(conditions: Iterable[Condition], frame: pd.DataFrame, as_of: Any = None) -> np.ndarray:
    """True where every condition holds (vectorised over the rows of ``frame``)."""
    mask = np.ones(len(frame), dtype=bool)
    for cond in conditions:
        mask &= evaluate_one(cond, frame, as_of)
    return mask


def _as_of_series(frame: pd.DataFrame, as_of: Any) -> pd.Series:
    if as_of is not None:
        return pd.Series(pd.Timestamp(as_of), index=frame.index)
    if "as_of" in frame.columns:
        return pd.to_datetime(frame["as_of"], errors="coerce")
    return pd.Series(pd.Timestamp.today().normalize(), index=frame.index)
