"""The preview renderer on preview JSON shaped like the Pulumi CLI's (digest and engine events)."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from delivery.preview import (
    GITHUB_COMMENT_LIMIT,
    MARKER,
    ZERO_WIDTH_SPACE,
    PreviewFormatError,
    parse_preview,
    render_comment,
)
from delivery.redact import redact
from policies.evaluate import POLICIES

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
DIGEST = FIXTURES / "preview_digest_dev.json"
EVENTS = FIXTURES / "preview_events_prod.jsonl"

# Plain-text secrets planted in the fixtures (state signature objects, a DSN in a diagnostic,
# a DSN in a policy message). None of them may reach a comment.
PLANTED_SECRETS = (
    "sup3r-s3cret-minio-key",
    "AKIA-PLAINTEXT-ACCESS",
    "Zq9-RANDOM-PASSWORD-PLAINTEXT",
    "sup3r-s3cret-db-pass",
    "leaky-policy-pass",
)
POLICY_NAMES = [spec.name for spec, _check in POLICIES]
"""The policies the pack really has (its name is `appstack`, tests/policies/test_pack.py)."""
SECRET_MARKERS = (
    "[secret]",
    "4dabf18193072939515e22adb298388d",
    "1b47061264138c4ac30d75fd1eb44270",
)


def visible(markdown: str) -> str:
    """Roughly the text a reader sees: escapes and entities undone, zero-width spaces gone."""
    text = markdown.replace(ZERO_WIDTH_SPACE, "")
    text = re.sub(r"\\([\\`*_\[\]|~$])", r"\1", text)
    return html.unescape(text)


def _section(comment: str, stack: str) -> str:
    """The Markdown of one stack's section."""
    start = comment.index(f"### Stack `{stack}`")
    end = comment.find("\n### Stack `", start + 1)
    return comment[start : end if end != -1 else len(comment)]


def _table_blocks(markdown: str) -> list[list[str]]:
    """Consecutive lines that start with '|' (one Markdown table each)."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in markdown.splitlines():
        if line.startswith("|"):
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _columns(row: str) -> int:
    return len(re.findall(r"(?<!\\)\|", row)) - 1


def assert_tables_whole(markdown: str) -> None:
    """Every table has a header, a separator and rows with the header's column count."""
    blocks = _table_blocks(markdown)
    assert blocks, "expected at least one table"
    for block in blocks:
        assert len(block) >= 3, f"table without rows: {block}"
        assert re.fullmatch(r"\|(-+:?\|)+", block[1].replace("---:", "---")), block[1]
        width = _columns(block[0])
        for row in block:
            assert row.endswith("|"), f"row cut short: {row!r}"
            assert _columns(row) == width, f"row with {_columns(row)} != {width} columns: {row!r}"


@pytest.fixture(scope="module")
def dev_comment() -> str:
    return render_comment([parse_preview(DIGEST.read_text(), "dev")])


@pytest.fixture(scope="module")
def prod_comment() -> str:
    return render_comment([parse_preview(EVENTS.read_text(), "prod")])


def test_digest_counts_come_from_the_change_summary(dev_comment: str) -> None:
    assert "**4 to replace, 2 to delete, 1 to update, 1 to create, 9 unchanged**" in dev_comment
    assert "| `dev` | 4 | 2 | 1 | 1 | 9 | 4 | 0 |" in dev_comment
    assert dev_comment.startswith(MARKER + "\n")


def test_replacements_and_deletions_come_before_every_other_list(dev_comment: str) -> None:
    section = _section(dev_comment, "dev")
    first = section.index("#### Replacements and deletions (6, 4 DATA-LOSS RISK)")
    assert first < section.index("#### Updates (1)") < section.index("#### Other changes (1)")
    # Inside the table, every data-loss risk is listed before the harmless ones.
    table = section[first : section.index("#### Updates")]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "`" in line]
    risky = ["DATA-LOSS RISK" in row for row in rows]
    assert risky == sorted(risky, reverse=True) and risky.count(True) == 4


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("appstack-database-data", "docker volume"),
        ("appstack-objectstore-backups", "bucket"),
        ("appstack-database-container", "database container"),
        ("appstack-cache-data", "docker volume"),
    ],
)
def test_stateful_replacements_and_deletions_are_flagged(
    dev_comment: str, name: str, reason: str
) -> None:
    row = next(
        line for line in dev_comment.splitlines() if line.startswith("| **") and f"`{name}`" in line
    )
    assert f"**DATA-LOSS RISK** ({reason})" in row


