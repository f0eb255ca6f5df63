"""ObjectStore: the MinIO server and the environment's buckets with their lifecycle rules.

Creates the pinned image, generated root credentials (secret), the data volume
`{env}-objectstore-data` (protected and kept on delete where the stack says so), the container
`{env}-objectstore` with a readiness health check and a wait until healthy, and one `Bucket`
(`{env}-{project}-{role}`) per declared bucket once the server is healthy. Buckets are private:
the backend hands out presigned URLs.
"""

from __future__ import annotations

import pulumi
import pulumi_docker as docker

from components import common
from components.bucket import Bucket, BucketArgs, LifecycleRule, stale_uploads_expiry
from components.settings import BucketSettings, Settings

STANDARD_PORT = 9000
STANDARD_CONSOLE_PORT = 9001
DATA_PATH = "/data"


def lifecycle_rules(bucket: BucketSettings) -> list[LifecycleRule]:
    """The typed lifecycle rules a bucket's settings ask for, one rule id per action."""
    rules: list[LifecycleRule] = []
    if bucket.expiration_days is not None:
        rules.append(
            LifecycleRule(
                id="expire-objects", prefix=bucket.prefix, expiration_days=bucket.expiration_days
            )
        )
    if bucket.abort_incomplete_multipart_days is not None:
        rules.append(
            LifecycleRule(
                id="abort-incomplete-uploads",
                abort_incomplete_multipart_days=bucket.abort_incomplete_multipart_days,
            )
        )
    if bucket.noncurrent_version_expiration_days is not None:
        rules.append(
            LifecycleRule(
                id="expire-old-versions",
                noncurrent_version_expiration_days=bucket.noncurrent_version_expiration_days,
            )
        )
    return rules


class ObjectStore(pulumi.ComponentResource):
    """MinIO and its buckets for one environment."""

    endpoint: pulumi.Output[str]
    internal_endpoint: pulumi.Output[str]
    access_key: pulumi.Output[str]
    secret_key: pulumi.Output[str]
    bucket_names: dict[str, pulumi.Output[str]]
    buckets: list[Bucket]

    def __init__(
        self,
        name: str,
        settings: Settings,
        network_name: pulumi.Input[str] | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("appstack:index:ObjectStore", name, None, opts)
        store = settings.object_store
        container_name = settings.prefixed("objectstore")
        where = common.placement(settings, container_name, STANDARD_PORT, store.port)
        console = common.placement(
            settings, container_name, STANDARD_CONSOLE_PORT, store.console_port
        )

        image = common.remote_image(f"{name}-image", store.image, self)
        volume = docker.Volume(
            f"{name}-data",
            name=settings.prefixed("objectstore-data"),
            labels=common.volume_labels(settings, "objectstore-data"),
            opts=common.data_options(settings, self),
        )
        access_key = common.generated_secret(f"{name}-access-key", 20, self)
        secret_key = common.generated_secret(f"{name}-secret-key", 40, self)
        health = store.health_command or ("CMD-SHELL", "mc ready local")
        # MinIO aborts incomplete multipart uploads server-wide, not per bucket: the
        # strictest declared abortIncompleteMultipartDays becomes the server's setting.
        rules = {bucket.role: lifecycle_rules(bucket) for bucket in store.buckets}
        stale_uploads = stale_uploads_expiry(rules.values())
        envs = common.secret(
            pulumi.Output.all(access_key.result, secret_key.result).apply(
                lambda keys: [
                    f"MINIO_ROOT_USER={keys[0]}",
                    f"MINIO_ROOT_PASSWORD={keys[1]}",
                    # `mc ready local` reads its alias from here, whatever the port.
                    f"MC_HOST_local=http://{keys[0]}:{keys[1]}@127.0.0.1:{where.internal_port}",
                    "MINIO_BROWSER_REDIRECT=false",
                    f"MINIO_API_STALE_UPLOADS_EXPIRY={stale_uploads}",
                ]
            )
        )
        container = common.service_container(
            f"{name}-container",
            settings,
            common.ServiceSpec(
                role="objectstore",
                image_reference=store.image,
                health_test=list(health),
                published=[
                    (STANDARD_PORT, store.port),
                    (STANDARD_CONSOLE_PORT, store.console_port),
                ],
                command=[
                    "server",
                    DATA_PATH,
                    "--address",
                    f"{_listen(where)}:{where.internal_port}",
                    "--console-address",
                    f"{_listen(console)}:{console.internal_port}",
                ],
                volumes=[
                    docker.ContainerVolumeArgs(volume_name=volume.name, container_path=DATA_PATH)
                ],
            ),
            image.image_id,
            envs,
            network_name,
            self,
        )

        self.endpoint = pulumi.Output.from_input(f"{where.host_address}:{where.host_port}")
        self.internal_endpoint = pulumi.Output.from_input(
            f"{where.internal_host}:{where.internal_port}"
        )
        self.access_key = common.secret(access_key.result)
        self.secret_key = common.secret(secret_key.result)
        self.buckets = []
        self.bucket_names = {}
        for bucket in store.buckets:
            resource = Bucket(
                f"{name}-bucket-{bucket.role}",
                BucketArgs(
                    bucket_name=settings.bucket_name(bucket.role),
                    endpoint=self.endpoint,
                    access_key=self.access_key,
                    secret_key=self.secret_key,
                    versioning=bucket.versioning,
                    lifecycle_rules=rules[bucket.role],
                    tags={"environment": settings.environment, "role": bucket.role},
                    access="private",
                    force_destroy=store.force_destroy,
                    role=bucket.role,
                ),
                opts=pulumi.ResourceOptions.merge(
                    common.data_options(settings, self),
                    pulumi.ResourceOptions(depends_on=[container]),
                ),
            )
            self.buckets.append(resource)
            self.bucket_names[bucket.role] = resource.bucket_name
        self.register_outputs(
            {
                "endpoint": self.endpoint,
                "accessKey": self.access_key,
                "secretKey": self.secret_key,
                "buckets": self.bucket_names,
            }
        )


def _listen(where: common.Placement) -> str:
    """MinIO's listen host: empty (all interfaces of its own namespace) in bridge mode."""
    return "" if where.listen_address == "0.0.0.0" else where.listen_address
