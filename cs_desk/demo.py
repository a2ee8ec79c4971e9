"""A realistic synthetic customer-success portfolio: the embedded demo data.

:func:`generate` returns the canonical tables (see :mod:`cs_desk.schema`) of a seeded, made-up
SaaS company; :func:`write_demo_inputs` writes them as a user would have them (one workbook with a
sheet per table and a *wide* MRR sheet, plus ``usage.csv``), so the demo travels through the same
loading path as real data.

How the portfolio is made
-------------------------
* Accounts are SMB (60 %), Mid-Market (30 %) and Enterprise (10 %). About 40 % were customers
  before the window starts, the rest join over the window (a little faster later on).
* Every account carries a hidden churn **risk** ``r(t) = baseline + x(t)`` where ``x`` is an
  AR(1) process. Each month (a loop over months, vectorised over accounts) risk drives churn
  (monthly plans may cancel any month, annual plans only at their renewal), downgrades and
  removal of add-ons; low risk drives seat expansions, plan upgrades and new add-ons.
* Billing: a base subscription row per account (plan x seats; annual rows have ``interval`` 12,
  ``amount`` = the yearly price, ~15 % cheaper per month) and sometimes an add-on row. Every
  change ends the running row and starts a new one the same day (``end_date`` is exclusive).
  Churned accounts sometimes come back later (reactivation); a few sign up and cancel within
  one month.
* The **leading signals** are what a health score should see: in the 1-4 months before a churn,
  fewer users log in on fewer days (seat utilisation drops), tickets spike and skew towards bugs
  and billing, NPS answers turn into detractors, CSAT drops, CSM sentiment drops or goes stale.
  They are noisy, so a sensible health model separates churners from stayers with an AUC of
  roughly 0.75-0.85, and a random score does not.
* ``mrr`` (long) is derived from the subscriptions exactly as the engine does: the value for
  month m is ``MRR(first day of m+1) = sum of mrr of rows with start_date <= d < end_date``.

Everything is drawn from one ``numpy.random.Generator`` seeded with ``seed``: the same arguments
give identical frames. Frames hold cleaned canonical dtypes: ids and text ``str``, dates
``datetime64[ns]``, numbers ``float64``.
"""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

__all__ = ["generate", "write_demo_inputs", "DEMO_WORKBOOK", "DEMO_USAGE", "SHEETS"]

DEMO_WORKBOOK = "cs-desk-demo.xlsx"
DEMO_USAGE = "usage.csv"
#: Sheets of the demo workbook, in order (``mrr`` is written wide).
SHEETS = ("accounts", "subscriptions", "mrr", "tickets", "surveys", "renewals")

# --------------------------------------------------------------------------------------------
# The made-up company
# --------------------------------------------------------------------------------------------
SEGMENTS = ("SMB", "Mid-Market", "Enterprise")
SEGMENT_SHARES = (0.60, 0.30, 0.10)
PLANS = ("Starter", "Growth", "Business", "Enterprise")
SEAT_PRICE = np.array([20.0, 35.0, 55.0, 110.0])  # list price per seat and month, monthly billing
PLATFORM_FEE = np.array([0.0, 0.0, 250.0, 1500.0])  # per month
ANNUAL_FACTOR = 0.85  # annual billing costs 15 % less per month
ADDONS = ("Add-on: Advanced Analytics", "Add-on: Premium Support", "Add-on: Extra Storage",
          "Add-on: Sandbox")
REGIONS = ("NA", "EMEA", "APAC", "LATAM")
REGION_SHARES = (0.45, 0.30, 0.15, 0.10)
INDUSTRIES = ("Software", "Financial Services", "Healthcare", "Retail & E-commerce", "Manufacturing",
              "Education", "Media", "Logistics", "Professional Services", "Non-profit")
INDUSTRY_SHARES = (0.22, 0.12, 0.11, 0.12, 0.10, 0.07, 0.06, 0.07, 0.09, 0.04)
FEATURES = ("dashboards", "reports", "integrations", "automations", "api", "exports", "alerts", "sso")
#: how likely an account adopts a feature at all, and how much its users use it
_FEATURE_ADOPTION = np.array([1.0, 0.85, 0.5, 0.4, 0.25, 0.65, 0.55, 0.2])
_FEATURE_WEIGHT = np.array([10.0, 6.0, 2.0, 2.5, 3.0, 2.0, 1.5, 0.4])
_CORE_FEATURES = np.array([True, True, False, False, False, True, False, False])
#: CSMs: Enterprise and Mid-Market accounts have dedicated CSMs, SMB accounts are pooled.
CSMS = {
    "Enterprise": ("Maya Chen", "Daniel Okafor"),
    "Mid-Market": ("Sofia Rossi", "Liam O'Brien", "Priya Nair"),
    "SMB": ("José Álvarez", "Hannah Berg"),
}
TICKET_CATEGORIES = ("billing", "bug", "how-to", "feature request", "outage")
PRIORITIES = ("low", "normal", "high", "urgent")

# per segment (SMB, Mid-Market, Enterprise)
_SEG = {
    "plan_p": np.array([[0.55, 0.40, 0.05, 0.00], [0.00, 0.40, 0.55, 0.05], [0.00, 0.00, 0.35, 0.65]]),
    "max_tier": np.array([2, 3, 3]),
    "min_tier": np.array([0, 1, 2]),
    "seats_median": np.array([6.0, 25.0, 65.0]),
    "seats_sigma": np.array([0.55, 0.5, 0.55]),
    "seats_min": np.array([2, 8, 25]),
    "seats_max": np.array([25, 150, 400]),
    "annual_p": np.array([0.20, 0.55, 0.85]),
    "churn": np.array([0.041, 0.0165, 0.007]),  # monthly hazard at average risk
    "expand": np.array([0.012, 0.018, 0.020]),
    "contract": np.array([0.006, 0.010, 0.010]),
    "addon": np.array([0.006, 0.015, 0.022]),
    "switch": np.array([0.006, 0.014, 0.025]),  # monthly -> annual
    "react": np.array([0.005, 0.004, 0.003]),
    "cac_median": np.array([900.0, 6500.0, 32000.0]),
    "tickets": np.array([0.22, 0.55, 1.3]),  # per active account-month at average risk
    "nps_panel": np.array([1, 2, 4]),  # contacts asked each quarter
    "onboard_days": np.array([28.0, 45.0, 60.0]),
    "sentiment_every": np.array([75.0, 45.0, 30.0]),  # mean days since last CSM pulse
}
_SEG_ORDER = np.array([0, 1, 2])

# latent risk process
_PHI = 0.85  # AR(1) persistence per month
_SIGMA = 0.35  # AR(1) shock
_BASE_SD = 0.5  # between-account baseline spread
_BETA = 1.0  # log-hazard per unit of risk
#: extra "disengagement" in the months before a churn, by months to churn (0 = churn month)
_RAMP = np.array([1.0, 0.95, 0.7, 0.45, 0.2])

_NAME_A = ("Acme", "Blue", "Bright", "Cedar", "Clear", "Copper", "Crescent", "Delta", "Ember", "Evergreen",
           "Falcon", "First", "Golden", "Granite", "Harbor", "Helix", "Indigo", "Iron", "Juniper", "Keystone",
           "Lumen", "Maple", "Meridian", "Nordlicht", "North", "Nova", "Oak", "Orbit", "Pacific", "Pioneer",
           "Quantum", "Red", "Ridge", "Silver", "Summit", "Tidal", "Urban", "Vertex", "Willow", "Zenith",
           "Ølstad", "Café", "Sol", "Andes", "Sakura", "Kiwi")
