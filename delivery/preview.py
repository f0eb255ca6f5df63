"""Render ``pulumi preview --json`` output as a short Markdown summary for a pull-request comment.

Two input shapes are understood, both as the Pulumi CLI writes them:

* the preview digest (``pulumi preview --json``): one JSON object with ``steps[]`` (``op``,
  ``urn``, ``oldState``/``newState``, ``diffReasons``, ``replaceReasons``, ``detailedDiff`` of
  ``{kind, inputDiff}``), ``diagnostics[]`` (``urn``, ``message``, ``severity``) and
  ``changeSummary`` (count per op). The digest drops policy events, so it lists no violations.
* engine events (``PULUMI_ENABLE_STREAMING_JSON_PREVIEW=true pulumi preview --json``): one JSON
  object per line, of which ``resourcePreEvent``/``resOutputsEvent`` (``metadata``: ``op``,
  ``urn``, ``type``, ``old``/``new``, ``keys``, ``diffs``, ``detailedDiff`` of ``{diffKind,
  inputDiff}``), ``policyEvent`` (``policyName``, ``policyPackName``, ``enforcementLevel``,
  ``resourceUrn``, ``message``), ``diagnosticEvent`` and ``summaryEvent.resourceChanges`` are used.
  This is the shape CI uses, because it carries the policy violations.

Only resource names, types, operations and property *names* are rendered, never property values,
so nothing secret (shown by Pulumi as ``"[secret]"`` or a signature object) can leak; free text
(diagnostics, policy messages) is passed through :func:`delivery.redact.redact` as well.

Everything taken from the preview is untrusted. Free text is rendered inert: HTML is escaped
(no ``<img>``, no unclosed ``<details>``), Markdown punctuation that links, emphasises or quotes
is escaped, and mentions, URLs and issue references are broken with an invisible zero-width
space so GitHub neither links nor notifies. Names, types, property names and stack names (also
those read from URNs) are shown as code spans, with backticks replaced and ``|`` escaped so a
table cell cannot be left. Control and bidirectional-override characters become U+FFFD.

Input that is not a preview (not UTF-8, not JSON, nested too deeply, a field of the wrong type)
raises :class:`PreviewFormatError`, naming the field but never quoting a value; the command line
then renders that stack's "No usable preview" section.

Data-loss flags follow what each resource type's delete really does (``DELETE_EFFECTS``): a
Docker volume's delete removes its data, a bucket's removes the bucket, a container's removes its
anonymous volumes (a database container keeps its data there unless a named volume is mounted),
a Kubernetes PersistentVolumeClaim's releases its volume and a StatefulSet's takes its pods (and
templated claims) with it, and a ``PgvectorExtension``'s delete never drops anything.

The comment is kept under GitHub's 65,536-character limit by lowering the level of detail (long
lists become counts per type, "and N more" lines) until it fits; a table is never cut in half and
every count stays exact.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from delivery.redact import redact

MARKER = "<!-- appstack-preview -->"
GITHUB_COMMENT_LIMIT = 65_536
# Head-room below GitHub's limit, measured in UTF-8 bytes (never fewer than characters).
DEFAULT_MAX_CHARS = 60_000

ROOT_STACK_TYPE = "pulumi:pulumi:Stack"
REPLACE_OPS = frozenset(
    {"replace", "create-replacement", "delete-replaced", "discard-replaced", "import-replacement"}
)
DELETE_OPS = frozenset({"delete"})
# The order in which operation counts are shown; unknown ops follow alphabetically.
OP_ORDER = ("replace", "delete", "update", "create", "read", "import", "refresh", "discard", "same")
OP_VERBS = {
    "replace": "to replace",
    "delete": "to delete",
    "update": "to update",
    "create": "to create",
    "same": "unchanged",
}

CONTAINER_TYPE = "docker:index/container:Container"
STATEFUL_LABEL = "appstack.stateful"
ROLE_LABEL = "appstack.role"
KNOWN_OPS = frozenset(OP_ORDER) | REPLACE_OPS | {"read-replacement", "remove-pending-replace"}
KNOWN_LEVELS = frozenset({"mandatory", "advisory", "remediate", "disabled", "warning"})
MIN_MAX_CHARS = 1_000
"""The smallest comment budget accepted: room for the marker, headings and the overview."""


class PreviewFormatError(ValueError):
    """The input is not preview JSON in either shape the Pulumi CLI writes."""


# --------------------------------------------------------------------------------------------
# What each resource type's delete does to data (the one place data-loss flags come from)


@dataclass(frozen=True)
class DeletedState:
    """What a preview says about a resource that a replacement or deletion would delete."""

    name: str
    labels: Mapping[str, str]
    states: Sequence[Mapping[str, Any] | None]


def _volume_delete(_resource: DeletedState) -> str:
    """pulumi-docker's Volume delete removes the Docker volume and every file in it."""
    return "docker volume"


