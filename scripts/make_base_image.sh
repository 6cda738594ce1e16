#!/usr/bin/env bash
# Make a bare Debian bookworm image locally, without pulling anything: debootstrap (minbase) from the Debian mirror
# this machine's apt uses, then `docker import`. CI builds the kit's images FROM it (BASE_IMAGE) where no registry
# image can be pulled.
#
#   scripts/make_base_image.sh [NAME:TAG]        # default talkingface-os:bookworm
#   scripts/make_base_image.sh --print-mirror    # only print the Debian mirror it would use
#
# Environment: DOCKER (the client, default docker), DEBIAN_MIRROR (default: the first URI configured for the suite in
# /etc/apt/sources.list.d/ or /etc/apt/sources.list — this script names no mirror of its own; without either it
# stops), SUITE (default bookworm), APT_ETC (default /etc/apt: where the sources are read). The image's apt sources
# are that same mirror (debootstrap writes them).
# Needs root and debootstrap (apt-get install -y debootstrap). Takes ~30 s and ~200 MB.
set -euo pipefail
print_mirror=0
if [ "${1:-}" = --print-mirror ]; then print_mirror=1; shift; fi
name=${1:-talkingface-os:bookworm}
apt_etc=${APT_ETC:-/etc/apt}
DOCKER=${DOCKER:-docker}
suite=${SUITE:-bookworm}

mirror_from_apt() {  # the first non-security Debian URI of the configured sources
  local f
  for f in "$apt_etc"/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # deb822 stanzas: take URIs of a stanza whose Suites name the suite itself (not -security)
    awk -v suite="$suite" '
      /^[[:space:]]*$/ { if (uris != "" && ok) { print uris; exit } uris=""; ok=0; next }
      /^URIs:/ { uris=$2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) ok=1 }
      END { if (uris != "" && ok) print uris }' "$f" | head -n1
  done | { grep -v -i security || true; } | head -n1
  for f in "$apt_etc"/sources.list "$apt_etc"/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v suite="$suite" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i == suite) { print $(i-1); exit } }' "$f"
  done | { grep -v -i security || true; } | head -n1
}
mirror=${DEBIAN_MIRROR:-$(mirror_from_apt | head -n1)}
[ -n "$mirror" ] || { echo "error: no Debian mirror for $suite in $apt_etc/sources.list(.d): set DEBIAN_MIRROR" >&2
                      exit 2; }
if [ "$print_mirror" = 1 ]; then echo "$mirror"; exit 0; fi

command -v debootstrap >/dev/null || { echo "error: debootstrap not found (apt-get install -y debootstrap)" >&2; exit 2; }
rootfs=$(mktemp -d "${TMPDIR:-/var/tmp}/talkingface-rootfs.XXXXXX")
trap 'rm -rf "$rootfs"' EXIT
echo "make_base_image: debootstrap --variant=minbase $suite from $mirror"
debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" > "$rootfs.log" 2>&1 \
  || { tail -n 20 "$rootfs.log" >&2; rm -f "$rootfs.log"; echo "error: debootstrap failed" >&2; exit 1; }
rm -f "$rootfs.log"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
tar -C "$rootfs" -c . | "$DOCKER" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/bash"]' \
  --message "debootstrap --variant=minbase $suite $mirror" - "$name" >/dev/null
echo "make_base_image: $name ($("$DOCKER" image inspect --format '{{.Size}}' "$name" | awk '{printf "%.0f MB", $1/1e6}'))"
