"""DaGAN's pipeline around the network: media in, media out (the tensor work lives in :mod:`dagan.model`).

    model = dagan.load_model(ckpt, encoder, decoder, device="cuda")
    result = animate_video(model, "face.png", "driving.mp4", "out.mp4", relative=True, adapt_scale=True)

:func:`animate_video` streams: the driving video is decoded and resized in chunks on a background thread while the
model animates the previous chunk, and the H.264 encoder (ffmpeg) runs in its own process; nothing holds the whole
video, so memory does not grow with its length. The source image's depth, keypoints and encoder features are
computed once (:meth:`dagan.DaganModel.prepare_source`).

**Best frame.** The authors' demo animates frames ``best..end`` forward and ``best..0`` backward, each half relative
to its own first frame — which is frame ``best`` for both — then reverses the backward half and joins them. Every
output frame depends only on its driving frame, the source and that anchor, so the result is exactly frames
``0..end`` animated in order relative to frame ``best``: one forward pass, no reversed decoding or spilling.
(``tests/dagan/test_pipeline.py`` checks this against the authors' two-halves construction.)
"""
from __future__ import annotations

import contextlib
import logging
import os
import queue
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from talkingface.errors import KitError, MediaError

log = logging.getLogger(__name__)

RANDOM_LABEL = "RANDOM WEIGHTS — not the authors' model"
FRAME_SIZE = 256

#: dotted config overrides that shrink vox-adv-256 to a tiny network (tests, smoke runs). The depth net keeps its
#: ResNet-18 (the only sizes the authors' depth files come in are 18 and 50).
TINY_OVERRIDES = (
    "model_params.kp_detector_params.block_expansion=8",
    "model_params.kp_detector_params.max_features=32",
    "model_params.kp_detector_params.num_blocks=3",
    "model_params.generator_params.block_expansion=8",
    "model_params.generator_params.max_features=32",
    "model_params.generator_params.num_bottleneck_blocks=1",
    "model_params.generator_params.dense_motion_params.block_expansion=8",
    "model_params.generator_params.dense_motion_params.max_features=32",
    "model_params.generator_params.dense_motion_params.num_blocks=3",
)


# ----------------------------------------------------------------------------------------------- random weights
@dataclass(frozen=True)
class ModelFiles:
    """The four files :func:`dagan.load_model` reads."""

    checkpoint: Path
    depth_encoder: Path
    depth_decoder: Path
    config: Path


