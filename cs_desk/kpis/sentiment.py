"""Sentiment KPIs from survey responses: NPS, CSAT, CES (DESIGN.md, "Sentiment").

Conventions (stated in each KPI's formula):

* **NPS** (Net Promoter Score, Bain/Reichheld): "How likely are you to recommend ...?" on 0-10.
  Promoters answer 9-10, passives 7-8, detractors 0-6; NPS = % promoters - % detractors, -100..100.
* **CSAT**: satisfaction on 1-5; the score is the share of satisfied answers (4 "satisfied" and
  5 "very satisfied", the "top-two-box"), 0..1.
* **CES** (Customer Effort Score 2.0, Gartner/CEB): agreement with "The company made it easy for
  me to handle my issue" on 1-7, 7 = strongly agree = very easy; the score is the mean, and
  **higher is better**. (The original 2010 CES asked "how much effort ..." on 1-5 where lower was
  better; an export on that scale is reported as a scale mismatch, see below.)

Scale detection: each survey type is expected on its scale (``schema.SURVEY_SCALES``). The
scores actually present are checked per type; when they do not fit (e.g. CSAT answers up to 10),
the responses of that type are set aside and a ``scale_mismatch`` problem says which scale the
data looks like, instead of guessing. ``options["survey_scales"] = {"csat": (1, 10)}`` declares
the scale a source used; its scores are then mapped linearly onto the canonical scale
(1-10 -> 1-5: 8, 9, 10 count as satisfied). A few stray values outside an otherwise fitting
scale (< 5 %) are set aside as ``score_out_of_scale``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..problems import Code, Problem, Severity
from ..schema import SURVEY_SCALES
from ..usage_engine import merged_options
from .context import Context, table_keys
from .registry import family, kpi, reads, safe_div

#: scales a survey column may use, tried in this order when describing what data looks like
KNOWN_SCALES = ((0, 1), (1, 5), (0, 5), (1, 7), (0, 7), (1, 10), (0, 10), (0, 100))
STRAY_SHARE = 0.05  # up to this share of out-of-scale answers are stray values, not another scale
LOW_SCALE_MIN_RESPONSES = 30


def _scale_text(scale) -> str:
    return f"{scale[0]:g}-{scale[1]:g}"


def detect_scale(values: np.ndarray) -> tuple[float, float] | None:
    """The smallest known scale containing every value (None when none does)."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if not len(v):
        return None
    lo, hi = v.min(), v.max()
    for s in KNOWN_SCALES:
        if s[0] <= lo and hi <= s[1]:
            return s
    return None


def survey_scores(surveys: pd.DataFrame, options: dict | None = None,
                  table: str = "surveys") -> tuple[pd.DataFrame, list[Problem]]:
    """Survey rows usable for KPIs, with ``score`` on the canonical scale of their type.

    Returns (rows of known type with a usable score, problems). Rows of a type whose scale does
    not match are left out (one problem per type)."""
    if surveys is None or not len(surveys):
        return pd.DataFrame(columns=["account_id", "date", "survey", "score"]), []
    scored = _score(surveys, options, table)
    result = surveys.loc[scored.keep, ["account_id", "date"]].copy()
    result["survey"] = scored.kind[scored.keep]
    result["score"] = scored.score[scored.keep]
    return result, scored.problems


@dataclass(frozen=True)
class _Scored:
    """``survey_scores`` before the rows are taken: per row of the table."""

    keep: np.ndarray  # usable (known type, score on a fitting scale)
    kind: np.ndarray  # normalised type ("nps", "csat", "ces", other text or None)
    type_of: np.ndarray  # position of the type in SURVEY_SCALES, -1 unknown
    score: np.ndarray  # on the canonical scale of the type
    problems: list[Problem]


