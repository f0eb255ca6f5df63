"""The neutral view every policy reads: resources, unknown values, secrets, config, violations.

The same policy functions run inside the Pulumi policy pack (``policies/__main__.py`` via
``policies/pack_adapter.py``) and in the engine-less check (``policies/evaluate.py`` fed from the
mock harness, ``appstack.graph``). Neither side's types leak into the policies: both translate
into :class:`Resource`, with values unknown at preview replaced by ``appstack.contract.UNKNOWN``
(the SDK's own sentinel, compared with ``is``) and secret-ness recorded in ``secret_props``
instead of wrapping values. Labels, type tokens and the image parser are ``appstack.contract``'s.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from appstack.contract import (
    ENVIRONMENT_LABEL,
    ImageReference,
    InvalidImageReference,
    parse_image_reference,
)


def is_positive_whole_number(value: object) -> bool:
    """True for 7 and 7.0 alike, never for a bool: the engine sends every number as a float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return value > 0 and float(value).is_integer()


@dataclass(frozen=True)
class Resource:
    """One resource as the policies see it.

    ``props`` uses the engine's wire names (camelCase for provider resources, Python keys for
    dynamic ones), with ``UNKNOWN`` wherever a value is not known yet. ``secret_props`` holds
    the paths known to be secret: a top-level prop name (``"envs"``) or, where only part of a value
    is secret, a path into it (``"envs[2]"``, ``"environment.DATABASE_URL"``); a path is secret
    when it or any prefix of it is listed. ``retain_on_delete`` is ``None`` when the source cannot
    tell (the policy pack's resource options do not carry it).
    """

    type: str
    name: str
    urn: str = ""
    props: Mapping[str, Any] = field(default_factory=dict)
    protect: bool = False
    retain_on_delete: bool | None = None
    secret_props: frozenset[str] = frozenset()
    parent_type: str | None = None
    provider_props: Mapping[str, Any] = field(default_factory=dict)
    """The inputs of the resource's explicit provider (a docker provider's ``host``); empty
    for a default provider."""

    def is_secret(self, path: str) -> bool:
        """True when the value at ``path`` (``"envs[1]"``, ``"password"``) is marked secret."""
        return path_is_secret(path, self.secret_props)

    def labels(self) -> dict[str, Any]:
        """The Docker labels as a dict; accepts the provider's list-of-pairs and a plain mapping.

        An unknown ``labels`` prop yields an empty dict; an unknown label value stays UNKNOWN.
        """
        raw = self.props.get("labels")
        if isinstance(raw, Mapping):
            return dict(raw)
        result: dict[str, Any] = {}
        if isinstance(raw, Sequence) and not isinstance(raw, str):
            for entry in raw:
                if isinstance(entry, Mapping) and isinstance(entry.get("label"), str):
                    result[entry["label"]] = entry.get("value")
        return result

    def label(self, key: str) -> Any:
        """One label's value, ``None`` when absent (``UNKNOWN`` when not known yet)."""
        return self.labels().get(key)


def path_is_secret(path: str, secret_paths: Iterable[str]) -> bool:
    """True when ``path`` or a prefix of it (``a`` for ``a.b``, ``a[0]``) is a secret path."""
    secrets = set(secret_paths)
    prefixes = (path[: match.start()] for match in re.finditer(r"[.\[]", path))
    return path in secrets or any(prefix in secrets for prefix in prefixes)


POLICY_CONFIG_KEYS = (
    "allowedRepositories",
    "extraAllowedRepositories",
    "productionEnvironments",
    "allowAllInterfaces",
)
"""The keys `PolicyConfig.from_mapping` reads (the pack's config and `--policy-config`)."""


