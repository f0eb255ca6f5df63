"""verify reads a cluster stack's config, its kubeconfig secret decrypted, through the real Pulumi
CLI (`bash toolchain/build.sh engine`) on a temporary project and file backend: `pulumi config
--json --show-secrets` as `read_stack_config` parses it, and the port-forward verify opens from it.

Marked `real` like the other tests that run the CLI; without a built CLI they fail, naming the
build step (never skipped).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from appstack.k8s import port_forward
from appstack.settings import NAMESPACE
from delivery.outputs import OutputsUnavailable, read_stack_config
from delivery.verify import declared_port_forward
from tests.engine.harness import PulumiProject, new_project
from tests.realservers.process import free_port

pytestmark = pytest.mark.real

STACK = "qa"
KUBECONFIG = (
    "apiVersion: v1\nkind: Config\nclusters:\n- name: qa\n  cluster:\n"
    "    server: https://127.0.0.1:6443\ncurrent-context: qa-secret-context"
)
"""A kubeconfig document (`config set` reads stdin without its last newline: it has none)."""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PulumiProject]:
    """A project (never run) with stack `qa`, and this process's `pulumi` the toolchain's,
    on the project's backend."""
    project = new_project(tmp_path, "appstack-config-test", "raise SystemExit('not run')\n")
    project.require_engine()
    for key in ("PATH", "PULUMI_HOME", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"):
        if key in project.env:
            monkeypatch.setenv(key, project.env[key])
    monkeypatch.delenv("PULUMI_ACCESS_TOKEN", raising=False)
    project.run("stack", "init", STACK)
    project.run(
        "config",
        "set",
        "--stack",
        STACK,
        "--secret",
        "--path",
        f"{NAMESPACE}:kubernetes.kubeconfig",
        stdin=KUBECONFIG,
    )
    yield project
    port_forward.close_all()


def set_plain(project: PulumiProject, **values: str) -> None:
    """`pulumi config set-all --path --plaintext KEY=VALUE ...` on the stack."""
    pairs = [f"--plaintext={key}={value}" for key, value in values.items()]
    project.run("config", "set-all", "--stack", STACK, "--path", *pairs)


def test_the_config_is_read_with_its_secrets_decrypted(project: PulumiProject) -> None:
    set_plain(
        project,
        **{
            f"{NAMESPACE}:target": "kubernetes",
            f"{NAMESPACE}:kubernetes.namespace": "qa-ns",
            "other:kubernetes": "not ours",
        },
    )
    stack_file = (project.directory / f"Pulumi.{STACK}.yaml").read_text()
    assert "secure:" in stack_file and "qa-secret-context" not in stack_file

    values, secret_keys = read_stack_config(STACK, project.directory, NAMESPACE)

    assert values == {
        "target": "kubernetes",
        "kubernetes": {"kubeconfig": KUBECONFIG, "namespace": "qa-ns"},
    }
    assert secret_keys == frozenset({"kubernetes"})
    with pytest.raises(OutputsUnavailable, match=r"`pulumi config --stack nosuch` failed: "):
        read_stack_config("nosuch", project.directory, NAMESPACE)


def test_verify_opens_the_port_forward_with_the_secret_kubeconfig(
    project: PulumiProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(port_forward.KUBECTL_ENV, sys.executable)  # found, never started
    ports = {key: free_port() for key in ("database", "cache", "objectStore", "backend")}
    set_plain(
        project,
        **{
            f"{NAMESPACE}:target": "kubernetes",
            f"{NAMESPACE}:kubernetes.connectAddress": "127.0.0.2",
            f"{NAMESPACE}:backend.image": "appstack/backend:1",
            **{f"{NAMESPACE}:{key}.port": str(port) for key, port in ports.items()},
        },
    )

    forward = declared_port_forward(STACK, project.directory)

    assert forward is not None
    try:
        assert forward.access.kubeconfig == KUBECONFIG
        assert (forward.access.namespace, forward.address) == (STACK, "127.0.0.2")
        assert sorted(forward._listeners) == sorted(
            [
                ("database", ports["database"]),
                ("cache", ports["cache"]),
                ("objectstore", ports["objectStore"]),
                ("backend", ports["backend"]),
            ]
        )
    finally:
        forward.close()
