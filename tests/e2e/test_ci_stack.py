"""The whole platform under the real engine: the `ci` stack from nothing to destroyed.

The tests run in file order on one stack, each one a step a team takes with it: the preview of a
new stack is what the mock graph predicts; `up` reaches a healthy platform that `make verify`
accepts; nothing changes when nothing changed; secrets never appear in plain text; a rebuilt
database or object-store image replaces only containers and loses no data; a new migration
re-runs the job and replaces the backend; a failing one stops the update and leaves the running
backend serving; a non-pgvector database image is refused before anything runs; `destroy` removes
every container and keeps the data that `data.retainOnDelete` keeps.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from minio import Minio

from appstack.contract import UNKNOWN
from appstack.graph import read_stack_file, run_program
from tests.e2e.platform import (
    DeployedStack,
    build_backend,
    build_variant,
    committed_stack_config,
    containers_of,
    docker,
    http_status,
    inspect,
    new_stack,
    volumes_of,
)
from tests.engine.harness import REPO_ROOT
from tests.realservers.process import free_port

pytestmark = [pytest.mark.real, pytest.mark.e2e]

STACK = "ci"
ROLES = ("database", "cache", "objectstore", "backend")
CONTAINERS = [f"{STACK}-{role}" for role in ROLES]
VIEW_PACK = str(Path(__file__).resolve().parent / "viewpack")
PGVECTOR_IMAGE = "pgvector/pgvector:pg18-appstack"
MINIO_IMAGE = "appstack/minio:DEVELOPMENT.2026-02-12T20-18-48Z"
PLAIN_POSTGRES_IMAGE = "postgres:15-bookworm-appstack"
BACKEND_IMAGE = "appstack/backend:ci"
TEST_TAG = "appstack-e2e"
"""Every image this module builds is tagged `<repo>:appstack-e2e-...` and removed at the end."""


@pytest.fixture(scope="module")
def ci(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeployedStack]:
    """The `ci` stack of a copy of the project, on a fresh file backend; torn down at the end."""
    stack = new_stack(tmp_path_factory.mktemp("e2e-ci"), STACK, committed_stack_config(STACK))
    try:
        yield stack
    finally:
        if stack.resources():
            stack.set("data.retainOnDelete", "false")
            stack.set("data.protect", "false")
        stack.tear_down()
        for image in docker("images", "--format", "{{.Repository}}:{{.Tag}}").split():
            if f":{TEST_TAG}-" in image:
                docker("rmi", "--force", image, check=False)


@pytest.fixture(scope="module")
def secret_values() -> dict[str, str]:
    """Filled by the `up` step with every generated credential, for the plain-text checks."""
    return {}


def outputs_secrets(outputs: dict[str, Any]) -> dict[str, str]:
    """The generated credentials in the stack outputs: passwords inside URLs and the S3 keys."""
    found = {
        "database password": urlsplit(outputs["database"]["dsn"]).password,
        "redis password": urlsplit(outputs["cache"]["url"]).password,
        "object store access key": outputs["objectStore"]["accessKey"],
        "object store secret key": outputs["objectStore"]["secretKey"],
    }
    assert all(found.values()), "a generated credential is missing from the outputs"
    return {name: str(value) for name, value in found.items()}


def assert_no_plaintext(where: str, text: str, values: dict[str, str]) -> None:
    for name, value in values.items():
        assert value not in text, f"the {name} appears in plain text in {where}"


def summary(output: str) -> dict[str, int]:
    """The `Resources:` block of an up/preview: operation -> count."""
    counts: dict[str, int] = {}
    for count, operation in re.findall(r"^\s+(\d+) (\w[\w ]*?)$", output, re.MULTILINE):
        counts[operation.strip()] = int(count)
    return counts


def container_id(name: str) -> str:
    info = inspect(name)
    assert info is not None, f"container {name} does not exist"
    return str(info["Id"])


# --- the mock graph against the engine's view --------------------------------------------------


def _engine_view(stack: DeployedStack, path: Path) -> tuple[dict[str, dict[str, Any]], dict]:
    stack.project.env["APPSTACK_ENGINE_VIEW"] = str(path)
    try:
        stack.pulumi("preview", "--policy-pack", VIEW_PACK, timeout=300)
    finally:
        del stack.project.env["APPSTACK_ENGINE_VIEW"]
    inputs: dict[str, dict[str, Any]] = {}
    links: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if record["kind"] == "inputs":
            inputs[record["urn"]] = record
        else:
            links[record["urn"]] = record["dependencies"]
    return inputs, links


PROVIDER_CHECKED = {("command:local:Command", ".environment.DATABASE_URL"): ""}
"""What a provider's own `check` makes of an input before the pack sees it, where the mock (which
runs no provider) cannot know: pulumi-command hands on the unknown secret DSN inside its
`environment` map as ''. The policies read '' as "no credential here", as they read UNKNOWN."""


def _differences(path: str, mock: Any, engine: Any, out: list[str]) -> None:
    """Where the mock's value differs from the engine's, in value or in type.

    `path` starts with the resource's type and name: `<type> <name>.<key>...`.
    """
    type_, _, rest = path.partition(" ")
    checked = PROVIDER_CHECKED.get((type_, rest[rest.find(".") :] if "." in rest else ""))
    if checked is not None and mock is UNKNOWN and engine == checked:
        return
    if mock is UNKNOWN or engine == "<unknown>":
        if not (mock is UNKNOWN and engine == "<unknown>"):
            out.append(f"{path}: mock {mock!r}, engine {engine!r}")
        return
    if isinstance(mock, dict) and isinstance(engine, dict):
        for key in mock:
            if key not in engine:
                out.append(f"{path}.{key}: mock {mock[key]!r}, engine has no such key")
            else:
                _differences(f"{path}.{key}", mock[key], engine[key], out)
        return
    if isinstance(mock, list) and isinstance(engine, list) and len(mock) == len(engine):
        for index, (left, right) in enumerate(zip(mock, engine, strict=True)):
            _differences(f"{path}[{index}]", left, right, out)
        return
    if type(mock) is not type(engine) or mock != engine:
        out.append(f"{path}: mock {mock!r} ({type(mock).__name__}), engine {engine!r}")


def _secret_keys(paths: list[str] | frozenset[str]) -> set[str]:
    return {re.split(r"[.\[]", path, maxsplit=1)[0] for path in paths}


def test_preview_of_a_new_stack_is_what_the_mock_graph_records(
    ci: DeployedStack, tmp_path: Path
) -> None:
    """The engine is the truth: the mock harness must record what the engine hands the pack."""
    engine, links = _engine_view(ci, tmp_path / "engine-view.jsonl")
    # The stack and the providers are compared elsewhere (tests/components/test_upgrade.py, the
    # remote stack's test): here, the resources the components create.
    engine = {
        urn: seen
        for urn, seen in engine.items()
        if not seen["type"].startswith(("pulumi:providers:", "pulumi:pulumi:Stack"))
    }
    # The very program and stack file the engine ran, in its directory as the engine runs it:
    # the migration's command line is relative to the project only when the venv is inside it.
    config = read_stack_file(ci.directory / f"Pulumi.{STACK}.yaml")
    recorded = run_program(ci.directory / "__main__.py", STACK, config, preview=True)
    mock = {r.urn: r for r in recorded.resources if not r.type.startswith("pulumi:providers:")}
    assert set(mock) == set(engine), (
        f"only in the mock: {sorted(set(mock) - set(engine))}\n"
        f"only in the engine: {sorted(set(engine) - set(mock))}"
    )
    problems: list[str] = []
    for urn, recorded in sorted(mock.items()):
        seen = engine[urn]
        where = f"{recorded.type} {recorded.name}"
        _differences(where, recorded.inputs, seen["props"], problems)
        if _secret_keys(recorded.secret_inputs) != _secret_keys(seen["secret"]):
            problems.append(
                f"{where}: secret inputs mock {sorted(recorded.secret_inputs)}, "
                f"engine {seen['secret']}"
            )
        if recorded.protect != seen["protect"]:
            problems.append(f"{where}: protect mock {recorded.protect}, engine {seen['protect']}")
        if (recorded.parent_type or None) != seen["parent_type"]:
            problems.append(
                f"{where}: parent mock {recorded.parent_type}, engine {seen['parent_type']}"
            )
        if urn in links and sorted(recorded.dependencies) != links[urn]:
            problems.append(
                f"{where}: dependencies mock {sorted(recorded.dependencies)}, engine {links[urn]}"
            )
    assert not problems, "the mock graph differs from the engine's view:\n" + "\n".join(problems)


# --- from nothing to healthy, verified ----------------------------------------------------------


def test_up_from_nothing_reaches_a_healthy_platform(
    ci: DeployedStack, secret_values: dict[str, str]
) -> None:
    assert containers_of(STACK) == [], f"leftover {STACK} containers: {containers_of(STACK)}"
    run = ci.up()
    assert "error" not in summary(run.output), run.output
    ci.wait_healthy(CONTAINERS, timeout=10)
    outputs = ci.outputs()
    secret_values.update(outputs_secrets(outputs))
    assert outputs["environment"] == STACK
    assert outputs["migration"]["revision"] == "0001"
    assert outputs["database"]["pgvectorVersion"], outputs["database"]
    assert http_status(f"{outputs['backend']['url']}{outputs['backend']['healthPath']}") == 200
    assert sorted(outputs["objectStore"]["buckets"]) == ["assets", "backups", "temp"]


def test_make_verify_passes_every_check(ci: DeployedStack) -> None:
    done = subprocess.run(
        ["make", "--no-print-directory", "verify", f"STACK={STACK}"],
        cwd=REPO_ROOT,
        env=ci.project.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    ci.project.runs.append(_as_run(["make verify"], done))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FAIL" not in done.stdout, done.stdout
    for check in ("database", "schema", "redis", "health", "bucket temp", "cors"):
        assert check in done.stdout, f"verify did not run {check}:\n{done.stdout}"


def _as_run(args: list[str], done: subprocess.CompletedProcess[str]) -> Any:
    from tests.engine.harness import Run

    return Run(args, done.returncode, done.stdout + done.stderr, 0.0)


def test_nothing_changed_means_no_change(ci: DeployedStack) -> None:
    ci.pulumi("preview", "--expect-no-changes", timeout=300)
    before = {name: container_id(name) for name in CONTAINERS}
    run = ci.up()
    counts = summary(run.output)
    assert set(counts) == {"unchanged"}, f"a no-op up changed something: {counts}\n{run.output}"
    assert {name: container_id(name) for name in CONTAINERS} == before


def test_no_generated_secret_appears_in_plain_text(
    ci: DeployedStack, secret_values: dict[str, str]
) -> None:
    assert secret_values, "the up step did not record the generated credentials"
    assert_no_plaintext("`pulumi stack export`", ci.export(), secret_values)
    for path in [*ci.project.backend.rglob("*"), ci.directory / f"Pulumi.{STACK}.yaml"]:
        if path.is_file():
            assert_no_plaintext(str(path), path.read_text(errors="replace"), secret_values)
    assert_no_plaintext("the output of every command", ci.project.transcript(), secret_values)


# --- replacements keep data ---------------------------------------------------------------------


def test_replacing_database_and_object_store_containers_loses_no_data(ci: DeployedStack) -> None:
    outputs = ci.outputs()
    marker = f"e2e-{secrets.token_hex(6)}"
    with psycopg.connect(outputs["database"]["dsn"], connect_timeout=10) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS e2e_rows (marker text PRIMARY KEY)")
        conn.execute("INSERT INTO e2e_rows VALUES (%s)", (marker,))
    store = outputs["objectStore"]
    client = Minio(store["endpoint"], store["accessKey"], store["secretKey"], secure=False)
    objects = {}
    for role, bucket in store["buckets"].items():
        key = f"e2e/{role}/{marker}.txt"
        client.put_object(bucket, key, _bytes(marker), len(marker))
        objects[bucket] = key

    database_image = f"pgvector/pgvector:{TEST_TAG}-db"
    minio_image = f"appstack/minio:{TEST_TAG}-store"
    build_variant(PGVECTOR_IMAGE, database_image, marker)
    build_variant(MINIO_IMAGE, minio_image, marker)
    ci.set("database.image", database_image)
    ci.set("objectStore.image", minio_image)

    replaced = {
        step["urn"].rsplit("::", 1)[1]: step["newState"]["type"] if "newState" in step else ""
        for step in ci.preview_steps()
        if step["op"] in ("replace", "create-replacement", "delete-replaced")
    }
    replaced_types = set(replaced.values())
    assert "docker:index/container:Container" in replaced_types, replaced
    assert "docker:index/volume:Volume" not in replaced_types, replaced
    assert not any(t.endswith("dynamic/appstack:Bucket") for t in replaced_types), replaced
    assert {name for name in replaced if name.endswith("-container")} == {
        "appstack-database-container",
        "appstack-objectstore-container",
    }, replaced

    before = {name: container_id(name) for name in CONTAINERS}
    ci.up()
    after = {name: container_id(name) for name in CONTAINERS}
    assert after[f"{STACK}-database"] != before[f"{STACK}-database"]
    assert after[f"{STACK}-objectstore"] != before[f"{STACK}-objectstore"]
    assert after[f"{STACK}-cache"] == before[f"{STACK}-cache"]

    outputs = ci.outputs()
    with psycopg.connect(outputs["database"]["dsn"], connect_timeout=10) as conn:
        rows = conn.execute("SELECT marker FROM e2e_rows").fetchall()
    assert (marker,) in rows, "a row written before the replacement is gone"
    for bucket, key in objects.items():
        body = client.get_object(bucket, key)
        try:
            assert body.read().decode() == marker, f"{bucket}/{key} changed"
        finally:
            body.close()
            body.release_conn()
    ci.pulumi("preview", "--expect-no-changes", timeout=300)


def _bytes(text: str) -> Any:
    import io

    return io.BytesIO(text.encode())


# --- migrations ---------------------------------------------------------------------------------

REVISION = '''"""{doc}

