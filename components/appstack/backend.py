"""Backend: the application container, wired from the other components' outputs.

`backend_image` makes the backend image: a configured reference, or a local build of a directory
whose source hash drives the rebuild. It is separate from `Backend` because the migration must run
in that exact image before the backend starts.

`Backend` creates the container (default `{environment}-{name}`) whose environment is given by the
caller (the database, cache and object store outputs; secret where secret), runs with
`PYTHONDONTWRITEBYTECODE=1` and a read-only root filesystem, a health check on its HTTP health
endpoint, a wait until healthy and a restart policy. Its `depends_on` (the migration that ran for
its exact image) is passed on to the container, so it is created or replaced only after that
migration succeeded.
"""

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pulumi
import pulumi_docker as docker

from appstack import common
from appstack.contract import ENVIRONMENT_LABEL, component_type
from appstack.defaults import section
from appstack.settings import BUILD_NETWORKS
from appstack.validation import (
    ENVIRONMENT,
    Problems,
    build_context_problem,
    health_path_problem,
    origin_problem,
)

STANDARD_PORT = 8000
HEALTH_PROBE = (
    "import sys, urllib.request\n"
    "with urllib.request.urlopen(sys.argv[1], timeout=4) as response:\n"
    "    sys.exit(0 if 200 <= response.status < 300 else 1)\n"
)
"""The container health check's fixed program: the URL comes as its argument, never as code."""
_IGNORED_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "wheels", ".venv"}
"""Parts of a build context that never change the image: caches the tools leave behind (which
app/.dockerignore keeps out of the build too), the virtualenv, and the wheels derived from
requirements.txt (which is hashed)."""
_DEFAULTS = section("backend")


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


@dataclass(kw_only=True)
class BackendImageArgs:
    """The backend image: a reference to use as it is, or a directory to build locally.

    Exactly one of `reference` and `build_context`. Plain values: the policy pack reads the
    reference at preview (pinned in production, never a local build there).
    """

    reference: str | None = None
    """An image reference to run (pinned by digest outside development)."""
    build_context: str | None = None
    """A directory with a Dockerfile to build, relative to the program's working directory (the
    Pulumi project directory, where the Docker provider resolves it too) and inside it: no
    absolute path, no `..`, no symlink leading out."""
    base_image: str | None = None
    """The build argument `BASE_IMAGE` of that build."""
    build_network: Literal["default", "host", "none"] = _DEFAULTS["buildNetwork"]
    """The network of the build's RUN steps: `default` (Docker's default bridge), `host` (for an
    engine started without a default bridge) or `none` (offline builds)."""
    local_tag: str | None = None
    """The reference the built image is tagged with. Default `{environment}-{name}:local`."""
    environment: str | None = None
    """The environment label of a built image; default: the stack name."""


@dataclass(frozen=True)
class BackendImage:
    """An image ready to run: its plain reference (for labels and policies) and its id.

    Plain data, so that it can be passed where only data goes (a component provider's inputs).
    """

    reference: str
    """The plain reference, known at preview."""
    image_id: pulumi.Input[str]
    """The image id; a new id re-runs the migration and replaces the container."""


def backend_image(
    name: str, args: BackendImageArgs, opts: pulumi.ResourceOptions | None = None
) -> BackendImage:
    """The backend image `name`: the configured reference, or `build_context` built locally.

    The build hashes exactly the directory Docker builds (one resolved path for both), so a
    source change there, and only there, rebuilds it.
    """
    problems = Problems(f"backend image {name!r}")
    environment = args.environment or pulumi.get_stack()
    problems.matches("environment", environment, ENVIRONMENT, "an environment name")
    if (args.reference is None) == (args.build_context is None):
        problems.bad(
            "reference/build_context",
            "exactly one of an image reference and a directory to build",
            (args.reference, args.build_context),
        )
    if args.reference is not None:
        problems.image("reference", args.reference)
    directory: Path | None = None
    if args.build_context is not None:
        directory = Path.cwd() / args.build_context
        problems.check(
            "build_context",
            args.build_context,
            build_context_problem(args.build_context, built=True),
        )
    if args.base_image is not None:
        problems.image("base_image", args.base_image)
    if args.build_network not in BUILD_NETWORKS:
        problems.bad(
            "build_network", " or ".join(f'"{n}"' for n in BUILD_NETWORKS), args.build_network
        )
    local_tag = args.local_tag or f"{environment}-{name}:local"
    problems.image("local_tag", local_tag)
    problems.raise_if_any()

    image_opts = opts or pulumi.ResourceOptions()
    if args.reference is not None:
        image = docker.RemoteImage(name, name=args.reference, keep_locally=True, opts=image_opts)
        return BackendImage(args.reference, image.image_id)
    assert directory is not None and args.build_context is not None
    build_args = {"BASE_IMAGE": args.base_image} if args.base_image else None
    image = docker.RemoteImage(
        name,
        name=local_tag,
        build=docker.RemoteImageBuildArgs(
            context=args.build_context,
            dockerfile="Dockerfile",
            build_args=build_args,
            # "default" is Docker's own choice, the default bridge: left unset, so a stack that
            # does not choose sees no change; engines without that bridge need "host" or "none".
            network_mode=None if args.build_network == "default" else args.build_network,
            labels={ENVIRONMENT_LABEL: environment},
        ),
        triggers={"source": source_hash(directory)},
        keep_locally=True,
        opts=image_opts,
    )
    return BackendImage(local_tag, image.image_id)


