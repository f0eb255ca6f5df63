"""Settings: every configuration key appstack reads, read once and validated before any resource.

`Pulumi.yaml` declares each key with its type and default (the package ships the same defaults in
`appstack/defaults.yaml`); a stack file (`Pulumi.<stack>.yaml`) holds values only and may set part
of a structured object. `parse_settings` merges the stack's values over the defaults field by
field, checks every field, and raises one `SettingsError` that lists every bad key with what was
expected, so a user fixes them all at once.
`appstack.platform.Platform` maps the typed objects below to each component's Args; components
never see raw config.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from appstack.bucket import bucket_name_problems
from appstack.contract import InvalidImageReference, parse_image_reference
from appstack.defaults import defaults
from appstack.docker_target import (
    LOCAL_HOST,
    DockerTarget,
    host_problem,
    hostname_problem,
    shown_host,
)
from appstack.tunnel import loopback_problem
from appstack.validation import (
    ENVIRONMENT,
    SQL_IDENTIFIER,
    argv_problem,
    bind_address_problem,
    build_context_problem,
    duration_problem,
    health_path_problem,
    origin_problem,
    prefix_problem,
)

NAMESPACE = "appstack"
CONFIG_KEYS = (
    "project",
    "network",
    "database",
    "cache",
    "objectStore",
    "backend",
    "data",
    "health",
    "docker",
    "target",
    "kubernetes",
)
TARGETS = ("docker", "kubernetes")
"""Where a stack runs: one Docker engine, or a Kubernetes cluster (`appstack:kubernetes`)."""
IMAGE_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
NETWORK_MODES = ("bridge", "host")
BUILD_NETWORKS = ("default", "host", "none")
REDIS_EVICTION_POLICIES = (
    "noeviction",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
)
TEMP_ROLE = "temp"
"""The bucket role whose objects must all expire (temporary files)."""
ENVIRONMENT_NAME = ENVIRONMENT
"""A stack name that makes valid Docker object and bucket names as their prefix."""
# Patterns are applied with `fullmatch`: `$` would also accept a trailing newline.
_NAME = SQL_IDENTIFIER
_PROJECT = re.compile(r"[a-z0-9][a-z0-9-]{0,30}[a-z0-9]")
_ROLE = re.compile(r"[a-z0-9][a-z0-9-]{0,20}[a-z0-9]")


class SettingsError(Exception):
    """Raised with every invalid configuration key at once; the message is meant for a user."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(
            f"invalid appstack configuration ({len(self.problems)} problem(s)):\n{lines}"
        )


@dataclass(frozen=True)
class NetworkSettings:
    """How containers reach each other and where their ports are published."""

    mode: Literal["bridge", "host"]
    bind_address: str


@dataclass(frozen=True)
class DatabaseSettings:
    """PostgreSQL with pgvector."""

    image: str
    port: int
    name: str
    user: str
    connect_timeout_seconds: int


@dataclass(frozen=True)
class CacheSettings:
    """Redis with a memory limit and an eviction policy."""

    image: str
    port: int
    max_memory_mb: int
    max_memory_policy: str
    persistence: bool


@dataclass(frozen=True)
class BucketSettings:
    """One bucket `{env}-{project}-{role}` and its lifecycle."""

    role: str
    versioning: bool
    expiration_days: int | None = None
    abort_incomplete_multipart_days: int | None = None
    noncurrent_version_expiration_days: int | None = None
    prefix: str = ""


@dataclass(frozen=True)
class ObjectStoreSettings:
    """The MinIO server and the buckets it holds."""

    image: str
    port: int
    console_port: int
    buckets: tuple[BucketSettings, ...]
    force_destroy: bool
    health_command: tuple[str, ...]


@dataclass(frozen=True)
class BackendSettings:
    """The application container; `image` None means build `build_context` (Platform: dev only)."""

    image: str | None
    build_context: str
    base_image: str | None
    build_network: str
    port: int
    cors_origins: tuple[str, ...]
    migration_command: tuple[str, ...]
    revision_command: tuple[str, ...]
    health_path: str
    read_only_root_filesystem: bool


@dataclass(frozen=True)
class DataSettings:
    """Whether stateful resources are protected and kept when removed from the stack."""

    protect: bool
    retain_on_delete: bool


