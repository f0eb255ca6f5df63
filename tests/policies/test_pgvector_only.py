"""pgvector-only: the database and every PostgreSQL image must come from an allowed repository."""

from __future__ import annotations

from dataclasses import replace

import pytest

from appstack.contract import CONTAINER, REMOTE_IMAGE, UNKNOWN
from policies import pgvector_only
from policies.model import PolicyConfig, Resource
from tests.policies.graph import (
    DIGEST,
    IMAGE_ID,
    baseline,
    check_one,
    named,
    only,
    with_label,
    with_props,
)

POLICY = "pgvector-only"
DB_IMAGE = "appstack-database-image"
DB_CONTAINER = "appstack-database-container"


def db_image(ref: str) -> Resource:
    return with_props(named(baseline(), DB_IMAGE), name=ref)


def db_container_label(ref: object) -> Resource:
    return with_label(named(baseline(), DB_CONTAINER), "appstack.image", ref)


def test_baseline_graph_is_clean() -> None:
    for resource in baseline("dev") + baseline("prod"):
        assert check_one(pgvector_only.check, resource) == [], resource.name


@pytest.mark.parametrize(
    "ref",
    [
        "pgvector/pgvector:pg16",
        "docker.io/pgvector/pgvector:pg16",
        "index.docker.io/pgvector/pgvector:pg17",
        f"pgvector/pgvector@{DIGEST}",
        f"pgvector/pgvector:pg17@{DIGEST}",
        "pgvector/pgvector:pg18-appstack",
    ],
)
def test_pgvector_references_are_accepted(ref: str) -> None:
    assert check_one(pgvector_only.check, db_image(ref)) == []
    assert check_one(pgvector_only.check, db_container_label(ref)) == []


@pytest.mark.parametrize(
    ("ref", "repository"),
    [
        ("postgres:15-alpine", "docker.io/library/postgres"),
        ("postgres:16-pgvector", "docker.io/library/postgres"),
        ("docker.io/library/postgres:16", "docker.io/library/postgres"),
        ("library/postgres:pgvector", "docker.io/library/postgres"),
        ("bitnami/postgresql:16", "docker.io/bitnami/postgresql"),
        ("postgis/postgis:16-3.4", "docker.io/postgis/postgis"),
        ("ankane/pgvector:latest", "docker.io/ankane/pgvector"),
        ("ghcr.io/pgvector/pgvector:pg17", "ghcr.io/pgvector/pgvector"),
        ("pgvector/pgvector-fork:pg17", "docker.io/pgvector/pgvector-fork"),
        (f"postgres@{DIGEST}", "docker.io/library/postgres"),
    ],
)
def test_look_alikes_are_refused_on_the_database(ref: str, repository: str) -> None:
    violation = only(check_one(pgvector_only.check, db_image(ref)), POLICY, DB_IMAGE)
    assert f"image '{ref}' (repository {repository}) is not a pgvector image" in violation.message
    assert "pgvector/pgvector:pg17" in violation.message
    assert violation.mandatory


def test_database_container_label_is_checked() -> None:
    violation = only(
        check_one(pgvector_only.check, db_container_label("postgres:15-alpine")),
        POLICY,
        DB_CONTAINER,
    )
    assert "label appstack.image" in violation.message
    assert "plays the database role" in violation.message


@pytest.mark.parametrize(
    ("ref", "resource"),
    [
        ("postgres:16", "appstack-cache-image"),
        ("bitnami/postgresql:16", "appstack-backend-image"),
        ("registry.local:5000/team/postgis:3", "appstack-objectstore-image"),
    ],
)
def test_postgres_anywhere_is_refused_without_a_role(ref: str, resource: str) -> None:
    image = with_props(named(baseline(), resource), name=ref, build=None)
    violation = only(check_one(pgvector_only.check, image), POLICY, resource)
    assert "is a PostgreSQL image" in violation.message


def test_postgres_container_without_role_is_refused() -> None:
    cache = with_label(named(baseline(), "appstack-cache-container"), "appstack.image", "postgres")
    only(check_one(pgvector_only.check, cache), POLICY, "appstack-cache-container")


def test_tags_mentioning_pgvector_do_not_make_other_images_postgres() -> None:
    redis = with_props(named(baseline(), "appstack-cache-image"), name="redis:7-pgvector")
    assert check_one(pgvector_only.check, redis) == []


