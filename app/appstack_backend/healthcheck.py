"""The container HEALTHCHECK: exit 0 when this container's /health answers 200 (no curl)."""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

WILDCARD_HOSTS = ("", "0.0.0.0", "::", "[::]")


def main() -> int:
    host = os.environ.get("HOST", "0.0.0.0").strip()
    host = "127.0.0.1" if host in WILDCARD_HOSTS else host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    url = f"http://{host}:{os.environ.get('PORT', '8000')}/health"
    try:
        with urllib.request.urlopen(url, timeout=8) as response:
            return 0 if response.status == 200 else 1
    except urllib.error.HTTPError as err:
        print(f"{url}: {err.code} {err.read().decode(errors='replace')[:500]}", file=sys.stderr)
    except OSError as err:
        print(f"{url}: {err}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
