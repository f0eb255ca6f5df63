"""Where an image reference can be read from a resource, for the image policies.

A ``RemoteImage`` names its image in ``name``. A ``Container``'s ``image`` prop is normally the
RemoteImage's computed ID (``sha256:...``, unknown during the preview of a new stack), which says
nothing about the repository; the plain reference the user configured travels in the
``appstack.image`` label instead. A container whose ``image`` is a plain reference (set directly,
not from a RemoteImage) is checked on that too, so the label cannot hide a different image.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from appstack.contract import CONTAINER, DATABASE_COMPONENT, IMAGE_LABEL, REMOTE_IMAGE, ROLE_LABEL
from policies.model import Resource

_IMAGE_ID_RE = re.compile(r"^(?:sha256:)?[a-f0-9]{64}$")


@dataclass(frozen=True)
class ImageSource:
    """One place a resource names its image: ``where`` for messages, ``value`` as found
    (a string, ``UNKNOWN``, or ``None`` when absent)."""

    where: str
    value: Any


def is_image_id(value: object) -> bool:
    """True for a content ID (``sha256:<64 hex>``) as the docker provider's ``imageId`` gives."""
    return isinstance(value, str) and _IMAGE_ID_RE.match(value) is not None


def image_sources(resource: Resource) -> list[ImageSource]:
    """The image references a RemoteImage or Container declares; empty for other types.

    A container's ``image`` prop is included only when it is not a content ID; an unknown one is
    included only when there is no label to read instead.
    """
    if resource.type == REMOTE_IMAGE:
        return [ImageSource("name", resource.props.get("name"))]
    if resource.type != CONTAINER:
        return []
    sources = []
    label = resource.label(IMAGE_LABEL)
    if label is not None:
        sources.append(ImageSource(f"label {IMAGE_LABEL}", label))
    image = resource.props.get("image")
    readable_elsewhere = isinstance(label, str) and not isinstance(image, str)
    if image is not None and not is_image_id(image) and not readable_elsewhere:
        sources.append(ImageSource("image", image))
    return sources


def plays_database_role(resource: Resource) -> bool:
    """True when the resource is (part of) the database: labelled ``appstack.role=database``,
    a child of the ``appstack:index:Database`` component, or with "database" in its name."""
    return (
        resource.label(ROLE_LABEL) == "database"
        or resource.parent_type == DATABASE_COMPONENT
        or "database" in resource.name.lower()
    )
