"""evaluate(): every policy over a whole graph, and the neutral model's helpers and config."""

from __future__ import annotations

from dataclasses import replace

import pytest

from appstack.contract import UNKNOWN
from policies.evaluate import POLICIES, evaluate, has_mandatory
from policies.model import PolicyConfig, PolicyContext, Resource, path_is_secret
from policies.pack_adapter import neutral_value, parse_urn, to_resource
from tests.policies.graph import baseline, named, outputs, with_label, with_props


@pytest.mark.parametrize("stack", ["dev", "stage", "prod", "ci"])
def test_compliant_stacks_are_clean(stack: str) -> None:
    values, secrets = outputs(stack)
    assert evaluate(baseline(stack), stack, values, secrets) == []


def test_all_nine_policies_run_in_order() -> None:
    assert [spec.name for spec, _check in POLICIES] == [
        "pgvector-only",
        "pinned-images",
        "data-kept-in-prod",
        "private-storage",
        "health-checks",
        "no-plaintext-secrets",
        "environment-prefix",
        "remote-bind-address",
        "remote-bind-address-advisory",
    ]
    assert [spec.mandatory for spec, _check in POLICIES] == [True] * 6 + [False, True, False]


def test_hostile_prod_stack_reports_each_problem() -> None:
    resources = baseline("prod")
    resources = [
        with_props(r, name="postgres:15-alpine") if r.name == "appstack-database-image" else r
        for r in resources
    ]
    resources = [
        with_label(r, "appstack.image", "redis:7") if r.name == "appstack-cache-container" else r
        for r in resources
    ]
    values, secrets = outputs("prod")
    violations = evaluate(resources, "prod", values, secrets - {"database.dsn"})
    found = {(v.policy, v.resource) for v in violations}
    assert found == {
        ("pgvector-only", "appstack-database-image"),
        ("pinned-images", "appstack-database-image"),
        ("pinned-images", "appstack-cache-container"),
        ("no-plaintext-secrets", "stack outputs"),
    }
    assert has_mandatory(violations)
    assert "pgvector" in str(violations[0]) and str(violations[0]).startswith("[mandatory]")


def test_advisory_only_is_not_mandatory() -> None:
    resources = [
        with_props(r, name="database") if r.name == "appstack-database-container" else r
        for r in baseline("dev")
    ]
    violations = evaluate(resources, "dev")
    assert [v.policy for v in violations] == ["environment-prefix"]
    assert not has_mandatory(violations)


def test_config_reaches_the_policies() -> None:
    mirror = "registry.local:5000/mirror/pgvector:pg17"
    resources = [
        with_props(r, name=mirror) if r.name == "appstack-database-image" else r
        for r in baseline("dev")
    ]
    resources = [
        with_label(r, "appstack.image", mirror) if r.name == "appstack-database-container" else r
        for r in resources
    ]
    assert {v.policy for v in evaluate(resources, "dev")} == {"pgvector-only"}
    config = PolicyConfig(
        extra_allowed_database_repositories=("registry.local:5000/mirror/pgvector",)
    )
    assert evaluate(resources, "dev", config=config) == []


def test_policy_config_from_pack_mapping() -> None:
    assert PolicyConfig.from_mapping(None) == PolicyConfig()
    config = PolicyConfig.from_mapping(
        {"allowedRepositories": ["a/b"], "productionEnvironments": ["prod", "live"]}
    )
    assert config.all_allowed_database_repositories == ("a/b",)
    assert config.production_environments == ("prod", "live")


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"allowedRepositories": "pgvector/pgvector"}, "'allowedRepositories' must be a list"),
        ({"extraAllowedRepositories": [1]}, "non-empty strings"),
        ({"allowedRepositories": ["Bad/Repo"]}, "invalid image reference"),
        ({"allowedRepositories": ["pgvector/pgvector:pg17"]}, "must not have a tag or digest"),
    ],
)
def test_bad_policy_config_is_refused(mapping: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PolicyConfig.from_mapping(mapping)


def test_environment_comes_from_label_or_stack() -> None:
    container = named(baseline("dev"), "appstack-cache-container")
    ctx = PolicyContext("stage")
    assert ctx.environment_of(container) == "dev"
    assert ctx.environment_of(with_label(container, "appstack.environment", None)) == "stage"
    assert ctx.environment_of(with_label(container, "appstack.environment", UNKNOWN)) == "stage"
    assert PolicyContext("prod").is_production(container)
    assert PolicyContext("dev").is_production(with_label(container, "appstack.environment", "prod"))


def test_labels_accept_list_and_mapping_forms() -> None:
    listed = Resource(type="t", name="n", props={"labels": [{"label": "a", "value": "1"}]})
    mapped = Resource(type="t", name="n", props={"labels": {"a": "1"}})
    unknown = Resource(type="t", name="n", props={"labels": UNKNOWN})
    assert listed.label("a") == mapped.label("a") == "1"
    assert unknown.labels() == {}


@pytest.mark.parametrize(
    ("path", "secrets", "expected"),
    [
        ("envs", {"envs"}, True),
        ("envs[1]", {"envs"}, True),
        ("envs[1]", {"envs[1]"}, True),
        ("envs[1]", {"envs[0]"}, False),
        ("database.dsn", {"database"}, True),
        ("database.dsn", {"database.dsn"}, True),
        ("databaseX.dsn", {"database"}, False),
        ("a.b[2].c", {"a.b[2]"}, True),
    ],
)
def test_secret_paths_cover_their_children(path: str, secrets: set[str], expected: bool) -> None:
    assert path_is_secret(path, secrets) is expected


def test_adapter_parses_urns_and_parent_types() -> None:
    urn = (
        "urn:pulumi:prod::appstack::appstack:index:Platform$appstack:index:Database"
        "$docker:index/volume:Volume::appstack-database-data"
    )
    stack, project, chain, name = parse_urn(urn)
    assert (stack, project, name) == ("prod", "appstack", "appstack-database-data")
    assert chain[-1] == "docker:index/volume:Volume"
    resource = to_resource("docker:index/volume:Volume", name, urn, {"name": "x"}, True)
    assert resource.parent_type == "appstack:index:Database"
    assert resource.protect and resource.retain_on_delete is None
    assert parse_urn("not-a-urn") == ("", "", [], "")


def test_adapter_maps_unknowns_and_collects_secrets() -> None:
    from pulumi_policy import Secret
    from pulumi_policy.proxy import (
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_STRING_VALUE,
        unknown_checking_proxy,
    )

    raw = {
        "image": UNKNOWN_STRING_VALUE,
        "ports": UNKNOWN_ARRAY_VALUE,
        "envs": ["A=1", Secret("PASSWORD=x")],
        "nested": {"dsn": Secret({"inner": UNKNOWN_STRING_VALUE})},
    }
    secrets: set[str] = set()
    value = neutral_value(unknown_checking_proxy(raw), "", secrets)
    assert value == {
        "image": UNKNOWN,
        "ports": UNKNOWN,
        "envs": ["A=1", "PASSWORD=x"],
        "nested": {"dsn": {"inner": UNKNOWN}},
    }
    assert secrets == {"envs[1]", "nested.dsn"}


def test_resource_is_immutable() -> None:
    resource = named(baseline(), "appstack-cache-image")
    with pytest.raises(AttributeError):
        resource.name = "x"  # type: ignore[misc]
    assert replace(resource, protect=True).protect
