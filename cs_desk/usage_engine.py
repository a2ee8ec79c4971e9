"""Usage events at scale: reduce millions of event rows to a compact *monthly cube*.

Usage exports are the big table (10 million rows is normal). Every adoption KPI can be derived
from one reduction of the events, the **monthly cube**: one row per (account, user, month,
feature) that had at least one event, holding

* ``days``: a 32-bit mask, bit ``d - 1`` set when there was an event on day ``d`` of the month,
* ``events``: the number of events (the ``count`` column when the export has one, else 1 a row).

From the cube: monthly/period active users (distinct users), user-days (popcount of the day
masks: stickiness), distinct features per user or account (feature adoption, depth), the days an
account was active in any window of the month grid (inactive accounts, activity buckets), and
activity churn. The cube is typically 10-20x smaller than the events.

Two engines build the same cube:

* **pandas / numpy** (always available, used for a usage table already in memory, e.g. the
  xlwings Lite path): ``factorize`` + integer keys + ``bitwise_or.at``;
* **DuckDB** (optional, the ``fast`` extra; imported lazily): for a usage *file* (csv or
  parquet) named by ``dataset.options["usage_path"]``, aggregated in one scan without loading
  the events into pandas. ``options["usage_columns"]`` maps canonical field names to the file's
  headers when they differ; ``options["usage_engine"]`` = ``"auto"`` (default), ``"duckdb"`` or
  ``"pandas"`` forces one engine.

Users are identified per account (the same user id in two accounts is two users). In the DuckDB
engine a user is a 63-bit hash of (account, user); two of a million users collide with a chance
of about 1e-7.

For the per-account snapshot a finer reduction is used: :func:`daily_usage`, one row per
(account, user, day, feature) with the number of events.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .dataset import Dataset
from .ids import factorize_ids
from .problems import Code, Problem, Severity

NO_USER = -1
NO_FEATURE = -1
EPOCH_YEAR = 1970
_CACHE: dict = {}
_CACHE_SIZE = 4


def duckdb_available() -> bool:
    try:
        import duckdb  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the install
        return False
    return True


# -- where the usage comes from --------------------------------------------------------------------
@dataclass(frozen=True)
class UsageSource:
    """The usage events of a dataset: a canonical frame in memory, or file path(s)."""

    frame: pd.DataFrame | None = None
    paths: tuple[str, ...] = ()
    columns: tuple[tuple[str, str], ...] = ()  # canonical field -> header in the file
    engine: str = "auto"
    date_format: str | None = None

    @property
    def is_file(self) -> bool:
        return self.frame is None

    def column(self, name: str) -> str:
        return dict(self.columns).get(name, name)


def merged_options(dataset: Dataset, options: dict | None = None) -> dict:
    return {**(dataset.options or {}), **(options or {})}


def usage_source(dataset: Dataset, options: dict | None = None) -> UsageSource | None:
    """The usage source of ``dataset``: its usage table, else ``options["usage_path"]``."""
    opts = merged_options(dataset, options)
    engine = str(opts.get("usage_engine", "auto"))
    if dataset.has("usage"):
        return UsageSource(frame=dataset.table("usage"), engine=engine)
    path = opts.get("usage_path")
    if not path:
        return None
    paths = (str(path),) if isinstance(path, (str, os.PathLike)) else tuple(str(p) for p in path)
    cols = tuple(sorted((opts.get("usage_columns") or {}).items()))
    return UsageSource(paths=paths, columns=cols, engine=engine, date_format=opts.get("usage_date_format"))


def has_usage(dataset: Dataset, options: dict | None = None) -> bool:
    return usage_source(dataset, options) is not None


# -- the monthly cube --------------------------------------------------------------------------------
@dataclass
class UsageCube:
    accounts: pd.Index  # account ids; ``acct`` indexes into it
    features: pd.Index  # feature names; ``feat`` indexes into it (-1 = no feature)
    acct: np.ndarray  # int32
    user: np.ndarray  # int64 user key, unique per (account, user); -1 = no user id
    month: np.ndarray  # int32 months since 1970-01
    feat: np.ndarray  # int32
    days: np.ndarray | None  # uint32 day-of-month mask (None when the engine gave the reductions)
    events: np.ndarray | None  # float64
    has_users: bool
    has_features: bool
    engine: str
    rows: int = 0  # event rows read
    problems: list[Problem] = field(default_factory=list)
    #: reductions of the rows; an engine may provide them (DuckDB computes them in SQL and then
    #: need not send ``days``/``events`` per row), else they are derived from the rows on demand
    account_month_rows: tuple | None = None  # (acct, month, days, events), one row per (account, month)
    user_months: tuple | None = None  # (acct, user, month, days), one row per (user, month)
    feature_month_rows: tuple | None = None  # (acct, month, feat, users), one row per (account, month, feature)

    def __len__(self) -> int:
        return len(self.acct)

    def _months_span(self, month: np.ndarray) -> tuple[int, int]:
        m0 = int(month.min()) if len(month) else 0
        return m0, (int(month.max()) - m0 + 1 if len(month) else 1)

    def account_months(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """One row per (account, month) with events: (acct, month, day mask, events)."""
        if self.account_month_rows is None:
            month = self.month.astype(np.int64)
            m0, nm = self._months_span(month)
            g, uniq = pd.factorize(self.acct.astype(np.int64) * nm + (month - m0), use_na_sentinel=False)
            days = np.zeros(len(uniq), dtype=np.uint32)
            np.bitwise_or.at(days, g, self.days)
            uniq = np.asarray(uniq, dtype=np.int64)
            self.account_month_rows = ((uniq // nm).astype(np.int32), (uniq % nm + m0).astype(np.int32), days,
                                       np.bincount(g, weights=self.events, minlength=len(uniq)))
        return self.account_month_rows

    def users_by_month(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """One row per (user, month) with a user id: (acct, user, month, day mask)."""
        if self.user_months is None:
            ok = self.user >= 0
            user, month = self.user[ok], self.month[ok].astype(np.int64)
            ud, _ = pd.factorize(user, use_na_sentinel=False)
            m0, nm = self._months_span(month)
            g, uniq = pd.factorize(ud.astype(np.int64) * nm + (month - m0), use_na_sentinel=False)
            days = np.zeros(len(uniq), dtype=np.uint32)
            np.bitwise_or.at(days, g, self.days[ok])
            acct = np.empty(len(uniq), dtype=np.int32)
            acct[g] = self.acct[ok]
            usr = np.empty(len(uniq), dtype=np.int64)
            usr[g] = user
            self.user_months = (acct, usr, (np.asarray(uniq, dtype=np.int64) % nm + m0).astype(np.int32), days)
        return self.user_months

    def feature_months(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """One row per (account, month, feature) used: (acct, month, feat, users with an id)."""
        if self.feature_month_rows is None:
            ok = self.feat >= 0
            month = self.month[ok].astype(np.int64)
            m0, nm = self._months_span(month)
            nf = max(len(self.features), 1)
            key = (self.acct[ok].astype(np.int64) * nm + (month - m0)) * nf + self.feat[ok]
            g, uniq = pd.factorize(key, use_na_sentinel=False)
            users = np.bincount(g, weights=(self.user[ok] >= 0), minlength=len(uniq))
            uniq = np.asarray(uniq, dtype=np.int64)
            self.feature_month_rows = ((uniq // nf // nm).astype(np.int32), (uniq // nf % nm + m0).astype(np.int32),
                                       (uniq % nf).astype(np.int32), users)
        return self.feature_month_rows

    @property
    def first_month(self) -> pd.Timestamp | None:
        month = self.account_months()[1]
        return month_timestamp(int(month.min())) if len(month) else None

    @property
    def last_month(self) -> pd.Timestamp | None:
        month = self.account_months()[1]
        return month_timestamp(int(month.max())) if len(month) else None


def month_number(ts) -> int:
    """Months since 1970-01 of a timestamp."""
    ts = pd.Timestamp(ts)
    return (ts.year - EPOCH_YEAR) * 12 + ts.month - 1


def month_timestamp(number: int) -> pd.Timestamp:
    return pd.Timestamp(year=EPOCH_YEAR + number // 12, month=number % 12 + 1, day=1)


def _empty_cube(engine: str, problems=None) -> UsageCube:
    e = np.zeros(0, dtype=np.int32)
    return UsageCube(pd.Index([], dtype=object, name="account_id"), pd.Index([], dtype=object), e, e.astype(np.int64),
                     e, e, e.astype(np.uint32), e.astype(float), False, False, engine, 0, list(problems or []))


def _ids(values: pd.Series) -> np.ndarray:
    """Id column as object array of str, missing/blank as None."""
    arr = values.to_numpy(dtype=object, na_value=None)
    return arr


def _factorize(values: pd.Series, sort: bool) -> tuple[np.ndarray, pd.Index]:
    """Codes and uniques of an id column (:func:`factorize_ids`; sorted afterwards on the few
    uniques instead of sorting the rows)."""
    codes, uniques = factorize_ids(values)
    if sort and len(uniques) > 1:
        order = np.argsort(uniques.astype(str), kind="stable")
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        codes = np.where(codes >= 0, rank[np.maximum(codes, 0)], -1)
        uniques = uniques[order]
    return codes, pd.Index(uniques, dtype=object)


def cube_from_frame(frame: pd.DataFrame) -> UsageCube:
    """The monthly cube of a canonical usage frame (pandas/numpy engine)."""
    problems: list[Problem] = []
    n_rows = len(frame)
    if n_rows == 0:
        return _empty_cube("pandas")
    dates = pd.to_datetime(frame["date"]).to_numpy(dtype="datetime64[ns]")
    a_codes, accounts = _factorize(frame["account_id"], sort=True)
    valid = (a_codes >= 0) & ~np.isnat(dates)
    bad = int(n_rows - valid.sum())
    if bad:
        problems.append(Problem(Code.MISSING_VALUE, f"{bad} usage rows without an account or a date were not used",
                                Severity.WARNING, table="usage"))
    months_all = dates.astype("datetime64[M]")
    month = months_all.astype(np.int64)
    day = (dates.astype("datetime64[D]") - months_all.astype("datetime64[D]")).astype(np.int64)
    has_users = "user_id" in frame and frame["user_id"].notna().any()
    if has_users:
        u_codes, u_uniques = _factorize(frame["user_id"], sort=False)
        pair = np.where(u_codes >= 0, a_codes * (len(u_uniques) + 1) + u_codes, -1)
        user, _ = pd.factorize(pair, use_na_sentinel=False)
        user = np.where(u_codes >= 0, user, NO_USER).astype(np.int64)
    else:
        user = np.full(n_rows, NO_USER, dtype=np.int64)
    has_features = "feature" in frame and frame["feature"].notna().any()
    if has_features:
        f_codes, features = _factorize(frame["feature"], sort=True)
    else:
        f_codes, features = np.full(n_rows, NO_FEATURE, dtype=np.int64), pd.Index([], dtype=object)
    if "count" in frame:
        events = frame["count"].to_numpy(dtype=float, na_value=np.nan)
        events = np.where(np.isnan(events), 1.0, events)
    else:
        events = np.ones(n_rows)
    if not valid.all():
        a_codes, user, month, day, f_codes, events = (x[valid] for x in (a_codes, user, month, day, f_codes, events))
    if len(a_codes) == 0:
        return _empty_cube("pandas", problems)
    # one key per (account-or-user, month, feature); rows without a user are keyed by account
    n_users = int(user.max()) + 1 if len(user) else 0
    who = np.where(user >= 0, user, n_users + a_codes)
    m0 = int(month.min())
    n_months = int(month.max()) - m0 + 1
    n_feat = len(features) + 1
    key = (who * n_months + (month - m0)) * n_feat + (f_codes + 1)
    group, uniq = pd.factorize(key, use_na_sentinel=False)
    n_groups = len(uniq)
    days = np.zeros(n_groups, dtype=np.uint32)
    np.bitwise_or.at(days, group, (np.uint32(1) << day.astype(np.uint32)))
    ev = np.bincount(group, weights=events, minlength=n_groups)
    acct = np.empty(n_groups, dtype=np.int32)
    acct[group] = a_codes
    uniq = np.asarray(uniq, dtype=np.int64)
    f_g = (uniq % n_feat) - 1
    rest = uniq // n_feat
    m_g = rest % n_months + m0
    who_g = rest // n_months
    u_g = np.where(who_g < n_users, who_g, NO_USER)
    return UsageCube(pd.Index(accounts, name="account_id"), features, acct, u_g.astype(np.int64),
                     m_g.astype(np.int32), f_g.astype(np.int32), days, ev, bool(has_users), bool(has_features),
                     "pandas", n_rows, problems)


# -- DuckDB engine -------------------------------------------------------------------------------------
def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _is_parquet(path: str) -> bool:
    return Path(path).suffix.lower() in (".parquet", ".pq", ".parq")


def _reader_sql(src: UsageSource, con) -> tuple[str, dict[str, str]]:
    """FROM-clause reading the file(s) and the DuckDB type of each source column."""
    paths = "[" + ", ".join(_sql_str(p) for p in src.paths) + "]"
    if all(_is_parquet(p) for p in src.paths):
        reader = f"read_parquet({paths}, union_by_name=true)"
    else:
        ids = [src.column(c) for c in ("account_id", "user_id", "feature")]
        probe = f"read_csv({paths}, header=true, union_by_name=true)"
        sniffed = {r[0]: str(r[1]).upper() for r in con.execute(f"DESCRIBE SELECT * FROM {probe}").fetchall()}
        forced = [c for c in ids if c in sniffed]  # ids stay text ("007" is not 7)
        types = ", ".join(f"{_sql_str(c)}: 'VARCHAR'" for c in forced)
        reader = f"read_csv({paths}, header=true, union_by_name=true" + (f", types={{{types}}})" if types else ")")
        return reader, {c: ("VARCHAR" if c in forced else t) for c, t in sniffed.items()}
    described = con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
    return reader, {r[0]: str(r[1]).upper() for r in described}


def _id_sql(column: str, dtype: str) -> str:
    """Raw id expression (cheap: runs on every event row; see ``_NORM``)."""
    q = _quote(column)
    if any(t in dtype for t in ("DOUBLE", "FLOAT", "DECIMAL", "REAL")):
        return f"CAST(CAST({q} AS BIGINT) AS VARCHAR)"
    if "VARCHAR" not in dtype:
        return f"CAST({q} AS VARCHAR)"
    return q


def _norm(expr: str) -> str:
    """Like the cleaning layer: strip, blank = missing, "1001.0" -> "1001" (runs on the reduced
    rows only, then they are grouped again)."""
    return f"NULLIF(regexp_replace(trim({expr}), '^(-?[0-9]+)\\.0+$', '\\1'), '')"


def _date_sql(column: str, dtype: str, date_format: str | None) -> str:
    q = _quote(column)
    if "TIMESTAMP" in dtype or dtype == "DATE":
        return f"CAST({q} AS TIMESTAMP)"
    if date_format:
        return f"try_strptime(CAST({q} AS VARCHAR), {_sql_str(date_format)})"
    return f"TRY_CAST({q} AS TIMESTAMP)"


#: DuckDB's memory for an aggregation; beyond it, it spills to a temporary directory
DUCKDB_MEMORY_LIMIT = "600MB"


def _connect():
    import tempfile

    import duckdb

    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
    spill = Path(tempfile.gettempdir()) / "cs-desk-duckdb"
    con.execute(f"SET temp_directory = {_sql_str(str(spill))}")
    return con


def normalise_ids(values) -> np.ndarray:
    """Like the cleaning layer: strip, blank = missing, "1001.0" -> "1001" (object array, None missing)."""
    s = pd.Series(np.asarray(values, dtype=object), dtype=object)
    s = s.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else (str(v).strip() or None))
    return s.str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True).to_numpy(dtype=object)


def _dictionaries(con, table: str, where: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """Register accmap(a, ac) / feamap(f, fc): raw id -> code of its normalised id (sorted);
    returns the normalised account ids and features, and whether two raw ids became one."""
    out, merged = [], []
    for col, code, name in (("a", "ac", "accmap"), ("f", "fc", "feamap")):
        raw = con.execute(f"SELECT DISTINCT {col} FROM {table} WHERE {col} IS NOT NULL AND {where}").fetchnumpy()[col]
        raw = np.asarray(raw, dtype=object)
        norm = normalise_ids(raw)
        ok = np.array([v is not None for v in norm], dtype=bool)
        codes, uniques = pd.factorize(pd.Series(norm[ok], dtype=object), sort=True)
        frame = pd.DataFrame({col: pd.Series(raw[ok], dtype=object), code: codes.astype(np.int32)})
        con.register(f"{name}_df", frame)
        con.execute(f"CREATE TEMP TABLE {name} AS SELECT CAST({col} AS VARCHAR) AS {col}, "
                    f"CAST({code} AS INTEGER) AS {code} FROM {name}_df")
        con.unregister(f"{name}_df")
        out.append(np.asarray(uniques, dtype=object))
        merged.append(len(uniques) < len(raw))
    return out[0], out[1], any(merged)


def _user_key_sql() -> str:
    return ("CASE WHEN u IS NULL OR u = '' THEN -1 "
            "ELSE CAST(hash(accmap.ac, u) & 9223372036854775807 AS BIGINT) END")


def _missing_files(src: UsageSource) -> list[Problem]:
    return [Problem(Code.FILE_NOT_FOUND, f"usage file {p} was not found", Severity.ERROR, file=p, table="usage")
            for p in src.paths if not Path(p).exists()]


@dataclass(frozen=True)
class _ScanColumns:
    """SQL expressions of a usage file's columns, for the DuckDB scans (``a`` account, ``u``
    user, ``f`` feature, ``n`` events, ``ts`` timestamp)."""

    a: str
    u: str
    f: str
    n: str
    ts: str
    has_users: bool
    has_features: bool

    def select(self, reader: str) -> str:
        return f"SELECT {self.a} AS a, {self.u} AS u, {self.ts} AS ts, {self.f} AS f, {self.n} AS n FROM {reader}"


def _scan_columns(src: UsageSource, types: dict) -> tuple[_ScanColumns | None, list[Problem]]:
    """The column expressions, or None and the problem when the account or date column is missing."""
    acc_col, date_col = src.column("account_id"), src.column("date")
    for col in (acc_col, date_col):
        if col not in types:
            return None, [Problem(
                Code.MISSING_COLUMN, f"the usage file has no column {col!r} (columns: {', '.join(types)}); "
                "name it with the usage_columns option", Severity.ERROR, file=src.paths[0], table="usage")]
    user_col, feat_col, count_col = src.column("user_id"), src.column("feature"), src.column("count")
    has_users, has_features = user_col in types, feat_col in types
    return _ScanColumns(
        a=_id_sql(acc_col, types[acc_col]),
        u=_id_sql(user_col, types[user_col]) if has_users else "NULL::VARCHAR",
        f=_id_sql(feat_col, types[feat_col]) if has_features else "NULL::VARCHAR",
        n=f"coalesce(TRY_CAST({_quote(count_col)} AS DOUBLE), 1.0)" if count_col in types else "1.0",
        ts=_date_sql(date_col, types[date_col], src.date_format),
        has_users=has_users, has_features=has_features), []


def cube_from_file(src: UsageSource) -> UsageCube:
    """The monthly cube of usage file(s), aggregated by DuckDB in one scan."""
    problems = _missing_files(src)
    if problems:
        return _empty_cube("duckdb", problems)
    con = _connect()
    try:
        reader, types = _reader_sql(src, con)
        cols, problems = _scan_columns(src, types)
        if cols is None:
            return _empty_cube("duckdb", problems)
        has_users, has_features = cols.has_users, cols.has_features
        con.execute(f"""
            CREATE TEMP TABLE raw AS
            SELECT a, u, (year(ts) - {EPOCH_YEAR}) * 12 + month(ts) - 1 AS m, f,
                   bit_or(CAST(1 AS UINTEGER) << CAST(day(ts) - 1 AS UINTEGER)) AS dmask,
                   sum(n) AS n, count(*) AS nrows
            FROM ({cols.select(reader)})
            GROUP BY ALL""")
        total, bad = con.execute(
            "SELECT coalesce(sum(nrows), 0), coalesce(sum(nrows) FILTER (WHERE a IS NULL OR m IS NULL), 0) "
            "FROM raw").fetchone()
        accounts, features, merged = _dictionaries(con, "raw", "m IS NOT NULL")
        user_key = _user_key_sql() if has_users else "CAST(-1 AS BIGINT)"
        coded = f"""
            SELECT accmap.ac, {user_key} AS uk, CAST(m AS INTEGER) AS m, CAST(coalesce(feamap.fc, -1) AS INTEGER)
                   AS fc, CAST(dmask AS UINTEGER) AS dmask, CAST(n AS DOUBLE) AS n
            FROM raw JOIN accmap USING (a) LEFT JOIN feamap USING (f) WHERE m IS NOT NULL"""
        if merged:  # ids that differ only in spaces or "1001.0" became one: group again
            coded = f"""SELECT ac, uk, m, fc, CAST(bit_or(dmask) AS UINTEGER) AS dmask, sum(n) AS n
                        FROM ({coded}) GROUP BY ALL"""
        con.execute(f"CREATE TEMP TABLE coded AS {coded}")
        # the reductions the KPIs read, in SQL; per row only the keys travel to numpy
        res = con.execute("SELECT ac, uk, CAST(m AS INTEGER) AS m, fc FROM coded").fetchnumpy()
        am = con.execute("SELECT ac, CAST(m AS INTEGER) AS m, CAST(bit_or(dmask) AS UINTEGER) AS dmask, "
                         "sum(n) AS n FROM coded GROUP BY ALL").fetchnumpy()
        um = con.execute("SELECT ac, uk, m, CAST(bit_or(dmask) AS UINTEGER) AS dmask FROM coded WHERE uk >= 0 "
                         "GROUP BY ALL").fetchnumpy() if has_users else None
        fm = con.execute("SELECT ac, m, fc, CAST(count(*) FILTER (WHERE uk >= 0) AS DOUBLE) AS users FROM coded "
                         "WHERE fc >= 0 GROUP BY ALL").fetchnumpy()
        if bad:
            problems.append(Problem(Code.BAD_DATE, f"{int(bad)} usage rows without an account or a readable date "
                                    "were not used", Severity.WARNING, file=src.paths[0], table="usage"))
    finally:
        con.close()
    users = np.asarray(res["uk"], dtype=np.int64)
    cube = UsageCube(
        pd.Index(np.asarray(accounts, dtype=object), name="account_id"), pd.Index(np.asarray(features, dtype=object)),
        np.asarray(res["ac"], dtype=np.int32), users, np.asarray(res["m"], dtype=np.int32),
        np.asarray(res["fc"], dtype=np.int32), None, None, bool(has_users and (users >= 0).any()),
        bool(has_features and len(features)), "duckdb", int(total), problems)
    cube.account_month_rows = (np.asarray(am["ac"], dtype=np.int32), np.asarray(am["m"], dtype=np.int32),
                               np.asarray(am["dmask"], dtype=np.uint32), np.asarray(am["n"], dtype=float))
    cube.user_months = (np.asarray(um["ac"], dtype=np.int32), np.asarray(um["uk"], dtype=np.int64),
                        np.asarray(um["m"], dtype=np.int32), np.asarray(um["dmask"], dtype=np.uint32)) \
        if um is not None else (np.zeros(0, np.int32), np.zeros(0, np.int64), np.zeros(0, np.int32),
                                np.zeros(0, np.uint32))
    cube.feature_month_rows = (np.asarray(fm["ac"], dtype=np.int32), np.asarray(fm["m"], dtype=np.int32),
                               np.asarray(fm["fc"], dtype=np.int32), np.asarray(fm["users"], dtype=float))
    return cube


def read_usage_file(src: UsageSource) -> tuple[pd.DataFrame, list[Problem]]:
    """Usage file(s) as a canonical frame (the pandas fallback when DuckDB is not installed)."""
    frames = []
    for p in src.paths:
        if not Path(p).exists():
            return pd.DataFrame(), [Problem(Code.FILE_NOT_FOUND, f"usage file {p} was not found", Severity.ERROR,
                                            file=p, table="usage")]
        if _is_parquet(p):
            try:
                frames.append(pd.read_parquet(p))
            except ImportError:
                return pd.DataFrame(), [Problem(Code.UNSUPPORTED_FORMAT, "reading parquet needs duckdb or pyarrow; "
                                                "install cs-desk[fast]", Severity.ERROR, file=p, table="usage")]
        else:
            frames.append(pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""]))
    raw = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    out = pd.DataFrame()
    for name in ("account_id", "user_id", "date", "feature", "count"):
        col = src.column(name)
        if col not in raw:
            continue
        values = raw[col]
        if name == "date":
            out[name] = pd.to_datetime(values, errors="coerce", format=src.date_format)
        elif name == "count":
            out[name] = pd.to_numeric(values, errors="coerce").astype(float)
        else:
            s = values.astype(object).where(values.notna(), None)
            s = s.map(lambda v: None if v is None else (str(v).strip() or None))
            out[name] = s.str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True)
    return out, []


def _cache_key(src: UsageSource, kind: str):
    try:
        stats = tuple((p, os.stat(p).st_mtime_ns, os.stat(p).st_size) for p in src.paths)
    except OSError:
        return None
    return (kind, stats, src.columns, src.date_format, src.engine)


def _cached(key, build):
    if key is None:
        return build()
    if key not in _CACHE:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = build()
    return _CACHE[key]


def _use_duckdb(src: UsageSource) -> bool:
    if src.engine == "pandas":
        return False
    return duckdb_available()


def monthly_cube(src: UsageSource) -> UsageCube:
    """The monthly cube of a usage source (DuckDB for files when available, else pandas)."""
    if not src.is_file:
        return cube_from_frame(src.frame)
    if _use_duckdb(src):
        return _cached(_cache_key(src, "cube"), lambda: cube_from_file(src))

    def build():
        frame, problems = read_usage_file(src)
        if frame.empty:
            return _empty_cube("pandas", problems)
        cube = cube_from_frame(frame)
        cube.problems = problems + cube.problems
        return cube

    return _cached(_cache_key(src, "cube-pandas"), build)


def date_range(src: UsageSource) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """First and last month with usage (for the default KPI range)."""
    cube = monthly_cube(src)
    if not len(cube):
        return None
    return cube.first_month, cube.last_month


# -- daily reduction (snapshots, milestones) ------------------------------------------------------------
@dataclass
class DailyUsage:
    """Usage events by day, sorted by day: from a file one row per (account, user, day, feature)
    (DuckDB reduces), in memory one row per event."""

    accounts: pd.Index
    features: pd.Index
    acct: np.ndarray  # int32 into accounts
    user: np.ndarray  # int64 user key (-1 = none)
    day: np.ndarray  # int64 days since 1970-01-01
    feat: np.ndarray  # int32 (-1 = none)
    events: np.ndarray  # float64
    has_users: bool
    has_features: bool
    problems: list[Problem] = field(default_factory=list)


def _sorted_by_day(day: np.ndarray) -> np.ndarray:
    """``np.argsort(day, kind="stable")``; on day offsets that fit 16 bits (any export under
    179 years) numpy's stable sort is a radix sort, several times faster on millions of rows.
    A stable sort's order is unique, so both give the same permutation."""
    if len(day):
        lo = int(day.min())
        if int(day.max()) - lo < 2**16:
            return np.argsort((day - lo).astype(np.uint16), kind="stable")
    return np.argsort(day, kind="stable")


