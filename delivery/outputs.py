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
    command = ["pulumi", "stack", "output", "--stack", stack, "--json", "--show-secrets"]
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise OutputsUnavailable(
            "the pulumi CLI is not on PATH (source toolchain/env.sh)"
        ) from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no error output"])[-1]
        raise OutputsUnavailable(f"`pulumi stack output --stack {stack}` failed: {redact(last)}")
    return _outputs_from_json(done.stdout, f"the outputs of stack {stack}")


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
