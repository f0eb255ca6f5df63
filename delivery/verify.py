"""The live acceptance checklist of a deployed stack: ``python -m delivery verify --stack dev``.

Reads the stack's outputs (with secrets, as ``pulumi stack output --json --show-secrets`` gives
them) and checks the running platform they describe, one result per check:

- ``database``: the DSN logs in; ``vector`` is installed in the database (versions shown).
- ``schema``: the database's ``alembic_version`` is the revision the deployment's migration job
  reached (``migration.revision``), and the backend sees that same revision.
- ``redis``: PING is answered with the password from the cache URL, and refused without it.
- ``bucket <role>``: each bucket the stack deployed (``objectStore.bucketConfig``: name,
  versioning, lifecycle rules as declared) exists with that versioning and those rules, no
  bucket policy, and anonymous GETs refused.
- ``health``: the backend's health endpoint answers 200.
- ``cors <origin>``: for each configured origin, a GET and a preflight OPTIONS carrying that
  ``Origin`` are answered with ``access-control-allow-origin``.

Every check catches its own errors and says why it failed. No detail ever holds a secret: the
DSN, the cache URL, the object-store keys and the passwords inside the URLs are replaced by
``***`` before a result is returned, and :func:`delivery.redact.redact` runs after that.

The outputs are data to check, not instructions: HTTP requests go only to ``http``/``https``
URLs whose host is the stack's declared ``docker.connectAddress`` (a remote Docker host) or
else ``network.bindAddress`` (so a ``file://`` or foreign URL in the outputs is refused, not
fetched), redirects are answers rather than followed, no proxy is used, and no response body is
ever printed (only statuses, header verdicts and the names of the backend's failing health checks).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import psycopg
import redis
import yaml
from redis.backoff import NoBackoff
from redis.retry import Retry

from appstack.bucket import has_server_action, normalize_rule, read_live
from appstack.contract import EXIT_BAD_INPUT, EXIT_OK
from appstack.contract import EXIT_VIOLATION as EXIT_FAILED
from appstack.defaults import defaults
from appstack.docker_target import hostname_problem
from appstack.graph import in_namespace, read_stack_file
from appstack.k8s.port_forward import PortForward, PortForwardError, cluster_port_forward
from appstack.settings import NAMESPACE, SettingsError, parse_settings
from appstack.tunnel import Tunnel, TunnelError, forwards, loopback_problem
from appstack.validation import ENVIRONMENT, bind_address_problem
from delivery.outputs import (
    OutputsUnavailable,
    read_outputs_file,
    read_stack_config,
    read_stack_outputs,
)
from delivery.redact import MASK, redact

MAX_DETAIL_CHARS = 400
SECRET_OUTPUTS = (
    ("database", "dsn"),
    ("cache", "url"),
    ("objectStore", "accessKey"),
    ("objectStore", "secretKey"),
)
"""Stack outputs that are secrets (GRAPH.md); URL passwords inside them are secrets too."""
DEFAULT_HEALTH_PATH = "/health"
SCHEMA_REVISION_PATH = "/api/schema-revision"
ANONYMOUS_PROBE_KEY = "appstack-verify-anonymous-probe"
COMPARED_RULE_FIELDS = ("status", "prefix", "expiration_days", "noncurrent_version_expiration_days")
"""Lifecycle fields a live bucket reports back (MinIO keeps no per-bucket multipart abort)."""
HTTP_SCHEMES = ("http", "https")
_CHECK_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
"""A health check name the backend reports, printed only when it has this shape."""
_REVISION_ID = re.compile(r"[0-9A-Za-z_]{1,64}")
MAX_TIMEOUT_SECONDS = 300.0


@dataclass(frozen=True)
class CheckResult:
    """One line of the checklist: what was checked, whether it passed, and why."""

    name: str
    ok: bool
    detail: str


class CheckFailed(Exception):
    """A check's verdict that the live platform is not as declared; the message says why."""


Check = Callable[[], str]


# --------------------------------------------------------------------------------------------
# Secrets and outputs