def _account_codes(values: pd.Series, accounts: pd.Index | None) -> tuple[np.ndarray, pd.Index]:
    """Account codes of the usage rows: into ``accounts`` when the caller already has the
    account ids (the rows' distinct ids are looked up there; rows of other accounts get -1 like
    rows without an account), else factorised."""
    if accounts is None:
        return _factorize(values, sort=False)
    codes, uniques = factorize_ids(values)
    return np.append(accounts.get_indexer(pd.Index(uniques, dtype=object)), -1)[codes], accounts


def _daily_from_frame(frame: pd.DataFrame, before: pd.Timestamp | None,
                      accounts: pd.Index | None = None) -> DailyUsage:
    n = len(frame)
    if n == 0:
        e = np.zeros(0, dtype=np.int64)
        return DailyUsage(pd.Index([], dtype=object), pd.Index([], dtype=object), e.astype(np.int32), e, e,
                          e.astype(np.int32), e.astype(float), False, False)
    dates = pd.to_datetime(frame["date"]).to_numpy(dtype="datetime64[ns]")
    a_codes, accounts = _account_codes(frame["account_id"], accounts)
    day = np.floor_divide(dates.view(np.int64), 86_400 * 10**9)  # = datetime64[D] (NaT rows are left out)
    valid = (a_codes >= 0) & ~np.isnat(dates)
    if before is not None:  # (rows are not copied: codes are filtered below)
        valid &= dates < np.datetime64(pd.Timestamp(before), "ns")
    # "has users / features" from the codes (-1 = missing) instead of a second pass over the text
    has_users = False
    if "user_id" in frame:
        u_codes, u_uniques = _factorize(frame["user_id"], sort=False)
        has_users = bool((u_codes >= 0).any())
    if has_users:
        user = np.where(u_codes >= 0, a_codes * (len(u_uniques) + 1) + u_codes, NO_USER)
    else:
        user = np.full(n, NO_USER, dtype=np.int64)
    has_features = False
    if "feature" in frame:
        f_codes, features = _factorize(frame["feature"], sort=True)
        has_features = bool((f_codes >= 0).any())
    if not has_features:
        f_codes, features = np.full(n, NO_FEATURE, dtype=np.int64), pd.Index([], dtype=object)
    events = None  # one event a row, unless the export counts them
    if "count" in frame:
        events = frame["count"].to_numpy(dtype=float, na_value=np.nan)
        events = np.where(np.isnan(events), 1.0, events)
    if not valid.all():
        a_codes, user, day, f_codes = (x[valid] for x in (a_codes, user, day, f_codes))
        events = None if events is None else events[valid]
    # no reduction needed in memory: the rows, sorted by day
    order = _sorted_by_day(day)
    return DailyUsage(pd.Index(accounts, name="account_id"), features, a_codes[order].astype(np.int32),
                      user[order], day[order], f_codes[order].astype(np.int32, copy=False),
                      np.ones(len(order)) if events is None else events[order], bool(has_users),
                      bool(has_features))


