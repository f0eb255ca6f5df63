"""Bucket: one MinIO bucket kept as declared (versioning, lifecycle rules, tags, access).

A dynamic resource built on the `minio` SDK. `check` validates every input before any call
(S3 bucket naming rules, lifecycle days, rule ids, versioning prerequisites) and names the bad
field. `diff` compares the declaration with what the server really has, so a rule removed by hand
shows as drift and the next `up` restores it; a new bucket name is a replacement, everything else
an in-place update. A new endpoint (another port or bind address of the MinIO server) names the
same bucket reached another way, not a new one: it is an update, which writes the configuration
through the new endpoint (and makes the bucket there if that server does not have it). Replacing
it would create the new bucket before deleting the old one on the same server, which fails with
"already exists". `read` returns the live configuration for `pulumi refresh`.
`delete` refuses a bucket that still holds objects unless `force_destroy` is set.

Reading the live configuration costs one request: MinIO's admin API exports all of a bucket's
configuration (policy, lifecycle, tagging, versioning) as one zip, where the S3 API needs one
request per document. The credentials therefore need `admin:ExportBucketMetadata` besides the
bucket permissions (the root credentials appstack generates have both).

MinIO has no per-bucket abort of incomplete multipart uploads: it drops
`AbortIncompleteMultipartUpload` from lifecycle rules, rejects a rule with no other action, and
aborts stale uploads server-wide after `MINIO_API_STALE_UPLOADS_EXPIRY` (default 24h), which
the MinIO container must set to the shortest declared `abort_incomplete_multipart_days`. The
provider sends the element with rules that have an expiration (an S3 server honours it), keeps
abort-only rules in state only, and, since the server cannot report either back, carries those
values over from state when it reads the live rules.

The provider is pickled by the engine (dill): it holds no client or module-level state and opens
a client inside each method. Credentials are marked secret outputs and never appear in errors.
"""

from __future__ import annotations

import io
import ipaddress
import json
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit

import pulumi
import pulumi.dynamic as dynamic
import urllib3
from minio import Minio
from minio.commonconfig import ENABLED, Filter, Tags
from minio.credentials import Credentials
from minio.deleteobjects import DeleteObject
from minio.error import S3Error
from minio.helpers import sha256_hash
from minio.lifecycleconfig import (
    AbortIncompleteMultipartUpload,
    Expiration,
    LifecycleConfig,
    NoncurrentVersionExpiration,
    Rule,
)
from minio.signer import sign_v4_s3
from minio.time import to_amz_date, utcnow
from minio.versioningconfig import SUSPENDED, VersioningConfig

from appstack.contract import DYNAMIC_MODULE, is_unknown

ACCESS_LEVELS = ("private", "download")
"""`private`: no anonymous access at all; `download`: anyone may GET objects (no listing)."""
RULE_STATUSES = ("Enabled", "Disabled")
DAY_FIELDS = (
    "expiration_days",
    "abort_incomplete_multipart_days",
    "noncurrent_version_expiration_days",
)
RULE_FIELDS = ("id", "status", "prefix", *DAY_FIELDS)
SERVER_DAY_FIELDS = ("expiration_days", "noncurrent_version_expiration_days")
"""Actions MinIO stores in a bucket's lifecycle (it has no per-bucket multipart abort)."""
REPLACE_KEYS = ("bucket_name",)
"""Inputs that name a different bucket: changing them creates a new one."""
LIVE_KEYS = ("versioning", "lifecycle_rules", "tags", "access")
"""Inputs that describe the server's configuration; diffed against the live bucket."""
STORED_KEYS = ("endpoint", "secure", "access_key", "secret_key", "force_destroy", "role")
"""Inputs that only the provider uses (how it reaches the bucket, and what it may do with it);
diffed against the previous state. A change of any of them is an in-place update."""
LOCATION_KEYS = ("endpoint", "secure")
"""Inputs that say where the server is: when they change, the server may not answer there yet
during a preview, so `diff` does not read the live bucket (the update will)."""
SECRET_KEYS = ("access_key", "secret_key")
INPUT_DEFAULTS: dict[str, Any] = {
    "secure": False,
    "versioning": False,
    "lifecycle_rules": [],
    "tags": {},
    "access": "private",
    "force_destroy": False,
    "role": "",
}
MAX_TAGS = 50
HTTP_TIMEOUT_SECONDS = 30
EXPORT_PATH = "/minio/admin/v3/export-bucket-metadata"

