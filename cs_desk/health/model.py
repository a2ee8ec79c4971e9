"""The health model: plain records, read from / written to a TOML file a person can read and diff.

``HealthModel.load(path)`` returns ``(model, problems)`` and never raises on a bad file: every
problem names the key (``components[3].scale.low``) and the line. With any error the model is
``None``; warnings (a gap between bands, a group without components) keep it.

The format is documented in ``docs/health.md``; in short::

    name = "Default health model"
    [bands]                      # red < 40 <= yellow < 70 <= green
    red = 40
    green = 70
    [groups.adoption]
    weight = 40                  # optional: defaults to the sum of its components' weights
    [[components]]
    id = "seat_utilization"
    group = "adoption"
    metric = "seat_utilization"
    weight = 20
    direction = "higher"
    scale = { type = "linear", low = 0.2, high = 0.9 }
    missing = "reweight"         # or "neutral" (50 points) / "zero"
    [[profiles]]
    name = "onboarding"
    when = { tenure_days = { lt = 90 } }
    priority = 10
    weights = { seat_utilization = 5 }
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from ..problems import Code, Problem
from . import tomlsource
from .conditions import Condition, parse_conditions
from .tomlsource import Checker, TomlSource

SCALE_TYPES = ("linear", "bounded", "bands", "percentile", "yesno")
MISSING_POLICIES = ("reweight", "neutral", "zero")
DIRECTIONS = ("higher", "lower")
NEUTRAL_POINTS = 50.0
BAND_NAMES = ("red", "yellow", "green")
UNKNOWN_BAND = "unknown"  # no component had data

#: Columns of ``cs_desk.accounts_snapshot.account_snapshot`` (the input contract). Metric names
#: are checked against these plus ``METRICS`` when that module is importable.
SNAPSHOT_COLUMNS = (
    "account_id", "account_name", "csm", "segment", "plan", "region", "industry", "status", "mrr",
    "mrr_3m_ago", "mrr_trend_3m", "arr", "active", "customer_since", "tenure_days", "renewal_date",
    "days_to_renewal", "seats", "active_users_30d", "seat_utilization", "depth", "features_used_30d",
    "events_30d", "events_prev_30d", "usage_trend", "last_activity", "days_since_last_activity",
    "days_active_30d", "activity_bucket", "tickets_90d", "urgent_tickets_90d", "open_tickets",
    "last_nps", "last_nps_date", "nps_weighted", "last_csat", "csat_weighted", "last_ces",
    "csm_sentiment", "csm_sentiment_age_days", "onboarded", "days_to_onboard", "onboarding_status",
    "referrals",
)

_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def snapshot_metrics() -> dict | None:
    """``cs_desk.accounts_snapshot.METRICS`` when that module exists, else None."""
    try:
        from ..accounts_snapshot import METRICS  # noqa: PLC0415 - optional, written elsewhere
    except Exception:  # pragma: no cover - depends on the rest of the tree
        return None
    return dict(METRICS)


def default_known_metrics() -> set[str]:
    """The snapshot contract's columns, plus ``METRICS`` and ``COLUMNS`` of
    ``cs_desk.accounts_snapshot`` when that module is importable."""
    names = set(SNAPSHOT_COLUMNS)
    metrics = snapshot_metrics()
    if metrics:
        names |= set(metrics)
    try:
        from ..accounts_snapshot import COLUMNS  # noqa: PLC0415
    except Exception:  # pragma: no cover - depends on the rest of the tree
        COLUMNS = ()
    return names | set(COLUMNS)


# ---------------------------------------------------------------------------------------------
# records
@dataclass(frozen=True)
class Band:
    """One step of a ``bands`` scale: values in [min, max) (or (min, max]) score ``points``."""

    points: float
    min: float | None = None  # None = open (no lower edge)
    max: float | None = None  # None = open (no upper edge)
    label: str = ""

    def describe(self, closed: str = "left") -> str:
        lo_br, hi_br = ("[", ")") if closed == "left" else ("(", "]")
        lo = "-inf" if self.min is None else f"{self.min:g}"
        hi = "inf" if self.max is None else f"{self.max:g}"
        return f"{lo_br if self.min is not None else '('}{lo}, {hi}{hi_br if self.max is not None else ')'} -> {self.points:g}"


@dataclass(frozen=True)
class Scale:
    """How a metric value becomes 0..100 points (see ``cs_desk.health.scales``)."""

    type: str
    low: float | None = None  # linear / bounded
    high: float | None = None
    bands: tuple[Band, ...] = ()  # bands
    closed: str = "left"  # bands: "left" = min <= v < max, "right" = min < v <= max
    outside: str = "zero"  # bounded: a value outside [low, high] scores "zero" or counts as "missing"
    yes: tuple[str, ...] = ()  # yesno: extra text values that mean yes
    yes_points: float | None = None  # yesno: default 100 when direction is higher, else 0
    no_points: float | None = None

    def points_for_yes(self, direction: str) -> tuple[float, float]:
        yes = self.yes_points if self.yes_points is not None else (100.0 if direction == "higher" else 0.0)
        no = self.no_points if self.no_points is not None else 100.0 - yes
        return yes, no

    def max_points(self, direction: str) -> float:
        if self.type == "bands":
            return max(b.points for b in self.bands) if self.bands else 0.0
        if self.type == "yesno":
            return max(self.points_for_yes(direction))
        return 100.0

    def describe(self, direction: str = "higher") -> str:
        if self.type in ("linear", "bounded"):
            a, b = (self.low, self.high) if direction == "higher" else (self.high, self.low)
            text = f"{a:g} -> 0 pts, {b:g} -> 100 pts"
            if self.type == "bounded":
                text += f"; outside [{self.low:g}, {self.high:g}]: {'0 pts' if self.outside == 'zero' else 'missing'}"
            else:
                text += " (clamped)"
            return f"{self.type}: {text}"
        if self.type == "bands":
            return "bands: " + "; ".join(b.describe(self.closed) for b in self.bands)
        if self.type == "percentile":
            return f"percentile in the portfolio ({'highest' if direction == 'higher' else 'lowest'} = 100 pts)"
        yes, no = self.points_for_yes(direction)
        return f"yes/no: yes -> {yes:g} pts, no -> {no:g} pts"

    def to_toml(self) -> dict:
        out: dict[str, Any] = {"type": self.type}
        if self.type in ("linear", "bounded"):
            out["low"], out["high"] = self.low, self.high
            if self.type == "bounded":
                out["outside"] = self.outside
        elif self.type == "bands":
            out["closed"] = self.closed
            rows = []
            for b in self.bands:
                row: dict[str, Any] = {}
                if b.min is not None:
                    row["min"] = b.min
                if b.max is not None:
                    row["max"] = b.max
                row["points"] = b.points
                if b.label:
                    row["label"] = b.label
                rows.append(row)
            out["bands"] = rows
        elif self.type == "yesno":
            if self.yes:
                out["yes"] = list(self.yes)
            if self.yes_points is not None:
                out["yes_points"] = self.yes_points
            if self.no_points is not None:
                out["no_points"] = self.no_points
        return out


@dataclass(frozen=True)
class Component:
    id: str
    metric: str
    weight: float
    scale: Scale
    direction: str = "higher"
    group: str | None = None  # None = the component is its own group
    missing: str = "reweight"
    stale_after_days: float | None = None  # older values count as missing
    age_metric: str | None = None  # column with the value's age in days; default <metric>_age_days
    undated: str = "keep"  # a value whose age is unknown: "keep" it or treat it as "missing"
    reason_metric: str | None = None  # optional column with reason codes (e.g. a CSM pulse reason)
    reasons: Mapping[str, str] = field(default_factory=dict)  # reason code -> readable text
    label: str = ""
    description: str = ""

    @property
    def group_id(self) -> str:
        return self.group or self.id

    @property
    def age_column(self) -> str:
        return self.age_metric or f"{self.metric}_age_days"

    def describe(self) -> str:
        text = f"{self.metric} ({self.direction} is better), {self.scale.describe(self.direction)}"
        text += {"reweight": "; missing: re-weight the rest", "neutral": "; missing: 50 pts",
                 "zero": "; missing: 0 pts"}[self.missing]
        if self.stale_after_days is not None:
            text += f"; older than {self.stale_after_days:g} days counts as missing"
        return text


@dataclass(frozen=True)
class Group:
    id: str
    weight: float | None = None  # None = sum of its components' weights
    label: str = ""


@dataclass(frozen=True)
class BandThresholds:
    red: float = 40.0  # score < red -> red
    green: float = 70.0  # score >= green -> green; yellow in between

    def band(self, score: float) -> str:
        if score is None or (isinstance(score, float) and math.isnan(score)):
            return UNKNOWN_BAND
        return "red" if score < self.red else "green" if score >= self.green else "yellow"

    def next_threshold(self, band: str) -> float | None:
        return {"red": self.red, "yellow": self.green}.get(band)


@dataclass(frozen=True)
class Profile:
    """Overrides for accounts matching ``when``. One profile applies per account: the matching
    profile with the highest ``priority`` (ties: the one written first); none = the model's
    defaults."""

    name: str
    when: tuple[Condition, ...]
    priority: int = 0
    weights: Mapping[str, float] = field(default_factory=dict)  # component id -> weight (0 = off)
    group_weights: Mapping[str, float] = field(default_factory=dict)
    bands: BandThresholds | None = None
    scales: Mapping[str, Scale] = field(default_factory=dict)  # component id -> scale
    description: str = ""


DEFAULT_PROFILE = "default"


@dataclass(frozen=True)
class HealthModel:
    name: str
    components: tuple[Component, ...]
    groups: tuple[Group, ...] = ()
    bands: BandThresholds = BandThresholds()
    profiles: tuple[Profile, ...] = ()
    description: str = ""
    source: str | None = field(default=None, compare=False)

    # -- structure ------------------------------------------------------------------------------
    @property
    def component_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.components)

    def component(self, cid: str) -> Component:
        for c in self.components:
            if c.id == cid:
                return c
        raise KeyError(f"health model {self.name!r} has no component {cid!r}")

    @property
    def group_ids(self) -> tuple[str, ...]:
        """Declared groups in file order, then each ungrouped component as its own group."""
        declared = [g.id for g in self.groups]
        implicit = [c.id for c in self.components if c.group is None]
        return tuple(declared + implicit)

    def group(self, gid: str) -> Group | None:
        for g in self.groups:
            if g.id == gid:
                return g
        return None

    def profiles_by_precedence(self) -> list[Profile]:
        order = sorted(range(len(self.profiles)), key=lambda i: (-self.profiles[i].priority, i))
        return [self.profiles[i] for i in order]

    def profile(self, name: str | None) -> Profile | None:
        if name in (None, DEFAULT_PROFILE):
            return None
        for p in self.profiles:
            if p.name == name:
                return p
        raise KeyError(f"health model {self.name!r} has no profile {name!r}")

    # -- weights --------------------------------------------------------------------------------
    def component_weight(self, cid: str, profile: Profile | None = None) -> float:
        if profile is not None and cid in profile.weights:
            return float(profile.weights[cid])
        return float(self.component(cid).weight)

    def group_weight(self, gid: str, profile: Profile | None = None) -> float:
        if profile is not None and gid in profile.group_weights:
            return float(profile.group_weights[gid])
        g = self.group(gid)
        if g is not None and g.weight is not None:
            return float(g.weight)
        return sum(self.component_weight(c.id, profile) for c in self.components if c.group_id == gid)

    def scale_of(self, cid: str, profile: Profile | None = None) -> Scale:
        if profile is not None and cid in profile.scales:
            return profile.scales[cid]
        return self.component(cid).scale

    def bands_of(self, profile: Profile | None = None) -> BandThresholds:
        return profile.bands if profile is not None and profile.bands is not None else self.bands

    def effective_weights(self, profile: str | Profile | None = None) -> dict[str, float]:
        """Each component's share of the score (sums to 1) when no data is missing."""
        prof = self.profile(profile) if isinstance(profile, str) or profile is None else profile
        gw = {g: self.group_weight(g, prof) for g in self.group_ids}
        in_group = {g: sum(self.component_weight(c.id, prof) for c in self.components if c.group_id == g)
                    for g in self.group_ids}
        live = {g: w for g, w in gw.items() if w > 0 and in_group[g] > 0}
        total = sum(live.values())
        out = {}
        for c in self.components:
            g = c.group_id
            w = self.component_weight(c.id, prof)
            out[c.id] = (live[g] / total) * (w / in_group[g]) if g in live and total > 0 else 0.0
        return out

    def weights_table(self) -> pd.DataFrame:
        """Weights as people read them: per profile, group and component, normalised to %."""
        rows = []
        for prof in [None, *self.profiles]:
            eff = self.effective_weights(prof)
            group_total = sum(max(self.group_weight(g, prof), 0) for g in self.group_ids
                              if any(self.component_weight(c.id, prof) > 0 for c in self.components if c.group_id == g))
            for c in self.components:
                gw = self.group_weight(c.group_id, prof)
                rows.append({
                    "profile": prof.name if prof else DEFAULT_PROFILE,
                    "group": c.group or "",
                    "group_weight_pct": 100 * gw / group_total if group_total and c.group else float("nan"),
                    "component": c.id,
                    "metric": c.metric,
                    "weight": self.component_weight(c.id, prof),
                    "weight_pct": 100 * eff[c.id],
                    "scale": self.scale_of(c.id, prof).describe(c.direction),
                    "missing": c.missing,
                })
        return pd.DataFrame(rows, columns=["profile", "group", "group_weight_pct", "component", "metric",
                                           "weight", "weight_pct", "scale", "missing"])

    # -- edits (new models; a model is never changed in place) ---------------------------------
    def with_weights(self, weights: Mapping[str, float] | None = None,
                     group_weights: Mapping[str, float] | None = None,
                     profile: str | None = None) -> "HealthModel":
        """A copy with some component/group weights changed (of the defaults, or of one profile)."""
        weights, group_weights = dict(weights or {}), dict(group_weights or {})
        for key in weights:
            self.component(key)
        if profile in (None, DEFAULT_PROFILE):
            comps = tuple(replace(c, weight=float(weights[c.id])) if c.id in weights else c for c in self.components)
            groups = list(self.groups)
            for gid, w in group_weights.items():
                g = self.group(gid)
                if g is None:
                    raise KeyError(f"health model {self.name!r} has no group {gid!r}")
                groups[groups.index(g)] = replace(g, weight=float(w))
            return replace(self, components=comps, groups=tuple(groups))
        prof = self.profile(profile)
        new = replace(prof, weights={**prof.weights, **weights}, group_weights={**prof.group_weights, **group_weights})
        return replace(self, profiles=tuple(new if p is prof else p for p in self.profiles))

    def with_bands(self, red: float, green: float) -> "HealthModel":
        return replace(self, bands=BandThresholds(float(red), float(green)))

    # -- files ----------------------------------------------------------------------------------
    @classmethod
    def load(cls, path, known_metrics: Iterable[str] | None = None) -> tuple["HealthModel | None", list[Problem]]:
        return load(path, known_metrics)

    @classmethod
    def loads(cls, text: str, file: str | None = None,
              known_metrics: Iterable[str] | None = None) -> tuple["HealthModel | None", list[Problem]]:
        return loads(text, file, known_metrics)

    def to_dict(self) -> dict:
        return model_to_dict(self)

    def to_toml(self) -> str:
        return dumps(self)

    def save(self, path) -> None:
        save(self, path)

    def signature(self) -> str:
        """Everything that decides component points (not weights or bands): equal signatures let
        a scorer re-weight without recomputing points."""
        d = self.to_dict()
        keep = {
            "components": [{k: v for k, v in c.items() if k not in ("weight", "label", "description")}
                           for c in d.get("components", [])],
            "profiles": [{"name": p["name"], "when": p.get("when"), "priority": p.get("priority", 0),
                          "scales": p.get("scales", {})} for p in d.get("profiles", [])],
        }
        return json.dumps(keep, sort_keys=True, default=str)


