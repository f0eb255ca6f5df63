"""Benchmark: `pulumi up --stack ci` from nothing to healthy, against plain `docker run`.

Run from the repo root with the toolchain built, the images built (`images/build.sh all`) and a
Docker engine answering: `.venv/bin/python -m benchmarks.e2e_up`. In one run it measures

1. `up`: the real engine deploying the `ci` stack of a copy of the project on a fresh file
   backend, from nothing until every container is healthy (the deployment itself waits);
2. `no-op up`: a second `up` with nothing changed, and how many resources it touched;
3. `docker run`: the same four containers started with plain `docker run`, with the same images,
   commands, environment and health checks Pulumi gave them (read back with `docker inspect`
   before the destroy), in the same order, as a hand-written script would: database, cache and
   object store at once, each waited on until healthy; `CREATE EXTENSION vector` and the
   buckets (psycopg, minio SDK); the migration as a one-shot container; the backend, waited on
   until healthy;

and prints the figures and the ratio of (1) to (3). Everything it starts is removed at the end.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from minio import Minio

from tests.e2e.platform import (
    DeployedStack,
    committed_stack_config,
    containers_of,
    docker,
    inspect,
    new_stack,
)

STACK = "ci"
SERVICES = ("database", "cache", "objectstore")
HEALTH_TIMEOUT_SECONDS = 180.0


def _changes(output: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in output.splitlines():
        parts = line.strip().split(" ", 1)
        if len(parts) == 2 and parts[0].isdigit() and parts[1].isalpha():
            counts[parts[1]] = int(parts[0])
    return counts


def _run_args(config: dict[str, Any], name: str, env_file: Path) -> list[str]:
    """`docker run` arguments reproducing a Pulumi-created container's configuration."""
    spec = config["Config"]
    host = config["HostConfig"]
    args = ["run", "--detach", "--name", name, "--network", "host", "--env-file", str(env_file)]
    if spec.get("Entrypoint"):
        args += ["--entrypoint", spec["Entrypoint"][0]]
    health = spec.get("Healthcheck") or {}
    test = health.get("Test") or []
    if test:
        command = test[1] if test[0] == "CMD-SHELL" else shlex.join(test[1:])
        args += [
            "--health-cmd", command,
            "--health-interval", f"{health['Interval'] // 1_000_000}ms",
            "--health-timeout", f"{health['Timeout'] // 1_000_000}ms",
            "--health-start-period", f"{health['StartPeriod'] // 1_000_000}ms",
            "--health-retries", str(health["Retries"]),
        ]  # fmt: skip
    if host.get("ReadonlyRootfs"):
        args.append("--read-only")
    for path, options in (host.get("Tmpfs") or {}).items():
        args += ["--tmpfs", f"{path}:{options}" if options else path]
    for mount in config.get("Mounts") or []:
        if mount.get("Type") == "volume":
            args += ["--volume", f"bench-{mount['Name']}:{mount['Destination']}"]
    args.append(spec["Image"])
    return args + list((spec.get("Entrypoint") or [])[1:]) + list(spec.get("Cmd") or [])


def _wait_healthy(names: Sequence[str]) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
    pending = set(names)
    while pending:
        for name in list(pending):
            info = inspect(name)
            if info and info["State"].get("Health", {}).get("Status") == "healthy":
                pending.discard(name)
        if pending and time.monotonic() > deadline:
            raise SystemExit(f"not healthy within {HEALTH_TIMEOUT_SECONDS:g}s: {sorted(pending)}")
        if pending:
            time.sleep(0.2)


@contextmanager
def _plain_containers() -> Iterator[list[str]]:
    started: list[str] = []
    try:
        yield started
    finally:
        for name in started:
            docker("rm", "--force", name, check=False)
        for volume in docker("volume", "ls", "-q", "--filter", "name=bench-").split():
            docker("volume", "rm", "--force", volume, check=False)


def plain_docker_run(configs: dict[str, dict[str, Any]], workdir: Path) -> float:
    """Seconds for the same containers started with `docker run`, waited on like the stack."""
    env_files = {}
    for role, config in configs.items():
        path = workdir / f"{role}.env"
        path.touch(mode=0o600)
        path.write_text("\n".join(config["Config"].get("Env") or []) + "\n")
        env_files[role] = path
    backend = configs["backend"]
    migration_env = workdir / "migration.env"
    migration_env.touch(mode=0o600)
    migration_env.write_text(
        "".join(f"{v}\n" for v in backend["Config"]["Env"] if v.startswith("DATABASE_URL="))
    )
    env = dict(value.split("=", 1) for value in backend["Config"]["Env"])
    with _plain_containers() as started:
        began = time.monotonic()
        names = []
        for role in SERVICES:
            name = f"bench-{STACK}-{role}"
            docker(*_run_args(configs[role], name, env_files[role]))
            started.append(name)
            names.append(name)
        _wait_healthy(names)
        dsn = env["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn, connect_timeout=10) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        store = Minio(env["S3_ENDPOINT"], env["S3_ACCESS_KEY"], env["S3_SECRET_KEY"], secure=False)
        for key, bucket in env.items():
            if key.startswith("S3_BUCKET_"):
                store.make_bucket(bucket)
        migration = subprocess.run(
            ["docker", "run", "--rm", "--network", "host", "--env-file", str(migration_env),
             backend["Config"]["Image"], "alembic", "upgrade", "head"],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        if migration.returncode != 0:
            raise SystemExit("the plain migration run failed (its output is not printed)")
        name = f"bench-{STACK}-backend"
        docker(*_run_args(backend, name, env_files["backend"]))
        started.append(name)
        _wait_healthy([name])
        return time.monotonic() - began


def main() -> int:
    if containers_of(STACK):
        print(f"containers of stack {STACK} exist already: {containers_of(STACK)}")
        return 2
    with tempfile.TemporaryDirectory(prefix="appstack-bench-") as scratch:
        workdir = Path(scratch)
        (workdir / "project-root").mkdir()
        stack: DeployedStack = new_stack(
            workdir / "project-root", STACK, committed_stack_config(STACK)
        )
        try:
            began = time.monotonic()
            stack.up()
            up_seconds = time.monotonic() - began
            began = time.monotonic()
            noop = stack.up()
            noop_seconds = time.monotonic() - began
            configs = {}
            for role in (*SERVICES, "backend"):
                info = inspect(f"{STACK}-{role}")
                assert info is not None
                configs[role] = info
            stack.pulumi("destroy", "--yes", timeout=600)
            plain_seconds = plain_docker_run(configs, workdir)
        finally:
            if stack.resources():
                stack.pulumi("destroy", "--yes", ok=None, timeout=600)
    counts = _changes(noop.output)
    touched = sum(n for op, n in counts.items() if op != "unchanged")
    print("end to end, ci stack, one run on this machine")
    print(f"  pulumi up, nothing to healthy       {up_seconds:7.1f} s")
    print(f"  docker run, same images and waits   {plain_seconds:7.1f} s")
    print(f"  ratio up / docker run               {up_seconds / plain_seconds:7.2f}")
    print(f"  no-op up                            {noop_seconds:7.1f} s, "
          f"{counts.get('unchanged', 0)} unchanged, {touched} changed")  # fmt: skip
    return 0 if touched == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
