"""The baselines the suite measures the service against, in the same run: a bare Sanic hello on
the project's interpreter, and a bare FastAPI + uvicorn app in a venv of its own under .praxis/,
installed from the hash-locked, pinned fastapi.txt (never into the project's environment)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FASTAPI_VENV = ROOT / ".praxis" / "bench-baseline-venv"
FASTAPI_REQUIREMENTS = HERE / "fastapi.txt"
HOST = "127.0.0.1"


def sanic_hello_command(port: int) -> list[str]:
    return [sys.executable, "-m", "bench.baselines.sanic_hello", "--port", str(port)]


def fastapi_command(python: Path, port: int) -> list[str]:
    return [
        str(python),
        "-m",
        "uvicorn",
        "fastapi_app:app",
        "--app-dir",
        str(HERE),
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
    ]


def fastapi_python() -> Path:
    """The FastAPI baseline venv's interpreter, installed or brought up to date first."""
    return private_venv(FASTAPI_VENV, FASTAPI_REQUIREMENTS)


def private_venv(venv: Path, requirements: Path) -> Path:
    """The interpreter of a venv of its own for a bench tool, installed (or brought up to date
    with ``requirements``) first: a venv on the project's interpreter, filled by uv with exactly
    the locked packages."""
    python = venv / "bin" / "python"
    stamp = venv / "requirements.txt"
    wanted = requirements.read_text()
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    uv = os.environ.get("UV") or shutil.which("uv") or str(ROOT / ".praxis/tools/bin/uv")
    subprocess.run(
        [uv, "venv", "--quiet", "--allow-existing", "--python", sys.executable, str(venv)],
        check=True,
    )
    install = [uv, "pip", "install", "--quiet", "--require-hashes", "--exact"]
    subprocess.run([*install, "-r", str(requirements), "--python", str(python)], check=True)
    stamp.write_text(wanted)
    return python


def installed_versions(python: Path, *packages: str) -> dict[str, str]:
    """The versions of ``packages`` in the interpreter's environment."""
    code = (
        "import sys, importlib.metadata as m; print(' '.join(m.version(p) for p in sys.argv[1:]))"
    )
    output = subprocess.run(
        [str(python), "-c", code, *packages], capture_output=True, text=True, check=True
    ).stdout
    return dict(zip(packages, output.split(), strict=True))
