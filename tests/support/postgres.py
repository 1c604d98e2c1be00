"""A PostgreSQL cluster of the test's own (the embedded server's machinery: it copes with root),
on a free port, which the test may restart, hang (SIGSTOP) and resume: the machine's server is
never touched."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg

from service.dev.embedded_pg import start_embedded_postgres, stop_embedded_postgres
from tests.support.processes import all_pids, free_port, parent_of


class PrivatePostgres:
    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir
        self.port = free_port()
        self.url = ""

    def start(self) -> None:
        self.url = start_embedded_postgres(self.base_dir, self.port)

    def stop(self) -> None:
        stop_embedded_postgres(self.base_dir)

    def restart(self) -> None:
        self.stop()
        self.start()

    def postmaster_pid(self) -> int:
        # postmaster.pid's first line is the server's pid.
        return int((self.base_dir / "pgdata" / "postmaster.pid").read_text().split("\n", 1)[0])

    def server_pids(self) -> list[int]:
        """The postmaster and every process it forked (backends, checkpointer, ...)."""
        postmaster = self.postmaster_pid()
        children = [pid for pid in all_pids() if parent_of(pid) == postmaster]
        return [postmaster, *children]

    def pause(self) -> list[int]:
        """SIGSTOP the whole server: connections stay open and nothing answers (a hung host)."""
        pids = self.server_pids()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        return pids

    @staticmethod
    def resume(pids: list[int]) -> None:
        for pid in reversed(pids):
            os.kill(pid, signal.SIGCONT)

    @contextmanager
    def paused(self) -> Iterator[None]:
        pids = self.pause()
        try:
            yield
        finally:
            self.resume(pids)

    def connections_to(self, database_url: str) -> int:
        """Client backends connected to ``database_url``'s database, as pg_stat_activity says."""
        return asyncio.run(_client_backends(database_url))


async def _client_backends(database_url: str) -> int:
    conn = await asyncpg.connect(database_url, timeout=5)
    try:
        count = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    return int(count)


@contextmanager
def running_private_postgres(base_dir: Path) -> Iterator[PrivatePostgres]:
    server = PrivatePostgres(base_dir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
