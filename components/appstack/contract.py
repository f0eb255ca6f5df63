"""The contract between appstack's components, its policy pack, its delivery tooling and its tests.

Everything that two of those parts must agree on lives here and nowhere else:

- the Docker labels every container and volume carries (`ROLE_LABEL`, ...);
- the type tokens of the resources appstack registers: provider resources, the two dynamic
  resources (`BUCKET`, `PGVECTOR_EXTENSION`) and the components (`component_type("Database")`
  is `appstack:index:Database`);
- the two "unknown at preview" sentinels, both the SDK's own (see `UNKNOWN`, `WIRE_UNKNOWN`);
- the exit codes of every appstack command (0 clean, 1 a violation or failed check, 2 bad input);
- the image-reference parser (`parse_image_reference`, from `appstack.images`).

Components import it, policies import it, delivery imports it; components never import policies.
Importing this module stays cheap: the SDK sentinels are loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from appstack.images import ImageReference, InvalidImageReference, parse_image_reference

if TYPE_CHECKING:
    from pulumi.output import UNKNOWN as UNKNOWN
    from pulumi.runtime.rpc import UNKNOWN as WIRE_UNKNOWN

__all__ = [
    "BUCKET",
    "COMMAND",
    "COMPONENT_MODULE",
    "CONTAINER",
    "DATABASE_COMPONENT",
    "DYNAMIC_MODULE",
    "ENVIRONMENT_LABEL",
    "EXIT_BAD_INPUT",
    "EXIT_OK",
    "EXIT_VIOLATION",
    "IMAGE_LABEL",
    "NETWORK",
    "PGVECTOR_EXTENSION",
    "RANDOM_PASSWORD",
    "REMOTE_IMAGE",
    "ROLE_LABEL",
    "STATEFUL_LABEL",
    "UNKNOWN",
    "VOLUME",
    "WIRE_UNKNOWN",
    "ImageReference",
    "InvalidImageReference",
    "component_type",
    "is_unknown",
    "parse_image_reference",
]

# --- labels -------------------------------------------------------------------------------------

ROLE_LABEL: Final = "appstack.role"
"""What a container or volume is for: `database`, `cache`, `objectstore`, `backend`, `*-data`."""
ENVIRONMENT_LABEL: Final = "appstack.environment"
"""The environment (stack) a Docker object belongs to."""
IMAGE_LABEL: Final = "appstack.image"
"""The plain image reference a container runs: known at preview, when the image id is not."""
STATEFUL_LABEL: Final = "appstack.stateful"
"""`"true"` on volumes that hold data (protected in production)."""

# --- type tokens --------------------------------------------------------------------------------

CONTAINER: Final = "docker:index/container:Container"
REMOTE_IMAGE: Final = "docker:index/remoteImage:RemoteImage"
VOLUME: Final = "docker:index/volume:Volume"
NETWORK: Final = "docker:index/network:Network"
COMMAND: Final = "command:local:Command"
RANDOM_PASSWORD: Final = "random:index/randomPassword:RandomPassword"

DYNAMIC_MODULE: Final = "appstack"
"""The module of appstack's dynamic resources: `pulumi-python:dynamic/<module>:<Name>`."""
BUCKET: Final = f"pulumi-python:dynamic/{DYNAMIC_MODULE}:Bucket"
PGVECTOR_EXTENSION: Final = f"pulumi-python:dynamic/{DYNAMIC_MODULE}:PgvectorExtension"

COMPONENT_MODULE: Final = "appstack:index"


def component_type(name: str) -> str:
    """The type token of an appstack component, e.g. `appstack:index:Database`.

    Part of every URN below the component: changing it re-creates everything inside.
    """
    return f"{COMPONENT_MODULE}:{name}"


DATABASE_COMPONENT: Final = component_type("Database")

# --- exit codes ---------------------------------------------------------------------------------

EXIT_OK: Final = 0
"""Clean: no mandatory violation, every check passed, the command did what it was asked."""
EXIT_VIOLATION: Final = 1
"""A mandatory policy violation, a failed verification check, a refused promotion."""
EXIT_BAD_INPUT: Final = 2
"""Bad input: arguments, settings, files or outputs that cannot be used; nothing was judged."""

# --- unknown values -----------------------------------------------------------------------------


def __getattr__(name: str) -> Any:
    """The SDK's sentinels, imported on first use (importing `pulumi` takes about a second).

    `UNKNOWN` is `pulumi.output.UNKNOWN`, the SDK's singleton for a value not known yet. It is
    the value of the policies' neutral view (`policies.model.Resource.props`) wherever the engine
    or the mock harness reports a computed value during a preview (test with `is_unknown`). It
    can never be mistaken for a real string, number or list, which is what the policies need: an
    unknown image is judged as unknown (refused where it matters), never as a string.

    `WIRE_UNKNOWN` is `pulumi.runtime.rpc.UNKNOWN`, the string that stands for an unknown value
    in the SDK's serialized properties: what the mock monitor records, and what older engines send
    a dynamic provider. Only code that reads raw wire values looks for it.
    """
    if name == "UNKNOWN":
        from pulumi.output import UNKNOWN

        return UNKNOWN
    if name == "WIRE_UNKNOWN":
        from pulumi.runtime.rpc import UNKNOWN as WIRE_UNKNOWN

        return WIRE_UNKNOWN
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def is_unknown(value: object) -> bool:
    """True for a value not known yet (preview), in each form the SDK hands one over.

    That is the SDK's `pulumi.output.Unknown` (the neutral view's `UNKNOWN`, and what a dynamic
    provider's `check`/`diff` receive from the engine for a computed input, one instance per
    value), or the wire string `WIRE_UNKNOWN` (what the mock monitor records, and what older
    engines send a dynamic provider). Dynamic providers must judge unknowns with this, never by
    comparing with one of the two.
    """
    from pulumi.output import Unknown
    from pulumi.runtime.rpc import UNKNOWN as wire

    return isinstance(value, Unknown) or (isinstance(value, str) and value == wire)
