"""A program of its own shape on Kubernetes, its pods on the cluster's network (no hostNetwork).

Run by tests/e2e/test_k8s_pod_network.py under the real CLI and plugins against the local cluster.
A database (pgvector), Redis and MinIO with one bucket, from appstack's Kubernetes components with
`host_network=False`: the deploying machine reaches them only through the `PortForward` this
program holds open (kubectl port-forward through the API server and the kubelet), which is how
the pgvector check and the bucket provider get to them. The cluster is the machine's own
kubeconfig ($KUBECONFIG), the namespace and ports come from the stack config. With
`impostorImage` set, a second database runs that image, which claims to be pgvector and is not.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from appstack.k8s.cache import KubernetesCache, KubernetesCacheArgs
from appstack.k8s.database import KubernetesDatabase, KubernetesDatabaseArgs
from appstack.k8s.object_store import KubernetesObjectStore, KubernetesObjectStoreArgs
from appstack.k8s.port_forward import ClusterAccess, PortForward
from appstack.object_store import BucketSpec

config = pulumi.Config()
namespace_name = config.require("namespace")
ports: dict[str, int] = config.require_object("ports")
images: dict[str, str] = config.require_object("images")
impostor = config.get("impostorImage")

provider = k8s.Provider("cluster", namespace=namespace_name)
namespace = k8s.core.v1.Namespace(
    "namespace",
    metadata={"name": namespace_name},
    opts=pulumi.ResourceOptions(provider=provider),
)
forward = PortForward(ClusterAccess(namespace=namespace_name))
shared: dict[str, Any] = {
    "provider": provider,
    "namespace": namespace.metadata["name"],
    "host_network": False,
    "port_forward": forward,
    "storage_class": "local",
    "storage_size": "1Gi",
    "protect_data": False,
    "retain_data_on_delete": False,
    "image_pull_policy": "Never",
    "requests": {"cpu": "50m", "memory": "64Mi"},
    "limits": {"memory": "512Mi"},
}

orders = KubernetesDatabase(
    "orders",
    KubernetesDatabaseArgs(
        object_name="orders", image=images["database"], port=ports["database"], **shared
    ),
)
cache = KubernetesCache(
    "cache",
    KubernetesCacheArgs(
        object_name="cache", image=images["cache"], port=ports["cache"], persistence=False, **shared
    ),
)
files = KubernetesObjectStore(
    "files",
    KubernetesObjectStoreArgs(
        object_name="files",
        image=images["objectStore"],
        port=ports["objectStore"],
        console_port=ports["console"],
        buckets=[BucketSpec(role="uploads", expiration_days=7)],
        bucket_prefix=f"{namespace_name}-files",
        force_destroy=True,
        **shared,
    ),
)
if impostor:
    KubernetesDatabase(
        "legacy",
        KubernetesDatabaseArgs(
            object_name="legacy", image=impostor, port=ports["legacy"], **shared
        ),
    )

pulumi.export("dsn", orders.dsn)
pulumi.export("pgvector", orders.pgvector_version)
pulumi.export("redis", cache.url)
pulumi.export("endpoint", files.endpoint)
pulumi.export("internalEndpoint", files.internal_endpoint)
pulumi.export("accessKey", files.access_key)
pulumi.export("secretKey", files.secret_key)
pulumi.export("buckets", files.bucket_names)
