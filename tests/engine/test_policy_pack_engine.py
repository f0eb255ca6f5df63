"""The policy pack under the real Pulumi CLI: it loads from `policies/` and its mandatory
policies stop a preview. The provider plugins cannot be built here, so the program registers no
provider resource; the stack-level no-plaintext-secrets policy is what it trips."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.engine.test_dynamic_providers_engine import (
    PASSPHRASE,
    REPO_ROOT,
    VENV,
    PulumiProject,
    engine_env,
)

pytestmark = pytest.mark.real

PROGRAM = '''"""Exports a DSN with a password, as a secret or (on purpose) in plain text."""
import pulumi

config = pulumi.Config()
password = config.require_secret("password")
dsn = pulumi.Output.concat("postgresql://app:", password, "@127.0.0.1:5432/app")
pulumi.export("dsn", pulumi.Output.unsecret(dsn) if config.get_bool("leak") else dsn)
'''


@pytest.fixture()
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulumiProject]:
    """A one-file project on a temporary file backend."""
    env, missing = engine_env()
    base = tmp_path_factory.mktemp("policy-engine")
    directory, backend = base / "project", base / "backend"
    directory.mkdir()
    backend.mkdir()
    (directory / "__main__.py").write_text(PROGRAM)
    (directory / "Pulumi.yaml").write_text(
        "name: appstack-policy-engine-test\n"
        "runtime:\n  name: python\n  options:\n    toolchain: pip\n"
        f"    virtualenv: {VENV}\n"
    )
    env.update(PULUMI_BACKEND_URL=f"file://{backend}", PULUMI_CONFIG_PASSPHRASE=PASSPHRASE)
    env.pop("PULUMI_ACCESS_TOKEN", None)
    yield PulumiProject(directory, backend, env, missing)


def test_the_pack_refuses_a_plaintext_credential_and_accepts_a_secret(
    project: PulumiProject,
) -> None:
    pack = str(REPO_ROOT / "policies")
    project.configure("ci", {}, {"password": "Engine-Test-Pw-4711"})

    project.run("config", "set", "--stack", "ci", "leak", "true")
    refused = project.run("preview", "--stack", "ci", "--policy-pack", pack, ok=False)
    assert "appstack@v0.1.0" in refused.output
    assert "[mandatory]" in refused.output and "no-plaintext-secrets" in refused.output
    assert "stack output dsn holds a credential in plain text" in refused.output

    project.run("config", "set", "--stack", "ci", "leak", "false")
    accepted = project.run("preview", "--stack", "ci", "--policy-pack", pack)
    assert "no-plaintext-secrets" not in accepted.output
    assert "Engine-Test-Pw-4711" not in accepted.output
