"""appstack's components for other languages: a Pulumi component provider (`provider/`).

Pulumi's Python component provider host (`pulumi.provider.experimental.component_provider_host`)
serves these classes to TypeScript, Go, YAML, ... programs that `pulumi package add` the
`provider/` directory, and infers the package schema from their type annotations: the inputs from
the `args` annotation of `__init__`, the outputs from the class's annotated attributes.

Each class here is a thin subclass of the Python component of the same name, so a component made
from another language is exactly the one a Python program makes (same type token
`appstack:index:<Name>`, same children, names, checks and outputs); only its inputs differ. The
host hands `__init__` a dict of the schema's inputs, never the component's Args dataclass, and
it cannot read dataclass defaults (every field would be required) or `Literal` types. So the
inputs are declared here as `TypedDict`s with the Args' field names (`NotRequired` where the Args
have a default, the same defaults applying), and `__init__` turns the dict into the real Args,
which validate as usual: a bad input fails with the same `ArgsError` a Python user sees.

What the host needs of the Python components (kept by tests/components/test_provider_schema.py):
their modules do not use `from __future__ import annotations` (the host reads the annotations as
objects, not strings), and their class-level annotations are outputs only: handles for Python
programs (`Database.ready`, `Cache.container`, `ObjectStore.buckets`, `Migration.run`,
`Network.attachment`) are set in `__init__`, so they are not in the schema.

Not served: `backend_image` (a function, not a component: build or pull the image with the
`docker` package and pass its reference and id as `Backend`'s `image`), and `Platform`.

No `from __future__ import annotations` here either, for the same reason.
"""

import importlib.metadata
from collections.abc import Mapping, Sequence
from dataclasses import replace
from enum import StrEnum
from typing import Any, Required, TypedDict

import pulumi

from appstack import (
    backend,
    cache,
    common,
    database,
    docker_target,
    migration,
    network,
    object_store,
)
from appstack.validation import ArgsError

PACKAGE = "appstack"
"""The package name other programs use: types are `appstack:index:<Name>`, as in Python."""


# --- input types shared by the components --------------------------------------------------------


class NetworkAttachment(TypedDict, total=False):
    """How a container is attached: host networking, or one bridge network when
    `bridgeNetwork` is set (a `Network`'s `networkName`)."""

    bind_address: str
    """The host address services listen on (host networking) or are published on (bridge);
    IPv4, loopback by default."""
    bridge_network: pulumi.Input[str]
    """The Docker network to join; unset means host networking."""
    connect_address: str
    """Where the deploying machine reaches the services when that is not `bindAddress` (a
    remote Docker host's name or address)."""


class HealthCheck(TypedDict, total=False):
    """Health check timings of a container, and how long a deployment waits for it."""

    interval: str
    """Time between checks, a canonical Go duration ("2s", "1m0s")."""
    timeout: str
    """How long one check may take."""
    start_period: str
    """Grace period after start during which failures do not count."""
    retries: int
    """Failed checks in a row before the container is unhealthy."""
    wait_timeout_seconds: int
    """How long a deployment waits for the container to become healthy."""


class ContainerInputs(TypedDict, total=False):
    """What every container component takes (`appstack.common.ContainerArgs`)."""

    network: Required[NetworkAttachment]
    environment: str
    container_name: str
    network_alias: str
    health: HealthCheck


class StatefulContainerInputs(ContainerInputs, total=False):
    """A container whose data lives in a named volume (`appstack.common.StatefulContainerArgs`)."""

    volume_name: str
    protect_data: bool
    retain_data_on_delete: bool


# --- Database, Cache, ObjectStore ----------------------------------------------------------------


class DatabaseInputs(StatefulContainerInputs, total=False):
    """`appstack.database.DatabaseArgs`."""

    image: str
    """A pgvector PostgreSQL image reference (plain: the policies read it at preview)."""
    port: pulumi.Input[int]
    """The host port."""
    database_name: pulumi.Input[str]
    """The database created on first start."""
    user: pulumi.Input[str]
    """The superuser role created on first start."""
    connect_timeout_seconds: pulumi.Input[int]
    """How long the pgvector check waits for the server to accept connections."""


