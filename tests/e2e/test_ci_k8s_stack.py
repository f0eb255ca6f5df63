"""The whole platform on Kubernetes under the real engine: the `ci-k8s` stack from nothing to
destroyed, on the one-node cluster of scripts/k8s-cluster.sh (started here, stopped by PID).

The tests run in file order on one stack: `up` reaches a ready platform that verify accepts;
nothing changes when nothing changed; a new backend image runs a new migration Job and rolls the
Deployment; a failing migration stops the update and the old pods keep serving; a non-pgvector
database image is refused at preview; `destroy` keeps the retained data claims. The images come
from images/build.sh in the local Docker engine and are imported into the cluster's containerd.
Every pod runs on the node's network on 127.0.0.1; nothing is routed to a pod or cluster address.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from appstack.k8s.migration import job_name
from delivery.verify import verify_stack
from tests.e2e import k8s_stack
from tests.e2e.k8s_stack import (
    BACKEND_IMAGE,
    IMAGES,
    MIGRATION,
    ci_k8s_stack,
    roll_backend_image,
    running_cluster,
)
from tests.e2e.platform import (
    DeployedStack,
    committed_stack_config,
    docker,
    http_status,
)
from tests.k8s.cluster import Cluster

pytestmark = [pytest.mark.real, pytest.mark.e2e, pytest.mark.k8s]

STACK = "ci-k8s"
NAMESPACE = "ci-k8s"
NEW_BACKEND_IMAGE = "appstack/backend:appstack-e2e-k8s-new"
FAILING_MIGRATION = ["sh", "-c", "echo migration failed >&2; exit 3"]
CLAIMS = {"database-data", "cache-data", "objectstore-data"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A fresh cluster with the stack's images imported; stopped by PID at the end."""
    with running_cluster(tmp_path_factory.mktemp("k8s-e2e-cluster")) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, cluster: Cluster) -> Iterator[DeployedStack]:
    """The ci-k8s stack on free loopback ports, its kubeconfig set as a secret (through stdin)."""
    deployed = ci_k8s_stack(tmp_path_factory.mktemp("e2e-ci-k8s"), STACK, cluster)
    try:
        yield deployed
    finally:
        print(f"pulumi command timings: {deployed.project.timings()}")
        if deployed.resources():
            deployed.pulumi("destroy", "--yes", ok=None, timeout=600)
        docker("rmi", "--force", NEW_BACKEND_IMAGE, check=False)


def kubectl_json(cluster: Cluster, *args: str) -> dict[str, Any]:
    return k8s_stack.kubectl_json(cluster, NAMESPACE, *args)


def backend_state(cluster: Cluster) -> tuple[str, int]:
    return k8s_stack.backend_state(cluster, NAMESPACE)


def jobs(cluster: Cluster) -> dict[str, dict[str, Any]]:
    return k8s_stack.jobs(cluster, NAMESPACE)


def test_up_from_nothing_reaches_a_ready_platform_that_verify_accepts(
    stack: DeployedStack, cluster: Cluster
) -> None:
    stack.up()

    outputs = stack.outputs()
    assert outputs["target"] == "kubernetes"
    assert outputs["database"]["pgvectorVersion"]
    assert backend_state(cluster) == (BACKEND_IMAGE, 1)
    first_job = job_name("migration", BACKEND_IMAGE, MIGRATION)
    assert jobs(cluster)[first_job].get("succeeded") == 1
    results = verify_stack(outputs, timeout=10.0, host="127.0.0.1")
    assert [r for r in results if not r.ok] == [], results
    # Credentials reach the pods through Secrets only: no pod spec holds one.
    for kind in ("statefulset", "deployment", "job"):
        specs = cluster.kubectl("get", kind, "-n", NAMESPACE, "-o", "json").stdout
        for secret in (outputs["database"]["dsn"], outputs["objectStore"]["secretKey"]):
            assert secret not in specs
        assert "secretKeyRef" in specs


def test_a_second_preview_shows_no_changes(stack: DeployedStack) -> None:
    assert stack.changed_steps() == {}


def test_a_new_backend_image_reruns_the_migration_and_rolls_the_deployment(
    stack: DeployedStack, cluster: Cluster
) -> None:
    roll_backend_image(stack, cluster, NAMESPACE, NEW_BACKEND_IMAGE, "k8s-new")

    assert backend_state(cluster) == (NEW_BACKEND_IMAGE, 1)
    outputs = stack.outputs()
    assert http_status(f"{outputs['backend']['url']}/health") == 200


def test_a_failing_migration_stops_the_update_and_the_old_pods_keep_serving(
    stack: DeployedStack, cluster: Cluster
) -> None:
    before = kubectl_json(cluster, "get", "pods", "-l", "app.kubernetes.io/name=backend")
    serving = {pod["metadata"]["name"] for pod in before["items"]}
    stack.set_object("backend", {
        **committed_stack_config(STACK)["appstack:backend"],
        "image": BACKEND_IMAGE,
        "port": int(stack.outputs()["backend"]["url"].rsplit(":", 1)[1]),
        "migrationCommand": FAILING_MIGRATION,
    })  # fmt: skip
    failed = stack.up(ok=False)

    failing_job = job_name("migration", BACKEND_IMAGE, FAILING_MIGRATION)
    assert failing_job in failed.output or "appstack-migration-job" in failed.output
    assert jobs(cluster)[failing_job].get("failed", 0) >= 1
    # The Deployment was never touched: the same pods run the image the last good update gave.
    assert backend_state(cluster) == (NEW_BACKEND_IMAGE, 1)
    after = kubectl_json(cluster, "get", "pods", "-l", "app.kubernetes.io/name=backend")
    assert {pod["metadata"]["name"] for pod in after["items"]} == serving
    assert http_status(f"{stack.outputs()['backend']['url']}/health") == 200

    # A good configuration again: the first image, whose Job (deleted when the second image's
    # replaced it) runs anew under its own name, then its pods take over.
    stack.set_object(
        "backend",
        {
            **committed_stack_config(STACK)["appstack:backend"],
            "image": BACKEND_IMAGE,
            "port": int(stack.outputs()["backend"]["url"].rsplit(":", 1)[1]),
        },
    )
    stack.up()
    # The Deployment went back to its first ReplicaSet: up returned once its pod was ready.
    assert backend_state(cluster) == (BACKEND_IMAGE, 1)
    assert http_status(f"{stack.outputs()['backend']['url']}/health") == 200


def test_a_database_image_without_pgvector_is_refused_at_preview(
    stack: DeployedStack, cluster: Cluster
) -> None:
    stack.set("database.image", "postgres:15-alpine")
    refused = stack.preview(ok=False)
    assert "pgvector-only" in refused.output
    assert "appstack-database-statefulset" in refused.output
    statefulset = kubectl_json(cluster, "get", "statefulset", "database")
    assert statefulset["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGES[0]
    stack.set("database.image", IMAGES[0])


def test_destroy_keeps_the_retained_data_claims(stack: DeployedStack, cluster: Cluster) -> None:
    stack.pulumi("destroy", "--yes", timeout=600)

    deadline = time.monotonic() + 120
    while kubectl_json(cluster, "get", "pods")["items"] and time.monotonic() < deadline:
        time.sleep(2)
    assert kubectl_json(cluster, "get", "pods")["items"] == []
    claims = kubectl_json(cluster, "get", "pvc")["items"]
    assert {claim["metadata"]["name"] for claim in claims} == CLAIMS
    assert all(claim["status"]["phase"] == "Bound" for claim in claims)
