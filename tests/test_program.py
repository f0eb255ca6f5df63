"""The whole program per stack under mocks: resource types, names, images, health, data safety,
secrets and dependency order, as the engine would receive them."""

from __future__ import annotations

from typing import Any

import pytest

from appstack.contract import UNKNOWN
from appstack.graph import ProgramRun, RecordedResource
from appstack.migration import runner_command
from appstack.settings import parse_settings
from tests.stacks import DOCKER_STACKS, REPO_ROOT, run_stack, stack_config

CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"
IMAGE = "docker:index/remoteImage:RemoteImage"
NETWORK = "docker:index/network:Network"
BUCKET = "pulumi-python:dynamic/appstack:Bucket"
PGVECTOR = "pulumi-python:dynamic/appstack:PgvectorExtension"
COMMAND = "command:local:Command"
PASSWORD = "random:index/randomPassword:RandomPassword"
ENVIRONMENTS = ("dev", "stage", "prod", "ci")


def labels(resource: RecordedResource) -> dict[str, str]:
    """A container's or volume's labels as a dict."""
    return {item["label"]: item["value"] for item in resource.inputs.get("labels", [])}


def container(run: ProgramRun, role: str) -> RecordedResource:
    """The container of a role."""
    found = [r for r in run.by_type(CONTAINER) if labels(r).get("appstack.role") == role]
    assert len(found) == 1, f"expected one {role} container, found {[r.name for r in found]}"
    return found[0]


def env_keys(resource: RecordedResource) -> set[str]:
    """The variable names of a container's environment."""
    return {entry.split("=", 1)[0] for entry in resource.inputs["envs"]}


def depends_on(run: ProgramRun, resource: RecordedResource, other: RecordedResource) -> bool:
    """Whether `resource` waits for `other`, directly or through the resources it waits for."""
    by_urn = {r.urn: r for r in run.resources}
    seen: set[str] = set()
    stack = list(resource.dependencies)
    while stack:
        urn = stack.pop()
        if urn == other.urn:
            return True
        if urn in seen or urn not in by_urn:
            continue
        seen.add(urn)
        stack.extend(by_urn[urn].dependencies)
    return False


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_component_tree_and_types(programs: dict[str, ProgramRun], stack: str) -> None:
    run = programs[stack]
    components = {r.type: r for r in run.resources if not r.custom}
    assert set(components) == {
        f"appstack:index:{name}"
        for name in (
            "Platform",
            "Network",
            "Database",
            "Cache",
            "ObjectStore",
            "Migration",
            "Backend",
        )
    }
    platform = components["appstack:index:Platform"]
    for component in components.values():
        if component is not platform:
            assert component.parent_urn == platform.urn, component.name
    for resource in run.resources:
        assert resource.name.startswith("appstack"), resource.name
    assert len(run.by_type(CONTAINER)) == 4
    assert len(run.by_type(PGVECTOR)) == 1
    assert len(run.by_type(COMMAND)) == 1


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_every_docker_object_carries_the_environment_prefix(
    programs: dict[str, ProgramRun], stack: str
) -> None:
    run = programs[stack]
    names = {r.inputs["name"] for r in run.resources if r.type in (CONTAINER, VOLUME, NETWORK)}
    assert {
        f"{stack}-database",
        f"{stack}-cache",
        f"{stack}-objectstore",
        f"{stack}-backend",
    } <= names
    assert {f"{stack}-database-data", f"{stack}-objectstore-data"} <= names
    assert all(name.startswith(f"{stack}-") for name in names), names
    buckets = sorted(r.inputs["bucket_name"] for r in run.by_type(BUCKET))
    assert buckets == [f"{stack}-appstack-{role}" for role in ("assets", "backups", "temp")]


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_images_are_the_configured_references(programs: dict[str, ProgramRun], stack: str) -> None:
    run = programs[stack]
    config = stack_config(stack)
    images = {r.name: r for r in run.by_type(IMAGE)}
    assert images["appstack-database-image"].inputs["name"] == config["database"]["image"]
    assert images["appstack-cache-image"].inputs["name"] == config["cache"]["image"]
    assert images["appstack-objectstore-image"].inputs["name"] == config["objectStore"]["image"]
    for image in images.values():
        assert image.inputs["keepLocally"] is True, image.name
    for role in ("database", "cache", "objectstore", "backend"):
        box = container(run, role)
        image_name = f"appstack-{role}-image" if role != "backend" else "appstack-backend-image"
        assert box.inputs["image"].startswith("sha256:")
        assert labels(box)["appstack.image"] == images[image_name].inputs["name"]


