"""What the Kubernetes components share: their common Args, names, labels, probes and claims.

Every pod appstack runs on Kubernetes is built from the same pieces, so that the policies can rely
on them: the `appstack.role`/`appstack.environment` labels on the pod template and on data claims,
exec probes (a pod's address is not assumed reachable from anywhere), resources on every
container, credentials only through `secretKeyRef` (never a literal `value` in a pod spec), and
one explicit `kubernetes.Provider` passed in by the caller.

How the deploying machine (the pgvector check, the bucket provider, the migration's revision read,
verify) reaches the services depends on `host_network`:
- False (the stack default): pods on the cluster's network, listening on all their addresses; other
  pods reach a service by its Service name (`{object_name}.{namespace}.svc`), the deploying machine
  through `port_forward` (a `PortForward` the caller holds open: `kubectl port-forward` to each
  Service, the way a laptop can reach any cluster).
- True: pods on the node's network, each listening on `bind_address` and its own port, exactly as
  the Docker target's host networking; for a node the deploying machine can route to.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from appstack.common import HealthCheck
from appstack.defaults import section
from appstack.k8s.port_forward import PortForward
from appstack.validation import ENVIRONMENT, Problems, parse_go_duration

_K8S = section("kubernetes")
_DATA = section("data")
_NETWORK = section("network")
DNS_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
QUANTITY = re.compile(r"[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
USER_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")


@dataclass(kw_only=True)
class KubernetesArgs:
    """What every Kubernetes component takes besides its own settings."""

    provider: pulumi.ProviderResource
    """The stack's one explicit `kubernetes.Provider` (its cluster and credentials)."""
    namespace: pulumi.Input[str]
    """The namespace the objects live in (e.g. a `Namespace`'s `metadata.name`)."""
    environment: str | None = None
    """The `appstack.environment` label; default: the stack name."""
    object_name: str | None = None
    """The name of the component's Kubernetes objects. Default: the component's name."""
    host_network: bool = True
    """Pods on the node's network, listening on `bind_address` and the component's port, where
    the deploying machine reaches them; False: pods on the cluster's network, reached through
    `port_forward` (see the module doc)."""
    bind_address: str = _NETWORK["bindAddress"]
    """The node address the pods listen on (with `host_network`)."""
    port_forward: PortForward | None = None
    """With `host_network=False` (required then): the caller's open `PortForward` to the
    namespace the objects live in; the component opens its service ports on it."""
    requests: Mapping[str, str] = field(default_factory=lambda: dict(_K8S["resources"]["requests"]))
    """Resource requests of every container (`cpu`, `memory`)."""
    limits: Mapping[str, str] = field(default_factory=lambda: dict(_K8S["resources"]["limits"]))
    """Resource limits of every container (`cpu`, `memory`)."""
    image_pull_policy: str = _K8S["imagePullPolicy"]
    """`Always`, `IfNotPresent` or `Never` (images imported into the node's runtime)."""
    health: HealthCheck = field(default_factory=HealthCheck)
    """Probe timings, from the same settings as the Docker health checks."""


@dataclass(kw_only=True)
class KubernetesStatefulArgs(KubernetesArgs):
    """A component whose data lives in a PersistentVolumeClaim, protected where it must be."""

    storage_class: str | None = None
    """The claim's storage class; None means the cluster's default."""
    storage_size: str = _K8S["storageSize"]
    """The size the claim requests (a Kubernetes quantity)."""
    protect_data: bool = _DATA["protect"]
    """Protect the claim (and buckets): a delete or replacement fails until unprotected."""
    retain_data_on_delete: bool = _DATA["retainOnDelete"]
    """Keep the claim (and buckets) in the cluster when removed from the stack."""
    data_owner: str | None = None
    """The user the image runs as (`postgres`), who is given the claim's directory before the
    server starts: a volume of the node (hostPath, local) comes owned by root, unlike a Docker
    volume, which takes the image's ownership. Skipped by an image without that user (one that
    runs as root). None: never. Each component has its image's usual user as default."""


@dataclass(frozen=True)
class Identity:
    """The names one component instance uses."""

    environment: str
    object_name: str


