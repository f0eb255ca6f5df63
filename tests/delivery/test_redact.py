"""Redaction of free text: every form appstack's own secrets take, in linear time.

Secrets are generated the way the stack generates them: pulumi_random's RandomPassword with
`special=False`, i.e. letters and digits only, 32 characters for the database and Redis
passwords, 20 for the MinIO access key and 40 for its secret key (components/common.py).
"""

from __future__ import annotations

import json
import random
import re
import string
from typing import Any

import pytest

from delivery.redact import MASK, PATTERNS, redact

ALPHABET = string.ascii_letters + string.digits


def generated(length: int, seed: int) -> str:
    """A RandomPassword(length, special=False) value."""
    rng = random.Random(seed)
    return "".join(rng.choice(ALPHABET) for _ in range(length))


def _forms(password: str, access_key: str, secret_key: str) -> list[tuple[str, str]]:
    """(text, secret) pairs: every way the stack's secrets reach a diagnostic."""
    envs = [
        f"REDISCLI_AUTH={password}",
        "REDIS_PORT=6379",
        f"MINIO_ROOT_USER={access_key}",
        f"MINIO_ROOT_PASSWORD={secret_key}",
    ]
    return [
        (f"postgresql+psycopg://appstack:{password}@127.0.0.1:5432/appstack", password),
        (f"DATABASE_URL=postgresql://appstack:{password}@dev-database:5432/appstack", password),
        (f"redis://:{password}@127.0.0.1:6379/0", password),
        (f"REDISCLI_AUTH={password}", password),
        (f"env REDISCLI_AUTH={password} redis-cli ping", password),
        (f"MINIO_ROOT_USER={access_key}", access_key),
        (f"MINIO_ROOT_PASSWORD={secret_key}", secret_key),
        (json.dumps(envs), access_key),
        (json.dumps(envs), secret_key),
        (json.dumps(envs), password),
        (json.dumps({"password": password, "user": "appstack"}), password),
        (json.dumps({"secret_key": secret_key}, indent=2), secret_key),
        (f"{{'access_key': '{access_key}'}}", access_key),
        (f"S3_ACCESS_KEY={access_key} S3_SECRET_KEY={secret_key}", access_key),
        (f"S3_ACCESS_KEY={access_key} S3_SECRET_KEY={secret_key}", secret_key),
        (f"Authorization: Bearer {secret_key}", secret_key),
        (f"-H 'authorization: bearer {secret_key}'", secret_key),
        (f"Authorization: Basic {password}", password),
        (f"Bearer {secret_key}", secret_key),
        (f"password={password}; user=appstack", password),
        (f"PASSWORD: {password}", password),
        (f'password = "{password}"', password),
        (f"POSTGRES_PASSWORD={password}", password),
    ]


CASES = [
    (text, secret)
    for seed in range(3)
    for text, secret in _forms(generated(32, seed), generated(20, seed), generated(40, seed))
]


@pytest.mark.parametrize(("text", "secret"), CASES)
def test_every_form_of_a_generated_secret_is_masked(text: str, secret: str) -> None:
    sentence = f"error: creating container failed ({text}) - see the log"
    masked = redact(sentence)
    assert secret not in masked
    assert MASK in masked
    assert masked.startswith("error: creating container failed (")
    assert masked.endswith(") - see the log")


@pytest.mark.parametrize(
    "text",
    [
        "author: Jane Doe",
        "image pgvector/pgvector:pg17@sha256:abc",
        "REDIS_PORT=6379 POSTGRES_USER=appstack",
        "http://127.0.0.1:8000/health answered 503",
        "the bearer of bad news",
        "tokens are fine, password policies too",
    ],
)
def test_text_without_secrets_is_left_alone(text: str) -> None:
    assert redact(text) == text


def test_masking_keeps_the_notation_around_the_secret() -> None:
    password = generated(32, 7)
    assert redact(json.dumps({"password": password})) == '{"password": "***"}'
    assert redact(f"password: '{password}'") == "password: '***'"
    assert redact(f'"password": "a\\"{password}"') == '"password": "***"'
    assert redact(f"Authorization: Bearer {password}") == "Authorization: Bearer ***"
    assert redact(f"redis://:{password}@h:6379") == "redis://:***@h:6379"


def test_a_200000_character_diagnostic_is_redacted_whole() -> None:
    """Hostile filler of every shape the old patterns re-scanned, then secrets at the end."""
    password = generated(32, 11)
    filler = "a" * 60_000 + "a://b:" * 10_000 + "password" * 5_000 + ("x" * 60 + " ") * 1_000
    text = filler + f" MINIO_ROOT_PASSWORD={password} redis://:{password}@h"
    assert len(text) >= 200_000
    masked = redact(text)
    assert password not in masked
    assert masked.endswith(" MINIO_ROOT_PASSWORD=*** redis://:***@h")


# ------------------------------------------------------------------ linear-time structure


def _walk(items: Any, inside_atomic: bool, inside_repeat: bool) -> list[str]:
    """Problems with a parsed pattern that could make matching super-linear."""
    import re._constants as c  # the parser's own opcodes (Python 3.11+)

    problems: list[str] = []
    for op, arg in items:
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
            _low, high, sub = arg
            unbounded = high == c.MAXREPEAT
            if unbounded and inside_repeat:
                problems.append(f"unbounded repeat {op} nested in another unbounded repeat")
            if unbounded and op != c.POSSESSIVE_REPEAT and not inside_atomic:
                problems.append(f"backtracking unbounded {op} outside an atomic group")
            problems += _walk(sub, inside_atomic, inside_repeat or unbounded)
        elif op == c.ATOMIC_GROUP:
            problems += _walk(arg, True, inside_repeat)
        elif op == c.SUBPATTERN:
            problems += _walk(arg[3], inside_atomic, inside_repeat)
        elif op == c.BRANCH:
            for branch in arg[1]:
                problems += _walk(branch, inside_atomic, inside_repeat)
        elif op in (c.ASSERT, c.ASSERT_NOT):
            problems += _walk(arg[1], inside_atomic, inside_repeat)
    return problems


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.pattern[:30])
def test_every_pattern_has_a_linear_structure(pattern: re.Pattern[str]) -> None:
    """No nested quantifiers; every unbounded repeat possessive or inside an atomic group; and
    every match attempt anchored, by a look-behind at the start of a run of name characters or
    by a literal, so that no attempt re-reads a run another attempt read."""
    import re._constants as c
    import re._parser as parser

    parsed = parser.parse(pattern.pattern, pattern.flags)
    assert _walk(list(parsed), False, False) == []
    first_op, first_arg = next(iter(parsed))
    anchored = first_op == c.LITERAL or (first_op == c.ASSERT_NOT and first_arg[0] == -1)
    assert anchored, f"{pattern.pattern[:40]!r} may start a match attempt anywhere"
