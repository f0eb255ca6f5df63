#!/usr/bin/env bash
# Bootstrap a minimal Debian root filesystem and write it as a tarball for `docker import`.
#
#   images/base/mkrootfs.sh RELEASE OUTPUT.tar
#
# The mirror and the apt sources written into the image are the machine's own (read from
# /etc/apt by apt_sources.py), so no mirror host name lives in the repository. Like Debian's
# "slim" images, documentation, man pages and translations are dropped (copyright files kept),
# and a dpkg configuration keeps later `apt-get install`s from adding them back.
set -euo pipefail

release="$1"
output="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { printf 'mkrootfs.sh: %s\n' "$*" >&2; }

command -v debootstrap >/dev/null || {
  log "debootstrap not found: apt-get install -y debootstrap"
  exit 1
}
mirror="$(python3 "$here/../apt_sources.py" --mirror "$release")"
sources="$(python3 "$here/../apt_sources.py" "$release")"
# Single-line Acquire settings of the host (e.g. a mirror that serves stale Release files).
acquire="$(grep -hs '^Acquire::[^{]*;[[:space:]]*$' /etc/apt/apt.conf /etc/apt/apt.conf.d/* || true)"
include=""
[[ "$mirror" == https:* ]] && include=ca-certificates

rootfs="$output.d"
rm -rf "$rootfs"
mkdir -p "$rootfs"
log "debootstrap --variant=minbase $release from $mirror (log: $output.log)"
if ! debootstrap --variant=minbase ${include:+--include="$include"} \
  "$release" "$rootfs" "$mirror" >"$output.log" 2>&1; then
  tail -n 20 "$output.log" >&2
  log "debootstrap failed"
  exit 1
fi

printf '%s\n' "$sources" >"$rootfs/etc/apt/sources.list"
[[ -z "$acquire" ]] || printf '%s\n' "$acquire" >"$rootfs/etc/apt/apt.conf.d/90host-acquire"
cat >"$rootfs/etc/apt/apt.conf.d/90appstack-image" <<'CONF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
CONF
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/90appstack-slim" <<'CONF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
CONF
find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$rootfs"/usr/share/{man,groff,info,lintian,locale}/*
chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/log/*.log \
  "$rootfs"/var/log/apt/* "$rootfs"/tmp/*
# Docker provides /dev, /proc, /sys and the network files at run time.
rm -rf "$rootfs"/dev/* "$rootfs"/proc/* "$rootfs"/sys/*
: >"$rootfs/etc/resolv.conf"
tar -C "$rootfs" --numeric-owner -cf "$output.tmp" .
mv "$output.tmp" "$output"
rm -rf "$rootfs"
