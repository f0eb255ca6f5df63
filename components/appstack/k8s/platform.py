"""KubernetesPlatform: the whole environment of a stack whose `appstack:target` is kubernetes.

The same order and guarantees as the Docker `Platform`: Database (ready, pgvector verified) ->
Cache, ObjectStore (ready, buckets) -> Migration Job (for the backend's exact image) -> Backend
Deployment. One explicit `kubernetes.Provider` for the stack (the kubeconfig given as a secret, or
a context of the deploying machine's kubeconfig) and one Namespace hold everything. Without
`hostNetwork`, the deploying machine reaches the services through one `PortForward` (kubectl
port-forwards listening on `kubernetes.connectAddress`), open until the program exits. The outputs
have the Docker platform's shape, so verification, promotion and the preview renderer read them
alike.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from appstack.common import HealthCheck
from appstack.contract import component_type
from appstack.k8s.backend import KubernetesBackend, KubernetesBackendArgs, SecretKey
from appstack.k8s.cache import KubernetesCache, KubernetesCacheArgs
from appstack.k8s.database import KubernetesDatabase, KubernetesDatabaseArgs
from appstack.k8s.migration import KubernetesMigration, KubernetesMigrationArgs
from appstack.k8s.object_store import (
    ACCESS_KEY,
    SECRET_KEY,
    KubernetesObjectStore,
    KubernetesObjectStoreArgs,
)
from appstack.k8s.port_forward import PortForward, cluster_port_forward
from appstack.preflight import under_mocks
from appstack.role_args import cache_fields, database_fields, object_store_fields
from appstack.settings import KubernetesSettings, Settings
from appstack.stack_outputs import stack_outputs


def kubernetes_provider(
    name: str, cluster: KubernetesSettings, opts: pulumi.ResourceOptions
) -> k8s.Provider:
    """The stack's one provider: its kubeconfig (kept secret), or a context, and its namespace."""
    kubeconfig = pulumi.Output.secret(cluster.kubeconfig) if cluster.kubeconfig else None
    return k8s.Provider(
        name,
        kubeconfig=kubeconfig,
        context=cluster.context or None,
        namespace=cluster.namespace,
        opts=opts,
    )


class KubernetesPlatform(pulumi.ComponentResource):
    """Every component of one environment on a Kubernetes cluster."""

    outputs: dict[str, Any]
    port_forward: PortForward | None
    """How this machine reaches the services (None with hostNetwork); open until closed or the
    program exits."""

    def __init__(
        self,
        name: str,
        settings: Settings,
        opts: pulumi.ResourceOptions | None = None,
        port_forward: PortForward | None = None,
    ) -> None:
        cluster, image = settings.kubernetes, settings.backend.image
        if cluster is None or image is None:
            raise ValueError("KubernetesPlatform needs kubernetes settings and a backend image")
        if cluster.host_network:
            port_forward = None
        elif port_forward is None:
            # Under mocks (`make check`, `policies.check`) nothing listens, as no tunnel opens.
            port_forward = cluster_port_forward(cluster, listen=not under_mocks())
        self.port_forward = port_forward
        super().__init__(component_type("KubernetesPlatform"), name, None, opts)
        env = settings.environment
        self.provider = kubernetes_provider(
            f"{name}-kubernetes", cluster, pulumi.ResourceOptions(parent=self)
        )
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": cluster.namespace, "labels": {"appstack.environment": env}},
            # Deleting a namespace deletes every claim in it: it is kept where the data is.
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=self.provider,
                protect=settings.data.protect,
                retain_on_delete=settings.data.retain_on_delete,
            ),
        )
        shared: dict[str, Any] = {
            "provider": self.provider,
            "namespace": self.namespace.metadata["name"],
            "environment": env,
            "host_network": cluster.host_network,
            "port_forward": port_forward,
            "bind_address": settings.network.bind_address,
            "requests": dict(cluster.requests),
            "limits": dict(cluster.limits),
            "image_pull_policy": cluster.image_pull_policy,
            "health": HealthCheck(
                interval=settings.health.interval,
                timeout=settings.health.timeout,
                start_period=settings.health.start_period,
                retries=settings.health.retries,
                wait_timeout_seconds=settings.health.wait_timeout_seconds,
            ),
        }
        stateful: dict[str, Any] = {
            **shared,
            "storage_class": cluster.storage_class or None,
            "storage_size": cluster.storage_size,
            "protect_data": settings.data.protect,
            "retain_data_on_delete": settings.data.retain_on_delete,
        }
        child = pulumi.ResourceOptions(parent=self)
        self.database = KubernetesDatabase(
            f"{name}-database",
            KubernetesDatabaseArgs(object_name="database", **database_fields(settings), **stateful),
            child,
        )
        self.cache = KubernetesCache(
            f"{name}-cache",
            KubernetesCacheArgs(object_name="cache", **cache_fields(settings), **stateful),
            child,
        )
        self.object_store = KubernetesObjectStore(
            f"{name}-objectstore",
            KubernetesObjectStoreArgs(
                object_name="objectstore", **object_store_fields(settings), **stateful
            ),
            child,
        )
        backend = settings.backend
        self.migration = KubernetesMigration(
            f"{name}-migration",
            KubernetesMigrationArgs(
                object_name="migration",
                image=image,
                database_url_secret=self.database.credentials_secret,
                database_dsn=self.database.dsn,
                migration_command=backend.migration_command,
                **shared,
            ),
            pulumi.ResourceOptions(parent=self, depends_on=[self.database.ready]),
        )
        store = self.object_store
        plain: dict[str, pulumi.Input[str]] = {
            "S3_ENDPOINT": store.internal_endpoint,
            "S3_SECURE": "false",
        }
        for role, bucket_name in store.bucket_names.items():
            plain[f"S3_BUCKET_{role.upper().replace('-', '_')}"] = bucket_name
        self.backend = KubernetesBackend(
            f"{name}-backend",
            KubernetesBackendArgs(
                object_name="backend",
                image=image,
                environment_variables=plain,
                secret_variables={
                    "DATABASE_URL": SecretKey(self.database.credentials_secret, "url"),
                    "REDIS_URL": SecretKey(self.cache.credentials_secret, "url"),
                    "S3_ACCESS_KEY": SecretKey(store.credentials_secret, ACCESS_KEY),
                    "S3_SECRET_KEY": SecretKey(store.credentials_secret, SECRET_KEY),
                },
                port=backend.port,
                replicas=cluster.replicas,
                cors_origins=backend.cors_origins,
                health_path=backend.health_path,
                read_only_root_filesystem=backend.read_only_root_filesystem,
                **shared,
            ),
            pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.migration.run, self.cache.deployment, *store.buckets],
            ),
        )
        self.outputs = {
            **stack_outputs(
                settings,
                database=self.database,
                cache=self.cache,
                store=store,
                backend_url=self.backend.url,
                backend_image=image,
                backend_image_id=image,
                migration_revision=self.migration.revision,
            ),
            "target": "kubernetes",
            "kubernetes": {"namespace": self.namespace.metadata["name"]},
        }
        self.register_outputs(self.outputs)
