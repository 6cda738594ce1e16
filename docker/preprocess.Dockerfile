# image: preprocess
# module: dagan.preprocess
# talkingface-kit stage image `preprocess`: raw talking-head videos -> training data and evaluation sets. It offers
# both models' data preparation; its entry point runs `python -m dagan.preprocess` (DaGAN/FOMM: 256x256 face-track
# clips in <out>/{train,test}/<identity>#<video>#<start>#<end>.mp4, split by identity), and with
# `--entrypoint talkingface-entrypoint` any command of the kit: `python -m lawdnet.preprocess` (LawDNet/DINet: 25 fps
# frames, 16 kHz audio, dp1/dp2 DeepSpeech features, 832x640 aligned crops, the training JSON), or
# `python -m talkingface make-evalset` (an evaluation set with checked pairs from the test split).
#
#   docker run --rm --network none --gpus all -v "$PWD/raw:/data:ro" -v "$PWD/checkpoints:/checkpoints:ro" \
#       -v "$PWD/datasets:/outputs" preprocess --input_dir /data --output_dir /outputs/vox --workers 4
#   docker run --rm --network none --gpus all -v "$PWD/raw:/data:ro" -v "$PWD/checkpoints:/checkpoints:ro" \
#       -v "$PWD/datasets:/outputs" --entrypoint talkingface-entrypoint preprocess python -m lawdnet.preprocess \
#       --extract_video_frame --extract_audio --extract_deep_speech --crop_face --generate_training_json \
#       --input_dir /data --output_dir /outputs/lawdnet_data
#   docker run --rm --network none -v "$PWD/datasets:/outputs" --entrypoint talkingface-entrypoint preprocess \
#       python -m talkingface make-evalset /outputs/vox/test /outputs/evaluation_set --self 100 --cross 100
#   (docker/compose.yaml: services preprocess, preprocess-lawdnet and their *-cpu twins)
#
# Built FROM the base image (docker/base.Dockerfile; docker/build.sh builds both). Volumes: /data (inputs),
# /checkpoints (weights, read-only: the face detector, DeepSpeech), /outputs (results); docker/entrypoint.sh checks
# the paths given before running.
#
# TensorFlow (the DeepSpeech v0.1 graph of LawDNet's dp1 features) comes the way docker/lawdnet.Dockerfile installs
# it: the stages `tf-pins` and `tf` below are that file's, instruction for instruction, so BuildKit builds them once
# for both images (the second build finds every step CACHED; keep the two copies identical). Then the same merge
# into the base's /opt/venv (a file copy, no pip). Build arguments as docker/lawdnet.Dockerfile: KIT_BASE,
# BASE_IMAGE, UID/GID; the pip secrets pip_cert, pip_index (never stored).
ARG KIT_BASE=talkingface-base:latest
ARG BASE_IMAGE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

# The requirements of the `tf` extra, one a line, read from pyproject.toml: the install below is keyed by this small
# file, not by the whole pyproject.toml.
FROM ${BASE_IMAGE} AS tf-pins
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /pins
COPY pyproject.toml pyproject.full.toml
RUN awk '/^tf *= *\[/ { on = 1 } on { print } on && /\]/ { exit }' pyproject.full.toml \
    | sed 's/^tf *= *\[//; s/\].*//' | tr -d "\"' " | tr ',' '\n' | grep . > tf.txt

