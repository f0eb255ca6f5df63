"""Validation shared by the stack settings and the component Args.

The checks themselves (`duration_problem`, `bind_address_problem`, `health_path_problem`,
`build_context_problem`, `origin_problem`, `prefix_problem`, the Go duration parser) each say what
is wrong with one value, or None; `appstack.settings` and every component's Args use the same
ones, so a value is judged the same way wherever it comes from.

Args validation collects every problem, then raises one error that lists them all, in the style of
the settings (`appstack.settings.SettingsError`): each line names the field, what was expected and
what was given, so a user fixes everything at once. Values that are `pulumi.Output`s are not known
until deployment and are not judged here; the resources that receive them (Docker, the dynamic
providers) check them then.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pulumi

from appstack.contract import InvalidImageReference, parse_image_reference

# Patterns are applied with `fullmatch`: `$` would also accept a trailing newline.
DOCKER_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}")
"""A container, volume or network name Docker accepts (and short enough to read)."""
NETWORK_ALIAS = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9_.-]{0,61}[a-zA-Z0-9])?")
"""A network alias: a host name other containers resolve."""
ENVIRONMENT = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,18}[a-z0-9])?")
"""An environment name: the prefix of Docker object and bucket names (lower-case, no dots)."""
SQL_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,62}")
"""A lower-case SQL identifier (database and user names), never quoted."""
# An IPv4 octet as Go's net.ParseIP (which Docker uses) reads it: 0-255, no leading zero.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
# A URL path (RFC 3986 `path-absolute`): "/" then segments of unreserved characters,
# percent-escapes, sub-delimiters, ":" and "@". No query, fragment, space or control character.
_URL_PATH = re.compile(r"/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*")
MAX_HEALTH_PATH = 1024
_DNS_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_ORIGIN = re.compile(
    rf"https?://(?:{_DNS_LABEL}(?:\.{_DNS_LABEL})*|\[[0-9a-f:.]+\])(?::[0-9]{{1,5}})?"
)
MAX_PREFIX_BYTES = 1024
"""S3 object keys, and so lifecycle prefixes, are at most 1024 bytes of UTF-8."""

# Go's time.Duration, as Docker stores health-check timings and pulumi-docker prints them back.
_NANOSECONDS_PER_UNIT = {
    b"ns": 1,
    b"us": 1_000,
    "µs".encode(): 1_000,  # U+00B5 micro sign
    "μs".encode(): 1_000,  # U+03BC Greek mu
    b"ms": 1_000_000,
    b"s": 1_000_000_000,
    b"m": 60 * 1_000_000_000,
    b"h": 3600 * 1_000_000_000,
}
_TWO_TO_THE_63 = 1 << 63
DOCKER_MINIMUM_HEALTH_DURATION = 1_000_000
"""Docker refuses a health-check interval, timeout or start period below 1ms (other than 0)."""


class GoDurationError(ValueError):
    """A string Go's `time.ParseDuration` refuses; the message is Go's."""


def _go_quote(value: bytes) -> str:
    """Go's time.quote: bytes outside printable ASCII as \\xHH, quote and backslash escaped."""
    quoted = "".join(
        f"\\x{byte:02x}"
        if byte >= 0x80 or byte < 0x20
        else ("\\" + chr(byte) if byte in b'"\\' else chr(byte))
        for byte in value
    )
    return f'"{quoted}"'


