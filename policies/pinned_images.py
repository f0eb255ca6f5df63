"""Pinned images (mandatory, high).

Why: stale images shipped because a movable tag was re-used (a release carried the previous
image; old ``.pyc`` files shadowed fixed sources). What runs must be exactly what was tested, and
prod must run exactly the digests stage verified.

Rule: no image reference without a tag or digest, and none whose only pin is the ``latest`` tag
(a digest pins by content, so ``repo@sha256:...`` and even ``repo:latest@sha256:...`` are
pinned). In production environments (``productionEnvironments``, default ``prod``; the
environment is the resource's ``appstack.environment`` label or the stack) every reference must
carry a digest, and a locally built image (a RemoteImage with ``build``) is not allowed at all.
Outside prod a locally built RemoteImage is exempt: its name is a local tag. References that
cannot be read (unknown at preview, malformed) are violations.
"""

from __future__ import annotations

from appstack.contract import REMOTE_IMAGE, InvalidImageReference, parse_image_reference
from policies import kubernetes
from policies.image_sources import ImageSource, image_sources
from policies.model import PolicyContext, PolicySpec, Resource, Violation

SPEC = PolicySpec(
    name="pinned-images",
    description="Images are pinned: never untagged or latest; by digest in production.",
    mandatory=True,
    severity="high",
)


def _check_source(resource: Resource, source: ImageSource, production: bool) -> Violation | None:
    subject = f"{resource.name} ({source.where})"
    if not isinstance(source.value, str):
        return SPEC.violation(
            resource,
            f"cannot verify that {subject} is pinned: the image reference is unknown at preview.",
        )
    try:
        image = parse_image_reference(source.value)
    except InvalidImageReference as error:
        return SPEC.violation(resource, f"cannot verify that {subject} is pinned: {error}.")
    if image.digest is None and image.tag is None:
        return SPEC.violation(
            resource,
            f"{subject} uses image '{source.value}' without a tag or digest, which means "
            "'latest': pin a version tag, or a digest (repo:tag@sha256:...).",
        )
    if image.digest is None and image.tag == "latest":
        return SPEC.violation(
            resource,
            f"{subject} uses image '{source.value}': 'latest' moves; pin a version tag, or a "
            "digest (repo:tag@sha256:...).",
        )
    if production and image.digest is None:
        return SPEC.violation(
            resource,
            f"{subject} uses image '{source.value}' in production without a digest: prod runs "
            "only digests verified in stage (repo:tag@sha256:...); promote them from stage.",
        )
    return None


def check(resource: Resource, ctx: PolicyContext) -> list[Violation]:
    """Violations of pinned-images for one resource (RemoteImage or Container; others pass)."""
    production = ctx.is_production(resource)
    if resource.type in kubernetes.WORKLOADS:
        images = [
            ImageSource(f"{path} image", c.get("image") if isinstance(c, dict) else None)
            for path, c in kubernetes.containers(resource)
        ]
        found = (_check_source(resource, image, production) for image in images)
        return [violation for violation in found if violation is not None]
    if resource.type == REMOTE_IMAGE and resource.props.get("build") is not None:
        if not production:
            return []
        return [
            SPEC.violation(
                resource,
                f"{resource.name} builds its image locally, which is not allowed in production: "
                "configure the image as a digest-pinned reference verified in stage.",
            )
        ]
    sources = image_sources(resource)
    if resource.type != REMOTE_IMAGE:
        # A container's unknown image is its RemoteImage's ID: the RemoteImage is checked.
        sources = [s for s in sources if s.value is not None and not _unknown_id(s)]
    violations = []
    for source in sources:
        violation = _check_source(resource, source, production)
        if violation is not None:
            violations.append(violation)
    return violations


def _unknown_id(source: ImageSource) -> bool:
    return source.where == "image" and not isinstance(source.value, str)
