"""The policies on Kubernetes resources: the ci-k8s graph is clean, and each hostile change to
it (a postgres image, an unpinned tag, a missing probe, a literal password, an unprotected claim
in prod) is refused with the rule that says why."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest

from appstack.graph import ProgramRun
from policies import (
    data_kept_in_prod,
    health_checks,
    no_plaintext_secrets,
    pgvector_only,
    pinned_images,
)
from policies.check import main, to_policy_resource
from policies.evaluate import evaluate
from policies.model import PolicyContext, Resource
from tests.stacks import run_stack

DATABASE = "appstack-database-statefulset"
BACKEND = "appstack-backend-deployment"
JOB = "appstack-migration-job"
CLAIM = "appstack-database-data"


@pytest.fixture(scope="module")
def graph() -> ProgramRun:
    return run_stack("ci-k8s", preview=True)


def resource(graph: ProgramRun, name: str) -> Resource:
    return to_policy_resource(graph.named(name))


def with_container(res: Resource, **changes: Any) -> Resource:
    """The workload with its first container changed (None removes a field)."""
    props = copy.deepcopy(dict(res.props))
    container = props["spec"]["template"]["spec"]["containers"][0]
    for key, value in changes.items():
        if value is None:
            container.pop(key, None)
        else:
            container[key] = value
    return replace(res, props=props)


def ctx(stack: str = "ci-k8s") -> PolicyContext:
    return PolicyContext(stack=stack)


def test_the_ci_k8s_preview_is_clean_under_every_policy(graph: ProgramRun) -> None:
    resources = [to_policy_resource(r) for r in graph.resources]
    assert evaluate(resources, "ci-k8s", graph.outputs, graph.secret_outputs) == []
    assert main(["--stack", "ci-k8s"]) == 0


@pytest.mark.parametrize(
    "image", ["postgres:15-alpine", "postgres:16-pgvector", "bitnami/postgresql:16"]
)
def test_a_database_statefulset_without_pgvector_is_refused(graph: ProgramRun, image: str) -> None:
    hostile = with_container(resource(graph, DATABASE), image=image)
    [violation] = pgvector_only.check(hostile, ctx())
    assert violation.mandatory and "is not a pgvector image" in violation.message
    assert "pod template containers[0] image" in violation.message


def test_a_postgres_image_in_any_workload_is_refused(graph: ProgramRun) -> None:
    hostile = with_container(resource(graph, BACKEND), image="postgres:17")
    [violation] = pgvector_only.check(hostile, ctx())
    assert "is a PostgreSQL image" in violation.message


def test_the_database_image_set_to_postgres_fails_the_stack_check(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--stack", "ci-k8s", "--set", "database.image=postgres:15-alpine"]) == 1
    assert "pgvector-only: appstack-database-statefulset" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("image", "why"), [("redis", "without a tag"), ("redis:latest", "'latest' moves")]
)
def test_unpinned_images_are_refused(graph: ProgramRun, image: str, why: str) -> None:
    hostile = with_container(resource(graph, BACKEND), image=image)
    [violation] = pinned_images.check(hostile, ctx())
    assert why in violation.message


def test_in_prod_a_workload_image_needs_a_digest(graph: ProgramRun) -> None:
    [violation] = pinned_images.check(resource(graph, BACKEND), ctx("prod"))
    assert "in production without a digest" in violation.message


@pytest.mark.parametrize("probe", ["readinessProbe", "livenessProbe"])
def test_a_long_running_container_without_a_probe_is_refused(graph: ProgramRun, probe: str) -> None:
    hostile = with_container(resource(graph, BACKEND), **{probe: None})
    [violation] = health_checks.check(hostile, ctx())
    assert f"containers[0] has no {probe}" in violation.message


def test_a_job_runs_to_completion_and_needs_no_probe(graph: ProgramRun) -> None:
    job = resource(graph, JOB)
    assert health_checks.check(job, ctx()) == []


def test_a_literal_credential_in_a_pod_spec_is_refused_even_when_secret_in_state(
    graph: ProgramRun,
) -> None:
    original = resource(graph, DATABASE)
    env = copy.deepcopy(original.props["spec"]["template"]["spec"]["containers"][0]["env"])
    env[1] = {"name": "POSTGRES_PASSWORD", "value": "hunter2-hunter2"}
    hostile = replace(with_container(original, env=env), secret_props=frozenset({"spec"}))
    [violation] = no_plaintext_secrets.check(hostile, ctx())
    assert "POSTGRES_PASSWORD" in violation.message and "secretKeyRef" in violation.message
    assert "hunter2" not in violation.message
    url = [{"name": "APP_SETTINGS", "value": "postgresql://app:pw123456@db:5432/app"}]
    [violation] = no_plaintext_secrets.check(with_container(original, env=url), ctx())
    assert "APP_SETTINGS" in violation.message


def test_a_secret_key_ref_is_no_plain_text(graph: ProgramRun) -> None:
    assert no_plaintext_secrets.check(resource(graph, BACKEND), ctx()) == []


def test_a_data_claim_in_prod_must_be_protected_and_kept(graph: ProgramRun) -> None:
    claim = resource(graph, CLAIM)
    [violation] = data_kept_in_prod.check(replace(claim, retain_on_delete=False), ctx("prod"))
    assert "lacks protect=True and retain_on_delete=True" in violation.message
    kept = replace(claim, protect=True, retain_on_delete=True)
    assert data_kept_in_prod.check(kept, ctx("prod")) == []
