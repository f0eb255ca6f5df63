"""pulumi-kubernetes under the real Pulumi engine, against the real local cluster.

The Pulumi CLI (toolchain/build.sh) with the pulumi-kubernetes plugin (toolchain/build-k8s.sh)
deploys tests/k8s/project/__main__.py, a Redis from the local image imported into the cluster's
containerd, waits until it is ready, shows no changes on a second preview and destroys it. Then
the cluster is stopped, and the host must be as it was: sysctls, paths, cgroups, processes.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.engine.harness import PulumiProject, new_project
from tests.k8s.cluster import Cluster, HostState, Process, host_state
from tests.test_versions import read_versions

pytestmark = [pytest.mark.real, pytest.mark.k8s]

PROGRAM = Path(__file__).resolve().parent / "project" / "__main__.py"
PROJECT_NAME = "appstack-k8s-test"
STACK = "ci-k8s"
IMAGE = "appstack/redis:7-bookworm"
"""Built by images/build.sh into the local Docker engine, imported into the cluster."""
NAMESPACE = "appstack-k8s-test"
PAUSE_IMAGE = read_versions()["K8S_PAUSE_IMAGE"]
"""The cluster's sandbox image (busybox), present in every cluster toolchain/build-k8s.sh made."""
LEFT_RUNNING = "left-running"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulumiProject]:
    project = new_project(tmp_path_factory.mktemp("k8s-engine"), PROJECT_NAME, PROGRAM.read_text())
    yield project
    print(f"pulumi command timings: {project.timings()}")


def test_up_waits_until_ready_then_no_changes_then_destroy(
    k8s_cluster: Cluster, project: PulumiProject, cluster_processes: set[Process]
) -> None:
    k8s_cluster.script("import-image", IMAGE)
    port, password = free_port(), secrets.token_urlsafe(24)
    project.configure(
        STACK,
        plain={"namespace": NAMESPACE, "port": str(port), "image": IMAGE},
        secret={"kubeconfig": k8s_cluster.kubeconfig.read_text(), "password": password},
    )

    project.run("up", "--yes", "--skip-preview", "--stack", STACK)

    # `up` returned only once the Deployment was ready: Redis answers on 127.0.0.1 with the
    # password that reached it through the Secret.
    assert project.outputs(STACK)["ready_replicas"] == 1
    client = redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=5)
    assert client.ping()
    client.set("appstack", "on-kubernetes")
    client.save()
    cluster_processes.update(k8s_cluster.processes())

    # The claim is bound to one of the cluster's hostPath volumes, where Redis wrote its dump.
    claim = json.loads(
        k8s_cluster.kubectl("get", "pvc", "redis-data", "-n", NAMESPACE, "-o", "json").stdout
    )
    assert claim["status"]["phase"] == "Bound"
    volume = json.loads(
        k8s_cluster.kubectl("get", "pv", claim["spec"]["volumeName"], "-o", "json").stdout
    )
    assert (Path(volume["spec"]["hostPath"]["path"]) / "dump.rdb").is_file()

    # The password is in the Secret only: the pod spec refers to it, and no output shows it.
    deployment = k8s_cluster.kubectl("get", "deployment", "redis", "-n", NAMESPACE, "-o", "json")
    assert password not in deployment.stdout
    assert "secretKeyRef" in deployment.stdout

    project.run("preview", "--expect-no-changes", "--stack", STACK)
    project.run("destroy", "--yes", "--skip-preview", "--stack", STACK)

    namespace = k8s_cluster.kubectl("get", "namespace", NAMESPACE, check=False)
    assert "NotFound" in namespace.stderr
    released = k8s_cluster.kubectl("get", "pv", volume["metadata"]["name"], "-o", "json").stdout
    assert json.loads(released)["status"]["phase"] == "Released"
    assert password not in project.transcript()


def test_a_pod_network_stays_inside_the_pod(k8s_cluster: Cluster) -> None:
    """A pod off the host network gets an address inside its own namespace and nothing else:
    no interface, address or route for it appears on the host. It is left running on purpose,
    so that the next test stops the cluster with a pod (a shim, a container) still up."""
    k8s_cluster.kubectl(
        *("run", LEFT_RUNNING, "--image", PAUSE_IMAGE, "--image-pull-policy", "Never"),
        *("--restart", "Never", "--command", "--", "/bin/busybox", "sleep", "3600"),
    )
    k8s_cluster.kubectl("wait", "--for=condition=Ready", f"pod/{LEFT_RUNNING}", "--timeout=60s")

    pod_ip = k8s_cluster.kubectl("get", "pod", LEFT_RUNNING, "-o", "jsonpath={.status.podIP}")
    assert ipaddress.ip_address(pod_ip.stdout) in ipaddress.ip_network("10.244.0.0/24")
    inside = k8s_cluster.kubectl("exec", LEFT_RUNNING, "--", "/bin/busybox", "ip", "-o", "addr")
    assert f"inet {pod_ip.stdout}/24" in inside.stdout
    for command in (["ip", "-o", "addr", "show"], ["ip", "route", "show", "table", "all"]):
        host = subprocess.run(command, capture_output=True, text=True, check=True, timeout=10)
        assert "10.244." not in host.stdout, f"{' '.join(command)} shows the pod network"


def test_stop_leaves_the_host_as_it_was(
    k8s_cluster: Cluster, host_before: HostState, cluster_processes: set[Process]
) -> None:
    cluster_processes.update(k8s_cluster.processes())
    # Everything stop must end: the components, containerd's shims, the containers.
    assert {process.name for process in cluster_processes} >= {
        "etcd",
        "kube-apiserver",
        "containerd",
        "kubelet",
        "containerd-shim",
        "busybox",
    }

    k8s_cluster.script("stop")

    after = host_state()
    assert after.sysctls == host_before.sysctls
    assert after.paths == host_before.paths
    assert after.kubelet_cgroups == host_before.kubelet_cgroups
    assert [process for process in cluster_processes if process.alive()] == []
    assert k8s_cluster.mounts() == []
    left = {path.name for path in k8s_cluster.state_dir.iterdir()}
    assert left <= {
        "pki",
        "logs",
        "admin.kubeconfig",
        "controller-manager.kubeconfig",
        "scheduler.kubeconfig",
        "kubelet.kubeconfig",
    }
