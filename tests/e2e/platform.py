"""A deployed appstack stack under the real engine, for the end-to-end tests (`make e2e`).

The stack program is the repository's own (`__main__.py`, `Pulumi.yaml` with its config schema,
the stack's `Pulumi.<stack>.yaml` and the backend's build context `app/`), copied into a temporary
project directory so the tests can change its config and its backend sources without touching
the checkout. It runs with the CLI, language host and provider plugins `toolchain/build.sh`
built, on a file backend of its own, against the local Docker engine (`scripts/dockerd.sh`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.engine.harness import REPO_ROOT, VENV, PulumiProject, Run, new_project

UP_TIMEOUT_SECONDS = 600.0
"""Upper bound for one `up`/`destroy` (a cold `up --stack ci` takes about 20 s here)."""
POLICY_PACK = str(REPO_ROOT / "policies")
PROGRAM_FILES = ("__main__.py",)
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".venv", ".pytest_cache", ".mypy_cache")


def docker(*args: str, check: bool = True, timeout: float = 300.0) -> str:
    """`docker <args>`'s standard output; raises with its error output when `check` fails."""
    done = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def inspect(name: str) -> dict[str, Any] | None:
    """`docker inspect` of one container, or None when there is no such container."""
    out = docker("inspect", "--type", "container", name, check=False)
    if not out:
        return None
    return dict(json.loads(out)[0])


def containers_of(environment: str) -> list[str]:
    """Names of every container (running or not) labelled with this appstack environment."""
    out = docker("ps", "-a", "--filter", f"label=appstack.environment={environment}",
                 "--format", "{{.Names}}")  # fmt: skip
    return sorted(out.split()) if out else []


def volumes_of(environment: str) -> list[str]:
    out = docker("volume", "ls", "-q", "--filter", f"label=appstack.environment={environment}")
    return sorted(out.split()) if out else []


def remove_leftovers(environment: str) -> None:
    """Remove the containers and volumes of `environment` that a failed step left behind."""
    for name in containers_of(environment):
        docker("rm", "--force", name, check=False)
    for volume in volumes_of(environment):
        docker("volume", "rm", "--force", volume, check=False)


def build_variant(base: str, tag: str, label: str) -> str:
    """A new image `tag` with the content of `base` and a new id, as a digest bump would give."""
    dockerfile = f"FROM {base}\nLABEL appstack.e2e.variant={label}\n"
    done = subprocess.run(
        ["docker", "build", "--network", "none", "--quiet", "--tag", tag, "-"],
        input=dockerfile,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "DOCKER_BUILDKIT": "0"},
    )
    assert done.returncode == 0, f"docker build {tag} failed: {done.stderr}"
    return docker("image", "inspect", "--format", "{{.Id}}", tag)


def build_backend(context: Path, tag: str) -> str:
    """Build the backend image from a (changed) copy of app/ on the local Python image."""
    done = subprocess.run(
        ["docker", "build", "--network", "none", "--quiet", "--build-arg",
         "BASE_IMAGE=appstack/python:3.11-bookworm", "--tag", tag, str(context)],
        capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "DOCKER_BUILDKIT": "0"},
    )  # fmt: skip
    assert done.returncode == 0, f"docker build {tag} failed: {done.stdout}{done.stderr}"
    return docker("image", "inspect", "--format", "{{.Id}}", tag)


def http_status(url: str) -> int:
    """The HTTP status of a GET on a loopback URL (0 when nothing answers)."""
    assert url.startswith("http://127.0.0.1:"), f"not a loopback URL: {url}"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return 0


