#!/usr/bin/env python3
"""Run Voltflow from a fresh checkout with nothing but Python 3.11+.

    python3 tasks.py demo      start the platform with demo data and simulated stations
    python3 tasks.py test      run the whole test suite (arguments after it go to pytest)
    python3 tasks.py check     lint, format check and strict typing
    python3 tasks.py serve     start the platform (arguments go to `voltflow serve`)
    python3 tasks.py voltflow  any `voltflow` command, e.g. `python3 tasks.py voltflow station list`

The first run creates ``.venv`` and installs the project into it; later runs reinstall only when
``pyproject.toml`` changed.
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


def ensure_env() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 (this file also runs on older Pythons)
        sys.exit(f"Voltflow needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print("creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing Voltflow and its dependencies into .venv …", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(wanted)


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
    ensure_env()
    if task == "demo":
        return run(str(BIN / "voltflow"), "demo", *rest)
    if task == "serve":
        return run(str(BIN / "voltflow"), "serve", *rest)
    if task == "voltflow":
        return run(str(BIN / "voltflow"), *rest)
    if task == "test":
        return run(str(BIN / "python"), "-m", "pytest", *rest)
    if task == "check":
        for cmd in (
            [str(BIN / "ruff"), "check", "src", "tests", "bench", "tasks.py"],
            [str(BIN / "ruff"), "format", "--check", "src", "tests", "bench", "tasks.py"],
            [str(BIN / "mypy")],
        ):
            code = run(*cmd)
            if code:
                return code
        return 0
    print(f"unknown task {task!r}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
