"""pinned-images: no untagged or latest images; digests in production; no local builds in prod."""

from __future__ import annotations

import pytest

from appstack.contract import UNKNOWN
from policies import pinned_images
from policies.model import PolicyConfig
from tests.policies.graph import (
    DIGEST,
    PROD_IMAGES,
    baseline,
    check_one,
    named,
    only,
    with_label,
    with_props,
)

POLICY = "pinned-images"
CACHE_IMAGE = "appstack-cache-image"


def test_baselines_are_clean() -> None:
    for stack in ("dev", "stage", "prod", "ci"):
        for resource in baseline(stack):
            assert check_one(pinned_images.check, resource, stack) == [], (stack, resource.name)


@pytest.mark.parametrize(
    "ref",
    ["redis:7.4", f"redis@{DIGEST}", f"redis:7.4@{DIGEST}", f"redis:latest@{DIGEST}"],
)
def test_tags_and_digests_pass_outside_prod(ref: str) -> None:
    image = with_props(named(baseline("stage"), CACHE_IMAGE), name=ref)
    assert check_one(pinned_images.check, image, "stage") == []


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        ("redis", "without a tag or digest"),
        ("docker.io/library/redis", "without a tag or digest"),
        ("localhost:5000/redis", "without a tag or digest"),
        ("redis:latest", "'latest' moves"),
        ("registry.local:5000/team/redis:latest", "'latest' moves"),
    ],
)
def test_untagged_and_latest_are_refused_everywhere(ref: str, reason: str) -> None:
    image = with_props(named(baseline("dev"), CACHE_IMAGE), name=ref)
    violation = only(check_one(pinned_images.check, image, "dev"), POLICY, CACHE_IMAGE)
    assert reason in violation.message
    assert f"'{ref}'" in violation.message


@pytest.mark.parametrize(
    ("stack", "label", "image", "where"),
    [
        ("dev", "redis", None, "(label appstack.image)"),
        ("prod", None, "redis:7", "(image)"),
    ],
)
def test_container_label_and_plain_image_prop_are_checked(
    stack: str, label: str | None, image: str | None, where: str
) -> None:
    container = named(baseline(stack), "appstack-cache-container")
    if label is not None:
        container = with_label(container, "appstack.image", label)
    if image is not None:
        container = with_props(container, image=image)
    violation = only(
        check_one(pinned_images.check, container, stack), POLICY, "appstack-cache-container"
    )
    assert where in violation.message


def test_tag_without_digest_is_refused_in_prod() -> None:
    image = with_props(named(baseline("prod"), CACHE_IMAGE), name="redis:7.4-bookworm")
    violation = only(check_one(pinned_images.check, image, "prod"), POLICY, CACHE_IMAGE)
    assert "in production without a digest" in violation.message


def test_prod_label_makes_a_resource_production_in_any_stack() -> None:
    image = named(baseline("stage"), "appstack-cache-container")
    image = with_label(image, "appstack.environment", "prod")
    image = with_label(image, "appstack.image", "redis:7.4")
    only(check_one(pinned_images.check, image, "stage"), POLICY, "appstack-cache-container")


def test_production_environments_are_configurable() -> None:
    image = with_props(named(baseline("stage"), CACHE_IMAGE), name="redis:7.4")
    config = PolicyConfig.from_mapping({"productionEnvironments": ["prod", "stage"]})
    only(check_one(pinned_images.check, image, "stage", config), POLICY, CACHE_IMAGE)


def test_local_build_is_exempt_in_dev_and_refused_in_prod() -> None:
    backend = named(baseline("dev"), "appstack-backend-image")
    assert backend.props.get("build") is not None
    assert check_one(pinned_images.check, backend, "dev") == []
    prod_backend = with_props(backend, name=PROD_IMAGES["backend"])
    violation = only(
        check_one(pinned_images.check, prod_backend, "prod"), POLICY, "appstack-backend-image"
    )
    assert "builds its image locally" in violation.message


def test_unknown_reference_is_refused() -> None:
    image = with_props(named(baseline("dev"), CACHE_IMAGE), name=UNKNOWN)
    violation = only(check_one(pinned_images.check, image, "dev"), POLICY, CACHE_IMAGE)
    assert "unknown at preview" in violation.message
    container = with_label(
        named(baseline("dev"), "appstack-cache-container"), "appstack.image", UNKNOWN
    )
    only(check_one(pinned_images.check, container, "dev"), POLICY, "appstack-cache-container")


def test_unknown_image_id_of_a_labelled_container_passes() -> None:
    container = with_props(named(baseline("prod"), "appstack-cache-container"), image=UNKNOWN)
    assert check_one(pinned_images.check, container, "prod") == []


def test_malformed_reference_is_refused() -> None:
    image = with_props(named(baseline("dev"), CACHE_IMAGE), name="redis:")
    violation = only(check_one(pinned_images.check, image, "dev"), POLICY, CACHE_IMAGE)
    assert "invalid image reference" in violation.message