# ---------------------------------------------------------------------------------------------
# loading and validation
_TOP_KEYS = ("name", "description", "version", "bands", "groups", "components", "profiles")
_COMPONENT_KEYS = ("id", "metric", "weight", "group", "direction", "scale", "missing", "stale_after_days",
                   "age_metric", "undated", "reason_metric", "reasons", "label", "description")
_SCALE_KEYS = {
    "linear": ("type", "low", "high"),
    "bounded": ("type", "low", "high", "outside"),
    "bands": ("type", "bands", "closed"),
    "percentile": ("type",),
    "yesno": ("type", "yes", "yes_points", "no_points"),
}
_PROFILE_KEYS = ("name", "when", "priority", "weights", "group_weights", "bands", "scales", "description")


def load(path, known_metrics: Iterable[str] | None = None) -> tuple[HealthModel | None, list[Problem]]:
    """Read a health model file. ``(model, problems)``; ``model`` is None when there is an error."""
    model, problems = tomlsource.build(tomlsource.read(path, "health model"),
                                       lambda data, source: from_dict(data, source, known_metrics))
    return (replace(model, source=str(path)) if model is not None else None), problems


def loads(text: str, file: str | None = None,
          known_metrics: Iterable[str] | None = None) -> tuple[HealthModel | None, list[Problem]]:
    return tomlsource.build(tomlsource.parse(text, file), lambda data, source: from_dict(data, source, known_metrics))


