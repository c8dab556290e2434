"""Repeated errors are written once, then counted: ``voltflow.logs.CollapsingHandler`` on a fake
clock and a fake timer."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest

from voltflow.logs import CollapsingHandler, collapse_repeats


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeTimers:
    """Timers that fire when the test says time has passed."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.pending: list[tuple[float, Callable[[], None]]] = []

    def __call__(self, delay: float, callback: Callable[[], None]) -> None:
        self.pending.append((self.clock.now + delay, callback))

    def advance(self, seconds: float) -> None:
        """Moves the clock on, firing each timer at its own time."""
        until = self.clock.now + seconds
        while self.pending and min(self.pending, key=lambda p: p[0])[0] <= until:
            first = min(self.pending, key=lambda p: p[0])
            self.pending.remove(first)
            self.clock.now = max(self.clock.now, first[0])
            first[1]()
        self.clock.now = until


class Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    @property
    def lines(self) -> list[str]:
        """Each record's line, without its traceback."""
        return [f"{r.levelname} {r.name}: {r.getMessage()}" for r in self.records]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def timers(clock: FakeClock) -> FakeTimers:
    return FakeTimers(clock)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def log(clock: FakeClock, timers: FakeTimers, recorder: Recorder) -> Iterator[logging.Logger]:
    logger = logging.getLogger("voltflow.test_logs")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    handler = CollapsingHandler(recorder, window=10, clock=clock, schedule=timers)
    logger.addHandler(handler)
    yield logger
    logger.removeHandler(handler)
    logger.propagate = True


def fail(log: logging.Logger, station: str, exc: Exception) -> None:
    try:
        raise exc
    except Exception:
        log.exception("%s: %s failed", station, "MeterValues")


def test_a_storm_of_one_error_is_one_traceback_and_a_count(
    log: logging.Logger, timers: FakeTimers, recorder: Recorder
) -> None:
    for n in range(1000):
        fail(log, f"CP-{n}", ConnectionError("database down"))
        timers.advance(1 / 128)
    # 7.8 s in: the first is written whole, the 999 others wait for the window's end.
    assert recorder.lines == ["ERROR voltflow.test_logs: CP-0: MeterValues failed"]
    assert recorder.records[0].exc_info is not None
    timers.advance(3)
    assert len(recorder.records) == 2
    summary = recorder.records[1]
    assert recorder.lines[1] == (
        "ERROR voltflow.test_logs: repeated 999 times in the last 10 s: "
        "CP-999: MeterValues failed (ConnectionError)"
    )
    assert summary.exc_info is None


def test_after_the_window_the_next_one_is_written_whole_again(
    log: logging.Logger, timers: FakeTimers, recorder: Recorder
) -> None:
    fail(log, "CP-1", ConnectionError("down"))
    fail(log, "CP-2", ConnectionError("down"))
    timers.advance(10)
    fail(log, "CP-3", ConnectionError("down"))
    assert recorder.lines == [
        "ERROR voltflow.test_logs: CP-1: MeterValues failed",
        "ERROR voltflow.test_logs: repeated 1 times in the last 10 s: "
        "CP-2: MeterValues failed (ConnectionError)",
        "ERROR voltflow.test_logs: CP-3: MeterValues failed",
    ]
    assert recorder.records[2].exc_info is not None


def test_the_count_comes_with_the_next_record_when_no_timer_fired(
    log: logging.Logger, clock: FakeClock, recorder: Recorder
) -> None:
    fail(log, "CP-1", ConnectionError("down"))
    fail(log, "CP-2", ConnectionError("down"))
    clock.now += 11  # the timer is late (a busy process): the next record brings the count
    log.warning("something else")
    assert recorder.lines[1:] == [
        "ERROR voltflow.test_logs: repeated 1 times in the last 11 s: "
        "CP-2: MeterValues failed (ConnectionError)",
        "WARNING voltflow.test_logs: something else",
    ]


def test_kinds_differ_by_template_level_logger_and_exception_type(
    log: logging.Logger, timers: FakeTimers, recorder: Recorder
) -> None:
    fail(log, "CP-1", ConnectionError("down"))
    fail(log, "CP-1", ValueError("bad"))  # another exception type
    log.error("%s: %s failed", "CP-1", "MeterValues")  # no exception
    log.warning("%s: %s failed", "CP-1", "MeterValues")  # another level
    log.error("%s refused", "CP-1")  # another template
    logging.getLogger("voltflow.test_logs.child").error("%s: %s failed", "CP-1", "MeterValues")
    assert len(recorder.records) == 6
    timers.advance(10)
    assert len(recorder.records) == 6  # nothing held back, nothing to count


def test_records_that_only_look_alike_once_formatted_are_not_collapsed(
    log: logging.Logger, recorder: Recorder
) -> None:
    log.error("CP-1: MeterValues failed")
    log.error("CP-2: MeterValues failed")
    assert len(recorder.records) == 2


def test_closing_writes_the_counts_still_held(
    clock: FakeClock, timers: FakeTimers, recorder: Recorder
) -> None:
    handler = CollapsingHandler(recorder, window=10, clock=clock, schedule=timers)
    record = logging.makeLogRecord({"name": "x", "levelno": 40, "levelname": "ERROR", "msg": "m"})
    for _ in range(3):
        handler.handle(record)
    clock.now += 2
    handler.close()
    assert recorder.lines == ["ERROR x: m", "ERROR x: repeated 2 times in the last 2 s: m"]


def test_collapse_repeats_wraps_each_handler_once(recorder: Recorder) -> None:
    logger = logging.getLogger("voltflow.test_logs.install")
    logger.addHandler(recorder)
    try:
        collapse_repeats([logger.name])
        collapse_repeats([logger.name])
        (handler,) = logger.handlers
        assert isinstance(handler, CollapsingHandler)
        assert handler.target is recorder
    finally:
        for h in list(logger.handlers):
            logger.removeHandler(h)


def test_a_task_exception_never_retrieved_is_one_kind_whichever_task(
    log: logging.Logger, timers: FakeTimers, recorder: Recorder
) -> None:
    """asyncio writes the task into the message itself, below its first line."""
    for n in range(3):
        try:
            raise ConnectionError("down")
        except ConnectionError as exc:
            log.error(
                f"Task exception was never retrieved\nfuture: <Task name='list-{n}'>",
                exc_info=(type(exc), exc, exc.__traceback__),
            )
    timers.advance(10)
    assert recorder.lines[1] == (
        "ERROR voltflow.test_logs: repeated 2 times in the last 10 s: "
        "Task exception was never retrieved (ConnectionError)"
    )


def test_information_is_written_line_by_line(
    log: logging.Logger, timers: FakeTimers, recorder: Recorder
) -> None:
    for station in ("DEMO-01", "DEMO-02", "DEMO-03"):
        log.info("%s: online", station)
    timers.advance(10)
    assert recorder.lines == [
        "INFO voltflow.test_logs: DEMO-01: online",
        "INFO voltflow.test_logs: DEMO-02: online",
        "INFO voltflow.test_logs: DEMO-03: online",
    ]
