"""Shared benchmark data: the demo portfolio at a fixed size, generated once and cached."""
from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

CACHE = Path(__file__).resolve().parent / ".cache"


def demo_frames(accounts: int = 100_000, months: int = 36, seed: int = 7, usage: bool = False) -> dict[str, pd.DataFrame]:
    folder = CACHE / f"demo-{accounts}-{months}-{seed}{'-usage' if usage else ''}"
    names = ("accounts", "subscriptions", "mrr", "tickets", "surveys", "renewals") + (("usage",) if usage else ())
    if all((folder / f"{n}.pkl").exists() for n in names):
        return {n: pd.read_pickle(folder / f"{n}.pkl") for n in names}
    from cs_desk import demo

    t0 = time.perf_counter()
    frames = demo.generate(accounts=accounts, months=months, seed=seed, usage=usage)
    print(f"(generated demo {accounts} accounts x {months} months in {time.perf_counter() - t0:.1f}s)")
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        frames[n].to_pickle(folder / f"{n}.pkl")
    return frames


def timeit(fn, repeat: int = 5) -> tuple[float, float, float]:
    """(min, median, max) seconds of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[0], times[len(times) // 2], times[-1]