def validate(model: HealthModel, known_metrics: Iterable[str] | None = None) -> list[Problem]:
    """Check a model built in code (e.g. by the GUI) exactly as a file would be checked. Lines
    refer to ``model.to_toml()``, the text that saving would write."""
    _, problems = loads(dumps(model), None, known_metrics)
    return problems


def from_dict(data: dict, source: TomlSource | None = None,
              known_metrics: Iterable[str] | None = None) -> tuple[HealthModel | None, list[Problem]]:
    check = Checker(source or TomlSource(""), "health model", Code.HEALTH_MODEL_INVALID)
    known = set(known_metrics) if known_metrics is not None else default_known_metrics()
    check.known_keys(data, (), _TOP_KEYS)
    name = check.string(data, (), "name", default="Health model") or "Health model"
    description = check.string(data, (), "description", default="") or ""
    if "version" in data and data["version"] != 1:
        check.add(("version",), Code.HEALTH_MODEL_INVALID, "only format version 1 is known", data["version"])

    bands = BandThresholds()
    if "bands" in data:
        raw = check.table_of(data["bands"], ("bands",))
        if raw is not None:
            bands = _bands(raw, ("bands",), check) or bands

    groups: list[Group] = []
    raw_groups = data.get("groups", {})
    if check.table_of(raw_groups, ("groups",)) is not None:
        for gid, graw in raw_groups.items():
            p = ("groups", gid)
            if not _ID.match(gid):
                check.add(p, Code.HEALTH_MODEL_INVALID, "a group id is letters, digits and _ (starting with a letter)", gid)
            graw = check.table_of(graw, p)
            if graw is None:
                continue
            check.known_keys(graw, p, ("weight", "label"))
            weight = check.number(graw, p, "weight", above=0, code=Code.BAD_WEIGHT)
            groups.append(Group(gid, weight, check.string(graw, p, "label", default="") or ""))
    group_ids = {g.id for g in groups}

    components: list[Component] = []
    raw_components = data.get("components")
    if raw_components is None:
        check.add((), Code.MISSING_KEY, "a health model needs at least one [[components]] table")
        raw_components = []
    elif not isinstance(raw_components, list):
        check.add(("components",), Code.WRONG_TYPE, "write each component as a [[components]] table")
        raw_components = []
    raw_ids = [c.get("id") if isinstance(c, dict) else None for c in raw_components]
    first_at: dict[str, int] = {}
    for i, cid in enumerate(raw_ids):
        if isinstance(cid, str):
            if cid in first_at:
                check.add(("components", i, "id"), Code.DUPLICATE_ID,
                          f"component id {cid!r} is already used by components[{first_at[cid] + 1}]", cid)
            else:
                first_at[cid] = i
    for i, craw in enumerate(raw_components):
        comp = _component(craw, ("components", i), check, known, group_ids)
        if comp is not None and first_at.get(comp.id) == i:
            components.append(comp)
    used_groups = {c.get("group") for c in raw_components if isinstance(c, dict) and isinstance(c.get("group"), str)}
    for g in groups:
        if g.id not in used_groups:
            check.warn(("groups", g.id), Code.HEALTH_MODEL_INVALID, "no component is in this group; it is ignored")
    clash = group_ids & {c.id for c in components if c.group is None}
    for cid in sorted(clash):
        check.add(("groups", cid), Code.DUPLICATE_ID, f"{cid!r} is both a group and an ungrouped component", cid)

    profiles: list[Profile] = []
    raw_profiles = data.get("profiles", [])
    if not isinstance(raw_profiles, list):
        check.add(("profiles",), Code.WRONG_TYPE, "write each profile as a [[profiles]] table")
        raw_profiles = []
    names: set[str] = set()
    for i, praw in enumerate(raw_profiles):
        prof = _profile(praw, ("profiles", i), check, known, set(first_at), group_ids)
        if prof is None:
            continue
        if prof.name in names or prof.name == DEFAULT_PROFILE:
            check.add(("profiles", i, "name"), Code.DUPLICATE_ID,
                      f"profile name {prof.name!r} is used twice" if prof.name in names
                      else f"{DEFAULT_PROFILE!r} names the model's own weights; choose another name", prof.name)
            continue
        names.add(prof.name)
        profiles.append(prof)

    if check.failed:
        return None, check.problems
    model = HealthModel(name, tuple(components), tuple(groups), bands, tuple(profiles), description)
    for i, prof in enumerate(model.profiles):
        if not any(w > 0 for w in model.effective_weights(prof).values()):
            check.add(("profiles", i, "weights"), Code.BAD_WEIGHT,
                      "this profile switches every component off; leave at least one weight above 0")
    if check.failed:
        return None, check.problems
    return model, check.problems


