"""`python -m policies.check --stack S [--program P] [--set key=value ...]`: the pack, no engine.

Runs a Pulumi program under mocks as a preview of a new stack sees it (computed values unknown),
feeds the recorded graph to the same policy functions the pack runs, and prints each violation
with its policy, resource and message.

The program is appstack's own `__main__.py` by default; `--program` names another one (a file, or
a project directory holding `__main__.py`), such as a program that uses appstack as a library.
Its config is the stack file `Pulumi.<stack>.yaml` beside it (or `--config-file`), plus any
`--set` overrides: config paths in the program's namespace (`--namespace`, default the project
name in the `Pulumi.yaml` beside it), e.g. `--set database.image=postgres:15-alpine`.

Exit status (`appstack.contract`): 0 when no mandatory policy is violated, 1 when one is, 2 for
bad input: one message on standard error that lists every problem (an invalid setting or Args
reports its error; an unknown stack says which stacks exist; a `--set` value that is not YAML, a
`--policy-config` that is not a JSON object of known keys), never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from appstack.contract import EXIT_BAD_INPUT, EXIT_OK, EXIT_VIOLATION
from appstack.graph import (
    RecordedResource,
    apply_override,
    in_namespace,
    namespaced,
    project_name,
    read_stack_file,
    run_program,
)
from policies import model
from policies.evaluate import evaluate, has_mandatory

APPSTACK_PROGRAM = Path(__file__).resolve().parent.parent / "__main__.py"
"""appstack's own program, checked when no `--program` is given."""


def known_stacks(directory: Path) -> list[str]:
    """The stacks that have a `Pulumi.<stack>.yaml` in `directory`."""
    return sorted(
        path.name[len("Pulumi.") : -len(".yaml")] for path in directory.glob("Pulumi.*.yaml")
    )


def to_policy_resource(
    recorded: RecordedResource, providers: Mapping[str, RecordedResource] | None = None
) -> model.Resource:
    """The neutral view the policies judge, from one recorded registration; `providers` maps a
    provider URN to its registration (its inputs are the resource's `provider_props`)."""
    provider = (providers or {}).get(recorded.provider.rsplit("::", 1)[0])
    return model.Resource(
        type=recorded.type,
        name=recorded.name,
        urn=recorded.urn,
        props=recorded.inputs,
        protect=recorded.protect,
        retain_on_delete=recorded.retain_on_delete,
        secret_props=recorded.secret_inputs,
        parent_type=recorded.parent_type or None,
        provider_props=provider.inputs if provider is not None else {},
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
        description="Run appstack's policies on a program's resource graph, without the engine.",
    )
    parser.add_argument("--stack", required=True, help="the stack, e.g. dev, stage, prod or ci")
    parser.add_argument(
        "--program",
        type=Path,
        default=APPSTACK_PROGRAM,
        metavar="PATH",
        help="the program's __main__.py or project directory (default: appstack's own)",
    )
    parser.add_argument(
        "--config-file",
        type=Path,
        metavar="FILE",
        help="the stack's config (default: Pulumi.<stack>.yaml beside the program)",
    )
    parser.add_argument(
        "--namespace",
        help="the config namespace of --set keys (default: the program's project name)",
    )
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


def _program_file(program: Path) -> Path:
    """The program file `--program` names: the file itself, or `__main__.py` in a directory."""
    resolved = program.resolve()
    return resolved / "__main__.py" if resolved.is_dir() else resolved


def read_input(args: argparse.Namespace) -> tuple[Path, dict[str, Any], model.PolicyConfig]:
    """The program, its config (keyed `namespace:key`) with every `--set` applied, and the
    policy config.

    Raises BadInput listing every problem at once.
    """
    problems: list[str] = []
    program = _program_file(args.program)
    config: dict[str, Any] = {}
    if not program.is_file():
        problems.append(f"--program {args.program}: no such program file")
    elif args.config_file is not None and not args.config_file.is_file():
        problems.append(f"--config-file {args.config_file}: no such file")
    else:
        stacks = known_stacks(program.parent)
        config_file: Path = args.config_file or program.parent / f"Pulumi.{args.stack}.yaml"
        if args.config_file is None and args.stack not in stacks:
            problems.append(
                f"unknown stack {args.stack!r}: the stacks are {', '.join(stacks) or 'none'} "
                f"(no Pulumi.<stack>.yaml beside {program})"
            )
        else:
            try:
                config = read_stack_file(config_file)
            except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError) as error:
                problems.append(f"{config_file.name} cannot be read: {_one_line(error)}")
    try:
        namespace = args.namespace or project_name(program) or program.parent.name
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError) as error:
        problems.append(f"the Pulumi.yaml beside {program} cannot be read: {_one_line(error)}")
        namespace = program.parent.name
    values = in_namespace(config, namespace)
    for item in args.set:
        try:
            key, value = parse_override(item)
            apply_override(values, key, value)
        except ValueError as error:
            problems.append(f"--set {item!r}: {error}")
    policy_config = model.PolicyConfig()
    try:
        policy_config = parse_policy_config(args.policy_config)
    except ValueError as error:
        problems.append(f"--policy-config: {error}")
    if problems:
        raise BadInput(problems)
    config.update(namespaced(values, namespace))
    return program, config, policy_config


def _report_bad_input(problems: Sequence[str]) -> int:
    if len(problems) == 1:
        print(f"policies.check: {problems[0]}", file=sys.stderr)
    else:
        listed = "".join(f"\n  - {problem}" for problem in problems)
        print(f"policies.check: {len(problems)} problems:{listed}", file=sys.stderr)
    return EXIT_BAD_INPUT


def main(argv: Sequence[str] | None = None) -> int:
    """Run the check; see the module docstring for the exit status."""
    import pulumi

    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
        program, config, policy_config = read_input(args)
    except BadInput as error:
        return _report_bad_input(error.problems)
    try:
        run = run_program(program, args.stack, config, preview=True)
    except pulumi.RunError as error:  # invalid settings or Args: their message lists every one
        print(str(error), file=sys.stderr)
        return EXIT_BAD_INPUT
    providers = {r.urn: r for r in run.resources if r.type.startswith("pulumi:providers:")}
    violations = evaluate(
        [to_policy_resource(resource, providers) for resource in run.resources],
        args.stack,
        run.outputs,
        run.secret_outputs,
        policy_config,
    )
    for violation in violations:
        level = "mandatory" if violation.mandatory else "advisory"
        print(f"[{level}] {violation.policy}: {violation.resource}: {violation.message}")
    print(
        f"{args.stack}: {len(run.resources)} resources checked, "
        f"{sum(v.mandatory for v in violations)} mandatory and "
        f"{sum(not v.mandatory for v in violations)} advisory violation(s)"
    )
    return EXIT_VIOLATION if has_mandatory(violations) else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
