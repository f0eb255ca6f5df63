"""The GitHub workflows parse, start on the right events and call the project's commands."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from delivery.preview import MARKER

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
FIXTURES = Path(__file__).parent / "fixtures"
STACKS = ("dev", "stage", "prod")
SECRETS = ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE")
# Package registries are reached through their clients only; no workflow names their hosts.
REGISTRY_HOSTS = ("pypi.org", "pythonhosted.org", "proxy.golang.org", "deb.debian.org", "npmjs.org")


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(data, dict)
    # YAML 1.1 (PyYAML) reads the key `on` as the boolean True; GitHub reads it as "on".
    data["on"] = data.pop(True, data.get("on"))
    return data


def steps(workflow: dict[str, Any], job: str) -> list[dict[str, Any]]:
    result = workflow["jobs"][job]["steps"]
    assert isinstance(result, list)
    return result


def run_text(workflow: dict[str, Any], job: str) -> str:
    return "\n".join(step.get("run", "") for step in steps(workflow, job))


def step_named(workflow: dict[str, Any], job: str, pattern: str) -> dict[str, Any]:
    matches = [s for s in steps(workflow, job) if re.search(pattern, s.get("name", ""))]
    assert len(matches) == 1, f"expected one step matching {pattern!r} in {job}"
    return matches[0]


def env_of(workflow: dict[str, Any], job: str) -> dict[str, str]:
    return {**workflow.get("env", {}), **workflow["jobs"][job].get("env", {})}


@pytest.mark.parametrize("name", ["preview.yml", "deploy.yml", "promote.yml"])
def test_every_workflow_parses_and_pins_its_actions(name: str) -> None:
    workflow = load(name)
    assert workflow["name"] and workflow["on"] and workflow["jobs"]
    text = (WORKFLOWS / name).read_text()
    for job in workflow["jobs"]:
        for step in steps(workflow, job):
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), step["uses"]
    assert not [host for host in REGISTRY_HOSTS if host in text]


@pytest.mark.parametrize("name", ["preview.yml", "deploy.yml", "promote.yml"])
def test_every_run_script_is_valid_bash(name: str, tmp_path: Path) -> None:
    bash = shutil.which("bash")
    assert bash, "bash is missing (apt-get install bash)"
    workflow = load(name)
    for job in workflow["jobs"]:
        for number, step in enumerate(steps(workflow, job)):
            if "run" not in step:
                continue
            script = re.sub(r"\$\{\{.*?\}\}", "expr", step["run"])
            path = tmp_path / f"{job}-{number}.sh"
            path.write_text(script)
            done = subprocess.run([bash, "-n", str(path)], capture_output=True, text=True)
            assert done.returncode == 0, f"{name} {job} step {number}: {done.stderr}"


# The jobs that touch stacks, per workflow; only they see the state backend and passphrase.
STACK_JOBS = {"preview.yml": ["preview"], "deploy.yml": ["deploy-dev"], "promote.yml": ["promote"]}


@pytest.mark.parametrize("name", sorted(STACK_JOBS))
def test_state_backend_and_passphrase_come_from_repository_secrets(name: str) -> None:
    workflow = load(name)
    for job in workflow["jobs"]:
        env = env_of(workflow, job)
        for secret in SECRETS:
            if job in STACK_JOBS[name]:
                assert env.get(secret) == f"${{{{ secrets.{secret} }}}}", (job, secret)
            else:
                assert secret not in env, f"{name} {job} has no need of {secret}"


@pytest.mark.parametrize("name", sorted(STACK_JOBS))
def test_the_pulumi_cli_comes_from_pulumis_action_at_the_pinned_version(name: str) -> None:
    workflow = load(name)
    for job in workflow["jobs"]:
        action = step_named(workflow, job, r"Install the Pulumi CLI")
        assert action["uses"].startswith("pulumi/actions@")
        assert action["with"]["pulumi-version"] == "${{ steps.versions.outputs.PULUMI_VERSION }}"
        versions = step_named(workflow, job, r"Read pinned versions")
        assert "toolchain/versions.env" in versions["run"]
        venv = step_named(workflow, job, r"Create the virtualenv")["run"]
        assert "requirements-dev.txt" in venv
        # The program, the pack and the dynamic-provider processes import `appstack` from it.
        assert ".venv/bin/pip install --no-deps -e ." in venv
        # On a networked runner the CLI fetches its plugins; the offline toolchain settings
        # (which forbid plugin downloads) must not leak into the workflows.
        assert "toolchain/env.sh" not in str(workflow) and "toolchain/build.sh" not in str(workflow)
    assert "PULUMI_VERSION=" in (REPO / "toolchain" / "versions.env").read_text()


def test_preview_runs_on_pull_requests_with_tests_and_checks_for_every_stack() -> None:
    workflow = load("preview.yml")
    assert "pull_request" in workflow["on"]
    assert workflow["permissions"]["pull-requests"] == "write"
    tests = run_text(workflow, "test")
    assert "make test" in tests
    assert "for stack in dev stage prod; do" in tests and 'make check STACK="$stack"' in tests


def test_preview_previews_every_stack_with_the_policy_pack_as_engine_events() -> None:
    workflow = load("preview.yml")
    step = step_named(workflow, "preview", r"pulumi preview")
    assert step["env"]["PULUMI_ENABLE_STREAMING_JSON_PREVIEW"] == "true"
    assert "for stack in dev stage prod; do" in step["run"]
    command = re.search(r"pulumi preview (.*?)>", step["run"], re.DOTALL)
    assert command, "the preview command writes its JSON to a file"
    args = shlex.split(command.group(1).replace("\\\n", " "))
    assert {"--diff", "--json", "--non-interactive"} <= set(args)
    assert args[args.index("--policy-pack") + 1] == "policies"
    assert args[args.index("--stack") + 1] == "$stack"


def test_preview_renders_the_files_the_previews_wrote(tmp_path: Path) -> None:
    """Run the workflow's own render command on fixture previews."""
    workflow = load("preview.yml")
    script = step_named(workflow, "preview", r"Render the comment")["run"]
    command = re.search(r"\.venv/bin/python -m delivery render-preview(.*?)\|\|", script, re.DOTALL)
    assert command
    args = shlex.split(command.group(1).replace("\\\n", " "))
    assert [a for a in args if a.startswith(tuple(f"{s}=" for s in STACKS))] == [
        f"{s}=preview/{s}.json" for s in STACKS
    ]
    (tmp_path / "preview").mkdir()
    shutil.copy(FIXTURES / "preview_digest_dev.json", tmp_path / "preview" / "dev.json")
    shutil.copy(FIXTURES / "preview_digest_dev.json", tmp_path / "preview" / "stage.json")
    shutil.copy(FIXTURES / "preview_events_prod.jsonl", tmp_path / "preview" / "prod.json")
    done = subprocess.run(
        [sys.executable, "-m", "delivery", "render-preview", *args],
        cwd=tmp_path,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    comment = (tmp_path / "preview" / "comment.md").read_text()
    assert comment.startswith(MARKER) and all(f"### Stack `{s}`" in comment for s in STACKS)


def test_preview_updates_one_comment_found_by_the_renderers_marker() -> None:
    workflow = load("preview.yml")
    step = step_named(workflow, "preview", r"Post or update")
    assert step["uses"].startswith("actions/github-script@")
    script = step["with"]["script"]
    assert f"const marker = '{MARKER}';" in script
    assert "readFileSync('preview/comment.md'" in script
    assert "updateComment" in script and "createComment" in script
    assert "github.paginate" in script  # PRs with more than one page of comments


def test_preview_fails_the_job_after_commenting_when_a_preview_failed() -> None:
    workflow = load("preview.yml")
    names = [s.get("name", "") for s in steps(workflow, "preview")]
    assert names.index("Fail when a preview failed") > names.index(
        "Post or update the one preview comment"
    )
    fail = step_named(workflow, "preview", r"Fail when")
    assert fail["if"] == "steps.preview.outputs.failed != ''"


def test_deploy_applies_dev_on_main_then_verifies() -> None:
    workflow = load("deploy.yml")
    assert workflow["on"]["push"]["branches"] == ["main"]
    script = run_text(workflow, "deploy-dev")
    up = script.index("pulumi up --stack dev --yes --policy-pack policies")
    assert up < script.index("make verify STACK=dev")
    assert workflow["concurrency"]["cancel-in-progress"] is False  # never cut a deployment short


def test_promote_is_started_by_hand_and_opens_a_pull_request_with_prods_config() -> None:
    workflow = load("promote.yml")
    assert "workflow_dispatch" in workflow["on"]
    assert workflow["permissions"] == {"contents": "write", "pull-requests": "write"}
    script = run_text(workflow, "promote")
    assert ".venv/bin/python -m delivery promote --from stage --to prod" in script
    assert '"${expect[@]}"' in script and '--image "backend=$EXPECTED_BACKEND"' in script
    step = step_named(workflow, "promote", r"Open the promotion pull request")
    assert step["uses"].startswith("peter-evans/create-pull-request@")
    assert step["with"]["add-paths"] == "Pulumi.prod.yaml"
    assert step["with"]["body-path"] == "promote-body.md"
    # user input reaches the shell through the environment, never pasted into the script
    assert "inputs." not in script