_BUCKET_NAME_CHARS = re.compile(r"^[a-z0-9.-]+$")


class BucketError(Exception):
    """A deployment error meant to be read by a person: what failed and what to do."""


@dataclass
class LifecycleRule:
    """One lifecycle rule: which objects (prefix) and what happens to them after N days."""

    id: str
    """Unique id of the rule within the bucket (shown in diffs)."""
    status: Literal["Enabled", "Disabled"] = "Enabled"
    """Whether the server applies the rule."""
    prefix: str = ""
    """Only objects whose key starts with this; empty means the whole bucket."""
    expiration_days: int | None = None
    """Delete (current versions of) objects this many days after creation."""
    abort_incomplete_multipart_days: int | None = None
    """Abort multipart uploads not completed after this many days (see the module docstring)."""
    noncurrent_version_expiration_days: int | None = None
    """Delete old versions this many days after they became noncurrent (versioned buckets)."""


@dataclass
class BucketArgs:
    """The declared bucket: where it lives, and the configuration to keep on the server."""

    bucket_name: pulumi.Input[str]
    """Bucket name, already carrying the environment prefix (e.g. `dev-sparklio-assets`)."""
    endpoint: pulumi.Input[str]
    """`host:port` of the MinIO S3 API as the deployment reaches it."""
    access_key: pulumi.Input[str]
    """Access key (secret): bucket permissions plus `admin:ExportBucketMetadata`."""
    secret_key: pulumi.Input[str]
    """Secret key (secret in state, never in messages)."""
    secure: pulumi.Input[bool] = False
    """Use HTTPS to reach the endpoint."""
    versioning: pulumi.Input[bool] = False
    """Keep old versions of overwritten and deleted objects."""
    lifecycle_rules: pulumi.Input[Sequence[LifecycleRule]] = field(default_factory=list)
    """Lifecycle rules, each with a unique id; empty means no lifecycle configuration."""
    tags: pulumi.Input[Mapping[str, str]] = field(default_factory=dict)
    """Bucket tags (at most 50)."""
    access: pulumi.Input[str] = "private"
    """`private` (default: no anonymous access; hand out presigned URLs) or `download`."""
    force_destroy: pulumi.Input[bool] = False
    """Allow deleting the bucket while it still holds objects (all of them are deleted)."""
    role: pulumi.Input[str] = ""
    """What the bucket is for (`assets`, `temp`, `backups`); used by policies."""


# ---------------------------------------------------------------------------------------------
# Validation (pure: no server involved)


