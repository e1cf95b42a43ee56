"""Periodic jobs on the monotonic clock: what `intake run` schedules its poll and notices with.

APScheduler 3's interval trigger computes each next run from the wall clock, so a step of the
clock one day back stalls every job for a day (no poll without IDLE, no receipt even with it),
and a step forward fires them all at once. Here a job runs, then waits `interval` seconds of
`Clock.monotonic()` after that run ended: a step of the wall clock changes nothing.

- Each job has its own thread and runs one at a time: a slow poll never delays the notices, a
  hung run never piles up (there is nothing to coalesce or to catch up on).
- `trigger(name)` runs a job as soon as its current run (if any) ends: IDLE's new mail, or the
  notices right after a poll filed something.
- An exception in a job is logged with its traceback and the job runs again at its next
  interval; the scheduler goes on.
- `stop()` wakes every waiting job and, with `wait`, lets the running ones finish (the daemon
  asks them first to stop after the message in hand).
- `run_pending()` runs, in the caller's thread, the jobs that are due now: tests drive the
  schedule with a `FixedClock` through it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from core.clock import Clock

log = logging.getLogger(__name__)


@dataclass
class Job:
    name: str
    func: Callable[[], object]
    interval: float  # seconds of monotonic time between the end of a run and the next
    due: float  # monotonic time of the next run
    kick: threading.Event = field(default_factory=threading.Event)
    running: threading.Lock = field(default_factory=threading.Lock)
    runs: int = 0


class Scheduler:
    def __init__(self, clock: Clock, *, tick: float = 1.0) -> None:
        self.clock = clock
        self.tick = tick  # the longest a thread sleeps before it looks at the clock again
        self.jobs: dict[str, Job] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def add(
        self, name: str, func: Callable[[], object], interval: float, *, delay: float = 0.0
    ) -> Job:
        """Run `func` every `interval` seconds, the first time after `delay` seconds."""
        if interval <= 0:
            raise ValueError("interval must be positive")
        job = Job(name, func, float(interval), self.clock.monotonic() + delay)
        self.jobs[name] = job
        return job

    def trigger(self, name: str) -> None:
        job = self.jobs.get(name)
        if job is not None and not self._stop.is_set():
            if job.running.locked():
                log.debug("job %s triggered while it runs: it runs again right after", name)
            job.kick.set()

    # -- running ---------------------------------------------------------------------------------
    def _is_due(self, job: Job) -> bool:
        return job.kick.is_set() or self.clock.monotonic() >= job.due

    def _run(self, job: Job) -> None:
        with job.running:
            job.kick.clear()
            try:
                job.func()
            except Exception:  # the job's own boundary: log it, run again next interval
                log.exception("job %s failed; it runs again in %.0f s", job.name, job.interval)
            finally:
                job.runs += 1
                job.due = self.clock.monotonic() + job.interval

    def run_pending(self) -> list[str]:
        """Run the jobs due now, one after another, in this thread; their names."""
        ran = []
        for job in list(self.jobs.values()):
            if self._is_due(job):
                self._run(job)
                ran.append(job.name)
        return ran

    def _loop(self, job: Job) -> None:
        while not self._stop.is_set():
            if self._is_due(job):
                if self._stop.is_set():  # woken by stop(), not by a trigger
                    return
                self._run(job)
                continue
            wait = min(job.due - self.clock.monotonic(), self.tick)
            job.kick.wait(max(wait, 0.0))

    def start(self) -> None:
        for job in self.jobs.values():
            t = threading.Thread(
                target=self._loop, args=(job,), name=f"job-{job.name}", daemon=True
            )
            t.start()
            self._threads.append(t)

    def stop(self, *, wait: bool = True) -> None:
        self._stop.set()
        for job in self.jobs.values():
            job.kick.set()
        if wait:
            for t in self._threads:
                t.join()
        self._threads = []
