"""Column mapping: which canonical table a sheet holds and which source column feeds each field.

``recognise(raw_sheet)`` looks at the sheet name (or csv file name) and the headers. For each
table it matches headers to fields, best first:

1. the header *is* the canonical field name (``account_id``, ``MRR``)       confidence 1.0
2. a recognised vendor export (:mod:`cs_desk.io.presets`) maps the header   confidence 0.95
3. the header is a known alias in :mod:`cs_desk.schema`                     confidence 0.9
4. fuzzy: difflib ratio >= 0.85 against a field name or alias              confidence ~0.6-0.75

and scores the table (required fields found, share of columns explained, sheet name, preset).
A sheet with an account id column and at least three month-like headers is a *wide* MRR sheet.
A saved :class:`MappingFile` entry for the file/sheet always wins.
"""
from __future__ import annotations

import datetime as dt
import difflib
import fnmatch
import functools
import math
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..problems import Code, Problem, Severity
from ..schema import SURVEY_TYPES, TABLES, Table
from .presets import DERIVED_FIELDS, PRESETS, Preset
from .readers import RawSheet

FUZZY_MIN = 0.85
LAYOUTS = ("long", "wide")

_CURRENCY_WORDS = {"usd", "eur", "gbp", "chf", "jpy", "cad", "aud", "nzd", "sek", "nok", "dkk", "inr", "brl",
                   "mxn", "pln", "czk", "huf", "zar", "sgd", "hkd", "cny", "$", "€", "£", "¥", "₹"}
_BRACKETS = re.compile(r"\s*[\(\[\{][^\)\]\}]*[\)\]\}]\s*$")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def normalise_header(text) -> str:
    """Header text reduced for matching: case, spacing and punctuation ignored, and trailing
    suffixes such as ``(UTC)``, ``(metadata)``, ``[EUR]``, ``(America/New_York)`` or a trailing
    currency / unit (``MRR $``, ``Amount in USD``, ``Discount %``) dropped.

    >>> normalise_header("Current Period Start (UTC)")
    'current period start'
    >>> normalise_header("subscription.plan_id")
    'subscription plan id'
    """
    return _normalise(text if isinstance(text, str) or text is None else str(text))


@functools.lru_cache(maxsize=8192)
def _normalise(text) -> str:
    if text is None:
        return ""
    s = unicodedata.normalize("NFKC", str(text)).strip()
    s = _CAMEL.sub(" ", s) if not s.isupper() else s
    s = s.lower()
    while True:
        t = _BRACKETS.sub("", s)
        if t == s or not t.strip():
            break
        s = t
    s = s.replace("%", " ").replace("#", " number ")
    s = re.sub(r"[\s_\-./:,;|\\'\"`*?!]+", " ", s).strip()
    words = s.split()
    while len(words) > 1 and words[-1] in _CURRENCY_WORDS:
        words.pop()
        if len(words) > 1 and words[-1] in ("in", "per"):
            words.pop()
    while words and words[0] in ("$", "€", "£"):
        words.pop(0)
    return " ".join(words)


# --------------------------------------------------------------------------- month headers

_MONTHS = {m.lower(): i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}
_MONTHS.update({name.lower(): i for i, name in enumerate(
    ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
     "November", "December"], start=1)})
