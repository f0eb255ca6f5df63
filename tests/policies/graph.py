"""A compliant resource graph shaped like the lead's components (notes/GRAPH.md), for policy tests.

Each builder returns the resource as the policies see it; tests change one thing with
:func:`with_props` or :func:`with_label` and assert the one violation that follows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from appstack.contract import BUCKET, COMMAND, CONTAINER, NETWORK, REMOTE_IMAGE, VOLUME
from policies.model import PolicyConfig, PolicyContext, Resource, Violation

DIGEST = "sha256:" + "cf" * 32
IMAGE_ID = "sha256:" + "0a" * 32
PROD_IMAGES = {
    "database": f"pgvector/pgvector:pg17@{DIGEST}",
    "cache": f"redis:7.4-bookworm@{DIGEST}",
    "objectstore": f"minio/minio:RELEASE.2025-04-22T22-12-26Z@{DIGEST}",
    "backend": f"registry.example.com/appstack/backend:0.1.0@{DIGEST}",
}
DEV_IMAGES = {
    "database": "pgvector/pgvector:pg17",
    "cache": "redis:7.4-bookworm",
    "objectstore": "minio/minio:RELEASE.2025-04-22T22-12-26Z",
    "backend": "dev-appstack-backend:local",
}
COMPONENT = {
    "database": "Database",
    "cache": "Cache",
    "objectstore": "ObjectStore",
    "backend": "Backend",
    "migration": "Migration",
}


def urn(stack: str, role: str, type_: str, name: str) -> str:
    """A URN with the Platform and the role's component as parents, as the engine builds it."""
    chain = f"appstack:index:Platform$appstack:index:{COMPONENT[role]}${type_}"
    return f"urn:pulumi:{stack}::appstack::{chain}::{name}"


def _resource(stack: str, role: str, type_: str, suffix: str, **fields: Any) -> Resource:
    name = f"appstack-{role}-{suffix}"
    return Resource(
        type=type_,
        name=name,
        urn=urn(stack, role, type_, name),
        parent_type=f"appstack:index:{COMPONENT[role]}",
        **fields,
    )


def labels(role: str, stack: str, **extra: str) -> list[dict[str, Any]]:
    """The label list the docker provider takes: role, environment and any extra labels."""
    pairs = {"appstack.role": role, "appstack.environment": stack, **extra}
    return [{"label": key, "value": value} for key, value in pairs.items()]


def remote_image(stack: str, role: str, ref: str) -> Resource:
    """The RemoteImage of one role."""
    return _resource(stack, role, REMOTE_IMAGE, "image", props={"name": ref, "keepLocally": True})


def container(
    stack: str, role: str, ref: str, envs: list[str], secret_envs: bool = True
) -> Resource:
    """A long-running container with health check, wait, labels and (secret) envs."""
    props = {
        "name": f"{stack}-{role}",
        "image": IMAGE_ID,
        "envs": envs,
        "healthcheck": {
            "tests": ["CMD-SHELL", "true"],
            "interval": "2s",
            "timeout": "5s",
            "retries": 15,
            "startPeriod": "1s",
        },
        "wait": True,
        "waitTimeout": 120,
        "mustRun": True,
        "restart": "unless-stopped",
        "networkMode": f"{stack}-network",
        "labels": labels(role, stack, **{"appstack.image": ref}),
    }
    secrets = frozenset({"envs"}) if secret_envs else frozenset()
    return _resource(stack, role, CONTAINER, "container", props=props, secret_props=secrets)


def volume(stack: str, role: str, production: bool) -> Resource:
    """A stateful data volume, protected and retained in prod."""
    props = {
        "name": f"{stack}-{role}-data",
        "labels": labels(f"{role}-data", stack, **{"appstack.stateful": "true"}),
    }
    return _resource(
        stack,
        role,
        VOLUME,
        "data",
        props=props,
        protect=production,
        retain_on_delete=production,
    )


def bucket(stack: str, role: str, production: bool) -> Resource:
    """An appstack Bucket (dynamic resource) with private access and lifecycle rules."""
    rules: list[dict[str, Any]] = [
        {"id": "abort-multipart", "status": "Enabled", "abort_incomplete_multipart_days": 1}
    ]
    if role == "temp":
        rules.append({"id": "expire", "status": "Enabled", "prefix": "", "expiration_days": 7})
    props = {
        "bucket_name": f"{stack}-appstack-{role}",
        "endpoint": "127.0.0.1:9000",
        "access_key": "appstack",
        "secret_key": "s3cr3t-generated",
        "secure": False,
        "versioning": role != "temp",
        "lifecycle_rules": rules,
        "tags": {},
        "access": "private",
        "force_destroy": False,
        "role": role,
    }
    name = f"appstack-objectstore-bucket-{role}"
    return Resource(
        type=BUCKET,
        name=name,
        urn=urn(stack, "objectstore", BUCKET, name),
        props=props,
        protect=production,
        retain_on_delete=production,
        secret_props=frozenset({"access_key", "secret_key"}),
        parent_type="appstack:index:ObjectStore",
    )