def _bands(raw: dict, path: tuple, check: Checker) -> BandThresholds | None:
    check.known_keys(raw, path, ("red", "green"))
    red = check.number(raw, path, "red", default=40.0, at_least=0, at_most=100)
    green = check.number(raw, path, "green", default=70.0, at_least=0, at_most=100)
    if red is None or green is None:
        return None
    if red > green:
        check.add(path + ("green",), Code.THRESHOLDS_OUT_OF_ORDER,
                  f"green ({green:g}) must not be below red ({red:g}): red < {red:g} <= yellow < {green:g} <= green")
        return None
    return BandThresholds(red, green)


def _component(raw: Any, path: tuple, check: Checker, known: set[str] | None,
               group_ids: set[str]) -> Component | None:
    raw = check.table_of(raw, path)
    if raw is None:
        return None
    n_before = len(check.problems)
    check.known_keys(raw, path, _COMPONENT_KEYS)
    cid = check.string(raw, path, "id", required=True)
    if cid is not None and not _ID.match(cid):
        check.add(path + ("id",), Code.HEALTH_MODEL_INVALID,
                  "an id is letters, digits and _ (starting with a letter); it names output columns", cid)
    metric = check.string(raw, path, "metric", required=True)
    if metric is not None and known is not None and metric not in known:
        check.add(path + ("metric",), Code.UNKNOWN_METRIC, _unknown_metric(metric, known), metric)
    weight = check.number(raw, path, "weight", required=True, above=0, code=Code.BAD_WEIGHT)
    group = check.string(raw, path, "group")
    if group is not None and group not in group_ids:
        check.add(path + ("group",), Code.HEALTH_MODEL_INVALID,
                  f"group {group!r} is not declared; add a [groups.{group}] table", group)
    scale_raw = raw.get("scale")
    scale_type = scale_raw.get("type") if isinstance(scale_raw, dict) else None
    needs_direction = scale_type in ("linear", "bounded", "percentile")
    direction = check.string(raw, path, "direction", choices=DIRECTIONS, required=needs_direction,
                             default="higher")
    scale = None
    if scale_raw is None:
        check.add(path, Code.MISSING_KEY, "`scale` is required, e.g. scale = { type = \"linear\", low = 0, high = 1 }")
    else:
        scale = _scale(scale_raw, path + ("scale",), check)
    missing = check.string(raw, path, "missing", default="reweight", choices=MISSING_POLICIES)
    stale = check.number(raw, path, "stale_after_days", above=0)
    age_metric = check.string(raw, path, "age_metric")
    undated = check.string(raw, path, "undated", default="keep", choices=("keep", "missing"))
    if stale is not None and known is not None and metric is not None:
        age_col = age_metric or f"{metric}_age_days"
        if age_col not in known:
            check.add(path + ("age_metric" if age_metric else "stale_after_days",), Code.UNKNOWN_METRIC,
                      f"staleness needs the value's age in days; {age_col!r} is not a per-account metric"
                      + ("" if age_metric else " (set age_metric)"), age_col)
    elif age_metric is not None and stale is None:
        check.warn(path + ("age_metric",), Code.HEALTH_MODEL_INVALID, "age_metric is used only with stale_after_days")
    reason_metric = check.string(raw, path, "reason_metric")
    reasons: dict[str, str] = {}
    if "reasons" in raw:
        rtab = check.table_of(raw["reasons"], path + ("reasons",))
        for code, text in (rtab or {}).items():
            if not isinstance(text, str):
                check.add(path + ("reasons", code), Code.WRONG_TYPE, "a reason's text must be text", text)
            else:
                reasons[str(code)] = text
    label = check.string(raw, path, "label", default="") or ""
    description = check.string(raw, path, "description", default="") or ""
    if check.errors_since(n_before) or scale is None or cid is None or metric is None or weight is None:
        return None
    return Component(cid, metric, weight, scale, direction or "higher", group, missing or "reweight", stale,
                     age_metric, undated or "keep", reason_metric, reasons, label, description)


