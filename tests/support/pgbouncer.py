"""A PgBouncer of the test's own (Debian's ``pgbouncer`` package) in transaction pooling mode, on
a free port, in front of databases of a PostgreSQL server: a foreground child process whose log
the test reads, stopped when the block ends. The machine's own PgBouncer service, if any, is
never touched."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.processes import free_port, stop, wait_until

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
# PgBouncer refuses to run as root; as root it is told to switch to this user once it has read
# its configuration and user list (so the test's private directories need not be readable).
UNPRIVILEGED_USER = "nobody"


@dataclass(frozen=True)
class Pool:
    """A database clients reach through PgBouncer as ``name``: ``server_url``'s database, with
    at most ``size`` server connections."""

    name: str
    server_url: str
    size: int

    def entry(self) -> str:
        server = urlsplit(self.server_url)
        return (
            f"{self.name} = host={server.hostname} port={server.port or 5432} "
            f"dbname={server.path.lstrip('/')} pool_size={self.size}"
        )


class PrivatePgBouncer:
    def __init__(self, directory: Path, pools: list[Pool]) -> None:
        self.directory = directory
        self.pools = pools
        self.port = free_port()
        self.log_path = directory / "pgbouncer.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.user = urlsplit(pools[0].server_url).username or "postgres"

    def url(self, pool: str) -> str:
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{pool}"

    def start(self) -> None:
        config = self._write_config()
        command = [PGBOUNCER, str(config)]
        if os.geteuid() == 0:
            command[1:1] = ["-u", UNPRIVILEGED_USER]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log)
        wait_until(self._accepts, self.process, "pgbouncer")

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text()

    def _accepts(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
        except OSError:
            return False
        return True

    def _write_config(self) -> Path:
        users = self.directory / "userlist.txt"
        # auth_type trust still wants the user listed; the server trusts local connections.
        users.write_text(f'"{self.user}" ""\n')
        config = self.directory / "pgbouncer.ini"
        databases = "\n".join(pool.entry() for pool in self.pools)
        config.write_text(
            f"[databases]\n{databases}\n\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {users}\n"
            "pool_mode = transaction\nmax_client_conn = 200\n"
            # Logged to stderr (the log file); no pid file: it runs in the foreground.
            "logfile =\npidfile =\n"
        )
        return config


@contextmanager
def running_pgbouncer(directory: Path, pools: list[Pool]) -> Iterator[PrivatePgBouncer]:
    bouncer = PrivatePgBouncer(directory, pools)
    bouncer.start()
    try:
        yield bouncer
    finally:
        bouncer.stop()
