"""Run the backend image's migration as a one-shot container and report the revision reached.

The `Migration` component runs `<python> -m appstack.migrate` through pulumi-command, with the
interpreter the program runs under; this module needs nothing beyond the standard library. It
reads its inputs from the environment (the DSN never appears on a command line), runs the
migration command in the backend image, and on failure prints the tail of the migration's log
and exits non-zero, which fails the deployment before the backend is touched. On success it runs
the revision command and prints `appstack-migration-revision: <rev>` as its last line. Every
line it prints is scrubbed of the DSN and its password, including the truncated fragments of the
password that PostgreSQL's error excerpts ("LINE 1: ...abc...") can show.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from appstack.contract import ENVIRONMENT_LABEL, ROLE_LABEL

REVISION_MARKER = "appstack-migration-revision:"
SECRET_ENV = "DATABASE_URL"
PASSWORD_FRAGMENT_MIN = 6
"""Shortest run of a password's characters scrubbed on its own (error excerpts truncate it)."""
# A line `alembic current` prints for a database at a head: the revision id (alembic refuses
# "@", "-", "+" and ":" in ids) then alembic's indicators, of which one must say "head".
# `alembic current -v` prints the same after "Rev: ". A bare word is not a revision line.
_REVISION = re.compile(
    r"(?:Rev: )?(?P<revision>[0-9A-Za-z_]{1,64})"
    r"(?P<indicators>(?: \((?:head|effective head|current|branchpoint|mergepoint)\))+)"
)
_HEAD_INDICATORS = (" (head)", " (effective head)")


def secrets_of(environ: Mapping[str, str]) -> list[str]:
    """The strings that must never be printed, longest first: the DSN, its password and every
    run of at least `PASSWORD_FRAGMENT_MIN` of the password's characters.

    PostgreSQL cuts long lines in error excerpts, so a password quoted in failing SQL can show
    up truncated; scrubbing only the whole password would let most of it through.
    """
    dsn = environ.get(SECRET_ENV, "")
    values = {dsn} if dsn else set()
    password = urlsplit(dsn).password if dsn else None
    if password:
        values.update(password_fragments(password))
    return sorted(values, key=lambda value: (-len(value), value))


def password_fragments(password: str) -> list[str]:
    """The password and every run of at least `PASSWORD_FRAGMENT_MIN` of its characters,
    longest first, so that a truncated echo of it is scrubbed too."""
    shortest = min(PASSWORD_FRAGMENT_MIN, len(password))
    fragments = {
        password[start : start + length]
        for length in range(shortest, len(password) + 1)
        for start in range(len(password) - length + 1)
    }
    return sorted(fragments, key=lambda value: (-len(value), value))


def scrub(text: str, secrets: Sequence[str]) -> str:
    """Replace every secret in `text` by `***`."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def tail(text: str, lines: int) -> str:
    """The last `lines` lines of a log."""
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def parse_revision(output: str) -> str:
    """The head revision id in the output of `alembic current` (the last such line); "" if none.

    Only a real revision line counts, `<rev> (head)` or `<rev> (effective head)` with alembic's
    other indicators: a command that prints any single word (an error, "ok") reports no
    revision, and neither does a database below head after `alembic upgrade head`.
    """
    for line in reversed(output.splitlines()):
        match = _REVISION.fullmatch(line.strip())
        if match and any(tag in match.group("indicators") for tag in _HEAD_INDICATORS):
            return match.group("revision")
    return ""


def container_argv(environ: Mapping[str, str], command: Sequence[str]) -> list[str]:
    """`docker run` for one step: removed after it exits, on the stack's network, DSN by name."""
    return [
        "docker",
        "run",
        "--rm",
        "--network",
        environ["APPSTACK_MIGRATION_NETWORK"],
        "--label",
        f"{ROLE_LABEL}=migration",
        "--label",
        f"{ENVIRONMENT_LABEL}={environ['APPSTACK_ENVIRONMENT']}",
        "-e",
        SECRET_ENV,
        "-e",
        "PYTHONDONTWRITEBYTECODE=1",
        environ["APPSTACK_MIGRATION_IMAGE"],
        *command,
    ]


