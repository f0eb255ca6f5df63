"""Print the schema revision a database is at, for the Kubernetes migration's `revision` output.

Run as `<python> -m appstack.k8s.revision` by the Kubernetes `Migration` after its Job completed,
with the database's URL (as the deploying machine reaches it) in `DATABASE_URL`; prints
`appstack-migration-revision: <rev>` as its last line, like the Docker target's runner. It never
prints the URL.
"""

from __future__ import annotations

import os
import sys

import psycopg

from appstack.migrate import REVISION_MARKER


def main() -> int:
    try:
        with psycopg.connect(os.environ["DATABASE_URL"], connect_timeout=30) as connection:
            rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    except (KeyError, psycopg.Error) as error:
        print(f"cannot read alembic_version: {type(error).__name__}", file=sys.stderr)
        return 1
    if len(rows) != 1:
        print(f"alembic_version holds {len(rows)} revisions, expected 1", file=sys.stderr)
        return 1
    print(f"{REVISION_MARKER} {rows[0][0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
