"""The policy pack itself: it loads and declares every policy without starting its server, and
the engine's requests (unknowns, secrets, protect, config) reach the policies as intended.

``PolicyPack(...)`` serves gRPC and blocks forever in its constructor, so ``__main__.py`` runs
here with ``pulumi_policy.PolicyPack`` replaced by a recorder. The recorded policies are then
driven through pulumi-policy's own servicer with protobuf requests shaped like the engine's
(``analyzer_plugin.go``: properties marshalled with unknowns and secrets kept): the same code path
as ``pulumi preview --policy-pack policies``, minus the socket.
"""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any, ClassVar

import pulumi_policy
import pytest
from google.protobuf import struct_pb2
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import policy as policy_module
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from policies.evaluate import POLICIES
from tests.policies.graph import PROD_IMAGES, baseline, labels, urn

PACK_DIR = Path(__file__).resolve().parents[2] / "policies"
EXPECTED = {
    "pgvector-only": "mandatory",
    "pinned-images": "mandatory",
    "data-kept-in-prod": "mandatory",
    "private-storage": "mandatory",
    "health-checks": "mandatory",
    "no-plaintext-secrets": "mandatory",
    "environment-prefix": "advisory",
    "remote-bind-address": "mandatory",
    "remote-bind-address-advisory": "advisory",
}
MANDATORY = analyzer_pb2.EnforcementLevel.MANDATORY
ADVISORY = analyzer_pb2.EnforcementLevel.ADVISORY


class RecordedPack:
    """Stands in for ``PolicyPack``: records its arguments instead of serving."""

    calls: ClassVar[list[RecordedPack]] = []

    def __init__(self, name: str, policies: list[pulumi_policy.Policy], **options: Any) -> None:
        self.name = name
        self.policies = policies
        self.options = options
        RecordedPack.calls.append(self)


@pytest.fixture
def pack(monkeypatch: pytest.MonkeyPatch) -> RecordedPack:
    """Run ``policies/__main__.py`` as the engine would, without serving; restore patches after."""
    RecordedPack.calls = []
    monkeypatch.setattr(pulumi_policy, "PolicyPack", RecordedPack)
    # __main__ swaps the servicer's deserializer; monkeypatch puts the original back afterwards.
    monkeypatch.setattr(
        policy_module, "deserialize_properties", policy_module.deserialize_properties
    )
    monkeypatch.chdir(PACK_DIR)
    monkeypatch.delenv("PULUMI_STACK", raising=False)
    runpy.run_path(str(PACK_DIR), run_name="__main__")
    assert len(RecordedPack.calls) == 1
    return RecordedPack.calls[0]


def servicer(pack: RecordedPack, config: dict[str, dict[str, Any]] | None = None) -> Any:
    """pulumi-policy's analyzer servicer over the recorded policies, optionally configured."""
    service = policy_module._PolicyAnalyzerServicer(
        pack.name, "0.1.0", pack.policies, pulumi_policy.EnforcementLevel.ADVISORY
    )
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for name, properties in (config or {}).items():
        request.policyConfig[name].enforcementLevel = MANDATORY
        request.policyConfig[name].properties.update(properties)
    service.Configure(request, None)
    return service


