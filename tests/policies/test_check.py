"""`python -m policies.check`: the committed stacks are clean; hostile stacks are refused."""

from __future__ import annotations

import pytest

from policies.check import main


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
    assert "unknown stack 'qa': the stacks are ci, dev, prod, stage" in capsys.readouterr().err


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