def parse_go_duration(text: str) -> int:
    """Nanoseconds of `text` exactly as Go's `time.ParseDuration` reads it, or GoDurationError.

    A line-by-line port of Go 1.26's parser (time/format.go), over UTF-8 bytes as Go reads
    strings: signed sequences of decimal numbers with units ns, us/µs/μs, ms, s, m, h.
    """
    original = text.encode("utf-8", "surrogatepass")
    rest = original

    def invalid(message: str = "invalid duration") -> GoDurationError:
        return GoDurationError(f"time: {message} {_go_quote(original)}")

    negative = False
    if rest[:1] in (b"-", b"+"):
        negative = rest[:1] == b"-"
        rest = rest[1:]
    if rest == b"0":
        return 0
    if not rest:
        raise invalid()
    total = 0
    while rest:
        if not (rest[:1] == b"." or rest[:1].isdigit()):
            raise invalid()
        # Consume [0-9]* (overflow is an error).
        index = 0
        whole = 0
        while index < len(rest) and 0x30 <= rest[index] <= 0x39:
            if whole > _TWO_TO_THE_63 // 10:
                raise invalid()
            whole = whole * 10 + rest[index] - 0x30
            if whole > _TWO_TO_THE_63:
                raise invalid()
            index += 1
        before_point = index > 0
        rest = rest[index:]
        # Consume (\.[0-9]*)? (precision stops accumulating on overflow, no error).
        fraction, scale, after_point = 0, 1.0, False
        if rest[:1] == b".":
            rest = rest[1:]
            index = 0
            overflow = False
            while index < len(rest) and 0x30 <= rest[index] <= 0x39:
                if not overflow:
                    if fraction > (_TWO_TO_THE_63 - 1) // 10:
                        overflow = True
                    else:
                        widened = fraction * 10 + rest[index] - 0x30
                        if widened > _TWO_TO_THE_63:
                            overflow = True
                        else:
                            fraction = widened
                            scale *= 10
                index += 1
            after_point = index > 0
            rest = rest[index:]
        if not before_point and not after_point:
            raise invalid()
        # Consume the unit: everything up to the next "." or digit.
        index = 0
        while index < len(rest) and not (rest[index] == 0x2E or 0x30 <= rest[index] <= 0x39):
            index += 1
        if index == 0:
            raise invalid("missing unit in duration")
        unit_text, rest = rest[:index], rest[index:]
        unit = _NANOSECONDS_PER_UNIT.get(unit_text)
        if unit is None:
            raise invalid(f"unknown unit {_go_quote(unit_text)} in duration")
        if whole > _TWO_TO_THE_63 // unit:
            raise invalid()
        whole *= unit
        if fraction > 0:
            # Go computes the fraction in float64 and truncates it, as Python's float does.
            whole += int(float(fraction) * (float(unit) / scale))
            if whole > _TWO_TO_THE_63:
                raise invalid()
        total += whole
        if total > _TWO_TO_THE_63:
            raise invalid()
    if negative:
        return -total
    if total > _TWO_TO_THE_63 - 1:
        raise invalid()
    return total


def _fraction_digits(value: int, precision: int) -> tuple[str, int]:
    """Go's fmtFrac: the fraction of value/10**precision without trailing zeros, and the rest."""
    digits = ""
    printing = False
    for _ in range(precision):
        digit = value % 10
        printing = printing or digit != 0
        if printing:
            digits = str(digit) + digits
        value //= 10
    return ("." + digits if printing else ""), value


def format_go_duration(nanoseconds: int) -> str:
    """The text Go's `time.Duration.String()` prints, e.g. 60s -> "1m0s", 0.5ms -> "500µs"."""
    magnitude = abs(nanoseconds)
    sign = "-" if nanoseconds < 0 else ""
    if magnitude < 1_000_000_000:
        if magnitude == 0:
            return "0s"
        if magnitude < 1_000:
            precision, unit = 0, "ns"
        elif magnitude < 1_000_000:
            precision, unit = 3, "µs"
        else:
            precision, unit = 6, "ms"
        fraction, whole = _fraction_digits(magnitude, precision)
        return f"{sign}{whole}{fraction}{unit}"
    fraction, seconds = _fraction_digits(magnitude, 9)
    text = f"{seconds % 60}{fraction}s"
    minutes = seconds // 60
    if minutes > 0:
        text = f"{minutes % 60}m{text}"
        hours = minutes // 60
        if hours > 0:
            text = f"{hours}h{text}"
    return sign + text


