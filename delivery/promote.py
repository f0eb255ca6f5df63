"""Promotion: write the exact image references a source stack runs into the target's config.

``python -m delivery promote --from stage --to prod`` reads stage's ``images`` stack output
(``{database, cache, objectStore, backend}``), refuses references without a ``@sha256:`` digest,
refuses when stage's live verification fails, refuses when stage does not report an image for a
role (prod would keep an image stage never ran) or differs from an image the user expects
(``--image role=ref``), then sets ``appstack:<role>.image`` in ``Pulumi.prod.yaml``.

The file is edited in place, value by value, at the positions the YAML parser reports, so every
other line and comment stays byte for byte and the pull request shows only the image lines; the
result is re-parsed and compared with the intended configuration before it is written.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from appstack.contract import EXIT_BAD_INPUT, EXIT_OK
from appstack.contract import EXIT_VIOLATION as EXIT_REFUSED
from delivery.outputs import OutputsUnavailable, read_outputs_file, read_stack_outputs
from delivery.preview import is_stack_name
from delivery.redact import redact

# images output role -> structured config key in Pulumi.<stack>.yaml
ROLE_CONFIG_KEYS = {
    "database": "appstack:database",
    "cache": "appstack:cache",
    "objectStore": "appstack:objectStore",
    "backend": "appstack:backend",
}
DIGEST_REFERENCE = re.compile(r"^[^\s@]+@sha256:[0-9a-f]{64}$")
_PLAIN_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$")

Verifier = Callable[[Mapping[str, Any]], Sequence[Any]]


class PromotionError(Exception):
    """Promotion cannot go ahead; ``exit_code`` says whether it was refused or the input is bad."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, reasons: str | Sequence[str]) -> None:
        self.reasons = [reasons] if isinstance(reasons, str) else list(reasons)
        super().__init__("; ".join(self.reasons))


class BadInput(PromotionError):
    """Arguments, outputs or the config file are not what promotion needs (exit 2)."""


class Refused(PromotionError):
    """The promotion is well-formed but unsafe (exit 1)."""

    exit_code = EXIT_REFUSED


@dataclass(frozen=True)
class ImageChange:
    """One role's image in the target config, before and after promotion."""

    role: str
    old: str | None
    new: str

    @property
    def changed(self) -> bool:
        return self.old != self.new


# --------------------------------------------------------------------------------------------
# Reading the source stack


def _read_text(path: Path, what: str) -> str:
    """A UTF-8 file's text, or BadInput saying why it cannot be had."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"cannot {what} {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path} is not UTF-8 text (byte at offset {exc.start})") from None


def source_images(outputs: Mapping[str, Any], source: str) -> dict[str, str]:
    """The ``images`` output of the source stack, checked to belong to ``source``."""
    environment = outputs.get("environment")
    if environment is not None and environment != source:
        raise BadInput(f"these outputs are of stack {environment!r}, not {source!r}")
    images = outputs.get("images")
    if not isinstance(images, Mapping):
        raise BadInput(f"stack {source} has no `images` output (is it deployed?)")
    unknown = sorted(set(images) - set(ROLE_CONFIG_KEYS))
    if unknown:
        raise BadInput(
            f"unknown role(s) {', '.join(unknown)} in {source}'s images; "
            f"expected {', '.join(ROLE_CONFIG_KEYS)}"
        )
    bad = sorted(role for role, ref in images.items() if not isinstance(ref, str))
    if bad:
        raise BadInput(f"{source}'s images output holds a non-string for {', '.join(bad)}")
    return dict(images)


def static_refusals(
    images: Mapping[str, str], expected: Mapping[str, str], source: str
) -> list[str]:
    """Every reason, short of verification, not to promote ``images``."""
    reasons = []
    for role in ROLE_CONFIG_KEYS:
        ref = images.get(role)
        if ref is None:
            reasons.append(
                f"{role}: {source} reports no image, so the target would keep one "
                f"{source} never ran"
            )
        elif not DIGEST_REFERENCE.match(ref):
            reasons.append(f"{role}: {ref!r} has no @sha256:<64 hex> digest; pin it in {source}")
    for role, ref in expected.items():
        if images.get(role) != ref:
            runs = images.get(role) or "nothing"
            reasons.append(f"{role}: {source} never ran {ref!r} (it runs {runs})")
    return reasons


def _result_passed(result: Any) -> bool:
    for attribute in ("ok", "passed", "success"):
        value = getattr(result, attribute, None)
        if isinstance(value, bool):
            return value
    return False  # a result we cannot read counts as a failure


def _result_text(result: Any, *attributes: str) -> str:
    for attribute in attributes:
        value = getattr(result, attribute, None)
        if isinstance(value, str) and value:
            return value
    return ""


def verification_refusals(
    outputs: Mapping[str, Any], verifier: Verifier, source: str
) -> tuple[list[str], int]:
    """Failed checks of the source stack as refusal reasons, and how many checks ran."""
    try:
        results = list(verifier(outputs))
    except PromotionError:
        raise
    except Exception as exc:  # a crashed verification is a failed one
        return [f"verification of {source} crashed: {type(exc).__name__}: {redact(str(exc))}"], 0
    if not results:
        return [f"verification of {source} ran no checks"], 0
    reasons = []
    for result in results:
        if not _result_passed(result):
            name = _result_text(result, "name", "check") or "a check"
            why = _result_text(result, "detail", "reason", "message")
            reasons.append(f"{source} fails {name}" + (f": {redact(why)}" if why else ""))
    return reasons, len(results)


# --------------------------------------------------------------------------------------------
# Editing the target config


def _get(mapping: MappingNode, key: str) -> tuple[ScalarNode, Node] | None:
    for key_node, value_node in mapping.value:
        if isinstance(key_node, ScalarNode) and key_node.value == key:
            return key_node, value_node
    return None


def _scalar(ref: str, style: str | None, flow: bool) -> str:
    if style == "'" or (style is None and not flow and _PLAIN_SAFE.match(ref)):
        return f"'{ref}'" if style == "'" else ref
    return json.dumps(ref)  # a JSON string is a valid YAML double-quoted scalar


def _image_edit(config: MappingNode, key: str, ref: str) -> tuple[int, int, str] | None:
    """The (start, end, replacement) that sets ``key``'s image to ``ref``; None if already so."""
    entry = _get(config, key)
    if entry is None:
        if config.flow_style or not config.value:
            raise BadInput(f"cannot add {key} to a flow-style or empty `config:` mapping")
        first_key = config.value[0][0]
        indent = " " * first_key.start_mark.column
        at = first_key.start_mark.index
        block = f"{key}:\n{indent}  image: {_scalar(ref, None, False)}\n{indent}"
        return at, at, block
    component = entry[1]
    if not isinstance(component, MappingNode):
        raise BadInput(f"{key} is not a mapping in the config file")
    image = _get(component, "image")
    if image is not None:
        node = image[1]
        if not isinstance(node, ScalarNode):
            raise BadInput(f"{key}.image is not a string in the config file")
        if node.value == ref:
            return None
        start, end = node.start_mark.index, node.end_mark.index
        return start, end, _scalar(ref, node.style, component.flow_style or False)
    if component.flow_style:
        at = component.start_mark.index + 1  # just after "{"
        separator = ", " if component.value else ""
        return at, at, f"image: {_scalar(ref, None, True)}{separator}"
    first_key = component.value[0][0]
    at = first_key.start_mark.index
    indent = " " * first_key.start_mark.column
    return at, at, f"image: {_scalar(ref, None, False)}\n{indent}"


