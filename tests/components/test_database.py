"""Database alone, with only its Args: children, names, inputs, order, options, validation."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from appstack.common import HealthCheck, NetworkAttachment
from appstack.contract import (
    CONTAINER,
    PGVECTOR_EXTENSION,
    RANDOM_PASSWORD,
    REMOTE_IMAGE,
    UNKNOWN,
    VOLUME,
    component_type,
)
from appstack.database import Database, DatabaseArgs
from appstack.validation import ArgsError
from tests.components.helpers import build, children, envs, labels

BRIDGE = NetworkAttachment.bridge("shared-net")


def database(args: DatabaseArgs, name: str = "db", **exports: Any) -> None:
    """Declare one Database and export its outputs."""
    db = Database(name, args)
    pulumi.export("dsn", db.dsn)
    pulumi.export("internal", db.internal_dsn)
    pulumi.export("host", db.host)
    pulumi.export("port", db.port)


def test_alone_it_creates_image_volume_password_container_and_pgvector_check() -> None:
    run = build(lambda: database(DatabaseArgs(network=BRIDGE, image="pgvector/pgvector:pg16")))

    component = run.named("db")
    assert component.type == component_type("Database")
    assert children(run, component) == {
        "db-image": REMOTE_IMAGE,
        "db-data": VOLUME,
        "db-password": RANDOM_PASSWORD,
        "db-container": CONTAINER,
        "db-pgvector": PGVECTOR_EXTENSION,
    }
    image = run.named("db-image")
    assert image.inputs == {"name": "pgvector/pgvector:pg16", "keepLocally": True}
    assert run.named("db-password").inputs["special"] is False


def test_docker_names_come_from_the_instance_and_the_environment() -> None:
    run = build(lambda: database(DatabaseArgs(network=BRIDGE)))

    container, volume = run.named("db-container"), run.named("db-data")
    assert container.inputs["name"] == "qa-db"
    assert volume.inputs["name"] == "qa-db-data"
    assert container.inputs["networksAdvanced"] == [{"name": "shared-net", "aliases": ["qa-db"]}]
    assert container.inputs["volumes"][0]["volumeName"] == "qa-db-data"
    assert labels(container) == {
        "appstack.role": "database",
        "appstack.environment": "qa",
        "appstack.image": "pgvector/pgvector:pg17",
    }
    assert labels(volume)["appstack.stateful"] == "true"


def test_explicit_names_are_kept() -> None:
    args = DatabaseArgs(
        network=BRIDGE,
        environment="stage",
        container_name="stage-database",
        network_alias="database",
    )
    run = build(lambda: database(args))

    container = run.named("db-container")
    assert container.inputs["name"] == "stage-database"
    assert container.inputs["networksAdvanced"][0]["aliases"] == ["database"]
    assert run.named("db-data").inputs["name"] == "stage-database-data"
    assert labels(container)["appstack.environment"] == "stage"


def test_on_a_bridge_it_listens_inside_and_is_published_on_the_bind_address_only() -> None:
    args = DatabaseArgs(network=NetworkAttachment.bridge("net", "127.0.0.3"), port=15432)
    run = build(lambda: database(args))

    container = run.named("db-container")
    assert container.inputs["ports"] == [{"internal": 5432, "external": 15432, "ip": "127.0.0.3"}]
    assert container.inputs["command"] == ["postgres", "-c", "listen_addresses=0.0.0.0"]
    assert envs(container)["PGPORT"] == "5432"
    check = run.named("db-pgvector")
    assert (check.inputs["host"], check.inputs["port"]) == ("127.0.0.3", 15432)
    password = "generated-db-password-0123456789"
    assert run.outputs["dsn"] == f"postgresql://appstack:{password}@127.0.0.3:15432/appstack"
    assert run.outputs["internal"] == (
        f"postgresql+psycopg://appstack:{password}@qa-db:5432/appstack"
    )


def test_with_host_networking_it_listens_on_its_own_port_of_the_bind_address() -> None:
    args = DatabaseArgs(network=NetworkAttachment.host("127.0.0.1"), port=25432)
    run = build(lambda: database(args))

    container = run.named("db-container")
    assert container.inputs["networkMode"] == "host"
    assert "ports" not in container.inputs and "networksAdvanced" not in container.inputs
    assert container.inputs["command"] == ["postgres", "-c", "listen_addresses=127.0.0.1"]
    assert envs(container)["PGPORT"] == "25432"
    assert "@127.0.0.1:25432/" in run.outputs["internal"]


def test_port_user_and_database_may_be_outputs_known_only_at_deployment() -> None:
    def program() -> None:
        port = pulumi.Output.from_input(6543)
        database(DatabaseArgs(network=BRIDGE, port=port, user=pulumi.Output.from_input("app")))

    run = build(program)

    assert run.named("db-container").inputs["ports"][0]["external"] == 6543
    assert envs(run.named("db-container"))["POSTGRES_USER"] == "app"
    assert run.outputs["port"] == 6543


def test_the_pgvector_check_waits_for_the_container_and_secrets_stay_secret() -> None:
    run = build(lambda: database(DatabaseArgs(network=BRIDGE, connect_timeout_seconds=30)))

    container, check = run.named("db-container"), run.named("db-pgvector")
    assert container.urn in check.dependencies
    assert check.inputs["connect_timeout_seconds"] == 30
    assert "password" in check.secret_inputs
    assert "envs" in container.secret_inputs
    assert {"dsn", "internal"} <= run.secret_outputs
    assert container.delete_before_replace
    health = container.inputs["healthcheck"]
    assert "pg_isready" in health["tests"][1]
    assert (health["interval"], container.inputs["wait"]) == ("2s", True)


def test_data_protection_applies_to_the_volume_only() -> None:
    args = DatabaseArgs(network=BRIDGE, protect_data=True, retain_data_on_delete=True)
    run = build(lambda: database(args))

    volume = run.named("db-data")
    assert volume.protect and volume.retain_on_delete
    for name in ("db-container", "db-image", "db-password", "db-pgvector"):
        assert not run.named(name).protect, name


def test_health_timings_come_from_the_args() -> None:
    health = HealthCheck(interval="1s", timeout="3s", retries=5, wait_timeout_seconds=60)
    run = build(lambda: database(DatabaseArgs(network=BRIDGE, health=health)))

    container = run.named("db-container")
    assert container.inputs["healthcheck"]["interval"] == "1s"
    assert container.inputs["healthcheck"]["retries"] == 5
    assert container.inputs["waitTimeout"] == 60


def test_the_image_label_is_known_at_preview_when_the_image_id_is_not() -> None:
    run = build(lambda: database(DatabaseArgs(network=BRIDGE)), preview=True)

    container = run.named("db-container")
    assert container.inputs.get("image", UNKNOWN) is UNKNOWN
    assert labels(container)["appstack.image"] == "pgvector/pgvector:pg17"


def test_every_bad_arg_is_reported_at_once() -> None:
    args = DatabaseArgs(
        network=BRIDGE,
        image="Postgres:15 alpine",
        port=0,
        user="App-User",
        container_name="-bad",
        health=HealthCheck(interval="1m"),
    )
    with pytest.raises(ArgsError) as caught:
        build(lambda: database(args))

    fields = [problem.split(":")[0] for problem in caught.value.problems]
    assert fields == ["container_name", "health.interval", "image", "port", "user"]
    message = str(caught.value)
    assert message.startswith("invalid arguments for Database 'db' (5 problem(s)):")
    assert "port: expected an integer from 1 to 65535, got 0" in message
    assert 'health.interval: expected the canonical form "1m0s"' in message
    assert "would show a diff on every preview), got '1m'" in message


def test_a_missing_network_attachment_is_refused() -> None:
    args = DatabaseArgs(network=None)  # type: ignore[arg-type]
    with pytest.raises(ArgsError, match=r"network: expected a NetworkAttachment"):
        build(lambda: database(args))


def test_a_default_name_docker_refuses_asks_for_an_explicit_one() -> None:
    with pytest.raises(ArgsError, match=r"container_name: expected a Docker container name"):
        build(lambda: database(DatabaseArgs(network=BRIDGE), name="my db"))


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"health": HealthCheck(timeout="0s")}, "health.timeout: expected a duration"),
        ({"health": HealthCheck(interval="500us")}, "Docker refuses durations below 1ms"),
        ({"health": HealthCheck(retries=0)}, "health.retries: expected an integer"),
        ({"network": NetworkAttachment.bridge("n", "127.000.000.001")}, "no leading zeros"),
        ({"network": NetworkAttachment.host("0.0.0.0")}, "not 0.0.0.0"),
        ({"user": "app\n"}, "user: expected a lower-case SQL identifier"),
    ],
)
def test_args_are_judged_by_the_same_rules_as_the_settings(
    changes: dict[str, Any], problem: str
) -> None:
    """The Args use the settings' own checks (appstack.validation): Go durations as Docker keeps
    them, an address Docker parses and can listen on, whole-string patterns."""
    with pytest.raises(ArgsError, match=problem):
        build(lambda: database(DatabaseArgs(**{"network": BRIDGE, **changes})))


def test_a_zero_start_period_means_none() -> None:
    args = DatabaseArgs(network=BRIDGE, health=HealthCheck(start_period="0s"))
    container = build(lambda: database(args)).named("db-container")
    assert container.inputs["healthcheck"]["startPeriod"] == "0s"
