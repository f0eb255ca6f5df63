"""verify treats the outputs as data: only http(s) to the declared host, no redirects followed,
no response body printed, bad arguments and bad outputs exit 2 with one message.

These run without the platform (its checks against real servers are in tests/real/test_verify.py);
HTTP servers here are plain loopback servers started by the test.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from delivery.outputs import OutputsUnavailable
from delivery.preview import is_stack_name
from delivery.promote import promote
from delivery.verify import (
    CheckFailed,
    _port_forward_declared,
    _require_declared,
    check_cors,
    check_health,
    declared_address,
    declared_port_forward,
    main,
    verify_stack,
)
from tests.realservers.process import free_port
from tests.stacks import REPO_ROOT

BODY_SECRET = "BODY-CONTENT-THAT-MUST-NOT-BE-PRINTED"


class _Server(http.server.ThreadingHTTPServer):
    status: int
    headers_out: dict[str, str]
    body: bytes
    seen: list[str]


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def _answer(self) -> None:
        self.server.seen.append(f"{self.command} {self.path}")
        self.send_response(self.server.status)
        for key, value in self.server.headers_out.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(self.server.body)))
        self.end_headers()
        self.wfile.write(self.server.body)

    do_GET = _answer
    do_OPTIONS = _answer

    def log_message(self, *_args: object) -> None:
        pass


def _serve() -> _Server:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.status, httpd.headers_out, httpd.body, httpd.seen = 200, {}, b"", []
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


@pytest.fixture
def server() -> Iterator[_Server]:
    httpd = _serve()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def _outputs(backend_url: str, endpoint: str = "127.0.0.1:1") -> dict[str, Any]:
    port = free_port()
    return {
        "environment": "dev",
        "database": {"dsn": f"postgresql://appstack:pw@127.0.0.1:{port}/appstack"},
        "cache": {"url": f"redis://:pw@127.0.0.1:{port}/0"},
        "objectStore": {
            "endpoint": endpoint,
            "accessKey": "AK",
            "secretKey": "SK",
            "buckets": {"temp": "dev-appstack-temp"},
            "bucketConfig": {
                "temp": {"name": "dev-appstack-temp", "versioning": False, "lifecycleRules": []}
            },
        },
        "backend": {"url": backend_url, "healthPath": "/health"},
        "migration": {"revision": "0001"},
        "corsOrigins": ["http://localhost:3000"],
    }


def _details(outputs: dict[str, Any]) -> dict[str, str]:
    host = declared_address("dev", REPO_ROOT)
    return {r.name: r.detail for r in verify_stack(outputs, timeout=1, host=host)}


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc", "has the scheme 'file'"),
        ("ftp://127.0.0.1", "has the scheme 'ftp'"),
        ("data:text/plain,hello", "has the scheme 'data'"),
        ("http://192.0.2.10:8000", "not the stack's declared address '127.0.0.1'"),
        ("http://127.0.0.1:8000@192.0.2.10", "points at '192.0.2.10'"),
        ("http://user:pw@127.0.0.1:8000", "not the stack's declared address"),
        ("http://127.0.0.1:99999", "is not a valid URL"),
    ],
)
def test_only_http_to_the_declared_host_is_requested(url: str, reason: str) -> None:
    details = _details(_outputs(url, endpoint=url.split("://", 1)[-1]))
    for check in ("health", "cors http://localhost:3000"):
        assert reason in details[check] and "nothing was requested" in details[check]
    assert "root:" not in json.dumps(details)


def test_an_object_store_endpoint_elsewhere_is_not_contacted() -> None:
    details = _details(_outputs("http://127.0.0.1:1", endpoint="file:///etc"))
    assert "objectStore.endpoint has the scheme 'file'" in details["bucket temp"]


def test_a_redirect_is_an_answer_not_followed(server: _Server) -> None:
    target = _serve()
    try:
        server.status = 302
        server.headers_out = {"Location": f"http://127.0.0.1:{target.server_address[1]}/x"}
        url = f"http://127.0.0.1:{server.server_address[1]}"
        with pytest.raises(CheckFailed, match=r"/health answered 302$"):
            check_health(_outputs(url), 2, "127.0.0.1")
        assert target.seen == []
    finally:
        target.shutdown()
        target.server_close()


def test_no_response_body_is_printed(server: _Server) -> None:
    url = f"http://127.0.0.1:{server.server_address[1]}"
    server.status = 503
    server.body = json.dumps(
        {"failing": ["redis", f"<img src=x> {BODY_SECRET}"], "checks": {"redis": BODY_SECRET}}
    ).encode()
    with pytest.raises(CheckFailed) as caught:
        check_health(_outputs(url), 2, "127.0.0.1")
    assert str(caught.value).endswith("/health answered 503: failing redis")
    server.body = BODY_SECRET.encode()
    with pytest.raises(CheckFailed) as caught:
        check_health(_outputs(url), 2, "127.0.0.1")
    assert BODY_SECRET not in str(caught.value)
    server.status = 400
    with pytest.raises(CheckFailed) as caught:
        check_cors(_outputs(url), "http://localhost:3000", 2, "127.0.0.1")
    assert BODY_SECRET not in str(caught.value)
    assert "answered 400 with no access-control-allow-origin" in str(caught.value)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--outputs-file", "x", "--timeout", "nan"], "expected more than 0"),
        (["--outputs-file", "x", "--timeout", "0"], "expected more than 0"),
        (["--outputs-file", "x", "--timeout", "-3"], "expected more than 0"),
        (["--outputs-file", "x", "--timeout", "inf"], "expected more than 0"),
        (["--outputs-file", "x", "--timeout", "soon"], "expected a number of seconds"),
        (["--outputs-file", "x", "--bogus"], "unrecognized arguments"),
        ([], "one of the arguments --stack --outputs-file is required"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("verify: ") and message in err
    assert len(err.strip().splitlines()) == 1 and "usage:" not in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe{}", "is not UTF-8 text"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (json.dumps({"environment": "../../etc/x"}).encode(), "environment is not a stack name"),
        (json.dumps({"environment": 7}).encode(), "is the stack deployed?"),
    ],
)
def test_bad_outputs_exit_2(
    content: bytes, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "outputs.json"
    path.write_bytes(content)
    assert main(["--outputs-file", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def _never_verify(_outputs: Any) -> list[Any]:
    raise AssertionError("bad input must be refused before any live check")


def test_the_declared_address_comes_from_the_stack_file_not_the_outputs(tmp_path: Path) -> None:
    assert declared_address("dev", REPO_ROOT) == "127.0.0.1"
    (tmp_path / "Pulumi.qa.yaml").write_text(
        "config:\n  appstack:network:\n    bindAddress: 10.1.2.3\n"
    )
    assert declared_address("qa", tmp_path) == "10.1.2.3"
    assert declared_address("other", tmp_path) == "127.0.0.1"  # no stack file: the default
    (tmp_path / "Pulumi.bad.yaml").write_text(
        "config:\n  appstack:network:\n    bindAddress: 0.0.0.0\n"
    )
    assert declared_address("bad", tmp_path) == ""
    assert declared_address("../etc", tmp_path) == ""


def test_a_remote_stack_is_verified_on_its_connect_address(tmp_path: Path) -> None:
    """Services on a remote Docker host bind there; this machine reaches them where it says."""
    (tmp_path / "Pulumi.remote.yaml").write_text(
        "config:\n  appstack:network:\n    bindAddress: 10.1.2.3\n"
        "  appstack:docker:\n    host: ssh://deploy@Mini.lan\n    connectAddress: Mini.lan\n"
    )
    assert declared_address("remote", tmp_path) == "mini.lan"
    (tmp_path / "Pulumi.badremote.yaml").write_text(
        "config:\n  appstack:docker:\n    connectAddress: 0.0.0.0\n"
    )
    assert declared_address("badremote", tmp_path) == ""
    (tmp_path / "Pulumi.tunnel.yaml").write_text(
        "config:\n  appstack:docker:\n    host: ssh://deploy@mini.lan\n    tunnel: true\n"
    )
    assert declared_address("tunnel", tmp_path) == "127.0.0.1"  # the tunnel's own address
    with pytest.raises(CheckFailed, match=r"docker\.connectAddress or network\.bindAddress"):
        _require_declared("http://10.1.2.3:8000/health", "mini.lan", "the backend url")
    _require_declared("http://mini.lan:8000/health", "mini.lan", "the backend url")


def test_a_cluster_stack_is_verified_where_its_port_forwards_listen(tmp_path: Path) -> None:
    """Pods on the cluster's network are reached through this machine's port-forwards, on
    kubernetes.connectAddress; pods on the node's network on network.bindAddress."""
    node = "  appstack:network:\n    bindAddress: 10.1.2.3\n"
    stacks = {
        "forwarded": "",
        "forwardedfalse": "  appstack:kubernetes:\n    hostNetwork: false\n",
        "connect": "  appstack:kubernetes:\n    connectAddress: 127.0.0.2\n",
        "emptyconnect": '  appstack:kubernetes:\n    connectAddress: ""\n',
        "badconnect": "  appstack:kubernetes:\n    connectAddress: 10.0.0.5\n",
        "onnode": "  appstack:kubernetes:\n    hostNetwork: true\n    connectAddress: 127.0.0.2\n",
    }
    for name, cluster in stacks.items():
        (tmp_path / f"Pulumi.{name}.yaml").write_text(
            f"config:\n  appstack:target: kubernetes\n{node}{cluster}"
        )
    assert declared_address("forwarded", tmp_path) == "127.0.0.1"
    assert declared_address("forwardedfalse", tmp_path) == "127.0.0.1"
    assert declared_address("connect", tmp_path) == "127.0.0.2"
    assert declared_address("emptyconnect", tmp_path) == "127.0.0.1"
    assert declared_address("badconnect", tmp_path) == ""
    assert declared_address("onnode", tmp_path) == "10.1.2.3"
    # The committed cluster stack puts its pods on the node, on loopback.
    assert declared_address("ci-k8s", REPO_ROOT) == "127.0.0.1"


