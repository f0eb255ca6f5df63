"""The README's main job, exactly as written, in a copy of the checkout: `make up STACK=ci`.

`make up` logs in to a file backend in the checkout's `.pulumi-state/`, generates the passphrase
there, creates the stack and runs `pulumi up --policy-pack policies` with the toolchain
`make toolchain` built; `make verify` then passes every check and `make destroy` removes it.
The copy shares the repository's virtualenv (a symlink), so nothing is installed again; the only
addition to the README's command is `UP_FLAGS=--yes`, which answers Pulumi's confirmation prompt
that a test cannot answer.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.platform import containers_of, remove_leftovers
from tests.engine.harness import REPO_ROOT, VENV

pytestmark = [pytest.mark.real, pytest.mark.e2e]

STACK = "ci"
MAKE_TIMEOUT_SECONDS = 900


def tracked_copy(destination: Path) -> Path:
    """The checkout's tracked files (as they are in the working tree) under `destination`."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True
    ).stdout.decode()
    for relative in filter(None, listed.split("\0")):
        source = REPO_ROOT / relative
        if source.is_file():
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)  # keeps mtimes: make sees the venv as up to date
    (destination / ".venv").symlink_to(VENV)
    return destination


def make(checkout: Path, *targets: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PULUMI_") and key != "APPSTACK_ENGINE_VIEW"
    }
    return subprocess.run(
        ["make", "--no-print-directory", *targets],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=MAKE_TIMEOUT_SECONDS,
        check=False,
    )


def test_make_up_verify_destroy_as_the_readme_says(tmp_path: Path) -> None:
    assert containers_of(STACK) == [], f"leftover {STACK} containers: {containers_of(STACK)}"
    checkout = tracked_copy(tmp_path / "appstack")
    try:
        up = make(checkout, "up", f"STACK={STACK}", "UP_FLAGS=--yes")
        assert up.returncode == 0, up.stdout + up.stderr
        assert (checkout / ".pulumi-state" / "passphrase").stat().st_mode & 0o077 == 0
        assert len(containers_of(STACK)) == 4, containers_of(STACK)

        verify = make(checkout, "verify", f"STACK={STACK}")
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert "FAIL" not in verify.stdout, verify.stdout

        destroy = make(checkout, "destroy", f"STACK={STACK}", "UP_FLAGS=--yes")
        assert destroy.returncode == 0, destroy.stdout + destroy.stderr
        assert containers_of(STACK) == []
    finally:
        if containers_of(STACK):
            make(checkout, "destroy", f"STACK={STACK}", "UP_FLAGS=--yes")
        remove_leftovers(STACK)
