"""Promotion stage -> prod on temporary copies of a representative Pulumi.prod.yaml."""

from __future__ import annotations

import json
import os
import shutil
import stat
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from delivery.__main__ import main as cli
from delivery.outputs import OutputsUnavailable, read_stack_outputs
from delivery.promote import BadInput, Refused, promote, rewrite_config

FIXTURES = Path(__file__).parent / "fixtures"
STAGE_OUTPUTS = json.loads((FIXTURES / "outputs_stage.json").read_text())
STAGE_IMAGES: dict[str, str] = STAGE_OUTPUTS["images"]
OUTPUT_SECRETS = ("stage-db-pass-9f2c", "stage-redis-pass-77ab", "stage-secret-key-d41d")
CONFIG_KEYS = {
    "database": "appstack:database",
    "cache": "appstack:cache",
    "objectStore": "appstack:objectStore",
    "backend": "appstack:backend",
}


@dataclass(frozen=True)
class CheckResult:
    """The shape delivery.verify reports one check in."""

    name: str
    ok: bool
    detail: str = ""


class RecordingVerifier:
    """Returns fixed results and records which outputs it was asked to verify."""

    def __init__(self, results: Sequence[CheckResult]) -> None:
        self.results = list(results)
        self.calls: list[Mapping[str, Any]] = []

    def __call__(self, outputs: Mapping[str, Any], *, host: str | None = None) -> list[CheckResult]:
        """Promotion calls it with the outputs; the command line also passes `host`, as it
        passes it to `delivery.verify.verify_stack`."""
        self.calls.append(outputs)
        return self.results


def passing() -> RecordingVerifier:
    return RecordingVerifier(
        [
            CheckResult("database answers with pgvector", True, "pgvector 0.8.0"),
            CheckResult("health", True),
        ]
    )


@pytest.fixture
def prod_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "Pulumi.prod.yaml"
    shutil.copy(FIXTURES / "Pulumi.prod.yaml", path)
    return path


def outputs(**images: str | None) -> dict[str, Any]:
    """Stage's outputs with some images replaced (None removes the role)."""
    result = json.loads(json.dumps(STAGE_OUTPUTS))
    for role, ref in images.items():
        if ref is None:
            del result["images"][role]
        else:
            result["images"][role] = ref
    return result


def config_images(path: Path) -> dict[str, str | None]:
    config = yaml.safe_load(path.read_text())["config"]
    return {role: (config.get(key) or {}).get("image") for role, key in CONFIG_KEYS.items()}


# ----------------------------------------------------------------------------- success


def test_promotion_writes_exactly_stages_images_and_nothing_else(prod_yaml: Path) -> None:
    before = prod_yaml.read_text()
    verifier = passing()
    result = promote("stage", "prod", outputs(), prod_yaml, verifier=verifier)
    after = prod_yaml.read_text()
    assert result.written and result.checks == 2
    assert verifier.calls == [outputs()]
    assert config_images(prod_yaml) == STAGE_IMAGES
    # a reviewable diff: only the two image lines that differ change, comments and quoting stay
    changed = [
        (old, new)
        for old, new in zip(before.splitlines(), after.splitlines(), strict=True)
        if old != new
    ]
    old_prod = yaml.safe_load(before)["config"]
    assert changed == [
        (
            f"    image: {old_prod['appstack:database']['image']}",
            f"    image: {STAGE_IMAGES['database']}",
        ),
        (
            f"    image: {old_prod['appstack:backend']['image']}",
            f"    image: {STAGE_IMAGES['backend']}",
        ),
    ]
    # everything else, including the secure value, is what it was
    old_config, new_config = yaml.safe_load(before), yaml.safe_load(after)
    for role, key in CONFIG_KEYS.items():
        old_config["config"][key]["image"] = STAGE_IMAGES[role]
    assert new_config == old_config
    assert [c.role for c in result.changes if c.changed] == ["database", "backend"]


