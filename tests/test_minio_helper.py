"""The real-MinIO helper fails loudly, naming the install step, when the binary is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.realservers.minio import minio_binary, start_minio


def test_missing_binary_names_the_build_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APPSTACK_CACHE", str(tmp_path / "empty-cache"))
    assert minio_binary().parent.name.startswith("minio-")
    with pytest.raises(FileNotFoundError, match=r"run `toolchain/build-minio\.sh` first"):
        start_minio(tmp_path / "data")