_NAME_B = ("Analytics", "Bank", "Bio", "Brands", "Capital", "Cloud", "Consulting", "Data", "Design",
           "Dynamics", "Energy", "Foods", "Freight", "Health", "Holdings", "Insurance", "Labs", "Learning",
           "Logistics", "Media", "Medical", "Networks", "Partners", "Pharma", "Retail", "Robotics",
           "Security", "Software", "Studios", "Systems", "Telecom", "Travel")
_NAME_C = ("Inc", "Ltd", "GmbH", "LLC", "Group", "SA", "AG", "BV", "Pty Ltd", "Co", "& Co", "S.A. de C.V.")

_COMMENTS = {
    "detractor": ("Reports are too slow for our month-end.", "We barely use it anymore.",
                  "Too expensive for what we get.", "Support took days to answer.",
                  "- exports keep failing", "Missing the integrations we need.", "Hard to onboard new staff."),
    "passive": ("Does the job.", "Good, but the UI could be simpler.", "Fine overall.",
                "Would like more dashboard templates.", "OK once you know where things are."),
    "promoter": ("Love the dashboards!", "Great support team.", "Saves us hours every week.",
                 "=) best tool we bought this year", "+1 for the automations", "Our whole team relies on it."),
}

_DAY_NS = 86_400_000_000_000
_MAX_SHEET_ROWS = 1_048_575  # data rows below the header in one worksheet
_EXCEL_EPOCH_DAYS = 25569  # Excel serial of 1970-01-01


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------
def generate(accounts: int = 600, months: int = 36, seed: int = 7, end: str | date = "2026-10",
             usage: bool | float = True) -> dict[str, pd.DataFrame]:
    """Generate the demo portfolio.

    ``accounts``: number of accounts (rows of ``accounts``). ``months``: length of the data window;
    ``end``: its last full month (``"2026-10"``, a date or a timestamp). ``usage``: ``True`` for
    product usage of every account, ``False`` for none (an empty ``usage`` frame; use it for very
    large portfolios), or a fraction in (0, 1]: only that share of the accounts sends usage
    telemetry.

    Returns ``{"accounts", "subscriptions", "mrr", "usage", "tickets", "surveys", "renewals"}``,
    each with canonical column names and cleaned dtypes.
    """
    accounts = int(accounts)
    months = int(months)
    if accounts < 1:
        raise ValueError("accounts must be at least 1")
    if months < 1:
        raise ValueError("months must be at least 1")
    end_period = pd.Period(end, freq="M")
    start_period = end_period - (months - 1)
    # one independent stream per part: switching usage off leaves every other table unchanged
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5)]
    sim = _Simulation(streams[0], accounts, months, start_period)
    sim.run()
    frames: dict[str, pd.DataFrame] = {}
    frames["subscriptions"] = sim.subscriptions_frame()
    frames["mrr"] = sim.mrr_frame()
    frames["renewals"] = sim.renewals_frame()
    share = float(usage) if not isinstance(usage, bool) else (1.0 if usage else 0.0)
    sim.rng = streams[1]
    frames["usage"] = sim.usage_frame(share)
    sim.rng = streams[2]
    tickets = sim.tickets_frame()
    frames["tickets"] = tickets
    sim.rng = streams[3]
    frames["surveys"] = sim.surveys_frame(tickets)
    sim.rng = streams[4]
    frames["accounts"] = sim.accounts_frame()
    order = ("accounts", "subscriptions", "mrr", "usage", "tickets", "surveys", "renewals")
    return {name: frames[name] for name in order}


def write_demo_inputs(frames: dict[str, pd.DataFrame], folder: str | os.PathLike) -> list[Path]:
    """Write the demo frames as input files into ``folder``; return the paths written.

    ``cs-desk-demo.xlsx`` gets one sheet per table (``accounts``, ``subscriptions``, ``mrr``,
    ``tickets``, ``surveys``, ``renewals``; missing tables are left out). The ``mrr`` sheet is
    *wide*: ``account_id`` and one column per month headed ``2024-01`` ... (the loader melts it).
    Dates are real Excel dates, numbers are numbers, text is text. ``usage`` goes to ``usage.csv``
    (too many rows for a comfortable sheet), and so does any table with more rows than a sheet
    holds (``<table>.csv``; the mrr sheet always fits: one row per account). Files are written
    to a temporary name and moved into place.
    """
    import xlsxwriter

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    as_csv: list[str] = []
    xlsx_path = folder / DEMO_WORKBOOK
    with _atomic(xlsx_path) as tmp:
        book = xlsxwriter.Workbook(str(tmp), {
            "constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
            "strings_to_urls": False, "nan_inf_to_errors": False,
        })
        formats = {
            "date": book.add_format({"num_format": "yyyy-mm-dd"}),
            "datetime": book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
            "money": book.add_format({"num_format": "#,##0.00"}),
            "number": None,
            "text": None,
            "header": book.add_format({"bold": True}),
        }
        for name in SHEETS:
            frame = frames.get(name)
            if frame is None:
                continue
            if name == "mrr":
                frame = _mrr_wide(frame)
            if len(frame) > _MAX_SHEET_ROWS:
                as_csv.append(name)  # more rows than a sheet holds
                continue
            _write_sheet(book, name, frame, formats)
        book.close()
    written.append(xlsx_path)
    for name in [*as_csv, "usage"]:
        frame = frames.get(name)
        if frame is None:
            continue
        csv_path = folder / (DEMO_USAGE if name == "usage" else f"{name}.csv")
        with _atomic(csv_path) as tmp:
            frame.to_csv(tmp, index=False, date_format="%Y-%m-%d %H:%M:%S", float_format="%.10g")
        written.append(csv_path)
    return written


