"""The load generator: one client process holding many stations. The benchmarks start several.

Three modes, each reading commands on stdin and writing one JSON object per line on stdout:

``cost``     stations in a closed loop: each sends the next frame of the charging-session mix as
             soon as the previous one is answered (or, with ``--rate``, paced so that all of
             them together send that many a second). After ``--warmup`` s it samples the
             server's CPU time (psutil, ``--server-pid``) and counts answers over ``--window`` s.
``idle``     on ``go``: connects its stations as fast as ``--inflight`` allows (the connect
             storm); on ``boot``: each sends one BootNotification; then holds them until ``quit``.
``profile``  on ``go``: connects; on ``start``: for ``--window`` s each station sends MeterValues
             every ``--mv`` s and Heartbeat every ``--hb`` s, from a random offset, one CALL at a
             time, and the round trip of every answer is recorded.
``soak``     on ``go``: stations charge for as long as it runs (StartTransaction, ``--readings``
             MeterValues, StopTransaction, one message every ``--interval`` s), reconnect by
             themselves when the connection goes, and send a message again until it is
             acknowledged. ``stats`` reports the phase since the last ``stats``; ``drop F``
             closes a fraction F of the connections at once; ``quit`` lets each station finish
             the message in hand and writes every acknowledgement to ``--ledger``.

    .venv/bin/python bench/loadgen.py cost --port 9100 --stations 200 --server-pid 1234
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import heapq
import json
import random
import resource
import sys
import time
from typing import Any

import psutil

import ocppframes
from wsclient import RawWebSocket, connect

HOST = "127.0.0.1"


def emit(**fields: Any) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


async def read_command() -> str:
    line = await asyncio.to_thread(sys.stdin.readline)
    return line.strip() or "quit"


def cpu_seconds(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return float(t.user + t.system)


async def connect_all(
    args: argparse.Namespace,
    on_text: Any,
    inflight: int,
    retries: int = 5,
) -> tuple[dict[int, RawWebSocket], dict[str, Any]]:
    """Connect stations ``first … first+count-1``; at most ``inflight`` handshakes at a time."""
    sem = asyncio.Semaphore(inflight)
    conns: dict[int, RawWebSocket] = {}
    failures: dict[str, int] = {}
    handshake_times: list[float] = []
    password = args.password or None

    async def one(n: int) -> None:
        for attempt in range(retries + 1):
            async with sem:
                t0 = time.perf_counter()
                try:
                    conns[n] = await connect(
                        HOST, args.port, ocppframes.station_id(n), password, on_text
                    )
                    handshake_times.append(time.perf_counter() - t0)
                    return
                except (OSError, TimeoutError, Exception) as exc:
                    key = type(exc).__name__ + ": " + str(exc)[:60]
                    failures[key] = failures.get(key, 0) + 1
            await asyncio.sleep(0.2 * (attempt + 1))

    started = time.monotonic()
    await asyncio.gather(*(one(n) for n in range(args.first, args.first + args.count)))
    finished = time.monotonic()
    handshake_times.sort()
    stats = {
        "connected": len(conns),
        "started": started,
        "finished": finished,
        "failures": failures,
        "handshake_p50_ms": 1000 * handshake_times[len(handshake_times) // 2]
        if handshake_times
        else None,
    }
    return conns, stats


# -- cost: closed loop ------------------------------------------------------------------------
async def run_cost(args: argparse.Namespace) -> None:
    scripts: dict[int, ocppframes.Script] = {}
    counters = {"answers": 0, "errors": 0}
    booted: dict[int, asyncio.Future[None]] = {}
    loop = asyncio.get_running_loop()
    running = True
    # --rate caps the total: each station then sends at most rate/stations CALLs a second.
    interval = args.count / args.rate if args.rate else 0.0
    next_due: dict[int, float] = {}

    def on_text(ws: RawWebSocket, raw: bytes) -> None:
        n = by_ws[id(ws)]
        fut = booted.get(n)
        if fut is not None:
            del booted[n]
            fut.set_result(None)
            return
        counters["answers"] += 1
        if raw.startswith(b"[4,"):
            counters["errors"] += 1
        script = scripts[n]
        script.answer(raw)
        if not running:
            return
        if interval:
            # Paced: this station's CALLs are due one interval apart on its own schedule, sent
            # at the due time or, when the answer came later, at once. (Not one interval after
            # the answer: stations answered by one commit would then send together from then
            # on, and the server would see bursts where the fleet's pace is even.)
            due = next_due[n] = next_due[n] + interval
            loop.call_at(max(due, loop.time()), send_next, n, ws)
        else:
            ws.send_text(script.next())

    def send_next(n: int, ws: RawWebSocket) -> None:
        if running:
            ws.send_text(scripts[n].next())

    by_ws: dict[int, int] = {}
    conns, stats = await connect_all(args, on_text, inflight=args.inflight)
    for n, ws in conns.items():
        by_ws[id(ws)] = n
        scripts[n] = ocppframes.Script()
    for n, ws in conns.items():
        booted[n] = loop.create_future()
        ws.send_text(ocppframes.boot("boot"))
    await asyncio.wait_for(asyncio.gather(*booted.values()), 60)

    server = psutil.Process(args.server_pid)
    me = psutil.Process()
    start = loop.time()
    for i, (n, ws) in enumerate(conns.items()):
        if interval:  # spread the first CALLs over one interval
            next_due[n] = start + interval * i / len(conns)
            loop.call_at(next_due[n], send_next, n, ws)
        else:
            ws.send_text(scripts[n].next())
    await asyncio.sleep(args.warmup)
    a0, e0, s0, c0, t0 = (
        counters["answers"],
        counters["errors"],
        cpu_seconds(server),
        cpu_seconds(me),
        time.perf_counter(),
    )
    db0 = _db_cpu(args.extra_match)
    await asyncio.sleep(args.window)
    a1, e1, s1, c1, t1 = (
        counters["answers"],
        counters["errors"],
        cpu_seconds(server),
        cpu_seconds(me),
        time.perf_counter(),
    )
    db1 = _db_cpu(args.extra_match)
    running = False
    emit(
        event="result",
        connected=stats["connected"],
        failures=stats["failures"],
        answers=a1 - a0,
        errors=e1 - e0,
        seconds=t1 - t0,
        server_cpu=s1 - s0,
        client_cpu=c1 - c0,
        server_rss=server.memory_info().rss,
        extra_cpu=_db_delta(db0, db1),
    )
    await asyncio.sleep(0.5)
    for ws in conns.values():
        ws.abort()


def _db_cpu(marker: str) -> dict[int, float]:
    """CPU seconds of each database server process whose command line holds ``marker``
    (PostgreSQL backends read ``postgres: user database host``)."""
    found: dict[int, float] = {}
    if not marker:
        return found
    for p in psutil.process_iter(["name", "cmdline"]):
        if p.info["name"] == "postgres" and marker in " ".join(p.info["cmdline"] or []):
            with contextlib.suppress(psutil.Error):
                found[p.pid] = cpu_seconds(p)
    return found


def _db_delta(before: dict[int, float], after: dict[int, float]) -> float | None:
    """Backends that started within the window count whole; those that ended are lost."""
    if not before and not after:
        return None
    return sum(t - before.get(pid, 0.0) for pid, t in after.items())


# -- idle: connect storm and idle holding ---------------------------------------------------
async def run_idle(args: argparse.Namespace) -> None:
    waiting: dict[int, asyncio.Future[None]] = {}

    def on_text(ws: RawWebSocket, raw: bytes) -> None:
        fut = waiting.pop(id(ws), None)
        if fut is not None and not fut.done():
            fut.set_result(None)

    emit(event="ready")
    command = await read_command()
    if command != "go":
        return
    conns, stats = await connect_all(args, on_text, inflight=args.inflight)
    emit(event="connected", **stats)
    conns_list = list(conns.values())

    async def boot(ws: RawWebSocket, sem: asyncio.Semaphore) -> bool:
        async with sem:
            fut = waiting[id(ws)] = asyncio.get_running_loop().create_future()
            ws.send_text(ocppframes.boot("boot-1"))
            try:
                await asyncio.wait_for(fut, 60)
                return True
            except TimeoutError:
                return False

    while True:
        command = await read_command()
        if command == "boot":
            # Every station boots, at most --inflight waiting for their answer at a time (as
            # stations retry a boot that is not answered, the server is not flooded either).
            sem = asyncio.Semaphore(args.inflight)
            t0 = time.monotonic()
            answered = sum(await asyncio.gather(*(boot(ws, sem) for ws in conns_list)))
            emit(
                event="booted",
                answered=answered,
                unanswered=len(conns_list) - answered,
                seconds=time.monotonic() - t0,
            )
        elif command == "status":
            alive = sum(1 for ws in conns_list if not ws.closed.done())
            emit(event="status", alive=alive)
        else:
            break
    for ws in conns_list:
        ws.abort()


# -- profile: timed sends, round-trip latency ------------------------------------------------
async def run_profile(args: argparse.Namespace) -> None:
    MV, HB = 0, 1
    sent_at: dict[int, float] = {}
    queued: dict[int, list[int]] = {}
    latencies: list[list[float]] = [[], []]
    kinds: dict[int, int] = {}
    counters = {"errors": 0, "sent": 0}
    drained = asyncio.Event()  # set once the window is over and every CALL is answered
    stopping = False
    seqs: dict[int, int] = {}
    meter: dict[int, int] = {}
    by_ws: dict[int, int] = {}
    conns: dict[int, RawWebSocket] = {}

    def send(n: int, kind: int) -> None:
        seq = seqs[n] = seqs.get(n, 0) + 1
        uid = str(seq)
        if kind == MV:
            meter[n] = meter.get(n, 1000) + 100
            frame = ocppframes.meter_values(uid, None, meter[n], seq)
        else:
            frame = ocppframes.heartbeat(uid)
        kinds[n] = kind
        sent_at[n] = time.perf_counter()
        counters["sent"] += 1
        conns[n].send_text(frame)

    def on_text(ws: RawWebSocket, raw: bytes) -> None:
        now = time.perf_counter()
        n = by_ws.get(id(ws))
        if n is None:
            return
        t = sent_at.pop(n, None)
        if t is None:
            return
        latencies[kinds[n]].append(now - t)
        if raw.startswith(b"[4,"):
            counters["errors"] += 1
        backlog = queued.get(n)
        if backlog:
            send(n, backlog.pop(0))
        elif stopping and not sent_at:
            drained.set()

    emit(event="ready")
    if await read_command() != "go":
        return
    conns_, stats = await connect_all(args, on_text, inflight=args.inflight)
    conns.update(conns_)
    for n, ws in conns.items():
        by_ws[id(ws)] = n
    emit(event="connected", **stats)
    if await read_command() != "start":
        return
    loop = asyncio.get_running_loop()
    rng = random.Random(args.first)
    start = loop.time()
    end = start + args.window
    heap: list[tuple[float, int, int]] = []
    for n in conns:
        heap.append((start + rng.uniform(0, args.mv), n, MV))
        heap.append((start + rng.uniform(0, args.hb), n, HB))
    heapq.heapify(heap)
    lag_max = 0.0
    while heap and heap[0][0] < end:
        now = loop.time()
        while heap and heap[0][0] <= now:
            due, n, kind = heapq.heappop(heap)
            lag_max = max(lag_max, now - due)
            if n in sent_at:  # one CALL at a time: this one goes when the last is answered
                queued.setdefault(n, []).append(kind)
            else:
                send(n, kind)
            heapq.heappush(heap, (due + (args.mv if kind == MV else args.hb), n, kind))
        if heap:
            await asyncio.sleep(max(0.0, heap[0][0] - loop.time()))
    stopping = True
    if sent_at:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(drained.wait(), 10)
    alive = sum(1 for ws in conns.values() if not ws.closed.done())
    emit(
        event="result",
        sent=counters["sent"],
        errors=counters["errors"],
        unanswered=len(sent_at),
        alive=alive,
        scheduler_lag_max_ms=lag_max * 1000,
        mv=[round(x * 1000, 3) for x in latencies[MV]],
        hb=[round(x * 1000, 3) for x in latencies[HB]],
    )
    await read_command()
    for ws in conns.values():
        ws.abort()


# -- soak: stations that charge for hours, lose their connection, and keep a ledger ---------
class SoakStation:
    """One station's state: its clock, its meter, the message it has in hand."""

    __slots__ = (
        "answer",
        "meter_wh",
        "n",
        "pending",
        "readings",
        "second",
        "sent_at",
        "seq",
        "transaction_id",
        "ws",
    )

    def __init__(self, n: int) -> None:
        self.n = n
        self.ws: RawWebSocket | None = None
        self.seq = 0
        self.second = 0
        self.meter_wh = 1000
        self.transaction_id: int | None = None
        self.readings = 0
        # What it sends until acknowledged: (kind, meter, station second); rebuilt with a new
        # message id for every attempt, the same payload each time.
        self.pending: tuple[str, int, int] | None = None
        self.answer: asyncio.Future[bytes] | None = None
        self.sent_at = 0.0


