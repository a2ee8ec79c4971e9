"""One background job at a time, off the GUI thread (the window never freezes).

The engine knows nothing about threads: long functions take ``progress(fraction, text)`` and
``cancelled()`` arguments. :class:`JobRunner` runs one such function at a time on a private
single-thread pool and reports back through Qt signals, which Qt delivers on the GUI thread.

Jobs have a *key*; submitting a job while another runs queues it, and a newer job with the same
key replaces a queued one (so a slider dragged ten times recomputes once, with the last value).
"""
from __future__ import annotations

import inspect
import itertools
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


class Cancelled(Exception):
    """Raised inside a job (by :meth:`Job.check`) when the user cancelled it."""


@dataclass
class Job:
    key: str
    fn: Callable[..., Any]
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    label: str = ""
    id: int = 0
    cancel_event: threading.Event = field(default_factory=threading.Event)

    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def check(self) -> None:
        if self.cancel_event.is_set():
            raise Cancelled()


def _accepts(fn: Callable, name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


class _Relay(QObject):
    """Lives on the GUI thread; the pool thread emits through it (queued delivery)."""

    progress = Signal(int, float, str)
    done = Signal(int, object, float)
    failed = Signal(int, object, str)
    was_cancelled = Signal(int)


class _Runnable(QRunnable):
    def __init__(self, job: Job, relay: _Relay):
        super().__init__()
        self.job = job
        self.relay = relay
        self.setAutoDelete(True)

    def run(self) -> None:  # pool thread
        job, relay = self.job, self.relay
        kwargs = dict(job.kwargs)
        last = [0.0]

        def progress(fraction: float, text: str = "") -> None:
            now = time.perf_counter()
            if now - last[0] > 0.05 or fraction >= 1.0:  # at most ~20 updates per second
                last[0] = now
                relay.progress.emit(job.id, float(fraction), str(text or ""))
            if job.cancelled():
                raise Cancelled()

        if _accepts(job.fn, "progress"):
            kwargs.setdefault("progress", progress)
        if _accepts(job.fn, "cancelled"):
            kwargs.setdefault("cancelled", job.cancelled)
        t0 = time.perf_counter()
        try:
            result = job.fn(*job.args, **kwargs)
            if job.cancelled():
                raise Cancelled()
        except Cancelled:
            relay.was_cancelled.emit(job.id)
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the window
            if job.cancelled():  # the engine's own "cancelled" exception, raised on our request
                relay.was_cancelled.emit(job.id)
            else:
                relay.failed.emit(job.id, exc, traceback.format_exc())
        else:
            relay.done.emit(job.id, result, time.perf_counter() - t0)


class JobRunner(QObject):
    """Runs one job at a time; results and errors come back as signals on the GUI thread.

    Signals carry the job key: ``started(key, label)``, ``progress(key, fraction, text)``,
    ``finished(key, result)``, ``failed(key, exception, traceback_text)``, ``cancelled(key)``,
    and ``idle()`` when nothing is running or queued any more.
    """

    started = Signal(str, str)
    progress = Signal(str, float, str)
    finished = Signal(str, object)
    failed = Signal(str, object, str)
    cancelled = Signal(str)
    idle = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._relay = _Relay(self)
        self._relay.progress.connect(self._on_progress)
        self._relay.done.connect(self._on_done)
        self._relay.failed.connect(self._on_failed)
        self._relay.was_cancelled.connect(self._on_cancelled)
        self._ids = itertools.count(1)
        self._current: Job | None = None
        self._queue: list[Job] = []
        self._callbacks: dict[int, tuple[Callable | None, Callable | None]] = {}
        self.last_seconds: dict[str, float] = {}

    # -- public ---------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._current is not None or bool(self._queue)

    @property
    def current(self) -> Job | None:
        return self._current

    def submit(self, key: str, fn: Callable, *args, label: str = "", on_done: Callable | None = None,
               on_error: Callable | None = None, **kwargs) -> Job:
        """Queue ``fn(*args, **kwargs)``; a queued job with the same key is replaced."""
        job = Job(key, fn, args, kwargs, label or key, next(self._ids))
        self._callbacks[job.id] = (on_done, on_error)
        dropped = [j for j in self._queue if j.key == key]
        self._queue = [j for j in self._queue if j.key != key] + [job]
        for j in dropped:
            self._callbacks.pop(j.id, None)
        self._start_next()
        return job

    def cancel(self, key: str | None = None) -> None:
        """Cancel the running job (and queued ones) with ``key``, or everything when None."""
        self._queue = [j for j in self._queue if key is not None and j.key != key]
        if self._current is not None and (key is None or self._current.key == key):
            self._current.cancel_event.set()

    def wait(self, msecs: int = 30000) -> bool:
        """Block until the pool is idle (tests and shutdown only)."""
        return self._pool.waitForDone(msecs)

    # -- internals ------------------------------------------------------------------------------
    def _start_next(self) -> None:
        if self._current is not None or not self._queue:
            if self._current is None and not self._queue:
                self.idle.emit()
            return
        self._current = self._queue.pop(0)
        self.started.emit(self._current.key, self._current.label)
        self._pool.start(_Runnable(self._current, self._relay))

    def _finish(self, job_id: int) -> Job | None:
        job = self._current if self._current is not None and self._current.id == job_id else None
        self._current = None
        return job

    def _on_progress(self, job_id: int, fraction: float, text: str) -> None:
        if self._current is not None and self._current.id == job_id:
            self.progress.emit(self._current.key, fraction, text)

    def _on_done(self, job_id: int, result: object, seconds: float) -> None:
        job = self._finish(job_id)
        on_done, _ = self._callbacks.pop(job_id, (None, None))
        if job is not None:
            self.last_seconds[job.key] = seconds
            if on_done is not None:
                on_done(result)
            self.finished.emit(job.key, result)
        self._start_next()

    def _on_failed(self, job_id: int, exc: object, text: str) -> None:
        job = self._finish(job_id)
        _, on_error = self._callbacks.pop(job_id, (None, None))
        if job is not None:
            if on_error is not None:
                on_error(exc, text)
            self.failed.emit(job.key, exc, text)
        self._start_next()

    def _on_cancelled(self, job_id: int) -> None:
        job = self._finish(job_id)
        self._callbacks.pop(job_id, None)
        if job is not None:
            self.cancelled.emit(job.key)
        self._start_next()