_MONTHS["sept"] = 9
_MONTH_WORD = "|".join(sorted(_MONTHS, key=len, reverse=True))
_MONTH_PATTERNS = [
    (re.compile(r"^(\d{4})[-/. ](\d{1,2})(?:[-/. ](\d{1,2}))?(?:[ t].*)?$"), "ym"),
    (re.compile(r"^(\d{1,2})[-/. ](\d{4})$"), "my"),
    (re.compile(r"^(\d{4})(\d{2})$"), "ym"),
    (re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$"), "dmy?"),
    (re.compile(rf"^({_MONTH_WORD})[\s\-/.']*(\d{{4}}|\d{{2}})$"), "Ny"),
    (re.compile(rf"^(\d{{4}})[\s\-/.]*({_MONTH_WORD})$"), "yN"),
]
_MONTH_NOISE = re.compile(r"\b(mrr|revenue|arr|month|monthly|total|amount)\b")


def parse_month_header(value) -> pd.Timestamp | None:
    """The month a wide-sheet header stands for (first day of the month), or None.

    Accepts real dates, Excel serial numbers, ``2024-01``, ``2024/01``, ``01/2024``,
    ``Jan 2024``, ``January 2024``, ``Jan-24``, ``202401`` and full dates (the month is kept).
    """
    if value is None:
        return None
    if isinstance(value, (dt.date, dt.datetime, pd.Timestamp)):
        return pd.Timestamp(value.year, value.month, 1)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and (math.isnan(value) or not value.is_integer()):
            return None
        if 20000 <= value <= 80000:  # Excel serial for 1954..2119
            d = dt.date(1899, 12, 30) + dt.timedelta(days=int(value))
            return pd.Timestamp(d.year, d.month, 1)
        value = str(int(value))
    s = str(value).strip().lower()
    s = _MONTH_NOISE.sub(" ", s).strip(" -_:")
    s = re.sub(r"\s+", " ", s)
    if re.fullmatch(r"\d{5}(\.0)?", s):
        return parse_month_header(float(s))
    for pattern, kind in _MONTH_PATTERNS:
        m = pattern.match(s)
        if not m:
            continue
        try:
            if kind == "ym":
                y, mo = int(m.group(1)), int(m.group(2))
            elif kind == "my":
                mo, y = int(m.group(1)), int(m.group(2))
            elif kind == "dmy?":
                a, b, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
                mo = b if a > 12 else a  # 31/01/2024 or 01/31/2024; 01/02/2024 is taken as US
                if a > 12 and b > 12:
                    return None
            elif kind == "Ny":
                mo, y = _MONTHS[m.group(1)], int(m.group(2))
                y = y + 2000 if y < 100 else y
            else:
                y, mo = int(m.group(1)), _MONTHS[m.group(2)]
        except (KeyError, ValueError):
            return None
        if 1 <= mo <= 12 and 1950 <= y <= 2199:
            return pd.Timestamp(y, mo, 1)
        return None
    return None


# --------------------------------------------------------------------------- recognition

@dataclass
class Recognition:
    """How one sheet maps onto a canonical table. ``table`` is None when nothing fits."""

    table: str | None
    mapping: dict[str, str] = field(default_factory=dict)  # canonical field -> source column
    confidence: float = 0.0  # overall, 0..1
    field_confidence: dict[str, float] = field(default_factory=dict)
    unmapped: tuple[str, ...] = ()  # source columns no field reads
    layout: str = "long"
    wide_month_columns: dict[str, pd.Timestamp] = field(default_factory=dict)
    missing: tuple[str, ...] = ()  # required fields (or one-of groups) not found
    defaults: dict[str, str] = field(default_factory=dict)  # constant values for unmapped fields
    preset: str | None = None
    options: dict = field(default_factory=dict)  # options from a saved mapping entry
    how: str = "auto"  # "auto", "saved" or "explicit"

    @property
    def complete(self) -> bool:
        return self.table is not None and not self.missing


def _sheet_name_score(names: list[str], table: Table) -> float:
    best = 0.0
    targets = [normalise_header(s) for s in table.sheet_names] + [normalise_header(table.name)]
    for name in names:
        n = normalise_header(name)
        if not n:
            continue
        for t in targets:
            if n == t:
                best = max(best, 2.0)
            elif re.search(rf"\b{re.escape(t)}\b", n):
                best = max(best, 1.0)
    return best


def _preset_hits(p: Preset, norm_cols: set[str]) -> int:
    markers = p.markers or tuple(p.columns)
    return sum(normalise_header(m) in norm_cols for m in set(markers))


def _active_presets(norm_cols: set[str]) -> list[tuple[Preset, int]]:
    out = []
    for p in PRESETS:
        hits = _preset_hits(p, norm_cols)
        mapped = sum(normalise_header(h) in norm_cols for h in p.columns)
        if hits >= p.min_hits and mapped >= 1:
            out.append((p, hits))
    return out


def _fields_of(table: Table) -> dict[str, tuple[str, ...]]:
    out = {f.name: tuple(dict.fromkeys([normalise_header(f.name)] + [normalise_header(a) for a in f.aliases]))
           for f in table.fields}
    for pseudo in DERIVED_FIELDS.get(table.name, {}):
        out[pseudo] = (normalise_header(pseudo),)
    return out


def _match_columns(table: Table, columns: list[str], presets: list[Preset]) -> tuple[dict[str, str], dict[str, float]]:
    """Assign source columns to fields, best candidates first (each used once)."""
    fields = _fields_of(table)
    norm = {c: normalise_header(c) for c in columns}
    candidates: list[tuple[float, int, str, str]] = []  # (confidence, order, field, column)
    order = 0
    for col in columns:
        n = norm[col]
        if not n:
            continue
        for p in presets:
            for src, fld in p.columns.items():
                if normalise_header(src) == n and fld in fields:
                    candidates.append((0.95, order, fld, col))
        for fld, names in fields.items():
            if n == names[0]:
                candidates.append((1.0, order, fld, col))
            elif n in names[1:]:
                candidates.append((0.9, order, fld, col))
            else:
                ratio = max(_ratio(n, a) for a in names)
                if ratio >= FUZZY_MIN:
                    candidates.append((round(0.75 * ratio, 3), order, fld, col))
        if table.name == "surveys" and "recommend" in n and "likely" in n:
            candidates.append((0.8, order, "score", col))  # the NPS question itself
        order += 1
    candidates.sort(key=lambda c: (-c[0], c[1]))
    mapping: dict[str, str] = {}
    conf: dict[str, float] = {}
    used: set[str] = set()
    for c, _, fld, col in candidates:
        if fld in mapping or col in used:
            continue
        mapping[fld] = col
        conf[fld] = c
        used.add(col)
    return mapping, conf


@functools.lru_cache(maxsize=1 << 16)
def _ratio(a: str, b: str) -> float:
    """Similarity of two normalised headers (memoised: every sheet is tried against every table)."""
    m = difflib.SequenceMatcher(None, a, b)
    if m.real_quick_ratio() < FUZZY_MIN or m.quick_ratio() < FUZZY_MIN:
        return 0.0
    return m.ratio()


def _missing(table: Table, mapping: dict[str, str], defaults: dict[str, str]) -> tuple[str, ...]:
    have = set(mapping) | set(defaults)
    missing = [f for f in table.required if f not in have]
    if table.one_of and not any(all(f in have for f in group) for group in table.one_of):
        missing.append(" or ".join("+".join(g) for g in table.one_of))
    return tuple(missing)


def _default_survey(names: list[str]) -> str | None:
    for name in names:
        n = normalise_header(name)
        for word in n.split():
            if word in SURVEY_TYPES and SURVEY_TYPES[word] == word:
                return word
    return None


def _order_mapping(table: Table, mapping: dict[str, str]) -> dict[str, str]:
    order = list(table.field_names) + list(DERIVED_FIELDS.get(table.name, {}))
    return {f: mapping[f] for f in order if f in mapping}


def _wide(raw: RawSheet, names: list[str]) -> Recognition | None:
    months = {}
    for col in raw.frame.columns:
        ts = parse_month_header(col)
        if ts is not None:
            months[col] = ts
    if len(months) < 3:
        return None
    mrr = TABLES["mrr"]
    others = [c for c in raw.frame.columns if c not in months]
    mapping, conf = _match_columns(mrr, others, [])
    mapping = {k: v for k, v in mapping.items() if k in ("account_id", "currency")}
    if "account_id" not in mapping:
        # an accounts-like id column ("Customer", "Company") is the row key of a wide sheet
        acc, acc_conf = _match_columns(TABLES["accounts"], others, [p for p, _ in _active_presets(
            {normalise_header(c) for c in others})])
        if "account_id" in acc:
            mapping["account_id"], conf["account_id"] = acc["account_id"], acc_conf["account_id"]
    if "account_id" not in mapping:
        return None
    conf = {k: conf[k] for k in mapping}
    unmapped = tuple(c for c in others if c not in mapping.values())
    return Recognition(table="mrr", mapping=mapping, confidence=round(min(conf.values()), 3),
                       field_confidence=conf, unmapped=unmapped, layout="wide", wide_month_columns=months)


def recognise(raw: RawSheet, saved: "MappingFile | None" = None, table_hint: str | None = None) -> Recognition:
    """Recognise the table a sheet holds and map its columns (see the module docstring)."""
    names = [n for n in (raw.sheet, Path(raw.file).stem) if n]
    if saved is not None:
        entry = saved.entry_for(raw.file, raw.sheet)
        if entry is not None and (table_hint is None or entry.table == table_hint):
            return _from_entry(raw, entry)
    columns = [str(c) for c in raw.frame.columns]
    if table_hint in (None, "mrr"):
        wide = _wide(raw, names)
        if wide is not None:
            return wide
    norm_cols = {normalise_header(c) for c in columns}
    active = _active_presets(norm_cols)
    best: tuple[float, Recognition] | None = None
    for table in TABLES.values():
        if table_hint is not None and table.name != table_hint:
            continue
        presets = [p for p, _ in active if p.table == table.name]
        mapping, conf = _match_columns(table, columns, presets)
        defaults: dict[str, str] = {}
        for p in presets:
            defaults.update({k: v for k, v in p.defaults.items() if k not in mapping})
        if table.name == "surveys" and "survey" not in mapping:
            guess = _default_survey(names)
            if guess:
                defaults["survey"] = guess
        missing = _missing(table, mapping, defaults)
        n_required = len(table.required)
        found_required = sum(f in mapping or f in defaults for f in table.required)
        explained = len(mapping) / max(len(columns), 1)
        optional = [f for f in table.field_names if f not in table.required]
        score = (10.0 if not missing else 3.0 * found_required / max(n_required, 1))
        score += 0.5 * found_required + 1.0 * explained
        score += 0.3 * sum(f in mapping for f in optional) / max(len(optional), 1)
        score += _sheet_name_score(names, table) + (2.0 if presets else 0.0)
        if not mapping and table_hint is None:
            continue
        hinted = bool(presets) or _sheet_name_score(names, table) > 0
        if table_hint is None and not hinted and (missing or len(mapping) < 2):
            continue  # incomplete or one-column matches count only when the name or a preset points here
        req_conf = [conf.get(f, 0.0) if f not in defaults else 0.9 for f in table.required]
        overall = min(req_conf) if req_conf and not missing else 0.3 * (found_required / max(n_required, 1))
        rec = Recognition(
            table=table.name, mapping=_order_mapping(table, mapping), confidence=round(overall, 3),
            field_confidence={f: conf[f] for f in _order_mapping(table, mapping)},
            unmapped=tuple(c for c in columns if c not in mapping.values()), layout="long",
            missing=missing, defaults=defaults, preset=presets[0].name if presets else None)
        if best is None or score > best[0]:
            best = (score, rec)
    if best is None:
        return Recognition(table=None, unmapped=tuple(columns))
    return best[1]


def _from_entry(raw: RawSheet, entry: "MappingEntry") -> Recognition:
    table = TABLES[entry.table]
    columns = [str(c) for c in raw.frame.columns]
    mapping = {f: c for f, c in entry.columns.items() if c in columns}
    months: dict[str, pd.Timestamp] = {}
    if entry.layout == "wide":
        for col in columns:
            if col in mapping.values():
                continue
            ts = parse_month_header(col)
            if ts is not None:
                months[col] = ts
    defaults = dict(entry.defaults)
    missing = _missing(table, mapping, defaults) if entry.layout == "long" else (
        () if "account_id" in mapping else ("account_id",))
    absent = tuple(f"{f} (column {c!r} is not in the sheet)" for f, c in entry.columns.items() if c not in columns)
    return Recognition(
        table=entry.table, mapping=_order_mapping(table, mapping), confidence=1.0,
        field_confidence={f: 1.0 for f in mapping},
        unmapped=tuple(c for c in columns if c not in mapping.values() and c not in months),
        layout=entry.layout, wide_month_columns=months, missing=tuple(dict.fromkeys(missing + absent)),
        defaults=defaults, options=dict(entry.options), how="saved")


# --------------------------------------------------------------------------- mapping file

OPTION_TYPES: dict[str, tuple[type, ...]] = {
    "end_date_inclusive": (bool,),
    "date_order": (str,),
    "currency": (str,),
    "decimal": (str,),
    "cents": (bool, list),
}
OPTION_VALUES = {"date_order": ("dmy", "mdy", "ymd"), "decimal": (".", ",")}

MAPPING_HEADER = """\
# cs-desk column mapping.
#
# One [[source]] block per file (and sheet). cs-desk reads this file before guessing, so a block
# here always wins over automatic recognition. Edit it in any text editor:
#   file    = file name (or a pattern such as "billing_*.csv") the block applies to
#   sheet   = sheet name inside a workbook (leave it out for csv files or to match every sheet)
#   table   = accounts, mrr, subscriptions, usage, tickets, surveys or renewals
#   layout  = "long" (one row per record) or "wide" (MRR only: one column per month)
#   [source.columns]  canonical field = "header in your file"
#   [source.defaults] canonical field = "constant value" (e.g. survey = "nps")
#   [source.options]  end_date_inclusive = true   (the end date is the last day covered)
#                     date_order = "dmy" | "mdy" | "ymd"   (how to read 03/04/2024)
#                     currency = "EUR"             (keep only rows in this currency)
#                     decimal = ","                (1.234,50 style numbers)
#                     cents = true                 (money columns are in cents)
"""


@dataclass
class MappingEntry:
    file: str
    table: str
    sheet: str | None = None
    layout: str = "long"
    columns: dict[str, str] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    options: dict = field(default_factory=dict)

    def matches(self, file: str, sheet: str | None) -> bool:
        name = Path(file).name
        if not (fnmatch.fnmatch(name.lower(), Path(self.file).name.lower()) or
                Path(self.file).as_posix().lower() == Path(file).as_posix().lower()):
            return False
        return self.sheet is None or (sheet is not None and self.sheet.strip().lower() == sheet.strip().lower())

    def as_toml(self) -> dict:
        d: dict = {"file": self.file}
        if self.sheet is not None:
            d["sheet"] = self.sheet
        d["table"] = self.table
        d["layout"] = self.layout
        d["columns"] = dict(self.columns)
        if self.defaults:
            d["defaults"] = dict(self.defaults)
        if self.options:
            d["options"] = dict(self.options)
        return d


@dataclass
class MappingFile:
    """Saved column mappings (TOML), one entry per file/sheet, plus global options."""

    entries: list[MappingEntry] = field(default_factory=list)
    options: dict = field(default_factory=dict)
    path: str | None = None

    def entry_for(self, file: str, sheet: str | None) -> MappingEntry | None:
        exact = [e for e in self.entries if e.matches(file, sheet) and e.sheet is not None]
        if exact:
            return exact[0]
        return next((e for e in self.entries if e.matches(file, sheet)), None)

    def add(self, file: str, sheet: str | None, recognition: Recognition, options: dict | None = None) -> MappingEntry:
        """Remember a recognition (e.g. after the user confirmed it in ``cs-desk map``)."""
        entry = MappingEntry(file=Path(file).name, sheet=sheet, table=recognition.table or "",
                             layout=recognition.layout, columns=dict(recognition.mapping),
                             defaults=dict(recognition.defaults), options=dict(options or recognition.options))
        self.entries = [e for e in self.entries if not (e.file == entry.file and e.sheet == entry.sheet)]
        self.entries.append(entry)
        return entry

    # ---- load / save
    @classmethod
    def load(cls, path: str | Path) -> tuple["MappingFile", list[Problem]]:
        p = Path(path)
        file = str(path)
        try:
            with open(p, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            return cls(path=file), [Problem(Code.FILE_NOT_FOUND, "The mapping file does not exist.",
                                            Severity.ERROR, file=file)]
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
            return cls(path=file), [Problem(Code.MAPPING_INVALID, f"The mapping file is not valid TOML: {exc}.",
                                            Severity.ERROR, file=file)]
        return cls.from_dict(data, file)

    @classmethod
    def from_dict(cls, data: dict, file: str | None = None) -> tuple["MappingFile", list[Problem]]:
        problems: list[Problem] = []

        def bad(key: str, msg: str) -> None:
            problems.append(Problem(Code.MAPPING_INVALID, msg, Severity.ERROR, file=file, column=key))

        mf = cls(path=file)
        for key in data:
            if key not in ("source", "options"):
                bad(key, f"Unknown key {key!r}; expected [[source]] blocks and [options].")
        mf.options = _check_options(data.get("options", {}), "options", bad)
        sources = data.get("source", [])
        if not isinstance(sources, list):
            bad("source", "'source' must be a list of [[source]] blocks.")
            sources = []
        for i, s in enumerate(sources):
            where = f"source[{i}]"
            if not isinstance(s, dict):
                bad(where, f"{where} must be a table.")
                continue
            for key in s:
                if key not in ("file", "sheet", "table", "layout", "columns", "defaults", "options"):
                    bad(f"{where}.{key}", f"Unknown key {where}.{key}.")
            table = s.get("table")
            if not isinstance(s.get("file"), str) or not s.get("file"):
                bad(f"{where}.file", f"{where}.file must name the file the block applies to.")
                continue
            if table not in TABLES:
                bad(f"{where}.table", f"{where}.table = {table!r} is not a table; use one of {', '.join(TABLES)}.")
                continue
            layout = s.get("layout", "long")
            if layout not in LAYOUTS or (layout == "wide" and table != "mrr"):
                bad(f"{where}.layout", f"{where}.layout = {layout!r} is not allowed (\"long\", or \"wide\" for mrr).")
                layout = "long"
            known = set(TABLES[table].field_names) | set(DERIVED_FIELDS.get(table, {}))
            columns = {}
            for fld, src in dict(s.get("columns", {})).items():
                if fld not in known:
                    bad(f"{where}.columns.{fld}", f"{where}.columns.{fld}: table {table!r} has no field {fld!r}.")
                elif not isinstance(src, str):
                    bad(f"{where}.columns.{fld}", f"{where}.columns.{fld} must be a header name (text).")
                else:
                    columns[fld] = src
            defaults = {}
            for fld, val in dict(s.get("defaults", {})).items():
                if fld not in known:
                    bad(f"{where}.defaults.{fld}", f"{where}.defaults.{fld}: table {table!r} has no field {fld!r}.")
                else:
                    defaults[fld] = str(val)
            options = _check_options(s.get("options", {}), f"{where}.options", bad)
            sheet = s.get("sheet")
            mf.entries.append(MappingEntry(file=s["file"], sheet=str(sheet) if sheet is not None else None,
                                           table=table, layout=layout, columns=columns, defaults=defaults,
                                           options=options))
        return mf, problems

    def to_dict(self) -> dict:
        d: dict = {}
        if self.options:
            d["options"] = dict(self.options)
        d["source"] = [e.as_toml() for e in self.entries]
        return d

    def dumps(self) -> str:
        import tomli_w

        return MAPPING_HEADER + "\n" + tomli_w.dumps(self.to_dict())

    def save(self, path: str | Path) -> None:
        from .atomic import atomic_path

        with atomic_path(path) as tmp:
            Path(tmp).write_text(self.dumps(), encoding="utf-8")
        self.path = str(path)


def _check_options(opts, where: str, bad) -> dict:
    if not isinstance(opts, dict):
        bad(where, f"{where} must be a table of options.")
        return {}
    out = {}
    for key, val in opts.items():
        if key not in OPTION_TYPES:
            bad(f"{where}.{key}", f"Unknown option {where}.{key}; known: {', '.join(OPTION_TYPES)}.")
        elif not isinstance(val, OPTION_TYPES[key]):
            bad(f"{where}.{key}", f"Option {where}.{key} has the wrong type ({type(val).__name__}).")
        elif key in OPTION_VALUES and val not in OPTION_VALUES[key]:
            bad(f"{where}.{key}", f"Option {where}.{key} = {val!r}; use one of {', '.join(OPTION_VALUES[key])}.")
        else:
            out[key] = val
    return out
