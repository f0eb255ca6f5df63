"""no-plaintext-secrets: credentials in envs, props and outputs must be secret."""

from __future__ import annotations

from dataclasses import replace

import pytest

from appstack.contract import COMMAND, UNKNOWN
from policies import no_plaintext_secrets
from policies.model import PolicyContext, Resource
from tests.policies.graph import baseline, check_one, named, only, outputs, with_props

POLICY = "no-plaintext-secrets"
BACKEND = "appstack-backend-container"


def plain_envs(envs: list[object]) -> Resource:
    container = with_props(named(baseline(), BACKEND), envs=envs)
    return replace(container, secret_props=frozenset())


def test_baseline_is_clean() -> None:
    for resource in baseline("prod"):
        assert check_one(no_plaintext_secrets.check, resource, "prod") == [], resource.name


@pytest.mark.parametrize(
    ("entry", "key"),
    [
        ("POSTGRES_PASSWORD=hunter2", "POSTGRES_PASSWORD"),
        ("MINIO_ROOT_PASSWORD=hunter2", "MINIO_ROOT_PASSWORD"),
        ("APP_SECRET=abc", "APP_SECRET"),
        ("GITHUB_TOKEN=abc", "GITHUB_TOKEN"),
        ("S3_SECRET_KEY=abc", "S3_SECRET_KEY"),
        ("API_KEY=abc", "API_KEY"),
        ("DATABASE_DSN=host=x", "DATABASE_DSN"),
        ("DATABASE_URL=postgresql+psycopg://app:hunter2@127.0.0.1/db", "DATABASE_URL"),
        ("REDIS_URL=redis://:hunter2@127.0.0.1:6379/0", "REDIS_URL"),
    ],
)
def test_plain_credential_env_is_refused(entry: str, key: str) -> None:
    container = plain_envs(["PYTHONDONTWRITEBYTECODE=1", entry])
    violation = only(check_one(no_plaintext_secrets.check, container), POLICY, BACKEND)
    assert f"environment entry envs[1] ({key})" in violation.message
    assert "hunter2" not in violation.message and entry not in violation.message


@pytest.mark.parametrize(
    "entry",
    [
        "PYTHONDONTWRITEBYTECODE=1",
        "REDIS_URL=redis://127.0.0.1:6379/0",
        "BACKEND_URL=http://user@127.0.0.1:8000",
        "CORS_ORIGINS=http://localhost:3000",
        "POSTGRES_PASSWORD=",
        "KEY_PREFIX=assets",
        "S3_SECURE=false",
    ],
)
def test_harmless_envs_pass(entry: str) -> None:
    assert check_one(no_plaintext_secrets.check, plain_envs([entry])) == []


def test_whole_envs_secret_or_single_entry_secret_both_count() -> None:
    container = plain_envs(["A=1", "POSTGRES_PASSWORD=x"])
    assert (
        check_one(no_plaintext_secrets.check, replace(container, secret_props=frozenset({"envs"})))
        == []
    )
    assert (
        check_one(
            no_plaintext_secrets.check, replace(container, secret_props=frozenset({"envs[1]"}))
        )
        == []
    )
    only(
        check_one(
            no_plaintext_secrets.check, replace(container, secret_props=frozenset({"envs[0]"}))
        ),
        POLICY,
        BACKEND,
    )


def test_unknown_values_are_not_reported() -> None:
    assert check_one(no_plaintext_secrets.check, plain_envs([UNKNOWN, "A=1"])) == []
    container = replace(
        with_props(named(baseline(), BACKEND), envs=UNKNOWN), secret_props=frozenset()
    )
    assert check_one(no_plaintext_secrets.check, container) == []


def test_command_environment_dsn_must_be_secret() -> None:
    command = Resource(
        type=COMMAND,
        name="appstack-migration-run",
        props={"environment": {"DATABASE_URL": "postgresql://u:hunter2@h/db", "HOME": "/tmp"}},
    )
    violation = only(check_one(no_plaintext_secrets.check, command), POLICY, command.name)
    assert "property environment.DATABASE_URL (DATABASE_URL)" in violation.message
    secret = replace(command, secret_props=frozenset({"environment.DATABASE_URL"}))
    assert check_one(no_plaintext_secrets.check, secret) == []


def test_dynamic_resource_credentials_must_be_secret() -> None:
    bucket = named(baseline(), "appstack-objectstore-bucket-assets")
    leaked = replace(bucket, secret_props=frozenset({"access_key"}))
    violation = only(check_one(no_plaintext_secrets.check, leaked), POLICY, bucket.name)
    assert "property secret_key (secret_key)" in violation.message


def test_outputs_baseline_is_clean() -> None:
    values, secrets = outputs()
    assert (
        no_plaintext_secrets.check_outputs(values, frozenset(secrets), PolicyContext("dev")) == []
    )


@pytest.mark.parametrize(
    "path", ["database.dsn", "cache.url", "objectStore.accessKey", "objectStore.secretKey"]
)
def test_plain_secret_output_is_refused(path: str) -> None:
    values, secrets = outputs()
    violations = no_plaintext_secrets.check_outputs(
        values, frozenset(secrets - {path}), PolicyContext("dev")
    )
    violation = only(violations, POLICY, "stack outputs")
    assert f"stack output {path} holds a credential" in violation.message


def test_whole_output_object_secret_covers_its_fields() -> None:
    values, _ = outputs()
    secrets = frozenset({"database", "cache", "objectStore"})
    assert no_plaintext_secrets.check_outputs(values, secrets, PolicyContext("dev")) == []


def test_stack_resource_props_are_checked_as_outputs() -> None:
    values, secrets = outputs()
    stack = Resource(
        type="pulumi:pulumi:Stack",
        name="appstack-dev",
        props=values,
        secret_props=frozenset(secrets - {"database.dsn"}),
    )
    violation = only(check_one(no_plaintext_secrets.check, stack), POLICY, "stack outputs")
    assert "database.dsn" in violation.message


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("password", True),
        ("secretKey", True),
        ("accessKey", True),
        ("dsn", True),
        ("apiToken", True),
        ("KEY", True),
        ("keyPrefix", False),
        ("pgvectorVersion", False),
        ("imageId", False),
        ("access", False),
        ("url", False),
    ],
)
def test_secret_looking_names(name: str, secret: bool) -> None:
    assert no_plaintext_secrets.name_looks_secret(name) is secret