def test_stateless_replacements_and_deletions_are_not_flagged(dev_comment: str) -> None:
    for name in ("appstack-cache-image-old", "appstack-database-password"):
        row = next(line for line in dev_comment.splitlines() if f"`{name}`" in line)
        assert "DATA-LOSS" not in row, row


def test_a_volume_labelled_stateful_is_a_risk_whatever_its_type_name() -> None:
    doc = json.loads(DIGEST.read_text())
    step = doc["steps"][3]
    step["newState"]["type"] = step["oldState"]["type"] = "docker:index/volume:CustomVolume"
    step["urn"] = step["urn"].replace("volume:Volume", "volume:CustomVolume")
    preview = parse_preview(json.dumps(doc), "dev")
    change = next(c for c in preview.changes if c.name == "appstack-database-data")
    assert change.stateful == "labelled appstack.stateful" and change.data_loss_risk


def test_changed_property_names_are_shown_with_what_forces_replacement(dev_comment: str) -> None:
    assert "`bucket_name` (replace), `secret_key`" in dev_comment
    assert "| `appstack-cache-container` | `docker:index/container:Container` | `envs`, " in (
        dev_comment
    )
    assert "`healthcheck.interval`" in dev_comment


def test_protection_and_retain_on_delete_are_explained(dev_comment: str) -> None:
    row = next(
        line
        for line in dev_comment.splitlines()
        if line.startswith("| **delete** | `appstack-cache")
    )
    assert "protected: the engine refuses this" in row
    assert "retainOnDelete: the old one is kept" in row


def test_diagnostics_keep_errors_and_warnings_only_and_mask_credentials(dev_comment: str) -> None:
    assert "Diagnostics (1 errors, 1 warnings)" in dev_comment
    assert "- error `appstack-dev`: preview failed" in dev_comment
    shown = "postgresql://appstack:***@127.0.0.1:5432/appstack; password=***"
    assert shown in visible(dev_comment)
    assert "host networking" not in dev_comment  # info lines are program output, not findings


@pytest.mark.parametrize("fixture", [DIGEST, EVENTS])
def test_no_secret_ever_reaches_the_comment(fixture: Path) -> None:
    text = fixture.read_text()
    assert any(secret in text for secret in PLANTED_SECRETS), "the fixture must plant secrets"
    comment = render_comment([parse_preview(text)])
    for secret in (*PLANTED_SECRETS, *SECRET_MARKERS):
        assert secret not in comment


def test_the_fixture_violations_name_the_pack_and_policies_that_exist() -> None:
    events = [json.loads(line) for line in EVENTS.read_text().splitlines()]
    policy_events = [event["policyEvent"] for event in events if "policyEvent" in event]
    assert len(policy_events) == 3
    for event in policy_events:
        assert event["policyPackName"] == "appstack"
        assert event["policyName"] in POLICY_NAMES


def test_engine_events_list_policy_violations_mandatory_first(prod_comment: str) -> None:
    section = _section(prod_comment, "prod")
    assert "#### Policy violations (3, 2 mandatory)" in section
    assert "> 2 mandatory policy violation(s): this stack cannot be deployed as is." in section
    rows = [line for line in section.splitlines() if "`appstack/" in line]
    assert [row.split(" | ")[0] for row in rows] == [
        "| **mandatory**",
        "| **mandatory**",
        "| advisory",
    ]
    assert "`appstack/pgvector-only` | `appstack-database-image` |" in rows[0]
    assert "`appstack/pinned-images` | `appstack-database-image` |" in rows[1]
    assert "`appstack/environment-prefix` | `appstack-backend-container` |" in rows[2]
    # a multi-line message stays inside its cell
    assert "is not a pgvector image: without pgvector, CREATE EXTENSION vector" in rows[0]
    assert_tables_whole(prod_comment)


