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

The comment is kept under GitHub's 65,536-character limit by lowering the level of detail (long
lists become counts per type, "and N more" lines) until it fits; a table is never cut in half and
every count stays exact.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
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

STATEFUL_TYPES = {
    "docker:index/volume:Volume": "docker volume",
    "pulumi-python:dynamic/appstack:Bucket": "bucket",
    "pulumi-python:dynamic/appstack:PgvectorExtension": "pgvector extension (drops vector columns)",
}
CONTAINER_TYPE = "docker:index/container:Container"
STATEFUL_LABEL = "appstack.stateful"
ROLE_LABEL = "appstack.role"


class PreviewFormatError(ValueError):
    """The input is not preview JSON in either shape the Pulumi CLI writes."""


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
    """Say why a resource holds data (empty string when it does not)."""
    if type_ in STATEFUL_TYPES:
        return STATEFUL_TYPES[type_]
    labels: dict[str, str] = {}
    for state in states:
        labels.update(_labels(state))
    if labels.get(STATEFUL_LABEL, "").lower() == "true":
        return f"labelled {STATEFUL_LABEL}"
    if type_ == CONTAINER_TYPE and (
        labels.get(ROLE_LABEL) == "database" or name.endswith("-database-container")
    ):
        return "database container"
    return ""


def _flag(states: Sequence[Mapping[str, Any] | None], key: str) -> bool:
    return any(isinstance(s, Mapping) and s.get(key) is True for s in states)


def _property_names(values: Any) -> list[str]:
    if not isinstance(values, list):
        return []
    return [v for v in values if isinstance(v, str)]


def _change_from_step(
    op: str,
    urn: str,
    type_: str,
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any] | None,
    diffs: Any,
    keys: Any,
    detailed: Any,
) -> Change:
    """Build a :class:`Change` from the fields common to digest steps and step events."""
    _, urn_type, name = _urn_parts(urn)
    type_ = type_ or urn_type
    changed = _property_names(diffs)
    replace_keys = _property_names(keys)
    if isinstance(detailed, Mapping) and detailed:
        changed = [k for k in detailed if isinstance(k, str)]
        for path, diff in detailed.items():
            kind = diff.get("kind") or diff.get("diffKind") if isinstance(diff, Mapping) else None
            if isinstance(kind, str) and kind.endswith("-replace") and path not in replace_keys:
                replace_keys.append(path)
    for key in replace_keys:
        if key not in changed:
            changed.append(key)
    states = (old, new)
    return Change(
        op=op,
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


def _diagnostic(severity: Any, urn: Any, message: Any) -> Diagnostic | None:
    """Keep warnings and errors only; info lines (program output) are noise in a comment."""
    if severity not in ("warning", "error") or not isinstance(message, str) or not message.strip():
        return None
    return Diagnostic(severity, urn if isinstance(urn, str) else "", message)


def _violation(payload: Mapping[str, Any]) -> PolicyViolation:
    def text(*keys: str) -> str:
        for key in keys:
            value = payload.get(key)
            if isinstance(value, str) and value:
                return value
        return ""

    return PolicyViolation(
        policy=text("policyName", "name"),
        pack=text("policyPackName", "pack"),
        level=text("enforcementLevel", "level") or "advisory",
        urn=text("resourceUrn", "urn"),
        message=text("message", "description"),
    )


def _counts(summary: Any) -> dict[str, int]:
    if not isinstance(summary, Mapping):
        return {}
    return {str(op): n for op, n in summary.items() if isinstance(n, int) and n > 0}


def _count_changes(changes: Sequence[Change]) -> dict[str, int]:
    return dict(Counter(c.op for c in changes))


def _parse_digest(doc: Mapping[str, Any], preview: StackPreview) -> None:
    raw: list[Change] = []
    for step in doc.get("steps") or []:
        if not isinstance(step, Mapping) or not isinstance(step.get("urn"), str):
            continue
        old, new = step.get("oldState"), step.get("newState")
        type_ = next((s.get("type") for s in (new, old) if isinstance(s, Mapping)), "")
        raw.append(
            _change_from_step(
                str(step.get("op", "")),
                step["urn"],
                type_ if isinstance(type_, str) else "",
                old if isinstance(old, Mapping) else None,
                new if isinstance(new, Mapping) else None,
                step.get("diffReasons"),
                step.get("replaceReasons"),
                step.get("detailedDiff"),
            )
        )
    preview.changes = _merge_changes(raw)
    for item in doc.get("diagnostics") or []:
        if isinstance(item, Mapping):
            diag = _diagnostic(item.get("severity"), item.get("urn"), item.get("message"))
            if diag:
                preview.diagnostics.append(diag)
    # Not written by the CLI versions read so far, but accepted should a digest carry them.
    for key in ("policyViolations", "policies"):
        for item in doc.get(key) or []:
            if isinstance(item, Mapping) and ("policyName" in item or "message" in item):
                preview.violations.append(_violation(item))
    preview.counts = _counts(doc.get("changeSummary"))


def _parse_events(events: Sequence[Mapping[str, Any]], preview: StackPreview) -> None:
    raw: list[Change] = []
    summary: Any = None
    for event in events:
        for kind in ("resourcePreEvent", "resOutputsEvent"):
            payload = event.get(kind)
            meta = payload.get("metadata") if isinstance(payload, Mapping) else None
            if isinstance(meta, Mapping) and isinstance(meta.get("urn"), str):
                old, new = meta.get("old"), meta.get("new")
                raw.append(
                    _change_from_step(
                        str(meta.get("op", "")),
                        meta["urn"],
                        str(meta.get("type") or ""),
                        old if isinstance(old, Mapping) else None,
                        new if isinstance(new, Mapping) else None,
                        meta.get("diffs"),
                        meta.get("keys"),
                        meta.get("detailedDiff"),
                    )
                )
        policy = event.get("policyEvent")
        if isinstance(policy, Mapping):
            violation = _violation(policy)
            if violation not in preview.violations:
                preview.violations.append(violation)
        diag_event = event.get("diagnosticEvent")
        if isinstance(diag_event, Mapping) and not diag_event.get("ephemeral"):
            message = f"{diag_event.get('prefix') or ''}{diag_event.get('message') or ''}"
            diag = _diagnostic(diag_event.get("severity"), diag_event.get("urn"), message)
            if diag:
                preview.diagnostics.append(diag)
        if isinstance(event.get("summaryEvent"), Mapping):
            summary = event["summaryEvent"].get("resourceChanges")
    preview.changes = _merge_changes(raw)
    preview.counts = _counts(summary)


def _load_json(text: str) -> Mapping[str, Any] | list[Mapping[str, Any]]:
    """Return the digest object, or the list of engine events (JSON lines)."""
    stripped = text.strip()
    if not stripped:
        raise PreviewFormatError("the preview output is empty")
    try:
        doc = json.loads(stripped)
    except json.JSONDecodeError:
        doc = None
    if isinstance(doc, Mapping):
        return doc
    if isinstance(doc, list):
        return [e for e in doc if isinstance(e, Mapping)]
    events: list[Mapping[str, Any]] = []
    for number, line in enumerate(stripped.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PreviewFormatError(f"line {number} is not JSON ({exc.msg})") from None
        if isinstance(event, Mapping):
            events.append(event)
    return events


def parse_preview(text: str, stack: str = "") -> StackPreview:
    """Parse one stack's ``pulumi preview --json`` output (digest or engine events).

    ``stack`` names the section; when empty it is read from the resources' URNs.
    Raises :class:`PreviewFormatError` when the text is neither shape.
    """
    loaded = _load_json(text)
    preview = StackPreview(stack=stack)
    if isinstance(loaded, Mapping):
        known = {"steps", "changeSummary", "diagnostics", "config", "duration"}
        if not known & set(loaded):
            raise PreviewFormatError("a JSON object without steps or changeSummary")
        _parse_digest(loaded, preview)
    else:
        if not any(isinstance(e, Mapping) and "sequence" in e for e in loaded):
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


def _cell(text: str) -> str:
    """Make ``text`` safe inside one Markdown table cell (one line, no column breaks)."""
    return " ".join(text.split()).replace("|", "\\|")


def _code(text: str) -> str:
    quoted = _cell(text).replace("`", "'")
    return f"`{quoted}`"


def _shorten(text: str, limit: int) -> str:
    text = " ".join(redact(text).split())
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 1)].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip() + "…"


