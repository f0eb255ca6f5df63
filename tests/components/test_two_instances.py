"""Two instances of each component in one program never share a Docker object."""

from __future__ import annotations

from collections import Counter

import pulumi

from appstack.cache import Cache, CacheArgs
from appstack.common import NetworkAttachment
from appstack.contract import CONTAINER, VOLUME
from appstack.database import Database, DatabaseArgs
from appstack.network import Network, NetworkArgs
from appstack.object_store import BucketSpec, ObjectStore, ObjectStoreArgs
from tests.components.helpers import build


def program() -> None:
    network = Network("net", NetworkArgs()).attachment
    Database("orders-db", DatabaseArgs(network=network, port=15432))
    Database("search-db", DatabaseArgs(network=network, port=15433))
    Cache("sessions", CacheArgs(network=network, port=16379, persistence=True))
    Cache("queue", CacheArgs(network=network, port=16380, persistence=True))
    buckets = (BucketSpec(role="assets"),)
    ObjectStore(
        "media", ObjectStoreArgs(network=network, buckets=buckets, port=19000, console_port=19001)
    )
    ObjectStore(
        "backups", ObjectStoreArgs(network=network, buckets=buckets, port=19100, console_port=19101)
    )


def test_two_of_each_get_distinct_containers_volumes_aliases_and_buckets() -> None:
    run = build(program)

    containers = run.by_type(CONTAINER)
    names = [c.inputs["name"] for c in containers]
    aliases = [alias for c in containers for alias in c.inputs["networksAdvanced"][0]["aliases"]]
    volumes = [v.inputs["name"] for v in run.by_type(VOLUME)]
    mounted = [m["volumeName"] for c in containers for m in c.inputs.get("volumes", [])]
    buckets = [b.inputs["bucket_name"] for b in run.resources if "bucket_name" in b.inputs]
    host_ports = [p["external"] for c in containers for p in c.inputs["ports"]]

    assert sorted(names) == [
        "qa-backups",
        "qa-media",
        "qa-orders-db",
        "qa-queue",
        "qa-search-db",
        "qa-sessions",
    ]
    for values in (names, aliases, volumes, mounted, buckets, host_ports):
        assert len(values) == len(set(values)), Counter(values).most_common(2)
    assert sorted(volumes) == sorted(mounted) == sorted(f"{name}-data" for name in names)
    assert sorted(buckets) == ["qa-backups-assets", "qa-media-assets"]
    assert {c.inputs["networksAdvanced"][0]["name"] for c in containers} == {"qa-net"}


def test_on_one_network_each_database_is_reached_by_its_own_name() -> None:
    def two() -> None:
        network = NetworkAttachment.bridge("shared")
        for name in ("orders-db", "search-db"):
            pulumi.export(name, Database(name, DatabaseArgs(network=network)).internal_dsn)

    run = build(two)

    assert "@qa-orders-db:5432/" in run.outputs["orders-db"]
    assert "@qa-search-db:5432/" in run.outputs["search-db"]