def run_step(argv: Sequence[str], environ: Mapping[str, str]) -> tuple[int, str]:
    """Run one step, returning its exit status and its combined, scrubbed output."""
    try:
        result = subprocess.run(
            list(argv),
            env=dict(environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=int(environ.get("APPSTACK_MIGRATION_TIMEOUT", "900")),
            check=False,
        )
    except FileNotFoundError as error:
        return 127, f"cannot run {argv[0]!r}: {error}"
    except subprocess.TimeoutExpired as error:
        output = error.stdout or ""
        if isinstance(output, bytes):
            output = output.decode(errors="replace")
        return 124, scrub(output, secrets_of(environ)) + "\n(timed out)"
    return result.returncode, scrub(result.stdout, secrets_of(environ))


SSH_OPTS_SEPARATOR = "\x1f"
"""How `appstack.docker_target.runner_environment` joins the ssh options."""
TLS_FILES = {
    "APPSTACK_DOCKER_TLS_CA": "ca.pem",
    "APPSTACK_DOCKER_TLS_CERT": "cert.pem",
    "APPSTACK_DOCKER_TLS_KEY": "key.pem",
}


@contextmanager
def docker_client_environment(environ: Mapping[str, str]) -> Iterator[dict[str, str]]:
    """The environment for the `docker` CLI to reach the stack's engine, as the provider does.

    The CLI takes no ssh options, so with `APPSTACK_DOCKER_SSH_OPTS` an `ssh` wrapper that adds
    them goes first on PATH; TLS material becomes the files `DOCKER_CERT_PATH` names (the key
    readable by this user only). Both live in a private directory removed afterwards.
    """
    env = {k: v for k, v in environ.items() if k not in TLS_FILES}
    ssh_opts = environ.get("APPSTACK_DOCKER_SSH_OPTS", "")
    tls = {name: environ[key] for key, name in TLS_FILES.items() if environ.get(key)}
    if not ssh_opts and not tls:
        yield env
        return
    with tempfile.TemporaryDirectory(prefix="appstack-docker-") as directory:
        private = Path(directory)
        if ssh_opts:
            ssh = shutil.which("ssh", path=environ.get("PATH")) or "ssh"
            options = " ".join(shlex.quote(o) for o in ssh_opts.split(SSH_OPTS_SEPARATOR))
            wrapper = private / "bin" / "ssh"
            wrapper.parent.mkdir()
            wrapper.write_text(f'#!/bin/sh\nexec {shlex.quote(ssh)} {options} "$@"\n')
            wrapper.chmod(0o700)
            env["PATH"] = f"{wrapper.parent}{os.pathsep}{environ.get('PATH', os.defpath)}"
        if tls:
            for name, material in tls.items():
                path = private / name
                path.touch(mode=0o600)
                path.write_text(material)
            env["DOCKER_CERT_PATH"] = str(private)
            env["DOCKER_TLS_VERIFY"] = "1"
        yield env


def main(environ: Mapping[str, str] | None = None, *, local: bool = False) -> int:
    """Run the migration then the revision command; print the revision or the failure's tail."""
    with docker_client_environment(os.environ if environ is None else environ) as env:
        return _migrate(env, local=local)


def _migrate(env: dict[str, str], *, local: bool) -> int:
    """`main` in the environment the docker CLI needs."""
    migration = json.loads(env["APPSTACK_MIGRATION_COMMAND"])
    revision = json.loads(env["APPSTACK_REVISION_COMMAND"])
    lines = int(env.get("APPSTACK_MIGRATION_LOG_LINES", "40"))
    wrap = (lambda argv: list(argv)) if local else (lambda argv: container_argv(env, argv))

    status, output = run_step(wrap(migration), env)
    if status != 0:
        print(
            f"migration failed: `{' '.join(migration)}` exited with status {status}; "
            f"the backend was not started or changed. Last {lines} lines of its log:\n"
            f"{tail(output, lines)}",
            file=sys.stderr,
        )
        return 1
    print(tail(output, lines))
    status, output = run_step(wrap(revision), env)
    current = parse_revision(output) if status == 0 else ""
    if not current:
        print(
            f"migration ran but `{' '.join(revision)}` did not report a revision at head "
            f"(a line such as `0001 (head)`; status {status}):\n{tail(output, lines)}",
            file=sys.stderr,
        )
        return 1
    print(f"{REVISION_MARKER} {current}")
    return 0


if __name__ == "__main__":
    sys.exit(main(local=os.environ.get("APPSTACK_MIGRATION_LOCAL") == "1"))