def secret_values(outputs: Mapping[str, Any]) -> list[str]:
    """Every secret string the outputs hold, longest first (so a DSN goes before its password)."""
    values: set[str] = set()
    for section, key in SECRET_OUTPUTS:
        group = outputs.get(section)
        value = group.get(key) if isinstance(group, Mapping) else None
        if not isinstance(value, str) or not value:
            continue
        values.add(value)
        if "://" in value:
            try:
                parts = urlsplit(value)
                password = parts.password
            except ValueError:
                continue
            if password:
                values.update({password, unquote(password), quote(unquote(password), safe="")})
    return sorted((value for value in values if value), key=len, reverse=True)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` without any of ``secrets`` nor anything that looks like a credential."""
    for secret in secrets:
        text = text.replace(secret, MASK)
    return redact(text)


def _field(outputs: Mapping[str, Any], section: str, key: str) -> Any:
    group = outputs.get(section)
    if not isinstance(group, Mapping) or group.get(key) in (None, ""):
        raise CheckFailed(f"the stack outputs have no {section}.{key}")
    return group[key]


def _text_field(outputs: Mapping[str, Any], section: str, key: str) -> str:
    value = _field(outputs, section, key)
    if not isinstance(value, str):
        raise CheckFailed(f"the stack output {section}.{key} is not a string")
    return value


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {' '.join(str(error).split())}"


# --------------------------------------------------------------------------------------------
# Database and schema


def _connect(outputs: Mapping[str, Any], timeout: float) -> Any:
    dsn = _text_field(outputs, "database", "dsn")
    try:
        return psycopg.connect(
            dsn,
            connect_timeout=max(2, round(timeout)),
            autocommit=True,
            application_name="appstack-verify",
            options=f"-c statement_timeout={int(timeout * 1000)}",
        )
    except psycopg.Error as error:
        raise CheckFailed(f"cannot connect: {_describe(error)}") from None


def check_database(outputs: Mapping[str, Any], timeout: float) -> str:
    """The database logs in and has the ``vector`` extension installed."""
    with _connect(outputs, timeout) as conn:
        server, installed, available = conn.execute(
            "SELECT current_setting('server_version'),"
            " (SELECT extversion FROM pg_extension WHERE extname = 'vector'),"
            " (SELECT default_version FROM pg_available_extensions WHERE name = 'vector')"
        ).fetchone()
        database = conn.info.dbname
    server = str(server).split()[0]
    if installed is None:
        offered = (
            f"the server offers pgvector {available}: run CREATE EXTENSION vector (pulumi up does)"
            if available
            else "the server has no pgvector at all: use a pgvector/pgvector image"
        )
        raise CheckFailed(
            f"PostgreSQL {server} answers, but pgvector is not installed in database "
            f"{database!r} ({offered})"
        )
    detail = f"PostgreSQL {server}, pgvector {installed}"
    recorded = outputs.get("database", {}).get("pgvectorVersion")
    if isinstance(recorded, str) and recorded and recorded != installed:
        detail += f" (the deployment recorded pgvector {recorded})"
    return detail


def _database_revision(outputs: Mapping[str, Any], timeout: float) -> str:
    with _connect(outputs, timeout) as conn:
        try:
            rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        except psycopg.errors.UndefinedTable:
            raise CheckFailed(
                "the database has no alembic_version table: the migrations never ran"
            ) from None
    revisions = sorted(str(row[0]) for row in rows)
    if len(revisions) != 1:
        raise CheckFailed(
            f"alembic_version holds {len(revisions)} revisions ({', '.join(revisions) or 'none'}); "
            "expected exactly one"
        )
    return revisions[0]


def _backend_revision(
    outputs: Mapping[str, Any], timeout: float, host: str
) -> tuple[str | None, str]:
    """(revision the backend reports, note); revision None when it could not say."""
    url = _text_field(outputs, "backend", "url").rstrip("/") + SCHEMA_REVISION_PATH
    status, _headers, body = _http("GET", url, timeout, host)
    if status == 404:
        return None, f"the backend has no {SCHEMA_REVISION_PATH}, so it was not asked"
    if status != 200:
        return None, f"the backend's {SCHEMA_REVISION_PATH} answered {status}, so it was not asked"
    try:
        revision = json.loads(body)["revision"]
    except (ValueError, KeyError, TypeError, RecursionError):
        raise CheckFailed(f"{SCHEMA_REVISION_PATH} answered 200 without a revision") from None
    if not isinstance(revision, str) or not _REVISION_ID.fullmatch(revision):
        raise CheckFailed(f"{SCHEMA_REVISION_PATH} answered 200 with something not a revision id")
    return revision, ""


def check_schema(outputs: Mapping[str, Any], timeout: float, host: str) -> str:
    """The schema is at the head of the deployed backend's migrations.

    What "head" honestly means here: the migration job ran ``alembic upgrade head`` and then
    ``alembic current`` inside the exact backend image the stack runs, and exported the revision
    it reached as ``migration.revision``; that is the head of the deployed image's migration
    scripts. The scripts in this checkout are not used: stage and prod run pinned images that may
    predate or postdate the checkout. The database's ``alembic_version`` must equal that
    revision. The backend's ``/api/schema-revision`` reports the revision of the database *it* is
    connected to (not its scripts' head), so it is compared too: it proves the serving backend
    sees the migrated schema. A backend without that endpoint, or one that cannot answer (the
    ``health`` check reports why), is noted and not counted against the schema.
    """
    expected = _text_field(outputs, "migration", "revision")
    live = _database_revision(outputs, timeout)
    if live != expected:
        raise CheckFailed(
            f"the database is at revision {live!r}, but the deployment migrated to head "
            f"{expected!r}: run the migrations (pulumi up) or find who changed alembic_version"
        )
    try:
        reported, note = _backend_revision(outputs, timeout, host)
    except OSError as error:
        reported, note = None, f"the backend could not be asked ({_describe(error)})"
    if reported is not None and reported != live:
        raise CheckFailed(
            f"the database is at {live!r} but the backend reports {reported!r}: "
            "it is connected to another database"
        )
    seen = "; the backend reports the same" if reported is not None else f"; {note}"
    return f"alembic_version {live} is the deployed head{seen}"


# --------------------------------------------------------------------------------------------
# Redis


def check_redis(outputs: Mapping[str, Any], timeout: float) -> str:
    """PING is answered with the password of the cache URL, and refused without any."""
    url = _text_field(outputs, "cache", "url")
    options: dict[str, Any] = {
        "socket_connect_timeout": timeout,
        "socket_timeout": timeout,
        # One attempt: redis-py retries with backoff by default, also on a refused password.
        "retry": Retry(NoBackoff(), 0),
    }
    client = redis.Redis.from_url(url, **options)
    try:
        if not client.ping():
            raise CheckFailed("PING was not answered with PONG")
        version = client.info("server").get("redis_version", "?")
    except redis.AuthenticationError as error:
        raise CheckFailed(f"the password of the cache URL is refused ({error})") from None
    except redis.RedisError as error:
        raise CheckFailed(f"no answer to PING: {_describe(error)}") from None
    finally:
        client.close()
    parts = urlsplit(url)
    anonymous = redis.Redis(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 6379,
        ssl=parts.scheme == "rediss",
        **options,
    )
    try:
        anonymous.ping()
        raise CheckFailed(
            f"Redis {version} answers PING from a client without credentials "
            "(configure requirepass)"
        )
    except redis.AuthenticationError:
        pass  # NOAUTH / AUTH required: as it should be
    except redis.RedisError as error:
        if "auth" not in str(error).lower():
            raise CheckFailed(f"PING without a password: {_describe(error)}") from None
    finally:
        anonymous.close()
    return f"Redis {version} answers PING with its password and refuses it without"


# --------------------------------------------------------------------------------------------
# Buckets


@dataclass(frozen=True)
class DeclaredBucket:
    """One bucket as the stack deployed it (``objectStore.bucketConfig.<role>``)."""

    role: str
    name: str
    versioning: bool
    rules: tuple[dict[str, Any], ...]


def declared_buckets(outputs: Mapping[str, Any]) -> dict[str, DeclaredBucket]:
    """Each bucket role the deployed stack declares, from its ``objectStore.bucketConfig``.

    The outputs, not this checkout's settings: the stack may run another version of appstack or
    of its stack file than the one checked out here.
    """
    config = outputs.get("objectStore", {}).get("bucketConfig")
    if not isinstance(config, Mapping):
        raise CheckFailed(
            "the stack outputs have no objectStore.bucketConfig (deployed by an appstack "
            "before 0.2? run `pulumi up` once to export it)"
        )
    declared = {}
    for role, bucket in config.items():
        rules = bucket.get("lifecycleRules") if isinstance(bucket, Mapping) else None
        if not isinstance(bucket, Mapping) or not isinstance(rules, list):
            raise CheckFailed(
                f"objectStore.bucketConfig.{role} is not {{name, versioning, lifecycleRules}}"
            )
        declared[str(role)] = DeclaredBucket(
            role=str(role),
            name=str(bucket.get("name")),
            versioning=bool(bucket.get("versioning")),
            rules=tuple(normalize_rule(rule) for rule in rules if isinstance(rule, Mapping)),
        )
    return declared


def _rule_text(rule: Mapping[str, Any]) -> str:
    actions = [
        f"{key.removesuffix('_days').replace('_', ' ')} {rule[key]}d"
        for key in COMPARED_RULE_FIELDS[2:]
        if rule.get(key)
    ]
    prefix = f" on {rule['prefix']!r}" if rule.get("prefix") else ""
    return f"{rule['id']} ({', '.join(actions)}{prefix})"


def lifecycle_problems(
    declared: Sequence[Mapping[str, Any]], live: Sequence[Mapping[str, Any]]
) -> list[str]:
    """How the live rules differ from the declared ones, in what the server reports back."""
    expected = {str(rule["id"]): rule for rule in declared if has_server_action(rule)}
    actual = {str(rule["id"]): rule for rule in live}
    problems = [
        f"rule {_rule_text(rule)} is missing" for rid, rule in expected.items() if rid not in actual
    ]
    problems += [f"rule {rid!r} is not declared" for rid in actual if rid not in expected]
    for rid in expected.keys() & actual.keys():
        for key in COMPARED_RULE_FIELDS:
            want, got = expected[rid].get(key), actual[rid].get(key)
            if (want or None) != (got or None):
                problems.append(f"rule {rid!r} has {key} {got!r}, declared {want!r}")
    return problems


def _anonymous_problems(base: str, bucket: str, timeout: float, host: str) -> list[str]:
    """Anonymous (unsigned) listing and object GETs must both be refused with 403."""
    problems = []
    probes = {
        "anonymous listing": f"{base}/{quote(bucket)}?list-type=2",
        "anonymous object reads": f"{base}/{quote(bucket)}/{ANONYMOUS_PROBE_KEY}",
    }
    for what, url in probes.items():
        status, _headers, _body = _http("GET", url, timeout, host)
        if status != 403:
            problems.append(f"{what} not refused (HTTP {status}, expected 403)")
    return problems


def _object_store_base(outputs: Mapping[str, Any], host: str) -> str:
    """The object store's `scheme://host:port`, refused unless http(s) on the declared host."""
    endpoint = _text_field(outputs, "objectStore", "endpoint")
    base = endpoint if "://" in endpoint else f"http://{endpoint}"
    _require_declared(base, host, what="objectStore.endpoint")
    parts = urlsplit(base)
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise CheckFailed("objectStore.endpoint is not scheme://host:port")
    return f"{parts.scheme}://{parts.netloc}"