def _bucket_delete(_resource: DeletedState) -> str:
    """The Bucket provider's delete removes the bucket (with force_destroy, all its objects;
    without, it refuses a bucket that holds objects and the deployment stops there)."""
    return "bucket"


def _pgvector_delete(_resource: DeletedState) -> str:
    """The PgvectorExtension provider's delete does nothing: the extension, the vector columns
    and their data stay (components/pgvector.py). Its replacement loses nothing."""
    return ""


def _named_volume_mounted(states: Sequence[Mapping[str, Any] | None]) -> bool:
    for state in states:
        props = state.get("inputs") if isinstance(state, Mapping) else None
        volumes = props.get("volumes") if isinstance(props, Mapping) else None
        if isinstance(volumes, list) and any(
            isinstance(v, Mapping) and isinstance(v.get("volumeName"), str) and v["volumeName"]
            for v in volumes
        ):
            return True
    return False


def _container_delete(resource: DeletedState) -> str:
    """pulumi-docker's Container delete removes the container and, with `removeVolumes` (true by
    default), its anonymous volumes. A database image declares its data directory a volume, so a
    database container without a named volume keeps its data in one that the delete removes."""
    if any(isinstance(s, Mapping) and _input(s, "removeVolumes") is False for s in resource.states):
        return ""
    is_database = resource.labels.get(ROLE_LABEL) == "database" or resource.name.endswith(
        "-database-container"
    )
    if is_database and not _named_volume_mounted(resource.states):
        return "database container"
    return ""


def _input(state: Mapping[str, Any], key: str) -> Any:
    props = state.get("inputs")
    return props.get(key) if isinstance(props, Mapping) else None


def _claim_delete(_resource: DeletedState) -> str:
    """Deleting a PersistentVolumeClaim releases its volume; with the usual `Delete` reclaim
    policy the volume and its data go with it."""
    return "persistent volume claim"


def _statefulset_delete(_resource: DeletedState) -> str:
    """Replacing or deleting a StatefulSet stops its database pods, and claims it made from
    `volumeClaimTemplates` go with it under a `Delete` retention policy: a reviewer must see it."""
    return "statefulset"


DELETE_EFFECTS: dict[str, Callable[[DeletedState], str]] = {
    "docker:index/volume:Volume": _volume_delete,
    "kubernetes:core/v1:PersistentVolumeClaim": _claim_delete,
    "kubernetes:apps/v1:StatefulSet": _statefulset_delete,
    "pulumi-python:dynamic/appstack:Bucket": _bucket_delete,
    "pulumi-python:dynamic/appstack:PgvectorExtension": _pgvector_delete,
    CONTAINER_TYPE: _container_delete,
}
"""Per resource type: why its delete loses data ("" when it does not). Types not listed lose
data only when they say so themselves, with the label `appstack.stateful=true`."""


@dataclass(frozen=True)
class Change:
    """One resource the preview would change, reduced to what a reviewer needs (no values)."""

    op: str
    urn: str
    type: str
    name: str
    changed: tuple[str, ...] = ()
    replace_keys: tuple[str, ...] = ()
    stateful: str = ""  # why the resource holds data; empty when it does not
    protected: bool = False
    retained: bool = False

    @property
    def data_loss_risk(self) -> bool:
        """A stateful resource that would be replaced or deleted."""
        return bool(self.stateful) and self.op in ("replace", "delete")


@dataclass(frozen=True)
class PolicyViolation:
    """One policy violation reported by the engine."""

    policy: str
    pack: str
    level: str
    urn: str
    message: str


@dataclass(frozen=True)
class Diagnostic:
    """A warning or error the engine reported."""

    severity: str
    urn: str
    message: str


@dataclass
class StackPreview:
    """Everything rendered for one stack."""

    stack: str
    counts: dict[str, int] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    violations: list[PolicyViolation] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    error: str = ""  # set when the preview output could not be read at all

    def by_op(self, *ops: str) -> list[Change]:
        """Changes with one of ``ops``, in a stable order (data-loss risks first, then name)."""
        selected = [c for c in self.changes if c.op in ops]
        return sorted(selected, key=lambda c: (not c.data_loss_risk, c.op, c.type, c.name))

    @property
    def risks(self) -> list[Change]:
        """Stateful resources that would be replaced or deleted."""
        return [c for c in self.changes if c.data_loss_risk]


