"""Outside programs (a browser, a fuzzer) pointed at the test server: the server answers only while
its event loop runs, so the program is awaited on that loop, within a bounded time."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

from tests.support.servers import Server


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str


def run_while_serving(
    server: Server,
    argv: list[str],
    timeout: float,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Finished:
    """Run ``argv`` to its end (in ``cwd``, where it may leave files) while the server serves."""

    async def run() -> Finished:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, **(env or {})},
            cwd=cwd,
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(), timeout)
        except TimeoutError:
            process.kill()
            out, err = await process.communicate()
            raise AssertionError(
                f"{argv[0]} did not finish within {timeout}s:\n{out.decode()[-3000:]}"
                f"\n{err.decode()[-3000:]}"
            ) from None
        assert process.returncode is not None
        return Finished(process.returncode, out.decode(), err.decode())

    return server.run(run())
