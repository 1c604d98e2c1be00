"""Real processes for tests: `praxis serve` (and helpers' servers) started, awaited and stopped
within bounded times, their output kept in a log file shown when a test fails."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
import redis

START_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 30
POLL_SECONDS = 0.05
# `praxis ARGS...` with environment changes as keywords, run to its end (tests/ops' fixture).
Praxis = Callable[..., subprocess.CompletedProcess[str]]
# Quotas no functional test reaches; the rate-limit tests set their own.
HUGE_QUOTA = "100000/minute"
SERVED_JWT_SECRET = "served-test-secret-" + "x" * 40  # noqa: S105 - a test process's key
PRAXIS_SERVE = ("-m", "service", "serve")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(ready: Callable[[], bool], process: subprocess.Popen[bytes], what: str) -> None:
    """Poll ``ready`` until it is true, the process dies, or the deadline passes."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{what} exited early with {process.returncode}")
        if ready():
            return
        time.sleep(POLL_SECONDS)  # polling a starting process, bounded by the deadline
    raise AssertionError(f"{what} did not start within {START_TIMEOUT_SECONDS}s")


def stop(process: subprocess.Popen[bytes]) -> None:
    stop_all([process])


def stop_all(processes: Sequence[subprocess.Popen[bytes]]) -> None:
    """SIGTERM to every process still running, at once (their shutdowns overlap), then wait for
    each; one that outlives the deadline is killed. Never a second SIGTERM: Sanic's manager
    takes that as "kill the workers now"."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_SECONDS)


def answers_health(base_url: str) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            return httpx.get(base_url + "/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    return ready


def all_pids() -> Iterator[int]:
    return (int(name) for name in os.listdir("/proc") if name.isdigit())


def parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # the process ended meanwhile
        return None
    # The command name (field 2) may hold spaces; the parent pid is the second field after it.
    return int(stat.rsplit(")", 1)[1].split()[1])


def descendants_of(pid: int) -> list[int]:
    """``pid``'s children, their children, and so on."""
    found: list[int] = []
    parents = {pid}
    while parents:
        children = [child for child in all_pids() if parent_of(child) in parents]
        found += children
        parents = set(children)
    return found


def sanic_workers_of(pid: int) -> list[int]:
    """The Sanic worker processes among ``pid``'s descendants, while they run (Sanic sets
    ``SANIC_WORKER_NAME`` in each worker's environment; a process that ended shows none)."""
    workers = []
    for child in descendants_of(pid):
        with contextlib.suppress(OSError):  # ended meanwhile
            if b"SANIC_WORKER_NAME=" in Path(f"/proc/{child}/environ").read_bytes():
                workers.append(child)
    return workers


def open_tcp_sockets(pids: list[int]) -> int:
    """TCP sockets the processes hold (connections and listeners). Not files (a worker opens
    its metrics files on its first request) nor Unix sockets (the worker manager's own)."""
    return len(_socket_inodes(pids) & _tcp_inodes())


def tcp_connections_to(port: int, pids: list[int]) -> int:
    """Established TCP connections the processes hold to ``port`` on this host."""
    return len(_socket_inodes(pids) & _tcp_inodes(remote_port=port, established=True))


def _socket_inodes(pids: list[int]) -> set[str]:
    inodes: set[str] = set()
    for pid in pids:
        try:
            names = os.listdir(f"/proc/{pid}/fd")
        except OSError:  # the process ended meanwhile
            continue
        for name in names:
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{name}")
                if target.startswith("socket:["):
                    inodes.add(target.removeprefix("socket:[").removesuffix("]"))
    return inodes


def _tcp_inodes(remote_port: int | None = None, established: bool = False) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            # local address, remote address (hex ip:port), state (01: established), ..., inode
            _, _, remote, state, *rest = line.split()
            if remote_port is not None and int(remote.rsplit(":", 1)[1], 16) != remote_port:
                continue
            if established and state != "01":
                continue
            inodes.add(rest[5])  # the tenth column is the socket's inode
    return inodes


