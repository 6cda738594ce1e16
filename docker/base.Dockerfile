# talkingface-kit base image: pinned Python + the pinned torch/torchvision of constraints.txt + the kit, installed
# from the local checkout (never cloned). Every stage image (docker/<stage>.Dockerfile) starts FROM this one.
#
#   DOCKER_BUILDKIT=1 docker build -f docker/base.Dockerfile -t talkingface-base .        (or: docker/build.sh)
#
# Build arguments:
#   BASE_IMAGE   the OS/Python image; default: the public python:3.11.14-slim-bookworm pinned by digest. A bare
#                Debian bookworm (debootstrap + docker import, what CI uses offline) works too: Debian's python3 and
#                python3-venv are then installed with apt.
#   UID, GID     the non-root user the stages run as (default 1000:1000)
#   TORCH_INDEX_URL  optional extra pip index for another CUDA flavour of the pinned torch/torchvision (e.g. the
#                PyTorch wheel index for cu126); set CUDA_FLAVOUR to match. Default: the registry's cu130 builds.
# pip reaches the package registry during the build. Behind an HTTPS-intercepting proxy pass its CA bundle as a
# BuildKit secret: --secret id=pip_cert,src=/etc/ssl/certs/ca-certificates.crt; a package mirror as a pip.conf
# ([global] index-url / extra-index-url / trusted-host) in the secret pip_index (docker/build.sh writes it from the
# host's `pip config list`). Both are used by the pip step only, never stored in the image, and not part of the
# cache key. ffmpeg is the static build inside the pinned imageio-ffmpeg wheel: no system ffmpeg.
ARG BASE_IMAGE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

# pyproject.toml without its [tool.*] tables (ruff, pytest, import-linter contracts ...) except [tool.setuptools*]:
# what the dependency layer below installs does not depend on them, so editing them must not reinstall torch. The
# layer is keyed by the content of this reduced file, not by the whole pyproject.toml.
FROM ${BASE_IMAGE} AS pins
WORKDIR /pins
COPY pyproject.toml pyproject.full.toml
RUN awk 'BEGIN { keep = 1 } /^\[/ { keep = ($0 !~ /^\[+tool\./ || $0 ~ /^\[+tool\.setuptools/) } keep' \
        pyproject.full.toml > pyproject.toml

FROM ${BASE_IMAGE}

# Only the arguments that change what is installed come before the install steps: every ARG in scope is part of the
# cache key of the RUN steps after it. The version labels are set at the end.
ARG UID=1000
ARG GID=1000

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV DEBIAN_FRONTEND=noninteractive \
    LANG=C.UTF-8 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# A bare Debian base has no Python: take Debian's (bookworm: 3.11). The public default base already has 3.11.14.
