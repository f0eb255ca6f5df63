"""Backend on Kubernetes: the application as a Deployment, wired from the other components.

Creates a Deployment of `replicas` pods with the backend image, whose credentials (database,
Redis, object store) arrive only through secretKeyRefs and whose other settings are plain
environment; exec readiness and liveness probes on the HTTP health endpoint (the same fixed probe
program as the Docker health check); `PYTHONDONTWRITEBYTECODE=1` and a read-only root filesystem
with a writable `/tmp`; a rolling update; and a Service. Its `depends_on` (the migration Job for
its exact image) is passed on to the Deployment, so it rolls out only after that Job completed:
a failed migration leaves the running ReplicaSet as it was.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from appstack import common as docker_common
from appstack.backend import HEALTH_PROBE
from appstack.contract import component_type
from appstack.defaults import section
from appstack.k8s import common
from appstack.validation import Problems, health_path_problem, origin_problem

_DEFAULTS = section("backend")
_K8S = section("kubernetes")


@dataclass(frozen=True)
class SecretKey:
    """A key of a Secret: where a credential comes from."""

    secret_name: pulumi.Input[str]
    key: str


@dataclass(kw_only=True)
class KubernetesBackendArgs(common.KubernetesArgs):
    """The application: its image, its wiring, its port, replicas and health endpoint."""

    image: str
    """The backend image reference. Plain: the policies read it at preview."""
    environment_variables: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Settings that are no credential (endpoints, bucket names)."""
    secret_variables: Mapping[str, SecretKey] = field(default_factory=dict)
    """Credentials (DATABASE_URL, ...), each read from a Secret."""
    port: int = _DEFAULTS["port"]
    replicas: int = _K8S["replicas"]
    cors_origins: Sequence[str] = tuple(_DEFAULTS["corsOrigins"])
    health_path: str = _DEFAULTS["healthPath"]
    read_only_root_filesystem: bool = _DEFAULTS["readOnlyRootFilesystem"]


class KubernetesBackend(pulumi.ComponentResource):
    """The application Deployment and its Service."""

    url: pulumi.Output[str]
    image_reference: str
    deployment: k8s.apps.v1.Deployment

    def __init__(
        self, name: str, args: KubernetesBackendArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        problems = Problems(f"KubernetesBackend {name!r}")
        ident = common.identify(name, args, problems)
        problems.image("image", args.image)
        problems.port("port", args.port)
        problems.integer("replicas", args.replicas, 1, 100)
        if args.host_network and args.replicas != 1:
            problems.bad("replicas", "1 with host_network (one node port)", args.replicas)
        for index, origin in enumerate(args.cors_origins):
            reason = origin_problem(origin)
            if reason:
                problems.bad(f"cors_origins[{index}]", f"an origin ({reason})", origin)
        problems.check("health_path", args.health_path, health_path_problem(args.health_path))
        problems.flag("read_only_root_filesystem", args.read_only_root_filesystem)
        overlap = set(args.environment_variables) & set(args.secret_variables)
        if overlap:
            problems.bad("secret_variables", "names not also in environment_variables", overlap)
        problems.raise_if_any()

        super().__init__(component_type("KubernetesBackend"), name, None, opts)
        port = args.port
        host, local_port = common.deployer_endpoint(args, ident, port)
        plain: dict[str, pulumi.Input[str]] = {
            **args.environment_variables,
            "CORS_ORIGINS": ",".join(origin.rstrip("/") for origin in args.cors_origins),
            "HOST": common.listen_address(args),
            "PORT": str(port),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
            "APPSTACK_ENVIRONMENT": ident.environment,
        }
        env = [common.plain_env(key, plain[key]) for key in sorted(plain)] + [
            common.secret_env(key, ref.secret_name, ref.key)
            for key, ref in sorted(args.secret_variables.items())
        ]
        health_url = f"http://{common.pod_local_address(args)}:{port}{args.health_path}"
        pod_labels = common.labels(ident, "backend")
        app = common.container(
            args,
            "backend",
            args.image,
            env=env,
            probe_command=["python3", "-c", HEALTH_PROBE, health_url],
            volume_mounts=[{"name": "tmp", "mount_path": "/tmp"}],
            read_only_root_filesystem=args.read_only_root_filesystem,
        )
        # One node port per pod on the node's network: the old pod goes before the new starts.
        rolling = (
            {"max_surge": 0, "max_unavailable": 1}
            if args.host_network
            else {"max_surge": 1, "max_unavailable": 0}
        )
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=common.deployment_metadata(args, ident.object_name, pod_labels, args.replicas),
            spec={
                "replicas": args.replicas,
                "strategy": {"type": "RollingUpdate", "rolling_update": rolling},
                **common.pods(
                    ident,
                    pod_labels,
                    common.pod_spec(
                        args,
                        [app],
                        volumes=[
                            {"name": "tmp", "empty_dir": {"medium": "Memory", "size_limit": "64Mi"}}
                        ],
                    ),
                ),
            },
            opts=pulumi.ResourceOptions.merge(
                docker_common.child_dependencies(self, opts),
                pulumi.ResourceOptions(provider=args.provider),
            ),
        )
        common.service(f"{name}-service", ident, "backend", args, {"http": port}, self)
        self.url = pulumi.Output.from_input(f"http://{host}:{local_port}")
        self.image_reference = args.image
        self.register_outputs({"url": self.url})