def _tuple_of_strings(key: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValueError(f"policy config {key!r} must be a list of strings, got {value!r}")
    if not all(isinstance(item, str) and item for item in value):
        raise ValueError(f"policy config {key!r} must contain only non-empty strings")
    return tuple(value)


@dataclass(frozen=True)
class PolicyConfig:
    """Settings shared by the policies; the pack reads them from its config, the check from args.

    ``allowed_database_repositories`` are image repositories accepted for the database (and for
    any PostgreSQL image); ``extra_allowed_database_repositories`` extends that list without
    restating the default. Entries are image names without tag (``pgvector/pgvector``,
    ``registry.local:5000/pgvector/pgvector``), normalised like any reference.
    ``production_environments`` are the environments where data is protected and images are
    pinned by digest.
    """

    allowed_database_repositories: tuple[str, ...] = ("pgvector/pgvector",)
    extra_allowed_database_repositories: tuple[str, ...] = ()
    production_environments: tuple[str, ...] = ("prod",)
    allow_all_interfaces: bool = False
    """Let services on a remote Docker host listen on every interface (remote-bind-address)."""

    def __post_init__(self) -> None:
        for entry in self.all_allowed_database_repositories:
            try:
                parsed = parse_image_reference(entry)
            except InvalidImageReference as error:
                raise ValueError(f"allowed database repository: {error}") from None
            if parsed.tag is not None or parsed.digest is not None:
                raise ValueError(
                    f"allowed database repository {entry!r} must not have a tag or digest"
                )

    @property
    def all_allowed_database_repositories(self) -> tuple[str, ...]:
        """The default list followed by the extra entries."""
        return self.allowed_database_repositories + self.extra_allowed_database_repositories

    def allows_database_image(self, image: ImageReference) -> bool:
        """True when ``image``'s registry and repository path match an allowed entry."""
        return any(
            parse_image_reference(entry).name == image.name
            for entry in self.all_allowed_database_repositories
        )

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None) -> PolicyConfig:
        """Build from the pack's camelCase config (``allowedRepositories``,
        ``extraAllowedRepositories``, ``productionEnvironments``); absent keys keep defaults.

        Raises ``ValueError`` naming the key for a wrong type or an unparsable repository.
        """
        default = cls()
        mapping = mapping or {}
        allow_all = mapping.get("allowAllInterfaces", default.allow_all_interfaces)
        if not isinstance(allow_all, bool):
            raise ValueError(
                f"policy config 'allowAllInterfaces' must be true or false, got {allow_all!r}"
            )
        keys = dict(
            zip(
                POLICY_CONFIG_KEYS[:3],
                (
                    default.allowed_database_repositories,
                    default.extra_allowed_database_repositories,
                    default.production_environments,
                ),
                strict=True,
            )
        )
        values = {
            key: _tuple_of_strings(key, mapping[key]) if key in mapping else fallback
            for key, fallback in keys.items()
        }
        return cls(
            allowed_database_repositories=values["allowedRepositories"],
            extra_allowed_database_repositories=values["extraAllowedRepositories"],
            production_environments=values["productionEnvironments"],
            allow_all_interfaces=allow_all,
        )


@dataclass(frozen=True)
class PolicyContext:
    """What a policy knows beyond the resource: the stack (= environment) and the config."""

    stack: str
    config: PolicyConfig = field(default_factory=PolicyConfig)

    def environment_of(self, resource: Resource) -> str:
        """The resource's environment label when it is a known string, else the stack name."""
        label = resource.label(ENVIRONMENT_LABEL)
        return label if isinstance(label, str) and label else self.stack

    def is_production(self, resource: Resource) -> bool:
        """True when the stack or the resource's environment label is a production environment.

        Either one suffices, so a mislabelled resource in prod (or a prod-labelled one elsewhere)
        gets the stricter rules.
        """
        production = self.config.production_environments
        return self.stack in production or self.environment_of(resource) in production


@dataclass(frozen=True)
class Violation:
    """One broken rule: which policy, which resource (logical name), why, and whether it blocks."""

    policy: str
    resource: str
    message: str
    mandatory: bool
    urn: str = ""

    def __str__(self) -> str:
        level = "mandatory" if self.mandatory else "advisory"
        return f"[{level}] {self.policy}: {self.resource}: {self.message}"


@dataclass(frozen=True)
class PolicySpec:
    """A policy's identity and metadata; each policy module defines one as ``SPEC``.

    ``severity`` is one of ``low``, ``medium``, ``high``, ``critical`` (the pack maps it to
    pulumi-policy's ``Severity``).
    """

    name: str
    description: str
    mandatory: bool
    severity: str

    def violation(self, resource: Resource | str, message: str) -> Violation:
        """A violation of this policy by ``resource`` (or a named non-resource such as outputs)."""
        if isinstance(resource, Resource):
            return Violation(self.name, resource.name, message, self.mandatory, resource.urn)
        return Violation(self.name, resource, message, self.mandatory)