def serve_env(
    *,
    database_url: str,
    redis_url: str,
    data_dir: Path,
    workers: int = 1,
    key_prefix: str | None = None,
    **changes: str,
) -> dict[str, str]:
    """The environment of a test's ``praxis serve`` (for ``praxis_serve``): on a free port of
    127.0.0.1, every quota out of reach, warnings and errors logged, and Redis keys under
    ``key_prefix`` (a fresh one unless given: a test sharing the harness's namespace passes its
    own). ``changes`` (variable names as keywords) are applied last, over all of that."""
    return {
        "ENV": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": key_prefix or f"praxis-served-{uuid.uuid4().hex[:8]}:",
        "HOST": "127.0.0.1",
        "PORT": str(free_port()),
        "WORKERS": str(workers),
        "JWT_SECRET": SERVED_JWT_SECRET,
        "RATE_LIMIT_ANON": HUGE_QUOTA,
        "RATE_LIMIT_USER": HUGE_QUOTA,
        "RATE_LIMIT_AUTH": HUGE_QUOTA,
        "DATA_DIR": str(data_dir),
        "LOG_LEVEL": "WARNING",
        **changes,
    }


def start_server(
    arguments: Sequence[str], env: dict[str, str], stdout: IO[str], stderr: IO[str]
) -> subprocess.Popen[bytes]:
    """``python ARGUMENTS...`` with exactly ``env``, in a process group of its own: when its
    workers do not acknowledge their start in time (30 s: a CPU-starved machine), or on a second
    SIGTERM, Sanic's manager SIGKILLs its whole process group, which would otherwise be the test
    run's own (pytest, and every other server the test started)."""
    command = [sys.executable, *arguments]
    return subprocess.Popen(command, env=env, stdout=stdout, stderr=stderr, start_new_session=True)


def base_url_of(env: dict[str, str]) -> str:
    """Where a process started with ``env`` (from ``serve_env``) serves."""
    return f"http://127.0.0.1:{env['PORT']}"


@contextmanager
def praxis_serve(env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``praxis serve`` with ``env`` (over this process's environment; ``PORT`` is required),
    serving when the block starts and stopped when it ends."""
    with praxis_serve_all([(env, log_path)]) as (process,):
        yield process


@contextmanager
def praxis_serve_all(
    runs: Sequence[tuple[dict[str, str], Path]],
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Several ``praxis serve`` (an environment and a log file each), all serving when the block
    starts and stopped together (their shutdowns overlap) when it ends. They start one after
    the other: start-ups overlapping on a busy machine can outlast Sanic's 30 s for its workers
    to acknowledge theirs."""
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for env, log_path in runs:
            environment = {**os.environ, **env}
            environment.pop("PROMETHEUS_MULTIPROC_DIR", None)  # the CLI sets its own per DATA_DIR
            with log_path.open("w") as log:
                process = start_server(PRAXIS_SERVE, environment, log, log)
            processes.append(process)
            wait_until(answers_health(base_url_of(env)), process, "praxis serve")
        yield processes
    finally:
        stop_with_descendants(processes)
        for _, log_path in runs[: len(processes)]:  # those started
            print(log_path.read_text()[-4000:])  # noqa: T201 - shown by pytest only on failure


def stop_with_descendants(processes: Sequence[subprocess.Popen[bytes]]) -> None:
    """``stop_all``, then SIGKILL to what they had started that still runs: a main process
    killed after its stop timeout (Sanic's, e.g. stopped while a worker was still starting)
    leaves its workers and its multiprocessing helpers running."""
    started = [
        (pid, started_at(pid)) for process in processes for pid in descendants_of(process.pid)
    ]
    stop_all(processes)
    kill_if_still_running(started)


def started_at(pid: int) -> str | None:
    """The process's start time (clock ticks since boot): with the pid, its identity."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # the process ended meanwhile
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22 of proc(5)


def kill_if_still_running(processes: list[tuple[int, str | None]]) -> None:
    """SIGKILL each (pid, start time) still running: never another process given that pid."""
    for pid, started in processes:
        if started is not None and started_at(pid) == started:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


class PrivateRedis:
    """A redis-server of the test's own, on a free port, which the test may stop and start again
    (on the same port): the machine's shared Redis is never stopped."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--daemonize", "no", "--dir", str(self.directory)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_until(self.answers, self.process, "redis-server")

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)

    def answers(self) -> bool:
        client = redis.Redis.from_url(self.url, socket_timeout=0.2, socket_connect_timeout=0.2)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()


@contextmanager
def running_private_redis(directory: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()
