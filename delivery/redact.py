"""Masking of credentials in free text (diagnostics, error messages) before it is printed.

The delivery commands never print property values on purpose; this is the second line of defence
for text they must show, such as an engine diagnostic that quotes a DSN or a container's
environment. It masks:

- URL credentials: ``scheme://user:password@host`` -> ``scheme://user:***@host``;
- values of keys whose name says they hold a secret, in every notation a diagnostic uses:
  ``password=x``, ``secret_key: x``, ``"password": "x"`` (JSON), ``MINIO_ROOT_USER=x`` and
  ``MINIO_ROOT_PASSWORD=x`` (MinIO's root credentials), ``REDISCLI_AUTH=x`` (the Redis
  password), ``Authorization: Bearer x``;
- ``Bearer x`` tokens on their own.

Linear time, whatever the text: diagnostics can be hundreds of kilobytes. Every pattern starts
either at a fixed anchor (``://``) or, through a look-behind, only at the first character of a
run of name characters, so match attempts never re-scan the same run; repeats are possessive
(``*+``), and the one backtracking repeat (finding the secret word inside a key) sits in an
atomic group, so a failed attempt is not retried at later words of the same key.
``tests/delivery/test_redact.py`` checks that structure; ``benchmarks/redact.py`` measures it.
"""

from __future__ import annotations

import re

MASK = "***"

# Words that make a key name a secret's name (matched anywhere in the name, any case).
# "authorization" comes before "auth", which must not match "author".
SECRET_KEY_WORDS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "credential",
    r"access[_-]?key",
    r"api[_-]?key",
    r"private[_-]?key",
    "authorization",
    "auth(?!or)",
    r"root[_-]?user",
)

# scheme://user:password@host -> scheme://user:***@host ; scheme://:password@host likewise.
# Starts only at "://"; each attempt stops at the next "/" (so before the next "://").
_URL_CREDENTIALS = re.compile(r"://(?P<user>[^\s/?#@:]*+):(?P<secret>[^\s/?#@]++)@")

# KEY<sep>VALUE where KEY (a run of name characters) contains a secret word. VALUE is a
# double-quoted JSON string (escapes allowed), a single-quoted string or a bare token (up to a
# space, quote, separator or closing bracket), after an optional HTTP authentication scheme.
_KEY_VALUE = re.compile(
    r"(?<![\w.-])"
    rf"(?P<key>(?>[\w.-]*?(?:{'|'.join(SECRET_KEY_WORDS)}))[\w.-]*+)"
    r"(?P<separator>[\"']?+[ \t]*+[=:][ \t]*+)"
    r"(?P<scheme>(?:bearer|basic|digest|token)[ \t]++)?+"
    r"(?:\"(?P<double>(?:[^\"\\\n]|\\.)*+)\"?+|'(?P<single>[^'\n]*+)'?+|(?P<bare>[^\s\"',;&)\]}>]++))",
    re.IGNORECASE,
)

# A bearer token without a key in front of it (e.g. a header value quoted alone).
_BEARER = re.compile(r"(?<![\w.-])(?P<scheme>bearer[ \t]++)(?P<secret>[\w.~+/=-]{8,}+)", re.I)

PATTERNS = (_URL_CREDENTIALS, _KEY_VALUE, _BEARER)
"""Every pattern `redact` applies, in order (the tests inspect their structure)."""


def _mask_key_value(match: re.Match[str]) -> str:
    head = match.group("key") + match.group("separator") + (match.group("scheme") or "")
    if match.group("double") is not None:
        closing = '"' if match.group(0).endswith('"') else ""
        return f'{head}"{MASK}{closing}'
    if match.group("single") is not None:
        closing = "'" if match.group(0).endswith("'") else ""
        return f"{head}'{MASK}{closing}"
    return head + MASK


def redact(text: str) -> str:
    """Return ``text`` with URL credentials and secret-named values replaced by ``***``."""
    text = _URL_CREDENTIALS.sub(lambda m: f"://{m.group('user')}:{MASK}@", text)
    text = _KEY_VALUE.sub(_mask_key_value, text)
    return _BEARER.sub(lambda m: f"{m.group('scheme')}{MASK}", text)