def check_bucket(
    outputs: Mapping[str, Any],
    declared: DeclaredBucket | None,
    role: str,
    timeout: float,
    host: str,
) -> str:
    """The bucket exists with its declared versioning and lifecycle, and is private."""
    exported = outputs.get("objectStore", {}).get("buckets") or {}
    name = exported.get(role)
    if declared is None:
        raise CheckFailed(f"{name!r} is exported but the stack declares no bucket {role!r}")
    if name is None:
        raise CheckFailed(f"{declared.name!r} is declared but not in the stack outputs")
    if name != declared.name:
        raise CheckFailed(f"the stack exports {name!r}, but declared {declared.name!r}")
    base = _object_store_base(outputs, host)
    props = {
        "bucket_name": name,
        "endpoint": base.split("://", 1)[1],
        "secure": base.startswith("https://"),
        "access_key": _text_field(outputs, "objectStore", "accessKey"),
        "secret_key": _text_field(outputs, "objectStore", "secretKey"),
    }
    try:
        live = read_live(props)
    except Exception as error:  # the provider's errors are already readable sentences
        raise CheckFailed(f"{name!r}: cannot read its configuration: {error}") from None
    if live is None:
        raise CheckFailed(f"{name!r} does not exist at {props['endpoint']}")
    problems = []
    if bool(live["versioning"]) != declared.versioning:
        state = "on" if live["versioning"] else "off"
        problems.append(f"versioning is {state}, declared {'on' if declared.versioning else 'off'}")
    problems += lifecycle_problems(declared.rules, live["lifecycle_rules"])
    if live["access"] != "private":
        problems.append(f"its bucket policy makes it {live['access']}, declared private")
    problems += _anonymous_problems(base, name, timeout, host)
    if problems:
        raise CheckFailed(f"{name!r}: " + "; ".join(problems))
    kept = [_rule_text(rule) for rule in declared.rules if has_server_action(rule)]
    server_wide = [str(rule["id"]) for rule in declared.rules if not has_server_action(rule)]
    detail = (
        f"{name} exists, versioning {'on' if declared.versioning else 'off'}, "
        f"lifecycle {', '.join(kept) or 'none'}, private (anonymous GET refused)"
    )
    if server_wide:
        detail += f"; {', '.join(server_wide)} is server-wide in MinIO, not per bucket"
    return detail


