"""TLS material for tests, made with `openssl` into a directory: two CAs, a server certificate
for IP 127.0.0.1 signed by the first, a client certificate of each CA.

Files: `ca.pem`/`ca.key`, `other-ca.pem`/`other-ca.key`, `server.pem`/`server.key`,
`client.pem`/`client.key` (signed by `ca`), `other-client.pem`/`other-client.key` (by `other-ca`).
"""

from __future__ import annotations

import subprocess
from pathlib import Path


def _openssl(directory: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True, timeout=60)


def _ca(directory: Path, name: str) -> None:
    _openssl(
        directory, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", f"/CN=appstack-test-{name}", "-keyout", f"{name}.key", "-out", f"{name}.pem",
    )  # fmt: skip


def _signed(directory: Path, name: str, ca: str, extensions: str) -> None:
    (directory / f"{name}.ext").write_text(extensions + "\n")
    _openssl(
        directory, "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN=appstack-test-{name}",
        "-keyout", f"{name}.key", "-out", f"{name}.csr",
    )  # fmt: skip
    _openssl(
        directory, "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey",
        f"{ca}.key", "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext",
        "-out", f"{name}.pem",
    )  # fmt: skip


def make_tls_material(directory: Path) -> Path:
    """Write the CAs and certificates into `directory` (made private); return it."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    _ca(directory, "ca")
    _ca(directory, "other-ca")
    _signed(directory, "server", "ca", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth")
    _signed(directory, "client", "ca", "extendedKeyUsage=clientAuth")
    _signed(directory, "other-client", "other-ca", "extendedKeyUsage=clientAuth")
    return directory