def identify(name: str, args: KubernetesArgs, problems: Problems) -> Identity:
    """Check the shared Args of a Kubernetes component `name`; problems go to `problems`."""
    if not isinstance(args.provider, pulumi.ProviderResource):
        problems.bad("provider", "a kubernetes.Provider (one explicit provider per stack)", None)
    environment = args.environment or pulumi.get_stack()
    problems.matches("environment", environment, ENVIRONMENT, "an environment name")
    object_name = args.object_name or name
    problems.matches("object_name", object_name, DNS_LABEL, "a Kubernetes name (a DNS label)")
    problems.flag("host_network", args.host_network)
    if args.host_network is False and not isinstance(args.port_forward, PortForward):
        problems.bad(
            "port_forward",
            "a PortForward to the namespace (how the deploying machine reaches pods on the "
            "cluster's network, host_network=False)",
            args.port_forward,
        )
    problems.ipv4("bind_address", args.bind_address)
    for kind in ("requests", "limits"):
        for resource, quantity in dict(getattr(args, kind)).items():
            if resource not in ("cpu", "memory") or not (
                isinstance(quantity, str) and QUANTITY.fullmatch(quantity)
            ):
                problems.bad(f"{kind}.{resource}", "a cpu/memory Kubernetes quantity", quantity)
    if args.image_pull_policy not in PULL_POLICIES:
        problems.bad(
            "image_pull_policy", f"one of {', '.join(PULL_POLICIES)}", args.image_pull_policy
        )
    if isinstance(args, KubernetesStatefulArgs):
        problems.flag("protect_data", args.protect_data)
        problems.flag("retain_data_on_delete", args.retain_data_on_delete)
        if not (isinstance(args.storage_size, str) and QUANTITY.fullmatch(args.storage_size)):
            problems.bad("storage_size", "a Kubernetes quantity such as 1Gi", args.storage_size)
        if args.storage_class is not None:
            problems.matches("storage_class", args.storage_class, DNS_LABEL, "a class name")
        if args.data_owner is not None:
            problems.matches("data_owner", args.data_owner, USER_NAME, "a user name")
    return Identity(environment=environment, object_name=object_name)


def listen_address(args: KubernetesArgs) -> str:
    """Where a server listens in its pod: `bind_address` on the node, else all the pod's."""
    return args.bind_address if args.host_network else "0.0.0.0"


def pod_local_address(args: KubernetesArgs) -> str:
    """The address a probe inside the pod uses to reach its own server."""
    return args.bind_address if args.host_network else "127.0.0.1"


def cluster_host(args: KubernetesArgs, ident: Identity) -> pulumi.Input[str]:
    """The host other pods reach the component's Service at."""
    if args.host_network:
        return args.bind_address
    return pulumi.Output.concat(ident.object_name, ".", args.namespace, ".svc")


def deployer_endpoint(args: KubernetesArgs, ident: Identity, port: int) -> tuple[str, int]:
    """`(host, port)` where the deploying machine reaches the component's Service port."""
    if args.host_network:
        return args.bind_address, port
    assert args.port_forward is not None  # checked by identify()
    return args.port_forward.forward(ident.object_name, port)


def options(args: KubernetesArgs, parent: pulumi.Resource, **extra: Any) -> pulumi.ResourceOptions:
    """A child of `parent` through the stack's provider."""
    return pulumi.ResourceOptions(parent=parent, provider=args.provider, **extra)


def labels(ident: Identity, role: str) -> dict[str, str]:
    """The labels the policies and selectors rely on."""
    return {
        "app.kubernetes.io/name": ident.object_name,
        "app.kubernetes.io/managed-by": "appstack",
        "appstack.role": role,
        "appstack.environment": ident.environment,
    }


def metadata(
    args: KubernetesArgs, object_name: str, object_labels: Mapping[str, str]
) -> dict[str, Any]:
    return {"name": object_name, "namespace": args.namespace, "labels": dict(object_labels)}


ROLLOUT_AWAIT = "pulumi.com/waitFor"


