# image: dagan
# module: dagan.animate
# talkingface-kit stage image `dagan`: DaGAN demo animation (python -m dagan.animate): one source image driven
# by one video.
#
#   docker run --rm --network none --gpus all -v "$PWD/data:/data:ro" -v "$PWD/checkpoints:/checkpoints:ro" \
#       -v "$PWD/outputs:/outputs" dagan --source_image /data/source.png --driving_video /data/driving.mp4 \
#       --checkpoint /checkpoints/dagan/DaGAN_vox_adv_256.pth.tar --result_video /outputs/result.mp4
#
# Built FROM the base image (docker/base.Dockerfile; docker/build.sh builds both). Volumes: /data (inputs),
# /checkpoints (weights, read-only), /outputs (results); docker/entrypoint.sh checks the paths given before running.
ARG KIT_BASE=talkingface-base:latest
FROM ${KIT_BASE}
ENV TALKINGFACE_STAGE=dagan \
    TALKINGFACE_USES_WEIGHTS=1
# Fails the build when this checkout has no such command.
RUN python -m dagan.animate --help >/dev/null
ARG KIT_VERSION=0.1.0
LABEL org.opencontainers.image.title="dagan" \
      org.opencontainers.image.description="talkingface-kit: DaGAN demo animation (python -m dagan.animate): one source image driven by one video" \
      org.opencontainers.image.version="${KIT_VERSION}" \
      io.talkingface.stage="dagan"
ENTRYPOINT ["/usr/local/bin/talkingface-entrypoint", "python", "-m", "dagan.animate"]
CMD ["--help"]
