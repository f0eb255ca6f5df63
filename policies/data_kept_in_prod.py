"""Data kept in prod (mandatory, critical).

Why: a recovery guide told operators to ``docker volume rm`` the database volume, and all data
was lost. In production a stateful resource must survive both an accidental ``destroy`` and a
change that would replace it.

Rule: in a production environment, every volume labelled ``appstack.stateful=true`` (a label
that is unknown counts as stateful), every Kubernetes PersistentVolumeClaim and every appstack
``Bucket`` must have ``protect`` set, and
``retain_on_delete`` where the source can tell it (the engine-less check can; the policy pack's
resource options do not carry it, so there only ``protect`` is enforced).
"""

from __future__ import annotations

from appstack.contract import BUCKET, STATEFUL_LABEL, VOLUME, is_unknown
from policies import kubernetes
from policies.model import PolicyContext, PolicySpec, Resource, Violation

SPEC = PolicySpec(
    name="data-kept-in-prod",
    description="Stateful volumes and buckets are protected and retained on delete in prod.",
    mandatory=True,
    severity="critical",
)


def is_stateful(resource: Resource) -> bool:
    """True for buckets, and for volumes labelled stateful (or whose label is not known yet)."""
    if resource.type in (BUCKET, kubernetes.PVC):
        return True
    if resource.type != VOLUME:
        return False
    label = resource.label(STATEFUL_LABEL)
    return is_unknown(label) or (isinstance(label, str) and label.lower() == "true")


def check(resource: Resource, ctx: PolicyContext) -> list[Violation]:
    """Violations of data-kept-in-prod for one resource (stateful volumes and buckets)."""
    if not is_stateful(resource) or not ctx.is_production(resource):
        return []
    missing = []
    if not resource.protect:
        missing.append("protect=True")
    if resource.retain_on_delete is False:
        missing.append("retain_on_delete=True")
    if not missing:
        return []
    return [
        SPEC.violation(
            resource,
            f"{resource.name} holds data in production but lacks {' and '.join(missing)}: "
            "a destroy or replacement would delete it. Set appstack:data protect and "
            "retainOnDelete for this stack.",
        )
    ]
