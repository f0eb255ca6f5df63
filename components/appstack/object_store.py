"""ObjectStore: the MinIO server and its buckets with their lifecycle rules.

Creates the pinned image, generated root credentials (secret), the data volume
`{container}-data` (protected and kept on delete where the Args say so), the container (default
`{environment}-{name}`) with a readiness health check and a wait until healthy, and one `Bucket`
(`{bucket_prefix}-{role}`) per declared bucket once the server is healthy. Buckets are private:
the backend hands out presigned URLs.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pulumi
import pulumi_docker as docker

from appstack import common
from appstack.bucket import (
    DAY_FIELDS,
    Bucket,
    BucketArgs,
    LifecycleRule,
    bucket_name_problems,
    stale_uploads_expiry,
)
from appstack.contract import component_type
from appstack.defaults import section
from appstack.validation import Problems, prefix_problem

STANDARD_PORT = 9000
STANDARD_CONSOLE_PORT = 9001
DATA_PATH = "/data"
DEFAULT_HEALTH_COMMAND = ("CMD-SHELL", "mc ready local")
_DEFAULTS = section("objectStore")


@dataclass(frozen=True)
class BucketSpec:
    """One bucket `{bucket_prefix}-{role}` and its lifecycle.

    Plain values: the buckets decide which resources exist, and the policy pack reads their rules
    at preview (a temp bucket must expire its objects).
    """

    role: str
    """What the bucket is for (`assets`, `temp`, `backups`): the last part of its name."""
    versioning: bool = False
    """Keep old versions of overwritten and deleted objects."""
    expiration_days: int | None = None
    """Delete objects (under `prefix`) this many days after creation."""
    abort_incomplete_multipart_days: int | None = None
    """Abort multipart uploads not completed after this many days (server-wide in MinIO)."""
    noncurrent_version_expiration_days: int | None = None
    """Delete old versions this many days after they were replaced (versioned buckets only)."""
    prefix: str = ""
    """The key prefix the expiry applies to; empty means the whole bucket."""


class BucketRules(Protocol):
    """What `lifecycle_rules` reads: a `BucketSpec`, or the stack settings' bucket entry."""

    @property
    def expiration_days(self) -> int | None: ...
    @property
    def abort_incomplete_multipart_days(self) -> int | None: ...
    @property
    def noncurrent_version_expiration_days(self) -> int | None: ...
    @property
    def prefix(self) -> str: ...


def lifecycle_rules(bucket: BucketRules) -> list[LifecycleRule]:
    """The typed lifecycle rules a bucket declaration asks for, one rule id per action."""
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


@dataclass(kw_only=True)
class ObjectStoreArgs(common.StatefulContainerArgs):
    """MinIO: image, ports, the buckets it holds and their names."""

    image: str = _DEFAULTS["image"]
    """A MinIO server image reference. Plain: the policy pack reads it at preview."""
    port: pulumi.Input[int] = _DEFAULTS["port"]
    """The host port of the S3 API."""
    console_port: pulumi.Input[int] = _DEFAULTS["consolePort"]
    """The host port of the web console."""
    buckets: Sequence[BucketSpec] = field(default_factory=tuple)
    """The buckets to keep on the server (none by default)."""
    bucket_prefix: str | None = None
    """The first part of every bucket name. Default `{environment}-{name}`. Plain: names are
    checked against the S3 naming rules before anything runs."""
    force_destroy: pulumi.Input[bool] = _DEFAULTS["forceDestroy"]
    """Allow deleting buckets that still hold objects (all of them are deleted)."""
    health_command: Sequence[str] = tuple(_DEFAULTS["healthCommand"])
    """The container health check in Docker's form; empty means `mc ready local`."""


