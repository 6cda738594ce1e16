# image: evaluation-image
# module: talkingface evaluate
# talkingface-kit stage image `evaluation-image`: metrics over an evaluation set (python -m talkingface evaluate),
# LSE-C/LSE-D included.
#
#   docker run --rm --network none --gpus all -v "$PWD/evaluation_set:/data:ro" \
#       -v "$PWD/checkpoints:/checkpoints:ro" -v "$PWD/outputs:/outputs" evaluation-image --base_dir /data \
#       --output_path /outputs/evaluation --generate_dirs generate_dagan_self generate_dagan
#
# Built FROM the base image (docker/base.Dockerfile; docker/build.sh builds both). Volumes: /data (inputs),
# /checkpoints (weights, read-only), /outputs (results); docker/entrypoint.sh checks the paths given before running.
ARG KIT_BASE=talkingface-base:latest
FROM ${KIT_BASE}
ENV TALKINGFACE_STAGE=evaluation-image \
    TALKINGFACE_USES_WEIGHTS=1
# Fails the build when this checkout has no such command.
RUN python -m talkingface evaluate --help >/dev/null
ARG KIT_VERSION=0.1.0
LABEL org.opencontainers.image.title="evaluation-image" \
      org.opencontainers.image.description="talkingface-kit: metrics over an evaluation set (python -m talkingface evaluate), LSE-C/LSE-D included" \
      org.opencontainers.image.version="${KIT_VERSION}" \
      io.talkingface.stage="evaluation-image"
ENTRYPOINT ["/usr/local/bin/talkingface-entrypoint", "python", "-m", "talkingface", "evaluate"]
CMD ["--help"]
