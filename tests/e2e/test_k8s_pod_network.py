"""Pods on the cluster's network, reached only through kubectl port-forward, under the real engine.

The program tests/e2e/k8s_pod_network (appstack's Kubernetes components with host_network=False:
a pgvector database, Redis, MinIO with a bucket) runs under the real CLI, language host and
plugins against the local cluster of scripts/k8s-cluster.sh (started here, stopped by PID). On
that cluster a pod's address exists only inside the pod's own network namespace: nothing on the
host can route to it, just as a laptop cannot route to a remote cluster's pods. So everything the
deployment does from this machine (the pgvector check, the bucket provider) and everything the
test checks afterwards goes through `appstack.k8s.port_forward.PortForward`, i.e. the API server
and the kubelet. The tests run in file order on one stack: up from nothing; the services answer
through a port-forward of the test's own; a no-op preview shows no changes; an image that calls
itself pgvector but is not passes the policy and is refused by the live check through the
forward; destroy (with --run-program, as the README says) deletes the buckets through it.

Pod-to-pod traffic (the backend reaching the database by its Service name) needs a pod network
with routes, cluster DNS and kube-proxy, which this cluster does not have: it is not tested here.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from minio import Minio

from appstack.k8s.port_forward import ClusterAccess, PortForward
from tests.e2e.platform import DeployedStack, docker
from tests.engine.harness import new_project
from tests.k8s.cluster import Cluster, kubectl_binary
from tests.realservers.process import free_port

pytestmark = [pytest.mark.real, pytest.mark.e2e, pytest.mark.k8s]

STACK = "podnet"
NAMESPACE = "appstack-podnet"
PROGRAM = Path(__file__).parent / "k8s_pod_network" / "__main__.py"
IMAGES = {
    "database": "pgvector/pgvector:pg18-appstack",
    "cache": "appstack/redis:7-bookworm",
    "objectStore": "appstack/minio:DEVELOPMENT.2026-02-12T20-18-48Z",
}
WRONG_IMAGE = "postgres:15-bookworm-appstack"
"""Debian's PostgreSQL 15, which has no pgvector."""
IMPOSTOR = "pgvector/pgvector:pg15-appstack-impostor"
"""WRONG_IMAGE under a pgvector name: the policy reads names, the live check reads the server."""
SERVICES = ("database", "cache", "objectStore", "console", "legacy")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A fresh cluster with the program's images imported; stopped by PID at the end."""
    docker("tag", WRONG_IMAGE, IMPOSTOR)
    cluster = Cluster(tmp_path_factory.mktemp("k8s-podnet-cluster"))
    cluster.require_built()
    try:
        cluster.script("start")
        cluster.script("import-image", *IMAGES.values(), IMPOSTOR)
        yield cluster
    finally:
        cluster.script("stop")
        docker("rmi", IMPOSTOR, check=False)


@pytest.fixture(scope="module")
def ports() -> dict[str, int]:
    return {service: free_port() for service in SERVICES}


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, cluster: Cluster, ports: dict[str, int]
) -> Iterator[DeployedStack]:
    """The program on its own file backend; kubectl and the kubeconfig from the environment."""
    project = new_project(tmp_path_factory.mktemp("podnet"), "podnet", PROGRAM.read_text())
    project.env.update(KUBECONFIG=str(cluster.kubeconfig), APPSTACK_KUBECTL=str(kubectl_binary()))
    config = {
        "podnet:namespace": NAMESPACE,
        "podnet:ports": ports,
        "podnet:images": IMAGES,
    }
    (project.directory / f"Pulumi.{STACK}.yaml").write_text(json.dumps({"config": config}))
    project.require_engine()
    project.run("stack", "init", STACK)
    deployed = DeployedStack(project, STACK)
    try:
        yield deployed
    finally:
        print(f"pulumi command timings: {project.timings()}")
        if deployed.resources():
            deployed.pulumi("destroy", "--yes", "--run-program", ok=None, timeout=600)


@pytest.fixture()
def forward(cluster: Cluster) -> Iterator[PortForward]:
    """The test's own port-forward to the namespace (the program's closed when it exited)."""
    access = ClusterAccess(
        namespace=NAMESPACE,
        kubeconfig=cluster.kubeconfig.read_text(),
        kubectl=str(kubectl_binary()),
    )
    with PortForward(access) as opened:
        yield opened


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def pods(cluster: Cluster) -> list[dict[str, Any]]:
    listed = json.loads(cluster.kubectl("get", "pods", "-n", NAMESPACE, "-o", "json").stdout)
    return list(listed["items"])