def bucket_name_problems(name: str) -> list[str]:
    """Every S3 bucket naming rule that `name` breaks, as readable sentences."""
    problems: list[str] = []
    if not 3 <= len(name) <= 63:
        problems.append(f"must be 3 to 63 characters long (has {len(name)})")
    if not _BUCKET_NAME_CHARS.match(name):
        problems.append("may contain only lowercase letters, digits, dots and hyphens")
    if name and not (name[0].isalnum() and name[-1].isalnum()):
        problems.append("must begin and end with a lowercase letter or a digit")
    if ".." in name:
        problems.append("must not contain two adjacent dots")
    if ".-" in name or "-." in name:
        problems.append("must not contain a dot next to a hyphen")
    try:
        ipaddress.IPv4Address(name)
        problems.append("must not be formatted as an IP address")
    except ValueError:
        pass
    if name.startswith(("xn--", "sthree-")):
        problems.append("must not start with the reserved prefixes 'xn--' or 'sthree-'")
    if name.endswith(("-s3alias", "--ol-s3")):
        problems.append("must not end with the reserved suffixes '-s3alias' or '--ol-s3'")
    return problems


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _whole(value: Any) -> Any:
    """Numbers reach the provider as floats (protobuf): turn 7.0 back into 7, leave others."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def normalize_rule(rule: Mapping[str, Any] | LifecycleRule) -> dict[str, Any]:
    """A lifecycle rule as a plain dict with every field present (defaults filled in)."""
    raw = asdict(rule) if isinstance(rule, LifecycleRule) else dict(rule)
    extra = {key: value for key, value in raw.items() if key not in RULE_FIELDS}
    return {
        "id": raw.get("id"),
        "status": raw.get("status", "Enabled"),
        "prefix": raw.get("prefix", "") or "",
        **{key: _whole(raw.get(key)) for key in DAY_FIELDS},
        **extra,
    }


def normalize_inputs(props: Mapping[str, Any]) -> dict[str, Any]:
    """Inputs with defaults filled in and rules as plain dicts, as the provider stores them."""
    inputs = {**INPUT_DEFAULTS, **{k: v for k, v in props.items() if not k.startswith("__")}}
    rules = inputs["lifecycle_rules"]
    if isinstance(rules, list):
        inputs["lifecycle_rules"] = [
            normalize_rule(rule) if isinstance(rule, (Mapping, LifecycleRule)) else rule
            for rule in rules
        ]
    if isinstance(inputs["tags"], Mapping):
        inputs["tags"] = dict(inputs["tags"])
    return inputs


def _rule_failures(index: int, rule: Any, versioning: Any) -> list[dynamic.CheckFailure]:
    where = f"lifecycle_rules[{index}]"
    if not isinstance(rule, Mapping):
        return [dynamic.CheckFailure(where, "must be an object with the LifecycleRule fields")]
    failures: list[dynamic.CheckFailure] = []
    unknown_fields = sorted(set(rule) - set(RULE_FIELDS))
    if unknown_fields:
        failures.append(dynamic.CheckFailure(where, f"unknown fields {unknown_fields}"))
    rule_id = rule.get("id")
    if not is_unknown(rule_id) and not (isinstance(rule_id, str) and 0 < len(rule_id) <= 255):
        failures.append(dynamic.CheckFailure(f"{where}.id", "must be a non-empty string"))
    status = rule.get("status")
    if not is_unknown(status) and status not in RULE_STATUSES:
        failures.append(
            dynamic.CheckFailure(f"{where}.status", f"must be one of {list(RULE_STATUSES)}")
        )
    prefix = rule.get("prefix")
    if not (is_unknown(prefix) or isinstance(prefix, str)):
        failures.append(dynamic.CheckFailure(f"{where}.prefix", "must be a string"))
    for key in DAY_FIELDS:
        days = rule.get(key)
        if days is not None and not is_unknown(days) and not _is_positive_int(days):
            failures.append(
                dynamic.CheckFailure(
                    f"{where}.{key}", f"must be a whole number of days > 0 (got {days!r})"
                )
            )
    if all(rule.get(key) is None for key in DAY_FIELDS):
        failures.append(
            dynamic.CheckFailure(where, f"has no action: set at least one of {list(DAY_FIELDS)}")
        )
    if rule.get("noncurrent_version_expiration_days") is not None and versioning is False:
        failures.append(
            dynamic.CheckFailure(
                f"{where}.noncurrent_version_expiration_days",
                "needs a versioned bucket: set versioning=True or remove this action",
            )
        )
    return failures


def check_inputs(props: Mapping[str, Any]) -> list[dynamic.CheckFailure]:
    """Every problem with the (normalized) inputs; values not known yet are not judged."""
    failures: list[dynamic.CheckFailure] = []

    def bad(key: str, reason: str) -> None:
        failures.append(dynamic.CheckFailure(key, reason))

    name = props.get("bucket_name")
    if not is_unknown(name):
        if not isinstance(name, str):
            bad("bucket_name", "must be a string")
        else:
            for problem in bucket_name_problems(name):
                bad("bucket_name", f"{name!r} {problem}")
    endpoint = props.get("endpoint")
    if not is_unknown(endpoint) and not (
        isinstance(endpoint, str) and re.fullmatch(r"[A-Za-z0-9.\-\[\]:]+:\d{1,5}", endpoint)
    ):
        bad("endpoint", f"must be 'host:port' without a scheme or path (got {endpoint!r})")
    for key in SECRET_KEYS:
        value = props.get(key)
        if not is_unknown(value) and not (isinstance(value, str) and value):
            bad(key, "must be a non-empty string")
    for key in ("secure", "versioning", "force_destroy"):
        value = props.get(key)
        if not is_unknown(value) and not isinstance(value, bool):
            bad(key, f"must be true or false (got {value!r})")
    access = props.get("access")
    if not is_unknown(access) and access not in ACCESS_LEVELS:
        bad("access", f"must be one of {list(ACCESS_LEVELS)} (got {access!r})")
    role = props.get("role")
    if not is_unknown(role) and not isinstance(role, str):
        bad("role", "must be a string")

    tags = props.get("tags")
    if not is_unknown(tags):
        if not isinstance(tags, Mapping):
            bad("tags", "must be a mapping of strings to strings")
        else:
            if len(tags) > MAX_TAGS:
                bad("tags", f"at most {MAX_TAGS} tags are allowed (got {len(tags)})")
            for key, value in tags.items():
                if not (isinstance(key, str) and 1 <= len(key) <= 128):
                    bad(f"tags[{key!r}]", "keys must be 1 to 128 characters")
                if not is_unknown(value) and not (isinstance(value, str) and len(value) <= 256):
                    bad(f"tags[{key!r}]", "values must be strings of at most 256 characters")

    rules = props.get("lifecycle_rules")
    if not is_unknown(rules):
        if not isinstance(rules, list):
            bad("lifecycle_rules", "must be a list of lifecycle rules")
        else:
            seen: set[str] = set()
            for index, rule in enumerate(rules):
                failures.extend(_rule_failures(index, rule, props.get("versioning")))
                rule_id = rule.get("id") if isinstance(rule, Mapping) else None
                if isinstance(rule_id, str) and not is_unknown(rule_id):
                    if rule_id in seen:
                        bad(f"lifecycle_rules[{index}].id", f"duplicate rule id {rule_id!r}")
                    seen.add(rule_id)
    return failures


# ---------------------------------------------------------------------------------------------
# Comparing declared and live configuration (pure)


def download_policy(bucket_name: str) -> dict[str, Any]:
    """The bucket policy for `access="download"`: anyone may GET objects, nothing else."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": ["*"]},
                "Action": ["s3:GetObject"],
                "Resource": [f"arn:aws:s3:::{bucket_name}/*"],
            }
        ],
    }