@dataclass(frozen=True)
class HealthSettings:
    """Health check timings shared by every container, and how long a deployment waits."""

    interval: str
    timeout: str
    start_period: str
    retries: int
    wait_timeout_seconds: int


@dataclass(frozen=True)
class DockerSettings:
    """The Docker engine the stack deploys to, and the address its services are reached on."""

    target: DockerTarget
    connect_address: str
    """Where this machine reaches the services (the pgvector check, buckets, outputs, verify)."""
    tunnel: bool = False
    """Reach them through SSH port forwards on `connect_address` (see `appstack.tunnel`)."""


@dataclass(frozen=True)
class KubernetesSettings:
    """The cluster a `kubernetes` target deploys to, and how its pods run."""

    kubeconfig: str
    """A kubeconfig document (read from a secret key), or empty for the machine's own."""
    context: str
    """The kubeconfig context; empty means the kubeconfig's current context."""
    namespace: str
    """The namespace every object lives in (default: the environment's name)."""
    storage_class: str
    """The storage class of the data claims; empty means the cluster's default."""
    storage_size: str
    """The size requested by each data claim, a Kubernetes quantity such as `1Gi`."""
    replicas: int
    """Backend pods."""
    requests: Mapping[str, str]
    """Resource requests of every container (`cpu`, `memory`)."""
    limits: Mapping[str, str]
    """Resource limits of every container (`cpu`, `memory`)."""
    host_network: bool
    """Pods on the node's network, on `network.bindAddress` and the configured ports; False:
    pods on the cluster's network, reached from this machine through `kubectl port-forward`."""
    image_pull_policy: str
    connect_address: str = "127.0.0.1"
    """Where this machine's port-forwards listen (a loopback address), without `host_network`."""


@dataclass(frozen=True)
class Settings:
    """The whole validated configuration of one stack."""

    environment: str
    project: str
    network: NetworkSettings
    database: DatabaseSettings
    cache: CacheSettings
    object_store: ObjectStoreSettings
    backend: BackendSettings
    data: DataSettings
    health: HealthSettings
    host_ports: Mapping[str, int] = field(default_factory=dict)
    docker: DockerSettings = field(default_factory=lambda: DockerSettings(DockerTarget(), ""))
    target: Literal["docker", "kubernetes"] = "docker"
    kubernetes: KubernetesSettings | None = None
    """The cluster settings; set exactly when `target` is "kubernetes"."""

    def prefixed(self, role: str) -> str:
        """The name of a Docker object or bucket of this environment, e.g. `prod-database`."""
        return f"{self.environment}-{role}"

    def bucket_name(self, role: str) -> str:
        """The bucket name for a role: `{env}-{project}-{role}`."""
        return f"{self.environment}-{self.project}-{role}"


def declared_defaults() -> dict[str, Any]:
    """The default of every key (the package's `defaults.yaml`), keyed without the namespace."""
    return defaults()


def _merge(default: Any, value: Any) -> Any:
    """A stack value over its default: objects field by field, everything else replaced."""
    if isinstance(default, dict) and isinstance(value, dict):
        merged = dict(default)
        merged.update(value)
        return merged
    return default if value is None else value