def _ops_in_order(counts: Mapping[str, int]) -> list[str]:
    known = [op for op in OP_ORDER if counts.get(op)]
    return known + sorted(op for op in counts if op not in OP_ORDER and counts[op])


def _headline(counts: Mapping[str, int]) -> str:
    parts = [f"{counts[op]} {OP_VERBS.get(op, op)}" for op in _ops_in_order(counts)]
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
            op = f"**{change.op}**" if change.data_loss_risk else change.op
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
            f"| {c.op} | {_code(c.name)} | {_code(c.type)} |"
            for c in sorted(others, key=lambda c: (c.op, c.type, c.name))
        ]
    else:
        counts = Counter((c.op, c.type) for c in others)
        lines += ["| Operation | Type | Count |", "|---|---|---:|"]
        lines += [f"| {op} | {_code(t)} | {n} |" for (op, t), n in sorted(counts.items())]
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
            level = f"**{v.level}**" if v.level == "mandatory" else v.level
            policy = f"{v.pack}/{v.policy}" if v.pack else v.policy
            resource = _code(_urn_parts(v.urn)[2]) if v.urn else "stack"
            message = _cell(_shorten(v.message, detail.max_message))
            lines.append(f"| {level} | {_code(policy)} | {resource} | {message} |")
        lines += _more(len(violations) - len(shown), "policy violations")
    else:
        counts = Counter((v.level, v.pack, v.policy) for v in violations)
        lines += ["| Level | Policy | Count |", "|---|---|---:|"]
        lines += [
            f"| {level} | {_code(f'{pack}/{policy}' if pack else policy)} | {n} |"
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
    lines = [f"### Stack `{_cell(preview.stack)}`", ""]
    if preview.error:
        lines += [f"> [!WARNING]\n> No usable preview: {_cell(_shorten(preview.error, 300))}", ""]
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
            lines.append(f"| `{_cell(p.stack)}` | no usable preview | | | | | | |")
            continue
        c = p.counts
        lines.append(
            f"| `{_cell(p.stack)}` | {c.get('replace', 0)} | {c.get('delete', 0)} | "
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
    if max_chars >= GITHUB_COMMENT_LIMIT:
        raise ValueError(f"max_chars must stay below GitHub's limit of {GITHUB_COMMENT_LIMIT}")
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


_STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def is_stack_name(name: str) -> bool:
    """Stack names as Pulumi accepts them (letters, digits, ``-``, ``_``, ``.``)."""
    return bool(_STACK_NAME.match(name))
