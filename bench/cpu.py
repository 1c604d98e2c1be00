"""CPU time from the kernel's process accounting (/proc): what a server's whole process tree (a
manager and its workers) and the PostgreSQL backends serving a database have used so far."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Fields after the command name in /proc/<pid>/stat (man 5 proc): ppid is the 4th field overall,
# utime and stime the 14th and 15th; the command name (2nd) may hold spaces and parentheses.
PPID_FIELD, UTIME_FIELD, STIME_FIELD = 1, 11, 12


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
