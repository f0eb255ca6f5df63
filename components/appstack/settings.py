"""Settings: every configuration key appstack reads, read once and validated before any resource.

`Pulumi.yaml` declares each key with its type and default; a stack file (`Pulumi.<stack>.yaml`)
holds values only and may set part of a structured object. `parse_settings` merges the stack's
values over the declared defaults field by field, checks every field, and raises one
`SettingsError` that lists every bad key with what was expected, so a user fixes them all at once.
Components receive the typed objects below, never raw config.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml

from components.bucket import bucket_name_problems
from policies.images import InvalidImageReference, parse_image_reference

PROJECT_ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = "appstack"
ENVIRONMENTS = ("dev", "stage", "prod", "ci")
CONFIG_KEYS = (
    "project",
    "network",
    "database",
    "cache",
    "objectStore",
    "backend",
    "data",
    "health",
)
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
# Patterns are applied with `fullmatch`: `$` would also accept a trailing newline.
_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
_PROJECT = re.compile(r"[a-z0-9][a-z0-9-]{0,30}[a-z0-9]")
_ROLE = re.compile(r"[a-z0-9][a-z0-9-]{0,20}[a-z0-9]")
# An IPv4 octet as Go's net.ParseIP (which Docker uses) reads it: 0-255, no leading zero.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
# A URL path (RFC 3986 `path-absolute`): "/" then segments of unreserved characters,
# percent-escapes, sub-delimiters, ":" and "@". No query, fragment, space or control character.
_URL_PATH = re.compile(r"/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*")
MAX_HEALTH_PATH = 1024
_DNS_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_ORIGIN = re.compile(
    rf"https?://(?:{_DNS_LABEL}(?:\.{_DNS_LABEL})*|\[[0-9a-f:.]+\])(?::[0-9]{{1,5}})?"
)
MAX_PREFIX_BYTES = 1024
"""S3 object keys, and so lifecycle prefixes, are at most 1024 bytes of UTF-8."""

# Go's time.Duration, as Docker stores health-check timings and pulumi-docker prints them back.
_NANOSECONDS_PER_UNIT = {
    b"ns": 1,
    b"us": 1_000,
    "µs".encode(): 1_000,  # U+00B5 micro sign
    "μs".encode(): 1_000,  # U+03BC Greek mu
    b"ms": 1_000_000,
    b"s": 1_000_000_000,
    b"m": 60 * 1_000_000_000,
    b"h": 3600 * 1_000_000_000,
}
_TWO_TO_THE_63 = 1 << 63
DOCKER_MINIMUM_HEALTH_DURATION = 1_000_000
"""Docker refuses a health-check interval, timeout or start period below 1ms (other than 0)."""


class GoDurationError(ValueError):
    """A string Go's `time.ParseDuration` refuses; the message is Go's."""


def _go_quote(value: bytes) -> str:
    """Go's time.quote: bytes outside printable ASCII as \\xHH, quote and backslash escaped."""
    quoted = "".join(
        f"\\x{byte:02x}"
        if byte >= 0x80 or byte < 0x20
        else ("\\" + chr(byte) if byte in b'"\\' else chr(byte))
        for byte in value
    )
    return f'"{quoted}"'


