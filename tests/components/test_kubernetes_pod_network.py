"""The Kubernetes components and the ci-k8s platform with pods on the cluster's network
(`host_network=False`), under mocks: servers listen on every pod address, probes stay inside the
pod, pods reach each other by Service name, and the deploying machine (the pgvector check, the
buckets, the outputs) goes through the port-forward, never through an address of the cluster."""

from __future__ import annotations

import errno
import json
import socket
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pulumi
import pytest

from appstack.k8s import port_forward
from appstack.k8s.backend import KubernetesBackend, KubernetesBackendArgs
from appstack.k8s.cache import KubernetesCache, KubernetesCacheArgs
from appstack.k8s.database import KubernetesDatabase, KubernetesDatabaseArgs
from appstack.k8s.migration import KubernetesMigration, KubernetesMigrationArgs
from appstack.k8s.object_store import KubernetesObjectStore, KubernetesObjectStoreArgs
from appstack.k8s.port_forward import ClusterAccess, PortForward, PortForwardError
from appstack.object_store import BucketSpec
from appstack.validation import ArgsError
from tests.components.helpers import build
from tests.components.test_kubernetes import (
    DEPLOYMENT,
    JOB,
    SECRET,
    STATEFULSET,
    env,
    only_container,
    pod,
    shared,
)
from tests.realservers.process import free_port
from tests.stacks import run_stack, stack_config

FORWARD_ADDRESS = "127.0.0.9"
"""Where the test double says the deploying machine reaches a service: no cluster address."""
NODE_ADDRESS = "10.9.8.7"
"""`bind_address`, which only pods on the node's network use."""


class RecordingPortForward(PortForward):
    """A PortForward that opens nothing: records each `forward(service, port)` it is asked for
    and answers `(127.0.0.9, port + shift)`."""

    def __init__(self, shift: int = 0) -> None:
        super().__init__(ClusterAccess(namespace="qa"), FORWARD_ADDRESS)
        self.shift = shift
        self.calls: list[tuple[str, int]] = []

    def forward(self, service: str, port: int) -> tuple[str, int]:
        self.calls.append((service, port))
        return self.address, port + self.shift


def pod_network(forward: PortForward | None) -> dict[str, Any]:
    """The shared Args (namespace `qa`) of a component with pods on the cluster's network (and a
    node address that must then appear nowhere)."""
    return {
        **shared(),
        "host_network": False,
        "port_forward": forward,
        "bind_address": NODE_ADDRESS,
    }


def all_components(forward: PortForward | None) -> None:
    """One of each component, named apart from their objects (`db` holds `database`, ...)."""
    args = pod_network(forward)
    KubernetesDatabase("db", KubernetesDatabaseArgs(object_name="database", port=25432, **args))
    KubernetesCache("kv", KubernetesCacheArgs(object_name="cache", port=26379, **args))
    KubernetesObjectStore(
        "s3",
        KubernetesObjectStoreArgs(
            object_name="objectstore",
            port=29000,
            console_port=29001,
            buckets=[BucketSpec(role="assets")],
            **args,
        ),
    )
    KubernetesMigration(
        "migrate",
        KubernetesMigrationArgs(
            object_name="migration",
            image="appstack/backend:1",
            database_url_secret="database-credentials",
            database_dsn=pulumi.Output.secret("postgresql://u:p@127.0.0.9:25432/appstack"),
            **args,
        ),
    )
    KubernetesBackend(
        "api",
        KubernetesBackendArgs(
            object_name="backend", image="appstack/backend:1", port=28000, replicas=2, **args
        ),
    )


def command_line(container: dict[str, Any]) -> str:
    return " ".join([*container.get("command", []), *container.get("args", [])])


def probe(container: dict[str, Any]) -> str:
    readiness = container["readinessProbe"]["exec"]["command"]
    assert container["livenessProbe"]["exec"]["command"] == readiness
    return " ".join(readiness)


def secret_data(resource: Any) -> dict[str, str]:
    """A Secret's stringData, which the engine receives as a secret."""
    assert resource.secret_inputs == {"stringData"}
    data: dict[str, str] = resource.inputs["stringData"]
    return data