@dataclass(kw_only=True)
class BackendArgs(common.ContainerArgs):
    """The application container: its image, its wiring, its port and health endpoint."""

    image: BackendImage
    """The image to run, from `backend_image` (its plain reference labels the container)."""
    environment_variables: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """The application's environment (DATABASE_URL, ...), wired from the other components."""
    port: pulumi.Input[int] = _DEFAULTS["port"]
    """The host port of the HTTP server."""
    cors_origins: Sequence[str] = tuple(_DEFAULTS["corsOrigins"])
    """Origins the frontend is served from (`CORS_ORIGINS`), each `scheme://host[:port]`."""
    health_path: str = _DEFAULTS["healthPath"]
    """The HTTP health endpoint the container's health check requests."""
    read_only_root_filesystem: bool = _DEFAULTS["readOnlyRootFilesystem"]
    """Run the container read-only (with a tmpfs `/tmp`)."""


class Backend(pulumi.ComponentResource):
    """The application container."""

    url: pulumi.Output[str]
    """The base URL from the deploying machine."""
    image_id: pulumi.Output[str]
    image_reference: str
    container_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: BackendArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        problems = Problems(f"Backend {name!r}")
        ident = common.identify(name, args, problems)
        if not isinstance(args.image, BackendImage):
            problems.bad("image", "a BackendImage (from backend_image)", args.image)
        problems.port("port", args.port)
        for index, origin in enumerate(args.cors_origins):
            reason = origin_problem(origin)
            if reason:
                problems.bad(f"cors_origins[{index}]", f"an origin ({reason})", origin)
        problems.check("health_path", args.health_path, health_path_problem(args.health_path))
        problems.flag("read_only_root_filesystem", args.read_only_root_filesystem)
        for key in args.environment_variables:
            if not (isinstance(key, str) and key) or "=" in key:
                problems.bad("environment_variables", "variable names without '='", key)
        problems.raise_if_any()

        super().__init__(component_type("Backend"), name, None, opts)
        where = common.placement(args.network, ident.container_name, STANDARD_PORT, args.port)
        variables: dict[str, pulumi.Input[str]] = {
            **args.environment_variables,
            "CORS_ORIGINS": ",".join(origin.rstrip("/") for origin in args.cors_origins),
            "HOST": where.listen_address,
            "PORT": common.text(where.internal_port),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
            "APPSTACK_ENVIRONMENT": ident.environment,
        }
        keys = sorted(variables)
        envs = pulumi.Output.all(*(variables[key] for key in keys)).apply(
            lambda values: [f"{key}={value}" for key, value in zip(keys, values, strict=True)]
        )
        # The backend listens on `listen_address`: the probe asks that address (loopback when
        # it listens on every interface), and the validated path is data passed as argv[1].
        probe_host = "127.0.0.1" if where.listen_address == "0.0.0.0" else where.listen_address
        health_url = pulumi.Output.concat(
            "http://", probe_host, ":", common.text(where.internal_port), args.health_path
        )
        container = common.service_container(
            f"{name}-container",
            ident,
            args,
            common.ServiceSpec(
                role="backend",
                image_reference=args.image.reference,
                health_test=["CMD", "python3", "-c", HEALTH_PROBE, health_url],
                published=[(STANDARD_PORT, args.port)],
                read_only=args.read_only_root_filesystem,
                tmpfs={"/tmp": "rw,noexec,nosuid,size=64m"},
            ),
            args.image.image_id,
            envs,
            common.child_dependencies(self, opts),
        )
        self.url = pulumi.Output.concat("http://", where.host_endpoint)
        self.image_id = pulumi.Output.from_input(args.image.image_id)
        self.image_reference = args.image.reference
        self.container_name = container.name
        self.register_outputs({"url": self.url, "imageId": self.image_id})