def duration_problem(value: Any, zero_means: str = "") -> str | None:
    """What is wrong with a health-check duration, or None when Docker keeps it as written.

    Docker stores nanoseconds and pulumi-docker prints them back with Go's Duration.String(),
    so only that canonical form round-trips ("1m0s", not "1m"); anything else would show a
    diff on every preview. Docker refuses durations below 1ms other than 0, and 0 means its
    default: allowed only where `zero_means` says what that default is.
    """
    example = 'a duration such as "2s", "500ms" or "1m0s"'
    if not isinstance(value, str):
        return example
    try:
        nanoseconds = parse_go_duration(value)
    except GoDurationError as error:
        return f"{example} ({error})"
    if nanoseconds < 0:
        return f"{example}, not negative"
    if nanoseconds == 0 and not zero_means:
        return f"{example}; 0 would make Docker use its default of 30s"
    if 0 < nanoseconds < DOCKER_MINIMUM_HEALTH_DURATION:
        return f"{example}; Docker refuses durations below 1ms"
    canonical = format_go_duration(nanoseconds)
    if canonical != value:
        return (
            f'the canonical form "{canonical}" (Docker stores nanoseconds and prints them back '
            f'as "{canonical}", so "{value}" would show a diff on every preview)'
        )
    return None


def bind_address_problem(value: Any) -> str | None:
    """Why `value` cannot be the address services listen on, or None.

    Syntax as Docker's parser (Go's net.ParseIP) reads an IPv4 address: four decimal octets
    0-255 without leading zeros. IPv6 is not supported. The address must name one interface:
    not 0.0.0.0 (every interface), a multicast or the broadcast address.
    """
    if not isinstance(value, str) or not _IPV4.fullmatch(value):
        return "an IPv4 address such as 127.0.0.1 (four octets 0-255, no leading zeros)"
    address = ipaddress.IPv4Address(value)
    if address.is_unspecified:
        return "one interface's address, not 0.0.0.0 (that publishes on every interface)"
    if address.is_multicast or address == ipaddress.IPv4Address("255.255.255.255"):
        return "a unicast address a service can listen on"
    return None


def health_path_problem(value: Any) -> str | None:
    """Why `value` is not a URL path the health probe can request, or None."""
    if not isinstance(value, str) or not _URL_PATH.fullmatch(value):
        return (
            "a URL path such as /health: / then letters, digits, -._~!$&'()*+,;=:@/ or "
            "%-escapes (no space, query or fragment)"
        )
    if len(value) > MAX_HEALTH_PATH:
        return f"a URL path of at most {MAX_HEALTH_PATH} characters"
    return None


def build_context_problem(value: Any, *, built: bool, root: Path | None = None) -> str | None:
    """Why `value` is not a directory inside the project to build the backend from, or None.

    Relative to the project (`root`, default the working directory: Pulumi runs a program in its
    project directory, where the Docker provider resolves the build context too), with no way out
    of it (no absolute path, no `..`, no symlink that leads outside), and an existing directory;
    with a Dockerfile when it is `built`.
    """
    expected = "a directory relative to the project, inside it, such as app"
    if not isinstance(value, str) or not value.strip():
        return expected
    relative = Path(value)
    if relative.is_absolute() or value.startswith("~"):
        return f"{expected} (not an absolute path)"
    if ".." in relative.parts:
        return f"{expected} (no ..)"
    project = (root if root is not None else Path.cwd()).resolve()
    try:
        resolved = (project / relative).resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return f"{expected} (it cannot be resolved)"
    if resolved != project and project not in resolved.parents:
        return f"{expected} (it leads outside the project through a symlink)"
    if not resolved.is_dir():
        return f"{expected} (no such directory)"
    if built and not (resolved / "Dockerfile").is_file():
        return f"{expected} holding a Dockerfile (it is built: no image reference is given)"
    return None


def origin_problem(origin: Any) -> str | None:
    """Why a CORS origin is malformed, or None: scheme://host[:port], nothing else.

    Browsers send the Origin header in lower case and the backend compares it exactly, so an
    origin with capitals would never match; a comma would split the CORS_ORIGINS list.
    """
    if not isinstance(origin, str):
        return "not a string"
    try:
        parts = urlsplit(origin)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "bad port or host"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "needs http:// or https:// and a host"
    if parts.path not in ("",) or parts.query or parts.fragment or parts.username:
        return "an origin has no path, query, fragment or credentials"
    if not _ORIGIN.fullmatch(origin):
        return "scheme://host[:port] in lower case, the host a DNS name or an IP address"
    return None


