"""The Kubernetes side of the policies: where a workload's pod spec, containers and data are.

The same rules as for Docker containers, read from the pod template of a workload
(Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod) with the engine's camelCase
names: each container's `image`, its probes, its `env` entries, and PersistentVolumeClaims as the
data they hold. Each policy module calls the function of its own rule here for these types.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from appstack.contract import ROLE_LABEL, component_type
from policies.model import Resource

POD = "kubernetes:core/v1:Pod"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
JOB = "kubernetes:batch/v1:Job"
CRON_JOB = "kubernetes:batch/v1:CronJob"
STATEFULSET = "kubernetes:apps/v1:StatefulSet"
WORKLOADS = frozenset(
    {
        POD,
        JOB,
        CRON_JOB,
        STATEFULSET,
        "kubernetes:apps/v1:Deployment",
        "kubernetes:apps/v1:DaemonSet",
        "kubernetes:apps/v1:ReplicaSet",
    }
)
"""Types whose pods run containers."""
RUN_TO_COMPLETION = frozenset({JOB, CRON_JOB})
"""Workloads whose pods end: their containers need no probes."""
DATABASE_COMPONENTS = frozenset({component_type("Database"), component_type("KubernetesDatabase")})
PROBES = ("readinessProbe", "livenessProbe")
_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")


def _get(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def pod_template(resource: Resource) -> Any:
    """The pod template (`{metadata, spec}`) of a workload; None (or UNKNOWN) otherwise."""
    if resource.type == POD:
        return resource.props
    if resource.type == CRON_JOB:
        return _get(resource.props, "spec", "jobTemplate", "spec", "template")
    if resource.type in WORKLOADS:
        return _get(resource.props, "spec", "template")
    return None


def containers(resource: Resource, *, init: bool = True) -> Iterator[tuple[str, Any]]:
    """`(path, container)` of every container (and init container) of a workload's pod."""
    spec = _get(pod_template(resource), "spec")
    base = "spec" if resource.type == POD else "pod template"
    for field in ("containers", "initContainers") if init else ("containers",):
        items = _get(spec, field)
        if isinstance(items, Sequence) and not isinstance(items, str):
            for index, item in enumerate(items):
                yield f"{base} {field}[{index}]", item


def plays_database_role(resource: Resource) -> bool:
    """A workload of the database: its pod labelled `appstack.role=database`, a child of a
    database component, or with "database" in its name."""
    labels = _get(pod_template(resource), "metadata", "labels")
    return (
        (isinstance(labels, Mapping) and labels.get(ROLE_LABEL) == "database")
        or resource.parent_type in DATABASE_COMPONENTS
        or "database" in resource.name.lower()
    )


def probe_problems(resource: Resource) -> list[str]:
    """What a long-running workload's containers lack: a readiness and a liveness probe each."""
    if resource.type not in WORKLOADS or resource.type in RUN_TO_COMPLETION:
        return []
    if resource.type == POD and _get(resource.props, "spec", "restartPolicy") == "Never":
        return []
    problems = []
    for path, container in containers(resource, init=False):
        for probe in PROBES:
            handler = _get(container, probe)
            if not (isinstance(handler, Mapping) and any(h in handler for h in _HANDLERS)):
                problems.append(f"{path} has no {probe}")
    return problems


def literal_env(resource: Resource) -> Iterator[tuple[str, str, Any]]:
    """`(path, name, value)` of every env entry of a workload given as a literal `value`."""
    for path, container in containers(resource):
        env = _get(container, "env")
        if isinstance(env, Sequence) and not isinstance(env, str):
            for index, entry in enumerate(env):
                if isinstance(entry, Mapping) and "value" in entry:
                    yield f"{path}.env[{index}]", str(entry.get("name")), entry["value"]