class _Reader:
    """Collects problems while reading typed fields out of one raw structured object."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems

    def bad(self, key: str, expected: str, got: Any) -> None:
        self.problems.append(f"{NAMESPACE}:{key}: expected {expected}, got {got!r}")

    def hidden(self, key: str, expected: str) -> None:
        """A problem with a value that must not be printed (TLS material)."""
        self.problems.append(f"{NAMESPACE}:{key}: expected {expected} (value not shown)")

    def section(self, raw: Mapping[str, Any], key: str) -> dict[str, Any]:
        value = raw.get(key)
        if not isinstance(value, dict):
            self.bad(key, "an object", value)
            return {}
        known = set(declared_defaults().get(key) or {})
        for unknown in sorted(set(value) - known):
            self.bad(f"{key}.{unknown}", f"one of the keys {sorted(known)}", unknown)
        return value

    def string(self, obj: Mapping[str, Any], key: str, path: str, pattern: re.Pattern[str]) -> str:
        value = obj.get(key)
        if not isinstance(value, str) or not pattern.fullmatch(value):
            self.bad(path, f"a string matching ^{pattern.pattern}$", value)
            return ""
        return value

    def boolean(self, obj: Mapping[str, Any], key: str, path: str) -> bool:
        value = obj.get(key)
        if isinstance(value, str) and value in ("true", "false"):
            return value == "true"
        if not isinstance(value, bool):
            self.bad(path, "true or false", value)
            return False
        return value

    def integer(self, obj: Mapping[str, Any], key: str, path: str, low: int, high: int) -> int:
        value = obj.get(key)
        if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.bad(path, f"an integer from {low} to {high}", value)
            return low
        return value

    def optional_days(self, obj: Mapping[str, Any], key: str, path: str) -> int | None:
        if obj.get(key) is None:
            return None
        return self.integer(obj, key, path, 1, 36500)

    def image(self, obj: Mapping[str, Any], key: str, path: str, *, allow_empty: bool) -> str:
        value = obj.get(key)
        if allow_empty and value in ("", None):
            return ""
        if not isinstance(value, str) or not value.strip():
            self.bad(path, "an image reference such as pgvector/pgvector:pg17", value)
            return ""
        try:
            parse_image_reference(value)
        except InvalidImageReference as error:
            self.bad(path, f"a well-formed image reference ({error})", value)
            return ""
        return value

    def argv(self, obj: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
        value = obj.get(key)
        if not isinstance(value, list) or argv_problem(value):
            self.bad(path, "a non-empty list of non-empty command arguments without NUL", value)
            return ()
        return tuple(value)

    def duration(self, obj: Mapping[str, Any], key: str, path: str, *, zero_means: str) -> str:
        """A health-check duration Docker keeps as written (see `duration_problem`)."""
        value = obj.get(key)
        problem = duration_problem(value, zero_means)
        if problem:
            self.bad(path, problem, value)
            return "1s"
        return str(value)


def parse_settings(
    stack: str, raw_values: Mapping[str, Any], secret_keys: frozenset[str] = frozenset()
) -> Settings:
    """Merge a stack's raw config values (keys without namespace) over the defaults and validate.

    `secret_keys` names the keys (without namespace) the stack holds as Pulumi secrets (a
    Kubernetes kubeconfig, a Docker TLS key must be).
    Raises SettingsError listing every problem found.
    """
    problems: list[str] = []
    read = _Reader(problems)
    if not ENVIRONMENT_NAME.fullmatch(stack):
        problems.append(
            f"stack {stack!r}: expected 1-20 lower-case letters, digits and inner dashes "
            "(the stack name is the environment and the prefix of every Docker object and bucket)"
        )
    for unknown in sorted(set(raw_values) - set(CONFIG_KEYS)):
        read.bad(unknown, f"one of the keys {', '.join(CONFIG_KEYS)}", unknown)
    defaults = declared_defaults()
    raw = {key: _merge(defaults.get(key), raw_values.get(key)) for key in CONFIG_KEYS}

    project = raw["project"]
    if not isinstance(project, str) or not _PROJECT.fullmatch(project):
        read.bad("project", "lower-case letters, digits and dashes (2-32 characters)", project)

    net = read.section(raw, "network")
    mode = net.get("mode")
    if mode not in NETWORK_MODES:
        read.bad("network.mode", " or ".join(f'"{m}"' for m in NETWORK_MODES), mode)
    bind_address = net.get("bindAddress")
    bind_problem = bind_address_problem(bind_address)
    if bind_problem:
        read.bad("network.bindAddress", bind_problem, bind_address)

    db = read.section(raw, "database")
    database = DatabaseSettings(
        image=read.image(db, "image", "database.image", allow_empty=False),
        port=read.integer(db, "port", "database.port", 1, 65535),
        name=read.string(db, "name", "database.name", _NAME),
        user=read.string(db, "user", "database.user", _NAME),
        connect_timeout_seconds=read.integer(
            db, "connectTimeoutSeconds", "database.connectTimeoutSeconds", 1, 3600
        ),
    )

    ca = read.section(raw, "cache")
    policy = ca.get("maxMemoryPolicy")
    if policy not in REDIS_EVICTION_POLICIES:
        read.bad("cache.maxMemoryPolicy", f"one of {', '.join(REDIS_EVICTION_POLICIES)}", policy)
    cache_settings = CacheSettings(
        image=read.image(ca, "image", "cache.image", allow_empty=False),
        port=read.integer(ca, "port", "cache.port", 1, 65535),
        max_memory_mb=read.integer(ca, "maxMemoryMb", "cache.maxMemoryMb", 1, 1024 * 1024),
        max_memory_policy=str(policy),
        persistence=read.boolean(ca, "persistence", "cache.persistence"),
    )

    os_raw = read.section(raw, "objectStore")
    object_store = ObjectStoreSettings(
        image=read.image(os_raw, "image", "objectStore.image", allow_empty=False),
        port=read.integer(os_raw, "port", "objectStore.port", 1, 65535),
        console_port=read.integer(os_raw, "consolePort", "objectStore.consolePort", 1, 65535),
        buckets=_read_buckets(read, os_raw.get("buckets"), stack, project),
        force_destroy=read.boolean(os_raw, "forceDestroy", "objectStore.forceDestroy"),
        health_command=(
            read.argv(os_raw, "healthCommand", "objectStore.healthCommand")
            if os_raw.get("healthCommand") not in (None, [])
            else ()
        ),
    )

    be = read.section(raw, "backend")
    backend_image = read.image(be, "image", "backend.image", allow_empty=True)
    base_image = read.image(be, "baseImage", "backend.baseImage", allow_empty=True)
    origins = be.get("corsOrigins")
    cors: list[str] = []
    if not isinstance(origins, list):
        read.bad(
            "backend.corsOrigins", "a list of origins such as https://app.example.com", origins
        )
    else:
        for index, origin in enumerate(origins):
            reason = origin_problem(origin)
            if reason:
                read.bad(f"backend.corsOrigins[{index}]", f"an origin ({reason})", origin)
            else:
                cors.append(origin.rstrip("/"))
    health_path = be.get("healthPath")
    path_problem = health_path_problem(health_path)
    if path_problem:
        read.bad("backend.healthPath", path_problem, health_path)
    build_network = be.get("buildNetwork")
    if build_network not in BUILD_NETWORKS:
        read.bad(
            "backend.buildNetwork", " or ".join(f'"{n}"' for n in BUILD_NETWORKS), build_network
        )
    build_context = be.get("buildContext")
    context_problem = build_context_problem(build_context, built=not backend_image)
    if context_problem:
        read.bad("backend.buildContext", context_problem, build_context)
    backend = BackendSettings(
        image=backend_image or None,
        build_context=str(build_context),
        base_image=base_image or None,
        build_network=str(build_network),
        port=read.integer(be, "port", "backend.port", 1, 65535),
        cors_origins=tuple(cors),
        migration_command=read.argv(be, "migrationCommand", "backend.migrationCommand"),
        revision_command=read.argv(be, "revisionCommand", "backend.revisionCommand"),
        health_path=str(health_path),
        read_only_root_filesystem=read.boolean(
            be, "readOnlyRootFilesystem", "backend.readOnlyRootFilesystem"
        ),
    )

    da = read.section(raw, "data")
    data = DataSettings(
        protect=read.boolean(da, "protect", "data.protect"),
        retain_on_delete=read.boolean(da, "retainOnDelete", "data.retainOnDelete"),
    )
    if stack == "prod" and not (data.protect and data.retain_on_delete):
        read.bad("data", "protect: true and retainOnDelete: true in prod", da)

    he = read.section(raw, "health")
    health = HealthSettings(
        interval=read.duration(he, "interval", "health.interval", zero_means=""),
        timeout=read.duration(he, "timeout", "health.timeout", zero_means=""),
        start_period=read.duration(
            he, "startPeriod", "health.startPeriod", zero_means="no start period"
        ),
        retries=read.integer(he, "retries", "health.retries", 1, 1000),
        wait_timeout_seconds=read.integer(
            he, "waitTimeoutSeconds", "health.waitTimeoutSeconds", 10, 3600
        ),
    )

    docker_settings = _read_docker(read, raw, str(bind_address), "docker" in secret_keys)

    host_ports = {
        "database.port": database.port,
        "cache.port": cache_settings.port,
        "objectStore.port": object_store.port,
        "objectStore.consolePort": object_store.console_port,
        "backend.port": backend.port,
    }
    seen: dict[int, str] = {}
    for key, port in host_ports.items():
        if port in seen:
            read.bad(key, f"a port not already used by {NAMESPACE}:{seen[port]}", port)
        else:
            seen[port] = key

    target = raw["target"]
    if target not in TARGETS:
        read.bad("target", " or ".join(f'"{t}"' for t in TARGETS), target)
    kubernetes = _read_kubernetes(read, raw, "kubernetes" in secret_keys, stack)
    # The CLI hands every declared key over with its default: only a changed section is refused.
    if target == "kubernetes" and raw["docker"] != defaults["docker"]:
        read.bad("docker", "its defaults on a kubernetes target (no Docker engine is used)", "")
    if target == "kubernetes" and not backend_image:
        read.bad("backend.image", "an image reference (a cluster does not build app/)", "")
    if target == "kubernetes" and kubernetes.host_network and kubernetes.replicas != 1:
        read.bad(
            "kubernetes.replicas",
            "1 with hostNetwork (every backend pod listens on the same node port)",
            kubernetes.replicas,
        )

    if problems:
        raise SettingsError(problems)
    return Settings(
        environment=stack,
        project=str(project),
        network=NetworkSettings(
            mode="host" if mode == "host" else "bridge", bind_address=str(bind_address)
        ),
        database=database,
        cache=cache_settings,
        object_store=object_store,
        backend=backend,
        data=data,
        health=health,
        host_ports=host_ports,
        docker=docker_settings,
        target="kubernetes" if target == "kubernetes" else "docker",
        kubernetes=kubernetes if target == "kubernetes" else None,
    )


def _read_docker(
    read: _Reader, raw: Mapping[str, Any], bind_address: str, is_secret: bool
) -> DockerSettings:
    """The `docker` section: a host appstack can reach, ssh options only for ssh, TLS material
    (the key a Pulumi secret) exactly for tcp, and a connect address for any remote host.

    TLS material is never quoted back in a message, nor a password in a host URL.
    """
    section = read.section(raw, "docker")
    host = section.get("host")
    problem = host_problem(host)
    if problem:
        read.bad("docker.host", problem, shown_host(host))
        host = LOCAL_HOST
    target_host = str(host)
    scheme = target_host.partition("://")[0]
    ssh_opts = section.get("sshOpts")
    if ssh_opts in (None, []):
        ssh_opts = []
    elif argv_problem(ssh_opts):
        read.bad("docker.sshOpts", "a list of non-empty ssh options without NUL", ssh_opts)
        ssh_opts = []
    elif scheme != "ssh":
        read.bad("docker.sshOpts", "empty: ssh options apply to an ssh:// host only", ssh_opts)
    tls: dict[str, str] = {}
    for key in ("tlsCaCert", "tlsCert", "tlsKey"):
        value = section.get(key)
        path = f"docker.{key}"
        if value in (None, ""):
            tls[key] = ""
            if scheme == "tcp":
                read.hidden(path, f"PEM text: a tcp:// host is reached over TLS only ({key})")
        elif not isinstance(value, str) or "-----BEGIN " not in value:
            read.hidden(path, "PEM text (-----BEGIN ...)")
            tls[key] = ""
        elif scheme != "tcp":
            read.hidden(path, "empty: TLS material applies to a tcp:// host only")
            tls[key] = ""
        else:
            tls[key] = value
    if tls["tlsKey"] and not is_secret:
        read.hidden(
            "docker.tlsKey",
            "a Pulumi secret (pulumi config set --secret --path appstack:docker.tlsKey < key.pem)",
        )
    tunnel = read.boolean({"tunnel": section.get("tunnel", False)}, "tunnel", "docker.tunnel")
    connect = section.get("connectAddress")
    if tunnel:
        if scheme != "ssh":
            read.bad("docker.tunnel", "false: a tunnel needs an ssh:// host", tunnel)
        connect = connect or "127.0.0.1"
        reason = loopback_problem(connect)
        if reason:
            read.bad("docker.connectAddress", f"{reason} with docker.tunnel", connect)
    elif connect in (None, ""):
        if scheme != "unix":
            read.bad(
                "docker.connectAddress",
                f"the address this machine reaches the services of {shown_host(host)} on "
                "(a host name or IPv4 address; required for a remote Docker host)",
                connect,
            )
        connect = bind_address
    elif hostname_problem(connect):
        read.bad("docker.connectAddress", str(hostname_problem(connect)), connect)
    return DockerSettings(
        target=DockerTarget(
            host=target_host,
            ssh_opts=tuple(ssh_opts),
            tls_ca_cert=tls["tlsCaCert"],
            tls_cert=tls["tlsCert"],
            tls_key=tls["tlsKey"],
        ),
        connect_address=str(connect),
        tunnel=tunnel,
    )


def _read_buckets(read: _Reader, raw: Any, stack: str, project: Any) -> tuple[BucketSettings, ...]:
    """Each declared bucket, checked: unique role, a name the Bucket provider accepts, days > 0,
    old-version expiry if versioned, and a temp bucket that expires as a whole."""
    if not isinstance(raw, list) or not raw:
        read.bad("objectStore.buckets", "a non-empty list of buckets", raw)
        return ()
    allowed = {
        "role",
        "versioning",
        "expirationDays",
        "abortIncompleteMultipartDays",
        "noncurrentVersionExpirationDays",
        "prefix",
    }
    buckets: list[BucketSettings] = []
    roles: set[str] = set()
    for index, item in enumerate(raw):
        path = f"objectStore.buckets[{index}]"
        if not isinstance(item, dict):
            read.bad(path, "an object with a role", item)
            continue
        for unknown in sorted(set(item) - allowed):
            read.bad(f"{path}.{unknown}", f"one of the keys {sorted(allowed)}", unknown)
        role = read.string(item, "role", f"{path}.role", _ROLE)
        if role in roles:
            read.bad(f"{path}.role", "a role used by no other bucket", role)
        roles.add(role)
        versioning = read.boolean(
            {"versioning": item.get("versioning", False)}, "versioning", f"{path}.versioning"
        )
        noncurrent = read.optional_days(
            item, "noncurrentVersionExpirationDays", f"{path}.noncurrentVersionExpirationDays"
        )
        if noncurrent is not None and not versioning:
            read.bad(
                f"{path}.noncurrentVersionExpirationDays",
                "versioning: true (old versions exist only in a versioned bucket)",
                noncurrent,
            )
        if role and ENVIRONMENT_NAME.fullmatch(stack) and isinstance(project, str):
            # The full name, by the very rules the Bucket provider's `check` applies.
            name = f"{stack}-{project}-{role}"
            for problem in bucket_name_problems(name):
                read.bad(f"{path}.role", f"a role that makes a valid bucket name ({problem})", name)
        prefix = item.get("prefix", "")
        reason = prefix_problem(prefix)
        if reason:
            read.bad(f"{path}.prefix", reason, prefix)
            prefix = ""
        expiration = read.optional_days(item, "expirationDays", f"{path}.expirationDays")
        if role == TEMP_ROLE:
            if item.get("expirationDays") is None:
                read.bad(
                    f"{path}.expirationDays",
                    "days after which temporary objects expire (the temp bucket must expire)",
                    None,
                )
            if prefix:
                read.bad(
                    f"{path}.prefix",
                    "empty: the temp bucket expires as a whole, not only under a prefix",
                    prefix,
                )
        buckets.append(
            BucketSettings(
                role=role,
                versioning=versioning,
                expiration_days=expiration,
                abort_incomplete_multipart_days=read.optional_days(
                    item, "abortIncompleteMultipartDays", f"{path}.abortIncompleteMultipartDays"
                ),
                noncurrent_version_expiration_days=noncurrent,
                prefix=prefix,
            )
        )
    return tuple(buckets)


_QUANTITY = re.compile(r"[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?")
_DNS_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_CONTEXT = re.compile(r"[A-Za-z0-9@._:/-]{1,253}")


def _read_kubernetes(
    read: _Reader, raw: Mapping[str, Any], kubeconfig_is_secret: bool, stack: str
) -> KubernetesSettings:
    """`appstack:kubernetes`, checked whatever the target (a typo is found before the switch)."""
    k8s = read.section(raw, "kubernetes")
    kubeconfig = k8s.get("kubeconfig", "")
    if not isinstance(kubeconfig, str):
        read.bad("kubernetes.kubeconfig", "a kubeconfig document (text)", type(kubeconfig).__name__)
        kubeconfig = ""
    elif kubeconfig and not kubeconfig_is_secret:
        # Never echo the value: it holds the cluster's credentials.
        read.bad(
            "kubernetes.kubeconfig",
            "a secret (pulumi config set --secret --path appstack:kubernetes.kubeconfig)",
            "a plain-text kubeconfig",
        )
    context = k8s.get("context", "")
    if context != "" and not (isinstance(context, str) and _CONTEXT.fullmatch(context)):
        read.bad("kubernetes.context", "a kubeconfig context name, or empty", context)
    if context and kubeconfig:
        read.bad("kubernetes.context", "empty when kubernetes.kubeconfig is given", context)
    namespace = k8s.get("namespace", "") or stack
    if not (isinstance(namespace, str) and _DNS_LABEL.fullmatch(namespace)):
        read.bad("kubernetes.namespace", "a namespace name (a DNS label), or empty", namespace)
    storage_class = k8s.get("storageClass", "")
    if storage_class != "" and not (
        isinstance(storage_class, str) and _DNS_LABEL.fullmatch(storage_class)
    ):
        read.bad("kubernetes.storageClass", "a storage class name, or empty", storage_class)
    storage_size = k8s.get("storageSize")
    if not (isinstance(storage_size, str) and _QUANTITY.fullmatch(storage_size)):
        read.bad("kubernetes.storageSize", "a Kubernetes quantity such as 1Gi", storage_size)
    resources = k8s.get("resources")
    requests: dict[str, str] = {}
    limits: dict[str, str] = {}
    if not isinstance(resources, dict) or set(resources) - {"requests", "limits"}:
        read.bad("kubernetes.resources", "an object with requests and limits", resources)
    else:
        for kind, target in (("requests", requests), ("limits", limits)):
            values = resources.get(kind) or {}
            if not isinstance(values, dict):
                read.bad(f"kubernetes.resources.{kind}", "an object of cpu/memory", values)
                continue
            for resource, quantity in values.items():
                path = f"kubernetes.resources.{kind}.{resource}"
                if resource not in ("cpu", "memory"):
                    read.bad(path, "cpu or memory", resource)
                elif not (isinstance(quantity, str) and _QUANTITY.fullmatch(quantity)):
                    read.bad(path, "a Kubernetes quantity such as 100m or 512Mi", quantity)
                else:
                    target[resource] = quantity
    connect = k8s.get("connectAddress", "") or "127.0.0.1"
    if loopback_problem(connect):
        read.bad(
            "kubernetes.connectAddress",
            "a loopback address such as 127.0.0.1 (the port-forwards listen on this machine only)",
            connect,
        )
    pull = k8s.get("imagePullPolicy")
    if pull not in IMAGE_PULL_POLICIES:
        read.bad("kubernetes.imagePullPolicy", f"one of {', '.join(IMAGE_PULL_POLICIES)}", pull)
    return KubernetesSettings(
        kubeconfig=kubeconfig,
        context=str(context or ""),
        namespace=str(namespace),
        storage_class=str(storage_class or ""),
        storage_size=str(storage_size),
        replicas=read.integer(k8s, "replicas", "kubernetes.replicas", 1, 100),
        requests=requests,
        limits=limits,
        host_network=read.boolean(k8s, "hostNetwork", "kubernetes.hostNetwork"),
        image_pull_policy=str(pull),
        connect_address=str(connect),
    )


def read_settings() -> Settings:
    """Read every `appstack:` key of the current stack once and validate it.

    Keys appstack does not know (typos such as `databse`) are passed on as they are, so that
    `parse_settings` reports them beside every other problem.
    """
    import pulumi
    from pulumi.runtime.config import CONFIG, is_config_secret

    config = pulumi.Config(NAMESPACE)
    prefix = f"{NAMESPACE}:"
    present = {key[len(prefix) :] for key in CONFIG.get() if key.startswith(prefix)}
    raw: dict[str, Any] = {}
    problems: list[str] = []
    for key in sorted(present):
        try:
            structured = key in CONFIG_KEYS and key not in ("project", "target")
            raw[key] = config.get_object(key) if structured else config.get(key)
        except Exception as error:  # a value that is not valid JSON/YAML for an object
            problems.append(f"{NAMESPACE}:{key}: expected a structured value ({error})")
    if problems:
        raise SettingsError(problems)
    secret = frozenset(key for key in present if is_config_secret(f"{prefix}{key}"))
    return parse_settings(pulumi.get_stack(), raw, secret)
