"""Environment prefix (advisory, low).

Why: only ``dev-`` buckets ever existed and ``stage-``/``prod-`` were "to do"; when several
environments share a Docker engine or an object store, a name without its environment prefix
collides with another environment's object or is mistaken for it.

Rule: containers, volumes and networks (``name``) and appstack buckets (``bucket_name``) are
named ``{stack}-...``. Advisory: a wrong name is confusing, not dangerous by itself.
"""

from __future__ import annotations

from appstack.contract import BUCKET, CONTAINER, NETWORK, VOLUME
from policies.model import PolicyContext, PolicySpec, Resource, Violation

SPEC = PolicySpec(
    name="environment-prefix",
    description="Docker objects and buckets are named with their stack's prefix.",
    mandatory=False,
    severity="low",
)

_NAME_PROP = {CONTAINER: "name", VOLUME: "name", NETWORK: "name", BUCKET: "bucket_name"}


def check(resource: Resource, ctx: PolicyContext) -> list[Violation]:
    """Violations of environment-prefix for containers, volumes, networks and buckets."""
    prop = _NAME_PROP.get(resource.type)
    if prop is None:
        return []
    value = resource.props.get(prop)
    prefix = f"{ctx.stack}-"
    if isinstance(value, str) and value.startswith(prefix):
        return []
    shown = repr(value) if isinstance(value, str) or value is None else "unknown at preview"
    return [
        SPEC.violation(
            resource,
            f"{resource.name} {prop} {shown} does not start with '{prefix}': every object of "
            f"stack {ctx.stack} carries its environment prefix.",
        )
    ]
