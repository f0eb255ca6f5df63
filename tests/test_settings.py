"""Settings validation: one clear error per bad key, all of them at once, before any resource."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
import yaml

from appstack.defaults import defaults
from appstack.settings import SettingsError, declared_defaults, parse_settings
from tests.stacks import REPO_ROOT, run_stack, stack_config

PROJECT = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())


def dev(**changes: Any) -> dict[str, Any]:
    """The committed dev values with some sections' fields changed."""
    values = copy.deepcopy(stack_config("dev"))
    for section, fields in changes.items():
        if isinstance(fields, dict):
            values.setdefault(section, {}).update(fields)
        else:
            values[section] = fields
    return values


def test_the_packaged_defaults_are_the_schema_defaults_of_pulumi_yaml() -> None:
    """One source of truth in two files: the CLI reads Pulumi.yaml, the package defaults.yaml."""
    schema = {key: spec["default"] for key, spec in PROJECT["config"].items()}
    assert defaults() == schema
    assert declared_defaults() == schema


def test_every_key_is_declared_with_type_default_and_secrecy() -> None:
    for key, spec in PROJECT["config"].items():
        assert {"type", "default", "secret", "description"} <= set(spec), key
        assert spec["secret"] is False, key


def test_an_empty_stack_gets_every_default() -> None:
    settings = parse_settings("dev", {})
    database = defaults()["database"]
    assert (settings.database.image, settings.database.port) == (
        database["image"],
        database["port"],
    )
    assert [b.role for b in settings.object_store.buckets] == [
        bucket["role"] for bucket in defaults()["objectStore"]["buckets"]
    ]


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


@pytest.mark.parametrize("stack", ["qa", "feature-42", "x"])
def test_any_stack_named_like_a_prefix_is_an_environment(stack: str) -> None:
    settings = parse_settings(stack, {})
    assert settings.environment == stack
    assert settings.bucket_name("temp") == f"{stack}-appstack-temp"


@pytest.mark.parametrize("stack", ["QA", "feature_42", "-dev", "dev-", "a.b", "x" * 21])
def test_a_stack_name_that_makes_bad_docker_or_bucket_names_is_refused(stack: str) -> None:
    with pytest.raises(SettingsError, match=rf"stack '{re.escape(stack)}': expected 1-20 lower"):
        parse_settings(stack, {})


def test_the_settings_accept_a_stage_stack_without_a_backend_image() -> None:
    """Whether a backend image is needed is the Platform's business, not the stack file's."""
    values = copy.deepcopy(stack_config("stage"))
    values["backend"]["image"] = ""
    assert parse_settings("stage", values).backend.image is None


def test_outside_dev_the_platform_requires_a_backend_image() -> None:
    import pulumi

    values = copy.deepcopy(stack_config("stage"))
    values["backend"]["image"] = ""
    with pytest.raises(
        pulumi.RunError, match=r"appstack:backend\.image: expected an image reference \(only dev"
    ):
        run_stack("stage", values)


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
        run_stack("dev", values)


def test_a_users_mistake_ends_without_a_traceback() -> None:
    """The program raises pulumi.RunError, which the engine prints as a message alone."""
    import pulumi

    with pytest.raises(pulumi.RunError) as caught:
        run_stack("dev", dev(network={"mode": "overlay"}))
    assert "Traceback" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


# ---------------------------------------------------------------------------- hostile values


@pytest.mark.parametrize(
    "address",
    [
        "127.000.000.001",
        "010.0.0.1",
        "127.0.0.01",
        "00.0.0.0",
        "256.0.0.1",
        "1.2.3",
        "1.2.3.4.5",
        "1.2.3.4 ",
        "127.0.0.1\n",
        "١٢٧.0.0.1",
        "::1",
        "localhost",
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "",
        7,
    ],
)
def test_a_bind_address_docker_would_not_parse_or_listen_on_is_refused(address: object) -> None:
    with pytest.raises(SettingsError, match=r"appstack:network\.bindAddress: expected"):
        parse_settings("dev", dev(network={"bindAddress": address}))


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.5", "192.168.1.20", "0.1.2.3"])
def test_a_bind_address_as_docker_reads_it_is_accepted(address: str) -> None:
    assert parse_settings("dev", dev(network={"bindAddress": address})).network.bind_address == (
        address
    )


@pytest.mark.parametrize(
    "path",
    [
        "health",
        "",
        "/health?x=1",
        "/health#top",
        "/he alth",
        "/health\n",
        "/health\x00",
        "/%zz",
        '/health"',
        "/heälth",
        "/" + "a" * 1024,
        None,
        ["/health"],
    ],
)
def test_a_health_path_that_is_not_a_url_path_is_refused(path: object) -> None:
    with pytest.raises(SettingsError, match=r"appstack:backend\.healthPath: expected a URL path"):
        parse_settings("dev", dev(backend={"healthPath": path}))


@pytest.mark.parametrize("path", ["/health", "/", "/api/v1/health", "/h%20x", "/it's(ok)"])
def test_a_url_path_is_accepted_as_the_health_path(path: str) -> None:
    assert parse_settings("dev", dev(backend={"healthPath": path})).backend.health_path == path


@pytest.mark.parametrize(
    ("context", "reason"),
    [
        ("/", "not an absolute path"),
        ("/work", "not an absolute path"),
        ("~/app", "not an absolute path"),
        ("../app", "no \\.\\."),
        ("app/../..", "no \\.\\."),
        ("no-such-directory", "no such directory"),
        ("README.md", "no such directory"),
        ("policies", "holding a Dockerfile"),
        ("", "a directory relative to the project"),
        (3, "a directory relative to the project"),
    ],
)
def test_a_build_context_outside_the_project_or_missing_is_refused(
    context: object, reason: str
) -> None:
    pattern = r"appstack:backend\.buildContext: expected .*" + reason
    with pytest.raises(SettingsError, match=pattern):
        parse_settings("dev", dev(backend={"buildContext": context}))