def test_engine_events_merge_the_steps_of_one_replacement(prod_comment: str) -> None:
    preview = parse_preview(EVENTS.read_text(), "prod")
    volumes = [c for c in preview.changes if c.name == "appstack-database-data"]
    assert len(volumes) == 1 and volumes[0].op == "replace" and volumes[0].data_loss_risk
    assert volumes[0].protected and volumes[0].retained
    assert preview.counts == {"same": 14, "update": 2, "replace": 1, "create": 1}
    assert "**1 to replace, 2 to update, 1 to create, 14 unchanged**" in prod_comment
    # diffKind (engine events) is read like kind (digest)
    assert "`name` (replace)" in _section(prod_comment, "prod")


def test_the_stack_name_is_read_from_the_urns_when_not_given() -> None:
    assert parse_preview(DIGEST.read_text()).stack == "dev"
    assert parse_preview(EVENTS.read_text()).stack == "prod"


def test_counts_fall_back_to_the_steps_without_a_change_summary() -> None:
    doc = json.loads(DIGEST.read_text())
    del doc["changeSummary"]
    preview = parse_preview(json.dumps(doc), "dev")
    assert preview.counts == {"create": 1, "update": 1, "replace": 4, "delete": 2}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ('{"hello": 1}', "without steps"),
        ('{"a": 1}\n{"b": 2}\n', "not Pulumi engine events"),
        ('{"sequence": 1}\nnot json\n', "line 2 is not JSON"),
    ],
)
def test_input_that_is_not_preview_json_is_rejected(text: str, message: str) -> None:
    with pytest.raises(PreviewFormatError, match=message):
        parse_preview(text, "dev")


def _enormous_digest(replaces: int, updates: int, creates: int) -> dict[str, Any]:
    prefix = "urn:pulumi:stage::appstack::appstack:index:Platform$"
    steps: list[dict[str, Any]] = []
    for i in range(replaces):
        type_ = "docker:index/volume:Volume" if i % 2 == 0 else "docker:index/network:Network"
        steps.append(
            {
                "op": "replace",
                "urn": f"{prefix}{type_}::resource-being-replaced-with-a-long-name-{i:05d}",
                "newState": {"type": type_, "inputs": {"name": "[secret]"}},
                "replaceReasons": ["name"],
                "detailedDiff": {f"labels[{n}].value": {"kind": "update"} for n in range(30)}
                | {"name": {"kind": "update-replace", "inputDiff": True}},
            }
        )
    for i in range(updates):
        steps.append(
            {
                "op": "update",
                "urn": f"{prefix}docker:index/container:Container::container-with-update-{i:05d}",
                "diffReasons": [f"envs[{n}]" for n in range(40)],
            }
        )
    for i in range(creates):
        steps.append(
            {
                "op": "create",
                "urn": f"{prefix}pulumi-python:dynamic/appstack:Bucket::bucket-created-{i:05d}",
            }
        )
    return {
        "steps": steps,
        "diagnostics": [
            {"severity": "warning", "message": "a long warning that repeats itself " * 40}
        ]
        * 500,
        "changeSummary": {"replace": replaces, "update": updates, "create": creates, "same": 7},
    }


def _enormous_events(violations: int) -> str:
    lines = []
    for i in range(violations):
        event = {
            "sequence": i,
            "timestamp": 0,
            "policyEvent": {
                "resourceUrn": f"urn:pulumi:prod::appstack::docker:index/volume:Volume::vol-{i}",
                "message": "this volume breaks a rule and the message explains it at length " * 20,
                "policyName": POLICY_NAMES[i % len(POLICY_NAMES)],
                "policyPackName": "appstack",
                "enforcementLevel": "mandatory" if i % 3 == 0 else "advisory",
            },
        }
        lines.append(json.dumps(event))
    summary: dict[str, Any] = {"sequence": violations, "timestamp": 0}
    summary["summaryEvent"] = {"resourceChanges": {"same": 3}}
    lines.append(json.dumps(summary))
    return "\n".join(lines)