def _as_sorted_list(value: Any) -> list[str]:
    if value is None:
        return []
    return sorted([value] if isinstance(value, str) else [str(item) for item in value])


def _statement_key(statement: Mapping[str, Any]) -> tuple[Any, ...]:
    principal = statement.get("Principal")
    if isinstance(principal, Mapping):
        principal = _as_sorted_list(principal.get("AWS"))
    else:
        principal = _as_sorted_list(principal)
    return (
        statement.get("Effect"),
        tuple(principal),
        tuple(_as_sorted_list(statement.get("Action"))),
        tuple(_as_sorted_list(statement.get("Resource"))),
        json.dumps(statement.get("Condition") or {}, sort_keys=True),
    )


def classify_policy(bucket_name: str, policy: Mapping[str, Any] | None) -> str:
    """The access level a live bucket policy amounts to: private, download, or custom."""
    statements = (policy or {}).get("Statement") or []
    if not statements:
        return "private"
    canonical = {_statement_key(s) for s in download_policy(bucket_name)["Statement"]}
    if {_statement_key(s) for s in statements} == canonical:
        return "download"
    return "custom"


def _rules_by_id(rules: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(rule["id"]): normalize_rule(rule) for rule in rules}


def has_server_action(rule: Mapping[str, Any]) -> bool:
    """Whether MinIO can store the rule: it needs an expiration action besides any abort."""
    return any(rule.get(key) is not None for key in SERVER_DAY_FIELDS)


