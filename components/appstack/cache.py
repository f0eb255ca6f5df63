"""Cache: Redis with a generated password, a memory limit and eviction policy, and a health check.

Creates the pinned image, a generated password (secret; passed through the environment, never on
the command line, and used by `redis-cli` through `REDISCLI_AUTH`), the container `{env}-cache`
with a `redis-cli ping` health check and a wait until healthy, and, where persistence is on, the
volume `{env}-cache-data` with append-only persistence.
"""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from components import common
from components.settings import Settings

STANDARD_PORT = 6379


class Cache(pulumi.ComponentResource):
    """Redis for one environment."""

    host: pulumi.Output[str]
    port: pulumi.Output[int]
    password: pulumi.Output[str]
    url: pulumi.Output[str]
    internal_url: pulumi.Output[str]
    container: docker.Container

    def __init__(
        self,
        name: str,
        settings: Settings,
        network_name: pulumi.Input[str] | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("appstack:index:Cache", name, None, opts)
        cache = settings.cache
        where = common.placement(settings, settings.prefixed("cache"), STANDARD_PORT, cache.port)

        image = common.remote_image(f"{name}-image", cache.image, self)
        password = common.generated_secret(f"{name}-password", 32, self)
        volumes: list[docker.ContainerVolumeArgs] = []
        if cache.persistence:
            volume = docker.Volume(
                f"{name}-data",
                name=settings.prefixed("cache-data"),
                labels=common.volume_labels(settings, "cache-data"),
                opts=common.data_options(settings, self),
            )
            volumes.append(
                docker.ContainerVolumeArgs(volume_name=volume.name, container_path="/data")
            )
        server = (
            'exec redis-server --port "$REDIS_PORT" --requirepass "$REDISCLI_AUTH"'
            f" --maxmemory {cache.max_memory_mb}mb --maxmemory-policy {cache.max_memory_policy}"
            f" --appendonly {'yes' if cache.persistence else 'no'} --dir /data"
            f" --bind {where.listen_address} --protected-mode yes"
        )
        self.container = common.service_container(
            f"{name}-container",
            settings,
            common.ServiceSpec(
                role="cache",
                image_reference=cache.image,
                # redis-cli reads the password from REDISCLI_AUTH; a bare `ping` exits 0 on
                # NOAUTH, so the check looks for PONG.
                health_test=["CMD-SHELL", 'redis-cli -p "$REDIS_PORT" ping | grep -q PONG'],
                published=[(STANDARD_PORT, cache.port)],
                entrypoints=["sh", "-c"],
                command=[server],
                volumes=volumes,
            ),
            image.image_id,
            common.secret(password.result).apply(
                lambda value: [f"REDISCLI_AUTH={value}", f"REDIS_PORT={where.internal_port}"]
            ),
            network_name,
            self,
        )
        self.host = pulumi.Output.from_input(where.host_address)
        self.port = pulumi.Output.from_input(where.host_port)
        self.password = common.secret(password.result)
        self.url = common.secret(
            pulumi.Output.concat(
                "redis://:",
                password.result,
                "@",
                where.host_address,
                ":",
                str(where.host_port),
                "/0",
            )
        )
        self.internal_url = common.secret(
            pulumi.Output.concat(
                "redis://:",
                password.result,
                "@",
                where.internal_host,
                ":",
                str(where.internal_port),
                "/0",
            )
        )
        self.register_outputs({"host": self.host, "port": self.port, "url": self.url})