def test_quoting_styles_are_kept(prod_yaml: Path) -> None:
    cache = "redis:7.4-bookworm@sha256:" + "c" * 64
    store = "minio/minio:RELEASE.2025-09-07T16-13-09Z@sha256:" + "d" * 64
    promote("stage", "prod", outputs(cache=cache, objectStore=store), prod_yaml, verifier=passing())
    text = prod_yaml.read_text()
    assert f'    image: "{cache}"\n' in text
    assert f"    image: '{store}'\n" in text


def test_promoting_again_changes_nothing(prod_yaml: Path) -> None:
    promote("stage", "prod", outputs(), prod_yaml, verifier=passing())
    once = prod_yaml.read_text()
    result = promote("stage", "prod", outputs(), prod_yaml, verifier=passing())
    assert not result.written and not any(c.changed for c in result.changes)
    assert prod_yaml.read_text() == once


def test_dry_run_checks_but_writes_nothing(prod_yaml: Path) -> None:
    before = prod_yaml.read_text()
    result = promote("stage", "prod", outputs(), prod_yaml, verifier=passing(), dry_run=True)
    assert not result.written and any(c.changed for c in result.changes)
    assert prod_yaml.read_text() == before


def test_an_image_prod_never_set_is_added_in_its_block(tmp_path: Path) -> None:
    text = (
        "config:\n"
        "  appstack:network:\n"
        "    mode: host\n"
        "  appstack:database: {port: 5432}\n"
        "  appstack:backend:\n"
        "    # the release build\n"
        "    port: 8000\n"
    )
    new = rewrite_config(text, STAGE_IMAGES)
    data = yaml.safe_load(new)["config"]
    assert {role: data[key]["image"] for role, key in CONFIG_KEYS.items()} == STAGE_IMAGES
    assert data["appstack:database"]["port"] == 5432 and data["appstack:backend"]["port"] == 8000
    assert "    # the release build\n" in new and "    mode: host\n" in new


def test_a_file_without_config_gets_one(tmp_path: Path) -> None:
    new = rewrite_config("# prod\n", STAGE_IMAGES)
    assert new.startswith("# prod\nconfig:\n")
    assert config_images_from_text(new) == STAGE_IMAGES


def config_images_from_text(text: str) -> dict[str, str]:
    config = yaml.safe_load(text)["config"]
    return {role: config[key]["image"] for role, key in CONFIG_KEYS.items()}


def test_an_expected_image_that_stage_runs_is_accepted(prod_yaml: Path) -> None:
    result = promote(
        "stage",
        "prod",
        outputs(),
        prod_yaml,
        expected={"backend": STAGE_IMAGES["backend"]},
        verifier=passing(),
    )
    assert result.written


# ----------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("images", "reason"),
    [
        ({"backend": "registry.example.com/appstack/backend:0.2.0"}, "backend: 'registry"),
        ({"database": "pgvector/pgvector:pg17@sha256:abc123"}, "database: 'pgvector"),
        ({"cache": "redis@sha256:" + "A" * 64}, "cache: 'redis@sha256"),
        ({"backend": "dev-appstack-backend:local"}, "no @sha256:<64 hex> digest"),
    ],
)
def test_references_without_a_digest_are_refused(
    prod_yaml: Path, images: dict[str, str], reason: str
) -> None:
    before = prod_yaml.read_text()
    verifier = passing()
    with pytest.raises(Refused, match=reason):
        promote("stage", "prod", outputs(**images), prod_yaml, verifier=verifier)
    assert prod_yaml.read_text() == before
    assert verifier.calls == []  # nothing live is touched for a promotion that cannot happen


def test_a_stage_that_fails_verification_is_refused_with_every_failed_check(
    prod_yaml: Path,
) -> None:
    before = prod_yaml.read_text()
    verifier = RecordingVerifier(
        [
            CheckResult("database answers with pgvector", True),
            CheckResult("schema at migrations head", False, "at 0001, head is 0002"),
            CheckResult("backend health", False, "GET /health answered 502"),
        ]
    )
    with pytest.raises(Refused) as refused:
        promote("stage", "prod", outputs(), prod_yaml, verifier=verifier)
    assert refused.value.reasons == [
        "stage fails schema at migrations head: at 0001, head is 0002",
        "stage fails backend health: GET /health answered 502",
    ]
    assert prod_yaml.read_text() == before