def _unknown_metric(metric: str, known: set[str]) -> str:
    import difflib

    close = difflib.get_close_matches(metric, sorted(known), n=1)
    return f"unknown metric {metric!r}" + (f"; did you mean {close[0]!r}?" if close else
                                           "; it is not a column of the per-account snapshot")


def _scale(raw: Any, path: tuple, check: Checker) -> Scale | None:
    raw = check.table_of(raw, path)
    if raw is None:
        return None
    stype = check.string(raw, path, "type", required=True, choices=SCALE_TYPES)
    if stype is None:
        return None
    check.known_keys(raw, path, _SCALE_KEYS[stype])
    n_before = len(check.problems)
    if stype in ("linear", "bounded"):
        low = check.number(raw, path, "low", required=True)
        high = check.number(raw, path, "high", required=True)
        outside = check.string(raw, path, "outside", default="zero", choices=("zero", "missing"))
        if low is not None and high is not None and not low < high:
            check.add(path + ("high",), Code.THRESHOLDS_OUT_OF_ORDER,
                      f"high ({high:g}) must be above low ({low:g}); use direction = \"lower\" to reverse a scale")
        if len(check.problems) != n_before:
            return None
        return Scale(stype, low=low, high=high, outside=outside or "zero")
    if stype == "bands":
        closed = check.string(raw, path, "closed", default="left", choices=("left", "right"))
        rows = raw.get("bands")
        if not isinstance(rows, list) or not rows:
            check.add(path + (("bands",) if "bands" in raw else ()), Code.MISSING_KEY if rows is None else Code.WRONG_TYPE,
                      "a bands scale needs `bands = [{ max = 1, points = 0 }, { min = 1, points = 100 }, ...]`")
            return None
        bands: list[Band] = []
        for j, braw in enumerate(rows):
            p = path + ("bands", j)
            braw = check.table_of(braw, p)
            if braw is None:
                continue
            check.known_keys(braw, p, ("min", "max", "points", "label"))
            lo = check.number(braw, p, "min")
            hi = check.number(braw, p, "max")
            pts = check.number(braw, p, "points", required=True, at_least=0, at_most=100)
            if lo is not None and hi is not None and not lo < hi:
                check.add(p + ("max",), Code.THRESHOLDS_OUT_OF_ORDER, f"max ({hi:g}) must be above min ({lo:g})")
                continue
            if pts is not None:
                bands.append(Band(pts, lo, hi, check.string(braw, p, "label", default="") or ""))
        if len(check.problems) != n_before:
            return None
        order = sorted(range(len(bands)), key=lambda j: -math.inf if bands[j].min is None else bands[j].min)
        for a, b in zip(order, order[1:]):
            ba, bb = bands[a], bands[b]
            a_hi = math.inf if ba.max is None else ba.max
            b_lo = -math.inf if bb.min is None else bb.min
            if b_lo < a_hi:
                check.add(path + ("bands", b), Code.THRESHOLDS_OUT_OF_ORDER,
                          f"this band overlaps band {a + 1} ({ba.describe(closed)})")
            elif b_lo > a_hi:
                check.warn(path + ("bands", b), Code.HEALTH_MODEL_INVALID,
                           f"gap between {a_hi:g} and {b_lo:g}: values there count as missing")
        if check.errors_since(n_before):
            return None
        return Scale("bands", bands=tuple(bands), closed=closed or "left")
    if stype == "percentile":
        return Scale("percentile")
    # yesno
    yes: tuple[str, ...] = ()
    if "yes" in raw:
        if not isinstance(raw["yes"], list) or not all(isinstance(v, (str, int, float)) for v in raw["yes"]):
            check.add(path + ("yes",), Code.WRONG_TYPE, "`yes` is a list of values that mean yes", raw["yes"])
        else:
            yes = tuple(str(v) for v in raw["yes"])
    yp = check.number(raw, path, "yes_points", at_least=0, at_most=100)
    np_ = check.number(raw, path, "no_points", at_least=0, at_most=100)
    if len(check.problems) != n_before:
        return None
    return Scale("yesno", yes=yes, yes_points=yp, no_points=np_)


