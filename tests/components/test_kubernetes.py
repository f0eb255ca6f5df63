"""The Kubernetes components alone and as the ci-k8s platform, under mocks: children, names,
pod specs (credentials only by secretKeyRef, exec probes, resources), order and data options."""

from __future__ import annotations

import json
import logging
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from appstack.contract import BUCKET, PGVECTOR_EXTENSION, RANDOM_PASSWORD, component_type
from appstack.graph import ProgramRun, RecordedResource
from appstack.k8s.backend import KubernetesBackend, KubernetesBackendArgs, SecretKey
from appstack.k8s.cache import KubernetesCache, KubernetesCacheArgs
from appstack.k8s.database import KubernetesDatabase, KubernetesDatabaseArgs
from appstack.k8s.migration import KubernetesMigration, KubernetesMigrationArgs, job_name
from appstack.k8s.object_store import KubernetesObjectStore, KubernetesObjectStoreArgs
from appstack.object_store import BucketSpec
from appstack.validation import ArgsError
from tests.components.helpers import build, children
from tests.stacks import run_stack

STATEFULSET = "kubernetes:apps/v1:StatefulSet"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
JOB = "kubernetes:batch/v1:Job"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
SECRET = "kubernetes:core/v1:Secret"
SERVICE = "kubernetes:core/v1:Service"
NAMESPACE = "kubernetes:core/v1:Namespace"
PROVIDER = "pulumi:providers:kubernetes"


def shared() -> dict[str, Any]:
    """The shared Args of a component in namespace `qa`, through an explicit provider."""
    return {"provider": k8s.Provider("cluster", context="test"), "namespace": "qa"}


def pod(resource: RecordedResource) -> dict[str, Any]:
    spec: dict[str, Any] = resource.inputs["spec"]["template"]["spec"]
    return spec


def only_container(resource: RecordedResource) -> dict[str, Any]:
    containers = pod(resource)["containers"]
    assert len(containers) == 1
    container: dict[str, Any] = containers[0]
    return container


def env(container: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item for item in container["env"]}


def test_the_database_is_a_statefulset_with_claim_secret_service_and_pgvector_check() -> None:
    def program() -> None:
        KubernetesDatabase(
            "db",
            KubernetesDatabaseArgs(
                image="pgvector/pgvector:pg17", port=25432, storage_class="local", **shared()
            ),
        )

    run = build(program)
    component = run.named("db")
    assert component.type == component_type("KubernetesDatabase")
    assert children(run, component) == {
        "db-password": RANDOM_PASSWORD,
        "db-credentials": SECRET,
        "db-data": PVC,
        "db-statefulset": STATEFULSET,
        "db-service": SERVICE,
        "db-pgvector": PGVECTOR_EXTENSION,
    }
    statefulset = run.named("db-statefulset")
    server = only_container(statefulset)
    assert server["image"] == "pgvector/pgvector:pg17"
    assert env(server)["POSTGRES_PASSWORD"] == {
        "name": "POSTGRES_PASSWORD",
        "valueFrom": {"secretKeyRef": {"name": "db-credentials", "key": "password"}},
    }
    assert server["readinessProbe"]["exec"]["command"][-1].startswith("pg_isready")
    assert server["livenessProbe"]["exec"] == server["readinessProbe"]["exec"]
    assert server["resources"] == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"memory": "512Mi"},
    }
    assert pod(statefulset)["hostNetwork"] is True
    assert pod(statefulset)["volumes"][0]["persistentVolumeClaim"] == {"claimName": "db-data"}
    claim = run.named("db-data")
    assert claim.inputs["spec"]["storageClassName"] == "local"
    assert claim.inputs["metadata"]["labels"]["appstack.role"] == "database-data"
    check = run.named("db-pgvector")
    assert (check.inputs["host"], check.inputs["port"]) == ("127.0.0.1", 25432)
    assert statefulset.urn in check.dependencies
    assert run.named("db-credentials").secret_inputs == {"stringData"}
    # Every Kubernetes object goes through the provider the caller gave.
    provider = run.named("cluster")
    for resource in run.resources:
        if resource.type.startswith("kubernetes:"):
            assert resource.provider.startswith(provider.urn), resource.name


@pytest.mark.parametrize(("protect", "retain"), [(True, True), (False, False), (False, True)])
def test_data_claims_are_protected_and_kept_as_the_args_say(protect: bool, retain: bool) -> None:
    def program() -> None:
        args = {**shared(), "protect_data": protect, "retain_data_on_delete": retain}
        KubernetesDatabase("db", KubernetesDatabaseArgs(**args))
        KubernetesCache("cache", KubernetesCacheArgs(persistence=True, port=6380, **args))
        KubernetesObjectStore(
            "store", KubernetesObjectStoreArgs(buckets=[BucketSpec(role="assets")], **args)
        )

    run = build(program)
    stateful = run.by_type(PVC) + run.by_type(BUCKET)
    assert sorted(r.name for r in stateful) == [
        "cache-data",
        "db-data",
        "store-bucket-assets",
        "store-data",
    ]
    for resource in stateful:
        assert (resource.protect, resource.retain_on_delete) == (protect, retain), resource.name
    for resource in run.by_type(STATEFULSET) + run.by_type(DEPLOYMENT) + run.by_type(SECRET):
        assert not resource.protect and not resource.retain_on_delete