# --------------------------------------------------------------------------------------------
# Parsing


def _urn_parts(urn: str) -> tuple[str, str, str]:
    """Return (stack, type, name) of a Pulumi URN ``urn:pulumi:stack::project::a$b$type::name``."""
    parts = urn.split("::", 3)
    if len(parts) < 4 or not parts[0].startswith("urn:pulumi:"):
        return "", "", urn
    stack = parts[0].removeprefix("urn:pulumi:")
    return stack, parts[2].rsplit("$", 1)[-1], parts[3]


def _labels(state: Mapping[str, Any] | None) -> dict[str, str]:
    """The docker ``labels`` of a state as a dict, skipping secret or malformed entries."""
    found: dict[str, str] = {}
    if not isinstance(state, Mapping):
        return found
    for section in ("outputs", "inputs"):
        props = state.get(section)
        labels = props.get("labels") if isinstance(props, Mapping) else None
        if not isinstance(labels, list):
            continue
        for entry in labels:
            if isinstance(entry, Mapping):
                key, value = entry.get("label"), entry.get("value")
                if isinstance(key, str) and isinstance(value, str):
                    found[key] = value
    return found


def _stateful_reason(type_: str, name: str, states: Sequence[Mapping[str, Any] | None]) -> str:
    """Why deleting this resource loses data (empty string when it does not): `DELETE_EFFECTS`."""
    labels: dict[str, str] = {}
    for state in states:
        labels.update(_labels(state))
    effect = DELETE_EFFECTS.get(type_)
    if effect is not None:
        return effect(DeletedState(name, labels, states))
    if labels.get(STATEFUL_LABEL, "").lower() == "true":
        return f"labelled {STATEFUL_LABEL}"
    return ""


def _flag(states: Sequence[Mapping[str, Any] | None], key: str) -> bool:
    return any(isinstance(s, Mapping) and s.get(key) is True for s in states)


_TYPE_NAMES = {
    dict: "an object",
    list: "a list",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "true or false",
    type(None): "null",
}


def _kind(value: Any) -> str:
    """What a JSON value is, in words (never the value itself: it may be secret)."""
    return _TYPE_NAMES.get(type(value), type(value).__name__)


class _Fields:
    """Typed access to one JSON object of the preview; a wrong type is a PreviewFormatError
    naming the field (``steps[3].urn``) and what it holds, never its value."""

    def __init__(self, where: str, value: Any) -> None:
        if not isinstance(value, Mapping):
            raise PreviewFormatError(f"{where}: expected an object, got {_kind(value)}")
        self.where = where
        self.values: Mapping[str, Any] = value

    def _wrong(self, key: str, expected: str) -> PreviewFormatError:
        return PreviewFormatError(
            f"{self.where}.{key}: expected {expected}, got {_kind(self.values.get(key))}"
        )

    def has(self, key: str) -> bool:
        return self.values.get(key) is not None

    def text(self, key: str) -> str:
        """A string field ("" when absent or null)."""
        value = self.values.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self._wrong(key, "a string")
        return value

    def required_text(self, key: str) -> str:
        if not isinstance(self.values.get(key), str):
            raise self._wrong(key, "a string")
        return str(self.values[key])

    def flag(self, key: str) -> bool:
        value = self.values.get(key)
        if value is not None and not isinstance(value, bool):
            raise self._wrong(key, "true or false")
        return bool(value)

    def object(self, key: str) -> _Fields | None:
        value = self.values.get(key)
        return None if value is None else _Fields(f"{self.where}.{key}", value)

    def state(self, key: str) -> Mapping[str, Any] | None:
        """A resource state (old/new): an object whose `type` is a string when present."""
        fields = self.object(key)
        if fields is None:
            return None
        fields.text("type")
        return fields.values

    def items(self, key: str) -> list[Any]:
        value = self.values.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._wrong(key, "a list")
        return value

    def objects(self, key: str) -> list[_Fields]:
        return [_Fields(f"{self.where}.{key}[{i}]", v) for i, v in enumerate(self.items(key))]

    def names(self, key: str) -> list[str]:
        """A list of property names."""
        values = self.items(key)
        for index, value in enumerate(values):
            if not isinstance(value, str):
                raise PreviewFormatError(
                    f"{self.where}.{key}[{index}]: expected a string, got {_kind(value)}"
                )
        return list(values)

    def counts(self, key: str) -> dict[str, int]:
        """Operation -> count (non-negative whole numbers)."""
        fields = self.object(key)
        if fields is None:
            return {}
        counts: dict[str, int] = {}
        for op, count in fields.values.items():
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise PreviewFormatError(
                    f"{fields.where}.{op if _is_plain_key(op) else '?'}: expected a count, "
                    f"got {_kind(count)}"
                )
            if count:
                counts[str(op)] = count
        return counts