def bucket_checks(outputs: Mapping[str, Any], timeout: float, host: str) -> list[tuple[str, Check]]:
    """One check per bucket role, declared or exported."""
    store = outputs.get("objectStore")
    exported = store.get("buckets") if isinstance(store, Mapping) else None
    exported = exported if isinstance(exported, Mapping) else {}
    try:
        declared = declared_buckets(outputs)
    except CheckFailed as error:
        reason = str(error)
        return [(f"bucket {role}", partial(_raise, reason)) for role in exported or ["?"]]
    roles = [*declared, *(role for role in exported if role not in declared)]
    return [
        (
            f"bucket {role}",
            partial(check_bucket, outputs, declared.get(role), role, timeout, host),
        )
        for role in roles
    ]


# --------------------------------------------------------------------------------------------
# Backend health and CORS


def _require_declared(url: str, host: str, what: str) -> None:
    """Refuse a URL that is not http(s) to the declared host: outputs are data, not orders."""
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise CheckFailed(f"{what} is not a valid URL; nothing was requested") from None
    if parts.scheme not in HTTP_SCHEMES:
        raise CheckFailed(
            f"{what} has the scheme {parts.scheme or 'none'!r}: only http and https are "
            "followed; nothing was requested"
        )
    if not host or hostname != host or parts.username or parts.password:
        raise CheckFailed(
            f"{what} points at {hostname or 'no host'!r}, not the stack's declared address "
            f"{host or '?'!r} (docker.connectAddress or network.bindAddress); nothing was "
            "requested"
        )