def parse_go_duration(text: str) -> int:
    """Nanoseconds of `text` exactly as Go's `time.ParseDuration` reads it, or GoDurationError.

    A line-by-line port of Go 1.26's parser (time/format.go), over UTF-8 bytes as Go reads
    strings: signed sequences of decimal numbers with units ns, us/µs/μs, ms, s, m, h.
    """
    original = text.encode("utf-8", "surrogatepass")
    rest = original

    def invalid(message: str = "invalid duration") -> GoDurationError:
        return GoDurationError(f"time: {message} {_go_quote(original)}")

    negative = False
    if rest[:1] in (b"-", b"+"):
        negative = rest[:1] == b"-"
        rest = rest[1:]
    if rest == b"0":
        return 0
    if not rest:
        raise invalid()
    total = 0
    while rest:
        if not (rest[:1] == b"." or rest[:1].isdigit()):
            raise invalid()
        # Consume [0-9]* (overflow is an error).
        index = 0
        whole = 0
        while index < len(rest) and 0x30 <= rest[index] <= 0x39:
            if whole > _TWO_TO_THE_63 // 10:
                raise invalid()
            whole = whole * 10 + rest[index] - 0x30
            if whole > _TWO_TO_THE_63:
                raise invalid()
            index += 1
        before_point = index > 0
        rest = rest[index:]
        # Consume (\.[0-9]*)? (precision stops accumulating on overflow, no error).
        fraction, scale, after_point = 0, 1.0, False
        if rest[:1] == b".":
            rest = rest[1:]
            index = 0
            overflow = False
            while index < len(rest) and 0x30 <= rest[index] <= 0x39:
                if not overflow:
                    if fraction > (_TWO_TO_THE_63 - 1) // 10:
                        overflow = True
                    else:
                        widened = fraction * 10 + rest[index] - 0x30
                        if widened > _TWO_TO_THE_63:
                            overflow = True
                        else:
                            fraction = widened
                            scale *= 10
                index += 1
            after_point = index > 0
            rest = rest[index:]
        if not before_point and not after_point:
            raise invalid()
        # Consume the unit: everything up to the next "." or digit.
        index = 0
        while index < len(rest) and not (rest[index] == 0x2E or 0x30 <= rest[index] <= 0x39):
            index += 1
        if index == 0:
            raise invalid("missing unit in duration")
        unit_text, rest = rest[:index], rest[index:]
        unit = _NANOSECONDS_PER_UNIT.get(unit_text)
        if unit is None:
            raise invalid(f"unknown unit {_go_quote(unit_text)} in duration")
        if whole > _TWO_TO_THE_63 // unit:
            raise invalid()
        whole *= unit
        if fraction > 0:
            # Go computes the fraction in float64 and truncates it, as Python's float does.
            whole += int(float(fraction) * (float(unit) / scale))
            if whole > _TWO_TO_THE_63:
                raise invalid()
        total += whole
        if total > _TWO_TO_THE_63:
            raise invalid()
    if negative:
        return -total
    if total > _TWO_TO_THE_63 - 1:
        raise invalid()
    return total


def _fraction_digits(value: int, precision: int) -> tuple[str, int]:
    """Go's fmtFrac: the fraction of value/10**precision without trailing zeros, and the rest."""
    digits = ""
    printing = False
    for _ in range(precision):
        digit = value % 10
        printing = printing or digit != 0
        if printing:
            digits = str(digit) + digits
        value //= 10
    return ("." + digits if printing else ""), value


def format_go_duration(nanoseconds: int) -> str:
    """The text Go's `time.Duration.String()` prints, e.g. 60s -> "1m0s", 0.5ms -> "500µs"."""
    magnitude = abs(nanoseconds)
    sign = "-" if nanoseconds < 0 else ""
    if magnitude < 1_000_000_000:
        if magnitude == 0:
            return "0s"
        if magnitude < 1_000:
            precision, unit = 0, "ns"
        elif magnitude < 1_000_000:
            precision, unit = 3, "µs"
        else:
            precision, unit = 6, "ms"
        fraction, whole = _fraction_digits(magnitude, precision)
        return f"{sign}{whole}{fraction}{unit}"
    fraction, seconds = _fraction_digits(magnitude, 9)
    text = f"{seconds % 60}{fraction}s"
    minutes = seconds // 60
    if minutes > 0:
        text = f"{minutes % 60}m{text}"
        hours = minutes // 60
        if hours > 0:
            text = f"{hours}h{text}"
    return sign + text


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
    """The application container; `image` None means build `build_context` locally (dev only)."""

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

    def prefixed(self, role: str) -> str:
        """The name of a Docker object or bucket of this environment, e.g. `prod-database`."""
        return f"{self.environment}-{role}"

    def bucket_name(self, role: str) -> str:
        """The bucket name for a role: `{env}-{project}-{role}`."""
        return f"{self.environment}-{self.project}-{role}"