def _is_plain_key(key: Any) -> bool:
    return isinstance(key, str) and bool(re.fullmatch(r"[A-Za-z0-9_-]{1,40}", key))


def _change_from_step(fields: _Fields, kind_key: str) -> Change:
    """A :class:`Change` from a digest step or a step event's metadata (same fields, except
    `diffReasons`/`replaceReasons`/`kind` versus `diffs`/`keys`/`diffKind`)."""
    digest = kind_key == "kind"
    urn = fields.required_text("urn")
    old = fields.state("oldState" if digest else "old")
    new = fields.state("newState" if digest else "new")
    type_ = fields.text("type") or next(
        (s["type"] for s in (new, old) if s is not None and isinstance(s.get("type"), str)), ""
    )
    _, urn_type, name = _urn_parts(urn)
    type_ = type_ or urn_type
    changed = fields.names("diffReasons" if digest else "diffs")
    replace_keys = fields.names("replaceReasons" if digest else "keys")
    detailed = fields.object("detailedDiff")
    if detailed is not None and detailed.values:
        changed = [str(path) for path in detailed.values]
        for path in detailed.values:
            diff = detailed.object(str(path)) if _is_plain_key(path) else None
            if diff is None:
                diff = _Fields(f"{detailed.where}[?]", detailed.values[path])
            kind = diff.text("kind") or diff.text("diffKind")
            if kind.endswith("-replace") and path not in replace_keys:
                replace_keys.append(str(path))
    for key in replace_keys:
        if key not in changed:
            changed.append(key)
    states = (old, new)
    return Change(
        op=fields.text("op"),
        urn=urn,
        type=type_,
        name=name,
        changed=tuple(changed),
        replace_keys=tuple(replace_keys),
        stateful=_stateful_reason(type_, name, states),
        protected=_flag(states, "protect"),
        retained=_flag(states, "retainOnDelete"),
    )


def _normalise_op(op: str) -> str:
    return "replace" if op in REPLACE_OPS else op


def _merge_changes(raw: Iterable[Change]) -> list[Change]:
    """One entry per resource: the replacement steps of one URN collapse into one ``replace``."""
    merged: dict[str, Change] = {}
    for change in raw:
        op = _normalise_op(change.op)
        change = replace(change, op=op)
        previous = merged.get(change.urn)
        if previous is None:
            merged[change.urn] = change
            continue
        rank = {"replace": 3, "delete": 2, "update": 1}
        winner = change if rank.get(op, 0) > rank.get(previous.op, 0) else previous
        merged[change.urn] = replace(
            winner,
            changed=tuple(dict.fromkeys(previous.changed + change.changed)),
            replace_keys=tuple(dict.fromkeys(previous.replace_keys + change.replace_keys)),
            stateful=previous.stateful or change.stateful,
            protected=previous.protected or change.protected,
            retained=previous.retained or change.retained,
        )
    return [c for c in merged.values() if c.type != ROOT_STACK_TYPE]


def _diagnostic(fields: _Fields) -> Diagnostic | None:
    """Keep warnings and errors only; info lines (program output) are noise in a comment."""
    severity = fields.text("severity")
    message = fields.text("prefix") + fields.text("message")
    urn = fields.text("urn")
    if severity not in ("warning", "error") or not message.strip():
        return None
    return Diagnostic(severity, urn, message)


def _violation(fields: _Fields) -> PolicyViolation:
    def text(*keys: str) -> str:
        return next((value for value in map(fields.text, keys) if value), "")

    return PolicyViolation(
        policy=text("policyName", "name"),
        pack=text("policyPackName", "pack"),
        level=text("enforcementLevel", "level") or "advisory",
        urn=text("resourceUrn", "urn"),
        message=text("message", "description"),
    )


def _count_changes(changes: Sequence[Change]) -> dict[str, int]:
    return dict(Counter(c.op for c in changes))