def test_dev_builds_the_backend_and_other_stacks_take_a_reference(
    programs: dict[str, ProgramRun],
) -> None:
    dev_image = programs["dev"].named("appstack-backend-image")
    assert dev_image.inputs["name"] == "dev-appstack-backend:local"
    assert dev_image.inputs["build"]["context"] == "app"
    assert len(dev_image.inputs["triggers"]["source"]) == 64
    # Docker's default build network unless the stack chooses one (see the next test).
    assert "networkMode" not in dev_image.inputs["build"]
    for stack in ("stage", "prod", "ci"):
        image = programs[stack].named("appstack-backend-image")
        assert "build" not in image.inputs
        assert image.inputs["name"] == stack_config(stack)["backend"]["image"]


@pytest.mark.parametrize("network", ["host", "none"])
def test_the_backend_build_runs_on_the_chosen_network(network: str) -> None:
    """An engine started without its default bridge builds only with "host" or "none"."""
    values = stack_config("dev")
    values["backend"] = {**values["backend"], "buildNetwork": network}
    image = run_stack("dev", values).named("appstack-backend-image")
    assert image.inputs["build"]["networkMode"] == network


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_every_container_has_a_health_check_and_a_wait(
    programs: dict[str, ProgramRun], stack: str
) -> None:
    expected_probe = {
        "database": "pg_isready",
        "cache": "redis-cli",
        "objectstore": "mc ready local",
        "backend": "/health",
    }
    for role, probe in expected_probe.items():
        box = container(programs[stack], role)
        check = box.inputs["healthcheck"]
        assert probe in " ".join(check["tests"]), (role, check)
        assert check["interval"] == "2s"
        # Docker engines before API 1.44 (Debian 12's 20.10) refuse a start interval.
        assert "startInterval" not in check
        assert box.inputs["wait"] is True
        assert box.inputs["waitTimeout"] == 180
        assert box.inputs["restart"] == "unless-stopped"
        assert box.inputs["mustRun"] is True
        assert box.delete_before_replace, "named containers must be deleted before replacement"


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_backend_runs_immutably(programs: dict[str, ProgramRun], stack: str) -> None:
    backend = container(programs[stack], "backend")
    envs = dict(entry.split("=", 1) for entry in backend.inputs["envs"])
    assert envs["PYTHONDONTWRITEBYTECODE"] == "1"
    assert backend.inputs["readOnly"] is True
    assert "/tmp" in backend.inputs["tmpfs"]


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_backend_environment_is_wired_from_the_resources(
    programs: dict[str, ProgramRun], stack: str
) -> None:
    run = programs[stack]
    backend = container(run, "backend")
    envs = dict(entry.split("=", 1) for entry in backend.inputs["envs"])
    password = run.named("appstack-database-password")
    assert {
        "DATABASE_URL",
        "REDIS_URL",
        "S3_ENDPOINT",
        "S3_ACCESS_KEY",
        "S3_SECRET_KEY",
        "S3_BUCKET_ASSETS",
        "S3_BUCKET_TEMP",
        "S3_BUCKET_BACKUPS",
        "CORS_ORIGINS",
        "PORT",
    } <= set(envs)
    generated = f"generated-{password.name}-0123456789"
    assert envs["DATABASE_URL"].startswith("postgresql+psycopg://appstack:" + generated + "@")
    assert envs["S3_BUCKET_TEMP"] == f"{stack}-appstack-temp"
    assert envs["CORS_ORIGINS"] == ",".join(stack_config(stack)["backend"]["corsOrigins"])
    mode = stack_config(stack)["network"]["mode"]
    if mode == "bridge":
        assert f"@{stack}-database:5432/" in envs["DATABASE_URL"]
        assert envs["S3_ENDPOINT"] == f"{stack}-objectstore:9000"
    else:
        port = stack_config(stack)["database"]["port"]
        assert f"@127.0.0.1:{port}/" in envs["DATABASE_URL"]


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_secrets_are_secret_in_environments_and_outputs(
    programs: dict[str, ProgramRun], stack: str
) -> None:
    run = programs[stack]
    for box in run.by_type(CONTAINER):
        assert "envs" in box.secret_inputs, f"{box.name} has a password in a plain environment"
    for password in run.by_type(PASSWORD):
        assert password.inputs["special"] is False and password.inputs["length"] >= 20
    migration = run.by_type(COMMAND)[0]
    assert "environment" in migration.secret_inputs
    pgvector = run.by_type(PGVECTOR)[0]
    assert "password" in pgvector.secret_inputs
    for bucket in run.by_type(BUCKET):
        assert {"access_key", "secret_key"} <= bucket.secret_inputs
    assert run.secret_outputs == {
        "database.dsn",
        "cache.url",
        "objectStore.accessKey",
        "objectStore.secretKey",
    }
    # No generated value appears anywhere in a plain output.
    generated = [f"generated-{p.name}-0123456789" for p in run.by_type(PASSWORD)]
    plain = {k: v for k, v in flatten(run.outputs).items() if k not in run.secret_outputs}
    for value in plain.values():
        assert not any(secret in str(value) for secret in generated), value


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted paths of a nested output."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else key))
        return out
    return {prefix: value}


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_stateful_resources_are_protected_only_where_the_stack_says(
    programs: dict[str, ProgramRun], stack: str
) -> None:
    run = programs[stack]
    data = stack_config(stack)["data"]
    stateful = [*run.by_type(VOLUME), *run.by_type(BUCKET)]
    assert len(stateful) >= 5
    for resource in stateful:
        assert resource.protect is data["protect"], resource.name
        assert resource.retain_on_delete is data["retainOnDelete"], resource.name
    for resource in run.by_type(VOLUME):
        assert labels(resource)["appstack.stateful"] == "true"
    if stack == "prod":
        assert all(r.protect and r.retain_on_delete for r in stateful)
    if stack == "dev":
        assert not any(r.protect or r.retain_on_delete for r in stateful)
    for box in run.by_type(CONTAINER):
        assert not box.protect


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_order_database_then_pgvector_then_migration_then_backend(
    programs: dict[str, ProgramRun], stack: str
) -> None:
    run = programs[stack]
    database = container(run, "database")
    pgvector = run.by_type(PGVECTOR)[0]
    migration = run.by_type(COMMAND)[0]
    backend = container(run, "backend")
    assert depends_on(run, pgvector, database)
    assert depends_on(run, migration, pgvector)
    assert depends_on(run, backend, migration)
    assert not depends_on(run, migration, backend)
    for bucket in run.by_type(BUCKET):
        assert depends_on(run, bucket, container(run, "objectstore"))
        assert depends_on(run, backend, bucket)
    assert depends_on(run, backend, container(run, "cache"))


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_migration_reruns_exactly_on_a_new_image(
    programs: dict[str, ProgramRun], stack: str
) -> None:
    run = programs[stack]
    migration = run.by_type(COMMAND)[0]
    backend = container(run, "backend")
    assert migration.inputs["triggers"][0] == backend.inputs["image"]
    assert migration.inputs["triggers"][1] == '["alembic", "upgrade", "head"]'
    assert migration.inputs["create"] == runner_command(cwd=REPO_ROOT)
    assert migration.inputs["environment"]["APPSTACK_MIGRATION_IMAGE"] == backend.inputs["image"]
    assert run.outputs["migration"]["revision"] == "0001_initial"