def _override_weights(raw: dict, path: tuple, key: str, ids: set[str], what: str, check: Checker) -> dict[str, float]:
    """A profile's ``weights`` / ``group_weights`` table: known ids, numbers >= 0."""
    out: dict[str, float] = {}
    table = check.table_of(raw[key], path + (key,)) if key in raw else {}
    for name, w in (table or {}).items():
        if name not in ids:
            check.add(path + (key, name), Code.UNKNOWN_KEY, f"no {what} {name!r} in this model", name)
            continue
        value = check.number({name: w}, path + (key,), name, at_least=0, code=Code.BAD_WEIGHT)
        if value is not None:
            out[name] = value
    return out


def _profile(raw: Any, path: tuple, check: Checker, known: set[str] | None,
             comps: set[str], group_ids: set[str]) -> Profile | None:
    raw = check.table_of(raw, path)
    if raw is None:
        return None
    n_before = len(check.problems)
    check.known_keys(raw, path, _PROFILE_KEYS)
    name = check.string(raw, path, "name", required=True)
    if "when" not in raw:
        check.add(path, Code.MISSING_KEY, "`when` is required, e.g. when = { tenure_days = { lt = 90 } }")
        when: tuple[Condition, ...] = ()
    else:
        when = parse_conditions(raw["when"], path + ("when",), check, known, Code.HEALTH_MODEL_INVALID)
        if not when and not check.errors_since(n_before):
            check.add(path + ("when",), Code.HEALTH_MODEL_INVALID, "a profile needs at least one condition")
    priority = check.number(raw, path, "priority", default=0, integer=True)
    weights = _override_weights(raw, path, "weights", comps, "component", check)
    group_weights = _override_weights(raw, path, "group_weights", group_ids, "group", check)
    bands = None
    if "bands" in raw:
        btab = check.table_of(raw["bands"], path + ("bands",))
        if btab is not None:
            bands = _bands(btab, path + ("bands",), check)
    scales: dict[str, Scale] = {}
    st = check.table_of(raw["scales"], path + ("scales",)) if "scales" in raw else {}
    for cid, sraw in (st or {}).items():
        if cid not in comps:
            check.add(path + ("scales", cid), Code.UNKNOWN_KEY, f"no component {cid!r} in this model", cid)
            continue
        scale = _scale(sraw, path + ("scales", cid), check)
        if scale is not None:
            scales[cid] = scale
    description = check.string(raw, path, "description", default="") or ""
    if check.errors_since(n_before) or name is None:
        return None
    return Profile(name, when, priority, weights, group_weights, bands, scales, description)