Revision ID: {revision}
Revises: {down}
"""

from alembic import op

revision = "{revision}"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("{sql}")


def downgrade() -> None:
    pass
'''


def _backend_with(tmp_path: Path, revisions: list[tuple[str, str, str]]) -> Path:
    """A copy of app/ with extra alembic revisions (revision, down revision, SQL)."""
    context = tmp_path / "app"
    shutil.copytree(
        REPO_ROOT / "app", context, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    if not (context / "wheels").exists():
        pytest.fail("app/wheels is missing: run images/build.sh backend first", pytrace=False)
    for revision, down, sql in revisions:
        (context / "migrations" / "versions" / f"{revision}_e2e.py").write_text(
            REVISION.format(doc=f"e2e revision {revision}", revision=revision, down=down, sql=sql)
        )
    return context


GOOD_REVISION = ("0002", "0001", "CREATE TABLE e2e_notes (id serial PRIMARY KEY, note text)")
BAD_REVISION = ("0003", "0002", "ALTER TABLE e2e_notes ADD COLUMN note text")
"""Adds a column that exists: the duplicate-column failure one team's logs show."""


def test_a_new_migration_reruns_the_job_and_replaces_the_backend(
    ci: DeployedStack, tmp_path: Path
) -> None:
    tag = f"appstack/backend:{TEST_TAG}-0002"
    build_backend(_backend_with(tmp_path, [GOOD_REVISION]), tag)
    backend_before = container_id(f"{STACK}-backend")
    ci.set("backend.image", tag)
    steps = ci.changed_steps()
    assert steps.get("appstack-migration-run") == "replace", steps
    assert steps.get("appstack-backend-container") == "replace", steps
    run = ci.up()
    assert "0002" in run.output or ci.outputs()["migration"]["revision"] == "0002"
    assert ci.outputs()["migration"]["revision"] == "0002"
    assert container_id(f"{STACK}-backend") != backend_before
    ci.wait_healthy([f"{STACK}-backend"], timeout=10)

    again = ci.up()
    assert set(summary(again.output)) == {"unchanged"}, again.output