class Database(database.Database):
    """PostgreSQL + pgvector, its data volume and generated password, verified live."""

    def __init__(
        self, name: str, args: DatabaseInputs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        inputs = _container_inputs(f"Database {name!r}", args, ("port", "connect_timeout_seconds"))
        super().__init__(name, database.DatabaseArgs(**inputs), opts)


class CacheInputs(StatefulContainerInputs, total=False):
    """`appstack.cache.CacheArgs`."""

    image: str
    """A Redis image reference (plain: the policies read it at preview)."""
    port: pulumi.Input[int]
    """The host port."""
    max_memory_mb: pulumi.Input[int]
    """Redis' memory limit in MiB."""
    max_memory_policy: pulumi.Input[str]
    """A Redis eviction policy (`allkeys-lru`, `noeviction`, ...)."""
    persistence: bool
    """Append-only persistence on a volume."""


class Cache(cache.Cache):
    """Redis with a generated password, a memory limit and eviction policy."""

    def __init__(
        self, name: str, args: CacheInputs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        inputs = _container_inputs(f"Cache {name!r}", args, ("port", "max_memory_mb"))
        super().__init__(name, cache.CacheArgs(**inputs), opts)


class BucketSpec(TypedDict, total=False):
    """One bucket `{bucketPrefix}-{role}` and its lifecycle."""

    role: Required[str]
    """What the bucket is for (`assets`, `temp`, `backups`): the last part of its name."""
    versioning: bool
    """Keep old versions of overwritten and deleted objects."""
    expiration_days: int
    """Delete objects (under `prefix`) this many days after creation."""
    abort_incomplete_multipart_days: int
    """Abort multipart uploads not completed after this many days."""
    noncurrent_version_expiration_days: int
    """Delete old versions this many days after they were replaced (versioned buckets)."""
    prefix: str
    """The key prefix the expiry applies to; empty means the whole bucket."""


class ObjectStoreInputs(StatefulContainerInputs, total=False):
    """`appstack.object_store.ObjectStoreArgs`."""

    image: str
    """A MinIO server image reference (plain: the policies read it at preview)."""
    port: pulumi.Input[int]
    """The host port of the S3 API."""
    console_port: pulumi.Input[int]
    """The host port of the web console."""
    buckets: Sequence[BucketSpec]
    """The buckets to keep on the server (none by default)."""
    bucket_prefix: str
    """The first part of every bucket name. Default `{environment}-{name}`."""
    force_destroy: pulumi.Input[bool]
    """Allow deleting buckets that still hold objects."""
    health_command: Sequence[str]
    """The container health check in Docker's form; empty means `mc ready local`."""


class ObjectStore(object_store.ObjectStore):
    """MinIO, its generated root credentials and its buckets with their lifecycle rules."""

    def __init__(
        self, name: str, args: ObjectStoreInputs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        inputs = _container_inputs(f"ObjectStore {name!r}", args, ("port", "console_port"))
        if "buckets" in inputs:
            inputs["buckets"] = [_bucket_spec(bucket) for bucket in inputs["buckets"]]
        if "health_command" in inputs:
            inputs["health_command"] = tuple(inputs["health_command"])
        super().__init__(name, object_store.ObjectStoreArgs(**inputs), opts)


# --- Network, Migration, Backend -----------------------------------------------------------------


class NetworkMode(StrEnum):
    """How the environment's containers are networked."""

    BRIDGE = "bridge"
    """A user-defined Docker bridge network."""
    HOST = "host"
    """Host networking: no network is created."""


class NetworkInputs(TypedDict, total=False):
    """`appstack.network.NetworkArgs`."""

    mode: NetworkMode
    """`bridge` (default) creates a Docker network; `host` creates nothing."""
    bind_address: str
    """The host address services listen on (host) or are published on (bridge); IPv4."""
    network_name: str
    """The Docker network's name (bridge only). Default `{environment}-{name}`."""
    environment: str
    """The environment label and the prefix of the default name; default: the stack name."""


class Network(network.Network):
    """The environment's Docker network: pass its `networkName` as `network.bridgeNetwork`."""

    def __init__(
        self, name: str, args: NetworkInputs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        inputs: dict[str, Any] = dict(args)
        if isinstance(inputs.get("mode"), NetworkMode):
            inputs["mode"] = inputs["mode"].value
        super().__init__(name, network.NetworkArgs(**inputs), opts)


class DockerTarget(TypedDict, total=False):
    """The Docker engine the migration container runs on (the one the program's docker
    provider talks to); unset means the local engine."""

    host: Required[str]
    """`unix:///...`, `ssh://[user@]host[:port]` or `tcp://host:port`."""
    ssh_opts: Sequence[str]
    """Options for the ssh client of an `ssh://` host."""
    tls_ca_cert: str
    """PEM text of a `tcp://` host's CA."""
    tls_cert: str
    """PEM text of the client certificate."""
    tls_key: str
    """PEM text of the client key (pass a secret)."""


class MigrationInputs(TypedDict, total=False):
    """`appstack.migration.MigrationArgs`."""

    image_id: Required[pulumi.Input[str]]
    """The backend image id to run the migration in; a new id re-runs it."""
    database_url: Required[pulumi.Input[str]]
    """The database URL as the migration container reaches it (a `Database`'s `internalDsn`)."""
    network: Required[NetworkAttachment]
    """How the migration container is attached: the database's network."""
    migration_command: Sequence[str]
    """The migration command run in the image (default `alembic upgrade head`)."""
    revision_command: Sequence[str]
    """The command that prints the revision reached (default `alembic current`)."""
    environment: str
    """The environment label of the migration container; default: the stack name."""
    docker: DockerTarget
    """The engine the migration container runs on; default: the local engine."""


class Migration(migration.Migration):
    """Runs the backend image's migrations once per image, before the backend starts."""

    def __init__(
        self, name: str, args: MigrationInputs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        inputs: dict[str, Any] = dict(args)
        inputs["network"] = _attachment(f"Migration {name!r}", inputs.get("network"))
        for key in ("migration_command", "revision_command"):
            if key in inputs:
                inputs[key] = tuple(inputs[key])
        if isinstance(inputs.get("docker"), Mapping):
            target = dict(inputs["docker"])
            target["ssh_opts"] = tuple(target.get("ssh_opts", ()))
            inputs["docker"] = docker_target.DockerTarget(**target)
        super().__init__(name, migration.MigrationArgs(**inputs), opts)


class BackendImage(TypedDict):
    """The image the backend runs: its plain reference (labels, policies) and its id."""

    reference: str
    """The image reference, known at preview (pinned by digest outside development)."""
    image_id: pulumi.Input[str]
    """The image id (a `docker:RemoteImage`'s `imageId`); a new id replaces the container."""


class BackendInputs(ContainerInputs, total=False):
    """`appstack.backend.BackendArgs`."""

    image: Required[BackendImage]
    """The image to run."""
    environment_variables: Mapping[str, pulumi.Input[str]]
    """The application's environment (DATABASE_URL, ...), wired from the other components."""
    port: pulumi.Input[int]
    """The host port of the HTTP server."""
    cors_origins: Sequence[str]
    """Origins the frontend is served from (`CORS_ORIGINS`), each `scheme://host[:port]`."""
    health_path: str
    """The HTTP health endpoint the container's health check requests."""
    read_only_root_filesystem: bool
    """Run the container read-only (with a tmpfs `/tmp`)."""


class Backend(backend.Backend):
    """The application container, wired from the other components' outputs."""

    def __init__(
        self, name: str, args: BackendInputs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        inputs = _container_inputs(f"Backend {name!r}", args, ("port",))
        image = inputs.get("image")
        if isinstance(image, Mapping):
            inputs["image"] = backend.BackendImage(image["reference"], image["image_id"])
        if "cors_origins" in inputs:
            inputs["cors_origins"] = tuple(inputs["cors_origins"])
        super().__init__(name, backend.BackendArgs(**inputs), opts)


COMPONENTS: list[type[pulumi.ComponentResource]] = [
    Network,
    Database,
    Cache,
    ObjectStore,
    Migration,
    Backend,
]
"""What the provider serves, in dependency order."""


def serve() -> None:
    """Run the component provider (the entry point of `provider/__main__.py`)."""
    from pulumi.provider.experimental import component_provider_host

    component_provider_host(
        components=COMPONENTS, name=PACKAGE, version=importlib.metadata.version(PACKAGE)
    )


# --- from the host's dicts to the components' Args -----------------------------------------------


def _whole(value: Any) -> Any:
    """A number the engine sent as a float (every number is one on the wire) as an int when it
    is whole; anything else as it is, for the Args' validation to judge."""
    if isinstance(value, pulumi.Output):
        return value.apply(_whole)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _container_inputs(
    component: str, args: Mapping[str, Any], integers: Sequence[str]
) -> dict[str, Any]:
    """The keyword arguments of a container component's Args from the host's input dict."""
    inputs = dict(args)
    inputs["network"] = _attachment(component, inputs.get("network"))
    if isinstance(inputs.get("health"), Mapping):
        health = dict(inputs["health"])
        for key in ("retries", "wait_timeout_seconds"):
            if key in health:
                health[key] = _whole(health[key])
        inputs["health"] = common.HealthCheck(**health)
    for key in integers:
        if key in inputs:
            inputs[key] = _whole(inputs[key])
    return inputs


def _attachment(component: str, value: Any) -> Any:
    """`network` as the components take it; anything but a mapping is passed on to be refused."""
    if not isinstance(value, Mapping):
        return value
    bind_address = value.get("bind_address", common.NetworkAttachment.bind_address)
    bridge = value.get("bridge_network")
    connect = value.get("connect_address")
    if bridge is None:
        attachment = common.NetworkAttachment.host(bind_address)
        return replace(attachment, connect_address=connect) if connect else attachment
    if bridge == "":
        raise ArgsError(
            component,
            [
                "network.bridgeNetwork: expected the name of a Docker network (leave it out for "
                "host networking), got ''"
            ],
        )
    attachment = common.NetworkAttachment.bridge(bridge, bind_address)
    return replace(attachment, connect_address=connect) if connect else attachment


def _bucket_spec(value: Any) -> Any:
    """One `buckets` entry as a `BucketSpec`; anything but a mapping is passed on to be refused."""
    if not isinstance(value, Mapping):
        return value
    spec = dict(value)
    for key in object_store.DAY_FIELDS:
        if key in spec:
            spec[key] = _whole(spec[key])
    return object_store.BucketSpec(**spec)
