"""Stopping a benchmark's server stops all of it, even what its main process leaves behind."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from bench import cpu, driver

DEADLINE_SECONDS = 30
# Starts a child that outlives it, writes the child's pid, and dies on SIGTERM without stopping
# the child: as a worker manager stopped in the middle of starting its workers does.
PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
open(sys.argv[1], "w").write(str(child.pid))
time.sleep(120)
"""


def child_pid(pid_file: Path) -> int:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the parent did not start its child"
        time.sleep(0.05)  # polling a starting process, bounded by the deadline
    return int(pid_file.read_text())


def test_stop_ends_the_descendants_a_stopped_process_leaves_behind(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(pid_file)])
    try:
        child = child_pid(pid_file)
        started = cpu.start_time(child)
        assert cpu.running(child, started)
    finally:
        driver.stop(parent)

    assert parent.returncode is not None
    assert not cpu.running(child, started)