def test_a_build_context_is_resolved_through_symlinks(tmp_path: Any) -> None:
    from appstack.validation import build_context_problem

    project = tmp_path / "project"
    (project / "app").mkdir(parents=True)
    (project / "app" / "Dockerfile").write_text("FROM scratch\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "Dockerfile").write_text("FROM scratch\n")
    (project / "escape").symlink_to(outside)
    (project / "inside").symlink_to(project / "app")
    (project / "loop").symlink_to(project / "loop")
    assert build_context_problem("app", built=True, root=project) is None
    assert build_context_problem("inside", built=True, root=project) is None
    assert "outside the project" in str(build_context_problem("escape", built=True, root=project))
    assert build_context_problem("loop", built=True, root=project) is not None


def test_a_build_context_needs_no_dockerfile_when_an_image_is_given() -> None:
    values = copy.deepcopy(stack_config("stage"))
    values["backend"]["buildContext"] = "policies"
    assert parse_settings("stage", values).backend.build_context == "policies"


@pytest.mark.parametrize(
    ("role", "rule"),
    [
        ("x-s3alias", "reserved suffixes"),
        ("x--ol-s3", "reserved suffixes"),
    ],
)
def test_a_bucket_role_making_a_name_the_provider_refuses_is_refused(role: str, rule: str) -> None:
    buckets = [{"role": role}, {"role": "temp", "expirationDays": 7}]
    with pytest.raises(SettingsError) as caught:
        parse_settings("dev", dev(objectStore={"buckets": buckets}))
    message = str(caught.value)
    assert "appstack:objectStore.buckets[0].role: expected a role that makes a valid bucket" in (
        message
    )
    assert rule in message and f"dev-appstack-{role}" in message


def test_bucket_names_are_checked_by_the_bucket_providers_own_rules() -> None:
    """One implementation: the settings call the function the provider's `check` calls."""
    from appstack import bucket, settings

    assert settings.bucket_name_problems is bucket.bucket_name_problems


@pytest.mark.parametrize(
    ("role", "project"), [("temp\n", "appstack"), ("assets", "appstack\n"), ("Assets", "appstack")]
)
def test_names_with_a_trailing_newline_or_capitals_are_refused(role: str, project: str) -> None:
    values = dev(objectStore={"buckets": [{"role": role}]})
    values["project"] = project
    with pytest.raises(SettingsError, match=r"expected a string matching|lower-case"):
        parse_settings("dev", values)


def test_the_temp_bucket_must_expire_as_a_whole() -> None:
    buckets = [{"role": "temp", "expirationDays": 7, "prefix": "uploads/"}]
    with pytest.raises(
        SettingsError,
        match=r"appstack:objectStore\.buckets\[0\]\.prefix: expected empty: the temp bucket",
    ):
        parse_settings("dev", dev(objectStore={"buckets": buckets}))


def test_the_temp_bucket_must_expire_at_all() -> None:
    with pytest.raises(
        SettingsError, match=r"appstack:objectStore\.buckets\[0\]\.expirationDays: expected days"
    ):
        parse_settings("dev", dev(objectStore={"buckets": [{"role": "temp"}]}))


def test_another_bucket_may_expire_under_a_prefix() -> None:
    buckets = [{"role": "assets", "expirationDays": 30, "prefix": "previews/"}]
    settings = parse_settings("dev", dev(objectStore={"buckets": buckets}))
    assert settings.object_store.buckets[0].prefix == "previews/"


@pytest.mark.parametrize(
    "origin",
    [
        "https://App.example.com",
        "http://a.example.com,http://evil.example",
        "http://exa mple.com",
        "http://a..example.com",
        "https://app.example.com:99999",
        "https://app.example.com/",
        "https://app.example.com\n",
        "https://-app.example.com",
    ],
)
def test_an_origin_that_would_never_match_or_split_the_list_is_refused(origin: str) -> None:
    with pytest.raises(SettingsError, match=r"appstack:backend\.corsOrigins\[0\]: expected an"):
        parse_settings("dev", dev(backend={"corsOrigins": [origin]}))


@pytest.mark.parametrize(
    "origin", ["http://localhost:3000", "https://app.example.com", "http://127.0.0.1:5173"]
)
def test_an_origin_as_browsers_send_it_is_accepted(origin: str) -> None:
    settings = parse_settings("dev", dev(backend={"corsOrigins": [origin]}))
    assert settings.backend.cors_origins == (origin,)


@pytest.mark.parametrize(
    ("changes", "pattern"),
    [
        ({"cache": {"port": "٦٣٧٩"}}, r"appstack:cache\.port: expected an integer"),
        ({"objectStore": {"healthCommand": False}}, r"objectStore\.healthCommand: expected a non"),
        ({"objectStore": {"healthCommand": ""}}, r"objectStore\.healthCommand: expected a non"),
        ({"backend": {"migrationCommand": ["alembic", "up\x00"]}}, r"migrationCommand: expected"),
        (
            {"objectStore": {"buckets": [{"role": "assets", "prefix": "p" * 1025}]}},
            r"buckets\[0\]\.prefix: expected a string of at most 1024 bytes",
        ),
    ],
)
def test_more_values_that_would_fail_later_are_refused_now(
    changes: dict[str, Any], pattern: str
) -> None:
    with pytest.raises(SettingsError, match=pattern):
        parse_settings("dev", dev(**changes))
