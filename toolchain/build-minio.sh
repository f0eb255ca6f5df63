#!/usr/bin/env bash
# Build the MinIO server from its Go module with the machine's Go toolchain and cache the binary
# outside the repo, because the community edition ships no official binaries any more.
# Prints the binary's path (last line of stdout) and how long the build took; reuses a cached build.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=versions.env
source "$repo_root/toolchain/versions.env"

cache_root="${APPSTACK_CACHE:-$HOME/.cache/appstack}"
dest_dir="$cache_root/minio-$MINIO_RELEASE"
binary="$dest_dir/minio"

if [[ -x "$binary" ]]; then
    echo "minio $MINIO_RELEASE already built (reused)" >&2
    echo "$binary"
    exit 0
fi

command -v go >/dev/null || { echo "go not found: install Go (see toolchain/versions.env)" >&2; exit 1; }

# The same version strings MinIO's own Makefile (buildscripts/gen-ldflags.go) stamps in, so
# `minio --version` names the pinned build. MINIO_RELEASE is "<PREFIX>.<commit time>": RELEASE.* for
# a release tag, DEVELOPMENT.* (what gen-ldflags.go writes for untagged commits) otherwise.
release_time="${MINIO_RELEASE#*.}"                           # 2026-02-12T20-18-48Z
release_date="${release_time%%T*}"                           # 2025-10-15
release_clock="${release_time#*T}"; release_clock="${release_clock%Z}"
version_rfc3339="${release_date}T${release_clock//-/:}Z"     # 2026-02-12T20:18:48Z
short_commit="${MINIO_MODULE_VERSION##*-}"
ldflags="-s -w"
ldflags+=" -X github.com/minio/minio/cmd.Version=$version_rfc3339"
ldflags+=" -X github.com/minio/minio/cmd.CopyrightYear=${release_date%%-*}"
ldflags+=" -X github.com/minio/minio/cmd.ReleaseTag=$MINIO_RELEASE"
ldflags+=" -X github.com/minio/minio/cmd.CommitID=$short_commit"
ldflags+=" -X github.com/minio/minio/cmd.ShortCommitID=$short_commit"

mkdir -p "$dest_dir"
staging="$(mktemp -d "$dest_dir/.build.XXXXXX")"
trap 'rm -rf "$staging"' EXIT

start=$(date +%s)
echo "building minio $MINIO_RELEASE ($MINIO_MODULE_VERSION) with $(go version)" >&2
GOTOOLCHAIN=local CGO_ENABLED=0 GOBIN="$staging" \
    go install -trimpath -tags kqueue -ldflags "$ldflags" \
    "github.com/minio/minio@$MINIO_MODULE_VERSION"
mv "$staging/minio" "$binary"     # atomic within one directory: never a half-written binary
end=$(date +%s)

echo "built $("$binary" --version | head -n1) in $((end - start)) s" >&2
echo "$binary"
