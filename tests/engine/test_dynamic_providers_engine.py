"""PgvectorExtension and Bucket under the real Pulumi engine, against real servers.

The Pulumi CLI and Python language host that `bash toolchain/build.sh engine` built run a
temporary project (tests/engine/project/__main__.py) on a local file backend with a passphrase
secrets provider. The dynamic providers run in the engine's own provider plugin process, so this
proves what the provider-level tests in tests/real cannot: the providers pickle and unpickle
through the engine, secrets stay encrypted in the state and out of the CLI output, drift made by
hand shows in `preview` and is repaired by `up`, a database without pgvector stops `up` with a
clear message, and `destroy` never drops the extension.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from minio import Minio

from tests.realservers.minio import MinioServer
from tests.realservers.postgres import PostgresServer

pytestmark = pytest.mark.real

REPO_ROOT = Path(__file__).resolve().parents[2]
PROGRAM = Path(__file__).resolve().parent / "project" / "__main__.py"
VENV = REPO_ROOT / ".venv"
BUILD_STEP = "bash toolchain/build.sh engine"
PROJECT_NAME = "appstack-engine-test"
STACK = "ci"
PLAIN_STACK = "ci-plain"
PASSPHRASE = "appstack-engine-test-passphrase"
PGVECTOR_IMAGE = "pgvector/pgvector:pg17"
PLAIN_IMAGE = "postgres:15-alpine"
EXPIRE_RULE = "expire-objects"
ABORT_RULE = "abort-incomplete-uploads"
COMMAND_TIMEOUT_SECONDS = 120.0
"""Upper bound for one CLI command (an `up` takes a few seconds; the machine is shared)."""
SECRET_SIG = "4dabf18193072939515e22adb298388d"
"""The key Pulumi's state uses to mark a secret value (`{sig: ..., ciphertext: ...}`)."""


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
        return env, f"{VENV} is missing: create it and pip install -r requirements-dev.txt"
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

    def run(self, *args: str, ok: bool | None = True, stdin: str | None = None) -> Run:
        """Run `pulumi <args>` bounded by a timeout; `ok` asserts success (True) or failure."""
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
            out, _ = process.communicate(stdin.encode() if stdin else None, COMMAND_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, _ = process.communicate(timeout=10)
            pytest.fail(
                f"pulumi {' '.join(args)} did not finish in {COMMAND_TIMEOUT_SECONDS:g}s:\n"
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


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulumiProject]:
    """A project copied from tests/engine/project, whose venv is the repo's, on a tmp backend."""
    env, missing = engine_env()
    base = tmp_path_factory.mktemp("engine")
    directory, backend = base / "project", base / "backend"
    directory.mkdir()
    backend.mkdir()
    shutil.copy(PROGRAM, directory / "__main__.py")
    (directory / "Pulumi.yaml").write_text(
        f"name: {PROJECT_NAME}\n"
        "runtime:\n"
        "  name: python\n"
        "  options:\n"
        "    toolchain: pip\n"
        f"    virtualenv: {VENV}\n"
    )
    env.update(
        PULUMI_BACKEND_URL=f"file://{backend}",
        PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
        # The program and the dynamic-provider plugin process both import `components`.
        PYTHONPATH=str(REPO_ROOT),
    )
    env.pop("PULUMI_ACCESS_TOKEN", None)
    project = PulumiProject(directory, backend, env, missing)
    yield project
    print(f"pulumi command timings: {project.timings()}")


def _minio(server: MinioServer) -> Minio:
    return Minio(server.endpoint, server.access_key, server.secret_key, secure=False)


def _extension_version(db: PostgresServer) -> str | None:
    with db.connect() as conn:
        row = conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
        ).fetchone()
    return str(row[0]) if row else None


def _server_rules(client: Minio, bucket: str) -> dict[str, int | None]:
    """Rule id -> expiration days of the bucket's live lifecycle ({} when it has none)."""
    config = client.get_bucket_lifecycle(bucket)
    if config is None:
        return {}
    return {
        str(rule.rule_id): rule.expiration.days if rule.expiration else None
        for rule in config.rules
    }


def _resource(state: dict[str, Any], type_name: str) -> dict[str, Any]:
    resources = state["checkpoint"]["latest"]["resources"]
    matches = [r for r in resources if r["type"] == f"pulumi-python:dynamic/appstack:{type_name}"]
    assert len(matches) == 1, f"expected one {type_name} in the state: {matches}"
    return dict(matches[0])


def _assert_no_plaintext(where: str, text: str, values: dict[str, str]) -> None:
    for name, value in values.items():
        assert value not in text, f"the {name} appears in plain text in {where}"