@cache
def declared_defaults() -> dict[str, Any]:
    """The defaults declared in Pulumi.yaml's `config:` block, keyed without the namespace."""
    project = yaml.safe_load((PROJECT_ROOT / "Pulumi.yaml").read_text())
    return {key: spec.get("default") for key, spec in project.get("config", {}).items()}


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
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(part, str) and part and "\x00" not in part for part in value)
        ):
            self.bad(path, "a non-empty list of non-empty command arguments", value)
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


def duration_problem(value: Any, zero_means: str = "") -> str | None:
    """What is wrong with a health-check duration, or None when Docker keeps it as written.

    Docker stores nanoseconds and pulumi-docker prints them back with Go's Duration.String(),
    so only that canonical form round-trips ("1m0s", not "1m"); anything else would show a
    diff on every preview. Docker refuses durations below 1ms other than 0, and 0 means its
    default: allowed only where `zero_means` says what that default is.
    """
    example = 'a duration such as "2s", "500ms" or "1m0s"'
    if not isinstance(value, str):
        return example
    try:
        nanoseconds = parse_go_duration(value)
    except GoDurationError as error:
        return f"{example} ({error})"
    if nanoseconds < 0:
        return f"{example}, not negative"
    if nanoseconds == 0 and not zero_means:
        return f"{example}; 0 would make Docker use its default of 30s"
    if 0 < nanoseconds < DOCKER_MINIMUM_HEALTH_DURATION:
        return f"{example}; Docker refuses durations below 1ms"
    canonical = format_go_duration(nanoseconds)
    if canonical != value:
        return (
            f'the canonical form "{canonical}" (Docker stores nanoseconds and prints them back '
            f'as "{canonical}", so "{value}" would show a diff on every preview)'
        )
    return None


def bind_address_problem(value: Any) -> str | None:
    """Why `value` cannot be the address services listen on, or None.

    Syntax as Docker's parser (Go's net.ParseIP) reads an IPv4 address: four decimal octets
    0-255 without leading zeros. IPv6 is not supported. The address must name one interface:
    not 0.0.0.0 (every interface), a multicast or the broadcast address.
    """
    if not isinstance(value, str) or not _IPV4.fullmatch(value):
        return "an IPv4 address such as 127.0.0.1 (four octets 0-255, no leading zeros)"
    address = ipaddress.IPv4Address(value)
    if address.is_unspecified:
        return "one interface's address, not 0.0.0.0 (that publishes on every interface)"
    if address.is_multicast or address == ipaddress.IPv4Address("255.255.255.255"):
        return "a unicast address a service can listen on"
    return None


def health_path_problem(value: Any) -> str | None:
    """Why `value` is not a URL path the health probe can request, or None."""
    if not isinstance(value, str) or not _URL_PATH.fullmatch(value):
        return (
            "a URL path such as /health: / then letters, digits, -._~!$&'()*+,;=:@/ or "
            "%-escapes (no space, query or fragment)"
        )
    if len(value) > MAX_HEALTH_PATH:
        return f"a URL path of at most {MAX_HEALTH_PATH} characters"
    return None


def build_context_problem(value: Any, *, built: bool, root: Path = PROJECT_ROOT) -> str | None:
    """Why `value` is not a directory inside the project to build the backend from, or None.

    Relative to the project, with no way out of it (no absolute path, no `..`, no symlink that
    leads outside), and an existing directory; with a Dockerfile when it is `built`.
    """
    expected = "a directory relative to the project, inside it, such as app"
    if not isinstance(value, str) or not value.strip():
        return expected
    relative = Path(value)
    if relative.is_absolute() or value.startswith("~"):
        return f"{expected} (not an absolute path)"
    if ".." in relative.parts:
        return f"{expected} (no ..)"
    project = root.resolve()
    try:
        resolved = (project / relative).resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return f"{expected} (it cannot be resolved)"
    if resolved != project and project not in resolved.parents:
        return f"{expected} (it leads outside the project through a symlink)"
    if not resolved.is_dir():
        return f"{expected} (no such directory)"
    if built and not (resolved / "Dockerfile").is_file():
        return f"{expected} holding a Dockerfile (it is built because backend.image is empty)"
    return None


