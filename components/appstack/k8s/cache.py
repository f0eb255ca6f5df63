"""Cache on Kubernetes: Redis with a generated password, a memory limit and an eviction policy.

Creates the password and the URL in a Secret `{object}-credentials` (Redis reads the password from
the environment, through a secretKeyRef, never from its command line), a one-replica Deployment
(Recreate: a node port is held by one pod at a time) with `redis-cli ping` exec probes, and a
Service. Persistence, as on Docker, is append-only on a data claim.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from appstack import common as docker_common
from appstack.contract import component_type
from appstack.defaults import section
from appstack.k8s import common
from appstack.settings import REDIS_EVICTION_POLICIES
from appstack.validation import Problems

_DEFAULTS = section("cache")
PASSWORD_KEY = "password"
URL_KEY = "url"


@dataclass(kw_only=True)
class KubernetesCacheArgs(common.KubernetesStatefulArgs):
    """Redis: image, port, memory limit, eviction policy and persistence."""

    image: str = _DEFAULTS["image"]
    port: int = _DEFAULTS["port"]
    max_memory_mb: int = _DEFAULTS["maxMemoryMb"]
    max_memory_policy: str = _DEFAULTS["maxMemoryPolicy"]
    persistence: bool = _DEFAULTS["persistence"]
    data_owner: str | None = "redis"


class KubernetesCache(pulumi.ComponentResource):
    """Redis as a Deployment, with its Secret and Service (and claim, where persistent)."""

    host: pulumi.Output[str]
    port: pulumi.Output[int]
    url: pulumi.Output[str]
    """`redis://` URL from the deploying machine (secret)."""
    credentials_secret: pulumi.Output[str]
    """The name of the Secret holding `password` and `url`."""

    def __init__(
        self, name: str, args: KubernetesCacheArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        problems = Problems(f"KubernetesCache {name!r}")
        ident = common.identify(name, args, problems)
        problems.image("image", args.image)
        problems.port("port", args.port)
        problems.integer("max_memory_mb", args.max_memory_mb, 1, 1024 * 1024)
        if args.max_memory_policy not in REDIS_EVICTION_POLICIES:
            problems.bad(
                "max_memory_policy",
                f"one of {', '.join(REDIS_EVICTION_POLICIES)}",
                args.max_memory_policy,
            )
        problems.flag("persistence", args.persistence)
        problems.raise_if_any()

        super().__init__(component_type("KubernetesCache"), name, None, opts)
        port = args.port
        host, local_port = common.deployer_endpoint(args, ident, port)
        password = docker_common.generated_secret(f"{name}-password", 32, self)
        url = pulumi.Output.concat("redis://:", password.result, f"@{host}:{local_port}/0")
        internal_url = pulumi.Output.concat(
            "redis://:", password.result, "@", common.cluster_host(args, ident), f":{port}/0"
        )
        secret = common.credentials_secret(
            f"{name}-credentials",
            ident,
            "cache",
            args,
            {PASSWORD_KEY: password.result, URL_KEY: internal_url},
            self,
        )
        claim = (
            common.data_claim(f"{name}-data", ident, "cache-data", args, self)
            if args.persistence
            else None
        )
        server = (
            'exec redis-server --port "$REDIS_PORT" --requirepass "$REDISCLI_AUTH"'
            f" --maxmemory {args.max_memory_mb}mb --maxmemory-policy {args.max_memory_policy}"
            f" --appendonly {'yes' if args.persistence else 'no'} --dir /data"
            f" --bind {common.listen_address(args)} --protected-mode yes"
        )
        pod_labels = common.labels(ident, "cache")
        redis = common.container(
            args,
            "redis",
            args.image,
            env=[
                common.secret_env("REDISCLI_AUTH", secret.metadata["name"], PASSWORD_KEY),
                common.plain_env("REDIS_PORT", str(port)),
            ],
            command=["sh", "-c"],
            args_=[server],
            probe_command=[
                "sh",
                "-c",
                f"redis-cli -h {common.pod_local_address(args)}"
                ' -p "$REDIS_PORT" ping | grep -q PONG',
            ],
            volume_mounts=[{"name": "data", "mount_path": "/data"}],
        )
        pod = (
            common.data_pod_spec(args, [redis], args.image, claim, "/data")
            if claim is not None
            else common.pod_spec(args, [redis], volumes=[{"name": "data", "empty_dir": {}}])
        )
        # The Redis Deployment: depend on it to run after Redis is ready.
        self.deployment: k8s.apps.v1.Deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=common.deployment_metadata(args, ident.object_name, pod_labels, 1),
            spec={
                "replicas": 1,
                "strategy": {"type": "Recreate"},
                **common.pods(ident, pod_labels, pod),
            },
            opts=common.options(args, self),
        )
        common.service(f"{name}-service", ident, "cache", args, {"redis": port}, self)
        self.host = pulumi.Output.from_input(host)
        self.port = pulumi.Output.from_input(local_port)
        self.url = docker_common.secret(url)
        self.credentials_secret = secret.metadata["name"]
        self.register_outputs({"host": self.host, "port": self.port, "url": self.url})