class ObjectStore(pulumi.ComponentResource):
    """MinIO, its root credentials and its buckets."""

    endpoint: pulumi.Output[str]
    """`host:port` of the S3 API from the deploying machine."""
    internal_endpoint: pulumi.Output[str]
    """`host:port` of the S3 API from other containers on the same network."""
    access_key: pulumi.Output[str]
    """The generated root access key (secret)."""
    secret_key: pulumi.Output[str]
    """The generated root secret key (secret)."""
    bucket_names: dict[str, pulumi.Output[str]]
    """Each bucket's name by role."""
    bucket_config: dict[str, pulumi.Output[dict[str, Any]]]
    """Each bucket as deployed, by role: `{name, versioning, lifecycleRules}` (verify reads it)."""

    def __init__(
        self, name: str, args: ObjectStoreArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        problems = Problems(f"ObjectStore {name!r}")
        ident = common.identify(name, args, problems)
        problems.image("image", args.image)
        problems.port("port", args.port)
        problems.port("console_port", args.console_port)
        problems.flag("force_destroy", args.force_destroy)
        problems.argv("health_command", args.health_command, allow_empty=True)
        prefix = args.bucket_prefix or f"{ident.environment}-{name}"
        roles: set[str] = set()
        for index, bucket in enumerate(args.buckets):
            if not isinstance(bucket, BucketSpec):
                problems.bad(f"buckets[{index}]", "a BucketSpec", bucket)
                continue
            if bucket.role in roles:
                problems.bad(
                    f"buckets[{index}].role", "a role used by no other bucket", bucket.role
                )
            roles.add(bucket.role)
            problems.flag(f"buckets[{index}].versioning", bucket.versioning)
            problems.check(f"buckets[{index}].prefix", bucket.prefix, prefix_problem(bucket.prefix))
            for key in DAY_FIELDS:
                days = getattr(bucket, key)
                if days is not None:
                    problems.integer(f"buckets[{index}].{key}", days, 1, 36500)
            if bucket.noncurrent_version_expiration_days is not None and not bucket.versioning:
                problems.bad(
                    f"buckets[{index}].noncurrent_version_expiration_days",
                    "versioning=True (old versions exist only in a versioned bucket)",
                    bucket.noncurrent_version_expiration_days,
                )
            for problem in bucket_name_problems(f"{prefix}-{bucket.role}"):
                problems.bad(
                    f"buckets[{index}]", f"a bucket name that {problem}", f"{prefix}-{bucket.role}"
                )
        problems.raise_if_any()

        super().__init__(component_type("ObjectStore"), name, None, opts)
        container_name = ident.container_name
        where = common.placement(args.network, container_name, STANDARD_PORT, args.port)
        console = common.placement(
            args.network, container_name, STANDARD_CONSOLE_PORT, args.console_port
        )
        image = common.remote_image(f"{name}-image", args.image, self)
        volume = common.data_volume(f"{name}-data", ident, "objectstore-data", args, self)
        access_key = common.generated_secret(f"{name}-access-key", 20, self)
        secret_key = common.generated_secret(f"{name}-secret-key", 40, self)
        health = args.health_command or DEFAULT_HEALTH_COMMAND
        # MinIO aborts incomplete multipart uploads server-wide, not per bucket: the
        # strictest declared abort_incomplete_multipart_days becomes the server's setting.
        rules = {bucket.role: lifecycle_rules(bucket) for bucket in args.buckets}
        stale_uploads = stale_uploads_expiry(rules.values())
        envs = common.secret(
            pulumi.Output.all(access_key.result, secret_key.result, where.internal_port).apply(
                lambda values: [
                    f"MINIO_ROOT_USER={values[0]}",
                    f"MINIO_ROOT_PASSWORD={values[1]}",
                    # `mc ready local` reads its alias from here, whatever the port.
                    f"MC_HOST_local=http://{values[0]}:{values[1]}@127.0.0.1:{values[2]}",
                    "MINIO_BROWSER_REDIRECT=false",
                    f"MINIO_API_STALE_UPLOADS_EXPIRY={stale_uploads}",
                ]
            )
        )
        container = common.service_container(
            f"{name}-container",
            ident,
            args,
            common.ServiceSpec(
                role="objectstore",
                image_reference=args.image,
                health_test=list(health),
                published=[
                    (STANDARD_PORT, args.port),
                    (STANDARD_CONSOLE_PORT, args.console_port),
                ],
                command=[
                    "server",
                    DATA_PATH,
                    "--address",
                    pulumi.Output.concat(_listen(where), ":", common.text(where.internal_port)),
                    "--console-address",
                    pulumi.Output.concat(_listen(console), ":", common.text(console.internal_port)),
                ],
                volumes=[
                    docker.ContainerVolumeArgs(volume_name=volume.name, container_path=DATA_PATH)
                ],
            ),
            image.image_id,
            envs,
            pulumi.ResourceOptions(parent=self),
        )

        self.endpoint = where.host_endpoint
        self.internal_endpoint = where.internal_endpoint
        self.access_key = common.secret(access_key.result)
        self.secret_key = common.secret(secret_key.result)
        self.buckets, self.bucket_names, self.bucket_config = declare_buckets(
            name,
            BucketTarget(
                prefix=prefix,
                environment=ident.environment,
                endpoint=self.endpoint,
                access_key=self.access_key,
                secret_key=self.secret_key,
                force_destroy=args.force_destroy,
            ),
            args.buckets,
            pulumi.ResourceOptions.merge(
                common.data_options(args, self), pulumi.ResourceOptions(depends_on=[container])
            ),
        )
        self.register_outputs(
            {
                "endpoint": self.endpoint,
                "accessKey": self.access_key,
                "secretKey": self.secret_key,
                "buckets": self.bucket_names,
                "bucketConfig": self.bucket_config,
            }
        )


@dataclass(frozen=True)
class BucketTarget:
    """The server the buckets live on, and how they are named."""

    prefix: str
    environment: str
    endpoint: pulumi.Input[str]
    access_key: pulumi.Input[str]
    secret_key: pulumi.Input[str]
    force_destroy: pulumi.Input[bool]


def declare_buckets(
    name: str, target: BucketTarget, specs: Sequence[BucketSpec], opts: pulumi.ResourceOptions
) -> tuple[list[Bucket], dict[str, pulumi.Output[str]], dict[str, pulumi.Output[dict[str, Any]]]]:
    """One private `Bucket` `{prefix}-{role}` per spec with its lifecycle rules, created with
    `opts` (its parent, the server to wait for, protection); with each bucket's name and its
    deployed configuration by role (`{name, versioning, lifecycleRules}`, verify reads it).

    Shared by the Docker and the Kubernetes object stores: one Bucket provider for both.
    """
    buckets: list[Bucket] = []
    names: dict[str, pulumi.Output[str]] = {}
    config: dict[str, pulumi.Output[dict[str, Any]]] = {}
    for bucket in specs:
        resource = Bucket(
            f"{name}-bucket-{bucket.role}",
            BucketArgs(
                bucket_name=f"{target.prefix}-{bucket.role}",
                endpoint=target.endpoint,
                access_key=target.access_key,
                secret_key=target.secret_key,
                versioning=bucket.versioning,
                lifecycle_rules=lifecycle_rules(bucket),
                tags={"environment": target.environment, "role": bucket.role},
                access="private",
                force_destroy=target.force_destroy,
                role=bucket.role,
            ),
            opts=opts,
        )
        buckets.append(resource)
        names[bucket.role] = resource.bucket_name
        config[bucket.role] = pulumi.Output.all(
            name=resource.bucket_name,
            versioning=resource.versioning,
            lifecycleRules=resource.lifecycle_rules,
        )
    return buckets, names, config


def _listen(where: common.Placement) -> str:
    """MinIO's listen host: empty (all interfaces of its own namespace) on a bridge network."""
    return "" if where.listen_address == "0.0.0.0" else where.listen_address