def test_every_pod_is_on_the_cluster_network_with_the_cluster_dns() -> None:
    run = build(lambda: all_components(RecordingPortForward()))
    workloads = run.by_type(STATEFULSET) + run.by_type(DEPLOYMENT) + run.by_type(JOB)
    assert sorted(r.name for r in workloads) == [
        "api-deployment",
        "db-statefulset",
        "kv-deployment",
        "migrate-job",
        "s3-deployment",
    ]
    for workload in workloads:
        assert pod(workload)["hostNetwork"] is False, workload.name
        assert pod(workload)["dnsPolicy"] == "ClusterFirst", workload.name
    # The node's address is for pods on the node's network only.
    for resource in run.resources:
        assert NODE_ADDRESS not in json.dumps(resource.inputs, default=str), resource.name


def test_servers_listen_on_every_pod_address_and_probe_their_own_loopback() -> None:
    run = build(lambda: all_components(RecordingPortForward()))
    postgres = only_container(run.named("db-statefulset"))
    assert postgres["args"] == ["postgres", "-c", "listen_addresses=0.0.0.0"]
    assert " -h 127.0.0.1 " in probe(postgres)
    assert probe(postgres).startswith("sh -c pg_isready")
    redis = only_container(run.named("kv-deployment"))
    assert " --bind 0.0.0.0 --protected-mode yes" in command_line(redis)
    assert "redis-cli -h 127.0.0.1 " in probe(redis)
    minio = only_container(run.named("s3-deployment"))
    assert minio["args"][-4:] == [
        "--address",
        "0.0.0.0:29000",
        "--console-address",
        "0.0.0.0:29001",
    ]
    # MinIO's probe (`mc ready local`) reads its alias from the Secret: the pod's own loopback.
    mc_host = secret_data(run.named("s3-credentials"))["mc-host"]
    assert mc_host.endswith("@127.0.0.1:29000") and mc_host.startswith("http://")
    app = only_container(run.named("api-deployment"))
    assert env(app)["HOST"]["value"] == "0.0.0.0"
    assert env(app)["PORT"]["value"] == "28000"
    assert probe(app).endswith(" http://127.0.0.1:28000/health")


def test_pods_reach_the_services_by_their_service_names() -> None:
    run = build(lambda: all_components(RecordingPortForward()))
    assert sorted(r.name for r in run.by_type(SECRET)) == [
        "db-credentials",
        "kv-credentials",
        "s3-credentials",
    ]
    database = secret_data(run.named("db-credentials"))
    password = database["password"]
    assert database["url"] == (
        f"postgresql+psycopg://appstack:{password}@database.qa.svc:25432/appstack"
    )
    cache = secret_data(run.named("kv-credentials"))
    assert cache["url"] == f"redis://:{cache['password']}@cache.qa.svc:26379/0"


def test_the_deploying_machine_reaches_the_services_through_the_port_forward() -> None:
    forward = RecordingPortForward(shift=10000)
    run = build(lambda: all_components(forward))
    # Each Service port is asked for once, by the object's name (the Service's), not the
    # component's; the migration reaches the database through the DSN it is given.
    assert sorted(forward.calls) == [
        ("backend", 28000),
        ("cache", 26379),
        ("database", 25432),
        ("objectstore", 29000),
    ]
    check = run.named("db-pgvector")
    assert (check.inputs["host"], check.inputs["port"]) == (FORWARD_ADDRESS, 35432)
    assert run.named("s3-bucket-assets").inputs["endpoint"] == f"{FORWARD_ADDRESS}:39000"


def test_component_outputs_are_the_port_forward_addresses() -> None:
    """What the platform exports (and verify connects to) is where the deploying machine is."""
    seen: dict[str, Any] = {}

    def program() -> None:
        forward = RecordingPortForward(shift=10000)
        args = pod_network(forward)
        db = KubernetesDatabase("db", KubernetesDatabaseArgs(object_name="database", **args))
        kv = KubernetesCache("kv", KubernetesCacheArgs(object_name="cache", **args))
        s3 = KubernetesObjectStore("s3", KubernetesObjectStoreArgs(object_name="store", **args))
        api = KubernetesBackend(
            "api", KubernetesBackendArgs(object_name="backend", image="appstack/backend:1", **args)
        )
        outputs = {
            "db": pulumi.Output.all(db.host, db.port, db.dsn),
            "kv": pulumi.Output.all(kv.host, kv.port, kv.url),
            "s3": pulumi.Output.all(s3.endpoint, s3.internal_endpoint),
            "api": api.url,
        }
        for key, output in outputs.items():
            output.apply(lambda value, key=key: seen.__setitem__(key, value))

    build(program)
    host, port, dsn = seen["db"]
    assert (host, port) == (FORWARD_ADDRESS, 15432)
    assert dsn.endswith(f"@{FORWARD_ADDRESS}:15432/appstack")
    host, port, url = seen["kv"]
    assert (host, port) == (FORWARD_ADDRESS, 16379)
    assert url.endswith(f"@{FORWARD_ADDRESS}:16379/0")
    assert seen["s3"] == [f"{FORWARD_ADDRESS}:19000", "store.qa.svc:9000"]
    assert seen["api"] == f"http://{FORWARD_ADDRESS}:18000"


