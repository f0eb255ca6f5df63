"""`python -m policies.check`: the committed stacks are clean; hostile stacks are refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from policies.check import main, parse_override
from tests.stacks import REPO_ROOT


@pytest.mark.parametrize("stack", ["dev", "stage", "prod", "ci"])
def test_committed_stacks_are_clean(stack: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stack", stack]) == 0
    out = capsys.readouterr().out
    assert f"{stack}: " in out and "0 mandatory and 0 advisory violation(s)" in out


@pytest.mark.parametrize(
    "image", ["postgres:15-alpine", "postgres:16-pgvector", "docker.io/library/postgres:16"]
)
def test_a_non_pgvector_database_image_is_refused(
    image: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--stack", "dev", "--set", f"database.image={image}"]) == 1
    out = capsys.readouterr().out
    assert "[mandatory] pgvector-only: appstack-database-image:" in out
    assert "[mandatory] pgvector-only: appstack-database-container:" in out
    assert "not a pgvector image" in out and "pgvector/pgvector:pg17" in out


def test_a_pgvector_image_with_registry_and_digest_is_accepted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    image = "docker.io/pgvector/pgvector@sha256:" + "ab" * 32
    assert main(["--stack", "dev", "--set", f"database.image={image}"]) == 0


def test_an_unpinned_image_in_prod_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stack", "prod", "--set", "cache.image=redis:7.4-bookworm"]) == 1
    out = capsys.readouterr().out
    assert "[mandatory] pinned-images: appstack-cache-image:" in out
    assert "without a digest" in out


def test_latest_is_refused_everywhere(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stack", "dev", "--set", "objectStore.image=minio/minio:latest"]) == 1
    assert "pinned-images" in capsys.readouterr().out


def test_unprotected_data_in_prod_is_refused_by_settings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--stack", "prod", "--set", "data.protect=false"]) == 2
    assert "appstack:data: expected protect: true" in capsys.readouterr().err


def test_an_unknown_stack_names_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stack", "qa"]) == 2
    error = capsys.readouterr().err
    assert "unknown stack 'qa': the stacks are ci, ci-k8s, dev, prod, stage" in error


def test_an_invalid_setting_reports_the_settings_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--stack", "dev", "--set", "network.mode=mesh"]) == 2
    err = capsys.readouterr().err
    assert 'appstack:network.mode: expected "bridge" or "host"' in err


def test_a_malformed_override_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stack", "dev", "--set", "database.image"]) == 2
    assert "expected KEY=VALUE" in capsys.readouterr().err


def test_policy_config_extends_the_allowed_repositories(
    capsys: pytest.CaptureFixture[str],
) -> None:
    image = "registry.example.com:5000/team/pgvector:pg17"
    assert main(["--stack", "dev", "--set", f"database.image={image}"]) == 1
    capsys.readouterr()
    config = '{"extraAllowedRepositories": ["registry.example.com:5000/team/pgvector"]}'
    assert (
        main(["--stack", "dev", "--set", f"database.image={image}", "--policy-config", config]) == 0
    )


# ---------------------------------------------------------------------------- hostile input


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("database.image=[unclosed", "the value is not valid YAML"),
        ("database.port={a: 1", "the value is not valid YAML"),
        ("database.name=!!python/object:os.system x", "the value is not valid YAML"),
        ("database.name=2024-01-01", "quote dates"),
        ("database.name=!!binary aGVsbG8=", "quote dates"),
        ("database.port=.nan", "not a finite number"),
        ("database.port=" + "[" * 5000 + "]" * 5000, "nested too deeply"),
        ("database..image=x", "has an empty part"),
        ("=x", "expected KEY=VALUE"),
        ("objectStore.image.tag=x", "not an object"),
    ],
)
def test_a_bad_override_is_bad_input_without_a_traceback(
    override: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--stack", "dev", "--set", override]) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1


def test_override_values_are_yaml_and_a_quoted_one_stays_a_string() -> None:
    assert parse_override('backend.corsOrigins=["https://a.example"]') == (
        "backend.corsOrigins",
        ["https://a.example"],
    )
    assert parse_override("cache.port=6380") == ("cache.port", 6380)
    assert parse_override('project="123"') == ("project", "123")
    assert parse_override("database.image=") == ("database.image", "")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('["pgvector/pgvector"]', "expected a JSON object with the keys allowedRepositories"),
        ('"x"', "expected a JSON object"),
        ("{not json", "not JSON"),
        ('{"extraAllowedRepos": ["x/y"]}', "unknown key(s) 'extraAllowedRepos'"),
        ('{"allowedRepositories": "pgvector/pgvector"}', "must be a list of strings"),
        ('{"allowedRepositories": ["Bad Repo"]}', "allowed database repository"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_a_bad_policy_config_is_bad_input(
    config: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--stack", "dev", "--policy-config", config]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_every_input_problem_is_listed_in_one_message(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "--stack",
            "qa",
            "--set",
            "database.image=[x",
            "--set",
            "nokey",
            "--policy-config",
            "[]",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("policies.check: 4 problems:\n")
    for expected in ("unknown stack 'qa'", "not valid YAML", "expected KEY=VALUE", "JSON object"):
        assert expected in err


@pytest.mark.parametrize("argv", [[], ["--stack"], ["--stack", "dev", "--bogus"]])
def test_a_bad_command_line_is_one_message(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("policies.check: ") and "(see --help)" in err
    assert len(err.strip().splitlines()) == 1 and "usage:" not in err


def test_a_run_leaves_no_event_loop_to_the_garbage_collector() -> None:
    """Every event loop a run makes is closed: an unclosed one, finalized by the collector,
    printed an ignored-exception traceback in about one run in a dozen. With ResourceWarnings
    shown, an unclosed loop is reported on every run, so one run proves it."""
    done = subprocess.run(
        [sys.executable, "-W", "always::ResourceWarning", "-m", "policies.check", "--stack", "dev"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


CONSUMER = Path(__file__).resolve().parents[1] / "components" / "consumer"
"""A program of its own that uses appstack as a library (the README's example)."""


def test_another_program_is_checked_with_its_own_stack_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--stack", "dev", "--program", str(CONSUMER)]) == 0
    assert "dev: 23 resources checked, 0 mandatory" in capsys.readouterr().out


def test_bad_args_in_another_program_are_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stack", "dev", "--program", str(CONSUMER), "--set", "basePort=70000"]) == 2
    err = capsys.readouterr().err
    assert "invalid arguments for Database 'orders' (1 problem(s)):" in err
    assert "port: expected an integer from 1 to 65535, got 70000" in err


def test_another_programs_unknown_stack_and_missing_program_are_bad_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["--stack", "prod", "--program", str(CONSUMER)]) == 2
    assert "unknown stack 'prod': the stacks are dev" in capsys.readouterr().err
    assert main(["--stack", "dev", "--program", str(tmp_path)]) == 2
    assert "no such program file" in capsys.readouterr().err
