"""Docker image reference parsing, shared by the components, the settings and the policy pack.

Decisions about images (is this PostgreSQL? is it pgvector? is it pinned?) must be made on the
*structure* of a reference, never on substrings: ``postgres:16-pgvector`` is the official
``library/postgres`` repository with a misleading tag, not a pgvector image. This module follows
the grammar of the Docker distribution reference (registry host[:port], slash-separated lowercase
path components, ``:tag``, ``@algorithm:hex`` digest) and Docker Hub's normalisation rules
(``docker.io`` is the default registry, ``index.docker.io`` is an alias of it, and one-component
names live in the ``library/`` namespace).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "DEFAULT_REGISTRY",
    "ImageReference",
    "InvalidImageReference",
    "parse_image_reference",
]

DEFAULT_REGISTRY = "docker.io"
"""The registry Docker uses when a reference names none."""

_REGISTRY_ALIASES = {"index.docker.io": DEFAULT_REGISTRY, "registry-1.docker.io": DEFAULT_REGISTRY}
_OFFICIAL_NAMESPACE = "library"
_MAX_NAME_LENGTH = 255

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST_RE = re.compile(
    rf"^(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:.]+\])(?::(?P<port>[0-9]+))?$"
)
_PATH_COMPONENT_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST_RE = re.compile(r"^(?P<algorithm>[a-z0-9]+(?:[.+_-][a-z0-9]+)*):(?P<hex>[a-zA-Z0-9=_-]+)$")
_KNOWN_DIGEST_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}


class InvalidImageReference(ValueError):
    """Raised when a string is not a valid Docker image reference; the message says why."""

    def __init__(self, reference: str, reason: str) -> None:
        super().__init__(f"invalid image reference {reference!r}: {reason}")
        self.reference = reference
        self.reason = reason


@dataclass(frozen=True)
class ImageReference:
    """A parsed, normalised image reference.

    ``registry`` is the normalised registry (``docker.io`` when none was given) including any
    port; ``repository_path`` is the path inside the registry, with ``library/`` added for Docker
    Hub official images (``library/postgres``, ``pgvector/pgvector``); ``tag`` and ``digest`` are
    ``None`` when absent. ``original`` is the string exactly as given.
    """

    original: str
    registry: str
    repository_path: str
    tag: str | None
    digest: str | None

    @property
    def host(self) -> str:
        """The registry host name without the port."""
        if self.registry.startswith("["):
            return self.registry[: self.registry.index("]") + 1]
        return self.registry.split(":", 1)[0]

    @property
    def port(self) -> int | None:
        """The registry port, or ``None`` when the registry names none."""
        after_host = self.registry[len(self.host) :]
        return int(after_host[1:]) if after_host.startswith(":") else None

    @property
    def namespace(self) -> str | None:
        """Everything in the path before the last component (``library``, ``pgvector``, ...)."""
        head, _, _ = self.repository_path.rpartition("/")
        return head or None

    @property
    def repository(self) -> str:
        """The last path component: the image's own name (``postgres``, ``pgvector``)."""
        return self.repository_path.rpartition("/")[2]

    @property
    def name(self) -> str:
        """The fully qualified name without tag or digest (``docker.io/library/postgres``)."""
        return f"{self.registry}/{self.repository_path}"

    @property
    def familiar_name(self) -> str:
        """The short name Docker prints (``postgres``, ``pgvector/pgvector``, ``host:5000/x``)."""
        if self.registry != DEFAULT_REGISTRY:
            return self.name
        prefix = f"{_OFFICIAL_NAMESPACE}/"
        if self.repository_path.startswith(prefix) and self.repository_path.count("/") == 1:
            return self.repository_path[len(prefix) :]
        return self.repository_path

    @property
    def pinned_by_digest(self) -> bool:
        """True when the reference names content (a digest), not a movable tag."""
        return self.digest is not None

    @property
    def digest_algorithm(self) -> str | None:
        """The digest's algorithm (``sha256``), or ``None`` without a digest."""
        return self.digest.split(":", 1)[0] if self.digest else None

    def __str__(self) -> str:
        text = self.familiar_name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text


