"""TOML files a person writes (health models, playbooks): parse, and say on which line a key is.

:mod:`tomllib` parses but forgets positions, so problems found *after* parsing ("weight must be
above 0") could not name a line. :class:`TomlSource` scans the text once more and records, for
every key path (``("components", 2, "scale", "low")``), the 1-based line it is written on —
including keys inside inline tables and elements of multi-line arrays. ``line_of`` falls back to
the longest recorded prefix (the table header, the ``[[components]]`` line), which is the right
place to point at for a *missing* key.

:class:`Checker` collects :class:`~cs_desk.problems.Problem` records while a loader walks the
parsed dict: every problem names the file, the line (``row``) and the dotted key (``column``).
"""
from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ..problems import Code, Problem, Severity

def dotted(path: Iterable) -> str:
    """``("components", 2, "scale", "low")`` -> ``components[3].scale.low`` (1-based, as people count)."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part + 1}]"
        else:
            out += ("." if out else "") + str(part)
    return out


_BARE = re.compile(r"[A-Za-z0-9_-]+")


class TomlSource:
    """Line numbers of every key of a TOML text (which tomllib already accepted)."""

    def __init__(self, text: str, file: str | None = None):
        self.text = text
        self.file = file
        self.lines: dict[tuple, int] = {}
        self._arrays: dict[tuple, int] = {}
        self._line_starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
        try:
            self._scan()
        except Exception:  # pragma: no cover - positions are a convenience, never fatal
            pass

    # -- lookup -----------------------------------------------------------------------------
    def line_of(self, path: Iterable) -> int | None:
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None

    # -- scanner ----------------------------------------------------------------------------
    def _line(self, pos: int) -> int:
        lo, hi = 0, len(self._line_starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self._line_starts[mid] <= pos:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1

    def _record(self, path: tuple, pos: int) -> None:
        self.lines.setdefault(path, self._line(pos))

    def _skip_ws(self, pos: int, newlines: bool) -> int:
        t = self.text
        while pos < len(t):
            c = t[pos]
            if c in " \t\r" or (newlines and c == "\n"):
                pos += 1
            elif c == "#":
                while pos < len(t) and t[pos] != "\n":
                    pos += 1
            else:
                break
        return pos

    def _key(self, pos: int) -> tuple[list[str], int]:
        t = self.text
        parts: list[str] = []
        while True:
            pos = self._skip_ws(pos, False)
            if t.startswith('"', pos) or t.startswith("'", pos):
                q = t[pos]
                end = pos + 1
                while end < len(t) and t[end] != q:
                    end += 2 if (q == '"' and t[end] == "\\") else 1
                raw = t[pos + 1:end]
                parts.append(raw.encode().decode("unicode_escape") if q == '"' and "\\" in raw else raw)
                pos = end + 1
            else:
                m = _BARE.match(t, pos)
                if not m:
                    raise ValueError("bad key")
                parts.append(m.group(0))
                pos = m.end()
            pos = self._skip_ws(pos, False)
            if pos < len(t) and t[pos] == ".":
                pos += 1
                continue
            return parts, pos

    def _resolve(self, parts: list[str], array_last: bool) -> tuple:
        resolved: list = []
        for i, part in enumerate(parts):
            resolved.append(part)
            key = tuple(resolved)
            last = i == len(parts) - 1
            if last and array_last:
                self._arrays[key] = self._arrays.get(key, 0) + 1
                resolved.append(self._arrays[key] - 1)
            elif not last and key in self._arrays:
                resolved.append(self._arrays[key] - 1)
        return tuple(resolved)

    def _string_end(self, pos: int) -> int:
        t = self.text
        for q in ('"""', "'''"):
            if t.startswith(q, pos):
                end = t.find(q, pos + 3)
                end = len(t) if end < 0 else end + 3
                while end < len(t) and t[end] == q[0]:  # up to two quotes may close it
                    end += 1
                return end
        q = t[pos]
        end = pos + 1
        while end < len(t) and t[end] != q and t[end] != "\n":
            end += 2 if (q == '"' and t[end] == "\\") else 1
        return end + 1

    def _value(self, pos: int, path: tuple) -> int:
        t = self.text
        pos = self._skip_ws(pos, False)
        if pos >= len(t):
            return pos
        c = t[pos]
        if c in "\"'":
            return self._string_end(pos)
        if c == "{":
            pos += 1
            while True:
                pos = self._skip_ws(pos, True)
                if pos >= len(t) or t[pos] == "}":
                    return pos + 1
                if t[pos] == ",":
                    pos += 1
                    continue
                start = pos
                parts, pos = self._key(pos)
                self._record(path + tuple(parts), start)
                pos = self._skip_ws(pos, False) + 1  # '='
                pos = self._value(pos, path + tuple(parts))
        if c == "[":
            pos += 1
            index = 0
            while True:
                pos = self._skip_ws(pos, True)
                if pos >= len(t) or t[pos] == "]":
                    return pos + 1
                if t[pos] == ",":
                    pos += 1
                    continue
                self._record(path + (index,), pos)
                pos = self._value(pos, path + (index,))
                index += 1
        end = pos
        while end < len(t) and t[end] not in ",]}\n#":
            end += 1
        return end

    def _scan(self) -> None:
        t = self.text
        current: tuple = ()
        pos = 0
        while True:
            pos = self._skip_ws(pos, True)
            if pos >= len(t):
                return
            if t.startswith("[[", pos):
                parts, end = self._key(pos + 2)
                current = self._resolve(parts, array_last=True)
                self._record(current, pos)
                pos = t.index("]]", end) + 2
            elif t[pos] == "[":
                parts, end = self._key(pos + 1)
                current = self._resolve(parts, array_last=False)
                self._record(current, pos)
                pos = t.index("]", end) + 1
            else:
                start = pos
                parts, pos = self._key(pos)
                path = current + tuple(parts)
                self._record(path, start)
                pos = self._skip_ws(pos, False) + 1  # '='
                pos = self._value(pos, path)


