"""The backend's container health check: a fixed probe program that takes its URL as data.

The configured `backend.healthPath` used to be pasted into the probe's Python source, so a quote
broke the probe (the container never became healthy) and a crafted path ran code. These tests
take the health check the program really declares and run it against a loopback HTTP server.
"""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from appstack.backend import HEALTH_PROBE
from tests.stacks import run_stack, stack_config
from tests.test_program import container

# Valid URL path characters only (the settings accept it), yet Python code if pasted into source.
INJECTION = "/x');__import__('pathlib').Path('pwned').touch();('"


class _Server(http.server.ThreadingHTTPServer):
    seen: list[str]
    status: int


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.seen.append(self.path)
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[_Server]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.seen, httpd.status = [], 200
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def _declared_probe(stack: str, health_path: str) -> list[str]:
    values = stack_config(stack)
    values["backend"] = {**values.get("backend", {}), "healthPath": health_path}
    tests = container(run_stack(stack, values), "backend").inputs["healthcheck"]["tests"]
    assert tests[:2] == ["CMD", "python3"], tests
    return list(tests[1:])


def _run_against(argv: list[str], server: _Server, cwd: Path, internal: str) -> int:
    port = server.server_address[1]
    local = [sys.executable] + [arg.replace(internal, f"127.0.0.1:{port}") for arg in argv[1:]]
    return subprocess.run(local, cwd=cwd, timeout=20, check=False).returncode


@pytest.mark.parametrize("path", ["/health", "/it's(ok)", INJECTION])
def test_the_probe_requests_the_configured_path_as_data(
    path: str, server: _Server, tmp_path: Path
) -> None:
    argv = _declared_probe("dev", path)
    assert argv[1:3] == ["-c", HEALTH_PROBE], "the probe's code never changes with the path"
    assert _run_against(argv, server, tmp_path, "127.0.0.1:8000") == 0
    assert server.seen == [path]
    assert not (tmp_path / "pwned").exists()


def test_an_unhealthy_answer_fails_the_probe(server: _Server, tmp_path: Path) -> None:
    server.status = 503
    argv = _declared_probe("dev", "/health")
    assert _run_against(argv, server, tmp_path, "127.0.0.1:8000") != 0


def test_in_host_mode_the_probe_asks_the_address_the_backend_listens_on() -> None:
    """In host mode the backend binds the stack's bind address, not every interface."""
    values = stack_config("ci")
    values["network"] = {"mode": "host", "bindAddress": "10.0.0.5"}
    backend = container(run_stack("ci", values), "backend")
    envs = dict(entry.split("=", 1) for entry in backend.inputs["envs"])
    assert envs["HOST"] == "10.0.0.5"
    assert backend.inputs["healthcheck"]["tests"][-1] == "http://10.0.0.5:28000/health"
