"""pgvector only (mandatory, critical).

Why: a ``postgres:15-alpine`` database once reached QA; it has no pgvector, so
``CREATE EXTENSION vector`` failed, the migration declaring ``VECTOR(1536)`` failed, no table
existed and every request returned 500. This policy refuses such a stack before anything runs.

Rule: every image of a resource that plays the database role (label ``appstack.role=database``,
a child of ``appstack:index:Database``, or "database" in its logical name), and every PostgreSQL
image anywhere, must come from an allowed repository (default ``pgvector/pgvector``, configurable
with ``allowedRepositories`` / ``extraAllowedRepositories``). The decision is by parsed registry
and repository path, never by substring: ``postgres:16-pgvector`` is ``library/postgres`` and is
refused; ``docker.io/pgvector/pgvector:pg16`` and ``pgvector/pgvector@sha256:...`` are accepted.
A reference that cannot be read (unknown at preview, missing, malformed) is a violation when the
resource plays the database role or is a RemoteImage, never a silent pass.
"""

from __future__ import annotations

import re

from appstack.contract import (
    CONTAINER,
    IMAGE_LABEL,
    REMOTE_IMAGE,
    ImageReference,
    InvalidImageReference,
    parse_image_reference,
)
from policies import kubernetes
from policies.image_sources import ImageSource, image_sources, plays_database_role
from policies.model import PolicyContext, PolicySpec, Resource, Violation

SPEC = PolicySpec(
    name="pgvector-only",
    description="The database and every PostgreSQL image must be a pgvector image.",
    mandatory=True,
    severity="critical",
)

SUGGESTED_IMAGE = "pgvector/pgvector:pg17"

_POSTGRES_REPOSITORY_RE = re.compile(
    r"^(?:postgres(?:ql)?(?:[-_.]?\d+)?|postgis|pgvector|pgvecto-rs|timescaledb(?:-ha)?"
    r"|crunchy-postgres(?:-gis)?|postgresql-repmgr|spilo(?:-\d+)?|paradedb)$"
)


def is_postgres_repository(image: ImageReference) -> bool:
    """True when the repository's own name (last path component) is a known PostgreSQL image:
    ``postgres``, ``postgresql``, ``postgis``, ``timescaledb``, ``pgvector`` and similar."""
    return _POSTGRES_REPOSITORY_RE.match(image.repository) is not None


def _allowed_list(ctx: PolicyContext) -> str:
    return ", ".join(ctx.config.all_allowed_database_repositories)


def _check_source(
    resource: Resource, source: ImageSource, database: bool, ctx: PolicyContext
) -> Violation | None:
    subject = f"{resource.name} ({source.where})"
    if not isinstance(source.value, str):
        state = "is unknown at preview" if source.value is not None else "is missing"
        return SPEC.violation(
            resource,
            f"cannot verify that {subject} is a pgvector image: the image reference {state}. "
            f"Give the plain reference (e.g. {SUGGESTED_IMAGE}) so it can be checked before "
            "anything runs.",
        )
    try:
        image = parse_image_reference(source.value)
    except InvalidImageReference as error:
        return SPEC.violation(
            resource, f"cannot verify that {subject} is a pgvector image: {error}."
        )
    if not (database or is_postgres_repository(image)):
        return None
    if ctx.config.allows_database_image(image):
        return None
    why = "plays the database role" if database else "is a PostgreSQL image"
    return SPEC.violation(
        resource,
        f"{subject} {why} but image '{source.value}' (repository {image.name}) is not a pgvector "
        f"image: without pgvector, CREATE EXTENSION vector and every migration using VECTOR "
        f"columns fail. Allowed repositories: {_allowed_list(ctx)}; use e.g. {SUGGESTED_IMAGE}.",
    )


def check_workload(resource: Resource, ctx: PolicyContext) -> list[Violation]:
    """A Kubernetes workload: its database containers must run a pgvector image, and no
    container (init containers included) may run another PostgreSQL image."""
    database = kubernetes.plays_database_role(resource)
    violations = []
    for path, container in kubernetes.containers(resource):
        image = container.get("image") if isinstance(container, dict) else None
        role = database and "initContainers" not in path
        violation = _check_source(resource, ImageSource(f"{path} image", image), role, ctx)
        if violation is not None:
            violations.append(violation)
    if database and not violations and not any(kubernetes.containers(resource, init=False)):
        violations.append(
            SPEC.violation(resource, f"cannot verify {resource.name}: it declares no containers.")
        )
    return violations


def check(resource: Resource, ctx: PolicyContext) -> list[Violation]:
    """Violations of pgvector-only for one resource (RemoteImage, Container, Kubernetes
    workload; others pass)."""
    if resource.type in kubernetes.WORKLOADS:
        return check_workload(resource, ctx)
    if resource.type not in (REMOTE_IMAGE, CONTAINER):
        return []
    sources = image_sources(resource)
    database = plays_database_role(resource)
    # A non-database container whose image cannot be read passes here: its image comes from a
    # RemoteImage, which this policy checks on its own. The database never passes unread.
    strict = database or resource.type == REMOTE_IMAGE
    to_check = sources if strict else [s for s in sources if isinstance(s.value, str)]
    if database and not to_check:
        to_check = [ImageSource(f"label {IMAGE_LABEL}", None)]
    violations = []
    for source in to_check:
        violation = _check_source(resource, source, database, ctx)
        if violation is not None:
            violations.append(violation)
    return violations
