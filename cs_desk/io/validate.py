"""Checks across rows and tables, run after every source is cleaned.

``cross_validate(dataset)`` returns problems and sets rows aside *in place*: duplicate accounts
(the first row is kept), duplicate (account_id, month) rows in ``mrr``, and, when
``options["currency"]`` is given, rows in other currencies. Unknown account ids are reported
once per table and kept. Every table keeps its hidden ``_row`` column (and ``_source`` when it
came from :func:`cs_desk.io.load`), which is how problems here name the file, sheet and row.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ..problems import Code, Problem, Severity
from .clean import MAX_DETAIL, ROW_COLUMN

SOURCE_COLUMN = "_source"


class _Locator:
    """file/sheet/row of a table row, from ``_source`` (index into dataset.sources) and ``_row``."""

    def __init__(self, dataset, table: str) -> None:
        self.dataset = dataset
        self.table = table
        self.own = [i for i, s in enumerate(dataset.sources) if s.table == table]

    def source_index(self, frame: pd.DataFrame) -> np.ndarray:
        if SOURCE_COLUMN in frame.columns:
            return frame[SOURCE_COLUMN].to_numpy(dtype=np.int64)
        return np.full(len(frame), self.own[0] if len(self.own) == 1 else -1, dtype=np.int64)

    def where(self, src: int) -> tuple[str | None, str | None]:
        if 0 <= src < len(self.dataset.sources):
            s = self.dataset.sources[src]
            return s.file, s.sheet
        return None, None

    def table_where(self) -> tuple[str | None, str | None]:
        return self.where(self.own[0]) if len(self.own) == 1 else (None, None)


def _set_aside(dataset, table: str, mask: np.ndarray, code: Code, column: str, message,
               values: np.ndarray | None = None) -> list[Problem]:
    """Remove ``mask`` rows from ``dataset.tables[table]``; one problem per row (capped)."""
    frame = dataset.tables[table]
    idx = np.flatnonzero(mask)
    if len(idx) == 0:
        return []
    loc = _Locator(dataset, table)
    srcs = loc.source_index(frame)
    rows = frame[ROW_COLUMN].to_numpy() if ROW_COLUMN in frame.columns else np.arange(2, len(frame) + 2)
    problems = []
    shown = idx[:MAX_DETAIL]
    labels = values(shown) if callable(values) else (None if values is None else np.asarray(values, dtype=object)[shown])
    for k, i in enumerate(shown):
        file, sheet = loc.where(int(srcs[i]))
        v = None if labels is None else labels[k]
        problems.append(Problem(code, message(v), Severity.WARNING, file=file, sheet=sheet, row=int(rows[i]),
                                column=column, value=None if v is None else str(v), table=table))
    if len(idx) > MAX_DETAIL:
        file, sheet = loc.table_where()
        problems.append(Problem(code, f"... and {len(idx) - MAX_DETAIL} more rows with the same problem "
                                      f"(only the first {MAX_DETAIL} are listed).", Severity.WARNING,
                                file=file, sheet=sheet, column=column, value=str(len(idx) - MAX_DETAIL), table=table))
    # account for the rows on their sources
    counts = pd.Series(srcs[idx]).value_counts()
    for src, n in counts.items():
        if 0 <= src < len(dataset.sources):
            s = dataset.sources[src]
            dataset.sources[src] = dataclasses.replace(s, rows_set_aside=s.rows_set_aside + int(n))
    dataset.tables[table] = frame.loc[~mask].reset_index(drop=True)
    return problems


def _duplicated(key: np.ndarray, bound: int) -> np.ndarray:
    """``pd.Series(key).duplicated(keep="first")``; when the keys are small non-negative
    integers (below ``bound``), a count per key first finds the usual case of no repeats."""
    if len(key) and bound <= 4 * len(key) + 1024 and key.min() >= 0 and key.max() < bound:
        if np.bincount(key, minlength=bound).max() <= 1:
            return np.zeros(len(key), dtype=bool)
    return pd.Series(key).duplicated(keep="first").to_numpy()


def _duplicates(dataset) -> list[Problem]:
    problems: list[Problem] = []
    acc = dataset.tables.get("accounts")
    if acc is not None and len(acc):
        dup = acc.duplicated("account_id", keep="first").to_numpy() & acc["account_id"].notna().to_numpy()
        problems += _set_aside(dataset, "accounts", dup, Code.DUPLICATE_ROW, "account_id",
                               lambda v: f"Account {v} appears more than once; the first row was kept and this one "
                                         "set aside.", lambda idx: acc["account_id"].iloc[idx].tolist())
    mrr = dataset.tables.get("mrr")
    if mrr is not None and len(mrr):
        acc_codes, acc_uniques = dataset.codes("mrr")
        month_codes, months = pd.factorize(mrr["month"])
        key = acc_codes.astype(np.int64) * (len(months) + 1) + month_codes
        dup = _duplicated(key, len(acc_uniques) * (len(months) + 1))
        def label(idx: np.ndarray) -> list[str]:
            d = mrr.iloc[idx]
            return [f"{a} {m:%Y-%m}" for a, m in zip(d["account_id"], d["month"])]

        problems += _set_aside(dataset, "mrr", dup, Code.DUPLICATE_ROW, "month",
                               lambda v: f"MRR for {v} is given more than once; the first row was kept and this "
                                         "one set aside (MRR is not summed).", label)
    return problems


def _currencies(dataset) -> list[Problem]:
    problems: list[Problem] = []
    wanted = (dataset.options or {}).get("currency")
    wanted = str(wanted).strip().upper() if wanted else None
    for table, frame in list(dataset.tables.items()):
        if "currency" not in frame.columns or not len(frame):
            continue
        cur = frame["currency"]
        present = cur.notna().to_numpy()
        seen = sorted(pd.unique(cur[present]).tolist())
        if wanted:
            other = present & (cur.to_numpy(dtype=object) != wanted)
            problems += _set_aside(dataset, table, other, Code.MIXED_CURRENCIES, "currency",
                                   lambda v: f"Amount in {v}, not {wanted} (the chosen currency); the row was set aside.",
                                   lambda idx, cur=cur: cur.iloc[idx].tolist())
        elif len(seen) > 1:
            file, sheet = _Locator(dataset, table).table_where()
            counts = cur.value_counts()
            problems.append(Problem(
                Code.MIXED_CURRENCIES,
                f"The {table} table mixes currencies ({', '.join(f'{c}: {counts[c]} rows' for c in seen)}). Sums "
                "across currencies are meaningless: convert the amounts first, or choose one currency with the "
                "currency option to keep only its rows.", Severity.ERROR, file=file, sheet=sheet,
                column="currency", value=", ".join(seen), table=table))
    return problems


def _unknown_accounts(dataset) -> list[Problem]:
    acc = dataset.tables.get("accounts")
    if acc is None or not len(acc):
        return []
    known = set(acc["account_id"].dropna().tolist())
    problems = []
    for table, frame in dataset.tables.items():
        if table == "accounts" or "account_id" not in frame.columns or not len(frame):
            continue
        # per distinct id, then by code (same as ``~ids.isin(known) & ids.notna()``)
        codes, uniques = dataset.codes(table)  # shared with the KPI engine and the snapshot
        unknown_id = np.fromiter((u not in known for u in uniques), dtype=bool, count=len(uniques))
        unknown = (unknown_id[codes] if len(uniques) else np.zeros(len(codes), bool)) & (codes >= 0)
        n_rows = int(unknown.sum())
        if not n_rows:
            continue
        uniq = uniques[pd.unique(codes[unknown])]  # in order of first appearance
        file, sheet = _Locator(dataset, table).table_where()
        sample = ", ".join(str(u) for u in uniq[:5]) + (", ..." if len(uniq) > 5 else "")
        problems.append(Problem(
            Code.UNKNOWN_ACCOUNT,
            f"{len(uniq)} account ids in the {table} table ({n_rows} rows) are not in the accounts table, e.g. "
            f"{sample}. The rows were kept; check for typos or accounts missing from the CRM export.",
            Severity.WARNING, file=file, sheet=sheet, column="account_id", value=str(len(uniq)), table=table))
    return problems


def cross_validate(dataset) -> list[Problem]:
    """Checks across rows and tables (see the module docstring). Mutates ``dataset.tables`` and
    ``dataset.sources`` (rows_set_aside) for the rows it sets aside; returns the problems."""
    return _duplicates(dataset) + _currencies(dataset) + _unknown_accounts(dataset)