def deployment_metadata(
    args: KubernetesArgs, object_name: str, object_labels: Mapping[str, str], replicas: int
) -> dict[str, Any]:
    """A Deployment's metadata, telling pulumi-kubernetes to wait until its rollout is complete.

    The provider's built-in Deployment wait can end early while the controller's statuses lag
    (seen once under load: an update that brought back an earlier ReplicaSet returned with no pod
    ready). These conditions hold only once the Deployment has observed its current spec (the
    provider checks `observedGeneration` first) and every pod it counts is of the new template and
    ready: a pod of the old ReplicaSet still counted makes `replicas` too high.
    """
    conditions = [
        f"jsonpath={{.status.{field}}}={replicas}"
        for field in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")
    ]
    return {
        **metadata(args, object_name, object_labels),
        "annotations": {ROLLOUT_AWAIT: json.dumps(conditions)},
    }


def secret_env(name: str, secret_name: pulumi.Input[str], key: str) -> dict[str, Any]:
    """An environment variable read from a Secret: the only way credentials reach a pod."""
    return {"name": name, "value_from": {"secret_key_ref": {"name": secret_name, "key": key}}}


def plain_env(name: str, value: pulumi.Input[str]) -> dict[str, Any]:
    """An environment variable that is no credential (a port, a bucket name, an origin)."""
    return {"name": name, "value": value}


