#!/usr/bin/env python3
"""Print the host's Debian apt sources for one release, so image builds use the machine's mirror.

No mirror host name is written in the repository: the base image's rootfs is bootstrapped from, and
configured with, whatever this machine's apt uses. Reads /etc/apt/sources.list (one-line format)
and /etc/apt/sources.list.d/*.list / *.sources (deb822), keeps the `deb` entries whose suite is the
release or one of its suites (`bookworm`, `bookworm-updates`, `bookworm-security`), and prints them
in one-line format. `--mirror` prints only the URI of the release's main suite (for debootstrap).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

APT_DIR = Path("/etc/apt")


def one_line_entries(text: str) -> list[tuple[str, str, list[str]]]:
    """Parse one-line `deb [options] URI suite components...` entries."""
    entries = []
    for raw in text.splitlines():
        words = raw.split("#", 1)[0].split()
        if not words or words[0] != "deb":
            continue
        words = words[1:]
        if words and words[0].startswith("["):
            while words and not words[0].endswith("]"):
                words = words[1:]
            words = words[1:]
        if len(words) >= 3:
            entries.append((words[0], words[1], words[2:]))
    return entries


def deb822_entries(text: str) -> list[tuple[str, str, list[str]]]:
    """Parse deb822 stanzas (Types/URIs/Suites/Components; Enabled: no is honoured)."""
    entries = []
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        key = ""
        for line in stanza.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line[0].isspace() and key:
                fields[key] += " " + line.strip()
                continue
            key, _, value = line.partition(":")
            key = key.strip().lower()
            fields[key] = value.strip()
        if "deb" not in fields.get("types", "").split():
            continue
        if fields.get("enabled", "yes").lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            for suite in fields.get("suites", "").split():
                entries.append((uri, suite, fields.get("components", "").split()))
    return entries


def host_entries() -> list[tuple[str, str, list[str]]]:
    """All `deb` entries configured on this machine, in apt's file order."""
    entries = []
    main_list = APT_DIR / "sources.list"
    if main_list.is_file():
        entries += one_line_entries(main_list.read_text())
    for path in sorted((APT_DIR / "sources.list.d").glob("*")):
        if path.suffix == ".list":
            entries += one_line_entries(path.read_text())
        elif path.suffix == ".sources":
            entries += deb822_entries(path.read_text())
    return entries


def main() -> int:
    """Print the release's entries (or its mirror); fail loudly when the host has none."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("release", help="Debian release code name, e.g. bookworm")
    parser.add_argument("--mirror", action="store_true", help="print only the main suite's URI")
    args = parser.parse_args()
    suites = {args.release, f"{args.release}-updates", f"{args.release}-security"}
    wanted = [e for e in host_entries() if e[1] in suites and "main" in e[2]]
    if not any(suite == args.release for _, suite, _ in wanted):
        print(f"no apt source for '{args.release} main' in {APT_DIR}", file=sys.stderr)
        return 1
    if args.mirror:
        print(next(uri for uri, suite, _ in wanted if suite == args.release))
        return 0
    for uri, suite, components in wanted:
        print(f"deb {uri} {suite} {' '.join(components)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
