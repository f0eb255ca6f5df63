"""Record what the engine hands a policy pack, resource by resource, as JSON lines.

Each line is the neutral view (`policies.pack_adapter`) of one resource's inputs under
``Analyze``, plus the dependencies the engine links under ``AnalyzeStack``. Values unknown at
preview are written as the string ``"<unknown>"``; numbers keep their wire type (float).
"""

import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

from appstack.contract import is_unknown
from policies.pack_adapter import (
    from_policy_resource,
    from_resource_args,
    preserve_secret_markers,
)

VIEW = Path(os.environ["APPSTACK_ENGINE_VIEW"])


def plain(value: Any) -> Any:
    if is_unknown(value):
        return "<unknown>"
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def write(record: dict[str, Any]) -> None:
    with VIEW.open("a", encoding="utf-8") as out:
        out.write(json.dumps(record, sort_keys=True) + "\n")


def record_inputs(args: Any, report: Any) -> None:
    resource = from_resource_args(args)
    write(
        {
            "kind": "inputs",
            "type": resource.type,
            "name": resource.name,
            "urn": resource.urn,
            "props": plain(dict(resource.props)),
            "secret": sorted(resource.secret_props),
            "protect": resource.protect,
            "parent_type": resource.parent_type,
        }
    )


def record_links(args: Any, report: Any) -> None:
    for policy_resource in args.resources:
        resource = from_policy_resource(policy_resource)
        write(
            {
                "kind": "links",
                "urn": resource.urn,
                "dependencies": sorted(d.urn for d in policy_resource.dependencies),
            }
        )


preserve_secret_markers()
PolicyPack(
    name="appstack-engine-view",
    policies=[
        ResourceValidationPolicy(
            name="record-inputs",
            description="Writes each resource's inputs as the engine sends them.",
            enforcement_level=EnforcementLevel.ADVISORY,
            validate=record_inputs,
        ),
        StackValidationPolicy(
            name="record-links",
            description="Writes each resource's dependencies as the engine links them.",
            enforcement_level=EnforcementLevel.ADVISORY,
            validate=record_links,
        ),
    ],
)