def _split_digest(reference: str, remainder: str) -> tuple[str, str | None]:
    if "@" not in remainder:
        return remainder, None
    name_and_tag, _, digest = remainder.partition("@")
    if "@" in digest:
        raise InvalidImageReference(reference, "more than one '@' digest separator")
    match = _DIGEST_RE.match(digest)
    if match is None:
        raise InvalidImageReference(
            reference, f"digest {digest!r} is not of the form <algorithm>:<hex>"
        )
    algorithm, hex_part = match.group("algorithm"), match.group("hex")
    expected = _KNOWN_DIGEST_LENGTHS.get(algorithm)
    if expected is not None and not re.fullmatch(rf"[a-f0-9]{{{expected}}}", hex_part):
        raise InvalidImageReference(
            reference, f"{algorithm} digest must be {expected} lowercase hex characters"
        )
    if expected is None and len(hex_part) < 32:
        raise InvalidImageReference(reference, "digest is shorter than 32 characters")
    return name_and_tag, digest


def _split_tag(reference: str, remainder: str) -> tuple[str, str | None]:
    last_slash = remainder.rfind("/")
    last_colon = remainder.rfind(":")
    if last_colon <= last_slash:
        return remainder, None
    name, tag = remainder[:last_colon], remainder[last_colon + 1 :]
    if not _TAG_RE.match(tag):
        raise InvalidImageReference(
            reference,
            f"tag {tag!r} must be 1-128 characters of letters, digits, '_', '.' or '-' "
            "and not start with '.' or '-'",
        )
    return name, tag


def _looks_like_registry(component: str) -> bool:
    # Docker's rule: the first component is a registry when it has a dot or a port, is
    # "localhost", or has upper-case letters (which a repository path never may).
    return (
        "." in component
        or ":" in component
        or component == "localhost"
        or component.lower() != component
    )


def _split_registry(reference: str, name: str) -> tuple[str, str]:
    first, slash, rest = name.partition("/")
    if not slash or not _looks_like_registry(first):
        registry, path = DEFAULT_REGISTRY, name
    else:
        match = _HOST_RE.match(first)
        if match is None:
            raise InvalidImageReference(reference, f"registry {first!r} is not a valid host[:port]")
        port = match.group("port")
        if port is not None and not 0 < int(port) < 65536:
            raise InvalidImageReference(reference, f"registry port {port} is out of range")
        registry, path = _REGISTRY_ALIASES.get(first.lower(), first), rest
    if not path:
        raise InvalidImageReference(reference, "repository name is empty")
    components = path.split("/")
    for component in components:
        if component == "":
            raise InvalidImageReference(reference, "repository path has an empty component")
        if not _PATH_COMPONENT_RE.match(component):
            reason = (
                "repository name must be lowercase"
                if component.lower() != component
                else f"path component {component!r} may contain only a-z, 0-9 and single "
                "'.', '_', '__' or '-' separators between them"
            )
            raise InvalidImageReference(reference, reason)
    if registry == DEFAULT_REGISTRY and len(components) == 1:
        path = f"{_OFFICIAL_NAMESPACE}/{path}"
    return registry, path


def parse_image_reference(ref: str) -> ImageReference:
    """Parse ``ref`` into its registry, repository path, tag and digest, normalised.

    Raises :class:`InvalidImageReference` (a ``ValueError``) naming the reference and the reason
    for empty strings, surrounding whitespace, schemes, bad registries, upper-case or malformed
    path components, bad tags and malformed digests.
    """
    if not isinstance(ref, str):
        raise InvalidImageReference(repr(ref), "an image reference must be a string")
    if ref == "":
        raise InvalidImageReference(ref, "the reference is empty")
    if ref.strip() != ref or any(ch.isspace() for ch in ref):
        raise InvalidImageReference(ref, "the reference contains whitespace")
    if "://" in ref:
        raise InvalidImageReference(ref, "a reference has no URL scheme; drop the '...://' prefix")
    name_and_tag, digest = _split_digest(ref, ref)
    name, tag = _split_tag(ref, name_and_tag)
    if len(name) > _MAX_NAME_LENGTH:
        raise InvalidImageReference(ref, f"name is longer than {_MAX_NAME_LENGTH} characters")
    registry, path = _split_registry(ref, name)
    return ImageReference(
        original=ref, registry=registry, repository_path=path, tag=tag, digest=digest
    )