# --------------------------------------------------------------------------------------------
# Simulation
# --------------------------------------------------------------------------------------------
class _Simulation:
    """Month-by-month simulation of the portfolio, vectorised over accounts.

    Dates are ``int64`` days since 1970-01-01 while simulating. Money is in integer cents so the
    MRR recomputed from the rows is exact.
    """

    def __init__(self, rng: np.random.Generator, n: int, months: int, start: pd.Period):
        self.rng = rng
        self.n = n
        self.M = months
        self.start_abs = start.year * 12 + start.month - 1  # absolute month index of window start
        first = np.datetime64(f"{start.year:04d}-{start.month:02d}", "M")
        #: first day of each window month, plus the first day after the window (M + 1 values)
        self.month_days = (first + np.arange(months + 1)).astype("datetime64[D]").astype(np.int64)
        self.now = int(self.month_days[-1])  # the instant the data ends (first day after `end`)

    # ---------------------------------------------------------------------------- helpers
    def _day_of(self, month_abs: np.ndarray, day: np.ndarray) -> np.ndarray:
        """int days for (absolute month index, day of month 1..28)."""
        m = np.asarray(month_abs, dtype=np.int64)
        years, mon = m // 12, m % 12
        base = (np.asarray(years - 1970, dtype=np.int64) * 12 + mon).astype("datetime64[M]")
        return base.astype("datetime64[D]").astype(np.int64) + np.asarray(day, dtype=np.int64) - 1

    def _log_row(self, idx, kind, plan, start, end, seats, interval, mrr_c):
        k = len(idx)
        if k == 0:
            return
        self._rows.append((
            np.asarray(idx, np.int64), np.full(k, kind, np.int8), np.broadcast_to(plan, k).astype(np.int16),
            np.broadcast_to(start, k).astype(np.int64), np.broadcast_to(end, k).astype(np.int64),
            np.broadcast_to(seats, k).astype(np.int64), np.broadcast_to(interval, k).astype(np.int8),
            np.broadcast_to(mrr_c, k).astype(np.int64),
        ))

    @staticmethod
    def _base_cents(tier, seats, interval):
        monthly = PLATFORM_FEE[tier] + seats * SEAT_PRICE[tier]
        return np.round(np.where(interval == 12, monthly * ANNUAL_FACTOR, monthly) * 100).astype(np.int64)

    # ---------------------------------------------------------------------------- set-up
    def _setup(self):
        rng, n, M = self.rng, self.n, self.M
        counts = np.floor(np.array(SEGMENT_SHARES) * n).astype(int)
        counts[0] += n - counts.sum()
        seg = rng.permutation(np.repeat(_SEG_ORDER, counts))
        self.seg = seg
        self.region = rng.choice(len(REGIONS), n, p=REGION_SHARES)
        self.industry = rng.choice(len(INDUSTRIES), n, p=INDUSTRY_SHARES)
        # who joins when: ~40 % before the window (up to 4 years), the rest over the window
        pre = rng.random(n) < 0.40
        w = 1.0 + 0.025 * np.arange(M)
        join_t = rng.choice(M, n, p=w / w.sum())
        join_t[pre] = -1
        self.join_t = join_t
        self.aday = rng.integers(1, 29, n)  # billing anchor day 1..28
        back = rng.integers(1, 49, n)  # months before the window for existing customers
        cs_abs = np.where(pre, self.start_abs - back, self.start_abs + join_t)
        self.cs_abs = cs_abs
        # onboarding: most 10-90 days, a few slow, a few never
        self.never_onboard = rng.random(n) < 0.06
        self.onboard_days = np.clip(
            np.round(_SEG["onboard_days"][seg] * np.exp(rng.normal(0, 0.45, n))), 8, 200).astype(np.int64)
        # hidden risk: baseline + AR(1); long-standing customers are a little safer (survivors)
        self.base_risk = (rng.normal(0, _BASE_SD, n) + 0.8 * self.never_onboard - 0.15 * pre
                          + 0.15 * (self.onboard_days > 90))
        stat_sd = _SIGMA / np.sqrt(1 - _PHI ** 2)
        self.x = rng.normal(0, stat_sd, n)
        self.hazard_norm = np.exp(-(_BETA ** 2) * (_BASE_SD ** 2 + stat_sd ** 2) / 2)
        # plans and seats
        cum = np.cumsum(_SEG["plan_p"][seg], axis=1)
        tier = (rng.random(n)[:, None] > cum).sum(axis=1)
        seats = np.round(_SEG["seats_median"][seg] * np.exp(rng.normal(0, _SEG["seats_sigma"][seg])))
        seats = np.clip(seats, _SEG["seats_min"][seg], _SEG["seats_max"][seg]).astype(np.int64)
        interval = np.where(rng.random(n) < _SEG["annual_p"][seg], 12, 1).astype(np.int64)
        # state of the running rows
        self._rows: list[tuple] = []
        self.b_open = np.zeros(n, bool)
        self.b_start = np.zeros(n, np.int64)
        self.b_tier = tier
        self.b_seats = seats
        self.b_int = interval
        self.b_c = self._base_cents(tier, seats, interval)
        self.anchor_abs = cs_abs.copy()  # month the annual term runs from
        self.a_open = np.zeros(n, bool)
        self.a_start = np.zeros(n, np.int64)
        self.a_kind = rng.integers(0, len(ADDONS), n)
        self.a_c = np.zeros(n, np.int64)
        self.a_int = np.ones(n, np.int64)
        self.ever_paid = np.zeros(n, bool)
        self.churned_t = np.full(n, -10_000)
        self.reactivations = np.zeros(n, np.int64)
        # pre-window customers: history before the window (one earlier row for some, add-ons)
        p_idx = np.flatnonzero(pre)
        if len(p_idx):
            cs_day = self._day_of(cs_abs[p_idx], self.aday[p_idx])
            months_before = back[p_idx]
            is_annual = interval[p_idx] == 12
            years_avail = (months_before - 1) // 12
            upg = rng.random(len(p_idx)) < 0.35
            upg &= np.where(is_annual, years_avail >= 1, months_before >= 3)
            off = np.where(is_annual,
                           12 * (1 + np.floor(rng.random(len(p_idx)) * np.maximum(years_avail, 1))),
                           1 + np.floor(rng.random(len(p_idx)) * np.maximum(months_before - 1, 1)))
            off = off.astype(np.int64)
            u_day = self._day_of(cs_abs[p_idx] + off, self.aday[p_idx])
            u = p_idx[upg]
            prior_seats = np.maximum(1, np.round(seats[u] * rng.uniform(0.6, 0.9, len(u)))).astype(np.int64)
            prior_c = self._base_cents(tier[u], prior_seats, interval[u])
            self._log_row(u, 0, tier[u], cs_day[upg], u_day[upg], prior_seats, interval[u], prior_c)
            self.b_open[p_idx] = True
            self.b_start[p_idx] = np.where(upg, u_day, cs_day)
            self.ever_paid[p_idx] = True
            has_addon = rng.random(len(p_idx)) < np.array([0.08, 0.2, 0.3])[seg[p_idx]]
            a = p_idx[has_addon]
            a_from = cs_day[has_addon] + np.floor(
                rng.random(len(a)) * (self.month_days[0] - cs_day[has_addon])).astype(np.int64)
            self.a_open[a] = True
            self.a_start[a] = a_from
            self.a_int[a] = self.b_int[a]
            self.a_c[a] = self._addon_cents(a)
        # onboarding risk for long-standing customers has long played out
        self.customer_since = np.where(pre, self._day_of(cs_abs, self.aday), 0)

    def _addon_cents(self, idx: np.ndarray) -> np.ndarray:
        list_monthly = PLATFORM_FEE[self.b_tier[idx]] + self.b_seats[idx] * SEAT_PRICE[self.b_tier[idx]]
        dollars = np.maximum(15, np.round(list_monthly * self.rng.uniform(0.08, 0.25, len(idx))))
        return np.round(np.where(self.b_int[idx] == 12, dollars * ANNUAL_FACTOR, dollars) * 100).astype(np.int64)

    # ---------------------------------------------------------------------------- the loop
    def run(self):
        self._setup()
        rng, n, M = self.rng, self.n, self.M
        seg = self.seg
        self.R = np.zeros((n, M))  # hidden risk per month
        self.span_lo = np.zeros((n, M), np.int16)  # active days [lo, hi) within the month
        self.span_hi = np.zeros((n, M), np.int16)
        self.seats_hist = np.zeros((n, M), np.int64)
        self.churn_flag = np.zeros((n, M), bool)
        self.join_flag = np.zeros((n, M), bool)  # new or reactivated this month
        ren_rows: list[tuple] = []
        for t in range(M):
            m0 = int(self.month_days[t])
            dim = int(self.month_days[t + 1] - m0)
            t_abs = self.start_abs + t
            self.x = _PHI * self.x + _SIGMA * rng.standard_normal(n)
            r = self.base_risk + self.x
            self.R[:, t] = r
            active0 = self.b_open.copy()
            lo = np.zeros(n, np.int64)
            hi = np.where(active0, dim, 0).astype(np.int64)
            busy = np.zeros(n, bool)
            day_anchor = m0 + self.aday - 1
            u = rng.random((9, n))  # one uniform per decision and account
            rand_day = m0 + np.floor(rng.random(n) * dim).astype(np.int64)

            # 1. new customers sign up on their anchor day
            j = np.flatnonzero(self.join_t == t)
            if len(j):
                self._open_base(j, day_anchor[j])
                self.customer_since[j] = day_anchor[j]
                self.anchor_abs[j] = t_abs
                self.ever_paid[j] = True
                lo[j] = self.aday[j] - 1
                hi[j] = dim
                busy[j] = True
                self.join_flag[j, t] = True
                # a few sign up and cancel within the same month
                trial = j[(u[0, j] < 0.01) & (self.aday[j] <= dim - 5)]
                if len(trial):
                    end = day_anchor[trial] + rng.integers(2, 5, len(trial))
                    self._close_all(trial, end)
                    hi[trial] = end - m0
                    self.churned_t[trial] = t

            # 2. churn: monthly plans any month, annual plans at their renewal
            eligible = active0 & ~busy
            monthly = self.b_int == 1
            due = eligible & (self.b_int == 12) & (t_abs > self.anchor_abs) & ((t_abs - self.anchor_abs) % 12 == 0)
            h = np.minimum(_SEG["churn"][seg] * np.exp(_BETA * r) * self.hazard_norm, 0.9)
            p = np.where(monthly, h, 1 - (1 - h) ** 12)
            churn = (eligible & (monthly | due)) & (u[1] < p)
            c = np.flatnonzero(churn)
            before_c = self.b_c + np.where(self.a_open, self.a_c, 0)
            if len(c):
                self._close_all(c, day_anchor[c])
                hi[c] = self.aday[c] - 1
                self.churned_t[c] = t
                self.churn_flag[c, t] = True
                busy[c] = True
            dc = np.flatnonzero(due & churn)
            if len(dc):
                ren_rows.append((dc, day_anchor[dc], before_c[dc], np.zeros(len(dc), np.int64),
                                 np.zeros(len(dc), np.int8)))

            # 3. annual renewals that renew: some expand, some shrink, some get a price uplift
            ren = np.flatnonzero(due & ~churn)
            if len(ren):
                rr = r[ren]
                uu = u[2, ren]
                p_exp = np.clip(0.18 * np.exp(-0.6 * rr), 0, 0.6)
                p_con = np.clip(0.10 * np.exp(0.6 * rr), 0, 0.5)
                grow = uu < p_exp
                shrink = (~grow) & (uu < p_exp + p_con)
                uplift = (~grow) & (~shrink) & (uu < p_exp + p_con + 0.2)
                new_seats = self.b_seats[ren].copy()
                new_seats[grow] = np.minimum(
                    np.ceil(new_seats[grow] * rng.uniform(1.1, 1.5, grow.sum())),
                    np.maximum(2 * _SEG["seats_max"][seg[ren[grow]]], new_seats[grow] + 1)).astype(np.int64)
                new_seats[shrink] = np.maximum(
                    1, np.floor(new_seats[shrink] * rng.uniform(0.65, 0.9, shrink.sum()))).astype(np.int64)
                new_c = self._base_cents(self.b_tier[ren], new_seats, self.b_int[ren])
                new_c = np.where(grow | shrink, new_c, self.b_c[ren])
                new_c[uplift] = np.round(new_c[uplift] * 1.05).astype(np.int64)
                chg = new_c != self.b_c[ren]
                ci = ren[chg]
                if len(ci):
                    self._close_base(ci, day_anchor[ci])
                    self.b_seats[ci] = new_seats[chg]
                    self._open_base(ci, day_anchor[ci], cents=new_c[chg])
                after_c = self.b_c[ren] + np.where(self.a_open[ren], self.a_c[ren], 0)
                ren_rows.append((ren, day_anchor[ren], before_c[ren], after_c, np.ones(len(ren), np.int8)))
                busy[ren] = True

            # 4. monthly -> annual switch (an "extension": MRR drops ~15 %)
            sw = np.flatnonzero(eligible & monthly & ~busy & (u[3] < _SEG["switch"][seg]))
            if len(sw):
                self._close_base(sw, day_anchor[sw])
                self.b_int[sw] = 12
                self._open_base(sw, day_anchor[sw])
                self.anchor_abs[sw] = t_abs
                busy[sw] = True

            # 5. expansion (seats, sometimes a plan upgrade); annual rows co-term mid-year
            ex = np.flatnonzero(eligible & ~busy & (u[4] < _SEG["expand"][seg] * np.exp(-0.8 * r)))
            if len(ex):
                self._close_base(ex, rand_day[ex])
                grown = np.ceil(self.b_seats[ex] * rng.uniform(1.1, 1.5, len(ex))).astype(np.int64)
                self.b_seats[ex] = np.minimum(grown, np.maximum(2 * _SEG["seats_max"][seg[ex]], self.b_seats[ex] + 1))
                up = (rng.random(len(ex)) < 0.25) & (self.b_tier[ex] < _SEG["max_tier"][seg[ex]])
                self.b_tier[ex[up]] += 1
                self._open_base(ex, rand_day[ex])
                busy[ex] = True

            # 6. contraction (monthly plans; annual ones shrink at renewal): fewer seats or a
            #    lower plan
            can = (self.b_seats > 1) | (self.b_tier > _SEG["min_tier"][seg])
            co = np.flatnonzero(eligible & monthly & ~busy & can
                                & (u[5] < _SEG["contract"][seg] * np.exp(0.8 * r)))
            if len(co):
                self._close_base(co, rand_day[co])
                seats_now = self.b_seats[co]
                down = (self.b_tier[co] > _SEG["min_tier"][seg[co]]) & (
                    (rng.random(len(co)) < 0.3) | (seats_now <= 1))
                self.b_tier[co[down]] -= 1
                fewer = np.floor(seats_now * rng.uniform(0.65, 0.9, len(co))).astype(np.int64)
                fewer = np.clip(fewer, 1, np.maximum(seats_now - 1, 1))
                self.b_seats[co] = np.where(down, seats_now, fewer)
                self._open_base(co, rand_day[co])
                busy[co] = True

            # 7. add-ons come (healthy accounts) and go (risky ones)
            add = np.flatnonzero(eligible & ~busy & ~self.a_open & (u[6] < _SEG["addon"][seg] * np.exp(-0.6 * r)))
            if len(add):
                self.a_open[add] = True
                self.a_start[add] = rand_day[add]
                self.a_int[add] = self.b_int[add]
                self.a_kind[add] = rng.integers(0, len(ADDONS), len(add))
                self.a_c[add] = self._addon_cents(add)
                busy[add] = True
            rem = np.flatnonzero(eligible & ~busy & self.a_open & (self.a_start < m0)
                                 & (u[7] < 0.025 * np.exp(0.6 * r)))
            if len(rem):
                self._close_addon(rem, rand_day[rem])
                busy[rem] = True

            # 8. reactivation: a churned account comes back months later, on a monthly plan
            back = np.flatnonzero(~self.b_open & self.ever_paid & ~busy & (self.churned_t <= t - 2)
                                  & (u[8] < _SEG["react"][seg] / (1 + self.reactivations)))
            if len(back):
                self.aday[back] = rng.integers(1, 29, len(back))
                start = m0 + self.aday[back] - 1
                self.b_int[back] = 1
                self.b_seats[back] = np.maximum(
                    _SEG["seats_min"][seg[back]] // 2 + 1,
                    np.round(self.b_seats[back] * rng.uniform(0.5, 1.0, len(back)))).astype(np.int64)
                self._open_base(back, start)
                self.reactivations[back] += 1
                self.x[back] = 0.3 * self.x[back] - 0.4
                lo[back] = self.aday[back] - 1
                hi[back] = dim
                self.join_flag[back, t] = True
                busy[back] = True

            self.span_lo[:, t] = lo
            self.span_hi[:, t] = hi
            self.seats_hist[:, t] = self.b_seats

        # rows still running at the end of the window
        ob = np.flatnonzero(self.b_open)
        self._log_row(ob, 0, self.b_tier[ob], self.b_start[ob], -1, self.b_seats[ob], self.b_int[ob], self.b_c[ob])
        oa = np.flatnonzero(self.a_open)
        self._log_row(oa, 1, 4 + self.a_kind[oa], self.a_start[oa], -1, 0, self.a_int[oa], self.a_c[oa])
        self.renewal_log = ren_rows
        self._finish()

    def _open_base(self, idx, start, cents=None):
        self.b_open[idx] = True
        self.b_start[idx] = start
        self.b_c[idx] = self._base_cents(self.b_tier[idx], self.b_seats[idx], self.b_int[idx]) if cents is None else cents

    def _close_base(self, idx, end):
        self._log_row(idx, 0, self.b_tier[idx], self.b_start[idx], end, self.b_seats[idx], self.b_int[idx], self.b_c[idx])
        self.b_open[idx] = False

    def _close_addon(self, idx, end):
        self._log_row(idx, 1, 4 + self.a_kind[idx], self.a_start[idx], end, 0, self.a_int[idx], self.a_c[idx])
        self.a_open[idx] = False

    def _close_all(self, idx, end):
        self._close_base(idx, end)
        a = self.a_open[idx]
        if a.any():
            self._close_addon(idx[a], np.asarray(end)[a])

    # ---------------------------------------------------------------------------- after the loop
    def _finish(self):
        n, M = self.n, self.M
        cols = list(zip(*self._rows))
        (self.r_acc, self.r_kind, self.r_plan, self.r_start, self.r_end, self.r_seats, self.r_int,
         self.r_c) = (np.concatenate(c) for c in cols)
        # MRR at the end of each window month, exactly as the engine computes it
        instants = self.month_days[1:]
        k_lo = np.searchsorted(instants, self.r_start, side="left")
        end = np.where(self.r_end < 0, np.iinfo(np.int64).max, self.r_end)
        k_hi = np.searchsorted(instants, end, side="left")
        ok = k_lo < k_hi
        diff = np.zeros(n * (M + 1))
        diff += np.bincount(self.r_acc[ok] * (M + 1) + k_lo[ok], weights=self.r_c[ok], minlength=n * (M + 1))
        diff -= np.bincount(self.r_acc[ok] * (M + 1) + k_hi[ok], weights=self.r_c[ok], minlength=n * (M + 1))
        self.mrr_c = np.cumsum(diff.reshape(n, M + 1), axis=1)[:, :M].round().astype(np.int64)
        # leading signals: the hidden risk plus a disengagement ramp before each churn
        ramp = np.zeros((n, M))
        nxt = np.full(n, 10_000)
        for t in range(M - 1, -1, -1):
            nxt = np.where(self.churn_flag[:, t], t, nxt)
            k = nxt - t
            near = k < len(_RAMP)
            ramp[near, t] = _RAMP[k[near]]
        self.ramp = ramp
        self.S = self.R + 1.1 * ramp
        # months since (re)joining, for the onboarding ramp-up of activity
        since = np.zeros((n, M), np.int64)
        run = np.where(self.join_t < 0, 24, 0)
        for t in range(M):
            run = np.where(self.join_flag[:, t], 0, run + (t > 0))
            since[:, t] = run
        self.since = since
        # ids in order of customer_since (the CRM's numbering)
        order = np.lexsort((np.arange(n), self.customer_since))
        width = max(5, len(str(n)))
        rank = np.empty(n, np.int64)
        rank[order] = np.arange(n)
        self.ids = np.array([f"ACC-{i + 1:0{width}d}" for i in rank], dtype=object)

    def _dates(self, days: np.ndarray, missing: np.ndarray | None = None) -> np.ndarray:
        out = (np.asarray(days, np.int64) * _DAY_NS).view("datetime64[ns]")
        if missing is not None:
            out = out.copy()
            out[missing] = np.datetime64("NaT")
        return out

    @staticmethod
    def _datetimes(days: np.ndarray, seconds: np.ndarray) -> np.ndarray:
        ns = np.asarray(days, np.int64) * _DAY_NS + np.asarray(seconds, np.int64) * 1_000_000_000
        return ns.view("datetime64[ns]")

    def _work_seconds(self, k: int) -> np.ndarray:
        """Seconds into a day, mostly during business hours."""
        hours = np.clip(self.rng.normal(13.0, 2.8, k), 0, 23.99)
        return (hours * 3600).astype(np.int64)

    # ---------------------------------------------------------------------------- tables
    def subscriptions_frame(self) -> pd.DataFrame:
        order = np.lexsort((self.r_kind, self.r_start, self.ids[self.r_acc]))
        acc, kind, plan = self.r_acc[order], self.r_kind[order], self.r_plan[order]
        start, end, seats = self.r_start[order], self.r_end[order], self.r_seats[order]
        interval, cents = self.r_int[order], self.r_c[order]
        names = np.array(PLANS + ADDONS, dtype=object)
        k = len(acc)
        return pd.DataFrame({
            "subscription_id": np.array([f"SUB-{i + 1:06d}" for i in range(k)], dtype=object),
            "account_id": self.ids[acc],
            "plan": names[plan],
            "start_date": self._dates(start),
            "end_date": self._dates(np.maximum(end, 0), missing=end < 0),
            "mrr": cents / 100.0,
            "amount": cents * interval.astype(np.float64) / 100.0,
            "interval": interval.astype(np.float64),
            "interval_count": np.ones(k),
            "quantity": np.where(kind == 0, seats, 1).astype(np.float64),
            "discount": np.zeros(k),
            "currency": np.full(k, "USD", dtype=object),
        })

    def mrr_frame(self) -> pd.DataFrame:
        n, M = self.n, self.M
        order = np.argsort(self.ids, kind="stable")
        months = self._dates(self.month_days[:M])
        return pd.DataFrame({
            "account_id": np.repeat(self.ids[order], M),
            "month": np.tile(months, n),
            "mrr": (self.mrr_c[order] / 100.0).ravel(),
            "currency": np.full(n * M, "USD", dtype=object),
        })

    def renewals_frame(self) -> pd.DataFrame:
        parts = list(zip(*self.renewal_log)) if self.renewal_log else [[np.zeros(0, np.int64)]] * 5
        acc, day, before, after, renewed = (np.concatenate(p) for p in parts)
        outcome = np.where(renewed.astype(bool), "renewed", "churned").astype(object)
        after_v = after * 12 / 100.0
        # the next renewal of every running annual contract is still open
        op = np.flatnonzero(self.b_open & (self.b_int == 12))
        end_abs = self.start_abs + self.M  # month after the window
        k = -(-(end_abs - self.anchor_abs[op]) // 12)
        nxt_abs = self.anchor_abs[op] + 12 * np.maximum(k, 1)
        nxt_day = self._day_of(nxt_abs, self.aday[op])
        self.next_renewal = np.full(self.n, -1, np.int64)
        self.next_renewal[op] = nxt_day
        cur = (self.b_c[op] + np.where(self.a_open[op], self.a_c[op], 0)) * 12 / 100.0
        acc = np.concatenate([acc, op])
        frame = pd.DataFrame({
            "account_id": self.ids[acc],
            "renewal_date": self._dates(np.concatenate([day, nxt_day])),
            "outcome": np.concatenate([outcome, np.full(len(op), "open", dtype=object)]),
            "amount_before": np.concatenate([before * 12 / 100.0, cur]),
            "amount_after": np.concatenate([after_v, np.full(len(op), np.nan)]),
        })
        return frame.sort_values(["renewal_date", "account_id"], kind="stable").reset_index(drop=True)

    def _active_cells(self, share: float = 1.0):
        """(account, month) index arrays of the cells where the account paid on some day; with
        ``share`` < 1 only cells of that random share of the accounts."""
        a, t = np.nonzero(self.span_hi > self.span_lo)
        if share < 1.0:
            tracked = self.rng.random(self.n) < share
            keep = tracked[a]
            a, t = a[keep], t[keep]
        return a, t

    def usage_frame(self, share: float) -> pd.DataFrame:
        cols = {"account_id": pd.Series([], dtype="str"), "date": pd.Series([], dtype="datetime64[ns]"),
                "user_id": pd.Series([], dtype="str"), "feature": pd.Series([], dtype="str"),
                "count": pd.Series([], dtype="float64")}
        if share <= 0:
            return pd.DataFrame(cols)
        rng = self.rng
        n = self.n
        # which features each account uses at all, and how much
        adopt_p = np.clip(_FEATURE_ADOPTION[None, :] * np.exp(-0.35 * self.base_risk)[:, None], 0, 1)
        adopt_p[:, 7] = np.where(self.seg == 2, 0.7, np.where(self.seg == 1, 0.2, 0.02))  # sso
        adopt_p[:, 4] *= np.array([0.5, 1.0, 1.6])[self.seg]  # api
        adopted = rng.random((n, len(FEATURES))) < adopt_p
        adopted[:, 0] = True
        acc_w = np.where(adopted, _FEATURE_WEIGHT[None, :], 0.0)

        a, t = self._active_cells(share)
        lo = self.span_lo[a, t].astype(np.int64)
        hi = self.span_hi[a, t].astype(np.int64)
        dim = (self.month_days[t + 1] - self.month_days[t]).astype(np.int64)
        s = self.S[a, t]
        since = self.since[a, t]
        onb = np.where(since == 0, 0.45, np.where(since == 1, 0.75, 1.0))
        onb = onb * np.where(self.never_onboard[a], 0.6, 1.0)
        frac = (hi - lo) / dim
        seats = self.seats_hist[a, t]
        # seat utilisation (monthly active users / seats) and how active those users are
        util = 1 / (1 + np.exp(-(1.1 - 1.05 * s + np.log(onb) + rng.normal(0, 0.35, len(a)))))
        users = rng.binomial(seats, np.clip(util * np.sqrt(frac), 0, 1))
        eng = np.exp(-0.45 * s + rng.normal(0, 0.25, len(a))) * onb

        # user-months
        um_cell = np.repeat(np.arange(len(a)), users)
        first = np.cumsum(users) - users
        um_user = np.arange(len(um_cell)) - first[um_cell]
        intensity = rng.gamma(0.8, 1 / 0.8, len(um_cell))
        days = 1 + rng.poisson(np.clip(0.8 * eng[um_cell] * frac[um_cell] * intensity, 0, 25))
        days = np.minimum(days, hi[um_cell] - lo[um_cell])
        # user-days (weekends are quieter)
        ud_um = np.repeat(np.arange(len(um_cell)), days)
        c = um_cell[ud_um]
        day = lo[c] + np.floor(rng.random(len(ud_um)) * (hi[c] - lo[c])).astype(np.int64)
        absday = self.month_days[t[c]] + day
        weekday = (absday + 3) % 7  # 0 = Monday
        move = (weekday >= 5) & (rng.random(len(ud_um)) < 0.75)
        shift = np.where(weekday == 5, -1, 1)
        cand = day + shift
        ok = move & (cand >= lo[c]) & (cand < hi[c])
        day = np.where(ok, cand, day)
        # features per user-day; risky months narrow usage to the core features
        nf = 1 + (rng.random(len(ud_um)) < 0.25) + (rng.random(len(ud_um)) < 0.06)
        ev_ud = np.repeat(np.arange(len(ud_um)), nf)
        ce = c[ev_ud]
        w = acc_w[a[ce]] * np.where(_CORE_FEATURES[None, :], 1.0,
                                     np.exp(-0.6 * np.maximum(s[ce], 0))[:, None])
        cw = np.cumsum(w, axis=1)
        pick = rng.random(len(ev_ud)) * cw[:, -1]
        feat = (cw < pick[:, None]).sum(axis=1)
        # one row per user, day and feature
        key = (ud_um[ev_ud] * 32 + day[ev_ud]) * 8 + feat
        key, first_ev = np.unique(key, return_index=True)
        ev_ud = ev_ud[first_ev]
        feat = feat[first_ev]
        ce = c[ev_ud]
        count = 1 + rng.poisson(2.2 * eng[ce])
        um = ud_um[ev_ud]
        acc = a[ce]
        absday = self.month_days[t[ce]] + day[ev_ud]
        ts = self._datetimes(absday, self._work_seconds(len(ev_ud)))
        user_key = acc * 10_000 + um_user[um]
        uk, inv = np.unique(user_key, return_inverse=True)
        user_names = np.array([f"{self.ids[k // 10_000]}-U{k % 10_000 + 1:03d}" for k in uk], dtype=object)
        order = np.lexsort((feat, user_key, ts))
        return pd.DataFrame({
            "account_id": self.ids[acc[order]],
            "date": ts[order],
            "user_id": user_names[inv[order]],
            "feature": np.array(FEATURES, dtype=object)[feat[order]],
            "count": count[order].astype(np.float64),
        })

    def tickets_frame(self) -> pd.DataFrame:
        rng = self.rng
        a, t = self._active_cells()
        lo = self.span_lo[a, t].astype(np.int64)
        hi = self.span_hi[a, t].astype(np.int64)
        dim = (self.month_days[t + 1] - self.month_days[t]).astype(np.int64)
        frac = (hi - lo) / dim
        ramp = self.ramp[a, t]
        r = self.R[a, t]
        since = self.since[a, t]
        seats = self.seats_hist[a, t]
        lam = (_SEG["tickets"][self.seg[a]] * (seats / _SEG["seats_median"][self.seg[a]]) ** 0.3
               * np.exp(0.3 * r + 0.9 * ramp) * np.where(since < 2, 1.8, 1.0) * frac)
        k = rng.poisson(lam)
        ti = np.repeat(np.arange(len(a)), k)
        acc = a[ti]
        day = lo[ti] + np.floor(rng.random(len(ti)) * (hi[ti] - lo[ti])).astype(np.int64)
        absday = self.month_days[t[ti]] + day
        created_s = absday * 86400 + self._work_seconds(len(ti))
        # category: risky months bring bugs and billing questions
        base = np.array([0.14, 0.26, 0.36, 0.16, 0.08])
        tilt = np.array([0.7, 0.5, -0.4, 0.0, 0.0])
        w = base[None, :] * np.exp(ramp[ti][:, None] * tilt[None, :])
        cw = np.cumsum(w, axis=1)
        cat = (cw < (rng.random(len(ti)) * cw[:, -1])[:, None]).sum(axis=1)
        # a few portfolio-wide outages: many accounts open an outage ticket the same day
        outage_days = self.month_days[0] + np.sort(rng.choice(
            max(int(self.month_days[-1] - self.month_days[0]), 1), size=min(3, self.M), replace=False))
        o_acc, o_days = [], []
        for od in outage_days:
            tm = int(np.searchsorted(self.month_days, od, side="right") - 1)
            dd = od - self.month_days[tm]
            on = np.flatnonzero((self.span_lo[:, tm] <= dd) & (self.span_hi[:, tm] > dd)
                                & (rng.random(self.n) < np.array([0.05, 0.12, 0.3])[self.seg]))
            o_acc.append(on)
            o_days.append(np.full(len(on), od))
        o_acc = np.concatenate(o_acc)
        o_days = np.concatenate(o_days)
        acc = np.concatenate([acc, o_acc])
        created_s = np.concatenate([created_s, o_days * 86400 + (rng.uniform(9, 12, len(o_acc)) * 3600).astype(np.int64)])
        cat = np.concatenate([cat, np.full(len(o_acc), 4)])
        risk_ramp = np.concatenate([ramp[ti], np.zeros(len(o_acc))])
        risk = np.concatenate([r[ti], self.R[o_acc, np.searchsorted(self.month_days, o_days, side="right") - 1]])
        m = len(acc)
        # priority by category
        pri_p = np.array([[0.20, 0.60, 0.18, 0.02], [0.15, 0.50, 0.28, 0.07], [0.40, 0.55, 0.05, 0.00],
                          [0.60, 0.40, 0.00, 0.00], [0.00, 0.10, 0.50, 0.40]])
        cp = np.cumsum(pri_p[cat], axis=1)
        pri = np.minimum((cp < rng.random(m)[:, None]).sum(axis=1), 3)
        # first response and resolution times (hours)
        fr_h = np.array([12.0, 5.0, 2.0, 0.5])[pri] * np.exp(rng.normal(0, 0.9, m))
        res_h = np.array([20.0, 60.0, 8.0, 200.0, 6.0])[cat] * np.exp(rng.normal(0, 1.0, m) + 0.2 * risk_ramp)
        res_h = np.maximum(res_h, fr_h + 0.1)
        unresolved = rng.random(m) < np.array([0.02, 0.05, 0.02, 0.35, 0.01])[cat]
        fr_s = created_s + (fr_h * 3600).astype(np.int64)
        res_s = created_s + (res_h * 3600).astype(np.int64)
        end_s = self.now * 86400
        no_fr = fr_s >= end_s
        unresolved |= res_s >= end_s
        # satisfaction answers on some resolved tickets
        answered = ~unresolved & (rng.random(m) < 0.35)
        csat_mu = 4.45 - 0.35 * risk - 0.9 * risk_ramp - 0.25 * np.log10(res_h)
        csat = np.where(answered, np.clip(np.round(rng.normal(csat_mu, 0.8)), 1, 5), np.nan)
        ces_ans = ~unresolved & (rng.random(m) < 0.12)
        ces_mu = 2.6 + 0.4 * risk + 1.0 * risk_ramp + 0.3 * np.log10(res_h)
        ces = np.where(ces_ans, np.clip(np.round(rng.normal(ces_mu, 1.1)), 1, 7), np.nan)
        order = np.lexsort((acc, created_s))
        ns = 1_000_000_000
        created = (created_s * ns).view("datetime64[ns]")
        first_resp = (fr_s * ns).view("datetime64[ns]").copy()
        first_resp[no_fr] = np.datetime64("NaT")
        resolved = (res_s * ns).view("datetime64[ns]").copy()
        resolved[unresolved] = np.datetime64("NaT")
        frame = pd.DataFrame({
            "ticket_id": (np.arange(m) + 100_001).astype(str).astype(object),
            "account_id": self.ids[acc[order]],
            "created_at": created[order],
            "first_response_at": first_resp[order],
            "resolved_at": resolved[order],
            "category": np.array(TICKET_CATEGORIES, dtype=object)[cat[order]],
            "priority": np.array(PRIORITIES, dtype=object)[pri[order]],
            "csat": csat[order],
            "ces": ces[order],
        })
        self.ticket_acc = acc[order]
        return frame

    def surveys_frame(self, tickets: pd.DataFrame) -> pd.DataFrame:
        rng = self.rng
        a, t = self._active_cells()
        # NPS: each account is surveyed once a quarter (its own month of the quarter)
        q_off = rng.integers(0, 3, self.n)
        sent = ((t - q_off[a]) % 3 == 0)
        a, t = a[sent], t[sent]
        panel = _SEG["nps_panel"][self.seg[a]]
        k = rng.binomial(panel, 0.33)
        si = np.repeat(np.arange(len(a)), k)
        acc, tt = a[si], t[si]
        lo = self.span_lo[acc, tt].astype(np.int64)
        hi = self.span_hi[acc, tt].astype(np.int64)
        day = self.month_days[tt] + lo + np.floor(rng.random(len(si)) * (hi - lo)).astype(np.int64)
        mu = 8.5 - 1.3 * self.R[acc, tt] - 2.6 * self.ramp[acc, tt]
        score = np.clip(np.round(rng.normal(mu, 1.6)), 0, 10)
        who = (np.floor(rng.random(len(si)) * np.maximum(self.seats_hist[acc, tt], 1)) + 1).astype(np.int64)
        respondent = np.array([f"{self.ids[x]}-U{u:03d}" for x, u in zip(acc.tolist(), who.tolist())], dtype=object)
        band = np.where(score <= 6, 0, np.where(score <= 8, 1, 2))
        comment = np.full(len(si), None, dtype=object)
        has = rng.random(len(si)) < 0.3
        for b, name in enumerate(("detractor", "passive", "promoter")):
            sel = np.flatnonzero(has & (band == b))
            options = np.array(_COMMENTS[name], dtype=object)
            comment[sel] = options[rng.integers(0, len(options), len(sel))]
        nps = pd.DataFrame({
            "account_id": self.ids[acc],
            "date": self._dates(day),
            "survey": "NPS",
            "score": score,
            "respondent": respondent,
            "comment": comment,
        })
        # CSAT and CES: the answers given after support tickets (the same answers the ticket
        # export holds)
        parts = [nps]
        for col, name in (("csat", "CSAT"), ("ces", "CES")):
            sel = tickets[col].notna().to_numpy()
            when = tickets["resolved_at"].to_numpy()[sel].astype("datetime64[D]").astype("datetime64[ns]")
            parts.append(pd.DataFrame({
                "account_id": tickets["account_id"].to_numpy()[sel],
                "date": when,
                "survey": name,
                "score": tickets[col].to_numpy()[sel],
                "respondent": None,
                "comment": None,
            }))
        frame = pd.concat(parts, ignore_index=True)
        frame["respondent"] = frame["respondent"].astype("str")
        frame["comment"] = frame["comment"].astype("str")
        return frame.sort_values(["date", "account_id", "survey"], kind="stable").reset_index(drop=True)

    def accounts_frame(self) -> pd.DataFrame:
        rng, n, M = self.rng, self.n, self.M
        seg = self.seg
        now = self.now
        # first and last paid day from the rows
        first_start = np.full(n, np.iinfo(np.int64).max)
        np.minimum.at(first_start, self.r_acc, self.r_start)
        running = self.b_open
        last_end = np.zeros(n, np.int64)
        np.maximum.at(last_end, self.r_acc, np.where(self.r_end < 0, 0, self.r_end))
        churned = ~running
        # names
        combos = len(_NAME_A) * len(_NAME_B) * len(_NAME_C)
        pick = rng.choice(combos, n, replace=n > combos)
        ia, rest = np.divmod(pick, len(_NAME_B) * len(_NAME_C))
        ib, ic = np.divmod(rest, len(_NAME_C))
        names = [f"{_NAME_A[x]} {_NAME_B[y]} {_NAME_C[z]}" for x, y, z in zip(ia, ib, ic)]
        if n > combos:
            seen: dict[str, int] = {}
            for i, nm in enumerate(names):
                c = seen.get(nm, 0) + 1
                seen[nm] = c
                if c > 1:
                    names[i] = f"{nm} {c}"
        # CSM: dedicated for Enterprise / Mid-Market, pooled for SMB
        csm = np.empty(n, dtype=object)
        for s_i, s_name in enumerate(SEGMENTS):
            idx = np.flatnonzero(seg == s_i)
            pool = np.array(CSMS[s_name], dtype=object)
            csm[idx] = pool[rng.integers(0, len(pool), len(idx))]
        # onboarding
        onb = first_start + self.onboard_days
        onb_missing = self.never_onboard | (onb >= now)
        # CSM sentiment: recent for dedicated CSMs, often stale for pooled ones and risky accounts
        t_last = np.minimum(np.searchsorted(self.month_days, np.where(churned, last_end, now - 1), side="right") - 1, M - 1)
        t_last = np.maximum(t_last, 0)
        s_now = self.S[np.arange(n), t_last]
        gap = rng.exponential(_SEG["sentiment_every"][seg] * np.exp(0.35 * np.maximum(s_now, -1)))
        ref = np.where(churned, last_end, now - 1)
        sent_day = np.maximum(ref - np.round(gap).astype(np.int64), first_start)
        t_sent = np.clip(np.searchsorted(self.month_days, sent_day, side="right") - 1, 0, M - 1)
        s_sent = self.S[np.arange(n), t_sent]
        sentiment = np.clip(np.round(rng.normal(3.7 - 0.8 * s_sent, 0.6)), 1, 5)
        no_sent = rng.random(n) < np.array([0.2, 0.05, 0.0])[seg]
        sentiment[no_sent] = np.nan
        # renewal date: next renewal of a running annual contract
        nr = getattr(self, "next_renewal", np.full(n, -1))
        status = np.where(churned, "Churned", np.where(onb_missing & (now - first_start < 120), "Onboarding", "Active"))
        referrals = np.where(rng.random(n) < 0.10 * np.exp(-1.2 * self.base_risk) * (seg + 1) ** 0.3,
                             rng.integers(1, 4, n), 0).astype(np.float64)
        reviews = (rng.random(n) < 0.05 * np.exp(-self.base_risk)).astype(np.float64)
        case_studies = ((seg > 0) & (rng.random(n) < 0.04 * np.exp(-self.base_risk))).astype(np.float64)
        cac = np.round(_SEG["cac_median"][seg] * np.exp(rng.normal(0, 0.4, n)), -1)
        cac[rng.random(n) < 0.12] = np.nan
        frame = pd.DataFrame({
            "account_id": self.ids,
            "account_name": np.array(names, dtype=object),
            "csm": csm,
            "segment": np.array(SEGMENTS, dtype=object)[seg],
            "plan": np.array(PLANS, dtype=object)[self.b_tier],
            "industry": np.array(INDUSTRIES, dtype=object)[self.industry],
            "region": np.array(REGIONS, dtype=object)[self.region],
            "customer_since": self._dates(first_start),
            "renewal_date": self._dates(np.maximum(nr, 0), missing=nr < 0),
            "seats": self.b_seats.astype(np.float64),
            "cac": cac,
            "onboarded_on": self._dates(onb, missing=onb_missing),
            "referrals": referrals,
            "reviews": reviews,
            "case_studies": case_studies,
            "csm_sentiment": sentiment,
            "csm_sentiment_date": self._dates(sent_day, missing=no_sent),
            "status": status.astype(object),
            "churn_date": self._dates(last_end, missing=~churned),
        })
        return frame.sort_values("account_id", kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------
@contextmanager
def _atomic(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it into place when the block succeeds."""
    tmp_path = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def _mrr_wide(long: pd.DataFrame) -> pd.DataFrame:
    months = pd.DatetimeIndex(long["month"])
    labels = months.strftime("%Y-%m")
    wide = pd.DataFrame({"account_id": long["account_id"].to_numpy(), "label": labels,
                         "mrr": long["mrr"].to_numpy()}).pivot(index="account_id", columns="label", values="mrr")
    wide = wide[sorted(wide.columns)]
    wide.columns.name = None
    return wide.reset_index()


def _write_sheet(book, name: str, frame: pd.DataFrame, formats: dict) -> None:
    sheet = book.add_worksheet(name)
    columns = list(frame.columns)
    writers = []
    for j, col in enumerate(columns):
        series = frame[col]
        if pd.api.types.is_datetime64_any_dtype(series):
            values = series.to_numpy(dtype="datetime64[ns]")
            missing = np.isnat(values)
            serial = values.astype(np.int64) / _DAY_NS + _EXCEL_EPOCH_DAYS
            has_time = bool(((values.astype(np.int64) % _DAY_NS)[~missing] != 0).any())
            fmt = formats["datetime" if has_time else "date"]
            data = [None if m else float(v) for v, m in zip(serial.tolist(), missing.tolist())]
            writers.append((sheet.write_number, data, fmt))
            sheet.set_column(j, j, 19 if has_time else 11)
        elif pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            values = series.to_numpy(dtype=np.float64)
            data = [None if v != v else v for v in values.tolist()]
            money = col in ("mrr", "amount", "cac", "amount_before", "amount_after") or _is_month_label(col)
            writers.append((sheet.write_number, data, formats["money"] if money else None))
            sheet.set_column(j, j, 11 if money else 9)
        else:
            data = [None if (v is None or v != v) else str(v) for v in series.tolist()]
            writers.append((sheet.write_string, data, None))
            sheet.set_column(j, j, 28 if col in ("account_name", "comment", "plan") else 14)
    sheet.freeze_panes(1, 1 if name == "mrr" else 0)
    header = formats["header"]
    for j, col in enumerate(columns):
        sheet.write_string(0, j, str(col), header)
    for i in range(len(frame)):
        row = i + 1
        for j, (write, data, fmt) in enumerate(writers):
            v = data[i]
            if v is None:
                continue
            if fmt is None:
                write(row, j, v)
            else:
                write(row, j, v, fmt)


def _is_month_label(col) -> bool:
    return isinstance(col, str) and len(col) == 7 and col[4] == "-" and col[:4].isdigit() and col[5:].isdigit()
