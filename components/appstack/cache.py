"""Cache: Redis with a generated password, a memory limit and eviction policy, and a health check.

Creates the pinned image, a generated password (secret; passed through the environment, never on
the command line, and used by `redis-cli` through `REDISCLI_AUTH`), the container (default
`{environment}-{name}`) with a `redis-cli ping` health check and a wait until healthy, and, where
persistence is on, the volume `{container}-data` with append-only persistence.
"""

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from appstack import common
from appstack.contract import component_type
from appstack.defaults import section
from appstack.settings import REDIS_EVICTION_POLICIES
from appstack.validation import Problems, is_plain

STANDARD_PORT = 6379
_DEFAULTS = section("cache")


@dataclass(kw_only=True)
class CacheArgs(common.StatefulContainerArgs):
    """Redis: image, port, memory limit, eviction policy and persistence."""

    image: str = _DEFAULTS["image"]
    """A Redis image reference. Plain: the policy pack reads it at preview (pinned images)."""
    port: pulumi.Input[int] = _DEFAULTS["port"]
    """The host port (published on the bind address, or listened on with host networking)."""
    max_memory_mb: pulumi.Input[int] = _DEFAULTS["maxMemoryMb"]
    """Redis' memory limit in MiB."""
    max_memory_policy: pulumi.Input[str] = _DEFAULTS["maxMemoryPolicy"]
    """A Redis eviction policy (`allkeys-lru`, `noeviction`, ...)."""
    persistence: bool = _DEFAULTS["persistence"]
    """Append-only persistence on a volume. Plain: it decides whether the volume exists."""


class Cache(pulumi.ComponentResource):
    """Redis with its password (and volume, where persistent)."""

    host: pulumi.Output[str]
    port: pulumi.Output[int]
    password: pulumi.Output[str]
    """The generated password (secret)."""
    url: pulumi.Output[str]
    """`redis://` URL from the deploying machine (secret)."""
    internal_url: pulumi.Output[str]
    """`redis://` URL from other containers on the same network (secret)."""

    def __init__(
        self, name: str, args: CacheArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        problems = Problems(f"Cache {name!r}")
        ident = common.identify(name, args, problems)
        problems.image("image", args.image)
        problems.port("port", args.port)
        problems.integer("max_memory_mb", args.max_memory_mb, 1, 1024 * 1024)
        policy = args.max_memory_policy
        if is_plain(policy) and policy not in REDIS_EVICTION_POLICIES:
            problems.bad(
                "max_memory_policy", f"one of {', '.join(REDIS_EVICTION_POLICIES)}", policy
            )
        problems.flag("persistence", args.persistence)
        problems.raise_if_any()

        super().__init__(component_type("Cache"), name, None, opts)
        where = common.placement(args.network, ident.container_name, STANDARD_PORT, args.port)
        image = common.remote_image(f"{name}-image", args.image, self)
        password = common.generated_secret(f"{name}-password", 32, self)
        volumes: list[docker.ContainerVolumeArgs] = []
        if args.persistence:
            volume = common.data_volume(f"{name}-data", ident, "cache-data", args, self)
            volumes.append(
                docker.ContainerVolumeArgs(volume_name=volume.name, container_path="/data")
            )
        server = pulumi.Output.concat(
            'exec redis-server --port "$REDIS_PORT" --requirepass "$REDISCLI_AUTH"',
            " --maxmemory ",
            common.text(args.max_memory_mb),
            "mb --maxmemory-policy ",
            args.max_memory_policy,
            f" --appendonly {'yes' if args.persistence else 'no'} --dir /data",
            f" --bind {where.listen_address} --protected-mode yes",
        )
        # The Redis container: depend on it to run after Redis is healthy.
        self.container: docker.Container = common.service_container(
            f"{name}-container",
            ident,
            args,
            common.ServiceSpec(
                role="cache",
                image_reference=args.image,
                # redis-cli reads the password from REDISCLI_AUTH; a bare `ping` exits 0 on
                # NOAUTH, so the check looks for PONG.
                health_test=["CMD-SHELL", 'redis-cli -p "$REDIS_PORT" ping | grep -q PONG'],
                published=[(STANDARD_PORT, args.port)],
                entrypoints=["sh", "-c"],
                command=[server],
                volumes=volumes,
            ),
            image.image_id,
            pulumi.Output.all(common.secret(password.result), where.internal_port).apply(
                lambda values: [f"REDISCLI_AUTH={values[0]}", f"REDIS_PORT={values[1]}"]
            ),
            pulumi.ResourceOptions(parent=self),
        )
        self.host = pulumi.Output.from_input(where.host_address)
        self.port = pulumi.Output.from_input(where.host_port)
        self.password = common.secret(password.result)
        self.url = common.secret(
            pulumi.Output.concat("redis://:", password.result, "@", where.host_endpoint, "/0")
        )
        self.internal_url = common.secret(
            pulumi.Output.concat("redis://:", password.result, "@", where.internal_endpoint, "/0")
        )
        self.register_outputs({"host": self.host, "port": self.port, "url": self.url})
