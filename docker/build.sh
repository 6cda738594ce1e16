#!/usr/bin/env bash
# Build the talkingface-kit images: the base image, then one image per stage (docker/<stage>.Dockerfile).
#
#   docker/build.sh                       # base + every stage whose command exists in this checkout
#   docker/build.sh evaluation dagan      # base + only these stages (file names without .Dockerfile)
#
# Options:
#   --base-image IMAGE   BASE_IMAGE of docker/base.Dockerfile (default: its pinned python:3.11.14-slim-bookworm)
#   --tag TAG            tag of every image (default: latest): talkingface-base:TAG, dagan:TAG, generate:TAG, ...
#   --uid N --gid N      the non-root user inside the images (default 1000:1000)
#   --pip-cert FILE      CA bundle for pip behind an HTTPS-intercepting proxy, passed as a BuildKit secret (never
#                        stored in an image); default: $PIP_CERT, else pip's `cert` setting, when that file exists
#   --no-host-pip-index  do not pass this machine's pip index settings into the build (see below)
#   --network MODE       network of the RUN steps (default: the daemon's; CI uses host)
#   --times FILE         append "image seconds" lines to FILE
# Needs BuildKit: DOCKER_BUILDKIT=1 with a client that has it (set DOCKER=/path/to/docker to pick the client).
# pip inside the build uses the package index this machine's pip uses: index-url, extra-index-url and trusted-host
# from `pip config list` (pip.conf files and PIP_INDEX_URL / PIP_EXTRA_INDEX_URL / PIP_TRUSTED_HOST) are written
# to a pip.conf passed as the BuildKit secret pip_index, like the CA bundle: used by the pip step, never stored in
# an image, not part of the layer cache key. Local indexes (file:// URLs, folders) are left out: the build cannot
# see them.
# Each stage file names its image and the command it runs in two header lines (`# image:`, `# module:`; an optional
# `# aliases:` line adds other tags of the same image, e.g. the seed kit's `generate-image`): a new stage
# plugs in by adding one such file. A stage file that installs packages itself (docker/lawdnet.Dockerfile: TensorFlow)
# gets what the base gets, as far as it declares them: the pip secrets (when it mounts them) and the build arguments
# BASE_IMAGE, UID and GID (when it has an ARG of that name).
set -euo pipefail
cd "$(dirname "$0")/.."

DOCKER=${DOCKER:-docker}
export DOCKER_BUILDKIT=1
base_image=""; tag=latest; uid=1000; gid=1000; network=""; times=""; host_index=1
pip_cert=${PIP_CERT:-}
stages=()
while [ $# -gt 0 ]; do
  case "$1" in
    --base-image) base_image=$2; shift ;;
    --tag) tag=$2; shift ;;
    --uid) uid=$2; shift ;;
    --gid) gid=$2; shift ;;
    --pip-cert) pip_cert=$2; shift ;;
    --network) network=$2; shift ;;
    --times) times=$2; shift ;;
    --no-host-pip-index) host_index=0 ;;
    -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) stages+=("$1") ;;
  esac
  shift
done

kit_version=$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -n1)
pin() { sed -n "s/^$1==\(.*\)/\1/p" constraints.txt | head -n1; }
common=(--build-arg "KIT_VERSION=$kit_version")
[ -n "$network" ] && common+=(--network "$network")

build() {  # build NAME DOCKERFILE ARGS...
  local name=$1 file=$2 start; shift 2
  echo "== building $name:$tag from $file"
  start=$(date +%s)
  "$DOCKER" build "${common[@]}" "$@" -f "$file" -t "$name:$tag" .
  echo "== $name:$tag built in $(( $(date +%s) - start )) s"
  [ -z "$times" ] || echo "$name $(( $(date +%s) - start ))" >> "$times"
}

# host_pip FILE: this machine's pip index settings as a pip.conf in FILE (printed on stderr); on stdout pip's
# `cert` setting. Exit 1 when no network index is configured (pip then uses its default index in the build too).
host_pip() {
  local py
  py=$(command -v python3 || command -v python) || return 1
  "$py" - "$1" <<'PY'
import subprocess
import sys

try:
    listing = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True,
                             timeout=60).stdout
except (OSError, subprocess.SubprocessError):
    listing = ""