def _opener() -> urllib.request.OpenerDirector:
    """http and https only: no file/ftp/data handlers, no proxies, redirects not followed (a
    redirect is the answer), HTTP errors returned as answers rather than raised."""
    opener = urllib.request.OpenerDirector()
    opener.add_handler(urllib.request.HTTPHandler())
    opener.add_handler(urllib.request.HTTPSHandler())
    return opener


def _http(
    method: str,
    url: str,
    timeout: float,
    host: str,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, Mapping[str, str], str]:
    """(status, lower-cased headers, body) of one request to the declared host; the body is for
    parsing only, never for printing."""
    _require_declared(url, host, what=url.split("?", 1)[0][:80])
    request = urllib.request.Request(url, method=method, headers=dict(headers or {}))
    with _opener().open(request, timeout=timeout) as response:
        status, raw_headers, body = response.status, response.headers, response.read()
    lowered = {key.lower(): value for key, value in raw_headers.items()}
    return status, lowered, body.decode(errors="replace")


def _health_url(outputs: Mapping[str, Any]) -> str:
    base = _text_field(outputs, "backend", "url").rstrip("/")
    path = outputs.get("backend", {}).get("healthPath") or DEFAULT_HEALTH_PATH
    return base + str(path)


def _failing_checks(body: str) -> str:
    """The names of the failing checks in the backend's health document, if it is one."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return ""
    failing = data.get("failing") if isinstance(data, dict) else None
    if not isinstance(failing, list):
        return ""
    names = [name for name in failing if isinstance(name, str) and _CHECK_NAME.fullmatch(name)]
    return "failing " + ", ".join(names) if names else ""


def check_health(outputs: Mapping[str, Any], timeout: float, host: str) -> str:
    """The backend's health endpoint answers 200."""
    url = _health_url(outputs)
    try:
        status, _headers, body = _http("GET", url, timeout, host)
    except OSError as error:
        raise CheckFailed(f"{url} does not answer: {_describe(error)}") from None
    if status == 200:
        return f"{url} answered 200"
    failing = _failing_checks(body)
    raise CheckFailed(f"{url} answered {status}" + (f": {failing}" if failing else ""))