_TOML_POS = re.compile(r"\(at line (\d+), column (\d+)\)")


def parse(text: str, file: str | None = None) -> tuple[dict | None, TomlSource, list[Problem]]:
    """Parse TOML text; a syntax error is one problem with its line, never an exception."""
    source = TomlSource("", file)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = _TOML_POS.search(str(exc))
        message = _TOML_POS.sub("", str(exc)).strip()
        return None, source, [Problem(Code.TOML_SYNTAX, f"not valid TOML: {message}", Severity.ERROR,
                                      file=file, row=int(m.group(1)) if m else None)]
    return data, TomlSource(text, file), []


def read(path, kind: str) -> tuple[dict | None, TomlSource, list[Problem]]:
    """Read and parse a TOML file; unreadable files are one problem, never an exception."""
    file = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        return None, TomlSource("", file), [Problem(Code.FILE_NOT_FOUND, f"{kind} file not found", Severity.ERROR, file=file)]
    except OSError as exc:
        return None, TomlSource("", file), [Problem(Code.FILE_UNREADABLE, f"{kind} file could not be read: {exc}", Severity.ERROR, file=file)]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, TomlSource("", file), [Problem(Code.FILE_UNREADABLE, f"{kind} file is not UTF-8 text", Severity.ERROR, file=file)]
    return parse(text, file)


def build(parsed: tuple[dict | None, TomlSource, list[Problem]], builder) -> tuple[Any, list[Problem]]:
    """``builder(data, source) -> (value, problems)`` on the result of :func:`read` / :func:`parse`;
    a file that could not be parsed gives ``(None, its problems)``."""
    data, source, problems = parsed
    if data is None:
        return None, problems
    value, more = builder(data, source)
    return value, problems + more