found = {}  # pip merges its files; the environment (PIP_*) overrides [install], which overrides [global]
rank = {"global": 0, "install": 1, ":env:": 2}
for line in sorted(listing.splitlines(), key=lambda line: rank.get(line.split("=")[0].rpartition(".")[0], -1)):
    key, sep, value = line.partition("=")
    section, _, name = key.rpartition(".")
    if sep and section in rank:
        found[name] = value.strip().strip("'\"")

def remote(name):
    return [u for u in found.get(name, "").split() if u.startswith(("http://", "https://"))]


conf = {"index-url": remote("index-url")[:1], "extra-index-url": remote("extra-index-url"),
        "trusted-host": found.get("trusted-host", "").split()}
lines = [f"{key} = {' '.join(values)}" for key, values in conf.items() if values]
print(found.get("cert", ""))
if not lines:
    sys.exit(1)
with open(sys.argv[1], "w") as f:
    f.write("[global]\n" + "\n".join(lines) + "\n")
print("== this machine's pip index settings go into the build (secret pip_index): " + "; ".join(lines),
      file=sys.stderr)
PY
}

# The arguments of the base image; a stage image gets those it declares (stage_args).
declare -A shared_args=([UID]="UID=$uid" [GID]="GID=$gid")
[ -n "$base_image" ] && shared_args[BASE_IMAGE]="BASE_IMAGE=$base_image"
base_args=(--build-arg "TORCH_VERSION=$(pin torch)" --build-arg "TORCHVISION_VERSION=$(pin torchvision)")
for a in "${shared_args[@]}"; do base_args+=(--build-arg "$a"); done
pip_conf=$(mktemp "${TMPDIR:-/tmp}/talkingface-pip.XXXXXX")
trap 'rm -f "$pip_conf"' EXIT
cert_setting=""
secrets=()
if [ "$host_index" = 1 ]; then
  if cert_setting=$(host_pip "$pip_conf"); then secrets+=(--secret "id=pip_index,src=$pip_conf"); fi
fi
pip_cert=${pip_cert:-$cert_setting}
if [ -n "$pip_cert" ] && [ -f "$pip_cert" ]; then secrets+=(--secret "id=pip_cert,src=$pip_cert"); fi
build talkingface-base docker/base.Dockerfile "${base_args[@]}" "${secrets[@]}"

stage_args() {  # stage_args DOCKERFILE: the shared build arguments it declares, and the secrets when it mounts them
  local name
  for name in "${!shared_args[@]}"; do
    if grep -qE "^ARG $name(=|\s*$)" "$1"; then printf '%s\0' --build-arg "${shared_args[$name]}"; fi
  done
  if [ ${#secrets[@]} -gt 0 ] && grep -q -- "--mount=type=secret" "$1"; then printf '%s\0' "${secrets[@]}"; fi
}

header() { sed -n "s/^# $1: *//p" "$2" | head -n1; }
has_module() {  # the stage's command exists in this checkout: "dagan.animate" -> dagan/animate.py,
  local mod=${1%% *} sub=""  # "talkingface evaluate" -> talkingface/cli/evaluate.py
  [[ "$1" == *" "* ]] && sub=${1#* }
  if [ -n "$sub" ]; then [ -f "${mod//.//}/cli/$sub.py" ]
  else [ -f "${mod//.//}.py" ] || [ -f "${mod//.//}/__main__.py" ]; fi
}
if [ ${#stages[@]} -eq 0 ]; then
  for f in docker/*.Dockerfile; do
    s=$(basename "$f" .Dockerfile)
    [ "$s" = base ] && continue
    if has_module "$(header module "$f")"; then stages+=("$s")
    else echo "== skipping $s: its command ($(header module "$f")) is not in this checkout"; fi
  done
fi
for s in "${stages[@]}"; do
  f=docker/$s.Dockerfile
  [ -f "$f" ] || { echo "error: $f not found" >&2; exit 2; }
  mapfile -d '' extra < <(stage_args "$f")
  build "$(header image "$f")" "$f" --build-arg "KIT_BASE=talkingface-base:$tag" "${extra[@]}"
  for alias in $(header aliases "$f"); do  # other names of the same image (the seed kit's `generate-image`)
    "$DOCKER" tag "$(header image "$f"):$tag" "$alias:$tag"
    echo "== $alias:$tag tagged (the same image as $(header image "$f"):$tag)"
  done
done
echo "== images:"
"$DOCKER" image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}' | grep -E ":$tag " || true