@pytest.mark.parametrize(
    ("values", "declared"),
    [
        ({}, False),
        ({"target": "docker", "kubernetes": {"hostNetwork": False}}, False),
        ({"target": "kubernetes"}, True),
        ({"target": "kubernetes", "kubernetes": {}}, True),
        ({"target": "kubernetes", "kubernetes": {"hostNetwork": False}}, True),
        ({"target": "kubernetes", "kubernetes": {"hostNetwork": "false"}}, True),
        ({"target": "kubernetes", "kubernetes": {"hostNetwork": True}}, False),
        ({"target": "kubernetes", "kubernetes": {"hostNetwork": "true"}}, False),
    ],
)
def test_a_port_forward_is_declared_by_a_cluster_stack_without_host_network(
    values: dict[str, Any], declared: bool
) -> None:
    assert _port_forward_declared(values) is declared


def test_no_port_forward_is_opened_nor_the_cli_asked_for_other_stacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a cluster stack without hostNetwork reads its config through `pulumi config`."""
    monkeypatch.setenv("PATH", str(tmp_path / "no-pulumi-here"))
    (tmp_path / "Pulumi.onnode.yaml").write_text(
        "config:\n  appstack:target: kubernetes\n  appstack:kubernetes:\n    hostNetwork: true\n"
    )
    (tmp_path / "Pulumi.forwarded.yaml").write_text("config:\n  appstack:target: kubernetes\n")
    assert declared_port_forward("dev", REPO_ROOT) is None
    assert declared_port_forward("ci-k8s", REPO_ROOT) is None
    assert declared_port_forward("onnode", tmp_path) is None
    assert declared_port_forward("../etc", tmp_path) is None
    with pytest.raises(OutputsUnavailable, match=r"the pulumi CLI is not on PATH"):
        declared_port_forward("forwarded", tmp_path)


@pytest.mark.parametrize("name", ["../prod", "prod/x", "prod\n", "", "a b"])
def test_promotion_refuses_a_stack_name_that_is_a_path(name: str, tmp_path: Path) -> None:
    from delivery.promote import BadInput

    assert not is_stack_name(name)
    with pytest.raises(BadInput, match="not a stack name"):
        promote("stage", name, {}, tmp_path / "Pulumi.prod.yaml", _never_verify)


def test_promotion_reads_only_utf8_config(tmp_path: Path) -> None:
    from delivery.promote import BadInput

    config = tmp_path / "Pulumi.prod.yaml"
    config.write_bytes(b"config:\n  appstack:x: \xff\n")
    with pytest.raises(BadInput, match="is not UTF-8 text"):
        promote("stage", "prod", {}, config, _never_verify)
