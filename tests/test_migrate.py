"""Pure helpers of the migration runner: secret scrubbing, log tails and revision parsing."""

from __future__ import annotations

import json
import sys

import pytest

from appstack.migrate import (
    REVISION_MARKER,
    main,
    parse_revision,
    run_step,
    scrub,
    secrets_of,
    tail,
)

DSN = "postgresql+psycopg://app:s3cr3t-pw@db.internal:5432/app"


def test_secrets_of_lists_the_dsn_then_the_password_then_its_fragments() -> None:
    secrets = secrets_of({"DATABASE_URL": DSN})

    assert secrets[:2] == [DSN, "s3cr3t-pw"]
    assert {"s3cr3t-p", "3cr3t-pw", "s3cr3t", "r3t-pw"} <= set(secrets)
    assert all(len(secret) >= 6 for secret in secrets)
    assert [len(secret) for secret in secrets] == sorted(map(len, secrets), reverse=True)


def test_secrets_of_without_a_dsn_or_password() -> None:
    assert secrets_of({}) == []
    assert secrets_of({"DATABASE_URL": "postgresql://app@db/app"}) == ["postgresql://app@db/app"]


def test_secrets_of_a_short_password_keeps_it_whole() -> None:
    assert secrets_of({"DATABASE_URL": "postgresql://app:pw1@db/app"}) == [
        "postgresql://app:pw1@db/app",
        "pw1",
    ]


def test_scrub_hides_a_password_truncated_by_a_postgres_error_excerpt() -> None:
    password = "KdZrMrU3LMY5bSD5VMjNPwTv"
    dsn = f"postgresql+psycopg://appstack:{password}@127.0.0.1:5432/app"
    excerpt = f"LINE 1: SELEC 'postgresql+psycopg://appstack:{password[:-1]}...\n"
    middle = f"LINE 1: ...{password[3:15]}...\n"

    scrubbed = scrub(excerpt + middle, secrets_of({"DATABASE_URL": dsn}))

    assert scrubbed == "LINE 1: SELEC 'postgresql+psycopg://appstack:***...\nLINE 1: ...***...\n"


def test_scrub_hides_the_dsn_and_the_bare_password() -> None:
    log = f"connecting to {DSN}\nFATAL: password authentication failed: s3cr3t-pw\n"

    scrubbed = scrub(log, secrets_of({"DATABASE_URL": DSN}))

    assert scrubbed == "connecting to ***\nFATAL: password authentication failed: ***\n"
    assert "s3cr3t-pw" not in scrubbed


def test_scrub_without_secrets_changes_nothing() -> None:
    assert scrub("INFO nothing secret", []) == "INFO nothing secret"


def test_tail_keeps_the_last_lines_and_drops_trailing_newlines() -> None:
    log = "".join(f"line {number}\n" for number in range(1, 11))

    assert tail(log, 3) == "line 8\nline 9\nline 10"
    assert tail(log, 40) == log.rstrip("\n")
    assert tail("", 5) == ""


def test_parse_revision_of_alembic_current() -> None:
    output = (
        "INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.\n"
        "INFO  [alembic.runtime.migration] Will assume transactional DDL.\n"
        "0001 (head)\n"
    )

    assert parse_revision(output) == "0001"


def test_parse_revision_takes_the_last_revision_line() -> None:
    assert parse_revision("0001\nae1027a6acf (effective head)\n") == "ae1027a6acf"
    assert parse_revision("0002 (head) (effective head)") == "0002"


@pytest.mark.parametrize(
    "output",
    [
        "ok\n",
        "done",
        "Traceback",
        "ERROR\n",
        "0001\n",  # a revision below head: `alembic upgrade head` did not reach head
        "0001 (branchpoint)\n",
        "0001 (head) trailing words\n",
        "0001 (heads)\n",
        "0001(head)\n",
        "rev-1 (head)\n",
        "0001 (head)\nok\n" + "x" * 10,
        "FAILED: Can't locate revision identified by 'abc'\n",
    ],
)
def test_only_a_real_alembic_head_line_is_a_revision(output: str) -> None:
    if output.startswith("0001 (head)\nok"):
        assert parse_revision(output) == "0001"  # the last revision line, other lines aside
    else:
        assert parse_revision(output) == ""


@pytest.mark.parametrize(
    ("line", "revision"),
    [
        ("ae1027a6acf (head)", "ae1027a6acf"),
        ("0002 (head) (mergepoint)", "0002"),
        ("0002 (effective head) (current)", "0002"),
        ("Rev: 0003 (head)", "0003"),
        ("  0004 (head)  ", "0004"),
    ],
)
def test_alembic_head_lines_in_every_form(line: str, revision: str) -> None:
    assert parse_revision(f"INFO  [alembic.runtime.migration] Context impl.\n{line}\n") == revision


def test_a_revision_command_printing_a_word_fails_the_migration(
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = {
        "APPSTACK_MIGRATION_COMMAND": json.dumps([sys.executable, "-c", "print('migrated')"]),
        "APPSTACK_REVISION_COMMAND": json.dumps([sys.executable, "-c", "print('ok')"]),
    }
    assert main(env, local=True) == 1
    captured = capsys.readouterr()
    assert "did not report a revision at head" in captured.err
    assert REVISION_MARKER not in captured.out


def test_parse_revision_of_an_unmigrated_database_is_empty() -> None:
    assert parse_revision("INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.\n") == ""
    assert parse_revision("") == ""


def test_run_step_scrubs_the_output_of_a_step_that_timed_out() -> None:
    """On POSIX the partial output of a timed-out step arrives as bytes; it is kept, scrubbed."""
    env = {"DATABASE_URL": DSN, "APPSTACK_MIGRATION_TIMEOUT": "1"}
    script = (
        "import os, sys, time; print('connecting', os.environ['DATABASE_URL'], flush=True); "
        "time.sleep(30)"
    )

    status, output = run_step([sys.executable, "-c", script], env)

    assert status == 124
    assert output == "connecting ***\n\n(timed out)"
