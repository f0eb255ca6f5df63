"""`python -m policies.check --stack S [--set key=value ...]`: the policy pack without the engine.

Runs the stack's program under mocks as a preview of a new stack sees it (computed values unknown),
with `Pulumi.<stack>.yaml` and any `--set` overrides (config paths without the namespace, e.g.
`--set database.image=postgres:15-alpine`), feeds the recorded graph to the same policy functions
the pack runs, and prints each violation with its policy, resource and message.

Exit status: 0 when no mandatory policy is violated, 1 when one is, 2 for bad input: one message
on standard error that lists every problem (an invalid setting reports the settings error; an
unknown stack says which stacks exist; a `--set` value that is not YAML, a `--policy-config` that
is not a JSON object of known keys), never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from typing import Any

import yaml

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


class BadInput(Exception):
    """Input the check cannot run with; `problems` lists every one of them."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


class _Parser(argparse.ArgumentParser):
    """argparse, reporting a bad command line as BadInput instead of exiting with its usage."""

    def error(self, message: str) -> Any:  # argparse's signature returns NoReturn
        raise BadInput([f"{message} (see --help)"])


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def _config_value_problem(value: Any) -> str | None:
    """Why a parsed `--set` value cannot be a config value (JSON), or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return "is not a finite number"
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return "is not a string, number, boolean, list or object (quote dates and the like)"
    except RecursionError:
        return "is nested too deeply"
    return None


def parse_override(item: str) -> tuple[str, Any]:
    """`KEY=VALUE` of `--set`, the value read as YAML; ValueError saying what is wrong."""
    key, separator, raw = item.partition("=")
    if not separator or not key:
        raise ValueError("expected KEY=VALUE, e.g. database.image=pgvector/pgvector:pg17")
    if any(not part for part in key.split(".")):
        raise ValueError(f"{key!r} has an empty part: write config paths such as database.port")
    try:
        value = yaml.safe_load(raw) if raw else ""
    except yaml.YAMLError as error:
        raise ValueError(f"the value is not valid YAML ({_one_line(error)})") from None
    except RecursionError:
        raise ValueError("the value is nested too deeply") from None
    problem = _config_value_problem(value)
    if problem:
        raise ValueError(f"the value {problem}")
    return key, value


def parse_policy_config(text: str | None) -> model.PolicyConfig:
    """`--policy-config`: a JSON object with only the pack's config keys; ValueError otherwise."""
    if text is None:
        return model.PolicyConfig()
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON ({error.msg} at character {error.pos})") from None
    except RecursionError:
        raise ValueError("nested too deeply") from None
    known = ", ".join(model.POLICY_CONFIG_KEYS)
    if not isinstance(document, dict):
        raise ValueError(f"expected a JSON object with the keys {known}")
    unknown = sorted(set(document) - set(model.POLICY_CONFIG_KEYS))
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(map(repr, unknown))}: the keys are {known}")
    return model.PolicyConfig.from_mapping(document)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The command line; BadInput when it is malformed."""
    parser = _Parser(
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


def read_input(args: argparse.Namespace) -> tuple[dict[str, Any], model.PolicyConfig]:
    """The stack's config values with every `--set` applied, and the policy config.

    Raises BadInput listing every problem at once.
    """
    problems: list[str] = []
    values: dict[str, Any] = {}
    stacks = known_stacks()
    if args.stack not in stacks:
        problems.append(f"unknown stack {args.stack!r}: the stacks are {', '.join(stacks)}")
    else:
        try:
            values = stack_config(args.stack)
        except (OSError, UnicodeDecodeError, yaml.YAMLError, AttributeError) as error:
            problems.append(f"Pulumi.{args.stack}.yaml cannot be read: {_one_line(error)}")
    for item in args.set:
        try:
            key, value = parse_override(item)
            apply_override(values, key, value)
        except ValueError as error:
            problems.append(f"--set {item!r}: {error}")
    config = model.PolicyConfig()
    try:
        config = parse_policy_config(args.policy_config)
    except ValueError as error:
        problems.append(f"--policy-config: {error}")
    if problems:
        raise BadInput(problems)
    return values, config


def _report_bad_input(problems: Sequence[str]) -> int:
    if len(problems) == 1:
        print(f"policies.check: {problems[0]}", file=sys.stderr)
    else:
        listed = "".join(f"\n  - {problem}" for problem in problems)
        print(f"policies.check: {len(problems)} problems:{listed}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the check; see the module docstring for the exit status."""
    import pulumi

    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
        values, config = read_input(args)
    except BadInput as error:
        return _report_bad_input(error.problems)
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