class SoakLedger:
    """Everything acknowledged, and the current phase's counters."""

    def __init__(self) -> None:
        self.starts: list[tuple[int, int, int]] = []  # transaction id, station, meterStart
        self.stops: list[tuple[int, int]] = []  # transaction id, meterStop
        self.readings: dict[int, list[int]] = {}  # station: acknowledged energy registers
        self.reset()

    def reset(self) -> None:
        self.answered = 0
        self.call_errors = 0
        self.lost = 0
        self.reconnects = 0
        self.refused: dict[str, int] = {}
        self.latencies: list[float] = []


class Lost(Exception):
    """No answer: the connection went, or the answer did not come in time."""


async def run_soak(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    ledger = SoakLedger()
    stations = {n: SoakStation(n) for n in range(args.first, args.first + args.count)}
    by_ws: dict[int, SoakStation] = {}
    running = True
    rng = random.Random(args.first)

    def on_text(ws: RawWebSocket, raw: bytes) -> None:
        st = by_ws.get(id(ws))
        if st is None:
            return
        if raw.startswith(b"[2,"):  # the platform's own call (local lists): not supported here
            uid = raw.split(b",", 2)[1]
            ws.send_text(b"[4," + uid + b',"NotSupported","",{}]')
            return
        if st.answer is not None and not st.answer.done():
            st.answer.set_result(raw)

    def frame(st: SoakStation) -> bytes:
        assert st.pending is not None
        kind, meter, second = st.pending
        st.seq += 1
        uid = f"{st.seq}"
        if kind == "Boot":
            return ocppframes.boot(uid)
        if kind == "Start":
            return ocppframes.start_transaction(uid, meter, second)
        assert st.transaction_id is not None
        if kind == "Meter":
            return ocppframes.meter_values(uid, st.transaction_id, meter, second)
        return ocppframes.stop_transaction(uid, st.transaction_id, meter, second)

    async def call(st: SoakStation) -> bytes:
        ws = st.ws
        assert ws is not None
        st.answer = fut = loop.create_future()
        st.sent_at = time.perf_counter()
        ws.send_text(frame(st))
        done, _ = await asyncio.wait(
            {fut, ws.closed}, timeout=args.answer_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if fut not in done:
            ledger.lost += 1
            raise Lost
        ledger.latencies.append((time.perf_counter() - st.sent_at) * 1000)
        return fut.result()

    def next_message(st: SoakStation) -> tuple[str, int, int]:
        st.second += 1
        if st.transaction_id is None:
            st.meter_wh += 1
            return ("Start", st.meter_wh, st.second)
        if st.readings < args.readings:
            st.meter_wh += 250
            return ("Meter", st.meter_wh, st.second)
        st.meter_wh += 1
        return ("Stop", st.meter_wh, st.second)

    def acknowledged(st: SoakStation, raw: bytes) -> None:
        assert st.pending is not None
        kind, meter, _ = st.pending
        st.pending = None
        ledger.answered += 1
        if kind == "Start":
            transaction_id = int(json.loads(raw)[2]["transactionId"])
            st.transaction_id, st.readings = transaction_id, 0
            ledger.starts.append((transaction_id, st.n, meter))
        elif kind == "Meter":
            st.readings += 1
            ledger.readings.setdefault(st.n, []).append(meter)
        elif kind == "Stop":
            assert st.transaction_id is not None
            ledger.stops.append((st.transaction_id, meter))
            st.transaction_id = None

    async def station(st: SoakStation) -> None:
        await asyncio.sleep(rng.uniform(0, args.interval))  # an even load from the start
        backoff, first = 1.0, True
        while running:
            try:
                ws = await connect(
                    HOST, args.port, ocppframes.station_id(st.n), args.password or None, on_text
                )
            except Exception as exc:
                key = str(exc).split(" ")[1] if str(exc).startswith("HTTP/") else type(exc).__name__
                ledger.refused[key] = ledger.refused.get(key, 0) + 1
                await asyncio.sleep(rng.uniform(0.5, 1.5) * backoff)
                backoff = min(backoff * 2, args.max_backoff)
                continue
            if not first:
                ledger.reconnects += 1
            first, backoff = False, 1.0
            st.ws = ws
            by_ws[id(ws)] = st
            resume, st.pending = st.pending, ("Boot", 0, 0)
            try:
                while True:
                    raw = await call(st)
                    if not raw.startswith(b"[3,"):
                        ledger.call_errors += 1
                        if not running:
                            break
                        await asyncio.sleep(min(args.interval, 5) * rng.uniform(0.5, 1.5))
                        continue
                    if st.pending is not None and st.pending[0] == "Boot":
                        st.pending = resume
                    else:
                        acknowledged(st, raw)
                    if not running:
                        break
                    await asyncio.sleep(args.interval)
                    if not running:
                        break
                    if st.pending is None:
                        st.pending = next_message(st)
            except Lost:
                ws.abort()
                await asyncio.sleep(rng.uniform(0.5, 1.5) * backoff)
            finally:
                by_ws.pop(id(ws), None)
                if not running:
                    ws.abort()
            if st.pending is not None and st.pending[0] == "Boot":
                st.pending = resume

    emit(event="ready")
    if await read_command() != "go":
        return
    tasks = [asyncio.create_task(station(st)) for st in stations.values()]
    while True:
        command = await read_command()
        if command == "stats":
            alive = sum(1 for st in stations.values() if st.ws and not st.ws.closed.done())
            emit(
                event="stats",
                answered=ledger.answered,
                call_errors=ledger.call_errors,
                lost=ledger.lost,
                reconnects=ledger.reconnects,
                refused=ledger.refused,
                alive=alive,
                latencies=[round(x, 2) for x in ledger.latencies],
            )
            ledger.reset()
        elif command.startswith("drop "):
            fraction = float(command.split()[1])
            open_now = [
                st.ws for st in stations.values() if st.ws is not None and not st.ws.closed.done()
            ]
            dropped = rng.sample(open_now, int(len(open_now) * fraction))
            for ws in dropped:
                ws.abort()
            emit(event="dropped", count=len(dropped))
        else:
            break
    running = False
    # Each station finishes the message in hand (answered, or given up after --answer-timeout).
    await asyncio.wait(tasks, timeout=args.answer_timeout + args.interval + 5)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    in_hand = sum(1 for st in stations.values() if st.pending is not None)
    write_ledger(args.ledger, ledger)
    emit(event="done", in_hand=in_hand)


def write_ledger(path: str, ledger: SoakLedger) -> None:
    with open(path, "w") as out:
        acknowledged = {"starts": ledger.starts, "stops": ledger.stops}
        json.dump({**acknowledged, "readings": ledger.readings}, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["cost", "idle", "profile", "soak"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--first", type=int, default=1, help="first station number")
    parser.add_argument("--count", "--stations", type=int, default=200, dest="count")
    parser.add_argument("--password", default="bench-password-0001", help="'' for none")
    parser.add_argument("--inflight", type=int, default=100, help="handshakes at a time")
    parser.add_argument("--server-pid", type=int)
    parser.add_argument("--extra-match", default="", help="cmdline of DB processes to measure")
    parser.add_argument("--rate", type=float, default=0, help="cost: cap on msgs/s, 0 none")
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--window", type=float, default=20)
    parser.add_argument("--mv", type=float, default=15, help="MeterValues interval, s")
    parser.add_argument("--hb", type=float, default=60, help="Heartbeat interval, s")
    parser.add_argument("--interval", type=float, default=15, help="soak: s between messages")
    parser.add_argument("--readings", type=int, default=10, help="soak: MeterValues a session")
    parser.add_argument("--answer-timeout", type=float, default=30, help="soak: then reconnect")
    parser.add_argument("--max-backoff", type=float, default=30, help="soak: reconnect backoff cap")
    parser.add_argument("--ledger", default="ledger.json", help="soak: acknowledgements, at quit")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    runner = {"cost": run_cost, "idle": run_idle, "profile": run_profile, "soak": run_soak}[
        args.mode
    ]
    asyncio.run(runner(args))


if __name__ == "__main__":
    main()