def test_the_backend_rolls_several_replicas_a_new_pod_before_an_old_one_goes() -> None:
    run = build(lambda: all_components(RecordingPortForward()))
    spec = run.named("api-deployment").inputs["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }


def test_host_network_leaves_a_port_forward_unused() -> None:
    forward = RecordingPortForward()

    def program() -> None:
        args = {**pod_network(forward), "host_network": True}
        KubernetesDatabase("db", KubernetesDatabaseArgs(object_name="database", **args))

    run = build(program)
    assert forward.calls == []
    check = run.named("db-pgvector")
    assert (check.inputs["host"], check.inputs["port"]) == (NODE_ADDRESS, 5432)
    assert pod(run.named("db-statefulset"))["hostNetwork"] is True


COMPONENTS: dict[str, Callable[[dict[str, Any]], object]] = {
    "database": lambda args: KubernetesDatabase("db", KubernetesDatabaseArgs(**args)),
    "cache": lambda args: KubernetesCache("kv", KubernetesCacheArgs(**args)),
    "object store": lambda args: KubernetesObjectStore("s3", KubernetesObjectStoreArgs(**args)),
    "migration": lambda args: KubernetesMigration(
        "migrate",
        KubernetesMigrationArgs(
            image="appstack/backend:1",
            database_url_secret="db-credentials",
            database_dsn="postgresql://u:p@127.0.0.1:5432/appstack",
            **args,
        ),
    ),
    "backend": lambda args: KubernetesBackend(
        "api", KubernetesBackendArgs(image="appstack/backend:1", **args)
    ),
}


@pytest.mark.parametrize("component", sorted(COMPONENTS))
@pytest.mark.parametrize("forward", [None, ("127.0.0.1", 5432)], ids=["missing", "not-one"])
def test_pods_on_the_cluster_network_need_a_port_forward(component: str, forward: Any) -> None:
    with pytest.raises(ArgsError, match=r"port_forward: expected a PortForward to the namespace"):
        build(lambda: COMPONENTS[component](pod_network(forward)))


def test_host_network_needs_one_backend_replica_only_on_the_node() -> None:
    def program() -> None:
        args = {**pod_network(RecordingPortForward()), "host_network": True}
        KubernetesBackend("api", KubernetesBackendArgs(image="x/y:1", replicas=2, **args))

    with pytest.raises(ArgsError, match=r"replicas: expected 1 with host_network"):
        build(program)


# --------------------------------------------------------------------------------------------
# The platform as the ci-k8s stack without hostNetwork (under mocks: nothing listens), and the
# PortForward it opens under the engine (real listeners, nothing contacted before a client)


@pytest.fixture
def forwards(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A kubectl that exists (never started: no client connects); every PortForward the
    program opened closed afterwards, its listeners released."""
    monkeypatch.setenv(port_forward.KUBECTL_ENV, sys.executable)
    yield
    port_forward.close_all()


def pod_network_stack(**cluster: Any) -> tuple[dict[str, Any], dict[str, int]]:
    """The ci-k8s values without hostNetwork, `cluster` changed, on ports free here now."""
    values = stack_config("ci-k8s")
    values["kubernetes"] = {**values["kubernetes"], "hostNetwork": False, **cluster}
    # Where pods on the node would listen: never an address of these stacks' outputs.
    values["network"] = {**values["network"], "bindAddress": "127.0.0.3"}
    ports = {key: free_port() for key in ("database", "cache", "objectStore", "backend")}
    for key, port in ports.items():
        values[key] = {**values[key], "port": port}
    values["objectStore"]["consolePort"] = free_port()
    return values, ports


def in_use(address: str, port: int) -> bool:
    """Whether something listens on `address:port` (binding it fails)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe_socket:
        try:
            probe_socket.bind((address, port))
        except OSError as error:
            assert error.errno == errno.EADDRINUSE, error
            return True
    return False


def test_the_platform_exports_the_forward_addresses_and_opens_nothing_under_mocks() -> None:
    values, ports = pod_network_stack(replicas=2)
    run = run_stack("ci-k8s", values)
    outputs = run.outputs
    assert (outputs["database"]["host"], outputs["database"]["port"]) == (
        "127.0.0.1",
        ports["database"],
    )
    assert (outputs["cache"]["host"], outputs["cache"]["port"]) == ("127.0.0.1", ports["cache"])
    assert outputs["objectStore"]["endpoint"] == f"127.0.0.1:{ports['objectStore']}"
    assert outputs["backend"]["url"] == f"http://127.0.0.1:{ports['backend']}"
    check = run.named("appstack-database-pgvector")
    assert (check.inputs["host"], check.inputs["port"]) == ("127.0.0.1", ports["database"])
    buckets = [r for r in run.resources if r.name.startswith("appstack-objectstore-bucket-")]
    assert len(buckets) == 3
    for bucket in buckets:
        assert bucket.inputs["endpoint"] == f"127.0.0.1:{ports['objectStore']}"
    # `make check` and `policies.check` need neither kubectl nor the stack's ports free.
    for port in ports.values():
        assert not in_use("127.0.0.1", port)


@pytest.mark.usefixtures("forwards")
def test_a_port_forward_listens_on_the_stack_ports_until_closed() -> None:
    ports = [free_port(), free_port()]
    forward = port_forward.PortForward(port_forward.ClusterAccess(namespace="qa"), "127.0.0.2")
    assert [forward.forward("database", port) for port in ports] == [
        ("127.0.0.2", port) for port in ports
    ]
    # Real listeners on the stack's own ports (so the state's addresses stay put) ...
    assert all(in_use("127.0.0.2", port) for port in ports)
    assert forward.forward("database", ports[0]) == ("127.0.0.2", ports[0])  # opened once
    port_forward.close_all()
    # ... released when closed.
    assert not any(in_use("127.0.0.2", port) for port in ports)


@pytest.mark.usefixtures("forwards")
def test_a_port_on_which_something_listens_is_refused_by_name() -> None:
    forward = port_forward.PortForward(port_forward.ClusterAccess(namespace="qa"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(
            PortForwardError, match=rf"cannot listen on 127.0.0.1:{port} .*database"
        ):
            forward.forward("database", port)


@pytest.mark.usefixtures("forwards")
def test_the_platform_backend_has_its_replicas_and_reaches_the_store_in_the_cluster() -> None:
    values, ports = pod_network_stack(replicas=3)
    run = run_stack("ci-k8s", values)
    deployment = run.named("appstack-backend-deployment")
    assert deployment.inputs["spec"]["replicas"] == 3
    assert deployment.inputs["spec"]["strategy"]["rollingUpdate"] == {
        "maxSurge": 1,
        "maxUnavailable": 0,
    }
    app = only_container(deployment)
    assert env(app)["S3_ENDPOINT"]["value"] == f"objectstore.ci-k8s.svc:{ports['objectStore']}"
    assert env(app)["HOST"]["value"] == "0.0.0.0"
    assert pod(deployment)["hostNetwork"] is False
    database = secret_data(run.named("appstack-database-credentials"))
    assert f"@database.ci-k8s.svc:{ports['database']}/appstack" in database["url"]
    cache = secret_data(run.named("appstack-cache-credentials"))
    assert cache["url"].endswith(f"@cache.ci-k8s.svc:{ports['cache']}/0")


def test_the_platform_uses_the_connect_address() -> None:
    values, ports = pod_network_stack(connectAddress="127.0.0.2")
    outputs = run_stack("ci-k8s", values).outputs
    assert outputs["database"]["host"] == "127.0.0.2"
    assert outputs["objectStore"]["endpoint"] == f"127.0.0.2:{ports['objectStore']}"
    assert outputs["backend"]["url"] == f"http://127.0.0.2:{ports['backend']}"


def test_a_port_forward_without_kubectl_stops_naming_how_to_give_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(port_forward.KUBECTL_ENV, "/nonexistent/kubectl")
    port = free_port()
    forward = port_forward.PortForward(port_forward.ClusterAccess(namespace="qa"))
    try:
        with pytest.raises(PortForwardError, match=r"set APPSTACK_KUBECTL to its path"):
            forward.forward("database", port)
    finally:
        forward.close()
    assert not in_use("127.0.0.1", port)
    # Under mocks the program needs no kubectl at all.
    values, _ = pod_network_stack()
    assert run_stack("ci-k8s", values).outputs["target"] == "kubernetes"
