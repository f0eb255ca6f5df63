"""`python -m policies.check --stack S [--set key=value ...]`: the policy pack without the engine.

Runs the stack's program under mocks as a preview of a new stack sees it (computed values unknown),
with `Pulumi.<stack>.yaml` and any `--set` overrides (config paths without the namespace, e.g.
`--set database.image=postgres:15-alpine`), feeds the recorded graph to the same policy functions
the pack runs, and prints each violation with its policy, resource and message.

Exit status: 0 when no mandatory policy is violated, 1 when one is, 2 for bad input (an invalid
setting reports the settings error; an unknown stack says which stacks exist).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from policies import model
from policies.evaluate import evaluate, has_mandatory
from policies.program import (
    PROJECT_ROOT,
    RecordedResource,
    apply_override,
    run_program,
    stack_config,
)


def known_stacks() -> list[str]:
    """The stacks that have a committed `Pulumi.<stack>.yaml`."""
    return sorted(
        path.name[len("Pulumi.") : -len(".yaml")] for path in PROJECT_ROOT.glob("Pulumi.*.yaml")
    )


def to_policy_resource(recorded: RecordedResource) -> model.Resource:
    """The neutral view the policies judge, from one recorded registration."""
    return model.Resource(
        type=recorded.type,
        name=recorded.name,
        urn=recorded.urn,
        props=recorded.inputs,
        protect=recorded.protect,
        retain_on_delete=recorded.retain_on_delete,
        secret_props=recorded.secret_inputs,
        parent_type=recorded.parent_type or None,
    )


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m policies.check",
        description="Run appstack's policies on a stack's resource graph, without the engine.",
    )
    parser.add_argument("--stack", required=True, help="dev, stage, prod or ci")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config path, e.g. database.image=postgres:15-alpine (repeatable)",
    )
    parser.add_argument(
        "--policy-config",
        metavar="JSON",
        help='pack config as JSON, e.g. {"extraAllowedRepositories": ["host:5000/pgvector"]}',
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the check; see the module docstring for the exit status."""
    import pulumi

    args = parse_args(sys.argv[1:] if argv is None else argv)
    stacks = known_stacks()
    if args.stack not in stacks:
        print(f"unknown stack {args.stack!r}: the stacks are {', '.join(stacks)}", file=sys.stderr)
        return 2
    values = stack_config(args.stack)
    for item in args.set:
        key, separator, raw = item.partition("=")
        if not separator or not key:
            print(
                f"--set {item!r}: expected KEY=VALUE, e.g. database.image=pgvector/pgvector:pg17",
                file=sys.stderr,
            )
            return 2
        try:
            apply_override(values, key, raw)
        except ValueError as error:
            print(f"--set {item!r}: {error}", file=sys.stderr)
            return 2
    try:
        config = model.PolicyConfig.from_mapping(
            json.loads(args.policy_config) if args.policy_config else None
        )
    except ValueError as error:
        print(f"--policy-config: {error}", file=sys.stderr)
        return 2
    try:
        run = run_program(args.stack, values, preview=True)
    except pulumi.RunError as error:
        print(str(error), file=sys.stderr)
        return 2
    violations = evaluate(
        [to_policy_resource(resource) for resource in run.resources],
        args.stack,
        run.outputs,
        run.secret_outputs,
        config,
    )
    for violation in violations:
        level = "mandatory" if violation.mandatory else "advisory"
        print(f"[{level}] {violation.policy}: {violation.resource}: {violation.message}")
    mandatory = has_mandatory(violations)
    print(
        f"{args.stack}: {len(run.resources)} resources checked, "
        f"{sum(v.mandatory for v in violations)} mandatory and "
        f"{sum(not v.mandatory for v in violations)} advisory violation(s)"
    )
    return 1 if mandatory else 0


if __name__ == "__main__":
    sys.exit(main())
