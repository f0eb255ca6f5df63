"""Masking of credentials in free text (diagnostics, error messages) before it is printed.

The delivery commands never print property values on purpose; this is the second line of defence
for text they must show, such as an engine diagnostic that quotes a DSN.
"""

from __future__ import annotations

import re

MASK = "***"

# scheme://user:password@host -> scheme://user:***@host ; scheme://:password@host likewise.
_URL_CREDENTIALS = re.compile(
    r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*:)(?P<secret>[^\s@/]+)@"
)
# password=..., secret_key: ..., token="..." (key names that conventionally carry secrets).
_KEY_VALUE = re.compile(
    r"(?P<key>\b[\w.-]*(?:password|passwd|secret|token|access[_-]?key|api[_-]?key)[\w.-]*"
    r"\s*[=:]\s*)(?P<quote>[\"']?)(?P<secret>[^\s\"',;&]+)",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """Return ``text`` with URL credentials and ``password=``-style values replaced by ``***``."""
    text = _URL_CREDENTIALS.sub(lambda m: f"{m.group('head')}{MASK}@", text)
    return _KEY_VALUE.sub(lambda m: f"{m.group('key')}{m.group('quote')}{MASK}", text)