def test_an_enormous_preview_is_summarised_below_the_limit_without_cutting_a_table() -> None:
    stage = parse_preview(json.dumps(_enormous_digest(4000, 6000, 6000)), "stage")
    prod = parse_preview(_enormous_events(3000), "prod")
    comment = render_comment([stage, prod])
    assert len(comment.encode("utf-8")) < GITHUB_COMMENT_LIMIT
    assert len(comment) < GITHUB_COMMENT_LIMIT
    assert "_Summarised to fit one comment._" in comment
    # every count is still exact
    assert "**4000 to replace, 6000 to update, 6000 to create, 7 unchanged**" in comment
    assert "#### Replacements and deletions (4000, 2000 DATA-LOSS RISK)" in comment
    assert "| `stage` | 4000 | 0 | 6000 | 6000 | 7 | 2000 | 0 |" in comment
    assert "#### Policy violations (3000, 1000 mandatory)" in comment
    # what is not listed is counted, and the data-loss risks come first
    listed = re.search(r"…and (\d+) more replacements/deletions, (\d+) of them", comment)
    assert listed, "the hidden replacements must be counted"
    shown = 4000 - int(listed.group(1))
    assert shown > 0 and int(listed.group(2)) == 2000 - min(shown, 2000)
    assert_tables_whole(comment)


def test_the_comment_keeps_to_a_smaller_budget_too() -> None:
    stage = parse_preview(json.dumps(_enormous_digest(300, 300, 300)), "stage")
    comment = render_comment([stage], max_chars=5000)
    assert len(comment.encode("utf-8")) <= 5000
    assert "**300 to replace, 300 to update, 300 to create, 7 unchanged**" in comment
    assert_tables_whole(comment)


def test_a_budget_at_or_over_githubs_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="below GitHub's limit"):
        render_comment([], max_chars=GITHUB_COMMENT_LIMIT)


def test_redact_masks_url_credentials_and_password_values() -> None:
    assert redact("redis://:pw1@127.0.0.1:6379/0") == "redis://:***@127.0.0.1:6379/0"
    assert redact("postgresql://u:p%40ss@h/db") == "postgresql://u:***@h/db"
    assert redact("secret_key='abc' token: xyz PASSWORD=q") == (
        "secret_key='***' token: *** PASSWORD=***"
    )
    assert redact("image pgvector/pgvector:pg17@sha256:abc") == (
        "image pgvector/pgvector:pg17@sha256:abc"
    )


# ----------------------------------------------------------------------------- command line


def _cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "delivery", "render-preview", *args],
        cwd=REPO,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )


def test_cli_combines_several_stacks_into_one_comment(tmp_path: Path) -> None:
    out = tmp_path / "comment.md"
    done = _cli("--stack", f"dev={DIGEST}", "--stack", f"prod={EVENTS}", "--output", str(out))
    assert done.returncode == 0, done.stderr
    comment = out.read_text()
    assert comment.count(MARKER) == 1
    assert comment.index("### Stack `dev`") < comment.index("### Stack `prod`")
    assert "| `dev` | 4 | 2 | 1 | 1 | 9 | 4 | 0 |" in comment
    assert "| `prod` | 1 | 0 | 2 | 1 | 14 | 1 | 3 |" in comment


def test_cli_reads_stdin_and_names_it_with_a_bare_stack() -> None:
    done = _cli("--stack", "staging-2", "-", stdin=DIGEST.read_text())
    assert done.returncode == 0, done.stderr
    assert "### Stack `staging-2`" in done.stdout


def test_cli_renders_an_unusable_preview_and_exits_1(tmp_path: Path) -> None:
    broken = tmp_path / "prod.json"
    broken.write_text("")
    done = _cli("--stack", f"dev={DIGEST}", "--stack", f"prod={broken}")
    assert done.returncode == 1
    assert "| `prod` | no usable preview |" in done.stdout
    assert "No usable preview: the preview output is empty" in done.stdout
    assert "### Stack `dev`" in done.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("--stack", "bad name=x.json"),
        ("--stack", "dev="),
        ("--stack", "a", "--stack", "b", str(DIGEST)),
        ("--stack", "dev=-", "--stack", "prod=-"),
        ("--stack", "dev=/nonexistent/preview.json"),
    ],
)
def test_cli_bad_arguments_exit_2(args: tuple[str, ...]) -> None:
    done = _cli(*args, stdin="")
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "render-preview:" in done.stderr
