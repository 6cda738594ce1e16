# image: train
# module: dagan.train
# talkingface-kit stage image `train`: DaGAN training (python -m dagan.train; LawDNet's python -m lawdnet.train with
# the entry point below) on every GPU of the container, one process per GPU under torchrun
# (talkingface.training.launch: --standalone, --nproc_per_node = the GPUs it sees, 1 without a GPU). TensorBoard event files and checkpoints go to the run folder under /outputs.
#
#   docker run --rm --network none --gpus all --shm-size 16g -v "$PWD/datasets:/data:ro" \
#       -v "$PWD/checkpoints:/checkpoints:ro" -v "$PWD/runs:/outputs" train \
#       --data /data/vox --log_dir /outputs --batchsize 12          # the authors' 12 per GPU
#   ... train --checkpoint /outputs/vox-adv-256/last-checkpoint.pth.tar --data /data/vox --log_dir /outputs  # resume
#   LawDNet: --entrypoint talkingface-entrypoint train python -m talkingface.training.launch lawdnet.train --all \
#       --data /data/lawdnet/training_json.json --log_dir /outputs --name exp1
#   (docker/compose.yaml: services train, train-lawdnet and their -cpu twins)
#
# --shm-size: the data loader's worker processes hand batches over in shared memory; Docker's default 64 MB is too
# small for 256x256 batches (bus errors). SIGTERM (docker stop) makes the run write its last checkpoint and exit:
# give it time (docker stop -t 120).
# Built FROM the base image (docker/base.Dockerfile, which installs the `train` extra: TensorBoard). Volumes: /data
# (datasets, read-only), /checkpoints (depth network, VGG19, --init weights; read-only), /outputs (runs).
ARG KIT_BASE=talkingface-base:latest
FROM ${KIT_BASE}
ENV TALKINGFACE_STAGE=train \
    TALKINGFACE_USES_WEIGHTS=1
# Fails the build when this checkout has no such command.
RUN python -m dagan.train --help >/dev/null \
    && python -m lawdnet.train --help >/dev/null \
    && python -m talkingface.training.launch --help >/dev/null \
    && python -c "import tensorboard"
ARG KIT_VERSION=0.1.0
LABEL org.opencontainers.image.title="train" \
      org.opencontainers.image.description="talkingface-kit: DaGAN training (python -m dagan.train) under torchrun, one process per GPU" \
      org.opencontainers.image.version="${KIT_VERSION}" \
      io.talkingface.stage="train"
ENTRYPOINT ["/usr/local/bin/talkingface-entrypoint", "python", "-m", "talkingface.training.launch", "dagan.train"]
CMD ["--help"]
