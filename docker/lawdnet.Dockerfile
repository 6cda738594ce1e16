# image: lawdnet
# module: lawdnet.infer
# talkingface-kit stage image `lawdnet`: LawDNet / DINet lip-sync inference (python -m lawdnet.infer): one face video
# driven by one speech recording. TensorFlow (the DeepSpeech v0.1 graph of the `dp1` audio features, the `tf` extra)
# is installed in this image only, not in the base.
#
#   docker run --rm --network none --gpus all -v "$PWD/in:/data:ro" -v "$PWD/checkpoints:/checkpoints:ro" \
#       -v "$PWD/outputs:/outputs" lawdnet --video_path /data/face.mp4 --audio_path /data/speech.wav \
#       --output_dir /outputs/lawdnet
#   (weights from the manifest under /checkpoints: lawdnet/checkpoint_epoch_170.pth and the dp2 features'
#   lawdnet/LibriSpeech_Pretrained_v3.ckpt; DINet's model: --model dinet, dp1 features from lawdnet/output_graph.pb)
#
# Built FROM the base image (docker/base.Dockerfile; docker/build.sh builds both). Volumes: /data (inputs),
# /checkpoints (weights, read-only), /outputs (results); docker/entrypoint.sh checks the paths given before running.
#
# Layers: TensorFlow is installed in the stage `tf`, which starts from the base image's own OS image (BASE_IMAGE, the
# same build argument and default as docker/base.Dockerfile) and depends only on constraints.txt and the `tf` extra
# of pyproject.toml, not on the kit: a code-only change rebuilds the base's code layer, and here only the merge step
# below (a file copy, no pip, no download) and the --help check. The merge copies into the base's /opt/venv the
# distributions the base does not have; one the base has must be the same version (same constraints.txt), else the
# build stops naming it.
# Build arguments: KIT_BASE (the base image), BASE_IMAGE (the OS/Python image the base was built FROM: docker/build.sh
# passes its --base-image), UID/GID (the base's user: docker/build.sh passes its --uid/--gid). pip reaches the
# package registry in the `tf` stage with the same BuildKit secrets as the base (pip_cert, pip_index), never stored.
ARG KIT_BASE=talkingface-base:latest
ARG BASE_IMAGE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

# The requirements of the `tf` and `serve` extras (TensorFlow for dp1; FastAPI/uvicorn for `python -m lawdnet.serve`),
# one a line, read from pyproject.toml: the install below is keyed by this small file, not by the whole pyproject.toml.
FROM ${BASE_IMAGE} AS tf-pins
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /pins
COPY pyproject.toml pyproject.full.toml
RUN for extra in tf serve; do \
      awk -v x="$extra" '$0 ~ "^" x " *= *\\[" { on = 1 } on { print } on && /\]/ { exit }' pyproject.full.toml \
        | sed 's/^[a-z]* *= *\[//; s/\].*//' | tr -d "\"' " | tr ',' '\n' | grep .; \
    done > tf.txt

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
# The per-template cache (landmarks, transforms) goes where the base keeps caches: /tmp, writable by any --user.
ENV TALKINGFACE_STAGE=lawdnet \
    TALKINGFACE_USES_WEIGHTS=1 \
    TALKINGFACE_CACHE=/tmp/.cache/talkingface-kit
# Fails the build when this checkout has no such command, or when UID/GID are not the base's user (its volumes).
RUN python -m lawdnet.infer --help >/dev/null \
    && python -m lawdnet.serve --help >/dev/null \
    && { [ -w /outputs ] || { echo "error: /outputs is not writable by ${UID}:${GID}: pass the base's --uid/--gid" >&2; \
         exit 1; }; }
ARG KIT_VERSION=0.1.0
LABEL org.opencontainers.image.title="lawdnet" \
      org.opencontainers.image.description="talkingface-kit: LawDNet/DINet lip-sync inference (python -m lawdnet.infer): one face video driven by one speech recording" \
      org.opencontainers.image.version="${KIT_VERSION}" \
      io.talkingface.stage="lawdnet"
ENTRYPOINT ["/usr/local/bin/talkingface-entrypoint", "python", "-m", "lawdnet.infer"]
CMD ["--help"]