def test_role_is_found_from_label_parent_or_name() -> None:
    # Only the label says "database": no parent type, a neutral name.
    by_label = Resource(
        type=CONTAINER,
        name="store",
        props={
            "image": IMAGE_ID,
            "labels": [
                {"label": "appstack.role", "value": "database"},
                {"label": "appstack.image", "value": "mysql:8"},
            ],
        },
    )
    by_parent = Resource(
        type=REMOTE_IMAGE,
        name="img",
        props={"name": "mysql:8"},
        parent_type="appstack:index:Database",
    )
    by_name = Resource(type=REMOTE_IMAGE, name="my-database-img", props={"name": "mysql:8"})
    for resource in (by_label, by_parent, by_name):
        violation = only(check_one(pgvector_only.check, resource), POLICY, resource.name)
        assert "plays the database role" in violation.message


def test_unknown_database_image_without_label_is_refused() -> None:
    container = with_label(named(baseline(), DB_CONTAINER), "appstack.image", None)
    container = with_props(container, image=UNKNOWN)
    violation = only(check_one(pgvector_only.check, container), POLICY, DB_CONTAINER)
    assert "cannot verify" in violation.message
    assert "unknown at preview" in violation.message
    assert "pgvector" in violation.message


def test_unknown_image_with_plain_label_is_decided_by_the_label() -> None:
    container = with_props(named(baseline(), DB_CONTAINER), image=UNKNOWN)
    assert check_one(pgvector_only.check, container) == []
    bad = with_label(container, "appstack.image", "postgres:16")
    only(check_one(pgvector_only.check, bad), POLICY, DB_CONTAINER)


def test_unknown_label_on_the_database_is_refused() -> None:
    violation = only(
        check_one(pgvector_only.check, db_container_label(UNKNOWN)), POLICY, DB_CONTAINER
    )
    assert "unknown at preview" in violation.message


def test_database_container_with_only_an_image_id_is_refused() -> None:
    container = with_label(named(baseline(), DB_CONTAINER), "appstack.image", None)
    violation = only(check_one(pgvector_only.check, container), POLICY, DB_CONTAINER)
    assert "is missing" in violation.message


def test_unknown_remote_image_name_is_refused_even_without_role() -> None:
    image = with_props(named(baseline(), "appstack-cache-image"), name=UNKNOWN)
    violation = only(check_one(pgvector_only.check, image), POLICY, "appstack-cache-image")
    assert "unknown at preview" in violation.message


def test_unknown_image_of_other_containers_is_left_to_their_remote_image() -> None:
    cache = with_label(named(baseline(), "appstack-cache-container"), "appstack.image", None)
    assert check_one(pgvector_only.check, with_props(cache, image=UNKNOWN)) == []


def test_plain_image_prop_cannot_hide_behind_a_good_label() -> None:
    container = with_props(named(baseline(), DB_CONTAINER), image="postgres:15-alpine")
    violation = only(check_one(pgvector_only.check, container), POLICY, DB_CONTAINER)
    assert "(image)" in violation.message


def test_malformed_database_reference_is_refused() -> None:
    violation = only(
        check_one(pgvector_only.check, db_image("pgvector/PGVECTOR:pg17")), POLICY, DB_IMAGE
    )
    assert "invalid image reference" in violation.message


def test_allowed_repositories_are_configurable() -> None:
    mirror = "registry.local:5000/mirror/pgvector:pg17"
    only(check_one(pgvector_only.check, db_image(mirror)), POLICY, DB_IMAGE)
    config = PolicyConfig.from_mapping(
        {"extraAllowedRepositories": ["registry.local:5000/mirror/pgvector"]}
    )
    assert check_one(pgvector_only.check, db_image(mirror), config=config) == []
    assert check_one(pgvector_only.check, db_image("pgvector/pgvector:pg17"), config=config) == []
    narrowed = PolicyConfig.from_mapping({"allowedRepositories": ["mirror/pgvector"]})
    violation = only(
        check_one(pgvector_only.check, db_image("pgvector/pgvector:pg17"), config=narrowed),
        POLICY,
        DB_IMAGE,
    )
    assert "Allowed repositories: mirror/pgvector" in violation.message


def test_other_resource_types_are_ignored() -> None:
    volume = named(baseline(), "appstack-database-data")
    assert check_one(pgvector_only.check, replace(volume, props={"name": "postgres"})) == []