# TensorFlow and its dependencies, pinned by constraints.txt, in a virtual environment at the base's path (/opt/venv)
# made with the same Python: the merge below copies its files as they are.
FROM ${BASE_IMAGE} AS tf
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV DEBIAN_FRONTEND=noninteractive \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# hadolint ignore=DL3008
RUN if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then \
        apt-get update \
        && apt-get install -y --no-install-recommends python3 python3-venv \
        && apt-get clean && rm -rf /var/lib/apt/lists/*; \
    fi \
    && python3 -m venv /opt/venv
WORKDIR /opt/tf
COPY constraints.txt ./
COPY --from=tf-pins /pins/tf.txt ./
RUN --mount=type=secret,id=pip_cert \
    --mount=type=secret,id=pip_index \
    --mount=type=cache,target=/root/.cache/pip,sharing=locked \
    if [ -s /run/secrets/pip_cert ]; then export PIP_CERT=/run/secrets/pip_cert; fi \
    && if [ -s /run/secrets/pip_index ]; then export PIP_CONFIG_FILE=/run/secrets/pip_index; fi \
    && export PIP_DEFAULT_TIMEOUT=180 \
    && tr 'A-Z_.' 'a-z--' < constraints.txt > /tmp/pins.txt \
    && while read -r req; do \
         grep -q "^$(printf '%s' "$req" | sed 's/[<>=!~;[].*//' | tr 'A-Z_.' 'a-z--')==" /tmp/pins.txt \
           || { echo "error: constraints.txt pins no ${req} (the tf extra): add its pins" >&2; exit 1; }; \
       done < tf.txt \
    && /opt/venv/bin/pip install -c constraints.txt pip setuptools wheel \
    && /opt/venv/bin/pip install -c constraints.txt -r tf.txt \
    && /opt/venv/bin/python -c "import tensorflow as tf; print('tensorflow', tf.__version__)"

FROM ${KIT_BASE}
# Root (uid 0) for the merge only: /opt/venv belongs to root. The base's user comes back below.
USER 0
RUN --mount=type=bind,from=tf,source=/opt/venv,target=/tmp/tf-venv \
    python -c 'import re, shutil, sys, sysconfig, importlib.metadata as md; from pathlib import Path; \
norm = lambda name: re.sub(r"[-_.]+", "-", name).lower(); \
site = Path(sysconfig.get_paths()["purelib"]); \
src = Path(sys.argv[1]) / "lib" / site.parent.name / "site-packages"; \
src.is_dir() or sys.exit(f"error: the tf stage has no {src}: build it FROM the same BASE_IMAGE as the base"); \
have = {norm(d.metadata["Name"]): d.version for d in md.distributions()}; \
tf = {norm(d.metadata["Name"]): d for d in md.distributions(path=[str(src)])}; \
clash = [f"{n}=={d.version} (base: {have[n]})" for n, d in tf.items() if n in have and have[n] != d.version]; \
clash and sys.exit("error: the tf stage and the base resolved different versions, pin them in constraints.txt: " + ", ".join(clash)); \
new = [d for n, d in tf.items() if n not in have]; \
files = [f for d in new for f in (d.files or []) if (src / f).is_file()]; \
[((site / f).parent.mkdir(parents=True, exist_ok=True), shutil.copy2(src / f, site / f)) for f in files]; \
print(f"merged {len(new)} distributions ({len(files)} files) into {site}:", " ".join(sorted(norm(d.metadata["Name"]) + "==" + d.version for d in new)))' \
    /tmp/tf-venv \
    && python -c "import tensorflow as tf; print('tensorflow', tf.__version__)"


ARG UID=1000
ARG GID=1000
USER ${UID}:${GID}
ENV TALKINGFACE_STAGE=preprocess \
    TALKINGFACE_USES_WEIGHTS=1 \
    TALKINGFACE_CACHE=/tmp/.cache/talkingface-kit
# Fails the build when this checkout has no such command, or when UID/GID are not the base's user (its volumes).
RUN python -m dagan.preprocess --help >/dev/null \
    && python -m lawdnet.preprocess --help >/dev/null \
    && python -m talkingface make-evalset --help >/dev/null \
    && { [ -w /outputs ] || { echo "error: /outputs is not writable by ${UID}:${GID}: pass the base's --uid/--gid" >&2; \
         exit 1; }; }
ARG KIT_VERSION=0.1.0
LABEL org.opencontainers.image.title="preprocess" \
      org.opencontainers.image.description="talkingface-kit: raw videos -> DaGAN clips (python -m dagan.preprocess; default), LawDNet training data (python -m lawdnet.preprocess), evaluation sets (python -m talkingface make-evalset)" \
      org.opencontainers.image.version="${KIT_VERSION}" \
      io.talkingface.stage="preprocess"
ENTRYPOINT ["/usr/local/bin/talkingface-entrypoint", "python", "-m", "dagan.preprocess"]
CMD ["--help"]
