"""Migration on Kubernetes: a Job that must complete before the backend rolls out.

The Job `{object}-{hash}` runs the backend image's migration command (default `alembic upgrade
head`) against the database, whose URL reaches it through a secretKeyRef. Its name carries a hash
of the image id and the command, so a new image (or command) makes a new Job, which re-runs the
migration, and a no-op `up` runs nothing. pulumi-kubernetes waits for the Job to complete and
fails the deployment when it fails (no retries: `backoffLimit: 0`); the backend depends on it and
is left as it was, its old ReplicaSet serving. Once the Job completed, the revision the database
is at is read from the deploying machine (`appstack.k8s.revision`). A reference by tag is only
accepted where the node does not pull it again (`IfNotPresent`, `Never`): with `Always`, a tag
moved on the registry would reach the pods without a new Job, so the image must be pinned by
digest there (prod stacks pin every image anyway).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_command as command
import pulumi_kubernetes as k8s

from appstack import common as docker_common
from appstack.contract import component_type
from appstack.defaults import section
from appstack.images import InvalidImageReference, parse_image_reference
from appstack.k8s import common
from appstack.migration import revision_from_stdout, runner_command
from appstack.validation import Problems

_DEFAULTS = section("backend")
JOB_TIMEOUT = "15m"


def _pinned(image: str) -> bool:
    try:
        return parse_image_reference(image).pinned_by_digest
    except InvalidImageReference:
        return True  # reported as an invalid image already


def job_name(object_name: str, image_id: str, migration_command: Sequence[str]) -> str:
    """The Job's name: new exactly when the image or the migration command changes."""
    digest = hashlib.sha256(json.dumps([image_id, list(migration_command)]).encode()).hexdigest()
    return f"{object_name}-{digest[:10]}"


@dataclass(kw_only=True)
class KubernetesMigrationArgs(common.KubernetesArgs):
    """The image whose migrations run, and where the database URL is."""

    image: str
    """The backend image reference; its identity names the Job (plain: known at preview)."""
    database_url_secret: pulumi.Input[str]
    """The Secret holding the in-cluster database URL under `database_url_key`."""
    database_url_key: str = "url"
    database_dsn: pulumi.Input[str]
    """The database URL from the deploying machine, to read the revision reached (secret)."""
    migration_command: Sequence[str] = tuple(_DEFAULTS["migrationCommand"])


class KubernetesMigration(pulumi.ComponentResource):
    """Runs the backend image's migrations once per image, as a Job."""

    revision: pulumi.Output[str]
    job_name: str

    def __init__(
        self, name: str, args: KubernetesMigrationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        problems = Problems(f"KubernetesMigration {name!r}")
        ident = common.identify(name, args, problems)
        problems.image("image", args.image)
        problems.argv("migration_command", args.migration_command)
        if args.image_pull_policy == "Always" and not _pinned(args.image):
            # The Job is named after the reference: a tag moved on the registry would reach the
            # pods at their next pull without a new Job, the migration not re-run.
            problems.bad(
                "image",
                "pinned by digest (image@sha256:...) with image_pull_policy Always, so that a "
                "new image always runs its migration",
                args.image,
            )
        problems.raise_if_any()

        super().__init__(component_type("KubernetesMigration"), name, None, opts)
        self.job_name = job_name(ident.object_name, args.image, args.migration_command)
        if args.image_pull_policy == "IfNotPresent" and not _pinned(args.image):
            pulumi.log.warn(
                f"the backend image {args.image!r} is a tag: if it is moved on the registry, a "
                "node that has no copy yet pulls the new image without a new migration Job. "
                "Pin it by digest (image@sha256:...) on a cluster of more than one node.",
                resource=self,
            )
        pod_labels = common.labels(ident, "migration")
        runner = common.container(
            args,
            "migrate",
            args.image,
            env=[
                common.secret_env("DATABASE_URL", args.database_url_secret, args.database_url_key),
                common.plain_env("PYTHONDONTWRITEBYTECODE", "1"),
                common.plain_env("APPSTACK_ENVIRONMENT", ident.environment),
            ],
            args_=list(args.migration_command),
        )
        # The migration Job: depend on it to start after the schema is at head.
        self.run: k8s.batch.v1.Job = k8s.batch.v1.Job(
            f"{name}-job",
            metadata=common.metadata(args, self.job_name, pod_labels),
            spec={
                "backoff_limit": 0,
                "template": {
                    "metadata": {"labels": pod_labels},
                    "spec": common.pod_spec(args, [runner], restart_policy="Never"),
                },
            },
            opts=pulumi.ResourceOptions.merge(
                docker_common.child_dependencies(self, opts),
                pulumi.ResourceOptions(
                    provider=args.provider,
                    custom_timeouts=pulumi.CustomTimeouts(create=JOB_TIMEOUT, update=JOB_TIMEOUT),
                ),
            ),
        )
        read = command.local.Command(
            f"{name}-revision",
            create=runner_command().replace("appstack.migrate", "appstack.k8s.revision"),
            environment={"DATABASE_URL": pulumi.Output.secret(args.database_dsn)},
            triggers=[self.run.metadata["name"]],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.run]),
        )
        self.revision = read.stdout.apply(revision_from_stdout)
        self.register_outputs({"revision": self.revision})
