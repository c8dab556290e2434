"""What every benchmark server shares: a high open-files limit, READY on stdout, a clean stop."""

from __future__ import annotations

import argparse
import asyncio
import resource
import signal
import sys
import threading


def raise_nofile_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard one: each station holds a file descriptor."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return soft


def ready(port: int, **extra: object) -> None:
    fields = " ".join(f"{k}={v}" for k, v in extra.items())
    print(f"READY port={port} {fields}".rstrip(), flush=True)


async def until_stopped(watch_stdin: bool = False) -> None:
    """Return on SIGTERM or SIGINT, or with ``watch_stdin`` when stdin closes (the benchmark that
    started us died)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    def read_stdin() -> None:
        sys.stdin.read()
        loop.call_soon_threadsafe(stop.set)

    if watch_stdin:  # a daemon thread: a blocked read must not hold up the exit
        threading.Thread(target=read_stdin, daemon=True).start()
    await stop.wait()


def server_arguments(description: str | None) -> argparse.ArgumentParser:
    """The options every benchmark server takes: where to listen, and --watch-stdin."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--watch-stdin", action="store_true", help="exit when stdin closes")
    return parser
