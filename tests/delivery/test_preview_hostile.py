"""The PR comment with hostile previews: free text inert, every value escaped where it stands,
malformed input a "No usable preview" section, bad arguments exit 2, data-loss flags per type."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from delivery.preview import (
    DELETE_EFFECTS,
    MARKER,
    ZERO_WIDTH_SPACE,
    PreviewFormatError,
    parse_preview,
    render_comment,
)
from tests.delivery.test_preview import assert_tables_whole, visible

REPO = Path(__file__).resolve().parents[2]
PREFIX = "urn:pulumi:dev::appstack::appstack:index:Platform$"

HOSTILE_TEXT = (
    "![pixel](https://evil.example/p.png) [click here](javascript:alert(1)) "
    "<img src=x onerror=alert(1)> <details><summary>open me "
    "@octocat @org/security-team see #42 and www.evil.example/x "
    "**bold** _em_ ~~gone~~ `code` $\\sqrt{2}$ a|b <!-- hidden --> &amp; "
    "<script>alert(1)</script> https://evil.example/login"
)


def _outside_code_spans(markdown: str) -> str:
    """The comment without our own code spans, the marker and GitHub alert lines."""
    lines = [
        line
        for line in markdown.splitlines()
        if line != MARKER and not re.fullmatch(r"> \[!(WARNING|CAUTION|IMPORTANT)\]", line)
    ]
    return re.sub(r"`[^`]*`", "", "\n".join(lines))


def assert_inert(markdown: str) -> None:
    """Nothing outside code spans can become HTML, a link, an image, a mention or code."""
    text = _outside_code_spans(markdown).replace(ZERO_WIDTH_SPACE, "\u200b")
    assert "<" not in text and ">" not in re.sub(r"^> ", "", text, flags=re.M), text
    assert not re.search(r"(?<!\\)[\[\]`]", text), "unescaped bracket or backtick"
    assert not re.search(r"@[A-Za-z0-9]", text), "a mention would notify someone"
    assert "://" not in text and not re.search(r"www\.", text, re.I), "a link would be made"
    assert not re.search(r"#[0-9]", text), "an issue reference would be made"
    assert not re.search(r"(?<!\\)\$", text), "math would be rendered"


def _digest(**step: Any) -> dict[str, Any]:
    base = {"op": "update", "urn": f"{PREFIX}docker:index/container:Container::box"}
    return {"steps": [{**base, **step}], "changeSummary": {"update": 1}}


def _events(*payloads: dict[str, Any]) -> str:
    lines = [{"sequence": i, "timestamp": 0, **p} for i, p in enumerate(payloads)]
    return "\n".join(json.dumps(line) for line in lines)


def test_policy_messages_and_diagnostics_are_inert() -> None:
    text = _events(
        {
            "policyEvent": {
                "resourceUrn": f"{PREFIX}docker:index/volume:Volume::data",
                "message": HOSTILE_TEXT,
                "policyName": "rule",
                "policyPackName": "pack",
                "enforcementLevel": "mandatory",
            }
        },
        {"diagnosticEvent": {"severity": "error", "message": HOSTILE_TEXT}},
        {"summaryEvent": {"resourceChanges": {"same": 1}}},
    )
    comment = render_comment([parse_preview(text, "dev")])
    assert_inert(comment)
    assert_tables_whole(comment)
    shown = visible(comment)
    # what a reader sees is still the message, only inert
    assert "[click here](javascript:alert(1))" in shown
    assert "<details><summary>open me" in shown
    assert "@octocat" in shown and "https://evil.example/login" in shown


def test_the_no_usable_preview_section_is_inert_too() -> None:
    bad = json.dumps({"steps": [{"urn": HOSTILE_TEXT, "op": 3}]})
    with pytest.raises(PreviewFormatError) as caught:
        parse_preview(bad, "dev")
    assert HOSTILE_TEXT not in str(caught.value)
    from delivery.preview import StackPreview

    comment = render_comment([StackPreview(stack="dev", error=HOSTILE_TEXT)])
    assert_inert(comment)


@pytest.mark.parametrize(
    "name",
    [
        "box`|<img src=x onerror=alert(1)>",
        "a|b|c",
        "@octocat",
        "`",
        "x` **bold** `y",
        "line\nbreak\u202eevil",
    ],
)
def test_values_from_the_preview_stay_in_their_code_span_and_cell(name: str) -> None:
    urn = f"{PREFIX}docker:index/container:Container::{name}"
    digest = _digest(urn=urn, op="replace", diffReasons=[name], replaceReasons=[name])
    comment = render_comment([parse_preview(json.dumps(digest), "dev")])
    assert_inert(comment)
    assert_tables_whole(comment)
    assert "\u202e" not in comment and "<img" not in _outside_code_spans(comment)


def test_unknown_operations_levels_and_counts_are_escaped() -> None:
    digest = _digest(op="<b>boom</b>")
    digest["changeSummary"] = {"<img src=x>": 2, "update": 1}
    comment = render_comment([parse_preview(json.dumps(digest), "dev")])
    assert_inert(comment)
    assert "`<b>boom</b>`" in comment and "`<img src=x>`" in comment
    events = _events(
        {
            "policyEvent": {
                "message": "m",
                "policyName": "p",
                "enforcementLevel": "<img src=x>@team",
            }
        }
    )
    comment = render_comment([parse_preview(events, "prod")])
    assert_inert(comment)
    assert_tables_whole(comment)


@pytest.mark.parametrize("stack", ["dev`<img src=x>", "st|ack", "@org"])
def test_a_stack_name_read_from_urns_is_escaped(stack: str) -> None:
    urn = f"urn:pulumi:{stack}::appstack::docker:index/container:Container::box"
    preview = parse_preview(json.dumps(_digest(urn=urn)))
    assert preview.stack == stack
    comment = render_comment([preview])
    assert_inert(comment)
    assert_tables_whole(comment)


# ------------------------------------------------------------------ malformed input


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"steps": []}\xff\xfe', "not UTF-8 text (byte 0xff at offset 13)"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"sequence": 1, "x": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
        (json.dumps({"steps": 5}), "the preview.steps: expected a list, got a number"),
        (json.dumps({"steps": ["x"]}), "the preview.steps[0]: expected an object, got a string"),
        (json.dumps({"steps": [{"urn": 7}]}), "steps[0].urn: expected a string, got a number"),
        (json.dumps(_digest(op=["update"])), "steps[0].op: expected a string, got a list"),
        (json.dumps(_digest(diffReasons="image")), "diffReasons: expected a list"),
        (json.dumps(_digest(diffReasons=[{"secret": "x"}])), "diffReasons[0]: expected a string"),
        (json.dumps(_digest(detailedDiff=["image"])), "detailedDiff: expected an object"),
        (json.dumps(_digest(detailedDiff={"image": "x"})), "expected an object, got a string"),
        (json.dumps(_digest(newState="x")), "steps[0].newState: expected an object"),
        (json.dumps(_digest(oldState={"type": 3})), "oldState.type: expected a string"),
        (json.dumps({"steps": [], "changeSummary": {"create": "3"}}), "expected a count"),
        (json.dumps({"steps": [], "changeSummary": {"create": -1}}), "expected a count"),
        (json.dumps({"steps": [], "changeSummary": []}), "changeSummary: expected an object"),
        (json.dumps({"steps": [], "diagnostics": {"a": 1}}), "diagnostics: expected a list"),
        (_events({"policyEvent": "x"}), "line 1.policyEvent: expected an object"),
        (
            _events({"policyEvent": {"message": {"password": "hunter2hunter2"}}}),
            "line 1.policyEvent.message: expected a string, got an object",
        ),
        (_events({"diagnosticEvent": {"severity": 2}}), "severity: expected a string"),
        (_events({"diagnosticEvent": {"ephemeral": "no"}}), "ephemeral: expected true or false"),
        (_events({"summaryEvent": {"resourceChanges": 3}}), "resourceChanges: expected an object"),
        (_events({"resourcePreEvent": {"metadata": []}}), "metadata: expected an object"),
        ('{"sequence": 1}\n[1, 2]\n', "line 2: expected an object, got a list"),
    ],
)
def test_malformed_input_is_a_format_error_naming_the_field(
    data: str | bytes, message: str
) -> None:
    with pytest.raises(PreviewFormatError) as caught:
        parse_preview(data, "dev")
    assert message in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_lone_surrogates_from_json_escapes_still_make_a_comment() -> None:
    urn = f"{PREFIX}docker:index/container:Container::box\\ud800"
    text = '{"steps": [{"op": "update", "urn": "' + urn + '"}]}'
    comment = render_comment([parse_preview(text, "dev")])
    comment.encode("utf-8")  # no UnicodeEncodeError when it is written


# ------------------------------------------------------------------ data-loss flags


def _replacement(type_: str, name: str, **inputs: Any) -> str:
    state = {"type": type_, "inputs": inputs}
    urn = f"{PREFIX}{type_}::{name}"
    step = {"op": "replace", "urn": urn, "oldState": state, "newState": state}
    return json.dumps({"steps": [step], "changeSummary": {"replace": 1}})


def _replaced(type_: str, name: str, **inputs: Any) -> Any:
    return parse_preview(_replacement(type_, name, **inputs), "dev").changes[0]


def test_a_pgvector_extension_replacement_is_not_data_loss() -> None:
    """Its provider's delete never drops the extension, the vector columns or their data."""
    text = _replacement("pulumi-python:dynamic/appstack:PgvectorExtension", "appstack-pgvector")
    preview = parse_preview(text, "dev")
    assert not preview.changes[0].data_loss_risk and preview.changes[0].stateful == ""
    comment = render_comment([preview])
    assert "`appstack-pgvector`" in comment and "DATA-LOSS" not in comment