def test_a_crashing_verification_is_a_failed_one_and_leaks_no_secret(prod_yaml: Path) -> None:
    def crash(outputs: Mapping[str, Any]) -> list[CheckResult]:
        raise ConnectionError(f"cannot connect to {outputs['database']['dsn']}")

    with pytest.raises(Refused) as refused:
        promote("stage", "prod", outputs(), prod_yaml, verifier=crash)
    (reason,) = refused.value.reasons
    assert reason.startswith("verification of stage crashed: ConnectionError: cannot connect to")
    assert "stage-db-pass-9f2c" not in reason and "appstack:***@" in reason


@pytest.mark.parametrize(
    "results",
    [[], [types.SimpleNamespace(name="a check with no verdict")]],
    ids=["no-checks", "unreadable-result"],
)
def test_a_verification_that_proves_nothing_is_refused(prod_yaml: Path, results: list[Any]) -> None:
    with pytest.raises(Refused, match=r"verification of stage ran no checks|stage fails a check"):
        promote("stage", "prod", outputs(), prod_yaml, verifier=lambda _: results)


def test_a_role_stage_does_not_report_is_refused(prod_yaml: Path) -> None:
    with pytest.raises(Refused, match="backend: stage reports no image, so the target would keep"):
        promote("stage", "prod", outputs(backend=None), prod_yaml, verifier=passing())


def test_an_expected_image_stage_never_ran_is_refused(prod_yaml: Path) -> None:
    other = "registry.example.com/appstack/backend:0.3.0@sha256:" + "e" * 64
    with pytest.raises(Refused) as refused:
        promote(
            "stage", "prod", outputs(), prod_yaml, expected={"backend": other}, verifier=passing()
        )
    assert refused.value.reasons == [
        f"backend: stage never ran {other!r} (it runs {STAGE_IMAGES['backend']})"
    ]


def test_all_static_reasons_are_given_at_once(prod_yaml: Path) -> None:
    with pytest.raises(Refused) as refused:
        promote(
            "stage",
            "prod",
            outputs(cache="redis:7.4", backend=None),
            prod_yaml,
            verifier=passing(),
        )
    assert [r.split(":")[0] for r in refused.value.reasons] == ["cache", "backend"]


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"outputs": {**STAGE_OUTPUTS, "environment": "dev"}}, "outputs are of stack 'dev'"),
        ({"outputs": {"environment": "stage"}}, "has no `images` output"),
        ({"outputs": outputs(frontend="x@sha256:" + "0" * 64)}, "unknown role"),
        ({"outputs": {**STAGE_OUTPUTS, "images": {"database": 5}}}, "non-string"),
        ({"expected": {"frontend": "x"}}, "--image names unknown role"),
        ({"target": "stage"}, "same stack"),
    ],
)
def test_malformed_input_is_bad_input(
    prod_yaml: Path, kwargs: dict[str, Any], message: str
) -> None:
    arguments: dict[str, Any] = {
        "source": "stage",
        "target": "prod",
        "outputs": outputs(),
        "config_file": prod_yaml,
        "verifier": passing(),
    } | kwargs
    with pytest.raises(BadInput, match=message):
        promote(**arguments)


def test_a_config_that_cannot_be_edited_safely_is_bad_input(tmp_path: Path) -> None:
    flow = tmp_path / "Pulumi.prod.yaml"
    flow.write_text("config: {appstack:network: {mode: host}}\n")
    with pytest.raises(BadInput, match="flow-style"):
        promote("stage", "prod", outputs(), flow, verifier=passing())
    flow.write_text("config:\n  appstack:database: pgvector/pgvector:pg17\n")
    with pytest.raises(BadInput, match="appstack:database is not a mapping"):
        promote("stage", "prod", outputs(), flow, verifier=passing())
    with pytest.raises(BadInput, match="cannot read"):
        promote("stage", "prod", outputs(), tmp_path / "missing.yaml", verifier=passing())


# ----------------------------------------------------------------------------- command line


