# image: generate
# module: dagan.generate
# aliases: generate-image
# talkingface-kit stage image `generate`: DaGAN generation over an evaluation set (python -m dagan.generate).
# docker/build.sh also tags it `generate-image`, the name the seed kit's README uses (the same image).
#
#   docker run --rm --network none --gpus all -v "$PWD/evaluation_set:/data" \
#       -v "$PWD/checkpoints:/checkpoints:ro" generate --source_dir /data/source_self --driving_dir /data/gt_self \
#       --save_folder /data/generate_dagan_self
#
# Built FROM the base image (docker/base.Dockerfile; docker/build.sh builds both). Volumes: /data (inputs),
# /checkpoints (weights, read-only), /outputs (results); docker/entrypoint.sh checks the paths given before running.
ARG KIT_BASE=talkingface-base:latest
FROM ${KIT_BASE}
ENV TALKINGFACE_STAGE=generate \
    TALKINGFACE_USES_WEIGHTS=1
# Fails the build when this checkout has no such command.
RUN python -m dagan.generate --help >/dev/null
ARG KIT_VERSION=0.1.0
LABEL org.opencontainers.image.title="generate" \
      org.opencontainers.image.description="talkingface-kit: DaGAN generation over an evaluation set (python -m dagan.generate)" \
      org.opencontainers.image.version="${KIT_VERSION}" \
      io.talkingface.stage="generate"
ENTRYPOINT ["/usr/local/bin/talkingface-entrypoint", "python", "-m", "dagan.generate"]
CMD ["--help"]
