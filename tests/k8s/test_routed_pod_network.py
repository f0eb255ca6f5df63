"""The local cluster's routed pod network (APPSTACK_K8S_POD_NETWORK=routed), for real.

Pods reach each other by Service name (CoreDNS) and Service address (kube-proxy), while the
host's own network (interfaces, addresses, routes, iptables rules) stays exactly as it was: the
pods' routes, kube-proxy's rules and CoreDNS live in a network namespace of the cluster's own.
Stop ends every process the routed network added and leaves the host as it was.

Runs after test_cluster_engine.py, which stops the session's (isolated) cluster at its end: this
module starts and stops a cluster of its own (the two cannot run at once: the same ports).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from tests.k8s.cluster import Cluster, HostState, Process, host_state
from tests.test_versions import read_versions

pytestmark = [pytest.mark.real, pytest.mark.k8s]

PAUSE_IMAGE = read_versions()["K8S_PAUSE_IMAGE"]
"""The cluster's sandbox image: Debian's static busybox, with httpd, wget and nslookup."""
NAMESPACE = "routed"
BUSYBOX = "/bin/busybox"


def host_network() -> dict[str, str]:
    """The host's interfaces, addresses, routes and iptables rules, as text."""
    commands = {
        "links": ["ip", "-o", "link", "show"],
        "addresses": ["ip", "-o", "addr", "show"],
        "routes": ["ip", "route", "show", "table", "all"],
        "iptables": ["iptables-save"],
    }
    seen = {}
    for name, command in commands.items():
        done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=10)
        # iptables-save stamps its output with the time: only the rules count.
        lines = done.stdout.splitlines()
        seen[name] = "\n".join(line for line in lines if not line.startswith("#"))
    return seen


@pytest.fixture(scope="module")
def before() -> tuple[HostState, dict[str, str]]:
    return host_state(), host_network()


@pytest.fixture(scope="module")
def routed(
    tmp_path_factory: pytest.TempPathFactory, before: tuple[HostState, dict[str, str]]
) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path_factory.mktemp("k8s-routed"), pod_network="routed")
    cluster.require_built()
    try:
        cluster.script("start")
        yield cluster
    finally:
        cluster.script("stop")  # idempotent: the last test stops it itself


def run_pod(cluster: Cluster, name: str, script: str, *extra: str) -> None:
    cluster.kubectl(
        "run", name, "-n", NAMESPACE, "--image", PAUSE_IMAGE, "--image-pull-policy", "Never",
        *extra, "--command", "--", BUSYBOX, "sh", "-c", script,
    )  # fmt: skip


def test_pods_reach_each_other_by_service_name_and_the_host_sees_none_of_it(
    routed: Cluster, before: tuple[HostState, dict[str, str]]
) -> None:
    routed.kubectl("create", "namespace", NAMESPACE)
    run_pod(
        routed, "web",
        f"{BUSYBOX} mkdir -p /w && echo served-by-web > /w/index.html && "
        f"exec {BUSYBOX} httpd -f -p 8080 -h /w",
        "--labels", "app=web",
    )  # fmt: skip
    routed.kubectl("expose", "pod", "web", "-n", NAMESPACE, "--port", "80", "--target-port", "8080")
    routed.kubectl("wait", "--for=condition=Ready", "pod/web", "-n", NAMESPACE, "--timeout=60s")
    # The Service's name through CoreDNS, then its cluster address through kube-proxy (port 80
    # to the pod's 8080). busybox's own DNS client and nc: its static glibc cannot use NSS.
    run_pod(
        routed, "client",
        f"address=$({BUSYBOX} nslookup web.{NAMESPACE}.svc.cluster.local"
        f" | {BUSYBOX} awk '/^Address: /{{print $2}}' | {BUSYBOX} tail -n 1) && "
        f"echo resolved-$address && "
        f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | {BUSYBOX} nc -w 10 $address 80",
        "--restart", "Never",
    )  # fmt: skip
    routed.kubectl(
        "wait", "--for=jsonpath={.status.phase}=Succeeded", "pod/client", "-n", NAMESPACE,
        "--timeout=90s",
    )  # fmt: skip
    logs = routed.kubectl("logs", "client", "-n", NAMESPACE).stdout
    service = routed.kubectl(
        "get", "service", "web", "-n", NAMESPACE, "-o", "jsonpath={.spec.clusterIP}"
    )
    assert f"resolved-{service.stdout}\n" in logs, logs
    assert "HTTP/1.1 200 OK" in logs and logs.rstrip().endswith("served-by-web"), logs

    _, network = before
    assert host_network() == network


def test_stop_ends_the_pod_network_and_leaves_the_host_as_it_was(
    routed: Cluster, before: tuple[HostState, dict[str, str]]
) -> None:
    processes: set[Process] = routed.processes()
    assert {process.name for process in processes} >= {"kube-proxy", "coredns", "socat"}

    routed.script("stop")

    state, network = before
    assert [process for process in processes if process.alive()] == []
    after = host_state()
    assert (after.sysctls, after.paths, after.kubelet_cgroups) == (
        state.sysctls,
        state.paths,
        state.kubelet_cgroups,
    )
    assert host_network() == network
    assert routed.mounts() == []