def carry_unreadable_fields(
    live_rules: list[dict[str, Any]], known_rules: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Live rules plus what MinIO cannot report, taken from `known_rules` (the state).

    That is the abort-multipart days of rules that exist live, and the rules whose only action
    is aborting multipart uploads (MinIO keeps no per-bucket form of them; see module docstring).
    """
    known = _rules_by_id(known_rules)
    carried = []
    for rule in live_rules:
        rule = dict(rule)
        if rule.get("abort_incomplete_multipart_days") is None and rule["id"] in known:
            rule["abort_incomplete_multipart_days"] = known[rule["id"]][
                "abort_incomplete_multipart_days"
            ]
        carried.append(rule)
    live_ids = {rule["id"] for rule in live_rules}
    carried += [
        rule
        for rule_id, rule in known.items()
        if rule_id not in live_ids and not has_server_action(rule)
    ]
    return carried


def stale_uploads_expiry(rule_sets: Iterable[Iterable[Mapping[str, Any] | LifecycleRule]]) -> str:
    """`MINIO_API_STALE_UPLOADS_EXPIRY` for the server: the shortest declared abort, or 24h.

    MinIO aborts incomplete multipart uploads server-wide, so the strictest bucket wins.
    """
    days = [
        rule["abort_incomplete_multipart_days"]
        for rules in rule_sets
        for rule in map(normalize_rule, rules)
        if rule["abort_incomplete_multipart_days"]
    ]
    return f"{min(days) * 24}h" if days else "24h"


def live_differences(declared: Mapping[str, Any], live: Mapping[str, Any]) -> list[str]:
    """Names of the configuration fields whose live value differs from the declared one."""
    changed = []
    if bool(declared["versioning"]) != bool(live["versioning"]):
        changed.append("versioning")
    if _rules_by_id(declared["lifecycle_rules"]) != _rules_by_id(live["lifecycle_rules"]):
        changed.append("lifecycle_rules")
    if dict(declared["tags"]) != dict(live["tags"]):
        changed.append("tags")
    if declared["access"] != live["access"]:
        changed.append("access")
    return changed


# ---------------------------------------------------------------------------------------------
# Talking to the server


def _client(props: Mapping[str, Any]) -> Minio:
    return Minio(
        str(props["endpoint"]),
        access_key=str(props["access_key"]),
        secret_key=str(props["secret_key"]),
        secure=bool(props.get("secure", False)),
    )


def _scrub(text: str, props: Mapping[str, Any]) -> str:
    """Remove credentials from a message, in case a server or library ever echoes them."""
    for key in SECRET_KEYS:
        secret = props.get(key)
        if isinstance(secret, str) and secret:
            text = text.replace(secret, "********")
    return text


def _fail(action: str, props: Mapping[str, Any], error: Exception) -> BucketError:
    detail = error.message if isinstance(error, S3Error) else str(error)
    code = f"{error.code}: " if isinstance(error, S3Error) else ""
    return BucketError(
        _scrub(
            f"{action} bucket {props.get('bucket_name')!r} at {props.get('endpoint')}: "
            f"{code}{detail}",
            props,
        )
    )


def _export_metadata(props: Mapping[str, Any]) -> dict[str, bytes] | None:
    """All configuration documents of the bucket in one request, or None if it does not exist."""
    scheme = "https" if props.get("secure") else "http"
    query = urlencode({"bucket": props["bucket_name"]})
    url = urlsplit(f"{scheme}://{props['endpoint']}{EXPORT_PATH}?{query}")
    content_sha256 = sha256_hash(b"")
    date = utcnow()
    headers = sign_v4_s3(
        method="GET",
        url=url,
        region="",
        headers={
            "Host": url.netloc,
            "x-amz-date": to_amz_date(date),
            "x-amz-content-sha256": content_sha256,
        },
        credentials=Credentials(str(props["access_key"]), str(props["secret_key"])),
        content_sha256=content_sha256,
        date=date,
    )
    http = urllib3.PoolManager(timeout=HTTP_TIMEOUT_SECONDS, retries=False)
    try:
        response = http.request(
            "GET", url.geturl(), headers={key: str(value) for key, value in headers.items()}
        )
    finally:
        http.clear()
    if response.status != 200:
        try:
            error = json.loads(response.data)
        except ValueError:
            error = {}
        code = error.get("Code", f"HTTP {response.status}")
        if code == "NoSuchBucket":
            return None
        hint = (
            " (the credentials need admin:ExportBucketMetadata to read the configuration)"
            if code == "AccessDenied"
            else ""
        )
        raise BucketError(
            _scrub(
                f"reading the configuration of bucket {props['bucket_name']!r} at "
                f"{props['endpoint']}: {code}: {error.get('Message', '')}{hint}",
                props,
            )
        )
    documents: dict[str, bytes] = {}
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        for entry in archive.namelist():
            bucket, _, document = entry.partition("/")
            if bucket == props["bucket_name"]:
                documents[document] = archive.read(entry)
    return documents


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: ET.Element | None, name: str) -> ET.Element | None:
    if element is None:
        return None
    return next((c for c in element if _local(c.tag) == name), None)


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in element if _local(c.tag) == name]


def _text(element: ET.Element | None, name: str) -> str | None:
    child = _child(element, name)
    return None if child is None or child.text is None else child.text.strip()


def _days(element: ET.Element | None, name: str) -> int | None:
    value = _text(element, name)
    return int(value) if value and int(value) > 0 else None


def parse_lifecycle(document: bytes | None) -> list[dict[str, Any]]:
    """Lifecycle XML (S3 or MinIO's export) as normalized rule dicts."""
    if not document:
        return []
    rules = []
    for rule in _children(ET.fromstring(document), "Rule"):
        rule_filter = _child(rule, "Filter")
        prefix = _text(rule_filter, "Prefix")
        if prefix is None:
            prefix = _text(_child(rule_filter, "And"), "Prefix")
        if prefix is None:
            prefix = _text(rule, "Prefix")
        rules.append(
            {
                "id": _text(rule, "ID") or "",
                "status": _text(rule, "Status") or "Enabled",
                "prefix": prefix or "",
                "expiration_days": _days(_child(rule, "Expiration"), "Days"),
                "abort_incomplete_multipart_days": _days(
                    _child(rule, "AbortIncompleteMultipartUpload"), "DaysAfterInitiation"
                ),
                "noncurrent_version_expiration_days": _days(
                    _child(rule, "NoncurrentVersionExpiration"), "NoncurrentDays"
                ),
            }
        )
    return rules


def parse_tags(document: bytes | None) -> dict[str, str]:
    """Tagging XML as a dict."""
    if not document:
        return {}
    tag_set = _child(ET.fromstring(document), "TagSet")
    if tag_set is None:
        return {}
    return {_text(tag, "Key") or "": _text(tag, "Value") or "" for tag in _children(tag_set, "Tag")}


def parse_versioning(document: bytes | None) -> bool:
    """True when versioning is Enabled (absent or Suspended both mean no new versions)."""
    return bool(document) and _text(ET.fromstring(document or b"<x/>"), "Status") == "Enabled"


def read_live(props: Mapping[str, Any]) -> dict[str, Any] | None:
    """The live configuration of the bucket (one request), or None if the bucket is gone."""
    documents = _export_metadata(props)
    if documents is None:
        return None
    policy_document = documents.get("policy.json")
    policy = json.loads(policy_document) if policy_document else None
    return {
        "versioning": parse_versioning(documents.get("versioning.xml")),
        "lifecycle_rules": parse_lifecycle(documents.get("lifecycle.xml")),
        "tags": parse_tags(documents.get("tagging.xml")),
        "access": classify_policy(str(props["bucket_name"]), policy),
    }


def _lifecycle_config(rules: Sequence[Mapping[str, Any]]) -> LifecycleConfig:
    sdk_rules = []
    for rule in rules:
        rule = normalize_rule(rule)
        sdk_rules.append(
            Rule(
                rule["status"],
                rule_filter=Filter(prefix=rule["prefix"]),
                rule_id=rule["id"],
                expiration=(
                    Expiration(days=rule["expiration_days"]) if rule["expiration_days"] else None
                ),
                abort_incomplete_multipart_upload=(
                    AbortIncompleteMultipartUpload(rule["abort_incomplete_multipart_days"])
                    if rule["abort_incomplete_multipart_days"]
                    else None
                ),
                noncurrent_version_expiration=(
                    NoncurrentVersionExpiration(rule["noncurrent_version_expiration_days"])
                    if rule["noncurrent_version_expiration_days"]
                    else None
                ),
            )
        )
    return LifecycleConfig(sdk_rules)


def apply_configuration(client: Minio, props: Mapping[str, Any], fresh: bool) -> None:
    """Make the bucket's versioning, lifecycle, tags and policy what `props` declares.

    On a `fresh` bucket nothing needs removing, so only what is declared is written.
    """
    name = str(props["bucket_name"])
    if props["versioning"]:
        client.set_bucket_versioning(name, VersioningConfig(ENABLED))
    elif not fresh and client.get_bucket_versioning(name).status == ENABLED:
        client.set_bucket_versioning(name, VersioningConfig(SUSPENDED))
    server_rules = [rule for rule in props["lifecycle_rules"] if has_server_action(rule)]
    if server_rules:
        client.set_bucket_lifecycle(name, _lifecycle_config(server_rules))
    elif not fresh:
        client.delete_bucket_lifecycle(name)
    if props["tags"]:
        tags = Tags.new_bucket_tags()
        tags.update(props["tags"])
        client.set_bucket_tags(name, tags)
    elif not fresh:
        client.delete_bucket_tags(name)
    if props["access"] == "download":
        client.set_bucket_policy(name, json.dumps(download_policy(name)))
    elif not fresh:
        client.delete_bucket_policy(name)


def _outputs(props: Mapping[str, Any]) -> dict[str, Any]:
    return {key: props[key] for key in (*REPLACE_KEYS, *STORED_KEYS, *LIVE_KEYS)}


# ---------------------------------------------------------------------------------------------
# The provider


class BucketProvider(dynamic.ResourceProvider):
    """Creates, reads, diffs, updates and deletes one MinIO bucket; see the module docstring."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dynamic.CheckResult:
        """Fill in defaults and validate every input before any call to the server."""
        inputs = normalize_inputs(news)
        return dynamic.CheckResult(inputs, check_inputs(inputs))

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        """Make the bucket and write its configuration; remove it again if that fails."""
        props = normalize_inputs(props)
        name = str(props["bucket_name"])
        client = _client(props)
        try:
            if client.bucket_exists(name):
                raise BucketError(
                    f"bucket {name!r} already exists at {props['endpoint']}: adopt it with "
                    "`pulumi import` or choose another name; appstack never takes over a "
                    "bucket silently"
                )
            client.make_bucket(name)
        except S3Error as error:
            raise _fail("creating", props, error) from None
        try:
            apply_configuration(client, props, fresh=True)
        except S3Error as error:
            client.remove_bucket(name)
            raise _fail("configuring new", props, error) from None
        return dynamic.CreateResult(id_=name, outs=_outputs(props))

    def read(self, id_: str, props: dict[str, Any]) -> dynamic.ReadResult:
        """The live configuration (blank id when the bucket is gone), for `pulumi refresh`."""
        props = normalize_inputs({**props, "bucket_name": props.get("bucket_name") or id_})
        live = read_live(props)
        if live is None:
            return dynamic.ReadResult("", {})
        live["lifecycle_rules"] = carry_unreadable_fields(
            live["lifecycle_rules"], props["lifecycle_rules"]
        )
        return dynamic.ReadResult(id_, _outputs({**props, **live}))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        """Compare the declaration with the live bucket: rename/move replaces, rest in place."""
        news = normalize_inputs(news)
        olds = normalize_inputs(olds)
        replaces = [key for key in REPLACE_KEYS if olds.get(key) != news.get(key)]
        if replaces:
            return dynamic.DiffResult(changes=True, replaces=replaces)
        if any(is_unknown(news.get(key)) for key in (*STORED_KEYS, *LIVE_KEYS)):
            return dynamic.DiffResult(changes=True, replaces=[])
        if any(olds.get(key) != news.get(key) for key in LOCATION_KEYS):
            return dynamic.DiffResult(changes=True, replaces=[], delete_before_replace=False)
        live = read_live(news)
        if live is None:
            # Gone behind our back: create it again. Delete first, or the create-then-delete
            # order would remove the bucket just made under the same name.
            return dynamic.DiffResult(
                changes=True, replaces=["bucket_name"], delete_before_replace=True
            )
        live["lifecycle_rules"] = carry_unreadable_fields(
            live["lifecycle_rules"], olds["lifecycle_rules"]
        )
        changed = live_differences(news, live)
        changed += [key for key in STORED_KEYS if olds.get(key) != news.get(key)]
        return dynamic.DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        """Rewrite the live configuration to the declared one, keeping the bucket and data.

        Through a new endpoint the bucket is normally there already (same server, same data);
        if that server does not have it, it is made there, as `create` would.
        """
        news = normalize_inputs(news)
        name = str(news["bucket_name"])
        client = _client(news)
        try:
            fresh = not client.bucket_exists(name)
            if fresh:
                client.make_bucket(name)
            apply_configuration(client, news, fresh=fresh)
        except S3Error as error:
            raise _fail("updating", news, error) from None
        return dynamic.UpdateResult(outs=_outputs(news))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Remove the bucket; refuse while it holds objects unless `force_destroy` is set."""
        props = normalize_inputs(props)
        name = str(props["bucket_name"])
        client = _client(props)
        try:
            if not client.bucket_exists(name):
                return
            versions = client.list_objects(name, recursive=True, include_version=True)
            if not props["force_destroy"]:
                first = next(iter(versions), None)
                if first is not None:
                    raise BucketError(
                        f"bucket {name!r} at {props['endpoint']} still holds objects (e.g. "
                        f"{first.object_name!r}); refusing to delete it. Empty it first, or opt "
                        "in to deleting it with everything in it: set force_destroy=True on the "
                        "bucket, run `pulumi up`, then delete again"
                    )
            else:
                doomed = (DeleteObject(v.object_name or "", v.version_id) for v in versions)
                errors = list(client.remove_objects(name, doomed))
                if errors:
                    raise BucketError(
                        f"force_destroy of bucket {name!r}: {len(errors)} objects could not be "
                        f"deleted (first: {errors[0].name}: {errors[0].message})"
                    )
            client.remove_bucket(name)
        except S3Error as error:
            raise _fail("deleting", props, error) from None


class Bucket(dynamic.Resource, module=DYNAMIC_MODULE, name="Bucket"):
    """One MinIO bucket whose versioning, lifecycle rules, tags and access are kept as declared."""

    bucket_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    access_key: pulumi.Output[str]
    secret_key: pulumi.Output[str]
    secure: pulumi.Output[bool]
    versioning: pulumi.Output[bool]
    lifecycle_rules: pulumi.Output[list[dict[str, Any]]]
    tags: pulumi.Output[dict[str, str]]
    access: pulumi.Output[str]
    force_destroy: pulumi.Output[bool]
    role: pulumi.Output[str]

    def __init__(
        self, name: str, args: BucketArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        rules: Any = args.lifecycle_rules
        if isinstance(rules, (list, tuple)):
            rules = [normalize_rule(rule) for rule in rules]
        else:
            rules = pulumi.Output.from_input(rules).apply(
                lambda value: [normalize_rule(rule) for rule in value]
            )
        props = {
            "bucket_name": args.bucket_name,
            "endpoint": args.endpoint,
            "access_key": pulumi.Output.secret(args.access_key),
            "secret_key": pulumi.Output.secret(args.secret_key),
            "secure": args.secure,
            "versioning": args.versioning,
            "lifecycle_rules": rules,
            "tags": args.tags,
            "access": args.access,
            "force_destroy": args.force_destroy,
            "role": args.role,
        }
        secret_opts = pulumi.ResourceOptions(additional_secret_outputs=list(SECRET_KEYS))
        super().__init__(
            BucketProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret_opts)
        )
