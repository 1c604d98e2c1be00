"""Processes as the kernel accounts for them (/proc): the CPU time a server's whole process tree
(a manager and its workers) and the PostgreSQL backends serving a database have used so far, and
which of a server's processes are still running."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Fields after the command name in /proc/<pid>/stat (man 5 proc): state is the 3rd field overall,
# ppid the 4th, utime and stime the 14th and 15th, starttime the 22nd; the command name (the 2nd)
# may hold spaces and parentheses.
STATE_FIELD, PPID_FIELD, UTIME_FIELD, STIME_FIELD, START_FIELD = 0, 1, 11, 12, 19


def _stat_fields(pid: int) -> list[str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # the process ended meanwhile
        return None
    return stat.rsplit(")", 1)[1].split()


def _pids() -> Iterator[int]:
    return (int(name) for name in os.listdir("/proc") if name.isdigit())


def cpu_seconds(pid: int) -> float:
    """User + system time of one process (0 once it has ended)."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    return (int(fields[UTIME_FIELD]) + int(fields[STIME_FIELD])) / CLOCK_TICKS


def start_time(pid: int) -> int | None:
    """When the process started (clock ticks since boot): with its pid, it names one process,
    even once the pid is reused. None once it has ended."""
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[START_FIELD])


def running(pid: int, started: int | None) -> bool:
    """The process ``pid`` that started at ``started`` is still running (not a zombie)."""
    fields = _stat_fields(pid)
    return (
        started is not None
        and fields is not None
        and int(fields[START_FIELD]) == started
        and fields[STATE_FIELD] != "Z"
    )


def tree(root: int) -> list[int]:
    """``root`` and its descendants."""
    parents: dict[int, int] = {}
    for pid in _pids():
        fields = _stat_fields(pid)
        if fields is not None:
            parents[pid] = int(fields[PPID_FIELD])
    found, frontier = [root], {root}
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        found += children
        frontier = set(children)
    return found


def tree_cpu_seconds(root: int) -> float:
    return sum(cpu_seconds(pid) for pid in tree(root))


def database_backends(database: str) -> list[int]:
    """PostgreSQL backends connected to ``database``: their titles read ``postgres: [CLUSTER:]
    USER DATABASE HOST(PORT) STATE`` (the cluster name when ``cluster_name`` is set)."""
    found = []
    for pid in _pids():
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        words = title.split()
        if not words or words[0] != "postgres:":
            continue
        rest = words[2:] if len(words) > 1 and words[1].endswith(":") else words[1:]
        if len(rest) > 1 and rest[1] == database:
            found.append(pid)
    return found


def backends_cpu_seconds(database: str) -> dict[int, float]:
    """CPU time of each backend of ``database``; a backend that appears later started at 0."""
    return {pid: cpu_seconds(pid) for pid in database_backends(database)}


def used_since(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU time the processes of ``after`` used since ``before`` was read."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())
