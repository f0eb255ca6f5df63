"""The delivery command line hands `verify` to delivery.verify.main untouched."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from delivery.__main__ import main
from tests.stacks import REPO_ROOT

FIXTURES = Path(__file__).parent / "fixtures"


def test_verify_receives_the_rest_of_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Sequence[str]] = []

    def verify_main(argv: Sequence[str]) -> int:
        seen.append(argv)
        return 1

    monkeypatch.setattr("delivery.verify.main", verify_main)
    assert main(["verify", "--stack", "stage", "--help"]) == 1
    assert seen == [["--stack", "stage", "--help"]]


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert all(command in out for command in ("render-preview", "promote", "verify"))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "python -m delivery: the following arguments are required: command"),
        (["bogus"], "invalid choice: 'bogus'"),
        (["promote"], "python -m delivery promote: the following arguments are required"),
        (["render-preview", "--max-chars", "x"], "--max-chars: expected a whole number"),
    ],
)
def test_a_bad_command_line_is_exit_2_and_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "usage:" not in err
    assert len(err.strip().splitlines()) == 1


def test_promote_verifies_against_the_address_the_source_stack_file_declares(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The live checks promotion runs contact only the `network.bindAddress` of the source
    stack's file in --cwd, as `delivery verify --cwd` does: never an address the outputs name."""
    outputs = json.loads((FIXTURES / "outputs_stage.json").read_text())
    (tmp_path / "outputs.json").write_text(json.dumps(outputs))
    (tmp_path / "Pulumi.stage.yaml").write_text(
        "config:\n  appstack:network:\n    bindAddress: 10.9.8.7\n"
    )
    (tmp_path / "Pulumi.prod.yaml").write_text((REPO_ROOT / "Pulumi.prod.yaml").read_text())
    hosts: list[str | None] = []

    def verify_stack(_outputs: Mapping[str, Any], *, host: str | None = None) -> list[Any]:
        hosts.append(host)
        return []

    monkeypatch.setattr("delivery.verify.verify_stack", verify_stack)
    argv = ["promote", "--from", "stage", "--to", "prod", "--cwd", str(tmp_path)]
    main([*argv, "--outputs-file", str(tmp_path / "outputs.json"), "--dry-run"])
    assert hosts == ["10.9.8.7"]