def test_a_failing_migration_stops_the_update_and_the_backend_keeps_serving(
    ci: DeployedStack, tmp_path: Path, secret_values: dict[str, str]
) -> None:
    good = ci.outputs()
    serving = container_id(f"{STACK}-backend")
    health = f"{good['backend']['url']}{good['backend']['healthPath']}"
    assert http_status(health) == 200

    tag = f"appstack/backend:{TEST_TAG}-0003"
    build_backend(_backend_with(tmp_path, [GOOD_REVISION, BAD_REVISION]), tag)
    previous = ci.pulumi("config", "get", "--path", "appstack:backend.image").output.strip()
    ci.set("backend.image", tag)
    failed = ci.up(ok=False)
    assert "migration failed" in failed.output, failed.output
    assert 'column "note" of relation "e2e_notes" already exists' in failed.output, failed.output
    assert_no_plaintext("the failed update's output", failed.output, secret_values)

    assert container_id(f"{STACK}-backend") == serving, "the running backend was replaced"
    assert http_status(health) == 200
    assert ci.outputs()["migration"]["revision"] == "0002"

    ci.set("backend.image", previous)
    ci.up()
    ci.pulumi("preview", "--expect-no-changes", timeout=300)
    assert container_id(f"{STACK}-backend") == serving


