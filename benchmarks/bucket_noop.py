"""Benchmark: requests and time of a no-op `read` + `diff` of one bucket against a real MinIO.

Run from the repo root: `.venv/bin/python -m benchmarks.bucket_noop [--iterations N]`.
Starts MinIO on loopback in a temporary directory, creates a versioned bucket with the standard
rules through the provider, then times `read` followed by `diff` with unchanged inputs, counting
every HTTP request the provider sends. Exits 1 if a no-op read+diff needs more than the minimal
requests to read the configuration once, plus one.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import urllib3
from minio import Minio
from minio.error import S3Error

from appstack.bucket import BucketProvider
from tests.realservers.minio import start_minio

MINIMAL_REQUESTS_TO_READ = 1
"""MinIO's admin export returns the whole bucket configuration in one response."""
S3_API_DOCUMENTS = ("versioning", "lifecycle", "tagging", "policy")
"""Through the S3 API each of these is one GET: the cost the export avoids."""

STANDARD_BACKUPS = {
    "bucket_name": "bench-appstack-backups",
    "versioning": True,
    "lifecycle_rules": [
        {"id": "abort-multipart", "abort_incomplete_multipart_days": 1},
        {"id": "old-versions", "noncurrent_version_expiration_days": 30},
    ],
    "tags": {"env": "bench", "project": "appstack", "role": "backups"},
    "role": "backups",
}


class RequestCounter:
    """Counts HTTP requests sent through urllib3 (the transport of the minio SDK and provider)."""

    def __init__(self) -> None:
        self.count = 0

    @contextmanager
    def installed(self) -> Iterator[RequestCounter]:
        original = urllib3.PoolManager.urlopen

        def counting(pool: urllib3.PoolManager, *args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return original(pool, *args, **kwargs)

        urllib3.PoolManager.urlopen = counting  # type: ignore[method-assign,assignment]
        try:
            yield self
        finally:
            urllib3.PoolManager.urlopen = original  # type: ignore[method-assign]


def measure(action: Callable[[], Any]) -> tuple[int, float]:
    """Requests sent and seconds taken by one call of `action`."""
    counter = RequestCounter()
    with counter.installed():
        start = time.perf_counter()
        action()
        elapsed = time.perf_counter() - start
    return counter.count, elapsed


def run(iterations: int) -> int:
    with tempfile.TemporaryDirectory(prefix="bucket-bench-") as tmp:
        server = start_minio(Path(tmp))
        try:
            provider = BucketProvider()
            connection = {
                "endpoint": server.endpoint,
                "access_key": server.access_key,
                "secret_key": server.secret_key,
            }
            checked = provider.check({}, {**STANDARD_BACKUPS, **connection})
            assert not checked.failures, checked.failures
            props = checked.inputs
            name = props["bucket_name"]
            state = provider.create(props).outs or {}

            refreshed: dict[str, Any] = {}

            def noop_read() -> None:
                result = provider.read(name, state)
                assert result.id == name
                refreshed.update(result.outs or {})

            def noop_diff() -> None:
                result = provider.diff(name, refreshed, props)
                assert result.changes is False, "benchmark bucket drifted: not a no-op"

            def noop_read_and_diff() -> tuple[int, int, float]:
                read_requests, read_seconds = measure(noop_read)
                diff_requests, diff_seconds = measure(noop_diff)
                return read_requests, diff_requests, read_seconds + diff_seconds

            def s3_api_read() -> None:
                client = Minio(server.endpoint, server.access_key, server.secret_key, secure=False)
                client.get_bucket_versioning(name)
                client.get_bucket_lifecycle(name)
                client.get_bucket_tags(name)
                with suppress(S3Error):  # NoSuchBucketPolicy: the bucket is private
                    client.get_bucket_policy(name)

            noop_read_and_diff()  # warm-up (imports, first connection)
            samples = [noop_read_and_diff() for _ in range(iterations)]
            s3_requests, _ = measure(s3_api_read)
            provider.delete(name, {**props, "force_destroy": True})
        finally:
            server.stop()

    read_requests = max(sample[0] for sample in samples)
    diff_requests = max(sample[1] for sample in samples)
    requests = max(sample[0] + sample[1] for sample in samples)
    times_ms = [sample[2] * 1000 for sample in samples]
    allowed = MINIMAL_REQUESTS_TO_READ + 1
    print(f"no-op read+diff of one bucket, {iterations} iterations against MinIO on loopback")
    print(
        f"  requests per read+diff:            {requests} "
        f"(read {read_requests} + diff {diff_requests})"
    )
    print(f"  minimal requests to read config:   {MINIMAL_REQUESTS_TO_READ} (admin export)")
    print(f"  allowed (minimum + 1):             {allowed}")
    print(
        f"  time per read+diff:                median {statistics.median(times_ms):.1f} ms, "
        f"min {min(times_ms):.1f} ms, max {max(times_ms):.1f} ms"
    )
    print(
        f"  for comparison, one read through the S3 API: {s3_requests} requests "
        f"({len(S3_API_DOCUMENTS)} documents + bucket location lookup)"
    )
    if requests > allowed:
        print(f"FAIL: {requests} requests > {allowed}", file=sys.stderr)
        return 1
    print("OK")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--iterations", type=int, default=20)
    sys.exit(run(parser.parse_args().iterations))


if __name__ == "__main__":
    main()
