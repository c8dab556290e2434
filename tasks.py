#!/usr/bin/env python3
"""Run Voltflow from a fresh checkout with nothing but Python 3.11+.

    python3 tasks.py demo      start the platform with demo data and simulated stations
    python3 tasks.py test      run the whole test suite (arguments after it go to pytest)
    python3 tasks.py check     lint, format check, strict typing, the import contracts and the
                               translations (every message in the catalogs, none fuzzy/missing)
    python3 tasks.py messages  extract the messages into the catalogs (then translate the new ones)
    python3 tasks.py serve     start the platform (arguments go to `voltflow serve`)
    python3 tasks.py voltflow  any `voltflow` command, e.g. `python3 tasks.py voltflow station list`
    python3 tasks.py lock      pin the newest versions pyproject.toml allows in requirements.lock

The first run creates ``.venv`` and installs into it the versions ``requirements.lock`` pins, then
the project itself; later runs reinstall only when ``pyproject.toml`` or the lock changed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".voltflow-installed"
LOCK = ROOT / "requirements.lock"
PIP = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
# The one target: CI runs CPython 3.11 on Linux. The lock keeps plain pins, no index, no links
# and no hashes, so that it reads the same whichever index or local wheel directory resolved it.
LOCK_COMMAND = [
    "pip",
    "compile",
    "pyproject.toml",
    "--extra",
    "dev",
    "--python-version",
    "3.11",
    "--python-platform",
    "linux",
    "--upgrade",
    "--no-emit-index-url",
    "--no-emit-find-links",
    "--custom-compile-command",
    "python3 tasks.py lock",
    "--quiet",
    "--output-file",
    str(LOCK),
]


def check_python() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 (this file also runs on older Pythons)
        sys.exit(f"Voltflow needs Python 3.11 or newer; this is {sys.version.split()[0]}")


def create_venv() -> None:
    if not (BIN / "python").exists():
        print("creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)


def ensure_env() -> None:
    digest = hashlib.sha256()
    for source in (ROOT / "pyproject.toml", LOCK):
        digest.update(source.read_bytes())
    wanted = digest.hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    create_venv()
    print("installing Voltflow and its dependencies into .venv …", flush=True)
    subprocess.run([*PIP, "--upgrade", "pip"], check=True)
    # What the lock pins and nothing else: the project's own requirements are all in it.
    subprocess.run([*PIP, "-r", str(LOCK)], check=True)
    subprocess.run([*PIP, "--no-deps", "-e", str(ROOT)], check=True)
    STAMP.write_text(wanted)


def lock() -> int:
    """Resolve pyproject.toml's dependencies and its dev extra anew into requirements.lock."""
    create_venv()
    if not (BIN / "uv").exists():
        subprocess.run([*PIP, "uv"], check=True)
    return run(str(BIN / "uv"), *LOCK_COMMAND)


def run(*cmd: str) -> int:
    try:
        return subprocess.call(list(cmd), cwd=ROOT)
    except KeyboardInterrupt:
        return 130


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return 0
    task, rest = argv[0], argv[1:]
    check_python()
    if task == "lock":
        return lock()
    ensure_env()
    if task == "demo":
        return run(str(BIN / "voltflow"), "demo", *rest)
    if task == "serve":
        return run(str(BIN / "voltflow"), "serve", *rest)
    if task == "voltflow":
        return run(str(BIN / "voltflow"), *rest)
    if task == "messages":
        return run(str(BIN / "python"), "-m", "voltflow.i18n.catalogs", "update")
    if task == "test":
        return run(str(BIN / "python"), "-m", "pytest", *rest)
    if task == "check":
        for cmd in (
            [str(BIN / "ruff"), "check", "src", "tests", "bench", "tasks.py"],
            [str(BIN / "ruff"), "format", "--check", "src", "tests", "bench", "tasks.py"],
            [str(BIN / "mypy")],
            [str(BIN / "lint-imports")],
            [str(BIN / "python"), "-m", "voltflow.i18n.catalogs", "check"],
        ):
            code = run(*cmd)
            if code:
                return code
        return 0
    print(f"unknown task {task!r}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