@pytest.mark.parametrize(
    ("type_", "name", "inputs", "reason"),
    [
        ("docker:index/volume:Volume", "appstack-database-data", {}, "docker volume"),
        (
            "kubernetes:core/v1:PersistentVolumeClaim",
            "appstack-database-data",
            {},
            "persistent volume claim",
        ),
        ("kubernetes:apps/v1:StatefulSet", "appstack-database-statefulset", {}, "statefulset"),
        ("kubernetes:apps/v1:Deployment", "appstack-backend-deployment", {}, ""),
        ("pulumi-python:dynamic/appstack:Bucket", "appstack-objectstore-temp", {}, "bucket"),
        (
            "docker:index/container:Container",
            "appstack-database-container",
            {"labels": [{"label": "appstack.role", "value": "database"}]},
            "database container",
        ),
        (
            "docker:index/container:Container",
            "appstack-database-container",
            {"volumes": [{"volumeName": "dev-database-data", "containerPath": "/var/lib/pg"}]},
            "",
        ),
        (
            "docker:index/container:Container",
            "appstack-database-container",
            {"removeVolumes": False},
            "",
        ),
        ("docker:index/container:Container", "appstack-backend-container", {}, ""),
        ("random:index/randomPassword:RandomPassword", "appstack-database-password", {}, ""),
        (
            "docker:index/volume:CustomVolume",
            "x",
            {"labels": [{"label": "appstack.stateful", "value": "true"}]},
            "labelled appstack.stateful",
        ),
    ],
)
def test_data_loss_follows_what_each_delete_does(
    type_: str, name: str, inputs: dict[str, Any], reason: str
) -> None:
    change = _replaced(type_, name, **inputs)
    assert change.stateful == reason
    assert change.data_loss_risk is bool(reason)


