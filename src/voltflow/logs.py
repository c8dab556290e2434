"""Logging for the running platform: repeated errors are written once, with a count.

When the database goes away, every station message fails the same way: thousands of stations
each a traceback a message fill the disk in minutes and bury the one line that says what
happened. :class:`CollapsingHandler` sits in front of the real handlers: the first
record of a kind is written whole, identical ones that follow within ``window`` seconds are only
counted, and when the window ends (or with the next record written, whichever comes first) one
line says how many there were.

Warnings and errors are collapsed; information is not. Records are of a kind when they share
logger, level, message template (the first line of ``record.msg``, before the arguments are put
in: "%s: %s failed" is one kind whichever station failed) and exception type.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

# Long enough that an outage writes a handful of lines a minute, short enough that the count
# comes while someone is still looking at it.
DEFAULT_WINDOW = 10.0

Clock = Callable[[], float]
# Calls ``callback`` after ``delay`` seconds (a daemon ``threading.Timer`` by default).
Scheduler = Callable[[float, Callable[[], None]], None]

Kind = tuple[str, int, str, str | None]

# Information ("DEMO-01: online") is written as it comes, whatever its template: each line says
# something of its own, and information does not come in floods. Warnings and errors repeat.
COLLAPSED_FROM = logging.WARNING


def _thread_timer(delay: float, callback: Callable[[], None]) -> None:
    timer = threading.Timer(delay, callback)
    timer.daemon = True
    timer.start()


def kind_of(record: logging.LogRecord) -> Kind:
    exc_type = record.exc_info[0] if record.exc_info else None
    name = f"{exc_type.__module__}.{exc_type.__qualname__}" if exc_type is not None else None
    # The first line only: asyncio writes a failed task's details (its name, its coroutine)
    # into the message itself, below "Task exception was never retrieved".
    template = str(record.msg).split("\n", 1)[0]
    return (record.name, record.levelno, template, name)


@dataclass(slots=True)
class _Window:
    ends: float
    started: float
    repeats: int = 0
    last: logging.LogRecord | None = None
    timer_set: bool = False


class CollapsingHandler(logging.Handler):
    """Passes records on to ``target``, each kind at most once per ``window`` seconds, followed by
    a count of those held back ("… repeated N times in the last S s")."""

    def __init__(
        self,
        target: logging.Handler,
        *,
        window: float = DEFAULT_WINDOW,
        clock: Clock = time.monotonic,
        schedule: Scheduler = _thread_timer,
    ) -> None:
        super().__init__(target.level)
        self.target = target
        self.window = window
        self._clock = clock
        self._schedule = schedule
        # Guarded by the handler's lock, which ``handle`` holds around ``emit``, and the timers'
        # ``flush_ended`` takes: always before the target's, so the two cannot deadlock.
        self._windows: dict[Kind, _Window] = {}

    def emit(self, record: logging.LogRecord) -> None:
        now = self._clock()
        for summary in self._ended(now):
            self.target.handle(summary)
        if record.levelno < COLLAPSED_FROM:
            self.target.handle(record)
            return
        kind = kind_of(record)
        window = self._windows.get(kind)
        if window is None:
            self._windows[kind] = _Window(ends=now + self.window, started=now)
            self.target.handle(record)
            return
        window.repeats += 1
        window.last = record
        if not window.timer_set:  # the count is written when the window ends
            window.timer_set = True
            self._schedule(max(0.0, window.ends - now), self.flush_ended)

    def _ended(self, now: float) -> list[logging.LogRecord]:
        """Closes the windows that are over; their summaries."""
        summaries = []
        for kind, window in list(self._windows.items()):
            if window.ends <= now:
                del self._windows[kind]
                if window.repeats:
                    summaries.append(self._summary(window, now))
        return summaries

    def _summary(self, window: _Window, now: float) -> logging.LogRecord:
        last = window.last
        assert last is not None
        exc_type = last.exc_info[0] if last.exc_info else None
        cause = f" ({exc_type.__name__})" if exc_type is not None else ""
        seconds = now - window.started
        summary = logging.makeLogRecord(
            {
                "name": last.name,
                "levelno": last.levelno,
                "levelname": last.levelname,
                "pathname": last.pathname,
                "lineno": last.lineno,
                "funcName": last.funcName,
                "msg": "repeated %d times in the last %.0f s: %s%s",
                "args": (window.repeats, seconds, last.getMessage().split("\n", 1)[0], cause),
            }
        )
        summary.repeats = window.repeats
        return summary

    def flush_ended(self) -> None:
        """Writes the count of every window that is over."""
        self.acquire()
        try:
            for summary in self._ended(self._clock()):
                self.target.handle(summary)
        finally:
            self.release()

    def flush(self) -> None:
        self.flush_ended()
        self.target.flush()

    def close(self) -> None:
        """Writes every count still held, however recent its window, then closes the target."""
        self.acquire()
        try:
            now = self._clock()
            for window in self._windows.values():
                if window.repeats:
                    self.target.handle(self._summary(window, now))
            self._windows.clear()
        finally:
            self.release()
        self.target.close()
        super().close()


def collapse_repeats(
    loggers: Iterable[str] = ("",),
    *,
    window: float = DEFAULT_WINDOW,
    clock: Clock = time.monotonic,
    schedule: Scheduler = _thread_timer,
) -> None:
    """Puts a :class:`CollapsingHandler` in front of each handler of ``loggers`` (the root logger
    by default). Idempotent: a handler already behind one is left as it is."""
    for name in loggers:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            if isinstance(handler, CollapsingHandler):
                continue
            logger.removeHandler(handler)
            logger.addHandler(
                CollapsingHandler(handler, window=window, clock=clock, schedule=schedule)
            )
