"""The TLS preflight against a real TLS server on loopback: a Python HTTPS server the test
starts in a thread (the test's CA, client certificates required) that answers `/version` like a
Docker engine. One message per fault, naming the host and never the key; the PEM files the check
writes are gone afterwards. No Docker engine is involved."""

from __future__ import annotations

import json
import ssl
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from appstack.docker_target import DockerTarget
from appstack.preflight import PreflightError, tls_version
from tests.realservers.process import free_port
from tests.realservers.tls import make_tls_material

pytestmark = pytest.mark.real


class _Engine(BaseHTTPRequestHandler):
    api_version = "1.41"

    def do_GET(self) -> None:
        body = json.dumps({"Version": "test", "ApiVersion": self.api_version}).encode()
        self.send_response(200 if self.path == "/version" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def material(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tls_material(tmp_path_factory.mktemp("tls-material"))


@pytest.fixture(scope="module")
def server(material: Path) -> Iterator[ThreadingHTTPServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(material / "server.pem", material / "server.key")
    context.load_verify_locations(material / "ca.pem")
    context.verify_mode = ssl.CERT_REQUIRED
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Engine)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def target(material: Path, port: int, client: str = "client", ca: str = "ca") -> DockerTarget:
    return DockerTarget(
        host=f"tcp://127.0.0.1:{port}",
        tls_ca_cert=(material / f"{ca}.pem").read_text(),
        tls_cert=(material / f"{client}.pem").read_text(),
        tls_key=(material / f"{client}.key").read_text(),
    )


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the check's temporary directory goes, so the test can see it is removed."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_the_engine_answers_with_its_api_version_and_no_file_is_left(
    material: Path, server: ThreadingHTTPServer, private_tmp: Path
) -> None:
    assert tls_version(target(material, server.server_address[1])) == "1.41"
    assert list(private_tmp.iterdir()) == []


@pytest.mark.parametrize(
    ("client", "ca", "expected"),
    [
        ("other-client", "ca", "the host refused this machine's client certificate"),
        ("client", "other-ca", "its server certificate is not trusted"),
    ],
)
def test_each_tls_fault_is_one_message_naming_the_host_without_the_key(
    material: Path,
    server: ThreadingHTTPServer,
    private_tmp: Path,
    client: str,
    ca: str,
    expected: str,
) -> None:
    tls = target(material, server.server_address[1], client, ca)
    with pytest.raises(PreflightError) as raised:
        tls_version(tls)
    message = str(raised.value)
    assert message.startswith(f"cannot deploy to the Docker host {tls.host}: "), message
    assert expected in message, message
    assert message.endswith("Nothing was changed."), message
    assert tls.tls_key.splitlines()[1] not in message
    assert list(private_tmp.iterdir()) == []


def test_an_unreachable_port_and_mismatched_material_are_named(material: Path) -> None:
    with pytest.raises(PreflightError, match="the host is unreachable"):
        tls_version(target(material, free_port()))
    mismatched = DockerTarget(
        host="tcp://127.0.0.1:2376",
        tls_ca_cert=(material / "ca.pem").read_text(),
        tls_cert=(material / "client.pem").read_text(),
        tls_key=(material / "other-client.key").read_text(),
    )
    with pytest.raises(PreflightError, match="its TLS material does not load") as raised:
        tls_version(mismatched)
    assert mismatched.tls_key.splitlines()[1] not in str(raised.value)


def test_an_engine_older_than_api_1_41_is_refused(
    material: Path, server: ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_Engine, "api_version", "1.40")
    with pytest.raises(PreflightError, match=r"speaks API 1\.40, older than the 1\.41"):
        tls_version(target(material, server.server_address[1]))