# --- guardrails ---------------------------------------------------------------------------------


def test_a_database_image_without_pgvector_is_refused_before_anything_runs(
    ci: DeployedStack,
) -> None:
    before = {name: container_id(name) for name in CONTAINERS}
    state_before = ci.export()
    previous = ci.pulumi("config", "get", "--path", "appstack:database.image").output.strip()
    ci.set("database.image", PLAIN_POSTGRES_IMAGE)
    refused = ci.preview(ok=False)
    assert "pgvector-only" in refused.output and "[mandatory]" in refused.output, refused.output
    up = ci.up(ok=False)
    assert "pgvector-only" in up.output, up.output
    assert {name: container_id(name) for name in CONTAINERS} == before
    after, earlier = _state_view(ci.export()), _state_view(state_before)
    changed = sorted(urn for urn in set(after) | set(earlier) if after.get(urn) != earlier.get(urn))
    assert not changed, f"the refused update changed these resources in the state: {changed}"
    ci.set("database.image", previous)
    ci.pulumi("preview", "--expect-no-changes", timeout=300)


SECRET_SIG = "4dabf18193072939515e22adb298388d"


def _state_view(export: str) -> dict[str, Any]:
    """Every resource's id, inputs, outputs and options by URN; secrets as a marker (every write
    of the state encrypts them anew); no timestamps or source positions."""

    def masked(value: Any) -> Any:
        if isinstance(value, dict):
            if SECRET_SIG in value:
                return "[secret]"
            return {key: masked(item) for key, item in value.items()}
        if isinstance(value, list):
            return [masked(item) for item in value]
        return value

    resources = json.loads(export)["deployment"].get("resources") or []
    volatile = ("created", "modified", "sourcePosition", "stackTrace")
    return {
        r["urn"]: masked({key: value for key, value in r.items() if key not in volatile})
        for r in resources
    }


