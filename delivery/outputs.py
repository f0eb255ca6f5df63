"""Reading a deployed stack's outputs, for the commands that judge a live stack (verify, promote).

``pulumi stack output --json --show-secrets`` gives them, or a file saved from it. The outputs
are kept in memory only: the callers print nothing of them but what they check.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from delivery.redact import redact


class OutputsUnavailable(Exception):
    """The outputs cannot be read or are not a JSON object; the message says why (no secret)."""


def read_stack_outputs(stack: str, cwd: Path) -> dict[str, Any]:
    """``pulumi stack output --json --show-secrets`` of ``stack`` (verification needs secrets)."""
    text = _pulumi_json(["stack", "output"], stack, cwd)
    return _outputs_from_json(text, f"the outputs of stack {stack}")


def _pulumi_json(subcommand: list[str], stack: str, cwd: Path) -> str:
    """The JSON `pulumi SUBCOMMAND --stack STACK --json --show-secrets` prints."""
    command = ["pulumi", *subcommand, "--stack", stack, "--json", "--show-secrets"]
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise OutputsUnavailable(
            "the pulumi CLI is not on PATH (source toolchain/env.sh)"
        ) from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no error output"])[-1]
        shown = " ".join(["pulumi", *subcommand])
        raise OutputsUnavailable(f"`{shown} --stack {stack}` failed: {redact(last)}")
    return done.stdout


def read_stack_config(
    stack: str, cwd: Path, namespace: str
) -> tuple[dict[str, Any], frozenset[str]]:
    """The ``namespace:`` config values of ``stack`` with its secrets decrypted (``pulumi config
    --json --show-secrets``), keys without the namespace, and the keys that are secrets."""
    text = _pulumi_json(["config"], stack, cwd)
    config = _outputs_from_json(text, f"the config of stack {stack}")
    values: dict[str, Any] = {}
    secret_keys: set[str] = set()
    for full_key, entry in config.items():
        owner, _, key = full_key.partition(":")
        if owner != namespace or not isinstance(entry, dict):
            continue
        values[key] = entry["objectValue"] if "objectValue" in entry else entry.get("value")
        if entry.get("secret"):
            secret_keys.add(key)
    return values, frozenset(secret_keys)


def read_outputs_file(path: Path) -> dict[str, Any]:
    """Stack outputs saved from ``pulumi stack output --json --show-secrets``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise OutputsUnavailable(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise OutputsUnavailable(f"{path} is not UTF-8 text (byte at offset {exc.start})") from None
    return _outputs_from_json(text, str(path))


def _outputs_from_json(text: str, where: str) -> dict[str, Any]:
    try:
        outputs = json.loads(text)
    except json.JSONDecodeError as exc:
        raise OutputsUnavailable(f"{where} are not JSON ({exc.msg})") from None
    except RecursionError:
        raise OutputsUnavailable(f"{where} are nested too deeply") from None
    if not isinstance(outputs, dict):
        raise OutputsUnavailable(f"{where} are not a JSON object")
    return outputs