def secret(value: Any) -> dict[str, Any]:
    """A value marked secret the way the engine marshals it."""
    return {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": value}


def struct(props: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(props)
    return message


def database_container(stack: str, image_label: Any, envs: Any) -> dict[str, Any]:
    """Wire props of the database container as the engine sends them during a preview."""
    return {
        "name": f"{stack}-database",
        "image": UNKNOWN_STRING_VALUE,
        "envs": envs,
        "healthcheck": {"tests": ["CMD-SHELL", "pg_isready"], "interval": "2s"},
        "wait": True,
        "mustRun": True,
        "labels": labels("database", stack, **{"appstack.image": image_label}),
    }


def analyze(service: Any, stack: str, props: dict[str, Any], protect: bool = False) -> list[Any]:
    """Diagnostics of ``Analyze`` for the database container of ``stack``."""
    name = "appstack-database-container"
    request = analyzer_pb2.AnalyzeRequest(
        type="docker:index/container:Container",
        name=name,
        urn=urn(stack, "database", "docker:index/container:Container", name),
        properties=struct(props),
        options=analyzer_pb2.AnalyzerResourceOptions(protect=protect),
    )
    return list(service.Analyze(request, None).diagnostics)


def test_pack_declares_all_policies_with_their_levels(pack: RecordedPack) -> None:
    assert pack.name == "appstack"
    levels = {
        p.name: p.enforcement_level.value if p.enforcement_level else None for p in pack.policies
    }
    assert levels == EXPECTED
    assert [p.name for p in pack.policies] == [spec.name for spec, _check in POLICIES]
    stack_level = [
        p.name for p in pack.policies if isinstance(p, pulumi_policy.StackValidationPolicy)
    ]
    assert stack_level == ["no-plaintext-secrets"]
    assert policy_module.deserialize_properties.__name__ == "_deserialize_keeping_secrets"


def test_analyzer_info_carries_descriptions_severity_and_config_schema(pack: RecordedPack) -> None:
    info = servicer(pack).GetAnalyzerInfo(None, None)
    by_name = {p.name: p for p in info.policies}
    assert set(by_name) == set(EXPECTED)
    assert by_name["pgvector-only"].enforcementLevel == MANDATORY
    assert by_name["environment-prefix"].enforcementLevel == ADVISORY
    assert by_name["pgvector-only"].severity == analyzer_pb2.POLICY_SEVERITY_CRITICAL
    schema = by_name["pgvector-only"].configSchema.properties
    assert list(schema["allowedRepositories"]["default"]) == ["pgvector/pgvector"]
    assert "extraAllowedRepositories" in schema
    assert "productionEnvironments" in by_name["pinned-images"].configSchema.properties


def test_unknown_image_with_postgres_label_is_refused_not_skipped(pack: RecordedPack) -> None:
    props = database_container("dev", "postgres:15-alpine", secret(["POSTGRES_PASSWORD=x"]))
    diagnostics = analyze(servicer(pack), "dev", props)
    assert [d.policyName for d in diagnostics] == ["pgvector-only"]
    assert diagnostics[0].enforcementLevel == MANDATORY
    assert "not a pgvector image" in diagnostics[0].message
    assert "can't run policy" not in diagnostics[0].message


def test_unknown_image_with_pgvector_label_passes_every_policy(pack: RecordedPack) -> None:
    props = database_container("dev", "pgvector/pgvector:pg17", secret(["POSTGRES_PASSWORD=x"]))
    assert analyze(servicer(pack), "dev", props) == []


def test_unknown_label_is_a_mandatory_violation(pack: RecordedPack) -> None:
    props = database_container("dev", UNKNOWN_STRING_VALUE, [])
    diagnostics = analyze(servicer(pack), "dev", props)
    by_policy = {d.policyName: d for d in diagnostics}
    assert set(by_policy) == {"pgvector-only", "pinned-images"}
    assert "unknown at preview" in by_policy["pgvector-only"].message
    assert all(d.enforcementLevel == MANDATORY for d in diagnostics)


def test_stack_name_comes_from_the_urn(pack: RecordedPack) -> None:
    props = database_container("prod", "pgvector/pgvector:pg17", [])
    diagnostics = analyze(servicer(pack), "prod", props)
    assert [d.policyName for d in diagnostics] == ["pinned-images"]
    assert "in production without a digest" in diagnostics[0].message
    digest_props = database_container("prod", PROD_IMAGES["database"], [])
    assert analyze(servicer(pack), "prod", digest_props) == []


def test_pack_config_extends_the_allowed_repositories(pack: RecordedPack) -> None:
    mirror = "registry.local:5000/mirror/pgvector:pg17"
    props = database_container("dev", mirror, [])
    assert [d.policyName for d in analyze(servicer(pack), "dev", props)] == ["pgvector-only"]
    config = {
        "pgvector-only": {"extraAllowedRepositories": ["registry.local:5000/mirror/pgvector"]}
    }
    assert analyze(servicer(pack, config), "dev", props) == []


def test_protect_reaches_data_kept_in_prod(pack: RecordedPack) -> None:
    volume = next(r for r in baseline("prod") if r.name == "appstack-database-data")
    service = servicer(pack)

    def diagnostics(protect: bool) -> list[Any]:
        request = analyzer_pb2.AnalyzeRequest(
            type=volume.type,
            name=volume.name,
            urn=volume.urn,
            properties=struct(dict(volume.props)),
            options=analyzer_pb2.AnalyzerResourceOptions(protect=protect),
        )
        return list(service.Analyze(request, None).diagnostics)

    assert diagnostics(True) == []
    refused = diagnostics(False)
    assert [d.policyName for d in refused] == ["data-kept-in-prod"]
    assert "lacks protect=True" in refused[0].message


def stack_resources(envs: Any, dsn: Any) -> analyzer_pb2.AnalyzeStackRequest:
    """An AnalyzeStack request: the database container and the Stack with its outputs."""
    container_urn = urn(
        "dev", "database", "docker:index/container:Container", "appstack-database-container"
    )
    stack_urn = "urn:pulumi:dev::appstack::pulumi:pulumi:Stack::appstack-dev"
    outputs = {"environment": "dev", "database": {"host": "127.0.0.1", "dsn": dsn}}
    return analyzer_pb2.AnalyzeStackRequest(
        resources=[
            analyzer_pb2.AnalyzerResource(
                type="pulumi:pulumi:Stack",
                name="appstack-dev",
                urn=stack_urn,
                properties=struct(outputs),
            ),
            analyzer_pb2.AnalyzerResource(
                type="docker:index/container:Container",
                name="appstack-database-container",
                urn=container_urn,
                parent=stack_urn,
                properties=struct(database_container("dev", "pgvector/pgvector:pg17", envs)),
            ),
        ]
    )


def test_secret_markers_survive_into_the_stack_policy(pack: RecordedPack) -> None:
    dsn = "postgresql://appstack:pw@127.0.0.1:5432/appstack"
    request = stack_resources(secret(["POSTGRES_PASSWORD=pw"]), secret(dsn))
    assert list(servicer(pack).AnalyzeStack(request, None).diagnostics) == []
    per_entry = stack_resources(["A=1", secret("POSTGRES_PASSWORD=pw")], secret(dsn))
    assert list(servicer(pack).AnalyzeStack(per_entry, None).diagnostics) == []


def test_plain_secrets_are_refused_in_resources_and_outputs(pack: RecordedPack) -> None:
    dsn = "postgresql://appstack:pw@127.0.0.1:5432/appstack"
    request = stack_resources(["POSTGRES_PASSWORD=pw"], dsn)
    diagnostics = list(servicer(pack).AnalyzeStack(request, None).diagnostics)
    assert {d.policyName for d in diagnostics} == {"no-plaintext-secrets"}
    messages = sorted(d.message for d in diagnostics)
    assert len(messages) == 2
    assert any("environment entry envs[0] (POSTGRES_PASSWORD)" in m for m in messages)
    assert any("stack output database.dsn" in m for m in messages)
    assert all("pw@" not in m and "=pw" not in m for m in messages)
    assert {d.urn for d in diagnostics} == {
        "",
        urn("dev", "database", "docker:index/container:Container", "appstack-database-container"),
    }


def test_without_the_secret_hook_the_sdk_hides_secrets(pack: RecordedPack) -> None:
    # Documents why preserve_secret_markers exists: the stock deserializer drops the markers.
    from pulumi_policy.deserialize import deserialize_properties

    plain = deserialize_properties({"dsn": secret("postgresql://u:pw@h/db")})
    assert plain == {"dsn": "postgresql://u:pw@h/db"}


def test_the_provider_s_host_reaches_remote_bind_address(pack: RecordedPack) -> None:
    """The engine sends each resource's provider with its inputs; a remote host is judged."""
    stack = "prod"
    name = "appstack-database-container"
    props = database_container(stack, "pgvector/pgvector:pg17@sha256:" + "cf" * 32, [])
    props["ports"] = [{"internal": 5432.0, "external": 5432.0, "ip": "0.0.0.0"}]

    def diagnostics(host: str, config: dict[str, dict[str, Any]] | None = None) -> list[str]:
        provider_urn = f"urn:pulumi:{stack}::appstack::pulumi:providers:docker::appstack-docker"
        request = analyzer_pb2.AnalyzeRequest(
            type="docker:index/container:Container",
            name=name,
            urn=urn(stack, "database", "docker:index/container:Container", name),
            properties=struct(props),
            options=analyzer_pb2.AnalyzerResourceOptions(protect=False),
            provider=analyzer_pb2.AnalyzerProviderResource(
                type="pulumi:providers:docker",
                properties=struct({"host": host, "sshOpts": '["-i", "/k"]'}),
                urn=provider_urn,
                name="appstack-docker",
            ),
        )
        found = servicer(pack, config).Analyze(request, None).diagnostics
        return [d.policyName for d in found if d.policyName.startswith("remote-bind")]

    assert diagnostics("ssh://deploy@mini.lan") == ["remote-bind-address"]
    assert diagnostics("unix:///var/run/docker.sock") == []
    allowed = {"remote-bind-address": {"allowAllInterfaces": True}}
    assert diagnostics("ssh://deploy@mini.lan", allowed) == []


def database_statefulset(image: str, env: list[dict[str, Any]]) -> dict[str, Any]:
    """Wire props of the Kubernetes database StatefulSet as the engine sends them."""
    probe = {"exec": {"command": ["sh", "-c", "pg_isready"]}}
    container = {
        "name": "postgres",
        "image": image,
        "env": env,
        "readinessProbe": probe,
        "livenessProbe": probe,
    }
    return {
        "metadata": {"name": "database", "namespace": "dev"},
        "spec": {
            "template": {
                "metadata": {"labels": {"appstack.role": "database"}},
                "spec": {"containers": [container]},
            }
        },
    }


def analyze_statefulset(pack: RecordedPack, props: dict[str, Any]) -> list[Any]:
    type_, name = "kubernetes:apps/v1:StatefulSet", "appstack-database-statefulset"
    request = analyzer_pb2.AnalyzeRequest(
        type=type_, name=name, urn=urn("dev", "database", type_, name), properties=struct(props)
    )
    return list(servicer(pack).Analyze(request, None).diagnostics)


def test_the_pack_judges_a_kubernetes_database_workload(pack: RecordedPack) -> None:
    by_secret = [
        {"name": "POSTGRES_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}}
    ]
    assert (
        analyze_statefulset(pack, database_statefulset("pgvector/pgvector:pg17", by_secret)) == []
    )
    refused = analyze_statefulset(pack, database_statefulset("postgres:15-alpine", by_secret))
    assert [d.policyName for d in refused] == ["pgvector-only"]
    # A literal credential in the pod spec is refused by the stack policy, secret in state or not.
    literal = [{"name": "POSTGRES_PASSWORD", "value": secret("hunter2-hunter2")}]
    type_, name = "kubernetes:apps/v1:StatefulSet", "appstack-database-statefulset"
    request = analyzer_pb2.AnalyzeStackRequest(
        resources=[
            analyzer_pb2.AnalyzerResource(
                type=type_,
                name=name,
                urn=urn("dev", "database", type_, name),
                properties=struct(database_statefulset("pgvector/pgvector:pg17", literal)),
            )
        ]
    )
    leaked = list(servicer(pack).AnalyzeStack(request, None).diagnostics)
    assert [d.policyName for d in leaked] == ["no-plaintext-secrets"]
    assert "secretKeyRef" in leaked[0].message and "hunter2" not in leaked[0].message