def test_no_pod_holds_a_credential_as_a_literal_value() -> None:
    run = run_stack("ci-k8s")
    credentials = {
        "POSTGRES_PASSWORD",
        "REDISCLI_AUTH",
        "MINIO_ROOT_USER",
        "MINIO_ROOT_PASSWORD",
        "MC_HOST_local",
        "DATABASE_URL",
        "REDIS_URL",
        "S3_ACCESS_KEY",
        "S3_SECRET_KEY",
    }
    seen: set[str] = set()
    for resource in run.by_type(STATEFULSET) + run.by_type(DEPLOYMENT) + run.by_type(JOB):
        for container in pod(resource)["containers"]:
            for item in container["env"]:
                if item["name"] in credentials:
                    seen.add(item["name"])
                    assert "value" not in item and "secretKeyRef" in item["valueFrom"]
                else:
                    assert "valueFrom" not in item
    assert seen == credentials


def test_the_ci_k8s_platform_runs_in_order_through_one_provider() -> None:
    run = run_stack("ci-k8s")
    assert [r.name for r in run.by_type(PROVIDER)] == ["appstack-kubernetes"]
    namespace = run.named("appstack-namespace")
    assert namespace.inputs["metadata"]["name"] == "ci-k8s"
    # ci-k8s keeps its data on delete, so its namespace (which would take the claims) stays too.
    assert namespace.retain_on_delete and all(c.retain_on_delete for c in run.by_type(PVC))
    provider = run.named("appstack-kubernetes")
    for resource in run.resources:
        if resource.type.startswith("kubernetes:"):
            assert resource.provider.startswith(provider.urn), resource.name
    job, backend = run.named("appstack-migration-job"), run.named("appstack-backend-deployment")
    assert run.named("appstack-database-pgvector").urn in job.dependencies
    assert job.urn in backend.dependencies
    assert run.named("appstack-cache-deployment").urn in backend.dependencies
    for bucket in run.by_type(BUCKET):
        assert bucket.urn in backend.dependencies
        assert bucket.inputs["endpoint"] == "127.0.0.1:39000"
    assert run.outputs["backend"]["url"] == "http://127.0.0.1:38000"
    assert run.outputs["database"]["host"] == "127.0.0.1"


def test_the_backend_deployment_has_probes_replicas_and_a_rolling_update() -> None:
    run = run_stack("ci-k8s")
    deployment = run.named("appstack-backend-deployment")
    spec = deployment.inputs["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1},
    }
    # up returns only once every counted pod is of the new template and ready.
    assert json.loads(deployment.inputs["metadata"]["annotations"]["pulumi.com/waitFor"]) == [
        "jsonpath={.status.replicas}=1",
        "jsonpath={.status.updatedReplicas}=1",
        "jsonpath={.status.readyReplicas}=1",
        "jsonpath={.status.availableReplicas}=1",
    ]
    app = only_container(deployment)
    assert app["image"] == "appstack/backend:ci"
    assert app["imagePullPolicy"] == "Never"
    for probe in ("readinessProbe", "livenessProbe"):
        assert app[probe]["exec"]["command"][-1] == "http://127.0.0.1:38000/health"
    assert app["securityContext"]["readOnlyRootFilesystem"] is True
    assert env(app)["PYTHONDONTWRITEBYTECODE"]["value"] == "1"


def test_the_migration_job_is_named_after_the_image_so_a_new_image_reruns_it() -> None:
    command = ["alembic", "upgrade", "head"]
    first = job_name("migration", "appstack/backend:1", command)
    assert first == job_name("migration", "appstack/backend:1", command)
    assert first != job_name("migration", "appstack/backend:2", command)
    assert first != job_name("migration", "appstack/backend:1", ["alembic", "upgrade", "+1"])

    def program() -> None:
        KubernetesMigration(
            "migration",
            KubernetesMigrationArgs(
                image="appstack/backend:1",
                database_url_secret="db-credentials",
                database_dsn=pulumi.Output.secret("postgresql://u:p@127.0.0.1:5432/app"),
                **shared(),
            ),
        )

    run = build(program)
    job = run.named("migration-job")
    assert job.inputs["metadata"]["name"] == first
    assert job.inputs["spec"]["backoffLimit"] == 0
    assert pod(job)["restartPolicy"] == "Never"
    assert only_container(job)["args"] == command  # as `docker run IMAGE CMD...` gives it
    revision = run.named("migration-revision")
    assert job.urn in revision.dependencies
    assert "environment" in revision.secret_inputs