def _origin_problem(origin: Any) -> str | None:
    """Why a CORS origin is malformed, or None: scheme://host[:port], nothing else.

    Browsers send the Origin header in lower case and the backend compares it exactly, so an
    origin with capitals would never match; a comma would split the CORS_ORIGINS list.
    """
    if not isinstance(origin, str):
        return "not a string"
    try:
        parts = urlsplit(origin)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "bad port or host"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "needs http:// or https:// and a host"
    if parts.path not in ("",) or parts.query or parts.fragment or parts.username:
        return "an origin has no path, query, fragment or credentials"
    if not _ORIGIN.fullmatch(origin):
        return "scheme://host[:port] in lower case, the host a DNS name or an IP address"
    return None


def parse_settings(stack: str, raw_values: Mapping[str, Any]) -> Settings:
    """Merge a stack's raw config values (keys without namespace) over the defaults and validate.

    Raises SettingsError listing every problem found.
    """
    problems: list[str] = []
    read = _Reader(problems)
    if stack not in ENVIRONMENTS:
        problems.append(
            f"stack {stack!r}: expected one of {', '.join(ENVIRONMENTS)} "
            "(the stack name is the environment and the prefix of every name)"
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
    if not backend_image and be.get("image") in ("", None) and stack != "dev":
        read.bad(
            "backend.image",
            "an image reference (only dev builds app/ when no image is configured)",
            be.get("image"),
        )
    base_image = read.image(be, "baseImage", "backend.baseImage", allow_empty=True)
    origins = be.get("corsOrigins")
    cors: list[str] = []
    if not isinstance(origins, list):
        read.bad(
            "backend.corsOrigins", "a list of origins such as https://app.example.com", origins
        )
    else:
        for index, origin in enumerate(origins):
            reason = _origin_problem(origin)
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
        if role and stack in ENVIRONMENTS and isinstance(project, str):
            # The full name, by the very rules the Bucket provider's `check` applies.
            name = f"{stack}-{project}-{role}"
            for problem in bucket_name_problems(name):
                read.bad(f"{path}.role", f"a role that makes a valid bucket name ({problem})", name)
        prefix = item.get("prefix", "")
        if not isinstance(prefix, str) or len(prefix.encode("utf-8", "replace")) > MAX_PREFIX_BYTES:
            read.bad(f"{path}.prefix", f"a string of at most {MAX_PREFIX_BYTES} bytes", prefix)
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


def read_settings() -> Settings:
    """Read every `appstack:` key of the current stack once and validate it.

    Keys appstack does not know (typos such as `databse`) are passed on as they are, so that
    `parse_settings` reports them beside every other problem.
    """
    import pulumi
    from pulumi.runtime.config import CONFIG

    config = pulumi.Config(NAMESPACE)
    prefix = f"{NAMESPACE}:"
    present = {key[len(prefix) :] for key in CONFIG.get() if key.startswith(prefix)}
    raw: dict[str, Any] = {}
    problems: list[str] = []
    for key in sorted(present):
        try:
            structured = key in CONFIG_KEYS and key != "project"
            raw[key] = config.get_object(key) if structured else config.get(key)
        except Exception as error:  # a value that is not valid JSON/YAML for an object
            problems.append(f"{NAMESPACE}:{key}: expected a structured value ({error})")
    if problems:
        raise SettingsError(problems)
    return parse_settings(pulumi.get_stack(), raw)