def test_network_mode_bridge_and_host(programs: dict[str, ProgramRun]) -> None:
    dev = programs["dev"]
    assert [n.inputs["name"] for n in dev.by_type(NETWORK)] == ["dev-network"]
    for box in dev.by_type(CONTAINER):
        assert box.inputs["networksAdvanced"][0]["name"] == "dev-network"
        assert all(port["ip"] == "127.0.0.1" for port in box.inputs["ports"])
        assert "networkMode" not in box.inputs
    ci = programs["ci"]
    assert ci.by_type(NETWORK) == []
    for box in ci.by_type(CONTAINER):
        assert box.inputs["networkMode"] == "host"
        assert "ports" not in box.inputs and "hostname" not in box.inputs


def test_cache_persistence_and_memory_policy(programs: dict[str, ProgramRun]) -> None:
    dev_cache = container(programs["dev"], "cache")
    assert "--appendonly no" in dev_cache.inputs["command"][0]
    assert "--maxmemory 256mb --maxmemory-policy allkeys-lru" in dev_cache.inputs["command"][0]
    assert not [v for v in programs["dev"].by_type(VOLUME) if "cache" in v.inputs["name"]]
    prod_cache = container(programs["prod"], "cache")
    assert "--appendonly yes" in prod_cache.inputs["command"][0]
    assert "--maxmemory 1024mb" in prod_cache.inputs["command"][0]
    assert "prod-cache-data" in {v.inputs["name"] for v in programs["prod"].by_type(VOLUME)}
    # The password travels in the environment, never on the command line.
    assert "REDISCLI_AUTH" in env_keys(prod_cache)
    assert "generated" not in " ".join(prod_cache.inputs["command"])