# ---------------------------------------------------------------------------------------------
@dataclass
class Checker:
    """Collects located problems while a loader walks a parsed TOML dict."""

    source: TomlSource
    table: str  # e.g. "health model", for Problem.table
    invalid_code: Code = Code.HEALTH_MODEL_INVALID
    problems: list[Problem] = field(default_factory=list)

    def add(self, path: tuple, code: Code, message: str, value: Any = None,
            severity: Severity = Severity.ERROR) -> None:
        key = dotted(path)
        self.problems.append(Problem(
            code, f"{key}: {message}" if key else message, severity, file=self.source.file,
            row=self.source.line_of(path), column=key or None,
            value=None if value is None else _short(value), table=self.table))

    def warn(self, path: tuple, code: Code, message: str, value: Any = None) -> None:
        self.add(path, code, message, value, Severity.WARNING)

    @property
    def failed(self) -> bool:
        return self.errors_since(0)

    def errors_since(self, start: int) -> bool:
        """Was an error added after the first ``start`` problems?"""
        return any(p.severity is Severity.ERROR for p in self.problems[start:])

    # -- typed access -------------------------------------------------------------------------
    def table_of(self, raw: Any, path: tuple) -> dict | None:
        if isinstance(raw, dict):
            return raw
        self.add(path, Code.WRONG_TYPE, f"must be a table (e.g. `{dotted(path[-1:]) or 'key'} = {{ ... }}`), "
                                        f"not {_kind(raw)}", raw)
        return None

    def known_keys(self, raw: dict, path: tuple, allowed: Iterable[str]) -> None:
        allowed = list(allowed)
        for key in raw:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(allowed)}"
                self.add(path + (key,), Code.UNKNOWN_KEY, f"unknown key{hint}", key)

    def string(self, raw: dict, path: tuple, key: str, default: Any = None, required: bool = False,
               choices: Iterable[str] | None = None) -> Any:
        if key not in raw:
            if required:
                self.add(path, Code.MISSING_KEY, f"`{key}` is required")
            return default
        value = raw[key]
        if not isinstance(value, str):
            self.add(path + (key,), Code.WRONG_TYPE, f"must be text, not {_kind(value)}", value)
            return default
        if choices is not None:
            choices = list(choices)
            if value not in choices:
                self.add(path + (key,), self.invalid_code, f"must be one of {', '.join(choices)}", value)
                return default
        return value

    def number(self, raw: dict, path: tuple, key: str, default: Any = None, required: bool = False,
               above: float | None = None, at_least: float | None = None, at_most: float | None = None,
               code: Code | None = None, integer: bool = False) -> Any:
        if key not in raw:
            if required:
                self.add(path, Code.MISSING_KEY, f"`{key}` is required")
            return default
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
            self.add(path + (key,), Code.WRONG_TYPE,
                     f"must be {'a whole number' if integer else 'a number'}, not {_kind(value)}", value)
            return default
        if value != value:  # nan
            self.add(path + (key,), Code.WRONG_TYPE, "must be a number, not nan", value)
            return default
        bad = ((above is not None and not value > above) or (at_least is not None and value < at_least)
               or (at_most is not None and value > at_most))
        if bad:
            rng = []
            if above is not None:
                rng.append(f"above {above:g}")
            if at_least is not None:
                rng.append(f"at least {at_least:g}")
            if at_most is not None:
                rng.append(f"at most {at_most:g}")
            self.add(path + (key,), code or self.invalid_code, f"must be {' and '.join(rng)}", value)
            return default
        return float(value) if not integer else int(value)

    def boolean(self, raw: dict, path: tuple, key: str, default: bool) -> bool:
        if key not in raw:
            return default
        value = raw[key]
        if not isinstance(value, bool):
            self.add(path + (key,), Code.WRONG_TYPE, f"must be true or false, not {_kind(value)}", value)
            return default
        return value


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."
