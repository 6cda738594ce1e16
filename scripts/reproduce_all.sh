#!/usr/bin/env bash
# Run the pipeline stages in order: sample/data -> preprocess -> generate -> evaluate -> report.
#
#   scripts/reproduce_all.sh --smoke --local     # the embedded sample, tiny settings, CPU, this machine (make demo)
#   scripts/reproduce_all.sh --local --data DIR   # an evaluation_set you prepared, authors' weights in checkpoints/
#   scripts/reproduce_all.sh --local --raw DIR    # raw talking-head videos: preprocess, an evaluation set of their
#                                                 # test split, then generate and evaluate on it
#   scripts/reproduce_all.sh --smoke              # the same in the Docker images, when a Docker daemon is reachable
#   scripts/reproduce_all.sh --smoke --local --random-weights   # every metric valued, with seeded random weights (CI)
#   scripts/reproduce_all.sh --smoke --local --train   # also train a tiny DaGAN on the preprocessed clips, generate
#                                                      # with its checkpoint and score that (CI runs this)
#
# --smoke is a check that every stage and every metric runs, in about 3 minutes on 2 CPU cores: DaGAN generates one
# self pair and the cross pair, and the evaluation uses reduced settings (SMOKE_EVAL_ARGS below); its numbers are
# not comparable with a full run. summary.md lists the reduced settings used. The preprocess stage runs first on the
# sample's clips (DaGAN clips, an evaluation set made from their test split, LawDNet data of one clip) into
# OUT/preprocess/; the later stages keep using the sample's evaluation set.
# Each stage leaves a done-marker in OUT/.done/; a re-run resumes after the last finished stage (--fresh starts over).
# Logs per stage go to OUT/logs/<stage>.log. Stages that are not built yet are listed, not faked.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'EOF'
usage: scripts/reproduce_all.sh [--smoke [--random-weights]] [--train [--train-data DIR]] [--local]
                                [--data DIR | --raw DIR [--test-ids FILE] [--prep-args ARGS] [--evalset-args ARGS]]
                                [--out DIR] [--device D] [--fresh]
  --smoke        use the kit's embedded sample (python -m talkingface sample) and tiny settings on CPU (DaGAN on
                 one self pair and the cross pair; evaluation with reduced settings, listed in summary.md)
  --random-weights  (with --smoke) score with SEEDED RANDOM FID-Inception, AlexNet (LPIPS), SyncNet (LSE) and
                 InceptionResnetV1 (CSIM)
                 weights written to OUT/random-weights, used as the checkpoints folder, so that every metric has a
                 value; the values mean nothing (CI compares them between runs)
  --train        the train stage: DaGAN (python -m dagan.train) on preprocessed clips, then generation with the
                 trained checkpoint (generate_dagan_trained_self, self pairs), scored with the rest. With --smoke: the
                 clips the preprocess stage made from the sample, config/smoke/dagan_tiny.yaml, 2 steps, and one step
                 of each of LawDNet's four stages (python -m lawdnet.train --all, mouth 64; frame_64 alone when
                 TensorFlow is missing for dp1) on its LawDNet data; without:
                 --train-data DIR (a python -m dagan.preprocess output) and the vox-adv-256 recipe (days on GPUs)
  --train-data DIR  (with --train, not --smoke) the DaGAN dataset root to train on
  --local        run the stages on this machine with .venv. Without --local, when a Docker daemon is reachable
                 (`docker info`), each stage runs in its image (build them first: docker/build.sh) with
                 --network none, seeing only the volumes /data (the evaluation_set), /checkpoints (read-only:
                 $TALKINGFACE_CHECKPOINTS, else checkpoints/) and /outputs (OUT); with no daemon, locally.
  --data DIR     an evaluation_set folder (docs/architecture.md, section 5); default with --smoke: OUT/evaluation_set
  --raw DIR      raw talking-head videos (DIR/<identity>/.../*.mp4, VoxCeleb's layout): the preprocess stage crops
                 them (python -m dagan.preprocess into OUT/preprocess/dagan; with --smoke in its tiny settings) and
                 makes the evaluation set OUT/evaluation_set from the test split (python -m talkingface make-evalset,
                 checked); generate and evaluate then run on that set, and --train (without --train-data) on the
                 train split. Not with --data
  --test-ids FILE  (with --raw) the identities for the test split, one per line (dagan.preprocess --test_ids;
                 default: a seeded 10% of the identities, which a handful of identities may leave empty)
  --prep-args ARGS  (with --raw) more dagan.preprocess flags, one string split at spaces, e.g.
                 "--landmarks offline --workers 4" (paths as the stage sees them: /raw/... in containers)
  --evalset-args ARGS  (with --raw) more make-evalset flags, e.g. "--self 500 --cross 500 --per_identity 20"
  --out DIR      where everything goes (default outputs/smoke with --smoke, outputs/run otherwise)
  --device D     device for generation and evaluation (default cpu with --smoke, auto otherwise)
  --fresh        forget the done-markers and run every stage again
Container mode environment: DOCKER (the client, default docker), TALKINGFACE_IMAGE_TAG (default latest),
TALKINGFACE_DOCKER_USER (uid:gid the stages run as; default yours, or the images' user when you are root).
EOF
}

smoke=0; local_run=0; data=""; out=""; device=""; fresh=0; random_weights=0; train=0; train_data=""
raw=""; test_ids=""; prep_args=""; evalset_args=""
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1 ;;
    --random-weights) random_weights=1 ;;
    --train) train=1 ;;
    --train-data) train_data=$2; shift ;;
    --local) local_run=1 ;;
    --data) data=$2; shift ;;
    --raw) raw=$2; shift ;;
    --test-ids) test_ids=$2; shift ;;
    --prep-args) prep_args=$2; shift ;;
    --evalset-args) evalset_args=$2; shift ;;
    --out) out=$2; shift ;;
    --device) device=$2; shift ;;
    --fresh) fresh=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "error: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
DOCKER=${DOCKER:-docker}
mode=local
if [ "$local_run" != 1 ]; then
  if command -v "$DOCKER" >/dev/null 2>&1 && timeout 30 "$DOCKER" info >/dev/null 2>&1; then
    mode=container
  else
    echo "note: no Docker daemon reachable (\`$DOCKER info\` failed): running the stages locally (--local)" >&2
  fi
fi
PY=${PYTHON:-python}
if [ -x .venv/bin/python ]; then PY=.venv/bin/python; fi
if [ "$smoke" = 1 ]; then out=${out:-outputs/smoke}; device=${device:-cpu}; else out=${out:-outputs/run}; device=${device:-auto}; fi
if [ -n "$raw" ]; then
  [ -d "$raw" ] || { echo "error: --raw $raw: folder of raw videos not found" >&2; exit 2; }
  [ -z "$data" ] || { echo "error: --raw makes the evaluation set (OUT/evaluation_set): leave --data out" >&2; exit 2; }
  [ -z "$test_ids" ] || [ -f "$test_ids" ] || { echo "error: --test-ids $test_ids: file not found" >&2; exit 2; }
  [ "$train" != 1 ] || [ -n "$train_data" ] || train_data=$out/preprocess/dagan
elif [ -n "$test_ids$prep_args$evalset_args" ]; then
  echo "error: --test-ids, --prep-args and --evalset-args go with --raw" >&2; exit 2
fi
data=${data:-$out/evaluation_set}
if [ "$random_weights" = 1 ] && [ "$smoke" != 1 ]; then
  echo "error: --random-weights is for --smoke runs only (its metric values mean nothing)" >&2; exit 2
fi
if [ "$train" = 1 ] && [ "$smoke" != 1 ] && [ -z "$raw" ] && [ ! -d "$train_data/train" ]; then
  echo "error: --train without --smoke needs --train-data DIR, a dataset root with train/ and test/ (python -m dagan.preprocess)" >&2
  exit 2
fi
if [ "$smoke" != 1 ] && [ -z "$raw" ] && [ ! -d "$data" ]; then
  echo "error: --data $data: evaluation_set folder not found (or use --smoke for the embedded sample, --raw for" \
    "raw videos)" >&2; exit 2
fi
mkdir -p "$out/logs" "$out/.done"
if [ -n "$raw" ]; then mkdir -p "$data" "$out/preprocess"; fi
[ "$fresh" = 1 ] && rm -f "$out"/.done/*

# The reduced settings of --smoke (every stage and metric runs; the numbers are not comparable with a full run):
# DaGAN animates one self pair (talk) besides the cross pair; the evaluation scores the first sample of each
# generated folder but generate_baseline (generated, not scored: the cross-identity kind is scored on
# generate_dagan), FID on 64-d Inception features (block 0) of at most 16 frames per video. Measured on 2 cores:
# ~75 s in all when the machine is otherwise idle, 2-5 min when other jobs load it (load average 3-7).
# the default metrics plus two of the papers' own (L1; CSIM, whose facenet-pytorch install the images must carry)
SMOKE_EVAL_ARGS=(--max_samples 1 --fid_dims 64 --fid_max_frames_per_video 16 --no_progress
                 --metrics niqe psnr ssim lpips l1 csim fid lse_c lse_d)
SMOKE_NOT_SCORED=(generate_baseline)
SMOKE_DAGAN_SELF_PAIRS="source,driving
talk.png,talk.mp4"
rw=""
if [ "$random_weights" = 1 ]; then
  rw="$out/random-weights"
  mkdir -p "$rw"
  if [ "$mode" = local ]; then
    export TALKINGFACE_CHECKPOINTS="$rw" TORCH_HOME="$rw/torch"
  else
    TALKINGFACE_CHECKPOINTS=$rw
  fi
fi

# How a stage runs: TF = `python -m talkingface`, EVAL = `python -m talkingface evaluate`, GEN = `python -m
# dagan.generate`; D and O are the data and output folders as the stage sees them.
TF=("$PY" -m talkingface); EVAL=("$PY" -m talkingface evaluate); GEN=("$PY" -m dagan.generate); D=$data; O=$out
LIP=("$PY" -m lawdnet.infer); LSE=("$PY" -m syncnet score)
PREP_DAGAN=("$PY" -m dagan.preprocess); PREP_LAWDNET=("$PY" -m lawdnet.preprocess); PREP_IMAGE=local; R=$raw
TRAIN=("$PY" -m dagan.train); TRAIN_LAWDNET=("$PY" -m lawdnet.train)
if [ "$mode" = container ]; then
  tag=${TALKINGFACE_IMAGE_TAG:-latest}
  abs() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
  image() {  # image NAME: NAME:TAG if it is built, else nothing
    if "$DOCKER" image inspect "$1:$tag" >/dev/null 2>&1; then echo "$1:$tag"; fi
  }
  [ -n "$(image talkingface-base)" ] || {
    echo "error: image talkingface-base:$tag not found: build the images (docker/build.sh), or run with --local" >&2
    exit 2; }
  mkdir -p "$data"
  user=${TALKINGFACE_DOCKER_USER:-$(id -u):$(id -g)}
  if [ -z "${TALKINGFACE_DOCKER_USER:-}" ] && [ "$(id -u)" = 0 ]; then
    # root on the host: run as the images' non-root user, owning the folders the stages write into
    user=$("$DOCKER" image inspect --format '{{.Config.User}}' "talkingface-base:$tag"); user=${user:-1000:1000}
    chown "$user" "$out" "$data" ${rw:+"$rw"}
  fi
  checkpoints=$(abs "${TALKINGFACE_CHECKPOINTS:-checkpoints}")
  DRUN=("$DOCKER" run --rm --network none --shm-size 2g --user "$user"
        -v "$(abs "$data"):/data" -v "$(abs "$out"):/outputs")
  if [ -d "$checkpoints" ]; then DRUN+=(-v "$checkpoints:/checkpoints:ro"); fi
  if [ -n "$raw" ]; then DRUN+=(-v "$(abs "$raw"):/raw:ro"); R=/raw; fi
  if [ "$device" != cpu ] && "$DOCKER" info --format '{{json .Runtimes}}' 2>/dev/null | grep -q nvidia; then
    DRUN+=(--gpus all)
  fi
  TF=("${DRUN[@]}" "talkingface-base:$tag"); D=/data; O=/outputs
  EVAL=("${DRUN[@]}" "$(image evaluation-image)"); GEN=("${DRUN[@]}" "$(image generate)")
  LIP=("${DRUN[@]}" "$(image lawdnet)")
  PREP_IMAGE=$(image preprocess)
  PREP_DAGAN=("${DRUN[@]}" "$PREP_IMAGE")
  PREP_LAWDNET=("${DRUN[@]}" --entrypoint talkingface-entrypoint "$PREP_IMAGE" python -m lawdnet.preprocess)
  LSE=("${DRUN[@]}" --entrypoint python "$(image evaluation-image)" -m syncnet score)
  TRAIN=("${DRUN[@]}" "$(image train)")
  TRAIN_LAWDNET=("${DRUN[@]}" --entrypoint talkingface-entrypoint "$(image train)" python -m talkingface.training.launch
                 lawdnet.train)
  echo "[docker] stages run in the images (tag $tag): /data=$data /outputs=$out /checkpoints=$checkpoints"
fi

declare -a ran=() skipped=() notbuilt=() notrun=() reduced=()

# run_stage NAME COMMAND...: runs unless OUT/.done/NAME exists; logs to OUT/logs/NAME.log; stops the script on failure.
run_stage() {
  local name=$1; shift
  if [ -e "$out/.done/$name" ]; then skipped+=("$name"); echo "[$name] done earlier, skipped"; return; fi
  echo "[$name] $*"
  if "$@" >"$out/logs/$name.log" 2>&1; then
    touch "$out/.done/$name"; ran+=("$name"); tail -n 3 "$out/logs/$name.log" | sed "s/^/[$name]   /"
  else
    echo "[$name] FAILED, see $out/logs/$name.log:" >&2; tail -n 20 "$out/logs/$name.log" >&2; exit 1
  fi
}

has_module() { "$PY" -c "import importlib.util as u, sys; sys.exit(0 if u.find_spec('$1') else 1)" 2>/dev/null; }
# has_stage MODULE IMAGE: locally, the module exists; in containers, its image (the last word of the stage's command,
# empty when not built) exists — an error when only the image is missing.
has_stage() {
  if [ "$mode" = local ]; then has_module "$1"; return; fi
  if [[ "$2" == *:* ]]; then return 0; fi
  if [ -f "${1//.//}.py" ] || [ -f "${1//.//}/__init__.py" ]; then
    echo "error: $1 is in this checkout but its image is not built: docker/build.sh, or run with --local" >&2; exit 2
  fi
  return 1
}

# 0. seeded random weights (--random-weights): FID-Inception, AlexNet, SyncNet, facenet's InceptionResnetV1 in the
# authors' formats, written with the kit's own classes (locally, or in the base image).
random_weights_py() {
  cat <<'PY'
import sys
from pathlib import Path

import torch
import torchvision

from facenet_pytorch import InceptionResnetV1

from syncnet.model import SyncNet, save_syncnet
from talkingface.metrics.fid import FidInception

root = Path(sys.argv[1])
for d in ("fid", "torchvision", "syncnet", "facenet"):
    (root / d).mkdir(parents=True, exist_ok=True)
(root / "README.txt").write_text("SEEDED RANDOM WEIGHTS written by scripts/reproduce_all.sh --random-weights: "
                                 "they exercise the metrics; their values mean nothing.\n")
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
torch.manual_seed(0)  # CSIM's identity network, with the 8631-class logits the published file holds
torch.save(InceptionResnetV1(classify=True, num_classes=8631).state_dict(),
           root / "facenet" / "20180402-114759-vggface2.pt")
print("seeded random weights written:", sorted(str(p.relative_to(root)) for p in root.rglob("*.*")))
PY
}
if [ "$random_weights" = 1 ]; then
  if [ "$mode" = local ]; then
    WRITE_WEIGHTS=("$PY" - "$rw")
  else
    WRITE_WEIGHTS=("$DOCKER" run --rm -i --network none --user "$user" -v "$(abs "$rw"):/checkpoints"
                   --entrypoint python "talkingface-base:$tag" - /checkpoints)
  fi
  run_stage random_weights "${WRITE_WEIGHTS[@]}" < <(random_weights_py)
fi

# 1. data
if [ "$smoke" = 1 ] && [ -z "$raw" ]; then
  run_stage sample "${TF[@]}" sample "$D"
fi

# 2. preprocess (smoke): the sample's three clips stand in for raw videos, each its own "identity" (they are all the
# astronaut: labels for the plumbing, not people). DaGAN clips (talk -> train/, nod and mirror -> test/: 128 px,
# clips of <= 32 frames, faces looked for in every 5th frame with the offline detector), an evaluation set of 2 self
# and 2 cross rows from that test split (make-evalset, checked), and LawDNet data of talk.mp4 (every step, dp2 only
# with a RANDOM tiny network: dp1 needs the DeepSpeech graph). Outputs in OUT/preprocess/; 37 s measured on 2 shared
# cores at load 2-3.5 (dagan.preprocess 18 s, make-evalset 2 s, lawdnet.preprocess 17 s).
# A full run takes an evaluation set (--data): make it with the same commands on your videos.
prep_made=""; prep_reduced=""
count() { { find "$@" 2>/dev/null || true; } | wc -l | tr -d ' '; }
if [ -n "$raw" ] && has_stage dagan.preprocess "$PREP_IMAGE"; then
  # 2. preprocess (--raw): the videos -> DaGAN clips (train/ and test/ split by identity) -> the evaluation set of the
  # test split (checked), which generate and evaluate then use as their data; --train trains on the train split.
  pp="$out/preprocess"; OP="$O/preprocess"
  raw_prep_args=(--device "$device" --no_progress)
  if [ -n "$test_ids" ]; then cp "$test_ids" "$pp/test_ids.txt"; raw_prep_args+=(--test_ids "$OP/test_ids.txt"); fi
  raw_set_args=(--seed 0 --overwrite)
  if [ "$smoke" = 1 ]; then
    tiny=(--landmarks offline --size 256 --min_frames 16 --max_frames 32 --detect_every 5)  # DaGAN's size: the
    # generated frames and the ground truth then agree (the sample's own smoke clips are 128 px for the tiny train)
    raw_prep_args+=("${tiny[@]}"); raw_set_args+=(--self 2 --cross 2)
    prep_reduced="preprocess: dagan.preprocess ${tiny[*]}, make-evalset --self 2 --cross 2"
  fi
  if [ "$mode" = container ] && [ "$(id -u)" = 0 ] && [ -z "${TALKINGFACE_DOCKER_USER:-}" ]; then
    chown -R "$user" "$pp"
  fi
  read -r -a more_prep_args <<< "$prep_args"; read -r -a more_set_args <<< "$evalset_args"
  run_stage preprocess_dagan "${PREP_DAGAN[@]}" --input_dir "$R" --output_dir "$OP/dagan" "${raw_prep_args[@]}" \
    "${more_prep_args[@]}"
  run_stage preprocess_evalset "${TF[@]}" make-evalset "$OP/dagan/test" "$D" "${raw_set_args[@]}" "${more_set_args[@]}"
  prep_made="DaGAN clips of $raw: $(count "$pp/dagan/train" -maxdepth 1 -name '*.mp4') in train/, $(count \
    "$pp/dagan/test" -maxdepth 1 -name '*.mp4') in test/ (report: $pp/dagan/preprocess_report.json); the evaluation"
  prep_made+=" set $data (the data of the later stages) from the test split: $(count "$data/gt_self" -type f) self +"
  prep_made+=" $(count "$data/gt_cross" -type f) cross rows, checked"
  notrun+=("LawDNet data of the raw videos (python -m lawdnet.preprocess: training input only, its features need the DeepSpeech weights)")
elif [ "$smoke" = 1 ] && has_stage dagan.preprocess "$PREP_IMAGE"; then
  pp="$out/preprocess"; OP="$O/preprocess"
  mkdir -p "$pp/raw" "$pp/lawdnet_raw"
  for f in gt_self/talk.mp4 gt_self/nod.mp4 gt_cross/mirror.mp4; do
    if [ -f "$data/$f" ]; then cp "$data/$f" "$pp/raw/"; fi
  done
  if [ -f "$data/gt_self/talk.mp4" ]; then cp "$data/gt_self/talk.mp4" "$pp/lawdnet_raw/"; fi
  printf 'nod\nmirror\n' > "$pp/test_ids.txt"
  if [ "$mode" = container ] && [ "$(id -u)" = 0 ] && [ -z "${TALKINGFACE_DOCKER_USER:-}" ]; then
    chown -R "$user" "$pp"
  fi
  SMOKE_PREP_DAGAN_ARGS=(--identity_from stem --test_ids "$OP/test_ids.txt" --landmarks offline --size 128
                         --min_frames 16 --max_frames 32 --detect_every 5 --device "$device" --no_progress)
  run_stage preprocess_dagan "${PREP_DAGAN[@]}" --input_dir "$OP/raw" --output_dir "$OP/dagan" \
    "${SMOKE_PREP_DAGAN_ARGS[@]}"
  run_stage preprocess_evalset "${TF[@]}" make-evalset "$OP/dagan/test" "$OP/evaluation_set" --self 2 --cross 2 \
    --seed 0 --overwrite
  prep_made="DaGAN clips: $(count "$pp/dagan/train" -maxdepth 1 -name '*.mp4') in train/, $(count \
    "$pp/dagan/test" -maxdepth 1 -name '*.mp4') in test/; evaluation set from the test split: $(count \
    "$pp/evaluation_set/gt_self" -type f) self + $(count "$pp/evaluation_set/gt_cross" -type f) cross rows, checked"
  prep_reduced="preprocess: the sample's 3 clips as 3 identities, dagan.preprocess --size 128 --min_frames 16"
  prep_reduced+=" --max_frames 32 --detect_every 5 --landmarks offline, make-evalset --self 2 --cross 2"
  if has_stage lawdnet.preprocess "$PREP_IMAGE"; then
    lawdnet_features=dp2                       # dp1 (the clip stage's sync loss) needs TensorFlow: the preprocess
    if [ "$mode" = container ] || has_module tensorflow; then lawdnet_features=dp1,dp2; fi      # image has it
    SMOKE_PREP_LAWDNET_ARGS=(--features "$lawdnet_features" --random_model 0 --landmarks offline --min_clips 1
                             --device "$device" --no_progress)
    run_stage preprocess_lawdnet "${PREP_LAWDNET[@]}" --extract_video_frame --extract_audio --extract_deep_speech \
      --crop_face --generate_training_json --input_dir "$OP/lawdnet_raw" --output_dir "$OP/lawdnet" \
      "${SMOKE_PREP_LAWDNET_ARGS[@]}"
    prep_made+="; LawDNet data of talk.mp4: $(count "$pp/lawdnet/split_video_25fps_crop_face" -name '*.jpg') aligned"
    prep_made+=" crops and the training JSON ($lawdnet_features of RANDOM networks: the features mean nothing)"
    prep_reduced+=", lawdnet.preprocess on talk.mp4 only with $lawdnet_features of random networks (--random_model 0)"
  else
    notbuilt+=("preprocess (LawDNet data preparation: python -m lawdnet.preprocess)")
  fi
  prep_reduced+=" (adds ~25-40 s on 2 cores)"
elif [ "$smoke" = 1 ]; then
  notbuilt+=("preprocess (python -m dagan.preprocess, make-evalset, python -m lawdnet.preprocess)")
fi
# 2b. train (--train): DaGAN on the preprocessed clips; its checkpoint generates generate_dagan_trained_self below.
# --smoke: the tiny config (128 px, as the smoke clips), 2 steps on the one train identity, a RANDOM frozen depth
# network and VGG19 when their weights are absent (the run keeps that depth network in random_depth/ for generation).
trained=""; trained_args=(); trained_lawdnet=""
if [ "$train" = 1 ] && has_stage dagan.train "${TRAIN[-1]}"; then
  if [ "$smoke" = 1 ]; then
    tdata="$O/preprocess/dagan"; tlog="$O/train"   # the sample's clips, or those of --raw
    train_args=(--config config/smoke/dagan_tiny.yaml --name _smoke --max_steps 2 --workers 0 --eval_pairs 2)
    if [ "$mode" = container ]; then train_args[1]=/opt/talkingface/config/smoke/dagan_tiny.yaml; fi
    if [ -n "$raw" ]; then train_args+=(--set "dataset_params.frame_shape=[256, 256, 3]"); fi
  else
    tdata=$train_data; tlog="$O/train"; train_args=(--name _full)
    if [ "$mode" = container ] && [ -n "$raw" ]; then
      tdata="$O/preprocess/dagan"                          # the train split made above, under /outputs
    elif [ "$mode" = container ]; then
      echo "error: --train without --smoke in containers: mount your dataset yourself (docker/train.Dockerfile)" >&2
      exit 2
    fi
  fi
  if ! "${TF[@]}" weights status --quiet depth_encoder depth_decoder vgg19_imagenet >/dev/null 2>&1; then
    if [ "$smoke" != 1 ]; then
      echo "error: --train needs the depth network and VGG19 weights: python -m talkingface weights status" >&2; exit 2
    fi
    echo "[train] depth network / VGG19 weights not in checkpoints/: training against RANDOM frozen networks"
    train_args+=(--random_frozen 0)
  fi
  run_stage train_dagan "${TRAIN[@]}" --data "$tdata" --log_dir "$tlog" --device "$device" --no_progress \
    "${train_args[@]}"
  stem=$([ "$smoke" = 1 ] && echo dagan_tiny_smoke || echo vox-adv-256_full); trained="$tlog/$stem"
  trained_args=(--checkpoint "$trained/last-checkpoint.pth.tar" --config "$trained/config.yaml" --kp_num -1)
  if [ -d "$out/train/$stem/random_depth" ]; then
    trained_args+=(--depth_encoder "$trained/random_depth/encoder.pth" --depth_decoder "$trained/random_depth/depth.pth")
  fi
  [ "$smoke" = 1 ] && reduced+=("train: config/smoke/dagan_tiny.yaml, 2 steps on the preprocessed clips")
  # LawDNet (smoke): one step of each stage (--all: frame 64 -> 128 -> 256 -> clip, each initialised from the one
  # before, all at mouth 64) on the LawDNet data the preprocess stage made of talk.mp4 (features of random networks),
  # random frozen VGG19 and SyncNet (RANDOM WEIGHTS); frame_64 alone when the JSON has no dp1 rows (no TensorFlow)
  ljson="$out/preprocess/lawdnet/training_json/training_json.json"
  if [ "$smoke" = 1 ] && [ -f "$ljson" ]; then
    lawdnet_stages=(--all); lawdnet_what="the four stages (frame 64/128/256, clip), 1 step each at mouth 64"
    if ! grep -q '"deep_speech_list"' "$ljson"; then
      lawdnet_stages=(--stage frame_64); lawdnet_what="frame_64, 1 step (no dp1 rows for the clip stage)"
    fi
    run_stage train_lawdnet "${TRAIN_LAWDNET[@]}" "${lawdnet_stages[@]}" \
      --data "$O/preprocess/lawdnet/training_json/training_json.json" --log_dir "$O/train" --name lawdnet_smoke \
      --random_frozen 0 --workers 0 --epochs 1 --max_steps 1 --device "$device" --no_progress --set batch_size=1 \
      --set augment_num=1 --set mouth_region_size=64
    trained_lawdnet="$out/train/lawdnet_smoke"
    reduced+=("train: LawDNet $lawdnet_what (batch 1) on the preprocessed talk.mp4, random frozen VGG19/SyncNet")
  fi
elif [ "$train" = 1 ]; then
  notbuilt+=("train (python -m dagan.train)")
else
  notbuilt+=("train (run with --train)")
fi

# 3. generate
run_stage baseline_self "${TF[@]}" baseline --source_dir "$D/source_self" --driving_dir "$D/gt_self" \
  --save_folder "$D/generate_baseline_self"
run_stage baseline_cross "${TF[@]}" baseline --source_dir "$D/source_cross" --driving_dir "$D/gt_cross" \
  --save_folder "$D/generate_baseline"
generated=(generate_baseline_self generate_baseline)
if has_stage dagan.generate "${GEN[-1]}"; then
  dagan_weights=(); dagan_self_pairs=()
  if [ "$smoke" = 1 ] && [ -z "$raw" ]; then
    mkdir -p "$out/smoke"
    echo "$SMOKE_DAGAN_SELF_PAIRS" > "$out/smoke/dagan_self_pairs.csv"
    dagan_self_pairs=(--pairs "$O/smoke/dagan_self_pairs.csv")
    reduced+=("DaGAN self: one pair ($(tail -n +2 "$out/smoke/dagan_self_pairs.csv" | tr '\n' ' ' | sed 's/ $//'))")
  fi
  if [ "$smoke" = 1 ] && ! "${TF[@]}" weights status --quiet dagan_vox_adv_256 depth_encoder depth_decoder >/dev/null 2>&1; then
    echo "[dagan] the authors' DaGAN weights are not in checkpoints/: using a tiny RANDOMLY INITIALISED model (not the authors')"
    dagan_weights=(--random_tiny_model 0)
  fi
  run_stage dagan_self "${GEN[@]}" --source_dir "$D/source_self" --driving_dir "$D/gt_self" \
    --save_folder "$D/generate_dagan_self" --device "$device" "${dagan_weights[@]}" "${dagan_self_pairs[@]}"
  run_stage dagan_cross "${GEN[@]}" --source_dir "$D/source_cross" --driving_dir "$D/gt_cross" \
    --save_folder "$D/generate_dagan" --device "$device" "${dagan_weights[@]}"
  generated+=(generate_dagan_self generate_dagan)
  if [ -n "$trained" ]; then
    run_stage dagan_trained "${GEN[@]}" --source_dir "$D/source_self" --driving_dir "$D/gt_self" \
      --save_folder "$D/generate_dagan_trained_self" --device "$device" "${trained_args[@]}" "${dagan_self_pairs[@]}"
    generated+=(generate_dagan_trained_self)
  fi
else
  notbuilt+=("dagan generation")
fi

# 3b. lip-sync (smoke): LawDNet re-syncs the sample's talking head to its own speech, then LSE-D / LSE-C of the
# result (syncnet_python's protocol). Without the authors' LawDNet + deepspeech.pytorch weights: a seeded RANDOM
# generator and a tiny random dp2 network at mouth 64 (labelled; the video and its LSE mean nothing).
lipsync=""; lipsync_label=""
if [ "$smoke" = 1 ] && [ -n "$raw" ]; then
  notrun+=("lip-sync (the smoke's lip-sync re-syncs the sample's talk.mp4: python -m lawdnet.infer)")
elif [ "$smoke" = 1 ] && has_stage lawdnet.infer "${LIP[-1]}"; then
  lip_args=(--max_frames 50)
  if ! "${TF[@]}" weights status --quiet lawdnet_epoch_170 deepspeech_pytorch_librispeech >/dev/null 2>&1; then
    echo "[lawdnet] the authors' LawDNet / deepspeech.pytorch weights are not in checkpoints/: using a RANDOMLY INITIALISED generator and dp2 network (not the authors')"
    lip_args+=(--random_model 0 --mouthsize 64)
    lipsync_label=" — RANDOM WEIGHTS: the video and its LSE test the pipeline, they are not results"
  fi
  reduced+=("lip-sync: the first 2 s of talk.mp4 re-synced to its own audio (${lip_args[*]})")
  mkdir -p "$out/lipsync"
  run_stage lipsync "${LIP[@]}" --video_path "$D/gt_self/talk.mp4" --audio_path "$D/gt_self/talk.mp4" \
    --output "$O/lipsync/talk_lipsync.mp4" --template_cache "$O/lipsync/template_cache" --device "$device" \
    --no_progress "${lip_args[@]}"
  lipsync="$out/lipsync/talk_lipsync.mp4"
  if "${TF[@]}" weights status --quiet syncnet_v2 >/dev/null 2>&1; then
    run_stage lipsync_lse "${LSE[@]}" "$O/lipsync/talk_lipsync.mp4" --json "$O/lipsync/lse.json" --device "$device"
  else
    notbuilt+=("LSE of the lip-sync output (syncnet_v2 weights missing: python -m talkingface weights status)")
  fi
elif [ "$smoke" = 1 ]; then
  notbuilt+=("lawdnet (lip-sync generation)")
fi

# 4. evaluate + 5. report
if has_stage talkingface.evaluation "${EVAL[-1]}"; then
  eval_args=(); scored=("${generated[@]}")
  if [ "$smoke" = 1 ]; then
    eval_args=("${SMOKE_EVAL_ARGS[@]}")
    scored=()
    for g in "${generated[@]}"; do [[ " ${SMOKE_NOT_SCORED[*]} " == *" $g "* ]] || scored+=("$g"); done
    reduced+=("evaluation: ${SMOKE_EVAL_ARGS[*]}; scored: ${scored[*]} (not: ${SMOKE_NOT_SCORED[*]})")
  fi
  run_stage evaluate "${EVAL[@]}" --base_dir "$D" --output_path "$O/evaluation" \
    --device "$device" --generate_dirs "${scored[@]}" --save_visuals "${eval_args[@]}"
  report="$out/evaluation/report.html"
else
  notbuilt+=("evaluate (metrics runner)")
  report=""
fi

[ -n "$prep_reduced" ] && reduced+=("$prep_reduced")
{
  echo "# talkingface-kit run ($( [ "$smoke" = 1 ] && echo smoke || echo full ), $mode)"
  echo
  echo "- data: $data$( [ -n "$raw" ] && echo " (made by the preprocess stage from the raw videos in $raw)")"
  echo "- stages run now: ${ran[*]:-none}"
  echo "- stages done earlier (resumed): ${skipped[*]:-none}"
  echo "- generated sets: ${generated[*]}"
  echo "- not built yet: $(IFS=';'; echo "${notbuilt[*]:-none}")"
  [ ${#notrun[@]} -eq 0 ] || echo "- not run in a --raw run: $(IFS=';'; echo "${notrun[*]}")"
  if [ ${#reduced[@]} -gt 0 ]; then
    echo "- smoke settings (reduced; numbers not comparable with a full run): $(IFS=';'; echo "${reduced[*]}")"
  fi
  if [ "$random_weights" = 1 ]; then
    echo "- weights: SEEDED RANDOM FID-Inception, AlexNet and SyncNet weights in $rw (--random-weights): every" \
      "metric has a value, and the values mean nothing"
  fi
  [ -n "$prep_made" ] && echo "- preprocess (in $out/preprocess): $prep_made"
  [ -n "$trained_lawdnet" ] && echo "- train: LawDNet run in $trained_lawdnet ($lawdnet_what; a folder per stage with its netG_model files, losses.csv, tensorboard/; RANDOM frozen VGG19 and SyncNet, features of random networks: a pipeline test)"
  if [ -n "$trained" ]; then
    echo "- train: DaGAN run in $out/train (checkpoints, losses.csv, tensorboard/); generate_dagan_trained_self made" \
      "with its last checkpoint$( [ "$smoke" = 1 ] && echo ": a tiny model trained 2 steps (against a RANDOM depth network when the weights are absent) — it tests the pipeline, its numbers are not results")"
  fi
  [ -n "$lipsync" ] && echo "- lip-sync: $lipsync$( [ -f "$out/lipsync/lse.json" ] && echo " (LSE: $out/lipsync/lse.json)")$lipsync_label"
  [ -n "$report" ] && echo "- report: $report"
  if [ -f "$out/evaluation/summary.md" ]; then echo; cat "$out/evaluation/summary.md"; fi
} > "$out/summary.md"
cat "$out/summary.md"
echo
echo "summary: $out/summary.md"
[ -n "$report" ] && echo "report:  $report"
exit 0