def _empty_daily(problems: list[Problem]) -> DailyUsage:
    out = _daily_from_frame(pd.DataFrame(columns=["account_id", "date"]), None)
    out.problems = problems
    return out


def _daily_from_file(src: UsageSource, before: pd.Timestamp | None) -> DailyUsage:
    problems = _missing_files(src)
    if problems:
        return _empty_daily(problems)
    con = _connect()
    try:
        reader, types = _reader_sql(src, con)
        cols, problems = _scan_columns(src, types)
        if cols is None:
            return _empty_daily(problems)
        has_users, has_features = cols.has_users, cols.has_features
        cond = f"AND ts < TIMESTAMP {_sql_str(str(pd.Timestamp(before)))}" if before is not None else ""
        con.execute(f"""
            CREATE TEMP TABLE raw AS
            SELECT a, u, CAST(ts AS DATE) AS d, f, sum(n) AS n
            FROM ({cols.select(reader)})
            WHERE ts IS NOT NULL {cond}
            GROUP BY ALL""")
        accounts, features, _ = _dictionaries(con, "raw", "TRUE")
        user_key = _user_key_sql() if has_users else "CAST(-1 AS BIGINT)"
        res = con.execute(f"""
            SELECT ac, uk, d, fc, sum(n) AS n FROM (
                SELECT accmap.ac, {user_key} AS uk, CAST(d - DATE '1970-01-01' AS BIGINT) AS d,
                       CAST(coalesce(feamap.fc, -1) AS INTEGER) AS fc, CAST(n AS DOUBLE) AS n
                FROM raw JOIN accmap USING (a) LEFT JOIN feamap USING (f))
            GROUP BY ALL ORDER BY d""").fetchnumpy()
    finally:
        con.close()
    users = np.asarray(res["uk"], dtype=np.int64)
    return DailyUsage(pd.Index(np.asarray(accounts, dtype=object), name="account_id"),
                      pd.Index(np.asarray(features, dtype=object)), np.asarray(res["ac"], dtype=np.int32), users,
                      np.asarray(res["d"], dtype=np.int64), np.asarray(res["fc"], dtype=np.int32),
                      np.asarray(res["n"], dtype=float), bool(has_users and (users >= 0).any()),
                      bool(has_features and len(features)))