def test_buckets_and_their_rules(programs: dict[str, ProgramRun]) -> None:
    buckets = {b.inputs["role"]: b.inputs for b in programs["dev"].by_type(BUCKET)}
    assert buckets["temp"]["access"] == "private"
    temp_rules = {rule["id"]: rule for rule in buckets["temp"]["lifecycle_rules"]}
    assert temp_rules["expire-objects"]["expiration_days"] == 7
    assert "abort-incomplete-uploads" in temp_rules
    assert buckets["backups"]["versioning"] is True
    backups = {rule["id"]: rule for rule in buckets["backups"]["lifecycle_rules"]}
    assert backups["expire-old-versions"]["noncurrent_version_expiration_days"] == 30
    assert all(b["access"] == "private" for b in buckets.values())
    store = container(programs["dev"], "objectstore")
    assert "MINIO_API_STALE_UPLOADS_EXPIRY" in env_keys(store)


def test_preview_of_a_new_stack_has_unknown_image_ids_but_plain_labels(
    previews: dict[str, ProgramRun],
) -> None:
    for stack in DOCKER_STACKS:
        run = previews[stack]
        database = container(run, "database")
        assert database.inputs.get("image", UNKNOWN) is UNKNOWN
        assert labels(database)["appstack.image"] == stack_config(stack)["database"]["image"]


def test_outputs_shape(programs: dict[str, ProgramRun]) -> None:
    outputs = programs["stage"].outputs
    assert outputs["environment"] == "stage"
    assert outputs["database"]["pgvectorVersion"] == "0.8.0"
    assert outputs["objectStore"]["buckets"] == {
        "assets": "stage-appstack-assets",
        "temp": "stage-appstack-temp",
        "backups": "stage-appstack-backups",
    }
    assert outputs["images"] == {
        "database": stack_config("stage")["database"]["image"],
        "cache": stack_config("stage")["cache"]["image"],
        "objectStore": stack_config("stage")["objectStore"]["image"],
        "backend": stack_config("stage")["backend"]["image"],
    }
    assert outputs["backend"]["url"] == "http://127.0.0.1:18000"


def test_committed_stacks_are_valid() -> None:
    for stack in ENVIRONMENTS:
        settings = parse_settings(stack, stack_config(stack))
        assert settings.environment == stack


def test_invalid_settings_stop_the_program_before_any_resource() -> None:
    import pulumi

    values = stack_config("dev")
    values["database"] = {"image": "postgres::bad"}
    with pytest.raises(pulumi.RunError, match=r"appstack:database.image"):
        run_stack("dev", values)