# hadolint ignore=DL3008
RUN if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then \
        apt-get update \
        && apt-get install -y --no-install-recommends python3 python3-venv \
        && apt-get clean && rm -rf /var/lib/apt/lists/*; \
    fi \
    && python3 -m venv /opt/venv \
    && if ! getent group "${GID}" >/dev/null; then groupadd --gid "${GID}" kit; fi \
    && useradd --uid "${UID}" --gid "${GID}" --create-home --shell /bin/bash kit \
    && mkdir -p /data /checkpoints /outputs /opt/talkingface/src \
    && chown "${UID}:${GID}" /data /checkpoints /outputs

# ---- dependency layers: they depend only on constraints.txt, pyproject.toml (its dependency tables: see the pins
# stage) and requirements-nodeps.txt, so a code-only change reuses them. Same steps as scripts/setup_venv.sh (extras minus dev), on a package skeleton.
# pip's cache is a BuildKit cache mount: kept by the builder between builds (where the registry's responses may be
# cached: a changed pin then need not download torch again), never part of the image.
WORKDIR /opt/talkingface/src
ARG TORCH_INDEX_URL=
ARG EXTRAS=eval,syncnet,dagan,lawdnet,train
COPY constraints.txt requirements-nodeps.txt ./
COPY --from=pins /pins/pyproject.toml ./
RUN --mount=type=secret,id=pip_cert \
    --mount=type=secret,id=pip_index \
    --mount=type=cache,target=/root/.cache/pip,sharing=locked \
    if [ -s /run/secrets/pip_cert ]; then export PIP_CERT=/run/secrets/pip_cert; fi \
    && if [ -s /run/secrets/pip_index ]; then export PIP_CONFIG_FILE=/run/secrets/pip_index; fi \
    && export PIP_DEFAULT_TIMEOUT=180 \
    && pip install -c constraints.txt pip setuptools wheel \
    && mkdir -p talkingface dagan lawdnet syncnet \
    && touch README.md talkingface/__init__.py dagan/__init__.py lawdnet/__init__.py syncnet/__init__.py \
    && pip install -c constraints.txt ${TORCH_INDEX_URL:+--extra-index-url "$TORCH_INDEX_URL"} \
           --no-build-isolation ".[${EXTRAS}]" \
    && pip uninstall --yes talkingface-kit \
    && pip install --no-deps -c constraints.txt -r requirements-nodeps.txt \
    && rm -rf README.md talkingface dagan lawdnet syncnet build ./*.egg-info \
    && python -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__)"

# ---- the kit itself: one small layer, rebuilt on a code change. The build context (only what .dockerignore lets
# through: the packages, config/, checkpoints/manifest.yaml, docker/entrypoint.sh) is bind-mounted, not copied:
# the image keeps the installed package, not a second copy of the source. Folders absent from a checkout (a
# package not written yet) are simply not there.
RUN --mount=type=bind,target=/tmp/context \
    cp -r /tmp/context /tmp/src \
    && pip install --no-cache-dir --no-deps --no-build-isolation /tmp/src \
    && cp -r /tmp/src/config /opt/talkingface/config \
    && cp /tmp/src/checkpoints/manifest.yaml /opt/talkingface/manifest.yaml \
    && install -m 0755 /tmp/src/docker/entrypoint.sh /usr/local/bin/talkingface-entrypoint \
    && rm -rf /tmp/src \
    && python -m talkingface --help >/dev/null

# Weights come from the /checkpoints volume (the layout of checkpoints/ in the repository); torch.hub's cache is
# looked up in /checkpoints/torch/hub/checkpoints. Caches that must be writable live in /tmp.
ENV TALKINGFACE_MANIFEST=/opt/talkingface/manifest.yaml \
    TALKINGFACE_CHECKPOINTS=/checkpoints \
    TORCH_HOME=/checkpoints/torch \
    XDG_CACHE_HOME=/tmp/.cache \
    NUMBA_CACHE_DIR=/tmp/.cache/numba \
    MPLCONFIGDIR=/tmp/.cache/matplotlib \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    TALKINGFACE_STAGE=base

ARG BASE_IMAGE
ARG KIT_VERSION=0.1.0
ARG TORCH_VERSION=2.12.1
ARG TORCHVISION_VERSION=0.27.1
ARG CUDA_FLAVOUR=cu130
LABEL org.opencontainers.image.title="talkingface-base" \
      org.opencontainers.image.description="talkingface-kit: pinned Python, torch and the kit; base of the stage images" \
      org.opencontainers.image.version="${KIT_VERSION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.base.name="${BASE_IMAGE}" \
      io.talkingface.kit.version="${KIT_VERSION}" \
      io.talkingface.torch.version="${TORCH_VERSION}" \
      io.talkingface.torchvision.version="${TORCHVISION_VERSION}" \
      io.talkingface.cuda.flavour="${CUDA_FLAVOUR}"

USER ${UID}:${GID}
WORKDIR /outputs
ENTRYPOINT ["/usr/local/bin/talkingface-entrypoint", "python", "-m", "talkingface"]
CMD ["--help"]
