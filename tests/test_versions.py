"""The pins in toolchain/versions.env agree with the pip packages and with each other.

The provider plugins that CI and `make up` install must be the versions the installed pip SDKs
declare in their `pulumi-plugin.json`, or Pulumi downloads a second plugin (or fails offline);
the CLI must match the pinned `pulumi` SDK; and the MinIO release label and Go pseudo-version
must name the same commit time.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from importlib import resources
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
VERSIONS_ENV = REPO_ROOT / "toolchain" / "versions.env"
REQUIREMENTS = REPO_ROOT / "requirements.txt"

PLUGIN_PINS = {
    "PULUMI_DOCKER_VERSION": ("pulumi_docker", "docker"),
    "PULUMI_COMMAND_VERSION": ("pulumi_command", "command"),
    "PULUMI_RANDOM_VERSION": ("pulumi_random", "random"),
    "PULUMI_KUBERNETES_VERSION": ("pulumi_kubernetes", "kubernetes"),
}


def read_versions() -> dict[str, str]:
    """KEY=value lines of versions.env (comments and blank lines skipped)."""
    versions: dict[str, str] = {}
    for line in VERSIONS_ENV.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"versions.env: not KEY=value: {line!r}"
            versions[key] = value
    return versions


def pinned_requirements() -> dict[str, str]:
    """`name==version` pins of requirements.txt, names normalised, extras dropped."""
    pins: dict[str, str] = {}
    for line in REQUIREMENTS.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;#]+)", line.strip())
        if match:
            pins[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
    return pins


@pytest.fixture(scope="module")
def versions() -> dict[str, str]:
    return read_versions()


@pytest.mark.parametrize("key", sorted(PLUGIN_PINS))
def test_plugin_pin_equals_the_installed_sdk_plugin(versions: dict[str, str], key: str) -> None:
    package, plugin = PLUGIN_PINS[key]
    manifest = json.loads(resources.files(package).joinpath("pulumi-plugin.json").read_text())

    assert manifest["resource"] is True
    assert manifest["name"] == plugin
    assert versions[key] == manifest["version"], (
        f"toolchain/versions.env {key}={versions[key]} but the installed {package} declares "
        f"plugin {plugin} {manifest['version']}: bump one to match the other"
    )


@pytest.mark.parametrize("key", sorted(PLUGIN_PINS))
def test_plugin_pin_equals_the_requirements_pin(versions: dict[str, str], key: str) -> None:
    package = PLUGIN_PINS[key][0].replace("_", "-")

    assert pinned_requirements()[package] == versions[key]


def test_requirements_pin_pulumi_to_the_cli_version(versions: dict[str, str]) -> None:
    assert pinned_requirements()["pulumi"] == versions["PULUMI_VERSION"]


def test_minio_release_and_module_version_name_the_same_time(versions: dict[str, str]) -> None:
    release = re.fullmatch(
        r"(?:RELEASE|DEVELOPMENT)\.(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2})Z",
        versions["MINIO_RELEASE"],
    )
    module = re.fullmatch(r"v0\.0\.0-(\d{14})-([0-9a-f]{12})", versions["MINIO_MODULE_VERSION"])
    assert release, (
        f"MINIO_RELEASE {versions['MINIO_RELEASE']!r} is not RELEASE/DEVELOPMENT.<time>Z"
    )
    assert module, f"MINIO_MODULE_VERSION {versions['MINIO_MODULE_VERSION']!r} is no pseudo-version"

    release_time = datetime.strptime(release.group(1), "%Y-%m-%dT%H-%M-%S")
    module_time = datetime.strptime(module.group(1), "%Y%m%d%H%M%S")

    assert release_time == module_time


def test_the_package_pins_what_requirements_pin() -> None:
    """The wheel's exact pins (the plugin-bearing SDKs) are the versions the checkout runs."""
    import tomllib

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    exact = {}
    for requirement in project["dependencies"]:
        match = re.match(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)$", requirement)
        if match:
            exact[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
    assert set(exact) >= {"pulumi", "pulumi-docker", "pulumi-command", "pulumi-random"}
    pinned = pinned_requirements()
    assert {name: pinned[name] for name in exact} == exact