# --- destroy ------------------------------------------------------------------------------------


def test_destroy_removes_every_container_and_keeps_retained_data(
    ci: DeployedStack, tmp_path: Path
) -> None:
    outputs = ci.outputs()
    store = outputs["objectStore"]
    ci.set("data.retainOnDelete", "true")
    changed = ci.up()
    assert not {"create", "replace", "delete"} & set(summary(changed.output)), changed.output
    volumes = volumes_of(STACK)
    assert volumes, "the stack has no volumes"

    ci.pulumi("destroy", "--yes", timeout=600)
    assert containers_of(STACK) == [], containers_of(STACK)
    assert volumes_of(STACK) == volumes, "a retained volume was removed"

    # The buckets live in the retained MinIO volume: a server started on it still has them.
    port = free_port()
    name = f"{STACK}-e2e-minio-check"
    env_file = tmp_path / "minio.env"
    env_file.touch(mode=0o600)
    env_file.write_text(
        f"MINIO_ROOT_USER={store['accessKey']}\nMINIO_ROOT_PASSWORD={store['secretKey']}\n"
    )
    docker(
        "run", "--detach", "--name", name, "--network", "host",
        "--volume", f"{STACK}-objectstore-data:/data", "--env-file", str(env_file),
        MINIO_IMAGE, "server", "/data", "--address", f"127.0.0.1:{port}",
        "--console-address", f"127.0.0.1:{free_port()}",
    )  # fmt: skip
    try:
        client = Minio(f"127.0.0.1:{port}", store["accessKey"], store["secretKey"], secure=False)
        deadline = 60
        while deadline and http_status(f"http://127.0.0.1:{port}/minio/health/ready") != 200:
            deadline -= 1
            subprocess.run(["sleep", "1"], check=True)
        assert {b.name for b in client.list_buckets()} >= set(store["buckets"].values())
    finally:
        docker("rm", "--force", name, check=False)