def check_cors(outputs: Mapping[str, Any], origin: str, timeout: float, host: str) -> str:
    """A GET and a preflight OPTIONS from ``origin`` both carry access-control-allow-origin."""
    url = _health_url(outputs)
    requests = {
        "GET": {"Origin": origin},
        "preflight OPTIONS": {
            "Origin": origin,
            "Access-Control-Request-Method": "GET",
        },
    }
    problems, answers = [], []
    for what, headers in requests.items():
        method = "GET" if what == "GET" else "OPTIONS"
        try:
            status, got, _body = _http(method, url, timeout, host, headers)
        except OSError as error:
            problems.append(f"{what} got no answer ({_describe(error)})")
            continue
        allowed = got.get("access-control-allow-origin")
        if allowed not in (origin, "*"):
            why = f"header is {allowed!r}" if allowed else "no access-control-allow-origin"
            problems.append(f"{what} answered {status} with {why}")
        else:
            answers.append(f"{what} {status}" + (" (wildcard)" if allowed == "*" else ""))
    if problems:
        raise CheckFailed(f"origin {origin} is not allowed by {url}: " + "; ".join(problems))
    return f"{url} allows it: " + ", ".join(answers)


def cors_checks(outputs: Mapping[str, Any], timeout: float, host: str) -> list[tuple[str, Check]]:
    """One check per configured origin."""
    origins = outputs.get("corsOrigins")
    if not isinstance(origins, list):
        return [("cors", lambda: _raise("the stack outputs have no corsOrigins list"))]
    if not origins:
        return [("cors", lambda: "no origins are configured, none to check")]
    return [
        (f"cors {origin}", partial(check_cors, outputs, str(origin), timeout, host))
        for origin in origins
    ]


def _raise(reason: str) -> str:
    raise CheckFailed(reason)


# --------------------------------------------------------------------------------------------
# Running the checklist


def _run(name: str, check: Check, secrets: Sequence[str]) -> CheckResult:
    try:
        ok, detail = True, check()
    except CheckFailed as failure:
        ok, detail = False, str(failure)
    except Exception as error:  # a crashed check is a failed one, with its reason
        ok, detail = False, _describe(error)
    detail = scrub(" ".join(detail.split()), secrets)
    if len(detail) > MAX_DETAIL_CHARS:
        detail = detail[: MAX_DETAIL_CHARS - 3] + "..."
    return CheckResult(name, ok, detail)


def verify_stack(
    outputs: Mapping[str, Any], *, timeout: float = 5.0, host: str | None = None
) -> list[CheckResult]:
    """Run every check against the live platform ``outputs`` describe; never raises.

    ``timeout`` bounds each connection and request (the bucket read uses the provider's own).
    ``host`` is the only address HTTP requests may go to; by default the stack's declared
    ``network.bindAddress`` (see ``declared_address``), never an address the outputs name.
    """
    secrets = secret_values(outputs)
    if host is None:
        host = declared_address(str(outputs.get("environment")), Path.cwd())
    checks: list[tuple[str, Check]] = [
        ("database", lambda: check_database(outputs, timeout)),
        ("schema", lambda: check_schema(outputs, timeout, host)),
        ("redis", lambda: check_redis(outputs, timeout)),
        *bucket_checks(outputs, timeout, host),
        ("health", lambda: check_health(outputs, timeout, host)),
        *cors_checks(outputs, timeout, host),
    ]
    return [_run(name, check, secrets) for name, check in checks]


