"""The migration runner (`appstack.migrate`) driving the app's alembic against real pgvector.

The runner runs in local mode (no `docker run`): the migration command is the venv's
`alembic -c <absolute alembic.ini> upgrade head`. alembic.ini locates its scripts and the
backend package from its own directory (`%(here)s`), so the runner works from any working
directory; the tests run it from an unrelated tmp dir to prove that. The DSN reaches alembic
only through DATABASE_URL, as in the deployment.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from appstack.migrate import REVISION_MARKER, main
from tests.real.test_migrations import snapshot
from tests.realservers.backend import APP_DIR
from tests.realservers.postgres import PostgresServer

pytestmark = pytest.mark.real

HEAD = "0001"

BROKEN_REVISION = '''"""Broken on purpose: invalid SQL quoting the DSN, which the runner scrubs."""

import os
from urllib.parse import urlsplit

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    url = os.environ["DATABASE_URL"]
    op.execute(f"SELEC '{url}', '{urlsplit(url).password}'")


def downgrade() -> None:
    pass
'''


def alembic() -> str:
    """The venv's alembic executable; the test fails with the install step when it is missing."""
    path = Path(sys.executable).parent / "alembic"
    assert path.is_file(), f"{path} is missing: run `.venv/bin/pip install -r requirements-dev.txt`"
    return str(path)


def runner_env(
    server: PostgresServer,
    ini: Path = APP_DIR / "alembic.ini",
    revision_ini: Path | None = None,
) -> dict[str, str]:
    """The environment the Migration component gives the runner, with local commands."""
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update(
        {
            "APPSTACK_ENVIRONMENT": "ci",
            "APPSTACK_MIGRATION_COMMAND": json.dumps(
                [alembic(), "-c", str(ini), "upgrade", "head"]
            ),
            "APPSTACK_REVISION_COMMAND": json.dumps(
                [alembic(), "-c", str(revision_ini or ini), "current"]
            ),
            "APPSTACK_MIGRATION_TIMEOUT": "120",
            "PYTHONDONTWRITEBYTECODE": "1",
            "DATABASE_URL": server.sqlalchemy_url,
        }
    )
    return env


def stored_revisions(server: PostgresServer) -> list[str]:
    with server.connect() as conn:
        return [str(row[0]) for row in conn.execute("SELECT version_num FROM alembic_version")]


def assert_no_secret(server: PostgresServer, *texts: str) -> None:
    for text in texts:
        assert server.password not in text
        assert server.sqlalchemy_url not in text
        assert server.dsn not in text


def assert_no_password_fragment(password: str, text: str) -> None:
    """PostgreSQL's `LINE 1: ...` excerpt truncates the quoted DSN: no 6-char run may remain."""
    for start in range(len(password) - 5):
        assert password[start : start + 6] not in text


@pytest.fixture(autouse=True)
def unrelated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from a directory that has nothing to do with app/ (no alembic.ini there)."""
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)


def test_empty_database_to_head_then_a_noop_rerun(
    pgvector_database: PostgresServer, capsys: pytest.CaptureFixture[str]
) -> None:
    env = runner_env(pgvector_database)

    assert main(env, local=True) == 0
    first = capsys.readouterr()
    assert first.out.splitlines()[-1] == f"{REVISION_MARKER} {HEAD}"
    assert f"Running upgrade  -> {HEAD}" in first.out
    assert first.err == ""
    assert stored_revisions(pgvector_database) == [HEAD]
    schema = snapshot(pgvector_database)

    assert main(env, local=True) == 0
    second = capsys.readouterr()
    assert second.out.splitlines()[-1] == f"{REVISION_MARKER} {HEAD}"
    assert "Running upgrade" not in second.out
    assert second.err == ""
    assert snapshot(pgvector_database) == schema
    assert_no_secret(pgvector_database, first.out, second.out)


def broken_app_copy(tmp: Path) -> Path:
    """app/migrations copied with a failing 0002 revision, and an alembic.ini pointing at it."""
    migrations = tmp / "migrations"
    shutil.copytree(
        APP_DIR / "migrations", migrations, ignore=shutil.ignore_patterns("__pycache__")
    )
    (migrations / "versions" / "0002_broken.py").write_text(BROKEN_REVISION)
    ini = (APP_DIR / "alembic.ini").read_text()
    ini = ini.replace("script_location = %(here)s/migrations", f"script_location = {migrations}")
    ini = ini.replace("prepend_sys_path = %(here)s", f"prepend_sys_path = {APP_DIR}")
    assert str(migrations) in ini and str(APP_DIR) in ini, "app/alembic.ini changed its layout"
    path = tmp / "alembic.ini"
    path.write_text(ini)
    return path


def test_failing_migration_exits_1_with_the_scrubbed_log_tail_and_keeps_0001(
    pgvector_database: PostgresServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(runner_env(pgvector_database), local=True) == 0
    capsys.readouterr()
    schema = snapshot(pgvector_database)

    status = main(runner_env(pgvector_database, broken_app_copy(tmp_path)), local=True)

    out, err = capsys.readouterr()
    assert status == 1
    assert out == ""
    assert err.startswith("migration failed: `")
    header, _, log_tail = err.partition("Last 40 lines of its log:\n")
    assert "upgrade head` exited with status 1; the backend was not started" in header
    assert log_tail.count("\n") == 40, "the tail is the log's last 40 lines"
    assert 'psycopg.errors.SyntaxError) syntax error at or near "SELEC"' in log_tail
    assert "[SQL: SELEC '***', '***']" in log_tail
    assert log_tail.rstrip("\n").splitlines()[-1].startswith("(Background on this error at:")
    assert_no_password_fragment(pgvector_database.password, err)
    assert REVISION_MARKER not in out + err
    assert_no_secret(pgvector_database, out, err)
    assert stored_revisions(pgvector_database) == [HEAD]
    assert snapshot(pgvector_database) == schema


def test_failing_revision_command_is_reported(
    pgvector_database: PostgresServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing_ini = tmp_path / "missing" / "alembic.ini"
    env = runner_env(pgvector_database, revision_ini=missing_ini)

    status = main(env, local=True)

    out, err = capsys.readouterr()
    assert status == 1
    assert err.startswith("migration ran but `")
    assert f"{missing_ini} current` did not report a revision at head" in err
    assert "status 255" in err
    assert "No 'script_location' key found in configuration" in err
    assert REVISION_MARKER not in out
    assert_no_secret(pgvector_database, out, err)
    assert stored_revisions(pgvector_database) == [HEAD]
