"""Settings validation: one clear error per bad key, all of them at once, before any resource."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from components.settings import (
    PROJECT_ROOT,
    SettingsError,
    declared_defaults,
    parse_settings,
)
from policies.program import run_program, stack_config


def dev(**changes: Any) -> dict[str, Any]:
    """The committed dev values with some sections' fields changed."""
    values = copy.deepcopy(stack_config("dev"))
    for section, fields in changes.items():
        if isinstance(fields, dict):
            values.setdefault(section, {}).update(fields)
        else:
            values[section] = fields
    return values


def test_defaults_come_from_pulumi_yaml() -> None:
    settings = parse_settings("dev", {})
    project = yaml.safe_load((PROJECT_ROOT / "Pulumi.yaml").read_text())
    assert settings.database.image == project["config"]["database"]["default"]["image"]
    assert settings.cache.max_memory_mb == 256
    assert [b.role for b in settings.object_store.buckets] == ["assets", "temp", "backups"]
    assert settings.object_store.buckets[1].expiration_days == 7
    assert settings.backend.migration_command == ("alembic", "upgrade", "head")


def test_every_key_is_declared_with_type_default_and_secrecy() -> None:
    project = yaml.safe_load((PROJECT_ROOT / "Pulumi.yaml").read_text())
    for key, spec in project["config"].items():
        assert {"type", "default", "secret", "description"} <= set(spec), key
        assert spec["secret"] is False, key
    assert set(declared_defaults()) == set(project["config"])


def test_stack_values_merge_field_by_field() -> None:
    settings = parse_settings("dev", {"database": {"port": 6543}})
    assert settings.database.port == 6543
    assert settings.database.image == "pgvector/pgvector:pg17"


@pytest.mark.parametrize(
    ("changes", "pattern"),
    [
        ({"database": {"image": ""}}, r"appstack:database\.image: expected an image reference"),
        (
            {"database": {"image": "Postgres:15 alpine"}},
            r"appstack:database\.image: expected a well-formed image reference",
        ),
        ({"cache": {"image": "redis:"}}, r"appstack:cache\.image: expected a well-formed"),
        ({"network": {"mode": "overlay"}}, r'appstack:network\.mode: expected "bridge" or "host"'),
        ({"database": {"port": 70000}}, r"appstack:database\.port: expected an integer from 1"),
        ({"backend": {"port": 0}}, r"appstack:backend\.port: expected an integer from 1 to 65535"),
        ({"cache": {"port": 5432}}, r"appstack:cache\.port: expected a port not already used by"),
        ({"cache": {"maxMemoryMb": -5}}, r"appstack:cache\.maxMemoryMb: expected an integer"),
        (
            {"cache": {"maxMemoryPolicy": "lru"}},
            r"appstack:cache\.maxMemoryPolicy: expected one of",
        ),
        (
            {"backend": {"corsOrigins": ["localhost:3000"]}},
            r"appstack:backend\.corsOrigins\[0\]: expected an origin",
        ),
        (
            {"backend": {"corsOrigins": ["https://app.example.com/path"]}},
            r"appstack:backend\.corsOrigins\[0\]: expected an origin \(an origin has no path",
        ),
        ({"health": {"interval": "1 minute"}}, r"appstack:health\.interval: expected a duration"),
        ({"database": {"imagee": "x"}}, r"appstack:database\.imagee: expected one of the keys"),
        (
            {"objectStore": {"buckets": [{"role": "temp", "expirationDays": 0}]}},
            r"appstack:objectStore\.buckets\[0\]\.expirationDays: expected an integer from 1",
        ),
        (
            {"objectStore": {"buckets": [{"role": "a1"}, {"role": "a1"}]}},
            r"appstack:objectStore\.buckets\[1\]\.role: expected a role used by no other bucket",
        ),
        (
            {"objectStore": {"buckets": [{"role": "logs", "noncurrentVersionExpirationDays": 3}]}},
            r"noncurrentVersionExpirationDays: expected versioning: true",
        ),
        (
            {"network": {"bindAddress": "localhost"}},
            r"appstack:network\.bindAddress: expected an IPv4",
        ),
        (
            {"backend": {"buildNetwork": "bridge"}},
            r'appstack:backend\.buildNetwork: expected "default" or "host" or "none"',
        ),
    ],
)
def test_each_bad_value_is_named_with_what_was_expected(
    changes: dict[str, Any], pattern: str
) -> None:
    with pytest.raises(SettingsError, match=pattern):
        parse_settings("dev", dev(**changes))


def test_unknown_stack_names_the_known_ones() -> None:
    with pytest.raises(SettingsError, match=r"stack 'qa': expected one of dev, stage, prod, ci"):
        parse_settings("qa", {})


def test_outside_dev_a_backend_image_is_required() -> None:
    values = copy.deepcopy(stack_config("stage"))
    values["backend"]["image"] = ""
    with pytest.raises(
        SettingsError, match=r"appstack:backend\.image: expected an image reference"
    ):
        parse_settings("stage", values)


def test_prod_must_protect_its_data() -> None:
    values = copy.deepcopy(stack_config("prod"))
    values["data"] = {"protect": False, "retainOnDelete": True}
    with pytest.raises(SettingsError, match=r"appstack:data: expected protect: true"):
        parse_settings("prod", values)


def test_all_problems_are_reported_at_once() -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings(
            "dev",
            dev(
                database={"image": "", "port": -1},
                network={"mode": "mesh"},
                backend={"corsOrigins": ["ftp://x"]},
            ),
        )
    assert len(caught.value.problems) == 4
    message = str(caught.value)
    assert message.startswith("invalid appstack configuration (4 problem(s)):")
    for key in ("database.image", "database.port", "network.mode", "backend.corsOrigins[0]"):
        assert f"appstack:{key}:" in message


def test_unknown_top_level_key_is_reported_by_the_program() -> None:
    import pulumi

    values = dev()
    values["databse"] = {"image": "pgvector/pgvector:pg17"}
    with pytest.raises(pulumi.RunError, match=r"appstack:databse: expected one of the keys"):
        run_program("dev", values)


def test_a_users_mistake_ends_without_a_traceback() -> None:
    """The program raises pulumi.RunError, which the engine prints as a message alone."""
    import pulumi

    with pytest.raises(pulumi.RunError) as caught:
        run_program("dev", dev(network={"mode": "overlay"}))
    assert "Traceback" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
