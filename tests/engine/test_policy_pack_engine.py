"""The policy pack under the real Pulumi CLI: it loads from `policies/` and its mandatory
policies stop a preview. The provider plugins cannot be built here, so the program registers no
provider resource; the stack-level no-plaintext-secrets policy is what it trips."""

from __future__ import annotations

import pytest

from tests.engine.harness import REPO_ROOT, PulumiProject, new_project

pytestmark = pytest.mark.real

PROGRAM = '''"""Exports a DSN with a password, as a secret or (on purpose) in plain text."""
import pulumi

config = pulumi.Config()
password = config.require_secret("password")
dsn = pulumi.Output.concat("postgresql://app:", password, "@127.0.0.1:5432/app")
pulumi.export("dsn", pulumi.Output.unsecret(dsn) if config.get_bool("leak") else dsn)
'''


@pytest.fixture()
def project(tmp_path_factory: pytest.TempPathFactory) -> PulumiProject:
    """A one-file project on a temporary file backend."""
    return new_project(
        tmp_path_factory.mktemp("policy-engine"), "appstack-policy-engine-test", PROGRAM
    )


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