def _score(surveys: pd.DataFrame, options: dict | None, table: str) -> _Scored:
    options = options or {}
    declared = {str(k).lower(): tuple(float(x) for x in v) for k, v in (options.get("survey_scales") or {}).items()}
    problems: list[Problem] = []
    frame = surveys
    raw = frame["survey"].astype(object)
    codes, uniques = pd.factorize(raw)  # normalise each distinct text once
    norm = np.array([str(v).strip().lower() for v in uniques] + [None], dtype=object)
    codes = np.where(codes >= 0, codes, len(uniques))
    kind = pd.Series(norm[codes], index=frame.index, dtype=object)
    type_of = pd.Index(list(SURVEY_SCALES), dtype=object).get_indexer(norm)[codes]  # -1: unknown type
    unknown = pd.Series(type_of < 0, index=frame.index)
    if unknown.any():
        sample = ", ".join(sorted({str(v) for v in kind[unknown].dropna().unique()})[:5]) or "empty"
        problems.append(Problem(Code.BAD_NUMBER, f"{int(unknown.sum())} survey responses of unknown type ({sample}) "
                                "were not used; types are NPS, CSAT and CES", Severity.WARNING, table=table,
                                column="survey"))
    score = pd.to_numeric(frame["score"], errors="coerce").to_numpy(dtype=float)
    keep = ~unknown.to_numpy() & ~np.isnan(score)
    out_score = score.copy()
    for i, (name, expected) in enumerate(SURVEY_SCALES.items()):
        rows = (type_of == i) & keep
        if not rows.any():
            continue
        vals = score[rows]
        label = name.upper()
        if name in declared:
            src = declared[name]
            if not (len(src) == 2 and src[1] > src[0]):
                problems.append(Problem(Code.OPTION_INVALID, f"survey_scales[{name!r}] must be (min, max)",
                                        Severity.ERROR, table=table, column="score"))
                keep &= ~rows
                continue
            outside = (vals < src[0]) | (vals > src[1])
            if outside.any():
                problems.append(Problem(Code.SCORE_OUT_OF_SCALE, f"{int(outside.sum())} {label} scores lie outside the "
                                        f"declared {_scale_text(src)} scale and were not used", Severity.WARNING,
                                        table=table, column="score"))
                idx = np.flatnonzero(rows)[outside]
                keep[idx] = False
            if src != tuple(map(float, expected)):
                out_score[rows] = expected[0] + (vals - src[0]) * (expected[1] - expected[0]) / (src[1] - src[0])
            continue
        outside = (vals < expected[0]) | (vals > expected[1])
        n_out = int(outside.sum())
        if n_out and n_out > STRAY_SHARE * len(vals):
            looks = detect_scale(vals)
            looks_text = f"which looks like a {_scale_text(looks)} scale" if looks else "which fits no usual scale"
            problems.append(Problem(
                Code.SCALE_MISMATCH,
                f"{label} scores range from {np.nanmin(vals):g} to {np.nanmax(vals):g}, {looks_text}, but {label} is "
                f"computed on {_scale_text(expected)}; its {len(vals)} responses were not used. Declare the source "
                f"scale (option survey_scales, e.g. {{'{name}': ({looks[0] if looks else 1}, "
                f"{looks[1] if looks else 10})}}) to rescale them, or fix the data.",
                Severity.WARNING, table=table, column="score", value=_scale_text(looks) if looks else None))
            keep &= ~rows
            continue
        if n_out:
            problems.append(Problem(Code.SCORE_OUT_OF_SCALE, f"{n_out} {label} scores lie outside "
                                    f"{_scale_text(expected)} and were not used", Severity.WARNING, table=table,
                                    column="score"))
            keep[np.flatnonzero(rows)[outside]] = False
        elif (expected[1] >= 7 and len(vals) >= LOW_SCALE_MIN_RESPONSES and np.nanmax(vals) <= 5
              and np.nanmin(vals) >= 1):
            problems.append(Problem(
                Code.SCALE_MISMATCH,
                f"all {len(vals)} {label} scores are between 1 and 5, which may be a 1-5 scale; {label} is computed "
                f"on {_scale_text(expected)}. If the survey used 1-5, declare it (option survey_scales, e.g. "
                f"{{'{name}': (1, 5)}}).", Severity.INFO, table=table, column="score", value="1-5"))
    return _Scored(keep, kind.to_numpy(), type_of, out_score, problems)