def current_images(text: str) -> dict[str, str | None]:
    """The image of each role in a Pulumi.<stack>.yaml (None where unset)."""
    data = _load(text)
    config = data.get("config") or {}
    images: dict[str, str | None] = {}
    for role, key in ROLE_CONFIG_KEYS.items():
        component = config.get(key)
        image = component.get("image") if isinstance(component, dict) else None
        images[role] = image if isinstance(image, str) else None
    return images


def _load(text: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise BadInput(f"the config file is not valid YAML: {exc}") from None
    except RecursionError:
        raise BadInput("the config file is nested too deeply") from None
    if data is None:
        data = {}
    if not isinstance(data, dict) or not isinstance(data.get("config", {}), dict):
        raise BadInput("the config file is not a mapping with a `config:` mapping")
    return data


def rewrite_config(text: str, images: Mapping[str, str]) -> str:
    """``text`` with each role's image set to ``images[role]``, everything else untouched."""
    data = _load(text)
    root = yaml.compose(text)
    if root is None or (isinstance(root, MappingNode) and _get(root, "config") is None):
        prefix = text if not text or text.endswith("\n") else text + "\n"
        entries = "".join(
            f"  {ROLE_CONFIG_KEYS[role]}:\n    image: {_scalar(ref, None, False)}\n"
            for role, ref in images.items()
        )
        new_text = f"{prefix}config:\n{entries}"
    else:
        if not isinstance(root, MappingNode):
            raise BadInput("the config file is not a mapping")
        config_entry = _get(root, "config")
        assert config_entry is not None
        config = config_entry[1]
        if not isinstance(config, MappingNode):
            raise BadInput("`config:` in the config file is not a mapping")
        edits = [
            edit
            for role, ref in images.items()
            if (edit := _image_edit(config, ROLE_CONFIG_KEYS[role], ref)) is not None
        ]
        new_text = text
        for start, end, replacement in sorted(edits, reverse=True):
            new_text = new_text[:start] + replacement + new_text[end:]
    expected = copy.deepcopy(data)
    config_data = expected.setdefault("config", {})
    for role, ref in images.items():
        component = config_data.setdefault(ROLE_CONFIG_KEYS[role], {})
        component["image"] = ref
    if _load(new_text) != expected:
        raise BadInput("editing the config file would change more than the images; edit it by hand")
    return new_text


# --------------------------------------------------------------------------------------------
# The command


@dataclass(frozen=True)
class PromotionResult:
    """What promotion did (or, with dry_run, would do) to the target config."""

    config_file: Path
    changes: list[ImageChange]
    checks: int
    written: bool


def promote(
    source: str,
    target: str,
    outputs: Mapping[str, Any],
    config_file: Path,
    verifier: Verifier,
    expected: Mapping[str, str] | None = None,
    dry_run: bool = False,
) -> PromotionResult:
    """Check everything, then write ``outputs['images']`` into ``config_file``.

    ``verifier`` runs the live checks of the source stack (``delivery verify``'s
    ``verify_stack``; the command line passes it in, so this module never imports verify).

    Raises :class:`Refused` (unsafe) or :class:`BadInput` (malformed) with every reason found.
    """
    if source == target:
        raise BadInput("--from and --to name the same stack")
    # --to also names the file Pulumi.<to>.yaml: no path may hide in it.
    bad_names = [name for name in (source, target) if not is_stack_name(name)]
    if bad_names:
        raise BadInput(f"not a stack name: {', '.join(map(repr, bad_names))}")
    expected = dict(expected or {})
    unknown = sorted(set(expected) - set(ROLE_CONFIG_KEYS))
    if unknown:
        raise BadInput(f"--image names unknown role(s): {', '.join(unknown)}")
    text = _read_text(config_file, "read")
    images = source_images(outputs, source)
    before = current_images(text)
    reasons = static_refusals(images, expected, source)
    if reasons:
        raise Refused(reasons)
    reasons, checks = verification_refusals(outputs, verifier, source)
    if reasons:
        raise Refused(reasons)
    ordered = {role: images[role] for role in ROLE_CONFIG_KEYS}
    new_text = rewrite_config(text, ordered)
    changes = [ImageChange(role, before[role], ref) for role, ref in ordered.items()]
    written = new_text != text and not dry_run
    if written:
        try:
            config_file.write_text(new_text, encoding="utf-8")
        except OSError as exc:
            raise BadInput(f"cannot write {config_file}: {exc.strerror}") from None
    return PromotionResult(config_file, changes, checks, written)


def _expected_images(specs: Sequence[str]) -> dict[str, str]:
    expected: dict[str, str] = {}
    for spec in specs:
        role, sep, ref = spec.partition("=")
        if not sep or not role or not ref:
            raise BadInput(f"--image expects ROLE=REF, got {spec!r}")
        if role in expected and expected[role] != ref:
            raise BadInput(f"--image gives two references for {role}")
        expected[role] = ref
    return expected


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``promote`` command's arguments."""
    parser.add_argument("--from", dest="source", required=True, metavar="STACK")
    parser.add_argument("--to", dest="target", required=True, metavar="STACK")
    parser.add_argument(
        "--outputs-file",
        type=Path,
        metavar="FILE",
        help="the source's `pulumi stack output --json --show-secrets` saved to FILE "
        "(default: run that command)",
    )
    parser.add_argument(
        "--config-file",
        type=Path,
        metavar="FILE",
        help="the target's config (default: Pulumi.<to>.yaml in --cwd)",
    )
    parser.add_argument("--cwd", type=Path, default=Path("."), help="the Pulumi project directory")
    parser.add_argument(
        "--image",
        action="append",
        default=[],
        metavar="ROLE=REF",
        help="refuse unless the source runs exactly REF for ROLE (repeatable)",
    )
    parser.add_argument("--dry-run", action="store_true", help="check and print, write nothing")


def _report(result: PromotionResult, source: str, target: str) -> str:
    lines = [f"Promotion {source} -> {target} ({result.config_file}):"]
    lines.append(f"  {source} passed all {result.checks} verification checks")
    for change in result.changes:
        key = f"{ROLE_CONFIG_KEYS[change.role].removeprefix('appstack:')}.image"
        if change.changed:
            lines.append(f"  {key}: {change.old or '(unset)'} -> {change.new}")
        else:
            lines.append(f"  {key}: unchanged ({change.new})")
    if not any(c.changed for c in result.changes):
        lines.append(f"{target} already runs what {source} runs; nothing to write.")
    elif result.written:
        lines.append(
            f"Wrote {result.config_file}; review and merge the diff, then deploy {target}."
        )
    else:
        lines.append("Dry run: nothing written.")
    return "\n".join(lines)


def main(args: argparse.Namespace, verifier: Verifier) -> int:
    """Run ``promote`` from parsed arguments; print the changes or every reason for refusing."""
    try:
        expected = _expected_images(args.image)
        try:
            outputs = (
                read_outputs_file(args.outputs_file)
                if args.outputs_file
                else read_stack_outputs(args.source, args.cwd)
            )
        except OutputsUnavailable as exc:
            raise BadInput(str(exc)) from None
        config_file = args.config_file or args.cwd / f"Pulumi.{args.target}.yaml"
        result = promote(
            args.source,
            args.target,
            outputs,
            config_file,
            verifier,
            expected=expected,
            dry_run=args.dry_run,
        )
    except PromotionError as exc:
        verdict = "refused" if exc.exit_code == EXIT_REFUSED else "bad input"
        print(f"Promotion {args.source} -> {args.target} {verdict}:", file=sys.stderr)
        for reason in exc.reasons:
            print(f"  - {reason}", file=sys.stderr)
        return exc.exit_code
    print(_report(result, args.source, args.target))
    return EXIT_OK