def declared_address(environment: str, project: Path) -> str:
    """The stack's ``appstack:docker.connectAddress`` if it sets one, else its
    ``appstack:network.bindAddress``; "" when it has none usable.

    Read from the stack file ``Pulumi.<environment>.yaml`` in the project directory ``project``
    over the package's default, as the program reads it: the outputs are data and never say
    where requests may go. A stack without a stack file has the default.
    """
    values = _stack_values(environment, project)
    if values is None:
        return ""
    if _port_forward_declared(values):
        # Pods on a cluster's network: reached through this machine's port-forward listeners.
        cluster = values.get("kubernetes")
        connect = cluster.get("connectAddress") if isinstance(cluster, Mapping) else None
        connect = connect or "127.0.0.1"
        return "" if loopback_problem(connect) else str(connect)
    docker = values.get("docker")
    connect = docker.get("connectAddress") if isinstance(docker, Mapping) else None
    if connect in (None, "") and _tunnel_declared(values):
        connect = "127.0.0.1"  # the tunnel's default
    if connect not in (None, ""):
        # A remote Docker host's services are reached where the stack says, not where they bind.
        return "" if hostname_problem(connect) else str(connect).lower()
    network = values.get("network")
    address = network.get("bindAddress") if isinstance(network, Mapping) else None
    if address is None:
        address = defaults()["network"]["bindAddress"]
    return "" if bind_address_problem(address) else str(address)