def _parse_digest(doc: _Fields, preview: StackPreview) -> None:
    preview.changes = _merge_changes(
        _change_from_step(step, "kind") for step in doc.objects("steps")
    )
    for item in doc.objects("diagnostics"):
        diag = _diagnostic(item)
        if diag:
            preview.diagnostics.append(diag)
    # Not written by the CLI versions read so far, but accepted should a digest carry them.
    for key in ("policyViolations", "policies"):
        for item in doc.objects(key):
            if item.has("policyName") or item.has("message"):
                preview.violations.append(_violation(item))
    preview.counts = doc.counts("changeSummary")


def _parse_events(events: Sequence[_Fields], preview: StackPreview) -> None:
    raw: list[Change] = []
    counts: dict[str, int] = {}
    for event in events:
        for kind in ("resourcePreEvent", "resOutputsEvent"):
            payload = event.object(kind)
            meta = payload.object("metadata") if payload is not None else None
            if meta is not None and meta.has("urn"):
                raw.append(_change_from_step(meta, "diffKind"))
        policy = event.object("policyEvent")
        if policy is not None:
            violation = _violation(policy)
            if violation not in preview.violations:
                preview.violations.append(violation)
        diag_event = event.object("diagnosticEvent")
        if diag_event is not None and not diag_event.flag("ephemeral"):
            diag = _diagnostic(diag_event)
            if diag:
                preview.diagnostics.append(diag)
        summary = event.object("summaryEvent")
        if summary is not None:
            counts = summary.counts("resourceChanges")
    preview.changes = _merge_changes(raw)
    preview.counts = counts