def daily_usage(src: UsageSource, before: pd.Timestamp | None = None,
                accounts: pd.Index | None = None) -> DailyUsage:
    """Usage reduced to (account, user, day, feature) rows dated before ``before``.

    ``accounts`` (unique ids), for a usage table in memory: code the rows' accounts into it
    (``result.accounts`` is then ``accounts``) and leave out rows of other accounts."""
    if not src.is_file:
        return _daily_from_frame(src.frame, before, accounts)
    if _use_duckdb(src):
        return _cached(_cache_key(src, ("daily", str(before))), lambda: _daily_from_file(src, before))
    frame, problems = read_usage_file(src)
    if not len(frame):
        return _empty_daily(problems)
    out = _daily_from_frame(frame, before)
    out.problems = problems
    return out


def milestone_dates(daily: DailyUsage, feature: str | None, events: float) -> pd.Series:
    """Per account, the day on which its cumulative events (of ``feature``; any feature when
    None) reached ``events`` — the usage milestone of onboarding. Accounts that never got there
    are absent."""
    if feature is not None:
        pos = daily.features.get_indexer([feature])[0] if len(daily.features) else -1
        sel = daily.feat == pos if pos >= 0 else np.zeros(len(daily.feat), bool)
    else:
        sel = np.ones(len(daily.feat), bool)
    acct, day, ev = daily.acct[sel], daily.day[sel], daily.events[sel]
    if not len(acct):
        return pd.Series(dtype="datetime64[ns]", index=pd.Index([], dtype=object, name="account_id"))
    order = np.lexsort((day, acct))
    acct, day, ev = acct[order], day[order], ev[order]
    cum = pd.Series(ev).groupby(acct).cumsum().to_numpy()
    hit = cum >= float(events)
    first = pd.Series(day[hit]).groupby(acct[hit]).min()
    out = pd.Series((first.to_numpy() * 86400 * 10**9).astype("datetime64[ns]"),
                    index=pd.Index(daily.accounts.to_numpy()[first.index.to_numpy()], name="account_id"))
    return out