def randomise_weights(module, seed: int = 0):
    """Fill ``module`` in place with random but well-conditioned weights and return it in eval mode.

    A plain random init makes DaGAN's output an almost constant grey (tests comparing outputs would then pass
    vacuously, smoke videos show nothing): here weights are N(0, 1/fan_in), BatchNorm statistics random, the
    attention's ``gamma`` non-zero, jacobians near identity, keypoint heatmaps sharp and the output layer wide.
    """
    import torch

    gen = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for p in module.parameters():
            scale = p[0].numel() ** -0.5 if p.ndim > 1 else 0.1
            p.copy_(torch.randn(p.shape, generator=gen) * scale)
        for m in module.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.weight.add_(1.0)
        for name, p in module.named_parameters():
            if name.endswith("gamma"):
                p.fill_(0.7)
            elif name == "jacobian.weight":
                p.mul_(0.05)
            elif name == "jacobian.bias":
                p.copy_(torch.tensor([1.0, 0.0, 0.0, 1.0]).repeat(p.numel() // 4))
            elif name == "kp.weight":
                p.mul_(20.0)
            elif name == "final.weight":
                p.mul_(5.0)
    return module.eval()


def write_random_model(folder: str | os.PathLike, seed: int = 0, tiny: bool = True) -> ModelFiles:
    """Write a randomly initialised DaGAN (``tiny`` or full vox-adv-256 size) in the authors' file formats.

    For tests, benchmarks and smoke runs only: its output is meaningless (label it with ``RANDOM_LABEL``). The same
    seed gives the same files; the caller's torch random state is left untouched.
    """
    import torch

    from dagan.checkpoint import save_checkpoint, save_depth_decoder, save_depth_encoder
    from dagan.config import load_dagan_config
    from dagan.model import build_depth_network, build_generator, build_kp_detector
    from talkingface.config import save_resolved

    folder = Path(folder)
    cfg = load_dagan_config(None, overrides=TINY_OVERRIDES if tiny else ())
    with torch.random.fork_rng(devices=[]):        # module construction draws from the global generator
        generator, kp_detector = build_generator(cfg), build_kp_detector(cfg)
        encoder, decoder = build_depth_network(cfg)
    for i, net in enumerate((generator, kp_detector, encoder, decoder)):
        randomise_weights(net, int(seed) * 10 + i)
    files = ModelFiles(folder / "dagan_random.pth.tar", folder / "encoder.pth", folder / "depth.pth",
                       folder / "config.yaml")
    save_checkpoint(files.checkpoint, generator, kp_detector)
    save_depth_encoder(files.depth_encoder, encoder)
    save_depth_decoder(files.depth_decoder, decoder)
    save_resolved(cfg, folder, files.config.name)
    return files


def random_model(seed: int = 0, tiny: bool = True, device: str = "cpu", fp16: bool = False,
                 batch_size: int | None = None):
    """A randomly initialised DaGAN loaded through the real loading path (files written to a temp dir, then
    deleted). Meaningless output: label anything made with it ``RANDOM_LABEL``."""
    import dagan

    with tempfile.TemporaryDirectory(prefix="dagan_random_") as tmp:
        f = write_random_model(tmp, seed, tiny)
        return dagan.load_model(f.checkpoint, f.depth_encoder, f.depth_decoder, config=f.config, kp_num=None,
                                device=device, fp16=fp16, batch_size=batch_size)


def tiny_random_model(seed: int = 0, device: str = "cpu", batch_size: int | None = None):
    """``random_model(seed, tiny=True)``: a small randomly initialised DaGAN for smoke runs (see RANDOM_LABEL)."""
    return random_model(seed, tiny=True, device=device, batch_size=batch_size)


# ------------------------------------------------------------------------------------------------------- input
def read_source(path: str | os.PathLike) -> np.ndarray:
    """The source image as (H, W, 3) uint8 RGB: an image file (any size; grey, RGBA, 16-bit handled), or the first
    frame of a video file."""
    from talkingface.images import is_video, read_image
    from talkingface.media import VideoReader

    return frame_at(VideoReader(path), 0) if is_video(path) else read_image(path)


def frame_at(reader, index: int) -> np.ndarray:
    """Frame ``index`` of a :class:`~talkingface.media.VideoReader` (decodes from the start)."""
    frames = iter(reader)
    try:
        for i, frame in enumerate(frames):
            if i == index:
                return frame
    finally:
        frames.close()
    raise MediaError(f"{reader.path}: has no frame {index} (it decodes to fewer frames)")


# ------------------------------------------------------------------------------------------------- best frame
def find_best_frame(source: np.ndarray, driving_frames: Iterable[np.ndarray], backend,
                    progress: bool = False, total: int | None = None) -> int | None:
    """Index of the driving frame whose landmarks best match the source's, as the authors' demo chooses it.

    Landmarks are taken in the 256x256 square the frames are resized to (coordinates rescaled per axis), centred
    and divided by the square root of their convex hull's area; the frame with the smallest sum of squared
    differences wins. Frames without a face are skipped. Returns None when the source, or every driving frame, has
    no face (callers fall back to frame 0).
    """
    from tqdm import tqdm

    from talkingface.landmarks import normalize_landmarks

    def square(points, shape):
        return None if points is None else np.asarray(points)[:, :2] * [FRAME_SIZE / shape[1], FRAME_SIZE / shape[0]]

    source = np.asarray(source)
    ref = square(backend.detect(source), source.shape)
    ref = normalize_landmarks(ref) if ref is not None else None
    if ref is None:
        return None
    shapes: list = []

    def remember(frames):
        for frame in frames:
            shapes.append(frame.shape)
            yield frame

    best, best_norm = None, np.inf
    bar = tqdm(total=total, unit="frame", desc="best frame", disable=not progress, leave=False)
    with contextlib.closing(bar):
        for i, points in enumerate(backend.detect_video(remember(driving_frames))):
            bar.update(1)
            points = square(points, shapes[i])
            norm_points = normalize_landmarks(points) if points is not None else None
            if norm_points is None:
                continue
            norm = float(((ref - norm_points) ** 2).sum())
            if norm < best_norm:
                best, best_norm = i, norm
    return best


# -------------------------------------------------------------------------------------------------- animation
def _prefetch(items: Iterable[Any], depth: int = 2) -> Iterator[Any]:
    """Iterate ``items`` on a background thread, at most ``depth`` items ahead (decode/resize overlap inference)."""
    if depth <= 0:
        yield from items
        return
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry) -> bool:
        while not stop.is_set():
            try:
                q.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work():
        try:
            for item in items:
                if not put(("item", item)):
                    return
            put(("done", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            put(("error", exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=work, name="dagan-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = q.get()
            if kind == "item":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()
        thread.join()


def animate_frames(model, src, chunks: Iterable[np.ndarray], kp_driving_initial=None, relative: bool = True,
                   adapt_scale: bool = True, prefetch: int = 2) -> Iterator[np.ndarray]:
    """Animate driving ``chunks`` ((k, H, W, 3) arrays, any size) of a prepared source ``src``.

    Yields (k, S, S, 3) float32 in [0, 1] per chunk (S = ``model.size``, 256). Chunks are resized on a background
    thread, ``prefetch`` ahead. ``kp_driving_initial`` (``model.driving_keypoints(anchor_frame)``) is needed for
    relative motion.
    """
    batches = _prefetch((model.preprocess(chunk) for chunk in chunks), prefetch)
    try:
        for batch in batches:
            out = model.animate_tensor(src, batch, kp_driving_initial, relative=relative, adapt_scale=adapt_scale)
            yield out.permute(0, 2, 3, 1).cpu().numpy()
    finally:
        batches.close()


@dataclass
class AnimationResult:
    output: Path
    frames: int
    fps: float
    driving_size: tuple[int, int]   # (w, h) of the driving video
    audio: bool                     # the driving audio was kept
    anchor_frame: int               # the driving frame relative motion is measured from
    anchor_reason: str              # "first frame" | "given" | "best frame (<backend>)" | "fallback: …"
    seconds: float

    def summary(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out.update(output=str(self.output), driving_size=list(self.driving_size))
        return out


def animate_video(model, source: np.ndarray | str | os.PathLike, driving: str | os.PathLike,
                  output: str | os.PathLike, *, relative: bool = True, adapt_scale: bool = True,
                  best_frame: int | None = None, landmarks=None, batch_size: int | None = None,
                  keep_audio: bool = True, progress: bool = True) -> AnimationResult:
    """Animate ``source`` (an image array or file) with the driving video file; write an H.264 mp4 at the driving
    video's frame rate with its audio (when it has some and ``keep_audio``). The file appears only when complete.

    Relative motion is measured from frame ``best_frame`` when given, else from the frame whose landmarks best
    match the source when a ``landmarks`` backend is given (frame 0, with a warning, when no face is found), else
    from frame 0. Frames are animated in chunks of ``batch_size`` (default: the model's).
    """
    from tqdm import tqdm

    from talkingface.media import VideoReader, VideoWriter

    started = time.perf_counter()
    image = read_source(source) if isinstance(source, (str, os.PathLike)) else np.asarray(source)
    reader = VideoReader(driving)
    count = reader.frame_count
    if not reader.fps > 0:
        raise MediaError(f"{reader.path}: unknown frame rate; re-time it first (python -m talkingface normalize)")
    anchor, reason = 0, "first frame"
    if best_frame is not None:
        if not 0 <= int(best_frame) < count:
            raise KitError(f"{reader.path}: best frame {best_frame} is outside the video's frames 0..{count - 1}")
        anchor, reason = int(best_frame), "given"
    elif landmarks is not None:
        found = find_best_frame(image, reader, landmarks, progress=progress, total=count)
        if found is None:
            reason = f"fallback: no face found by the {landmarks.name} landmark backend"
            log.warning("no face found in the source or the driving video by the %s landmark backend; "
                        "animating from frame 0", landmarks.name)
        else:
            anchor, reason = found, f"best frame ({landmarks.name})"
            log.info("best frame: %d", anchor)
    src = model.prepare_source(image)
    init = model.driving_keypoints(frame_at(reader, anchor)) if relative else None
    audio = driving if keep_audio and reader.has_audio else None
    written = 0
    with reader, VideoWriter(output, reader.fps, audio=audio) as writer, \
            tqdm(total=count, unit="frame", desc="animate", disable=not progress) as bar:
        for out in animate_frames(model, src, reader.chunks(batch_size or model.batch_size), init, relative,
                                  adapt_scale):
            writer.write(out)
            written += len(out)
            bar.update(len(out))
    return AnimationResult(Path(output), written, reader.fps, tuple(reader.size), audio is not None, anchor, reason,
                           time.perf_counter() - started)


def animate_image(model, source: np.ndarray, driving: np.ndarray) -> np.ndarray:
    """One driving image -> one (256, 256, 3) uint8 frame, with **absolute** motion: relative motion from a single
    frame is measured against that same frame, so it would reproduce the source unchanged."""
    from talkingface.media_writer import as_uint8_frames

    return as_uint8_frames(model.animate(source, np.asarray(driving)[None], relative=False, adapt_scale=False))[0]


# ------------------------------------------------------------------------------------------------------ config
def write_record(record: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write a run record as YAML, atomically (unicode kept readable)."""
    import yaml

    from talkingface.config import write_atomic

    return write_atomic(path, yaml.safe_dump(record, sort_keys=False, allow_unicode=True))


def run_record(model, weights: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """What ran, for the resolved config written next to outputs: weights, model config, options, versions."""
    import torch

    import talkingface
    from talkingface.config import to_dict
    from talkingface.media import ffmpeg_version

    return {
        "weights": weights,
        "options": options,
        "model": {"device": str(model.device), "fp16": model.fp16, "batch_size": model.batch_size,
                  **{k: v for k, v in to_dict(model.config).items() if k in ("model_params", "depth_params")}},
        "versions": {"talkingface_kit": str(talkingface.__version__), "torch": str(torch.__version__),
                     "ffmpeg": ffmpeg_version()},
    }
