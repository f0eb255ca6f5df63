"""`appstack:target` and `appstack:kubernetes`: the defaults, the merge and every refusal."""

from __future__ import annotations

from typing import Any

import pytest

from appstack.defaults import defaults
from appstack.settings import SettingsError, parse_settings
from tests.stacks import stack_config

KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\n"


def kubernetes_stack(**cluster: Any) -> dict[str, Any]:
    """The committed ci-k8s values with some `appstack:kubernetes` fields changed."""
    values = stack_config("ci-k8s")
    values["kubernetes"] = {**values["kubernetes"], **cluster}
    return values


def test_docker_is_the_default_target_and_has_no_cluster_settings() -> None:
    settings = parse_settings("dev", stack_config("dev"))
    assert settings.target == "docker"
    assert settings.kubernetes is None


def test_the_ci_k8s_stack_targets_kubernetes_with_its_namespace_and_resources() -> None:
    settings = parse_settings("ci-k8s", stack_config("ci-k8s"))
    assert settings.target == "kubernetes"
    cluster = settings.kubernetes
    assert cluster is not None
    assert (cluster.namespace, cluster.storage_class, cluster.host_network) == (
        "ci-k8s",
        "local",
        True,
    )
    assert cluster.requests == {"cpu": "50m", "memory": "64Mi"}
    assert cluster.limits == {"memory": "512Mi"}
    assert (cluster.replicas, cluster.image_pull_policy) == (1, "Never")


def test_the_namespace_defaults_to_the_environment() -> None:
    values = kubernetes_stack()
    del values["kubernetes"]["namespace"]
    settings = parse_settings("qa", values)
    assert settings.kubernetes is not None and settings.kubernetes.namespace == "qa"


def test_pods_are_on_the_cluster_network_by_default_with_any_number_of_backends() -> None:
    values = kubernetes_stack(replicas=2)
    del values["kubernetes"]["hostNetwork"]
    cluster = parse_settings("ci-k8s", values).kubernetes
    assert cluster is not None
    assert (cluster.host_network, cluster.replicas) == (False, 2)
    explicit = parse_settings("ci-k8s", kubernetes_stack(hostNetwork=False, replicas=5)).kubernetes
    assert explicit is not None
    assert (explicit.host_network, explicit.replicas) == (False, 5)


@pytest.mark.parametrize(
    ("given", "taken"),
    [
        (None, "127.0.0.1"),
        ("", "127.0.0.1"),
        ("127.0.0.1", "127.0.0.1"),
        ("127.0.0.2", "127.0.0.2"),
    ],
)
def test_the_port_forwards_listen_on_a_loopback_connect_address(
    given: str | None, taken: str
) -> None:
    values = kubernetes_stack(hostNetwork=False)
    if given is not None:
        values["kubernetes"]["connectAddress"] = given
    cluster = parse_settings("ci-k8s", values).kubernetes
    assert cluster is not None and cluster.connect_address == taken


def test_a_kubeconfig_set_as_a_secret_is_taken_and_a_context_too() -> None:
    secret = parse_settings(
        "ci-k8s", kubernetes_stack(kubeconfig=KUBECONFIG), frozenset({"kubernetes"})
    )
    assert secret.kubernetes is not None and secret.kubernetes.kubeconfig == KUBECONFIG
    context = parse_settings("ci-k8s", kubernetes_stack(context="kind-appstack"))
    assert context.kubernetes is not None and context.kubernetes.context == "kind-appstack"


def test_a_plain_text_kubeconfig_is_refused_without_showing_it() -> None:
    with pytest.raises(SettingsError, match=r"kubernetes\.kubeconfig: expected a secret") as error:
        parse_settings("ci-k8s", kubernetes_stack(kubeconfig=KUBECONFIG))
    assert "clusters" not in str(error.value)


@pytest.mark.parametrize(
    ("changes", "pattern"),
    [
        ({"namespace": "Not_A_Name"}, r"kubernetes\.namespace: expected a namespace name"),
        ({"storageClass": "Local Disk"}, r"kubernetes\.storageClass: expected a storage class"),
        ({"storageSize": "lots"}, r"kubernetes\.storageSize: expected a Kubernetes quantity"),
        ({"replicas": 0}, r"kubernetes\.replicas: expected an integer from 1 to 100"),
        ({"replicas": 3}, r"kubernetes\.replicas: expected 1 with hostNetwork"),
        ({"hostNetwork": True, "replicas": 2}, r"kubernetes\.replicas: expected 1 with hostNet"),
        ({"connectAddress": "10.0.0.5"}, r"kubernetes\.connectAddress: expected a loopback"),
        ({"connectAddress": "localhost"}, r"kubernetes\.connectAddress: expected a loopback"),
        ({"connectAddress": "0.0.0.0"}, r"kubernetes\.connectAddress: expected a loopback"),
        ({"connectAddress": "127.0.0.256"}, r"kubernetes\.connectAddress: expected a loopback"),
        ({"imagePullPolicy": "Sometimes"}, r"kubernetes\.imagePullPolicy: expected one of Always"),
        (
            {"resources": {"requests": {"gpu": "1"}}},
            r"kubernetes\.resources\.requests\.gpu: expected cpu or memory",
        ),
        (
            {"resources": {"limits": {"memory": "lots"}}},
            r"kubernetes\.resources\.limits\.memory: expected a Kubernetes quantity",
        ),
        ({"resources": {"caps": {}}}, r"kubernetes\.resources: expected an object with requests"),
        ({"contxt": "x"}, r"kubernetes\.contxt: expected one of the keys"),
    ],
)
def test_each_bad_cluster_setting_is_named(changes: dict[str, Any], pattern: str) -> None:
    with pytest.raises(SettingsError, match=pattern):
        parse_settings("ci-k8s", kubernetes_stack(**changes))


def test_a_context_and_a_kubeconfig_together_are_refused() -> None:
    with pytest.raises(SettingsError, match=r"kubernetes\.context: expected empty when"):
        parse_settings(
            "ci-k8s",
            kubernetes_stack(kubeconfig=KUBECONFIG, context="other"),
            frozenset({"kubernetes"}),
        )


def test_an_unknown_target_and_a_cluster_without_an_image_are_refused_together() -> None:
    values = kubernetes_stack()
    values["backend"] = {**values["backend"], "image": ""}
    with pytest.raises(SettingsError) as error:
        parse_settings("ci-k8s", values)
    assert "appstack:backend.image: expected an image reference (a cluster does not build" in str(
        error.value
    )
    values = stack_config("dev")
    values["target"] = "nomad"
    with pytest.raises(SettingsError, match=r'appstack:target: expected "docker" or "kubernetes"'):
        parse_settings("dev", values)


def test_cluster_settings_are_checked_on_a_docker_stack_too() -> None:
    """A typo in `appstack:kubernetes` is found before the day the target switches."""
    values = stack_config("dev")
    values["kubernetes"] = {"storageSize": "big"}
    with pytest.raises(SettingsError, match=r"kubernetes\.storageSize"):
        parse_settings("dev", values)


def test_a_docker_section_is_refused_on_a_kubernetes_stack_unless_it_is_the_default() -> None:
    """The CLI passes every key declared in Pulumi.yaml with its default, `docker` included."""
    values = kubernetes_stack()
    values["docker"] = defaults()["docker"]
    assert parse_settings("ci-k8s", values).target == "kubernetes"
    values["docker"] = {**defaults()["docker"], "host": "ssh://deploy@mini.lan"}
    with pytest.raises(SettingsError, match=r"appstack:docker: expected its defaults on a kuber"):
        parse_settings("ci-k8s", values)
