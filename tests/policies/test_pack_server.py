"""The pack as the engine starts it: ``<venv>/bin/python -u -m pulumi.policy <engine> .`` in the
pack folder (what ``pulumi-analyzer-policy-python`` runs for ``virtualenv: ../.venv``). It must
import from that working directory, print its port and answer the analyzer protocol on loopback.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

PACK_DIR = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture
def pack_port() -> Iterator[int]:
    """Start the pack's analyzer server, yield its port, stop exactly that process."""
    virtualenv = (
        PACK_DIR
        / yaml.safe_load((PACK_DIR / "PulumiPolicy.yaml").read_text())["runtime"]["options"][
            "virtualenv"
        ]
    )
    python = virtualenv / "bin" / "python"
    assert python.exists(), (
        f"{python} missing: create .venv from requirements-dev.txt before the pack tests"
    )
    process = subprocess.Popen(
        [str(python), "-u", "-m", "pulumi.policy", "127.0.0.1:1", "."],
        cwd=PACK_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.isdigit():
            process.kill()
            _out, err = process.communicate(timeout=10)
            pytest.fail(f"policy pack did not start: {line!r} {err}")
        yield int(line)
    finally:
        process.kill()
        process.communicate(timeout=10)


@pytest.mark.real
def test_pack_serves_its_policies_from_its_own_folder(pack_port: int) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{pack_port}") as channel:
        stub = analyzer_pb2_grpc.AnalyzerStub(channel)
        info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=10)
        assert info.name == "appstack"
        assert [p.name for p in info.policies] == [
            "pgvector-only",
            "pinned-images",
            "data-kept-in-prod",
            "private-storage",
            "health-checks",
            "no-plaintext-secrets",
            "environment-prefix",
            "remote-bind-address",
            "remote-bind-address-advisory",
        ]
        request = analyzer_pb2.AnalyzeRequest(
            type="docker:index/remoteImage:RemoteImage",
            name="appstack-database-image",
            urn="urn:pulumi:dev::appstack::appstack:index:Platform$appstack:index:Database"
            "$docker:index/remoteImage:RemoteImage::appstack-database-image",
        )
        request.properties.update({"name": "postgres:15-alpine", "keepLocally": True})
        diagnostics = stub.Analyze(request, timeout=10).diagnostics
    assert [d.policyName for d in diagnostics] == ["pgvector-only"]
    assert "pgvector/pgvector:pg17" in diagnostics[0].message
