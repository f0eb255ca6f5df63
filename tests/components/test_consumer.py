"""A program outside the checkout, with only the built wheel installed, previews cleanly.

The wheel is built from a copy of exactly what pyproject.toml packages, installed into a fresh
virtualenv with its dependencies (from a wheelhouse cached in ~/.cache/appstack, filled from the
package index the first time), and the consumer program (tests/components/consumer, which the
README shows) runs from a temporary directory under the package's own mock harness. The policy
check then judges that program from the same virtualenv.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.stacks import REPO_ROOT

pytestmark = pytest.mark.install

CACHE = Path(os.environ.get("APPSTACK_CACHE", Path.home() / ".cache" / "appstack"))
WHEELHOUSE = CACHE / "wheelhouse"
CONSUMER = Path(__file__).parent / "consumer"
TIMEOUT_SECONDS = 600


def run(argv: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """A command with a clean environment: nothing points into the checkout."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(Path.home()),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    done = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_SECONDS
    )
    if check:
        assert done.returncode == 0, f"{' '.join(argv)}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip wheel` of a copy of the sources pyproject.toml names (the checkout stays clean)."""
    source = tmp_path_factory.mktemp("source")
    shutil.copy(REPO_ROOT / "pyproject.toml", source)
    shutil.copy(REPO_ROOT / "README.md", source)
    shutil.copytree(
        REPO_ROOT / "components" / "appstack",
        source / "components" / "appstack",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    dist = tmp_path_factory.mktemp("dist")
    run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), "."], source
    )
    wheels = list(dist.glob("appstack-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def consumer_python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel and its dependencies, nothing else."""
    venv = tmp_path_factory.mktemp("consumer-venv")
    run([sys.executable, "-m", "venv", str(venv)], venv)
    python = venv / "bin" / "python"
    install = [python, "-m", "pip", "install", "--quiet", "--no-index", "--find-links"]
    offline = [*map(str, install), str(WHEELHOUSE), str(wheel)]
    if run(offline, venv, check=False).returncode != 0:
        WHEELHOUSE.mkdir(parents=True, exist_ok=True)
        run(
            [str(python), "-m", "pip", "download", "--quiet", "-d", str(WHEELHOUSE), str(wheel)],
            venv,
        )
        for copy in WHEELHOUSE.glob("appstack-*.whl"):
            copy.unlink()
        run(offline, venv)
    return python


@pytest.fixture(scope="module")
def consumer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The consumer project, copied outside the checkout."""
    directory = tmp_path_factory.mktemp("elsewhere") / "search-platform"
    shutil.copytree(CONSUMER, directory, ignore=shutil.ignore_patterns("__pycache__"))
    return directory


PREVIEW = """
import importlib.util, json, sys
from pathlib import Path

import appstack
from appstack.graph import read_stack_file, run_program

project = Path(sys.argv[1])
run = run_program(project / "__main__.py", "dev", read_stack_file(project / "Pulumi.dev.yaml"),
                  preview=True)
print(json.dumps({
    "appstack": appstack.__file__,
    "components": importlib.util.find_spec("components") is not None,
    "resources": [[r.type, r.name, r.inputs.get("name")] for r in run.resources],
    "outputs": sorted(run.outputs),
    "secret_outputs": sorted(run.secret_outputs),
}))
"""


def test_the_consumer_program_previews_from_the_installed_wheel(
    consumer_python: Path, consumer: Path
) -> None:
    done = run([str(consumer_python), "-c", PREVIEW, str(consumer)], consumer.parent)
    result = json.loads(done.stdout.splitlines()[-1])

    site_packages = consumer_python.parent.parent / "lib"
    assert Path(result["appstack"]).is_relative_to(site_packages), result["appstack"]
    assert result["components"] is False, "the checkout's `components` must not leak"
    resources = {name: (type_, docker_name) for type_, name, docker_name in result["resources"]}
    assert resources["orders"][0] == resources["search"][0] == "appstack:index:Database"
    containers = sorted(
        docker_name for type_, docker_name in resources.values() if type_.endswith("Container")
    )
    assert containers == ["dev-cache", "dev-files", "dev-orders", "dev-search"]
    assert resources["files-bucket-uploads"][0] == "pulumi-python:dynamic/appstack:Bucket"
    assert result["outputs"] == ["buckets", "cache", "orders", "pgvector", "s3", "search"]
    assert {"orders", "search", "cache"} <= set(result["secret_outputs"])


def test_the_policy_check_judges_the_consumer_program(
    consumer_python: Path, consumer: Path
) -> None:
    check = [str(consumer_python), "-m", "policies.check", "--stack", "dev"]
    clean = run([*check, "--program", str(consumer)], REPO_ROOT)
    assert "dev: 23 resources checked, 0 mandatory and 0 advisory violation(s)" in clean.stdout

    hostile = [*check, "--program", str(consumer), "--set", "images.database=postgres:15-alpine"]
    refused = run(hostile, REPO_ROOT, check=False)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "[mandatory] pgvector-only: orders-image:" in refused.stdout
    assert "[mandatory] pgvector-only: search-image:" in refused.stdout