def baseline(stack: str = "dev") -> list[Resource]:
    """The whole compliant graph of one stack (prod pins digests and protects data)."""
    production = stack == "prod"
    images = PROD_IMAGES if production else DEV_IMAGES
    dsn = "DATABASE_URL=postgresql+psycopg://appstack:pw-generated@127.0.0.1:5432/appstack"
    resources = [
        Resource(type=NETWORK, name="appstack-network", props={"name": f"{stack}-network"}),
        remote_image(stack, "database", images["database"]),
        volume(stack, "database", production),
        container(stack, "database", images["database"], ["POSTGRES_PASSWORD=pw-generated"]),
        remote_image(stack, "cache", images["cache"]),
        container(stack, "cache", images["cache"], ["REDIS_ARGS=--save ''"], secret_envs=False),
        remote_image(stack, "objectstore", images["objectstore"]),
        volume(stack, "objectstore", production),
        container(
            stack,
            "objectstore",
            images["objectstore"],
            ["MINIO_ROOT_USER=appstack", "MINIO_ROOT_PASSWORD=generated"],
        ),
        *(bucket(stack, role, production) for role in ("assets", "temp", "backups")),
        remote_image(stack, "backend", images["backend"]),
        container(stack, "backend", images["backend"], [dsn, "PYTHONDONTWRITEBYTECODE=1"]),
        _resource(
            stack,
            "migration",
            COMMAND,
            "run",
            props={"create": "docker run --rm backend alembic upgrade head", "environment": {}},
        ),
    ]
    if not production:
        build = {"context": "/work/app", "dockerfile": "Dockerfile"}
        resources = [
            with_props(r, build=build) if r.name == "appstack-backend-image" else r
            for r in resources
        ]
    return resources


def outputs(stack: str = "dev") -> tuple[dict[str, Any], set[str]]:
    """Stack outputs shaped like GRAPH.md and the set of secret paths among them."""
    values = {
        "environment": stack,
        "database": {
            "host": "127.0.0.1",
            "port": 5432,
            "dsn": "postgresql://appstack:pw@127.0.0.1:5432/appstack",
            "image": DEV_IMAGES["database"],
        },
        "cache": {"host": "127.0.0.1", "port": 6379, "url": "redis://:pw@127.0.0.1:6379/0"},
        "objectStore": {
            "endpoint": "127.0.0.1:9000",
            "accessKey": "appstack",
            "secretKey": "generated",
            "buckets": {"assets": f"{stack}-appstack-assets"},
        },
        "backend": {"url": "http://127.0.0.1:8000", "image": DEV_IMAGES["backend"]},
        "corsOrigins": ["http://localhost:3000"],
    }
    return values, {"database.dsn", "cache.url", "objectStore.accessKey", "objectStore.secretKey"}


def named(resources: list[Resource], name: str) -> Resource:
    """The resource with logical name ``name``."""
    return next(r for r in resources if r.name == name)


def with_props(resource: Resource, **changes: Any) -> Resource:
    """A copy with some props replaced (a value of ``None`` removes the prop)."""
    props = {**resource.props, **changes}
    return replace(resource, props={k: v for k, v in props.items() if v is not None})


def with_label(resource: Resource, key: str, value: Any) -> Resource:
    """A copy with one label set (``None`` removes it)."""
    pairs = [p for p in resource.props.get("labels", []) if p["label"] != key]
    if value is not None:
        pairs.append({"label": key, "value": value})
    return with_props(resource, labels=pairs)


def check_one(
    check: Callable[[Resource, PolicyContext], list[Violation]],
    resource: Resource,
    stack: str = "dev",
    config: PolicyConfig | None = None,
) -> list[Violation]:
    """Run one policy's check on one resource in ``stack``."""
    return check(resource, PolicyContext(stack=stack, config=config or PolicyConfig()))


def only(violations: list[Violation], policy: str, resource: str) -> Violation:
    """The single violation expected, asserting its policy and resource; returns it for the
    message assertions."""
    assert len(violations) == 1, violations
    violation = violations[0]
    assert (violation.policy, violation.resource) == (policy, resource)
    return violation