def _stack_values(environment: str, project: Path) -> dict[str, Any] | None:
    """The `appstack:` values of ``Pulumi.<environment>.yaml`` in ``project`` ({} without one);
    None for a name that is not a stack's or a file that cannot be read."""
    if not ENVIRONMENT.fullmatch(environment):
        return None
    stack_file = project / f"Pulumi.{environment}.yaml"
    try:
        config = read_stack_file(stack_file) if stack_file.is_file() else {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
        return None
    return in_namespace(config, NAMESPACE)


def _tunnel_declared(values: Mapping[str, Any]) -> bool:
    docker = values.get("docker")
    return isinstance(docker, Mapping) and docker.get("tunnel") in (True, "true")


def _port_forward_declared(values: Mapping[str, Any]) -> bool:
    """A Kubernetes target without `hostNetwork` (the default there)."""
    cluster = values.get("kubernetes")
    host_network = cluster.get("hostNetwork") if isinstance(cluster, Mapping) else None
    return values.get("target") == "kubernetes" and host_network not in (True, "true")


def declared_port_forward(environment: str, project: Path) -> PortForward | None:
    """The stack's port-forward to its namespace, listening for every service the checks reach,
    when it is a Kubernetes stack without `hostNetwork` (as the program opens it for a
    deployment); None otherwise. Its settings (with the kubeconfig, a secret) come from `pulumi
    config`. Raises OutputsUnavailable when they cannot be read or are invalid, PortForwardError
    when a listener cannot be opened."""
    values = _stack_values(environment, project)
    if values is None or not _port_forward_declared(values):
        return None
    config, secret_keys = read_stack_config(environment, project, NAMESPACE)
    try:
        settings = parse_settings(environment, config, secret_keys)
    except SettingsError as error:
        raise OutputsUnavailable(str(error)) from None
    assert settings.kubernetes is not None  # a kubernetes target has its settings
    forward = cluster_port_forward(settings.kubernetes)
    try:
        for service, port in (
            ("database", settings.database.port),
            ("cache", settings.cache.port),
            ("objectstore", settings.object_store.port),
            ("backend", settings.backend.port),
        ):
            forward.forward(service, port)
    except PortForwardError:
        forward.close()
        raise
    return forward


def declared_tunnel(environment: str, project: Path) -> Tunnel | None:
    """The stack's SSH tunnel, opened, when its stack file sets ``docker.tunnel`` (as the program
    opens it for a deployment); None otherwise. Raises OutputsUnavailable when the stack file's
    settings are invalid, TunnelError when the tunnel does not open."""
    values = _stack_values(environment, project)
    if values is None or not _tunnel_declared(values):
        return None
    try:
        settings = parse_settings(environment, values)
    except SettingsError as error:
        raise OutputsUnavailable(str(error)) from None
    docker = settings.docker
    ports = settings.host_ports.values()
    return Tunnel(
        docker.target, forwards(docker.connect_address, settings.network.bind_address, ports)
    )


def report(results: Sequence[CheckResult], stack: str, secrets: Sequence[str]) -> str:
    """One ``PASS``/``FAIL`` line per check, then a summary line."""
    lines = [
        scrub(f"{'PASS' if result.ok else 'FAIL'} {result.name}: {result.detail}", secrets)
        for result in results
    ]
    failed = [result.name for result in results if not result.ok]
    if failed:
        lines.append(
            f"verify {stack}: {len(failed)} of {len(results)} checks failed ({', '.join(failed)})"
        )
    else:
        lines.append(f"verify {stack}: all {len(results)} checks passed")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """``python -m delivery verify`` arguments."""
    parser = _Parser(
        prog="python -m delivery verify",
        description="Check the live platform of a deployed stack against what its outputs "
        "declare. Exit 0 all pass, 1 any check fails, 2 bad input.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--stack", metavar="STACK", help="read `pulumi stack output --json --show-secrets`"
    )
    source.add_argument(
        "--outputs-file",
        type=Path,
        metavar="FILE",
        help="stack outputs saved from `pulumi stack output --json --show-secrets`",
    )
    parser.add_argument("--cwd", type=Path, default=Path("."), help="the Pulumi project directory")
    parser.add_argument(
        "--timeout", type=_timeout, default=5.0, help="seconds per connection (default 5)"
    )
    return parser


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or not 0 < value <= MAX_TIMEOUT_SECONDS:
        raise argparse.ArgumentTypeError(
            f"expected more than 0 and at most {MAX_TIMEOUT_SECONDS:g} seconds, got {text!r}"
        )
    return value


class _BadArguments(Exception):
    """A command line verify cannot run with."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad command line as one line, without the usage."""

    def error(self, message: str) -> Any:  # argparse's signature returns NoReturn
        raise _BadArguments(f"verify: {message} (see --help)")


def main(argv: Sequence[str] | None = None) -> int:
    """Verify a stack, print one line per check and a summary; return the exit code."""
    try:
        args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except _BadArguments as error:
        print(str(error), file=sys.stderr)
        return EXIT_BAD_INPUT
    except SystemExit as exit_:  # --help
        return exit_.code if isinstance(exit_.code, int) else EXIT_BAD_INPUT
    try:
        if args.stack:
            outputs = read_stack_outputs(args.stack, args.cwd)
        else:
            outputs = read_outputs_file(args.outputs_file)
        environment = outputs.get("environment")
        if not outputs or not isinstance(environment, str):
            raise OutputsUnavailable("the outputs have no `environment`: is the stack deployed?")
        if not ENVIRONMENT.fullmatch(environment):
            raise OutputsUnavailable(
                "the outputs' environment is not a stack name appstack accepts (1-20 lower-case "
                "letters, digits and inner dashes)"
            )
        if args.stack and environment != args.stack:
            raise OutputsUnavailable(
                f"the outputs are of stack {environment!r}, not {args.stack!r}"
            )
    except OutputsUnavailable as error:
        print(f"verify: {scrub(str(error), [])}", file=sys.stderr)
        return EXIT_BAD_INPUT
    secrets = secret_values(outputs)
    host = declared_address(environment, args.cwd)
    try:
        tunnel = declared_tunnel(environment, args.cwd)
        forward = declared_port_forward(environment, args.cwd)
    except (OutputsUnavailable, TunnelError, PortForwardError) as error:
        print(f"verify: {scrub(str(error), [])}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        results = verify_stack(outputs, timeout=args.timeout, host=host)
    finally:
        if tunnel is not None:
            tunnel.close()
        if forward is not None:
            forward.close()
    print(report(results, environment, secrets))
    return EXIT_OK if all(result.ok for result in results) else EXIT_FAILED