@pytest.mark.parametrize(
    ("image", "pull", "refused"),
    [
        ("appstack/backend:1", "Always", True),
        ("appstack/backend:1", "IfNotPresent", False),
        ("appstack/backend:1", "Never", False),
        ("appstack/backend@sha256:" + "a" * 64, "Always", False),
    ],
)
def test_a_tag_the_node_pulls_again_is_refused_because_the_job_would_not_rerun(
    image: str, pull: str, refused: bool
) -> None:
    def program() -> None:
        KubernetesMigration(
            "migration",
            KubernetesMigrationArgs(
                image=image,
                image_pull_policy=pull,
                database_url_secret="db-credentials",
                database_dsn=pulumi.Output.secret("postgresql://u:p@127.0.0.1:5432/app"),
                **shared(),
            ),
        )

    if refused:
        with pytest.raises(ArgsError, match=r"image: expected pinned by digest .* Always"):
            build(program)
    else:
        assert (
            build(program)
            .named("migration-job")
            .inputs["metadata"]["name"]
            .startswith("migration-")
        )


@pytest.mark.parametrize(
    ("image", "pull", "warned"),
    [
        ("appstack/backend:1", "IfNotPresent", True),
        ("appstack/backend:1", "Never", False),
        ("appstack/backend@sha256:" + "a" * 64, "IfNotPresent", False),
    ],
)
def test_a_tag_a_new_node_may_pull_anew_is_warned_about(
    image: str, pull: str, warned: bool, caplog: pytest.LogCaptureFixture
) -> None:
    def program() -> None:
        KubernetesMigration(
            "migration",
            KubernetesMigrationArgs(
                image=image,
                image_pull_policy=pull,
                database_url_secret="db-credentials",
                database_dsn=pulumi.Output.secret("postgresql://u:p@127.0.0.1:5432/app"),
                **shared(),
            ),
        )

    with caplog.at_level(logging.WARNING):
        build(program)
    warnings = [
        r.getMessage() for r in caplog.records if "without a new migration Job" in r.getMessage()
    ]
    assert bool(warnings) is warned, caplog.records


def test_a_backend_credential_cannot_also_be_plain() -> None:
    def program() -> None:
        KubernetesBackend(
            "api",
            KubernetesBackendArgs(
                image="appstack/backend:1",
                environment_variables={"DATABASE_URL": "postgresql://x"},
                secret_variables={"DATABASE_URL": SecretKey("db", "url")},
                **shared(),
            ),
        )

    with pytest.raises(ArgsError, match=r"secret_variables: expected names not also in"):
        build(program)


def test_bad_args_are_all_named_before_anything_is_created() -> None:
    def program() -> None:
        KubernetesDatabase(
            "db",
            KubernetesDatabaseArgs(
                image="Postgres 15",
                storage_size="big",
                host_network=False,
                requests={"gpu": "1"},
                **shared(),
            ),
        )

    with pytest.raises(ArgsError) as error:
        build(program)
    message = str(error.value)
    for field in ("image:", "storage_size:", "port_forward:", "requests.gpu:"):
        assert field in message


def test_a_cache_without_persistence_keeps_no_claim() -> None:
    def program() -> None:
        KubernetesCache("cache", KubernetesCacheArgs(**shared()))

    run: ProgramRun = build(program)
    assert run.by_type(PVC) == []
    deployment = run.named("cache-deployment")
    assert deployment.inputs["spec"]["strategy"] == {"type": "Recreate"}
    assert pod(deployment)["volumes"] == [{"name": "data", "emptyDir": {}}]


def test_the_data_directory_is_given_to_the_image_user_before_the_server_starts() -> None:
    """A node volume comes owned by root; the pgvector, Redis and MinIO images run as users."""

    def program() -> None:
        KubernetesDatabase("db", KubernetesDatabaseArgs(**shared()))
        KubernetesDatabase("plain", KubernetesDatabaseArgs(data_owner=None, port=5433, **shared()))

    run = build(program)
    [init] = pod(run.named("db-statefulset"))["initContainers"]
    assert (
        init["image"]
        == run.named("db-statefulset").inputs["spec"]["template"]["spec"]["containers"][0]["image"]
    )
    assert init["securityContext"]["runAsUser"] == 0
    assert init["command"][:2] == ["sh", "-c"] and "chown -R postgres:" in init["command"][2]
    assert init["command"][3] == "/var/lib/postgresql/data"
    assert "initContainers" not in pod(run.named("plain-statefulset"))
