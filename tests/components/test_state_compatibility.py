"""Stacks deployed before appstack became a package keep working: their state names the dynamic
providers by the old module paths, and the engine unpickles that copy to refresh or delete."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.stacks import REPO_ROOT

# `__provider` of the dynamic resources as appstack 0fa188f (before the package) wrote them into
# every state: dill pickles of components.bucket.BucketProvider and
# components.pgvector.PgvectorExtensionProvider, by reference.
OLD_PICKLES = {
    "gASVKwAAAAAAAACMEWNvbXBvbmVudHMuYnVja2V0lIwOQnVja2V0UHJvdmlkZXKUk5QpgZQu": (
        "appstack.bucket.BucketProvider"
    ),
    "gASVOAAAAAAAAACME2NvbXBvbmVudHMucGd2ZWN0b3KUjBlQZ3ZlY3RvckV4dGVu"
    "c2lvblByb3ZpZGVylJOUKYGULg==": "appstack.pgvector.PgvectorExtensionProvider",
}


@pytest.mark.parametrize(("pickled", "provider"), sorted(OLD_PICKLES.items()))
def test_an_old_states_provider_unpickles_as_the_packaged_one(pickled: str, provider: str) -> None:
    """Run as the engine's provider process runs: a fresh interpreter in the project directory."""
    code = (
        "import base64, sys, dill\n"
        f"p = dill.loads(base64.b64decode({pickled!r}))\n"
        "print(f'{type(p).__module__}.{type(p).__qualname__}')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == provider
