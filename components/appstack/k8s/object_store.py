"""ObjectStore on Kubernetes: the MinIO server, its data claim, and its buckets.

Creates the generated root credentials in a Secret `{object}-credentials` (with the `mc` alias
the readiness probe uses), the data claim `{object}-data` (protected and kept on delete where the
Args say so), a one-replica Deployment (Recreate: one pod holds the claim and the node ports) with
exec probes, a Service, and one `Bucket` per declared bucket through the same dynamic provider as
the Docker target, reaching MinIO from the deploying machine (on the node's address, or through
the port-forward) once the Deployment is ready.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from appstack import common as docker_common
from appstack.bucket import stale_uploads_expiry
from appstack.contract import component_type
from appstack.defaults import section
from appstack.k8s import common
from appstack.object_store import (
    DATA_PATH,
    BucketSpec,
    BucketTarget,
    declare_buckets,
    lifecycle_rules,
)
from appstack.validation import Problems

_DEFAULTS = section("objectStore")
ACCESS_KEY = "access-key"
SECRET_KEY = "secret-key"
MC_HOST_KEY = "mc-host"


@dataclass(kw_only=True)
class KubernetesObjectStoreArgs(common.KubernetesStatefulArgs):
    """MinIO: image, ports, and the buckets it holds."""

    image: str = _DEFAULTS["image"]
    port: int = _DEFAULTS["port"]
    console_port: int = _DEFAULTS["consolePort"]
    buckets: Sequence[BucketSpec] = field(default_factory=tuple)
    bucket_prefix: str | None = None
    """The first part of every bucket name. Default `{environment}-{name}`."""
    force_destroy: bool = _DEFAULTS["forceDestroy"]
    data_owner: str | None = "minio"


class KubernetesObjectStore(pulumi.ComponentResource):
    """MinIO as a Deployment, its claim, Secret, Service and buckets."""

    endpoint: pulumi.Output[str]
    """`host:port` of the S3 API from the deploying machine."""
    internal_endpoint: pulumi.Output[str]
    """`host:port` of the S3 API from other pods (its Service, or the node's address)."""
    access_key: pulumi.Output[str]
    secret_key: pulumi.Output[str]
    credentials_secret: pulumi.Output[str]
    """The name of the Secret holding `access-key` and `secret-key`."""
    bucket_names: dict[str, pulumi.Output[str]]
    bucket_config: dict[str, pulumi.Output[dict[str, Any]]]

    def __init__(
        self,
        name: str,
        args: KubernetesObjectStoreArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        problems = Problems(f"KubernetesObjectStore {name!r}")
        ident = common.identify(name, args, problems)
        problems.image("image", args.image)
        problems.port("port", args.port)
        problems.port("console_port", args.console_port)
        problems.flag("force_destroy", args.force_destroy)
        for index, bucket in enumerate(args.buckets):
            if not isinstance(bucket, BucketSpec):
                problems.bad(f"buckets[{index}]", "a BucketSpec", bucket)
        problems.raise_if_any()

        super().__init__(component_type("KubernetesObjectStore"), name, None, opts)
        port = args.port
        host, local_port = common.deployer_endpoint(args, ident, port)
        in_pod = common.pod_local_address(args)
        listen = common.listen_address(args)
        prefix = args.bucket_prefix or f"{ident.environment}-{name}"
        access_key = docker_common.generated_secret(f"{name}-access-key", 20, self)
        secret_key = docker_common.generated_secret(f"{name}-secret-key", 40, self)
        secret = common.credentials_secret(
            f"{name}-credentials",
            ident,
            "objectstore",
            args,
            {
                ACCESS_KEY: access_key.result,
                SECRET_KEY: secret_key.result,
                MC_HOST_KEY: pulumi.Output.concat(
                    "http://", access_key.result, ":", secret_key.result, f"@{in_pod}:{port}"
                ),
            },
            self,
        )
        claim = common.data_claim(f"{name}-data", ident, "objectstore-data", args, self)
        rules = {bucket.role: lifecycle_rules(bucket) for bucket in args.buckets}
        secret_name = secret.metadata["name"]
        pod_labels = common.labels(ident, "objectstore")
        minio = common.container(
            args,
            "minio",
            args.image,
            env=[
                common.secret_env("MINIO_ROOT_USER", secret_name, ACCESS_KEY),
                common.secret_env("MINIO_ROOT_PASSWORD", secret_name, SECRET_KEY),
                common.secret_env("MC_HOST_local", secret_name, MC_HOST_KEY),
                common.plain_env("MINIO_BROWSER_REDIRECT", "false"),
                common.plain_env(
                    "MINIO_API_STALE_UPLOADS_EXPIRY", stale_uploads_expiry(rules.values())
                ),
            ],
            args_=[
                "server",
                DATA_PATH,
                "--address",
                f"{listen}:{port}",
                "--console-address",
                f"{listen}:{args.console_port}",
            ],
            probe_command=["sh", "-c", "mc ready local"],
            volume_mounts=[{"name": "data", "mount_path": DATA_PATH}],
        )
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=common.deployment_metadata(args, ident.object_name, pod_labels, 1),
            spec={
                "replicas": 1,
                "strategy": {"type": "Recreate"},
                **common.pods(
                    ident,
                    pod_labels,
                    common.data_pod_spec(args, [minio], args.image, claim, DATA_PATH),
                ),
            },
            opts=common.options(args, self),
        )
        common.service(
            f"{name}-service",
            ident,
            "objectstore",
            args,
            {"s3": port, "console": args.console_port},
            self,
        )
        self.endpoint = pulumi.Output.from_input(f"{host}:{local_port}")
        self.internal_endpoint = pulumi.Output.concat(common.cluster_host(args, ident), f":{port}")
        self.access_key = docker_common.secret(access_key.result)
        self.secret_key = docker_common.secret(secret_key.result)
        self.credentials_secret = secret_name
        self.buckets, self.bucket_names, self.bucket_config = declare_buckets(
            name,
            BucketTarget(
                prefix=prefix,
                environment=ident.environment,
                endpoint=self.endpoint,
                access_key=self.access_key,
                secret_key=self.secret_key,
                force_destroy=args.force_destroy,
            ),
            args.buckets,
            pulumi.ResourceOptions(
                parent=self,
                depends_on=[deployment],
                protect=args.protect_data,
                retain_on_delete=args.retain_data_on_delete,
            ),
        )
        self.register_outputs(
            {
                "endpoint": self.endpoint,
                "accessKey": self.access_key,
                "secretKey": self.secret_key,
                "buckets": self.bucket_names,
                "bucketConfig": self.bucket_config,
            }
        )
