"""Cache alone, with only its Args."""

from __future__ import annotations

import pulumi
import pytest

from appstack.cache import Cache, CacheArgs
from appstack.common import NetworkAttachment
from appstack.contract import CONTAINER, RANDOM_PASSWORD, REMOTE_IMAGE, VOLUME
from appstack.validation import ArgsError
from tests.components.helpers import build, children, envs, labels

BRIDGE = NetworkAttachment.bridge("shared-net")


def cache(args: CacheArgs) -> None:
    redis = Cache("sessions", args)
    pulumi.export("url", redis.url)
    pulumi.export("internal", redis.internal_url)


def test_alone_without_persistence_it_has_no_volume() -> None:
    run = build(lambda: cache(CacheArgs(network=BRIDGE)))

    assert children(run, run.named("sessions")) == {
        "sessions-image": REMOTE_IMAGE,
        "sessions-password": RANDOM_PASSWORD,
        "sessions-container": CONTAINER,
    }
    container = run.named("sessions-container")
    assert container.inputs["name"] == "qa-sessions"
    assert container.inputs["networksAdvanced"] == [
        {"name": "shared-net", "aliases": ["qa-sessions"]}
    ]
    assert labels(container)["appstack.role"] == "cache"
    assert "--appendonly no" in container.inputs["command"][0]


def test_with_persistence_it_keeps_append_only_data_on_its_own_volume() -> None:
    args = CacheArgs(
        network=BRIDGE, persistence=True, max_memory_mb=64, max_memory_policy="noeviction"
    )
    run = build(lambda: cache(args))

    assert children(run, run.named("sessions"))["sessions-data"] == VOLUME
    assert run.named("sessions-data").inputs["name"] == "qa-sessions-data"
    server = run.named("sessions-container").inputs["command"][0]
    assert "--maxmemory 64mb --maxmemory-policy noeviction --appendonly yes" in server
    assert run.named("sessions-container").inputs["volumes"][0]["volumeName"] == "qa-sessions-data"


def test_the_password_is_in_the_environment_never_on_the_command_line() -> None:
    run = build(lambda: cache(CacheArgs(network=NetworkAttachment.host(), port=26379)))

    container = run.named("sessions-container")
    password = "generated-sessions-password-0123456789"
    assert envs(container) == {"REDISCLI_AUTH": password, "REDIS_PORT": "26379"}
    assert "envs" in container.secret_inputs
    assert password not in " ".join(container.inputs["command"])
    assert "--bind 127.0.0.1" in container.inputs["command"][0]
    assert run.outputs["url"] == f"redis://:{password}@127.0.0.1:26379/0"
    assert run.outputs["internal"] == f"redis://:{password}@127.0.0.1:26379/0"
    assert {"url", "internal"} <= run.secret_outputs


def test_bad_args_are_reported_at_once() -> None:
    args = CacheArgs(network=BRIDGE, max_memory_mb=0, max_memory_policy="lru", image="redis:")
    with pytest.raises(ArgsError) as caught:
        build(lambda: cache(args))

    assert [problem.split(":")[0] for problem in caught.value.problems] == [
        "image",
        "max_memory_mb",
        "max_memory_policy",
    ]
