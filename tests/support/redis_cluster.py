"""A Redis Cluster of the test's own: three masters (no replicas) on free loopback ports, created
with ``redis-cli --cluster create`` and killed when the block ends. A master may be killed
(SIGKILL) and started again: it reads back its cluster config file (its node id and its slots),
rejoins, and serves its slots again, empty (nothing is persisted)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from tests.support.processes import (
    POLL_SECONDS,
    START_TIMEOUT_SECONDS,
    free_port,
    stop_all,
    wait_until,
)

MASTERS = 3
# How long a master may be unreachable before the others mark it failed (the cluster then
# answers CLUSTERDOWN for every slot, full coverage being required). Redis's default is 15 s;
# one second keeps a test's failover short.
NODE_TIMEOUT_MS = 1000
CREATE_TIMEOUT_SECONDS = 30
PROBE_TIMEOUT_SECONDS = 0.5


class ClusterNode:
    """One ``redis-server --cluster-enabled yes``, which may be killed and started again on its
    port with its config file."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        # The bus between nodes defaults to the port + 10000, which may be taken or out of range.
        self.bus_port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{self.port}.conf"]
        command += ["--cluster-port", str(self.bus_port)]
        command += ["--cluster-node-timeout", str(NODE_TIMEOUT_MS)]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.directory)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_until(self.answers, self.process, f"redis-server on port {self.port}")

    def kill(self) -> None:
        """SIGKILL: the node vanishes mid-run, as a crashed host's would."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=START_TIMEOUT_SECONDS)

    def client(self) -> redis.Redis:
        """A plain (not cluster) client of this node alone."""
        return redis.Redis(
            port=self.port,
            socket_timeout=PROBE_TIMEOUT_SECONDS,
            socket_connect_timeout=PROBE_TIMEOUT_SECONDS,
        )

    def answers(self) -> bool:
        return self._ask("PING") is not None

    def cluster_state(self) -> str | None:
        """``ok`` or ``fail``, as this node sees the cluster; None when it does not answer."""
        info = self._ask("CLUSTER", "INFO")
        if not isinstance(info, bytes):
            return None
        return info.decode().split("cluster_state:", 1)[1].split()[0]

    def _ask(self, *command: str) -> object:
        """The node's answer, or None when it does not answer."""
        if self.process is None or self.process.poll() is not None:
            return None
        with self.client() as client:
            try:
                return client.execute_command(*command)
            except redis.RedisError:
                return None


class PrivateRedisCluster:
    def __init__(self, directory: Path) -> None:
        self.nodes = [ClusterNode(directory) for _ in range(MASTERS)]

    @property
    def seed_url(self) -> str:
        """What ``REDIS_URL`` names: one node; the client discovers the others from it."""
        return f"redis://{self.nodes[0].address}/0"

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        addresses = [node.address for node in self.nodes]
        subprocess.run(
            ["redis-cli", "--cluster", "create", *addresses, "--cluster-replicas", "0"]
            + ["--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=CREATE_TIMEOUT_SECONDS,
        )
        self.wait_until_ok()

    def wait_until_ok(self) -> None:
        """Until every node says the cluster is ok: all slots served, every node known."""
        _poll(lambda: {node.cluster_state() for node in self.nodes} == {"ok"}, "cluster_state:ok")

    def wait_until_failed(self) -> None:
        """Until every node still running says the cluster is down (a master unreachable for
        longer than the node timeout): each then refuses every command with CLUSTERDOWN."""
        running = [node for node in self.nodes if node.answers()]
        _poll(lambda: all(node.cluster_state() == "fail" for node in running), "cluster_state:fail")

    def stop(self) -> None:
        stop_all([node.process for node in self.nodes if node.process is not None])

    def keys_matching(self, pattern: str) -> list[bytes]:
        """Every key matching ``pattern`` (SCAN's glob) on any running node."""
        keys: list[bytes] = []
        for node in self.nodes:
            if node.answers():
                with node.client() as client:
                    keys += client.scan_iter(match=pattern)
        return keys

    def slot_of(self, key: bytes) -> int:
        """The key's slot as the cluster computes it (CLUSTER KEYSLOT)."""
        node = next(node for node in self.nodes if node.answers())
        with node.client() as client:
            return int(client.execute_command("CLUSTER KEYSLOT", key))


@contextmanager
def running_redis_cluster(directory: Path) -> Iterator[PrivateRedisCluster]:
    cluster = PrivateRedisCluster(directory)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def _poll(ready: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {START_TIMEOUT_SECONDS}s")
        time.sleep(POLL_SECONDS)  # polling a starting server, bounded by the deadline
