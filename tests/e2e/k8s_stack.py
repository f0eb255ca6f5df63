"""What the Kubernetes end-to-end stacks share: the cluster, the stack and reading its objects.

tests/e2e/test_ci_k8s_stack.py (pods on the node's network) and test_ci_k8s_pods_stack.py (the
pod network, through port-forwards) deploy the committed `ci-k8s` stack, the second changed, on
a cluster of scripts/k8s-cluster.sh with the images of images/build.sh imported into it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from appstack.k8s.migration import job_name
from tests.e2e.platform import DeployedStack, build_variant, committed_stack_config, new_stack
from tests.k8s.cluster import Cluster
from tests.realservers.process import free_port

IMAGES = (
    "pgvector/pgvector:pg18-appstack",
    "appstack/redis:7-bookworm",
    "appstack/minio:DEVELOPMENT.2026-02-12T20-18-48Z",
    "appstack/backend:ci",
)
BACKEND_IMAGE = "appstack/backend:ci"
MIGRATION = ["alembic", "upgrade", "head"]
SERVICE_PORTS = {
    "database": ("port",),
    "cache": ("port",),
    "objectStore": ("port", "consolePort"),
    "backend": ("port",),
}
"""The port keys of each `appstack:` section, given free ports for a test's stack."""


@contextmanager
def running_cluster(state_dir: Path, pod_network: str = "isolated") -> Iterator[Cluster]:
    """A fresh cluster with the stacks' images imported; stopped by PID at the end."""
    cluster = Cluster(state_dir, pod_network=pod_network)
    cluster.require_built()
    try:
        cluster.script("start")
        cluster.script("import-image", *IMAGES)
        yield cluster
    finally:
        cluster.script("stop")


def ci_k8s_stack(
    base: Path, stack: str, cluster: Cluster, changes: dict[str, dict[str, Any]] | None = None
) -> DeployedStack:
    """The committed ci-k8s config as `stack` with `changes` merged into its sections, on free
    loopback ports, its kubeconfig set as a secret (through stdin)."""
    config = committed_stack_config("ci-k8s")
    for key, values in (changes or {}).items():
        config[key] = {**config.get(key, {}), **values}
    for section, keys in SERVICE_PORTS.items():
        for key in keys:
            config[f"appstack:{section}"][key] = free_port()
    deployed = new_stack(base, stack, config)
    deployed.project.run(
        "config", "set", "--stack", stack, "--secret", "--path",
        "appstack:kubernetes.kubeconfig", stdin=cluster.kubeconfig.read_text(),
    )  # fmt: skip
    return deployed


def kubectl_json(cluster: Cluster, namespace: str, *args: str) -> dict[str, Any]:
    return dict(json.loads(cluster.kubectl(*args, "-n", namespace, "-o", "json").stdout))


def backend_state(cluster: Cluster, namespace: str) -> tuple[str, int]:
    """The backend Deployment's image and ready replicas."""
    deployment = kubectl_json(cluster, namespace, "get", "deployment", "backend")
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    return str(image), int(deployment["status"].get("readyReplicas", 0))


def jobs(cluster: Cluster, namespace: str) -> dict[str, dict[str, Any]]:
    listed = kubectl_json(cluster, namespace, "get", "jobs")
    return {item["metadata"]["name"]: item["status"] for item in listed["items"]}


def roll_backend_image(
    stack: DeployedStack, cluster: Cluster, namespace: str, new_image: str, label: str
) -> None:
    """Build `new_image` from the backend's, import it, and `up` to it: the preview plans a new
    migration Job and an update of the Deployment and nothing of the database; after `up` that
    Job has succeeded."""
    build_variant(BACKEND_IMAGE, new_image, label)
    cluster.script("import-image", new_image)
    stack.set("backend.image", new_image)

    steps = stack.changed_steps()
    assert steps.get("appstack-migration-job") == "replace"
    assert steps.get("appstack-backend-deployment") == "update"
    assert not {"appstack-database-data", "appstack-database-statefulset"} & set(steps)
    stack.up()

    assert jobs(cluster, namespace)[job_name("migration", new_image, MIGRATION)]["succeeded"] == 1