# ---------------------------------------------------------------------------------------------
# writing
def model_to_dict(model: HealthModel) -> dict:
    out: dict[str, Any] = {"name": model.name}
    if model.description:
        out["description"] = model.description
    out["bands"] = {"red": model.bands.red, "green": model.bands.green}
    if model.groups:
        out["groups"] = {}
        for g in model.groups:
            gd: dict[str, Any] = {}
            if g.weight is not None:
                gd["weight"] = g.weight
            if g.label:
                gd["label"] = g.label
            out["groups"][g.id] = gd
    comps = []
    for c in model.components:
        d: dict[str, Any] = {"id": c.id}
        if c.label:
            d["label"] = c.label
        if c.group:
            d["group"] = c.group
        d["metric"] = c.metric
        d["weight"] = c.weight
        d["direction"] = c.direction
        d["scale"] = c.scale.to_toml()
        d["missing"] = c.missing
        if c.stale_after_days is not None:
            d["stale_after_days"] = c.stale_after_days
            if c.undated != "keep":
                d["undated"] = c.undated
        if c.age_metric:
            d["age_metric"] = c.age_metric
        if c.reason_metric:
            d["reason_metric"] = c.reason_metric
        if c.reasons:
            d["reasons"] = dict(c.reasons)
        if c.description:
            d["description"] = c.description
        comps.append(d)
    out["components"] = comps
    if model.profiles:
        profs = []
        for p in model.profiles:
            d = {"name": p.name, "priority": p.priority, "when": [c.to_toml() for c in p.when]}
            if p.description:
                d["description"] = p.description
            if p.weights:
                d["weights"] = dict(p.weights)
            if p.group_weights:
                d["group_weights"] = dict(p.group_weights)
            if p.bands is not None:
                d["bands"] = {"red": p.bands.red, "green": p.bands.green}
            if p.scales:
                d["scales"] = {k: s.to_toml() for k, s in p.scales.items()}
            profs.append(d)
        out["profiles"] = profs
    return out


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10]
    raise TypeError(f"cannot write {value!r} to TOML")


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def dumps(model: HealthModel) -> str:
    """The model as readable TOML (one table per component, inline scales, comments on bands)."""
    d = model_to_dict(model)
    lines = [f"name = {_toml_value(d['name'])}"]
    if "description" in d:
        lines.append(f"description = {_toml_value(d['description'])}")
    b = d["bands"]
    lines += ["", f"[bands]  # red < {b['red']:g} <= yellow < {b['green']:g} <= green",
              f"red = {_toml_value(b['red'])}", f"green = {_toml_value(b['green'])}"]
    for gid, g in d.get("groups", {}).items():
        lines += ["", f"[groups.{_toml_key(gid)}]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in g.items()]
    eff = model.effective_weights()
    for c in d["components"]:
        lines += ["", "[[components]]"]
        for k, v in c.items():
            if k == "scale" and v.get("type") == "bands":
                rows = v["bands"]
                head = {kk: vv for kk, vv in v.items() if kk != "bands"}
                # one band per line, so a diff shows which band changed
                lines.append("scale = { " + ", ".join(f"{kk} = {_toml_value(vv)}" for kk, vv in head.items()) + ", bands = [")
                lines += [f"    {_toml_value(r)}," for r in rows]
                lines.append("] }")
                continue
            line = f"{k} = {_toml_value(v)}"
            if k == "weight":
                line += f"  # {100 * eff[c['id']]:.1f} % of the score"
            lines.append(line)
    for p in d.get("profiles", []):
        lines += ["", "[[profiles]]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in p.items()]
    return "\n".join(lines) + "\n"


def save(model: HealthModel, path) -> None:
    """Write the model as TOML: to a temporary file next to the target, then moved into place."""
    from ..io.atomic import atomic_path

    with atomic_path(path) as tmp:
        Path(tmp).write_text(dumps(model), encoding="utf-8", newline="\n")