@pytest.fixture
def fake_verify(monkeypatch: pytest.MonkeyPatch) -> RecordingVerifier:
    """`delivery verify`'s checks, which the command line hands to promotion, replaced."""
    verifier = passing()
    monkeypatch.setattr("delivery.verify.verify_stack", verifier)
    return verifier


def _write_outputs(tmp_path: Path, data: Mapping[str, Any]) -> Path:
    path = tmp_path / "stage-outputs.json"
    path.write_text(json.dumps(data))
    return path


def test_cli_promotes_and_prints_what_changed_without_secrets(
    prod_yaml: Path,
    tmp_path: Path,
    fake_verify: RecordingVerifier,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = cli(
        [
            "promote",
            "--from",
            "stage",
            "--to",
            "prod",
            "--outputs-file",
            str(_write_outputs(tmp_path, STAGE_OUTPUTS)),
            "--cwd",
            str(prod_yaml.parent),
        ]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    assert fake_verify.calls and fake_verify.calls[0]["environment"] == "stage"
    assert "database.image: pgvector/pgvector:pg17@sha256:cf134a76" in out.out
    assert f"-> {STAGE_IMAGES['backend']}" in out.out
    assert f"cache.image: unchanged ({STAGE_IMAGES['cache']})" in out.out
    assert config_images(prod_yaml) == STAGE_IMAGES
    for secret in OUTPUT_SECRETS:
        assert secret not in out.out + out.err


def test_cli_refusal_exits_1_and_says_why(
    prod_yaml: Path,
    tmp_path: Path,
    fake_verify: RecordingVerifier,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = outputs(backend="registry.example.com/appstack/backend:latest")
    code = cli(
        [
            *("promote", "--from", "stage", "--to", "prod", "--config-file", str(prod_yaml)),
            *("--outputs-file", str(_write_outputs(tmp_path, data))),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "Promotion stage -> prod refused:" in err
    assert "backend: 'registry.example.com/appstack/backend:latest' has no @sha256" in err


@pytest.mark.parametrize(
    "extra",
    [["--image", "backend"], ["--image", "backend=a", "--image", "backend=b"]],
)
def test_cli_bad_image_arguments_exit_2(
    prod_yaml: Path, tmp_path: Path, fake_verify: RecordingVerifier, extra: list[str]
) -> None:
    args = ["promote", "--from", "stage", "--to", "prod", "--config-file", str(prod_yaml)]
    args += ["--outputs-file", str(_write_outputs(tmp_path, STAGE_OUTPUTS)), *extra]
    assert cli(args) == 2


def test_cli_unreadable_outputs_exit_2(prod_yaml: Path, tmp_path: Path) -> None:
    broken = tmp_path / "outputs.json"
    broken.write_text("{not json")
    args = ["promote", "--from", "stage", "--to", "prod", "--config-file", str(prod_yaml)]
    assert cli([*args, "--outputs-file", str(broken)]) == 2
    assert cli([*args, "--outputs-file", str(tmp_path / "absent.json")]) == 2


def _fake_pulumi(tmp_path: Path, body: str) -> Path:
    """A `pulumi` executable on PATH that records its arguments (the real CLI needs a stack)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "pulumi"
    script.write_text(f'#!/bin/sh\necho "$@" > "{tmp_path}/argv"\n{body}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return bindir


def test_outputs_are_read_with_the_stack_output_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "outputs.json").write_text(json.dumps(STAGE_OUTPUTS))
    bindir = _fake_pulumi(tmp_path, f'cat "{tmp_path}/outputs.json"')
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    assert read_stack_outputs("stage", tmp_path) == STAGE_OUTPUTS
    argv = (tmp_path / "argv").read_text().split()
    assert argv == ["stack", "output", "--stack", "stage", "--json", "--show-secrets"]


def test_a_failing_stack_output_command_is_bad_input_without_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = 'echo "error: no stack named stage (postgresql://u:hunter2@127.0.0.1/db)" >&2; exit 255'
    bindir = _fake_pulumi(tmp_path, body)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(OutputsUnavailable) as bad:
        read_stack_outputs("stage", tmp_path)
    assert "no stack named stage" in str(bad.value) and "hunter2" not in str(bad.value)
