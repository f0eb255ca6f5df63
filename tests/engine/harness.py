"""The real Pulumi CLI built by `bash toolchain/build.sh engine`, driven on a temporary project.

Shared by the engine tests: the environment toolchain/env.sh sets up, a project directory whose
virtualenv is the repo's, a file backend of its own, and `pulumi` commands bounded by a timeout
whose output is kept for the assertions.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV = REPO_ROOT / ".venv"
BUILD_STEP = "bash toolchain/build.sh engine"
PASSPHRASE = "appstack-engine-test-passphrase"
COMMAND_TIMEOUT_SECONDS = 120.0
"""Upper bound for one CLI command (an `up` takes a few seconds; the machine is shared)."""


def engine_env() -> tuple[dict[str, str], str | None]:
    """The environment toolchain/env.sh sets up, and what is missing from it (None: nothing).

    The engine counts as built when the cached bin dir that env.sh puts first on PATH holds the
    CLI, the Python language host and the dynamic-provider plugin.
    """
    result = subprocess.run(
        ["bash", "-c", ". toolchain/env.sh && env -0"],
        cwd=REPO_ROOT,
        capture_output=True,
        timeout=30,
        check=False,
    )
    if result.returncode != 0:
        return {}, f"sourcing toolchain/env.sh failed: {result.stderr.decode(errors='replace')}"
    env = dict(pair.split("=", 1) for pair in result.stdout.decode().split("\0") if "=" in pair)
    # A `pulumi` elsewhere on PATH does not count: it is not the pinned, cached build.
    bin_dir = Path(env["PATH"].split(":", 1)[0])
    for program in ("pulumi", "pulumi-language-python", "pulumi-resource-pulumi-python"):
        if not os.access(bin_dir / program, os.X_OK):
            return (
                env,
                f"{bin_dir / program} is missing: the engine is not built, run `{BUILD_STEP}`",
            )
    if not (VENV / "bin" / "python").is_file():
        return env, f"{VENV} is missing: create it with `make venv`"
    return env, None


@dataclass
class Run:
    """One finished CLI command: its arguments, exit code, combined output and duration."""

    args: list[str]
    code: int
    output: str
    seconds: float


@dataclass
class PulumiProject:
    """A temporary project on its own file backend; runs `pulumi` and keeps every output."""

    directory: Path
    backend: Path
    env: dict[str, str]
    missing: str | None
    """Why the engine cannot run (see `engine_env`), or None."""
    runs: list[Run] = field(default_factory=list)

    def require_engine(self) -> None:
        """Fail the test (never skip it) when the engine is not built."""
        if self.missing:
            pytest.fail(self.missing, pytrace=False)

    def run(
        self,
        *args: str,
        ok: bool | None = True,
        stdin: str | None = None,
        timeout: float = COMMAND_TIMEOUT_SECONDS,
    ) -> Run:
        """Run `pulumi <args>` bounded by `timeout`; `ok` asserts success (True) or failure."""
        self.require_engine()
        argv = ["pulumi", *args, "--non-interactive", "--color", "never"]
        started = time.monotonic()
        # A session of its own, so a hung command is killed with everything it started.
        process = subprocess.Popen(
            argv,
            cwd=self.directory,
            env=self.env,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            out, _ = process.communicate(stdin.encode() if stdin else None, timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, _ = process.communicate(timeout=10)
            pytest.fail(
                f"pulumi {' '.join(args)} did not finish in {timeout:g}s:\n"
                f"{out.decode(errors='replace')}"
            )
        run = Run(list(args), process.returncode, out.decode(errors="replace"), 0.0)
        run.seconds = time.monotonic() - started
        self.runs.append(run)
        if ok is True:
            assert run.code == 0, f"pulumi {' '.join(args)} failed ({run.code}):\n{run.output}"
        elif ok is False:
            assert run.code != 0, f"pulumi {' '.join(args)} unexpectedly succeeded:\n{run.output}"
        return run

    def configure(self, stack: str, plain: dict[str, str], secret: dict[str, str]) -> None:
        """Create `stack` and set its config; secret values go through stdin, not argv."""
        self.run("stack", "init", stack)
        for key, value in plain.items():
            self.run("config", "set", "--stack", stack, key, value)
        for key, value in secret.items():
            self.run("config", "set", "--stack", stack, "--secret", key, stdin=value)

    def outputs(self, stack: str) -> dict[str, Any]:
        """The stack outputs (secrets stay masked: --show-secrets is never used)."""
        return dict(json.loads(self.run("stack", "output", "--json", "--stack", stack).output))

    def state(self, stack: str) -> dict[str, Any]:
        """The checkpoint file of `stack` as the file backend wrote it."""
        files = list((self.backend / ".pulumi" / "stacks").rglob(f"{stack}.json"))
        assert len(files) == 1, f"expected one state file for {stack}, found {files}"
        return dict(json.loads(files[0].read_text()))

    def transcript(self) -> str:
        """Everything every command printed so far."""
        return "\n".join(f"$ pulumi {' '.join(run.args)}\n{run.output}" for run in self.runs)

    def timings(self) -> str:
        return ", ".join(f"{run.args[0]} {run.seconds:.1f}s" for run in self.runs)


def new_project(base: Path, name: str, program: str) -> PulumiProject:
    """A project `name` running `program`, with the repo's venv, on a file backend under `base`.

    The venv has this checkout's package installed in editable mode (`make venv`), so the
    program and the dynamic-provider plugin process both import `appstack` from it, as a
    consumer's project with the wheel installed would.
    """
    env, missing = engine_env()
    directory, backend = base / "project", base / "backend"
    directory.mkdir()
    backend.mkdir()
    (directory / "__main__.py").write_text(program)
    (directory / "Pulumi.yaml").write_text(
        f"name: {name}\n"
        "runtime:\n"
        "  name: python\n"
        "  options:\n"
        "    toolchain: pip\n"
        f"    virtualenv: {VENV}\n"
    )
    env.update(PULUMI_BACKEND_URL=f"file://{backend}", PULUMI_CONFIG_PASSPHRASE=PASSPHRASE)
    env.pop("PYTHONPATH", None)
    env.pop("PULUMI_ACCESS_TOKEN", None)
    return PulumiProject(directory, backend, env, missing)