def _decode(data: str | bytes) -> str:
    """The text of the preview output: bytes must be UTF-8 (a byte order mark is allowed)."""
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PreviewFormatError(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None


def _json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise PreviewFormatError(f"{where} is nested too deeply") from None


def _load_json(text: str) -> _Fields | list[_Fields]:
    """The digest object, or the engine events (JSON lines, or a JSON list of events)."""
    stripped = text.strip()
    if not stripped:
        raise PreviewFormatError("the preview output is empty")
    try:
        doc = _json(stripped, "the preview")
    except json.JSONDecodeError:
        doc = None
    if isinstance(doc, Mapping) and "sequence" in doc:
        return [_Fields("line 1", doc)]  # one engine event alone
    if isinstance(doc, Mapping):
        return _Fields("the preview", doc)
    if isinstance(doc, list):
        return [_Fields(f"event {index}", e) for index, e in enumerate(doc)]
    events: list[_Fields] = []
    for number, line in enumerate(stripped.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            event = _json(line, f"line {number}")
        except json.JSONDecodeError as exc:
            raise PreviewFormatError(f"line {number} is not JSON ({exc.msg})") from None
        events.append(_Fields(f"line {number}", event))
    return events


def parse_preview(data: str | bytes, stack: str = "") -> StackPreview:
    """Parse one stack's ``pulumi preview --json`` output (digest or engine events).

    ``stack`` names the section; when empty it is read from the resources' URNs.
    Raises :class:`PreviewFormatError` when the input is not UTF-8 text of either shape, is
    nested too deeply, or has a field of the wrong type.
    """
    loaded = _load_json(_decode(data))
    preview = StackPreview(stack=stack)
    if isinstance(loaded, _Fields):
        known = {"steps", "changeSummary", "diagnostics", "config", "duration"}
        if not known & set(loaded.values):
            raise PreviewFormatError("a JSON object without steps or changeSummary")
        _parse_digest(loaded, preview)
    else:
        if not any("sequence" in event.values for event in loaded):
            raise PreviewFormatError("JSON lines that are not Pulumi engine events")
        _parse_events(loaded, preview)
    if not preview.counts:
        preview.counts = _count_changes(preview.changes)
    if not preview.stack:
        stacks = {_urn_parts(c.urn)[0] for c in preview.changes} - {""}
        preview.stack = stacks.pop() if len(stacks) == 1 else "stack"
    return preview


# --------------------------------------------------------------------------------------------
# Rendering


@dataclass(frozen=True)
class Detail:
    """How much of each list to show; lowered step by step until the comment fits."""

    max_rows: int | None  # rows per table; None = all
    list_creates: bool  # creates and other ops by name (else counts per type)
    max_message: int  # characters of a policy/diagnostic message
    max_properties: int  # property names per resource


DETAIL_LEVELS = (
    Detail(None, True, 400, 12),
    Detail(200, False, 300, 8),
    Detail(60, False, 200, 5),
    Detail(20, False, 160, 3),
    Detail(5, False, 120, 2),
    Detail(0, False, 100, 0),
)


# Characters that must not reach the comment as they are: C0/C1 controls and the
# bidirectional overrides and isolates that make text read differently from what it is.
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
ZERO_WIDTH_SPACE = "&#8203;"
"""Invisible; placed after "@", inside "://", after "www" and after "#" before a digit, so
GitHub makes no mention, link or issue reference (the way Dependabot and Renovate quote)."""
# One pass over free text: HTML-significant characters become entities, Markdown punctuation
# that could link, emphasise, strike, quote code, start math or end a cell is backslash-escaped.
_INERT = re.compile(
    r"(?P<entity>[<>&\"])|(?P<escape>[\\`*_\[\]|~$])|(?P<mention>@)|(?P<scheme>://)"
    r"|(?P<www>www\.)|(?P<reference>#(?=[0-9]))",
    re.IGNORECASE,
)
_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;"}


def _printable(text: str) -> str:
    """One line of text: whitespace collapsed, controls and unencodable characters replaced."""
    text = " ".join(text.split())
    text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates from JSON escapes
    return _UNPRINTABLE.sub("\ufffd", text)


def _inert_match(match: re.Match[str]) -> str:
    if match.group("entity"):
        return _ENTITIES[match.group("entity")]
    if match.group("escape"):
        return "\\" + match.group("escape")
    if match.group("mention"):
        return "@" + ZERO_WIDTH_SPACE
    if match.group("scheme"):
        return ":" + ZERO_WIDTH_SPACE + "//"
    if match.group("www"):
        return match.group("www")[:3] + ZERO_WIDTH_SPACE + "."
    return "#" + ZERO_WIDTH_SPACE


def _text(text: str) -> str:
    """Free text made inert for any place in the comment (table cell, list item, quote)."""
    return _INERT.sub(_inert_match, _printable(text))


def _code(text: str) -> str:
    """A value from the preview as a code span: nothing inside is Markdown, HTML or a mention;
    backticks (which would end it) become ' and every | is escaped (no column break)."""
    quoted = _printable(text).replace("`", "'").replace("|", "\\|").strip() or "(none)"
    return f"`{quoted}`"


def _op(op: str) -> str:
    """An operation name: Pulumi's own as is, anything else as a code span."""
    return op if op in KNOWN_OPS else _code(op)


def _level(level: str) -> str:
    """An enforcement level: the known ones as is (mandatory in bold), others as code."""
    if level == "mandatory":
        return "**mandatory**"
    return level if level in KNOWN_LEVELS else _code(level)


def _shorten(text: str, limit: int) -> str:
    """Redacted, shortened to `limit` characters, then made inert (escaping comes last, so the
    cut never splits an escape or an entity)."""
    text = _printable(redact(text))
    if len(text) > limit:
        head = text[: max(limit - 1, 1)]
        cut = head.rsplit(" ", 1)[0] if " " in head else head
        text = cut.rstrip() + "…"
    return _text(text)


def _ops_in_order(counts: Mapping[str, int]) -> list[str]:
    known = [op for op in OP_ORDER if counts.get(op)]
    return known + sorted(op for op in counts if op not in OP_ORDER and counts[op])


def _headline(counts: Mapping[str, int]) -> str:
    parts = [f"{counts[op]} {OP_VERBS.get(op) or _op(op)}" for op in _ops_in_order(counts)]
    return ", ".join(parts) if parts else "no changes"


def _properties(change: Change, limit: int) -> str:
    if not change.changed:
        return ""
    shown = [
        _code(p) + (" (replace)" if p in change.replace_keys else "")
        for p in change.changed[:limit]
    ]
    rest = len(change.changed) - len(shown)
    if rest > 0:
        shown.append(f"+{rest} more")
    return ", ".join(shown)


def _risk_note(change: Change) -> str:
    notes = []
    if change.data_loss_risk:
        notes.append(f"**DATA-LOSS RISK** ({change.stateful})")
    if change.protected:
        notes.append("protected: the engine refuses this")
    if change.retained:
        notes.append("retainOnDelete: the old one is kept")
    return "; ".join(notes)


def _type_counts_table(changes: Sequence[Change]) -> list[str]:
    counts = Counter(c.type for c in changes)
    lines = ["| Type | Count |", "|---|---:|"]
    lines += [
        f"| {_code(t)} | {n} |" for t, n in sorted(counts.items(), key=lambda i: (-i[1], i[0]))
    ]
    return lines


def _more(rest: int, what: str, rest_risks: int = 0) -> list[str]:
    if rest <= 0:
        return []
    risk = f", {rest_risks} of them DATA-LOSS RISKS" if rest_risks else ""
    return ["", f"…and {rest} more {what}{risk} (full list in the workflow log)."]


def _render_destructive(preview: StackPreview, detail: Detail) -> list[str]:
    destructive = preview.by_op("replace", "delete")
    if not destructive:
        return []
    risks = sum(c.data_loss_risk for c in destructive)
    title = f"#### Replacements and deletions ({len(destructive)}"
    lines = [title + (f", {risks} DATA-LOSS RISK" if risks else "") + ")", ""]
    shown = destructive if detail.max_rows is None else destructive[: detail.max_rows]
    if shown:
        lines += [
            "| Operation | Resource | Type | Changed properties | Risk |",
            "|---|---|---|---|---|",
        ]
        for change in shown:
            op = f"**{_op(change.op)}**" if change.data_loss_risk else _op(change.op)
            lines.append(
                f"| {op} | {_code(change.name)} | {_code(change.type)} | "
                f"{_properties(change, detail.max_properties)} | {_risk_note(change)} |"
            )
    elif detail.max_rows == 0:
        lines += _type_counts_table(destructive)
    hidden = destructive[len(shown) :]
    if shown:
        lines += _more(len(hidden), "replacements/deletions", sum(c.data_loss_risk for c in hidden))
    return [*lines, ""]


def _render_updates(preview: StackPreview, detail: Detail) -> list[str]:
    updates = preview.by_op("update")
    if not updates:
        return []
    lines = [f"#### Updates ({len(updates)})", ""]
    shown = updates if detail.max_rows is None else updates[: detail.max_rows]
    if shown:
        lines += ["| Resource | Type | Changed properties |", "|---|---|---|"]
        lines += [
            f"| {_code(c.name)} | {_code(c.type)} | {_properties(c, detail.max_properties)} |"
            for c in shown
        ]
        lines += _more(len(updates) - len(shown), "updates")
    else:
        lines += _type_counts_table(updates)
    return [*lines, ""]


def _render_others(preview: StackPreview, detail: Detail) -> list[str]:
    others = [c for c in preview.changes if c.op not in ("replace", "delete", "update", "same")]
    if not others:
        return []
    lines = [f"#### Other changes ({len(others)})", ""]
    if detail.list_creates:
        lines += ["| Operation | Resource | Type |", "|---|---|---|"]
        lines += [
            f"| {_op(c.op)} | {_code(c.name)} | {_code(c.type)} |"
            for c in sorted(others, key=lambda c: (c.op, c.type, c.name))
        ]
    else:
        counts = Counter((c.op, c.type) for c in others)
        lines += ["| Operation | Type | Count |", "|---|---|---:|"]
        lines += [f"| {_op(op)} | {_code(t)} | {n} |" for (op, t), n in sorted(counts.items())]
    return [*lines, ""]


def _render_violations(preview: StackPreview, detail: Detail) -> list[str]:
    if not preview.violations:
        return []
    order = {"mandatory": 0, "remediate": 1, "advisory": 2, "warning": 2}
    violations = sorted(preview.violations, key=lambda v: (order.get(v.level, 3), v.policy))
    mandatory = sum(v.level == "mandatory" for v in violations)
    lines = [f"#### Policy violations ({len(violations)}, {mandatory} mandatory)", ""]
    shown = violations if detail.max_rows is None else violations[: detail.max_rows]
    if shown:
        lines += ["| Level | Policy | Resource | Message |", "|---|---|---|---|"]
        for v in shown:
            level = _level(v.level)
            policy = f"{v.pack}/{v.policy}" if v.pack else v.policy
            resource = _code(_urn_parts(v.urn)[2]) if v.urn else "stack"
            message = _shorten(v.message, detail.max_message)
            lines.append(f"| {level} | {_code(policy)} | {resource} | {message} |")
        lines += _more(len(violations) - len(shown), "policy violations")
    else:
        counts = Counter((v.level, v.pack, v.policy) for v in violations)
        lines += ["| Level | Policy | Count |", "|---|---|---:|"]
        lines += [
            f"| {_level(level)} | {_code(f'{pack}/{policy}' if pack else policy)} | {n} |"
            for (level, pack, policy), n in sorted(counts.items())
        ]
    return [*lines, ""]


def _render_diagnostics(preview: StackPreview, detail: Detail) -> list[str]:
    if not preview.diagnostics:
        return []
    errors = [d for d in preview.diagnostics if d.severity == "error"]
    warnings = [d for d in preview.diagnostics if d.severity == "warning"]
    lines = [f"#### Diagnostics ({len(errors)} errors, {len(warnings)} warnings)", ""]
    ordered = errors + warnings
    shown = ordered if detail.max_rows is None else ordered[: detail.max_rows]
    for diag in shown:
        where = f" {_code(_urn_parts(diag.urn)[2])}" if diag.urn else ""
        message = diag.message.strip().removeprefix(f"{diag.severity}:").strip()
        lines.append(f"- {diag.severity}{where}: {_shorten(message, detail.max_message)}")
    lines += _more(len(ordered) - len(shown), "diagnostics")
    return [*lines, ""]


def render_stack(preview: StackPreview, detail: Detail = DETAIL_LEVELS[0]) -> str:
    """The Markdown section of one stack: headline, risks first, then the rest."""
    lines = [f"### Stack {_code(preview.stack)}", ""]
    if preview.error:
        lines += [f"> [!WARNING]\n> No usable preview: {_shorten(preview.error, 300)}", ""]
        return "\n".join(lines)
    lines += [f"**{_headline(preview.counts)}**", ""]
    risks = sorted(preview.risks, key=lambda c: (c.type, c.name))
    if risks:
        named = risks[: min(detail.max_rows if detail.max_rows is not None else 10, 10)]
        which = ", ".join(_code(c.name) for c in named)
        if len(risks) > len(named):
            which = f"{which} and {len(risks) - len(named)} more" if which else "see below"
        lines += [
            "> [!CAUTION]",
            f"> **DATA-LOSS RISK**: {len(risks)} stateful resource(s) would be replaced or "
            f"deleted: {which}.",
            "",
        ]
    mandatory = sum(v.level == "mandatory" for v in preview.violations)
    if mandatory:
        lines += [
            "> [!IMPORTANT]",
            f"> {mandatory} mandatory policy violation(s): this stack cannot be deployed as is.",
            "",
        ]
    for section in (
        _render_destructive,
        _render_violations,
        _render_updates,
        _render_others,
        _render_diagnostics,
    ):
        lines += section(preview, detail)
    return "\n".join(lines).rstrip() + "\n"


def _overview(previews: Sequence[StackPreview]) -> str:
    lines = [
        "| Stack | Replace | Delete | Update | Create | Unchanged | Data-loss risks "
        "| Policy violations |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in previews:
        if p.error:
            lines.append(f"| {_code(p.stack)} | no usable preview | | | | | | |")
            continue
        c = p.counts
        lines.append(
            f"| {_code(p.stack)} | {c.get('replace', 0)} | {c.get('delete', 0)} | "
            f"{c.get('update', 0)} | {c.get('create', 0)} | {c.get('same', 0)} | "
            f"{len(p.risks)} | {len(p.violations)} |"
        )
    return "\n".join(lines) + "\n"


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def render_comment(
    previews: Sequence[StackPreview],
    max_chars: int = DEFAULT_MAX_CHARS,
    marker: str = MARKER,
) -> str:
    """The whole comment for all stacks, at the most detailed level that fits ``max_chars``."""
    if not MIN_MAX_CHARS <= max_chars < GITHUB_COMMENT_LIMIT:
        raise ValueError(
            f"max_chars must be from {MIN_MAX_CHARS:,} to {GITHUB_COMMENT_LIMIT - 1:,} "
            f"(below GitHub's limit of {GITHUB_COMMENT_LIMIT:,}), got {max_chars:,}"
        )
    head = f"{marker}\n## Pulumi preview\n\n{_overview(previews)}\n"
    for detail in DETAIL_LEVELS:
        body = "\n".join(render_stack(p, detail) for p in previews)
        note = "" if detail is DETAIL_LEVELS[0] else "_Summarised to fit one comment._\n\n"
        comment = head + note + body
        if _size(comment) <= max_chars:
            return comment
    # Even counts per type do not fit (thousands of stacks or types): the overview alone.
    fallback = head + "_Too large for one comment: see the workflow log for each stack._\n"
    if _size(fallback) > max_chars:
        raise ValueError("even the overview table does not fit in one comment")
    return fallback


_STACK_NAME = re.compile(r"[A-Za-z0-9_.-]+")


def is_stack_name(name: str) -> bool:
    """Stack names as Pulumi accepts them (letters, digits, ``-``, ``_``, ``.``)."""
    return bool(_STACK_NAME.fullmatch(name))
