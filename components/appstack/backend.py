"""Backend: the application container, wired from the other components' outputs.

Creates the backend image (the configured reference, or in dev a local build of `app/` whose
source hash drives the rebuild), and the container `{env}-backend` whose environment is built
from the database, cache and object store outputs (secret where secret), runs with
`PYTHONDONTWRITEBYTECODE=1` and a read-only root filesystem, a health check on its HTTP health
endpoint, a wait until healthy and a restart policy. It depends on the migration that ran for its
exact image, so it is created or replaced only after that migration succeeded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import pulumi
import pulumi_docker as docker

from components import common
from components.settings import PROJECT_ROOT, Settings

STANDARD_PORT = 8000
HEALTH_PROBE = (
    "import sys, urllib.request\n"
    "with urllib.request.urlopen(sys.argv[1], timeout=4) as response:\n"
    "    sys.exit(0 if 200 <= response.status < 300 else 1)\n"
)
"""The container health check's fixed program: the URL comes as its argument, never as code."""
_IGNORED_PARTS = {"__pycache__", ".pytest_cache", "wheels", ".venv"}


def source_hash(context: Path) -> str:
    """A digest of the build context's files, so only a real source change rebuilds the image."""
    digest = hashlib.sha256()
    for path in sorted(p for p in context.rglob("*") if p.is_file()):
        relative = path.relative_to(context)
        if _IGNORED_PARTS.intersection(relative.parts) or path.suffix == ".pyc":
            continue
        digest.update(str(relative).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def backend_image(
    name: str, settings: Settings, parent: pulumi.Resource
) -> tuple[docker.RemoteImage, str]:
    """The backend image and the plain reference it stands for (configured, or built in dev)."""
    backend = settings.backend
    if backend.image:
        return common.remote_image(name, backend.image, parent), backend.image
    reference = f"{settings.environment}-{settings.project}-backend:local"
    build_args = {"BASE_IMAGE": backend.base_image} if backend.base_image else None
    image = docker.RemoteImage(
        name,
        name=reference,
        build=docker.RemoteImageBuildArgs(
            context=backend.build_context,
            dockerfile="Dockerfile",
            build_args=build_args,
            # "default" is Docker's own choice, the default bridge: left unset, so a stack that
            # does not choose sees no change; engines without that bridge need "host" or "none".
            network_mode=None if backend.build_network == "default" else backend.build_network,
            labels={"appstack.environment": settings.environment},
        ),
        triggers={"source": source_hash(PROJECT_ROOT / backend.build_context)},
        keep_locally=True,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return image, reference


class Backend(pulumi.ComponentResource):
    """The application container of one environment."""

    url: pulumi.Output[str]
    image_id: pulumi.Output[str]
    image_reference: str
    container_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        settings: Settings,
        image: docker.RemoteImage,
        image_reference: str,
        environment: Mapping[str, pulumi.Input[str]],
        network_name: pulumi.Input[str] | None,
        depends_on: Sequence[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("appstack:index:Backend", name, None, opts)
        backend = settings.backend
        container_name = settings.prefixed("backend")
        where = common.placement(settings, container_name, STANDARD_PORT, backend.port)

        variables: dict[str, pulumi.Input[str]] = {
            **environment,
            "CORS_ORIGINS": ",".join(backend.cors_origins),
            "HOST": where.listen_address,
            "PORT": str(where.internal_port),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
            "APPSTACK_ENVIRONMENT": settings.environment,
        }
        keys = sorted(variables)
        envs = pulumi.Output.all(*(variables[key] for key in keys)).apply(
            lambda values: [f"{key}={value}" for key, value in zip(keys, values, strict=True)]
        )
        # The backend listens on `listen_address`: the probe asks that address (loopback when
        # it listens on every interface), and the validated path is data passed as argv[1].
        probe_host = "127.0.0.1" if where.listen_address == "0.0.0.0" else where.listen_address
        health_url = f"http://{probe_host}:{where.internal_port}{backend.health_path}"
        container = common.service_container(
            f"{name}-container",
            settings,
            common.ServiceSpec(
                role="backend",
                image_reference=image_reference,
                health_test=["CMD", "python3", "-c", HEALTH_PROBE, health_url],
                published=[(STANDARD_PORT, backend.port)],
                read_only=backend.read_only_root_filesystem,
                tmpfs={"/tmp": "rw,noexec,nosuid,size=64m"},
            ),
            image.image_id,
            envs,
            network_name,
            self,
            depends_on,
        )
        self.url = pulumi.Output.from_input(f"http://{where.host_address}:{where.host_port}")
        self.image_id = image.image_id
        self.image_reference = image_reference
        self.container_name = container.name
        self.register_outputs({"url": self.url, "imageId": self.image_id})