@dataclass
class DeployedStack:
    """One stack of a temporary copy of the appstack project, driven through the real CLI."""

    project: PulumiProject
    stack: str

    @property
    def directory(self) -> Path:
        return self.project.directory

    def pulumi(self, *args: str, ok: bool | None = True, timeout: float = 120.0) -> Run:
        return self.project.run(*args, "--stack", self.stack, ok=ok, timeout=timeout)

    def up(self, *extra: str, ok: bool | None = True) -> Run:
        return self.pulumi(
            "up", "--yes", "--skip-preview", "--policy-pack", POLICY_PACK, *extra, ok=ok,
            timeout=UP_TIMEOUT_SECONDS,
        )  # fmt: skip

    def preview(self, *extra: str, ok: bool | None = True) -> Run:
        return self.pulumi(
            "preview", "--diff", "--policy-pack", POLICY_PACK, *extra, ok=ok,
            timeout=UP_TIMEOUT_SECONDS,
        )  # fmt: skip

    def changed_steps(self) -> dict[str, str]:
        """Logical name -> operation of every step a preview plans other than `same`."""
        return {
            step["urn"].rsplit("::", 1)[1]: step["op"]
            for step in self.preview_steps()
            if step["op"] != "same"
        }

    def tear_down(self) -> None:
        """Destroy what the stack still has, then remove whatever a failed step left behind."""
        print(f"pulumi command timings: {self.project.timings()}")
        if self.resources():
            self.pulumi("destroy", "--yes", ok=None, timeout=UP_TIMEOUT_SECONDS)
        remove_leftovers(self.stack)

    def preview_steps(self) -> list[dict[str, Any]]:
        """The steps a preview plans (`pulumi preview --json`): op, urn, type, replace keys."""
        run = self.pulumi(
            "preview", "--json", "--policy-pack", POLICY_PACK, timeout=UP_TIMEOUT_SECONDS
        )
        start = run.output.index("{")
        return list(json.loads(run.output[start:]).get("steps", []))

    def set(self, path: str, value: str) -> None:
        """Set one config path of the stack (`database.image`), in its stack file."""
        self.pulumi("config", "set", "--path", f"appstack:{path}", value)

    def set_object(self, key: str, value: Any) -> None:
        """Replace one structured config value (`objectStore`) with `value`, in the stack file
        (the CLI built here, v3.259.0, has no `config set --json`); secure values stay as they
        are."""
        path = self.directory / f"Pulumi.{self.stack}.yaml"
        document = yaml.safe_load(path.read_text()) or {}
        document.setdefault("config", {})[f"appstack:{key}"] = value
        path.write_text(yaml.safe_dump(document, sort_keys=False))

    def outputs(self) -> dict[str, Any]:
        """The stack outputs with secrets revealed (kept in memory, never printed)."""
        run = self.pulumi("stack", "output", "--json", "--show-secrets")
        # Only this command's own output may hold secrets: keep it out of the transcript.
        self.project.runs.remove(run)
        return dict(json.loads(run.output))

    def export(self) -> str:
        """The state as `pulumi stack export` gives it (secrets stay encrypted)."""
        return self.pulumi("stack", "export").output

    def resources(self) -> list[dict[str, Any]]:
        return list(json.loads(self.export())["deployment"].get("resources") or [])

    def wait_healthy(self, names: list[str], timeout: float = 60.0) -> None:
        """Every named container running and healthy (the deployment waited; this double-checks)."""
        deadline = time.monotonic() + timeout
        while True:
            states = {name: _health(inspect(name)) for name in names}
            if all(state == "healthy" for state in states.values()):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"containers not healthy: {states}")
            time.sleep(1)


def _health(info: dict[str, Any] | None) -> str:
    if info is None:
        return "missing"
    state = info["State"]
    return str(state.get("Health", {}).get("Status", state["Status"]))


def copy_program(directory: Path, stack_files: dict[str, dict[str, Any]]) -> None:
    """The appstack program in `directory`: Pulumi.yaml (the repo's, on the repo's venv),
    __main__.py, app/ and one `Pulumi.<stack>.yaml` per entry of `stack_files`."""
    project = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())
    project["runtime"]["options"]["virtualenv"] = str(VENV)
    (directory / "Pulumi.yaml").write_text(yaml.safe_dump(project, sort_keys=False))
    for name in PROGRAM_FILES:
        shutil.copy2(REPO_ROOT / name, directory / name)
    shutil.copytree(REPO_ROOT / "app", directory / "app", ignore=IGNORED, symlinks=True)
    for stack, config in stack_files.items():
        (directory / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}))


def new_stack(base: Path, stack: str, config: dict[str, Any]) -> DeployedStack:
    """A fresh stack `stack` of a copy of the appstack project, with `config` as its stack file."""
    project = new_project(base, "appstack", "")
    copy_program(project.directory, {stack: config})
    project.require_engine()
    project.run("stack", "init", stack)
    return DeployedStack(project, stack)


def committed_stack_config(stack: str) -> dict[str, Any]:
    """The `config:` block of a committed `Pulumi.<stack>.yaml`, namespaced keys and all."""
    return dict(yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text())["config"])


def fail_with_transcript(stack: DeployedStack, message: str) -> None:
    pytest.fail(f"{message}\n--- transcript ---\n{stack.project.transcript()}", pytrace=False)
