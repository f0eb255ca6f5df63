"""toolchain/build.sh stops with a message naming what is missing or wrong in the vendored sources.

Each case runs the real script against a scratch cache (holding only the built CLI, which the
provider step needs to install a plugin) and a scratch vendor directory, so it fails before any
Go build starts.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from tests.stacks import REPO_ROOT

BUILD = REPO_ROOT / "toolchain" / "build.sh"
COMMAND_TARBALL = "pulumi+pulumi-command@v1.2.1.tar.gz"


def cli_version() -> str:
    for line in (REPO_ROOT / "toolchain" / "versions.env").read_text().splitlines():
        if line.startswith("PULUMI_CLI_VERSION="):
            return line.split("=", 1)[1]
    raise AssertionError("versions.env has no PULUMI_CLI_VERSION")


def run_build(cache: Path, vendor: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "APPSTACK_CACHE": str(cache), "APPSTACK_VENDOR": str(vendor)}
    return subprocess.run(
        ["bash", str(BUILD), "providers"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture()
def scratch_cache(tmp_path: Path) -> Path:
    """A cache with a stand-in CLI: the step fails on the sources before it would be used."""
    cache = tmp_path / "cache"
    bin_dir = cache / f"pulumi-{cli_version()}" / "bin"
    bin_dir.mkdir(parents=True)
    stand_in = bin_dir / "pulumi"
    stand_in.write_text("#!/bin/sh\necho 'not the real CLI' >&2\nexit 1\n")
    stand_in.chmod(0o755)
    return cache


def test_a_missing_vendored_tree_is_named(scratch_cache: Path, tmp_path: Path) -> None:
    vendor = tmp_path / "vendor"
    vendor.mkdir()
    (vendor / "MANIFEST.sha256").write_text("")
    done = run_build(scratch_cache, vendor)
    assert done.returncode != 0
    assert f"vendored source {COMMAND_TARBALL} is missing from {vendor}" in done.stderr


def test_a_tarball_that_does_not_match_its_checksum_is_refused(
    scratch_cache: Path, tmp_path: Path
) -> None:
    vendor = tmp_path / "vendor"
    vendor.mkdir()
    (vendor / COMMAND_TARBALL).write_bytes(b"not the upstream tree")
    wrong = hashlib.sha256(b"the upstream tree").hexdigest()
    (vendor / "MANIFEST.sha256").write_text(f"{wrong}  {COMMAND_TARBALL}\n")
    done = run_build(scratch_cache, vendor)
    assert done.returncode != 0
    assert f"{vendor / COMMAND_TARBALL}: sha256" in done.stderr
    assert f"does not match MANIFEST.sha256 ({wrong})" in done.stderr


def test_a_vendor_directory_without_a_manifest_is_refused(
    scratch_cache: Path, tmp_path: Path
) -> None:
    done = run_build(scratch_cache, tmp_path / "nowhere")
    assert done.returncode != 0
    assert f"APPSTACK_VENDOR={tmp_path / 'nowhere'} has no MANIFEST.sha256" in done.stderr