class ArgsError(pulumi.RunError):
    """Invalid arguments of one component, every problem at once; the message is for a person.

    A `pulumi.RunError`, so the engine prints the message alone, without a traceback.
    """

    def __init__(self, component: str, problems: Sequence[str]) -> None:
        self.component = component
        self.problems = list(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(
            f"invalid arguments for {component} ({len(self.problems)} problem(s)):\n{lines}"
        )


def is_plain(value: object) -> bool:
    """True for a value known now; False for an Output (or awaitable) known only at deployment."""
    return not isinstance(value, pulumi.Output) and not hasattr(value, "__await__")


def argv_problem(value: Any, *, allow_empty: bool = False) -> str | None:
    """Why `value` is not a command line (a list of non-empty strings without NUL), or None."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        return "a list of command arguments"
    if not value and not allow_empty:
        return "a non-empty list of command arguments"
    if not all(isinstance(part, str) and part and "\x00" not in part for part in value):
        return "non-empty strings without NUL as command arguments"
    return None


def prefix_problem(value: Any) -> str | None:
    """Why `value` cannot be a lifecycle rule's key prefix, or None."""
    if not isinstance(value, str) or len(value.encode("utf-8", "replace")) > MAX_PREFIX_BYTES:
        return f"a string of at most {MAX_PREFIX_BYTES} bytes"
    return None


class Problems:
    """Collects the problems of one component's Args; `raise_if_any` raises them as one error."""

    def __init__(self, component: str) -> None:
        self.component = component
        self.items: list[str] = []

    def bad(self, field: str, expected: str, got: Any) -> None:
        self.items.append(f"{field}: expected {expected}, got {got!r}")

    def raise_if_any(self) -> None:
        if self.items:
            raise ArgsError(self.component, self.items)

    def check(self, field: str, value: Any, problem: str | None) -> None:
        """Record `problem` (what one of the `*_problem` functions said about `value`), if any."""
        if problem:
            self.bad(field, problem, value)

    def integer(self, field: str, value: Any, low: int, high: int) -> None:
        """A whole number in [low, high] (when known now)."""
        if not is_plain(value):
            return
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.bad(field, f"an integer from {low} to {high}", value)

    def port(self, field: str, value: Any) -> None:
        self.integer(field, value, 1, 65535)

    def flag(self, field: str, value: Any) -> None:
        if is_plain(value) and not isinstance(value, bool):
            self.bad(field, "true or false", value)

    def matches(self, field: str, value: Any, pattern: re.Pattern[str], what: str) -> None:
        """A string matching all of `pattern` (when known now); `what` describes it to a person."""
        if is_plain(value) and not (isinstance(value, str) and pattern.fullmatch(value)):
            self.bad(field, what, value)

    def image(self, field: str, value: Any) -> None:
        """A well-formed image reference, always plain (see the Args docstrings for why)."""
        if not isinstance(value, str) or not value.strip():
            self.bad(
                field, "an image reference such as pgvector/pgvector:pg17 (a plain string)", value
            )
            return
        try:
            parse_image_reference(value)
        except InvalidImageReference as error:
            self.bad(field, f"a well-formed image reference ({error})", value)

    def argv(self, field: str, value: Any, *, allow_empty: bool = False) -> None:
        """A list of non-empty command arguments without NUL (plain)."""
        self.check(field, value, argv_problem(value, allow_empty=allow_empty))

    def duration(self, field: str, value: Any, *, zero_means: str = "") -> None:
        """A health-check duration Docker keeps as written (see `duration_problem`)."""
        self.check(field, value, duration_problem(value, zero_means))

    def ipv4(self, field: str, value: Any) -> None:
        """An address to listen on, as Docker parses it (see `bind_address_problem`)."""
        self.check(field, value, bind_address_problem(value))
