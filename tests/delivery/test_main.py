"""The delivery command line hands `verify` to delivery.verify.main untouched."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from delivery.__main__ import main


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
