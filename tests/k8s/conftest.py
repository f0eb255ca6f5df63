"""The local Kubernetes cluster, started once per session and stopped by PID at the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.k8s.cluster import Cluster, HostState, Process, host_state


@pytest.fixture(scope="session")
def host_before() -> HostState:
    """The host as it was before the cluster started."""
    return host_state()


@pytest.fixture(scope="session")
def cluster_processes() -> set[Process]:
    """Every process seen running for the cluster during the session (the tests add to it)."""
    return set()


@pytest.fixture(scope="session")
def k8s_cluster(
    tmp_path_factory: pytest.TempPathFactory,
    host_before: HostState,
    cluster_processes: set[Process],
) -> Iterator[Cluster]:
    """A fresh single-node cluster on 127.0.0.1 (scripts/k8s-cluster.sh start)."""
    cluster = Cluster(tmp_path_factory.mktemp("k8s-cluster"))
    cluster.require_built()
    try:
        cluster.script("start")
        cluster_processes.update(cluster.processes())
        yield cluster
    finally:
        # Idempotent: the last test stops it itself to check what stop leaves behind.
        cluster.script("stop")