def test_up_reaches_the_services_only_through_the_port_forward(
    stack: DeployedStack, cluster: Cluster, ports: dict[str, int]
) -> None:
    stack.up()

    outputs = stack.outputs()
    assert outputs["pgvector"], "the pgvector check ran through the port-forward"
    assert outputs["endpoint"] == f"127.0.0.1:{ports['objectStore']}"
    assert outputs["internalEndpoint"] == f"files.{NAMESPACE}.svc:{ports['objectStore']}"
    running = pods(cluster)
    assert {pod["metadata"]["labels"]["appstack.role"] for pod in running} == {
        "database",
        "cache",
        "objectstore",
    }
    for pod in running:
        assert not pod["spec"].get("hostNetwork"), pod["metadata"]["name"]
        assert pod["status"]["podIP"].startswith("10.244."), pod["status"]
    # The program's listeners closed with it: nothing on this machine serves those ports now,
    # and the pods' own addresses are not routable from here.
    for service in ("database", "cache", "objectStore"):
        assert not listening(ports[service]), service


def test_the_services_answer_through_a_port_forward(
    stack: DeployedStack, cluster: Cluster, ports: dict[str, int], forward: PortForward
) -> None:
    outputs = stack.outputs()
    for service, port in (("orders", ports["database"]), ("cache", ports["cache"])):
        forward.forward(service, port)
    forward.forward("files", ports["objectStore"])

    with psycopg.connect(outputs["dsn"], connect_timeout=10) as conn:
        row = conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
        ).fetchone()
    assert row is not None and row[0] == outputs["pgvector"]
    client = redis.Redis.from_url(outputs["redis"], socket_timeout=10)
    try:
        assert client.ping() is True
    finally:
        client.close()
    minio = Minio(
        outputs["endpoint"],
        access_key=outputs["accessKey"],
        secret_key=outputs["secretKey"],
        secure=False,
    )
    bucket = outputs["buckets"]["uploads"]
    assert minio.bucket_exists(bucket)
    rules = minio.get_bucket_lifecycle(bucket)
    assert rules is not None and rules.rules[0].expiration.days == 7

    # A replaced pod (a new one behind the same Service) is reached by the same listener.
    cluster.kubectl("delete", "pod", "-n", NAMESPACE, "-l", "app.kubernetes.io/name=cache")
    cluster.kubectl(
        "wait", "--for=condition=Ready", "pod", "-n", NAMESPACE,
        "-l", "app.kubernetes.io/name=cache", "--timeout=120s",
    )  # fmt: skip
    client = redis.Redis.from_url(outputs["redis"], socket_timeout=10)
    try:
        assert client.ping() is True
    finally:
        client.close()


def test_a_second_preview_shows_no_changes(stack: DeployedStack) -> None:
    assert stack.changed_steps() == {}


def test_an_impostor_image_passes_the_policy_and_is_refused_by_the_live_check(
    stack: DeployedStack, cluster: Cluster
) -> None:
    stack.pulumi("config", "set", "impostorImage", IMPOSTOR)
    preview = stack.preview()
    assert "pgvector-only" not in preview.output

    failed = stack.up(ok=False)

    assert f"The database image '{IMPOSTOR}' does not provide the pgvector extension" in (
        failed.output
    ), failed.output[-3000:]
    # The refused database runs: the check reached its server (no route but the forward).
    legacy = [p for p in pods(cluster) if p["metadata"]["name"].startswith("legacy-")]
    assert legacy and all(not p["spec"].get("hostNetwork") for p in legacy)
    stack.pulumi("config", "rm", "impostorImage")
    stack.up()
    assert "legacy" not in cluster.kubectl("get", "statefulsets", "-n", NAMESPACE).stdout


def test_destroy_with_run_program_deletes_the_buckets_through_the_forward(
    stack: DeployedStack, cluster: Cluster
) -> None:
    destroyed = stack.pulumi("destroy", "--yes", "--run-program", timeout=600)

    assert "error" not in destroyed.output.lower(), destroyed.output[-3000:]
    assert stack.resources() == []
    # The namespace went with the stack, claims and all (the data was not to be kept).
    assert cluster.kubectl("get", "pvc", "-n", NAMESPACE).stdout.strip() == ""