def test_every_appstack_resource_type_with_a_delete_effect_is_declared_in_one_place() -> None:
    assert set(DELETE_EFFECTS) >= {
        "docker:index/volume:Volume",
        "docker:index/container:Container",
        "pulumi-python:dynamic/appstack:Bucket",
        "pulumi-python:dynamic/appstack:PgvectorExtension",
        "kubernetes:core/v1:PersistentVolumeClaim",
        "kubernetes:apps/v1:StatefulSet",
    }


# ------------------------------------------------------------------ command line


def _cli(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "delivery", "render-preview", *args],
        cwd=REPO,
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "data",
    [b"\xff\xfe\x00garbage", b"[" * 100_000 + b"]" * 100_000, json.dumps({"steps": 5}).encode()],
)
def test_cli_renders_malformed_input_as_no_usable_preview(data: bytes) -> None:
    done = _cli("--stack", "dev", "-", stdin=data)
    assert done.returncode == 1, done.stderr
    assert b"Traceback" not in done.stderr
    out = done.stdout.decode()
    assert "| `dev` | no usable preview |" in out
    assert "No usable preview: " in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--max-chars", "0"), "expected 1,000 to 65,535"),
        (("--max-chars", "65536"), "expected 1,000 to 65,535"),
        (("--max-chars", "-5"), "expected 1,000 to 65,535"),
        (("--max-chars", "abc"), "expected a whole number"),
        (("--bogus",), "unrecognized arguments"),
        (("--output", "/nonexistent/dir/comment.md"), "cannot write /nonexistent/dir"),
    ],
)
def test_cli_bad_arguments_exit_2_with_one_message(args: tuple[str, ...], message: str) -> None:
    digest = json.dumps({"steps": [], "changeSummary": {}}).encode()
    done = _cli("--stack", "dev", *args, "-", stdin=digest)
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err


def test_cli_a_budget_too_small_for_the_overview_is_bad_input(tmp_path: Path) -> None:
    digest = tmp_path / "p.json"
    digest.write_text(json.dumps({"steps": [], "changeSummary": {"same": 1}}))
    stacks = [arg for i in range(40) for arg in ("--stack", f"stack-{i}={digest}")]
    done = _cli(*stacks, "--max-chars", "1000")
    assert done.returncode == 2
    assert b"even the overview table does not fit" in done.stderr
    assert b"Traceback" not in done.stderr
