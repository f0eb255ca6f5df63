"""The image reference parser: normalisation, every part of a reference, and malformed input."""

from __future__ import annotations

import pytest

from appstack.contract import ImageReference, InvalidImageReference, parse_image_reference

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("ref", "registry", "path", "tag", "digest"),
    [
        ("postgres", "docker.io", "library/postgres", None, None),
        ("postgres:16", "docker.io", "library/postgres", "16", None),
        ("postgres:16-pgvector", "docker.io", "library/postgres", "16-pgvector", None),
        ("library/postgres:16", "docker.io", "library/postgres", "16", None),
        ("docker.io/library/postgres:16", "docker.io", "library/postgres", "16", None),
        ("docker.io/postgres:16", "docker.io", "library/postgres", "16", None),
        ("index.docker.io/library/postgres:16", "docker.io", "library/postgres", "16", None),
        ("pgvector/pgvector:pg16", "docker.io", "pgvector/pgvector", "pg16", None),
        ("docker.io/pgvector/pgvector:pg16", "docker.io", "pgvector/pgvector", "pg16", None),
        ("pgvector/pgvector@" + DIGEST, "docker.io", "pgvector/pgvector", None, DIGEST),
        ("pgvector/pgvector:pg17@" + DIGEST, "docker.io", "pgvector/pgvector", "pg17", DIGEST),
        ("localhost/x", "localhost", "x", None, None),
        ("localhost:5000/x", "localhost:5000", "x", None, None),
        ("localhost:5000/x:1.0", "localhost:5000", "x", "1.0", None),
        (
            "registry.example.com:5443/team/sub/repo:v1.2.3@" + DIGEST,
            "registry.example.com:5443",
            "team/sub/repo",
            "v1.2.3",
            DIGEST,
        ),
        ("ghcr.io/pgvector/pgvector:pg17", "ghcr.io", "pgvector/pgvector", "pg17", None),
        ("127.0.0.1:5000/app", "127.0.0.1:5000", "app", None, None),
        ("[::1]:5000/app:2", "[::1]:5000", "app", "2", None),
        ("bitnami/postgresql:16.4.0", "docker.io", "bitnami/postgresql", "16.4.0", None),
        ("my_org/my__repo-x.y:Tag_1", "docker.io", "my_org/my__repo-x.y", "Tag_1", None),
        ("REGISTRY.Example.com/a/b", "REGISTRY.Example.com", "a/b", None, None),
        ("Index.Docker.IO/pgvector/pgvector", "docker.io", "pgvector/pgvector", None, None),
        ("UPPER/x", "UPPER", "x", None, None),
        ("localhost:5000", "docker.io", "library/localhost", "5000", None),
    ],
)
def test_parses_and_normalises(
    ref: str, registry: str, path: str, tag: str | None, digest: str | None
) -> None:
    image = parse_image_reference(ref)
    assert (image.registry, image.repository_path, image.tag, image.digest) == (
        registry,
        path,
        tag,
        digest,
    )
    assert image.original == ref


def test_derived_parts() -> None:
    image = parse_image_reference("registry.example.com:5443/team/sub/repo:v1@" + DIGEST)
    assert image.host == "registry.example.com"
    assert image.port == 5443
    assert image.namespace == "team/sub"
    assert image.repository == "repo"
    assert image.name == "registry.example.com:5443/team/sub/repo"
    assert image.pinned_by_digest
    assert image.digest_algorithm == "sha256"
    assert str(image) == "registry.example.com:5443/team/sub/repo:v1@" + DIGEST


def test_docker_hub_names_print_the_familiar_way() -> None:
    official = parse_image_reference("docker.io/library/postgres:16")
    assert official.familiar_name == "postgres"
    assert official.name == "docker.io/library/postgres"
    assert official.host == "docker.io" and official.port is None
    assert str(official) == "postgres:16"
    assert parse_image_reference("pgvector/pgvector:pg17").familiar_name == "pgvector/pgvector"
    assert not parse_image_reference("pgvector/pgvector:pg17").pinned_by_digest


def test_ipv6_registry_parts() -> None:
    image = parse_image_reference("[::1]:5000/app")
    assert image.host == "[::1]"
    assert image.port == 5000


def test_reference_is_frozen_and_comparable() -> None:
    a = parse_image_reference("postgres:16")
    b = parse_image_reference("docker.io/library/postgres:16")
    assert isinstance(a, ImageReference)
    assert (a.name, a.tag) == (b.name, b.tag)
    with pytest.raises(AttributeError):
        a.tag = "17"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        ("", "empty"),
        (" postgres:16", "whitespace"),
        ("postgres 16", "whitespace"),
        ("postgres:", "tag ''"),
        (":16", "repository name is empty"),
        ("Postgres:16", "lowercase"),
        ("pgvector/PGVector:pg16", "lowercase"),
        ("a//b", "empty component"),
        ("/postgres", "empty component"),
        ("postgres/", "empty component"),
        ("-postgres", "path component '-postgres'"),
        ("postgres..x", "path component"),
        ("postgres:-16", "tag '-16'"),
        ("postgres:" + "x" * 129, "tag"),
        ("postgres:16:17", "path component 'postgres:16'"),
        ("postgres@sha256:abc", "64 lowercase hex"),
        ("postgres@sha256:" + "AB" * 32, "64 lowercase hex"),
        ("postgres@" + DIGEST + "@" + DIGEST, "more than one '@'"),
        ("postgres@latest", "<algorithm>:<hex>"),
        ("postgres@md5:abc", "shorter than 32"),
        ("https://docker.io/postgres:16", "URL scheme"),
        ("localhost:99999/x", "out of range"),
        ("bad_host:5000/x", "not a valid host"),
        ("x/" * 130 + "y", "longer than 255"),
    ],
)
def test_malformed_references_say_why(ref: str, reason: str) -> None:
    with pytest.raises(InvalidImageReference, match="invalid image reference") as caught:
        parse_image_reference(ref)
    assert reason in caught.value.reason
    assert isinstance(caught.value, ValueError)


def test_non_string_is_refused() -> None:
    with pytest.raises(InvalidImageReference, match="must be a string"):
        parse_image_reference(None)  # type: ignore[arg-type]