def nps_classes(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(promoter, passive, detractor) masks of 0-10 scores (9-10, 7-8, 0-6)."""
    s = np.asarray(scores, dtype=float)
    return s >= 9, (s >= 7) & (s < 9), s < 7


def nps(scores) -> float:
    """NPS of a list of 0-10 scores: % promoters - % detractors (NaN without responses)."""
    s = np.asarray(scores, dtype=float)
    s = s[~np.isnan(s)]
    if not len(s):
        return float("nan")
    pro, _, det = nps_classes(s)
    return 100.0 * (pro.sum() - det.sum()) / len(s)


def csat(scores) -> float:
    """Share of 4-5 answers among 1-5 scores (NaN without responses)."""
    s = np.asarray(scores, dtype=float)
    s = s[~np.isnan(s)]
    return float((s >= 4).mean()) if len(s) else float("nan")


#: what each survey response counts as (``sentiment_classes``); -1: none of these
CLASSES = ("nps_promoter", "nps_passive", "nps_detractor", "nps_unscored", "csat_satisfied", "csat_other", "ces")


def sentiment_classes(rows: pd.DataFrame) -> np.ndarray:
    """Position in :data:`CLASSES` of each response (by survey type and score)."""
    type_of = pd.Index(list(SURVEY_SCALES), dtype=object).get_indexer(rows["survey"].to_numpy(dtype=object))
    return _classes(type_of, rows["score"].to_numpy(dtype=float))


def _classes(type_of: np.ndarray, score: np.ndarray) -> np.ndarray:
    """:func:`sentiment_classes` from the positions of the types in SURVEY_SCALES and the scores."""
    types = list(SURVEY_SCALES)
    pro, pas, det = nps_classes(score)
    nps_class = np.select([pro, pas, det], [0, 1, 2], 3)
    csat_class = np.where(score >= 4, 4, 5)
    return np.select([type_of == types.index(t) for t in ("nps", "csat", "ces")], [nps_class, csat_class, 6],
                     -1).astype(np.int8)


def sentiment_columns(rows: pd.DataFrame) -> pd.DataFrame:
    """Indicator columns of the responses (what the sentiment KPIs sum)."""
    c = sentiment_classes(rows)
    s = rows["score"].to_numpy(dtype=float)
    return rows.assign(
        _pro=(c == 0).astype(float), _pas=(c == 1).astype(float), _det=(c == 2).astype(float),
        _nps=(c >= 0) & (c <= 3), _csat_ok=(c == 4).astype(float), _csat=((c == 4) | (c == 5)).astype(float),
        _ces_sum=np.where(c == 6, s, 0.0), _ces=(c == 6).astype(float)).astype({"_nps": float})


@family("sentiment", needs=("surveys",), label="Sentiment (NPS, CSAT, CES)", several_by=True)
def aggregate_sentiment(ctx: Context) -> pd.DataFrame:
    options = merged_options(ctx.dataset, ctx.options)
    rows, classes, positions, problems = _prepared_surveys(ctx.dataset, options)
    ctx.problems.extend(problems)
    placed, slots = ctx.event_slots(rows["date"], codes=ctx.group_codes_at(positions))
    out = ctx.aggregate_slots(rows, placed, slots, ces_sum=("_ces_sum", "sum")).fillna(0.0)
    n = ctx.count_slots(slots, classes[placed], len(CLASSES))
    counts = dict(zip(CLASSES, n.T))
    return pd.DataFrame({
        "nps_promoters": counts["nps_promoter"], "nps_passives": counts["nps_passive"],
        "nps_detractors": counts["nps_detractor"],
        "nps_responses": counts["nps_promoter"] + counts["nps_passive"] + counts["nps_detractor"]
        + counts["nps_unscored"],
        "csat_satisfied": counts["csat_satisfied"], "csat_responses": counts["csat_satisfied"] + counts["csat_other"],
        "ces_sum": out["ces_sum"].to_numpy(), "ces_responses": counts["ces"]}, index=out.index)


def _prepared_surveys(dataset, options: dict) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, list[Problem]]:
    """The rows of ``survey_scores`` (date and ``_ces_sum``), their :func:`sentiment_classes`,
    each row's position in the accounts table, and the problems: once per dataset and declared
    scales."""
    def build():
        surveys = dataset.table("surveys")
        scored = _score(surveys, options, "surveys")
        keep = np.flatnonzero(scored.keep)
        classes = _classes(scored.type_of[keep], scored.score[keep])
        rows = pd.DataFrame({"date": surveys["date"].to_numpy()[keep],
                             "_ces_sum": np.where(classes == CLASSES.index("ces"), scored.score[keep], 0.0)})
        return rows, classes, table_keys(dataset, "surveys").positions[keep], scored.problems

    key = repr(options.get("survey_scales"))
    return dataset.cached("kpis.sentiment.rows", key, ("surveys", "accounts"), build)


@kpi("nps", label="NPS", unit="score", family="sentiment", direction="higher", target=50.0, headline=True,
     formula="% promoters (9-10) - % detractors (0-6) of the NPS responses dated in the period (0-10 scale); "
             "-100..100")
def nps_kpi(a):
    return 100.0 * safe_div(a["nps_promoters"] - a["nps_detractors"], a["nps_responses"])


kpi("nps_promoters", label="NPS promoters", unit="count", family="sentiment", direction="higher",
    formula="NPS responses of 9 or 10 in the period")(reads("nps_promoters"))
kpi("nps_passives", label="NPS passives", unit="count", family="sentiment",
    formula="NPS responses of 7 or 8 in the period")(reads("nps_passives"))
kpi("nps_detractors", label="NPS detractors", unit="count", family="sentiment", direction="lower",
    formula="NPS responses of 0 to 6 in the period")(reads("nps_detractors"))
kpi("nps_responses", label="NPS responses", unit="count", family="sentiment", direction="higher",
    formula="NPS responses dated in the period")(reads("nps_responses"))


@kpi("nps_promoter_rate", label="Promoters (share)", unit="fraction", family="sentiment", direction="higher",
     formula="NPS promoters / NPS responses")
def nps_promoter_rate(a):
    return safe_div(a["nps_promoters"], a["nps_responses"])


@kpi("nps_detractor_rate", label="Detractors (share)", unit="fraction", family="sentiment", direction="lower",
     formula="NPS detractors / NPS responses")
def nps_detractor_rate(a):
    return safe_div(a["nps_detractors"], a["nps_responses"])


@kpi("csat", label="CSAT", unit="fraction", family="sentiment", direction="higher", target=0.8, headline=True,
     formula="Share of CSAT responses in the period answering 4 or 5 on the 1-5 scale (satisfied or very "
             "satisfied)")
def csat_kpi(a):
    return safe_div(a["csat_satisfied"], a["csat_responses"])


kpi("csat_responses", label="CSAT responses", unit="count", family="sentiment", direction="higher",
    formula="CSAT responses dated in the period")(reads("csat_responses"))


@kpi("ces", label="Customer effort score", unit="score", family="sentiment", direction="higher", target=5.0,
     formula="Mean CES response in the period on the 1-7 scale of CES 2.0 ('the company made it easy for me'); "
             "higher is better (7 = very easy)")
def ces_kpi(a):
    return safe_div(a["ces_sum"], a["ces_responses"])


kpi("ces_responses", label="CES responses", unit="count", family="sentiment", direction="higher",
    formula="CES responses dated in the period")(reads("ces_responses"))
