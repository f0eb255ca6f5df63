"""Kubernetes-test program: one Redis, the way the platform's stateful services will run there.

Copied into a temporary Pulumi project by tests/k8s/test_cluster_engine.py and run by the real
Pulumi CLI with the pulumi-kubernetes plugin against the local cluster. A Namespace, the password
as a Secret (reaching the container through a secretKeyRef, never as a literal), a PVC of the
cluster's "local" class, a Deployment (hostNetwork on 127.0.0.1, an exec readiness probe, an init
container that hands the volume to the redis user) and a Service. The kubeconfig and the password
are secret stack config.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

config = pulumi.Config()
namespace_name = config.require("namespace")
port = config.require_int("port")
image = config.require("image")

provider = k8s.Provider("local", kubeconfig=config.require_secret("kubeconfig"))
opts = pulumi.ResourceOptions(provider=provider)
labels = {"app": "redis"}

namespace = k8s.core.v1.Namespace("ns", metadata={"name": namespace_name}, opts=opts)
in_namespace = {"namespace": namespace.metadata["name"]}

secret = k8s.core.v1.Secret(
    "redis-password",
    metadata={**in_namespace, "name": "redis-password"},
    string_data={"password": config.require_secret("password")},
    opts=opts,
)
claim = k8s.core.v1.PersistentVolumeClaim(
    "redis-data",
    metadata={**in_namespace, "name": "redis-data"},
    spec={
        "storage_class_name": "local",
        "access_modes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "1Gi"}},
    },
    # The "local" class binds on first use, so the claim is Pending until the pod is scheduled;
    # the Deployment names it by a plain string so that the two are created side by side.
    opts=pulumi.ResourceOptions(provider=provider, depends_on=[namespace]),
)
deployment = k8s.apps.v1.Deployment(
    "redis",
    metadata={**in_namespace, "name": "redis"},
    spec={
        "replicas": 1,
        # hostNetwork binds a fixed port: the old pod must be gone before the new one starts.
        "strategy": {"type": "Recreate"},
        "selector": {"match_labels": labels},
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                "host_network": True,
                "dns_policy": "ClusterFirstWithHostNet",
                "termination_grace_period_seconds": 5,
                "automount_service_account_token": False,
                "init_containers": [
                    {
                        "name": "data-owner",
                        "image": image,
                        "image_pull_policy": "Never",
                        "command": ["chown", "999:999", "/data"],
                        "security_context": {"run_as_user": 0},
                        "volume_mounts": [{"name": "data", "mount_path": "/data"}],
                    }
                ],
                "containers": [
                    {
                        "name": "redis",
                        "image": image,
                        "image_pull_policy": "Never",
                        "env": [
                            {"name": "REDIS_BIND", "value": "127.0.0.1"},
                            {"name": "REDIS_PORT", "value": str(port)},
                            {
                                "name": "REDIS_PASSWORD",
                                "value_from": {
                                    "secret_key_ref": {
                                        "name": secret.metadata["name"],
                                        "key": "password",
                                    }
                                },
                            },
                        ],
                        "readiness_probe": {
                            "exec": {"command": ["redis-healthcheck"]},
                            "period_seconds": 1,
                            "failure_threshold": 30,
                        },
                        "volume_mounts": [{"name": "data", "mount_path": "/data"}],
                    }
                ],
                "volumes": [
                    {"name": "data", "persistent_volume_claim": {"claim_name": "redis-data"}}
                ],
            },
        },
    },
    opts=opts,
)
service = k8s.core.v1.Service(
    "redis",
    metadata={**in_namespace, "name": "redis"},
    spec={"selector": labels, "ports": [{"port": port, "target_port": port}]},
    opts=pulumi.ResourceOptions(provider=provider, depends_on=[deployment]),
)

pulumi.export("ready_replicas", deployment.status["ready_replicas"])
pulumi.export("service_name", service.metadata["name"])