def _seconds(duration: str) -> int:
    return max(1, parse_go_duration(duration) // 1_000_000_000)


def probe(command: Sequence[pulumi.Input[str]], health: HealthCheck) -> dict[str, Any]:
    """An exec probe with the stack's health timings."""
    return {
        "exec": {"command": list(command)},
        "period_seconds": _seconds(health.interval),
        "timeout_seconds": _seconds(health.timeout),
        "failure_threshold": health.retries,
    }


def liveness(command: Sequence[pulumi.Input[str]], health: HealthCheck) -> dict[str, Any]:
    """The same check as liveness, after the start period and the whole retry budget."""
    return {
        **probe(command, health),
        "initial_delay_seconds": _seconds(health.start_period),
        "period_seconds": max(10, _seconds(health.interval)),
    }


def resources(args: KubernetesArgs) -> dict[str, Any]:
    return {"requests": dict(args.requests), "limits": dict(args.limits)}


def pod_spec(
    args: KubernetesArgs,
    containers: list[dict[str, Any]],
    *,
    volumes: Sequence[dict[str, Any]] = (),
    init_containers: Sequence[dict[str, Any]] = (),
    restart_policy: str | None = None,
) -> dict[str, Any]:
    """A pod (on the node's network with `host_network`), without a service account token,
    quick to stop."""
    spec: dict[str, Any] = {
        "host_network": args.host_network,
        "dns_policy": "ClusterFirstWithHostNet" if args.host_network else "ClusterFirst",
        "automount_service_account_token": False,
        "enable_service_links": False,
        "termination_grace_period_seconds": 10,
        "containers": containers,
        "volumes": list(volumes),
    }
    if init_containers:
        spec["init_containers"] = list(init_containers)
    if restart_policy:
        spec["restart_policy"] = restart_policy
    return spec


def container(
    args: KubernetesArgs,
    name: str,
    image: pulumi.Input[str],
    *,
    env: Sequence[dict[str, Any]],
    command: Sequence[pulumi.Input[str]] | None = None,
    args_: Sequence[pulumi.Input[str]] | None = None,
    probe_command: Sequence[pulumi.Input[str]] | None = None,
    volume_mounts: Sequence[dict[str, Any]] = (),
    read_only_root_filesystem: bool = False,
) -> dict[str, Any]:
    """One container: its image, env (credentials by secretKeyRef), resources and exec probes."""
    spec: dict[str, Any] = {
        "name": name,
        "image": image,
        "image_pull_policy": args.image_pull_policy,
        "env": list(env),
        "resources": resources(args),
        "volume_mounts": list(volume_mounts),
        "security_context": {
            "allow_privilege_escalation": False,
            "read_only_root_filesystem": read_only_root_filesystem,
        },
    }
    if command is not None:
        spec["command"] = list(command)
    if args_ is not None:
        spec["args"] = list(args_)
    if probe_command is not None:
        spec["readiness_probe"] = probe(probe_command, args.health)
        spec["liveness_probe"] = liveness(probe_command, args.health)
    return spec


def selector(ident: Identity) -> dict[str, str]:
    """The label that picks a component's pods (its workload's and its Service's selector)."""
    return {"app.kubernetes.io/name": ident.object_name}


def pods(ident: Identity, pod_labels: Mapping[str, str], spec: dict[str, Any]) -> dict[str, Any]:
    """The `selector` and pod `template` of a component's StatefulSet or Deployment."""
    return {
        "selector": {"match_labels": selector(ident)},
        "template": {"metadata": {"labels": dict(pod_labels)}, "spec": spec},
    }


def data_pod_spec(
    args: KubernetesStatefulArgs,
    containers: list[dict[str, Any]],
    image: str,
    claim: k8s.core.v1.PersistentVolumeClaim,
    mount_path: str,
) -> dict[str, Any]:
    """A pod whose `data` volume is `claim`, mounted at `mount_path` and given to
    `args.data_owner` by an init container of `image` before the server starts."""
    return pod_spec(
        args,
        containers,
        init_containers=data_owner_init(args, image, "data", mount_path),
        volumes=[
            {"name": "data", "persistent_volume_claim": {"claim_name": claim.metadata["name"]}}
        ],
    )


def data_owner_init(
    args: KubernetesStatefulArgs, image: str, volume: str, mount_path: str
) -> list[dict[str, Any]]:
    """The init container that gives the data directory to `args.data_owner` (none if None)."""
    if args.data_owner is None:
        return []
    owner = args.data_owner
    return [
        {
            "name": "data-owner",
            "image": image,
            "image_pull_policy": args.image_pull_policy,
            "command": [
                "sh",
                "-c",
                f'if id -u {owner} >/dev/null 2>&1; then chown -R {owner}: "$0"; fi',
                mount_path,
            ],
            "resources": resources(args),
            "security_context": {"run_as_user": 0, "allow_privilege_escalation": False},
            "volume_mounts": [{"name": volume, "mount_path": mount_path}],
        }
    ]


def data_claim(
    name: str,
    ident: Identity,
    role: str,
    args: KubernetesStatefulArgs,
    parent: pulumi.Resource,
) -> k8s.core.v1.PersistentVolumeClaim:
    """The data claim `{object_name}-data`: protected and kept on delete where the Args say so.

    The pod names it by a plain string, so that a claim of a class that binds on first use
    (Pending until a pod is scheduled) is created beside the pod, not before it.
    """
    spec: dict[str, Any] = {
        "access_modes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": args.storage_size}},
    }
    if args.storage_class:
        spec["storage_class_name"] = args.storage_class
    return k8s.core.v1.PersistentVolumeClaim(
        name,
        metadata={
            **metadata(args, f"{ident.object_name}-data", labels(ident, role)),
            "annotations": {"pulumi.com/skipAwait": "true"},
        },
        spec=spec,
        opts=options(
            args,
            parent,
            protect=args.protect_data,
            retain_on_delete=args.retain_data_on_delete,
        ),
    )


def credentials_secret(
    name: str,
    ident: Identity,
    role: str,
    args: KubernetesArgs,
    data: Mapping[str, pulumi.Input[str]],
    parent: pulumi.Resource,
) -> k8s.core.v1.Secret:
    """The Secret `{object_name}-credentials` holding the generated credentials."""
    return k8s.core.v1.Secret(
        name,
        metadata=metadata(args, f"{ident.object_name}-credentials", labels(ident, role)),
        type="Opaque",
        string_data={key: pulumi.Output.secret(value) for key, value in data.items()},
        opts=options(args, parent),
    )


def service(
    name: str,
    ident: Identity,
    role: str,
    args: KubernetesArgs,
    ports: Mapping[str, pulumi.Input[int]],
    parent: pulumi.Resource,
) -> k8s.core.v1.Service:
    """A ClusterIP Service naming the pods (the in-cluster name other pods may use)."""
    return k8s.core.v1.Service(
        name,
        metadata=metadata(args, ident.object_name, labels(ident, role)),
        spec={
            "selector": selector(ident),
            "ports": [
                {"name": port_name, "port": port, "target_port": port}
                for port_name, port in ports.items()
            ],
        },
        opts=options(args, parent),
    )