def test_up_preview_drift_destroy_under_the_real_engine(
    project: PulumiProject, pgvector_database: PostgresServer, minio_server: MinioServer
) -> None:
    project.require_engine()
    bucket = f"ci-engine-{secrets.token_hex(4)}-temp"
    secret_values = {
        "database password": pgvector_database.password,
        "MinIO secret key": minio_server.secret_key,
        "MinIO access key": minio_server.access_key,
    }
    project.configure(
        STACK,
        plain={
            "pg_host": pgvector_database.host,
            "pg_port": str(pgvector_database.port),
            "pg_database": pgvector_database.database,
            "pg_user": pgvector_database.user,
            "pg_image": PGVECTOR_IMAGE,
            "minio_endpoint": minio_server.endpoint,
            "bucket_name": bucket,
        },
        secret={
            "pg_password": pgvector_database.password,
            "minio_access_key": minio_server.access_key,
            "minio_secret_key": minio_server.secret_key,
        },
    )
    client = _minio(minio_server)
    assert _extension_version(pgvector_database) is None

    # up: the extension is created, the bucket made with its server-side rule.
    project.run("up", "--yes", "--stack", STACK)
    live_version = _extension_version(pgvector_database)
    assert live_version, "pulumi up did not create the vector extension"
    outputs = project.outputs(STACK)
    assert outputs == {"pgvector_version": live_version, "bucket_name": bucket}
    assert client.bucket_exists(bucket)
    assert _server_rules(client, bucket) == {EXPIRE_RULE: 7}

    # The state keeps both rules (the abort-only one lives in state only on MinIO) and holds
    # every secret as ciphertext.
    state = project.state(STACK)
    bucket_outputs = _resource(state, "Bucket")["outputs"]
    rules = {rule["id"]: rule for rule in bucket_outputs["lifecycle_rules"]}
    assert rules[EXPIRE_RULE]["expiration_days"] == 7
    assert rules[ABORT_RULE]["abort_incomplete_multipart_days"] == 1
    for key in ("access_key", "secret_key"):
        assert SECRET_SIG in bucket_outputs[key] and "ciphertext" in bucket_outputs[key], key
    pg_outputs = _resource(state, "PgvectorExtension")["outputs"]
    assert pg_outputs["extension_version"] == live_version
    assert SECRET_SIG in pg_outputs["password"] and "ciphertext" in pg_outputs["password"]

    # Nothing changed since: the live diffs of both providers agree with the state.
    project.run("preview", "--expect-no-changes", "--stack", STACK)

    # Drift by hand: the extension dropped, the bucket's lifecycle removed.
    with pgvector_database.connect() as conn:
        conn.execute("DROP EXTENSION vector")
    client.delete_bucket_lifecycle(bucket)
    assert _extension_version(pgvector_database) is None
    assert _server_rules(client, bucket) == {}
    drift = project.run("preview", "--expect-no-changes", "--stack", STACK, ok=False)
    assert "no changes were expected for preview but changes were proposed" in drift.output, (
        drift.output
    )
    lines = drift.output.splitlines()
    for resource in ("appstack:PgvectorExtension pgvector", "appstack:Bucket temp"):
        assert any(resource in line and "update" in line for line in lines), (
            f"{resource} is not shown as an update:\n{drift.output}"
        )
    assert "2 to update" in drift.output, drift.output

    # A refresh preview reads both resources back (provider `read`) and reports the same drift.
    refresh = project.run("refresh", "--preview-only", "--stack", STACK)
    assert "2 to update" in refresh.output, refresh.output

    # The next up restores both, and is then clean again.
    project.run("up", "--yes", "--stack", STACK)
    assert _extension_version(pgvector_database) == live_version
    assert _server_rules(client, bucket) == {EXPIRE_RULE: 7}
    project.run("preview", "--expect-no-changes", "--stack", STACK)

    # No secret in plain text in any backend file (state, backups, history), the stack's config
    # file, or anything the CLI printed.
    for path in [*project.backend.rglob("*"), project.directory / f"Pulumi.{STACK}.yaml"]:
        if path.is_file():
            _assert_no_plaintext(str(path), path.read_text(errors="replace"), secret_values)
    _assert_no_plaintext("the CLI output", project.transcript(), secret_values)

    # destroy removes the (empty) bucket but never drops the extension.
    project.run("destroy", "--yes", "--stack", STACK)
    assert _extension_version(pgvector_database) == live_version
    assert not client.bucket_exists(bucket)
    assert project.state(STACK)["checkpoint"]["latest"].get("resources") in (None, [])
    _assert_no_plaintext("the CLI output", project.transcript(), secret_values)


def test_up_fails_clearly_on_a_database_without_pgvector(
    project: PulumiProject, plain_postgres_server: PostgresServer
) -> None:
    project.require_engine()
    db = plain_postgres_server
    project.configure(
        PLAIN_STACK,
        plain={
            "pg_host": db.host,
            "pg_port": str(db.port),
            "pg_database": db.database,
            "pg_user": db.user,
            "pg_image": PLAIN_IMAGE,
        },
        secret={"pg_password": db.password},
    )
    failed = project.run("up", "--yes", "--stack", PLAIN_STACK, ok=False)
    assert f"The database image '{PLAIN_IMAGE}' does not provide the pgvector extension" in (
        failed.output
    ), failed.output
    assert PGVECTOR_IMAGE in failed.output, failed.output
    assert db.password not in failed.output, "the database password is in the error output"
    with db.connect() as conn:
        row = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone()
    assert row is None
    # The failed create left nothing in the state but the stack itself.
    resources = project.state(PLAIN_STACK)["checkpoint"]["latest"].get("resources") or []
    assert not [r for r in resources if r["type"].endswith(":PgvectorExtension")]
