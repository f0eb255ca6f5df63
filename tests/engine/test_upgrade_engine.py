"""A stack deployed before appstack became a package, upgraded, under the real engine.

Such a state holds each dynamic resource's provider pickled as `components.pgvector...` (or
`components.bucket...`). The state is made here by deploying with this checkout and writing the
exact provider pickle 0fa188f wrote into it (`pulumi stack export`/`import`); the project
directory holds `components/` as appstack's checkout does. Then the upgraded program previews no
change, and refresh and destroy, which unpickle the stored provider, work through the
compatibility modules `components/pgvector.py` and `components/bucket.py`; without them they fail.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pulumi.dynamic.dynamic import serialize_provider

from appstack.pgvector import PgvectorExtensionProvider
from tests.components.test_state_compatibility import OLD_PICKLES
from tests.engine.harness import REPO_ROOT, PulumiProject, new_project
from tests.realservers.postgres import PostgresServer

pytestmark = pytest.mark.real

PROGRAM = Path(__file__).resolve().parent / "project" / "__main__.py"
STACK = "ci-upgrade"
OLD_PGVECTOR_PICKLE = next(
    pickled for pickled, provider in OLD_PICKLES.items() if provider.startswith("appstack.pgvector")
)


@pytest.fixture()
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulumiProject]:
    project = new_project(
        tmp_path_factory.mktemp("upgrade"), "appstack-upgrade-test", PROGRAM.read_text()
    )
    (project.directory / "components").symlink_to(REPO_ROOT / "components")
    yield project
    print(f"pulumi command timings: {project.timings()}")


def test_an_old_state_previews_no_change_and_refreshes_and_destroys(
    project: PulumiProject, pgvector_database: PostgresServer
) -> None:
    project.require_engine()
    db = pgvector_database
    project.configure(
        STACK,
        plain={
            "pg_host": db.host,
            "pg_port": str(db.port),
            "pg_database": db.database,
            "pg_user": db.user,
            "pg_image": "pgvector/pgvector:pg17",
        },
        secret={"pg_password": db.password},
    )
    project.run("up", "--yes", "--stack", STACK)

    # Make it the state an appstack before the package wrote: its provider's module path.
    # (The pgvector provider is always serialized as a secret: export it decrypted, import
    # re-encrypts it.)
    exported = project.run("stack", "export", "--show-secrets", "--stack", STACK).output
    new_pickle = serialize_provider(PgvectorExtensionProvider())
    assert exported.count(new_pickle) == 2, "the provider is in the inputs and the outputs"
    old_state = project.directory / "old-state.json"
    old_state.write_text(exported.replace(new_pickle, OLD_PGVECTOR_PICKLE))
    project.run("stack", "import", "--stack", STACK, "--file", str(old_state))
    state = project.run("stack", "export", "--show-secrets", "--stack", STACK).output
    assert state.count(OLD_PGVECTOR_PICKLE) == 2 and new_pickle not in state
    assert OLD_PGVECTOR_PICKLE not in json.dumps(project.state(STACK)), "kept encrypted"

    # The upgraded program: same URN, nothing to do.
    project.run("preview", "--expect-no-changes", "--stack", STACK)

    # Refresh reads with the stored (old) provider: only the compatibility module finds it.
    (project.directory / "components").unlink()
    broken = project.run("refresh", "--yes", "--stack", STACK, ok=False)
    assert "No module named 'components'" in broken.output, broken.output
    (project.directory / "components").symlink_to(REPO_ROOT / "components")
    project.run("refresh", "--yes", "--stack", STACK)
    project.run("preview", "--expect-no-changes", "--stack", STACK)

    project.run("destroy", "--yes", "--stack", STACK)
    assert project.state(STACK)["checkpoint"]["latest"].get("resources") in (None, [])
