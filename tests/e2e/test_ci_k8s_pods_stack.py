"""The whole platform on a cluster's pod network under the real engine: no pod on the node's
network, several backend replicas, pods reaching each other by Service name, and this machine
reaching the services only through kubectl port-forward.

The stack is `ci-k8s` with `kubernetes.hostNetwork: false` (the default for a Kubernetes stack)
and two backend replicas, on the local cluster with its routed pod network
(APPSTACK_K8S_POD_NETWORK=routed: the pods' routes, kube-proxy's rules and CoreDNS live in a
network namespace of the cluster's own, so this machine still routes to no pod or Service
address). The tests run in file order on one stack: `up` from nothing reaches a ready platform
(the migration Job and the backend reach the database, Redis and MinIO by Service name; the
pgvector check and the buckets go through the port-forward); `python -m delivery verify` passes
through port-forwards of its own; nothing changes when nothing changed; a new backend image runs a
new Job and rolls both replicas; `destroy --run-program` removes everything, buckets first.
"""

from __future__ import annotations

import base64
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from appstack.k8s.migration import job_name
from tests.e2e import k8s_stack
from tests.e2e.k8s_stack import (
    BACKEND_IMAGE,
    MIGRATION,
    ci_k8s_stack,
    roll_backend_image,
    running_cluster,
)
from tests.e2e.platform import DeployedStack, docker
from tests.engine.harness import REPO_ROOT
from tests.k8s.cluster import Cluster, kubectl_binary

pytestmark = [pytest.mark.real, pytest.mark.e2e, pytest.mark.k8s]

STACK = "ci-k8s-pods"
NAMESPACE = "ci-k8s-pods"
NEW_BACKEND_IMAGE = "appstack/backend:appstack-e2e-k8s-pods-new"
REPLICAS = 2


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A fresh cluster with a routed pod network and the stack's images; stopped by PID."""
    with running_cluster(tmp_path_factory.mktemp("k8s-pods-cluster"), "routed") as cluster:
        yield cluster


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, cluster: Cluster) -> Iterator[DeployedStack]:
    """ci-k8s on the pod network, two replicas, free ports, its kubeconfig a secret."""
    changes = {
        "appstack:kubernetes": {"namespace": NAMESPACE, "hostNetwork": False, "replicas": REPLICAS},
        "appstack:data": {"protect": False, "retainOnDelete": False},
        "appstack:objectStore": {"forceDestroy": True},
    }
    base = tmp_path_factory.mktemp("e2e-ci-k8s-pods")
    deployed = ci_k8s_stack(base, STACK, cluster, changes)
    deployed.project.env["APPSTACK_KUBECTL"] = str(kubectl_binary())
    try:
        yield deployed
    finally:
        print(f"pulumi command timings: {deployed.project.timings()}")
        if deployed.resources():
            deployed.pulumi("destroy", "--yes", "--run-program", ok=None, timeout=600)
        docker("rmi", "--force", NEW_BACKEND_IMAGE, check=False)


def kubectl_json(cluster: Cluster, *args: str) -> dict[str, Any]:
    return k8s_stack.kubectl_json(cluster, NAMESPACE, *args)


def backend_state(cluster: Cluster) -> tuple[str, int]:
    return k8s_stack.backend_state(cluster, NAMESPACE)


def jobs(cluster: Cluster) -> dict[str, dict[str, Any]]:
    return k8s_stack.jobs(cluster, NAMESPACE)


def verify(stack: DeployedStack) -> subprocess.CompletedProcess[str]:
    """`python -m delivery verify --stack` as a user runs it (its own port-forwards)."""
    return subprocess.run(
        [sys.executable, "-m", "delivery", "verify", "--stack", STACK, "--cwd",
         str(stack.directory), "--timeout", "20"],
        cwd=REPO_ROOT, env=stack.project.env, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip


def test_up_from_nothing_reaches_a_ready_platform_on_the_pod_network(
    stack: DeployedStack, cluster: Cluster
) -> None:
    stack.up()

    outputs = stack.outputs()
    assert outputs["target"] == "kubernetes"
    assert outputs["database"]["pgvectorVersion"], "the pgvector check ran through the forward"
    assert outputs["database"]["host"] == "127.0.0.1"
    assert backend_state(cluster) == (BACKEND_IMAGE, REPLICAS)
    assert jobs(cluster)[job_name("migration", BACKEND_IMAGE, MIGRATION)].get("succeeded") == 1
    assert outputs["migration"]["revision"], "the revision was read through the forward"
    pods = kubectl_json(cluster, "get", "pods")["items"]
    assert pods
    for pod in pods:
        assert not pod["spec"].get("hostNetwork"), pod["metadata"]["name"]
        assert pod["status"]["podIP"].startswith("10.244."), pod["status"]
    # The pods found each other by Service name: the URLs the Job and the backend read say so.
    secret = kubectl_json(cluster, "get", "secret", "database-credentials")
    url = base64.b64decode(secret["data"]["url"]).decode()
    assert f"@database.{NAMESPACE}.svc:" in url
    backend = kubectl_json(cluster, "get", "deployment", "backend")
    container = backend["spec"]["template"]["spec"]["containers"][0]
    env = {item["name"]: item for item in container["env"]}
    assert env["S3_ENDPOINT"]["value"].startswith(f"objectstore.{NAMESPACE}.svc:")
    assert "secretKeyRef" in env["DATABASE_URL"]["valueFrom"]


def test_verify_passes_through_port_forwards(stack: DeployedStack) -> None:
    done = verify(stack)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "FAIL" not in done.stdout, done.stdout
    for check in ("database", "schema", "redis", "health", "cors"):
        assert f"PASS {check}" in done.stdout, f"verify did not pass {check}:\n{done.stdout}"


def test_a_second_preview_shows_no_changes(stack: DeployedStack) -> None:
    assert stack.changed_steps() == {}


def test_a_new_backend_image_runs_a_new_job_and_rolls_every_replica(
    stack: DeployedStack, cluster: Cluster
) -> None:
    roll_backend_image(stack, cluster, NAMESPACE, NEW_BACKEND_IMAGE, "k8s-pods-new")

    assert backend_state(cluster) == (NEW_BACKEND_IMAGE, REPLICAS)
    done = verify(stack)
    assert done.returncode == 0, done.stdout + done.stderr


def test_destroy_with_run_program_removes_everything(
    stack: DeployedStack, cluster: Cluster
) -> None:
    stack.pulumi("destroy", "--yes", "--run-program", timeout=600)

    assert stack.resources() == []
    assert cluster.kubectl("get", "pvc", "-n", NAMESPACE).stdout.strip() == ""
