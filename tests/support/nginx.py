"""A real nginx in front of test instances, configured by the repository's deploy/nginx.conf:
the same upstream and proxy directives, with only the addresses and the files it writes moved
to the test's own (upstreams on 127.0.0.1, a free listen port, pid, logs and temporary files
under a prefix of the test). It runs in the foreground as a child of the test."""

from __future__ import annotations

import os
import pwd
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import answers_health, free_port, stop, wait_until

DEPLOYED_CONFIG = Path(__file__).parents[2] / "deploy" / "nginx.conf"
# The compose stack's names for the two instances, and the port nginx listens on there.
COMPOSE_UPSTREAMS = ("api-1:8000", "api-2:8000")
COMPOSE_LISTEN = "listen 8080;"
ACCESS_LOG = re.compile(r"^(\s*access_log )\S+( upstream;)$", re.M)
# Where Debian's build puts the request-body and proxy buffers; all of them moved under the prefix.
TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
CHECK_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class Nginx:
    base_url: str
    access_log: Path

    def upstream_records(self) -> list[UpstreamRecord]:
        """What nginx did for each request so far, from its access log."""
        return [UpstreamRecord.parse(line) for line in self.access_log.read_text().splitlines()]


@dataclass(frozen=True)
class UpstreamRecord:
    """One access-log line of deploy/nginx.conf's ``upstream`` format: the status the client got
    and every upstream attempt (address and status), in order; a retry has more than one."""

    method: str
    status: int
    attempts: list[tuple[str, str]]

    @classmethod
    def parse(cls, line: str) -> UpstreamRecord:
        fields = re.search(
            r'"(\S+) .*" (\d{3}) .* upstream=(.*) upstream_status=(.*) request_time=', line
        )
        assert fields, f"not an access log line of the upstream format: {line!r}"
        method, status, addresses, statuses = fields.groups()
        attempts = list(zip(addresses.split(", "), statuses.split(", "), strict=True))
        return cls(method, int(status), attempts)


def render_config(prefix: Path, upstream_ports: tuple[int, int], listen_port: int) -> str:
    """deploy/nginx.conf with the compose addresses replaced by the test's, in the foreground,
    writing only under ``prefix``."""
    config = DEPLOYED_CONFIG.read_text()
    for compose, port in zip(COMPOSE_UPSTREAMS, upstream_ports, strict=True):
        config = _replace_once(config, f"server {compose} ", f"server 127.0.0.1:{port} ")
    config = _replace_once(config, COMPOSE_LISTEN, f"listen 127.0.0.1:{listen_port};")
    config, logs = ACCESS_LOG.subn(rf"\g<1>{prefix / 'access.log'}\g<2>", config)
    assert logs == 1, "deploy/nginx.conf should have one access_log of the upstream format"
    temp_paths = "".join(f"    {name}_temp_path {prefix / name};\n" for name in TEMP_PATHS)
    config = _replace_once(config, "http {\n", "http {\n" + temp_paths)
    return _foreground(prefix) + config


def _foreground(prefix: Path) -> str:
    lines = ["daemon off;", f"pid {prefix / 'nginx.pid'};"]
    if os.geteuid() == 0:
        # Workers would switch to "nobody", which cannot enter the test's private temp directory.
        lines.append(f"user {pwd.getpwuid(0).pw_name};")
    return "\n".join(lines) + "\n"


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"deploy/nginx.conf should hold {old!r} once"
    return text.replace(old, new)


@contextmanager
def running_nginx(prefix: Path, upstream_ports: tuple[int, int]) -> Iterator[Nginx]:
    """nginx on a free port in front of the two instances, answering (through them) when the
    block starts, stopped when it ends."""
    port = free_port()
    config = prefix / "nginx.conf"
    config.write_text(render_config(prefix, upstream_ports, port))
    # -e: the error log until the config's own is open; Debian's default is under /var/log.
    command = ["nginx", "-e", "stderr", "-p", str(prefix), "-c", str(config)]
    checked = subprocess.run(
        [*command, "-t", "-q"],
        capture_output=True,
        check=False,
        text=True,
        timeout=CHECK_TIMEOUT_SECONDS,
    )
    assert checked.returncode == 0, checked.stderr
    log = prefix / "nginx.log"
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=output)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until(answers_health(base_url), process, "nginx")
        yield Nginx(base_url, prefix / "access.log")
    finally:
        stop(process)
        print(log.read_text()[-4000:])  # noqa: T201 - shown by pytest only on failure
