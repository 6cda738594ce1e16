"""DaGAN inference: ``load_model`` and :class:`DaganModel` (whole-video and streaming chunk APIs).

    model = dagan.load_model("DaGAN_vox_adv_256.pth.tar", "encoder.pth", "depth.pth", device="cuda")
    frames = model.animate(source, driving)                       # (N, 256, 256, 3) float32 in [0, 1]

    src = model.prepare_source(source)                            # depth, keypoints, encoder features: once
    init = model.driving_keypoints(first_driving_frame)           # anchor of relative motion
    for chunk in reader.chunks(16):
        out = model.animate_chunk(src, chunk, kp_driving_initial=init)

It computes what the authors' ``demo.py`` computes (resize to 256 with skimage, depth from the monodepth2 net,
keypoints on RGB-D, ``normalize_kp``, DepthAwareGenerator), with the source-side work done once and the driving
frames batched.
"""
from __future__ import annotations

import contextlib
import copy
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.spatial import ConvexHull

from dagan.checkpoint import load_dagan_checkpoint, load_depth_decoder, load_depth_encoder
from dagan.config import DaganConfig, load_dagan_config
from dagan.modules.depth_decoder import DepthDecoder
from dagan.modules.depth_encoder import DepthEncoder
from dagan.modules.discriminator import MultiScaleDiscriminator
from dagan.modules.generator import DepthAwareGenerator, SourceEncoding
from dagan.modules.keypoint_detector import KPDetector
from dagan.speed import CompiledBatch, default_batch_size, to_channels_last
from talkingface.errors import KitError

FRAME_SIZE = 256
Keypoints = dict  # {"value": (B, K, 2), "jacobian": (B, K, 2, 2)}


# ------------------------------------------------------------------------------------------- building networks

def build_generator(cfg: DaganConfig) -> DepthAwareGenerator:
    g, c = cfg.model_params.generator_params, cfg.model_params.common_params
    return DepthAwareGenerator(num_channels=c.num_channels, num_kp=c.num_kp, block_expansion=g.block_expansion,
                               max_features=g.max_features, num_down_blocks=g.num_down_blocks,
                               num_bottleneck_blocks=g.num_bottleneck_blocks,
                               estimate_occlusion_map=g.estimate_occlusion_map,
                               dense_motion_params=vars(g.dense_motion_params).copy(),
                               estimate_jacobian=c.estimate_jacobian)


def build_kp_detector(cfg: DaganConfig) -> KPDetector:
    """The keypoint detector on RGB-D input (image channels + 1 depth channel), as the published model."""
    k, c = cfg.model_params.kp_detector_params, cfg.model_params.common_params
    return KPDetector(block_expansion=k.block_expansion, num_kp=c.num_kp, num_channels=c.num_channels + 1,
                      max_features=k.max_features, num_blocks=k.num_blocks, temperature=k.temperature,
                      estimate_jacobian=c.estimate_jacobian, scale_factor=k.scale_factor)


def build_discriminator(cfg: DaganConfig) -> MultiScaleDiscriminator:
    d, c = cfg.model_params.discriminator_params, cfg.model_params.common_params
    return MultiScaleDiscriminator(scales=d.scales, block_expansion=d.block_expansion, max_features=d.max_features,
                                   num_blocks=d.num_blocks, use_kp=d.use_kp, num_kp=c.num_kp,
                                   num_channels=c.num_channels)


def build_depth_network(cfg: DaganConfig) -> tuple[DepthEncoder, DepthDecoder]:
    encoder = DepthEncoder(cfg.depth_params.num_layers)
    return encoder, DepthDecoder(encoder.num_ch_enc, scales=range(4))


# ------------------------------------------------------------------------------------------------ preprocessing

def _check_pixels(arr: np.ndarray, what: str) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    if not np.issubdtype(arr.dtype, np.floating):
        raise KitError(f"{what}: pixels must be uint8 or float in [0, 1], got dtype {arr.dtype}")
    if arr.size and (not np.isfinite(arr).all() or arr.min() < -1e-3 or arr.max() > 1 + 1e-3):
        raise KitError(f"{what}: float pixels must lie in [0, 1] (found {np.nanmin(arr):.3g}..{np.nanmax(arr):.3g});"
                       " pass uint8 frames or divide by 255")
    return arr


def resize_frame(frame: np.ndarray, size: int = FRAME_SIZE) -> np.ndarray:
    """One (H, W, C) frame as the authors' demo prepares it: ``skimage.transform.resize(frame, (size, size))[..., :3]``
    (anti-aliased, float64), then float32. Grey frames become RGB; an alpha channel is dropped."""
    from skimage.transform import resize
    from skimage.util import img_as_float

    if frame.ndim == 2:
        frame = frame[..., None]
    if frame.ndim != 3 or frame.shape[-1] not in (1, 3, 4):
        raise KitError(f"frame: expected (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got shape {frame.shape}")
    frame = frame[..., :3]                   # channels are resized independently: same as slicing afterwards
    if frame.shape[:2] == (size, size):
        out = img_as_float(frame)            # what resize returns for an unchanged size
    else:
        out = resize(frame, (size, size))
    if out.shape[-1] == 1:
        out = np.repeat(out, 3, axis=-1)
    return out.astype(np.float32)


def _as_frames(frames: Any, what: str) -> np.ndarray:
    arr = frames.detach().cpu().numpy() if isinstance(frames, torch.Tensor) else np.asarray(frames)
    if arr.ndim == 2 or (arr.ndim == 3 and arr.shape[-1] in (1, 3, 4)):
        arr = arr[None]                      # one frame
    if arr.ndim == 3:                        # (N, H, W) grey frames
        arr = arr[..., None]
    if arr.ndim != 4 or arr.shape[0] == 0:
        raise KitError(f"{what}: expected a frame (H, W, 3) or frames (N, H, W, 3), got shape {arr.shape}")
    return _check_pixels(arr, what)


def normalize_kp(kp_source: Keypoints, kp_driving: Keypoints, kp_driving_initial: Keypoints,
                 adapt_movement_scale: bool = False, use_relative_movement: bool = False,
                 use_relative_jacobian: bool = False) -> Keypoints:
    """The authors' ``animate.normalize_kp``, batched over driving frames (kp_source/initial may have batch 1)."""
    if adapt_movement_scale:
        source_area = ConvexHull(kp_source["value"][0].detach().float().cpu().numpy()).volume
        driving_area = ConvexHull(kp_driving_initial["value"][0].detach().float().cpu().numpy()).volume
        scale = np.sqrt(source_area) / np.sqrt(driving_area)
    else:
        scale = 1
    kp_new = dict(kp_driving)
    if use_relative_movement:
        diff = (kp_driving["value"] - kp_driving_initial["value"]) * scale
        kp_new["value"] = diff + kp_source["value"]
        if use_relative_jacobian:
            jacobian_diff = torch.matmul(kp_driving["jacobian"], torch.inverse(kp_driving_initial["jacobian"]))
            kp_new["jacobian"] = torch.matmul(jacobian_diff, kp_source["jacobian"])
    return kp_new


# ----------------------------------------------------------------------------------------------------- the model

@dataclass
class SourceState:
    """The source image's share of the work, computed once by :meth:`DaganModel.prepare_source`."""

    image: torch.Tensor        # (1, 3, 256, 256) float32 in [0, 1]
    depth: torch.Tensor        # (1, 1, 256, 256) disparity in (0, 1)
    kp: Keypoints              # its keypoints (batch 1)
    encoding: SourceEncoding   # the generator's source features


class DaganModel:
    """DaGAN (DepthAwareGenerator + RGB-D keypoint detector + monodepth2 depth net) in eval mode on ``device``.

    ``fp16`` runs the networks under float16 autocast on CUDA (ignored, with a warning, on the CPU).
    ``batch_size`` is how many driving frames :meth:`animate` sends through the networks at once.
    ``frame_size`` is the side frames are resized to (256 for the published model; smaller only for tests).
    ``channels_last``: weights and inputs channels-last (None: on the CPU only, where it pays; dagan/speed.py).
    """

    def __init__(self, generator: DepthAwareGenerator, kp_detector: KPDetector, depth_encoder: DepthEncoder,
                 depth_decoder: DepthDecoder, config: DaganConfig | None = None, device: str | torch.device = "cpu",
                 fp16: bool = False, batch_size: int | None = None, frame_size: int = FRAME_SIZE,
                 channels_last: bool | None = None):
        self.device = torch.device(device)
        self.config = config or DaganConfig()
        self.generator = generator.to(self.device).eval()
        self.kp_detector = kp_detector.to(self.device).eval()
        self.depth_encoder = depth_encoder.to(self.device).eval()
        self.depth_decoder = depth_decoder.to(self.device).eval()
        if fp16 and self.device.type != "cuda":
            warnings.warn("fp16 needs a CUDA device; running in float32", stacklevel=2)
        self.fp16 = bool(fp16) and self.device.type == "cuda"
        self.amp_dtype = torch.float16          # autocast dtype when fp16 is on (bench_dagan_variants tries bf16)
        self.batch_size = batch_size or default_batch_size(self.device)
        self.size = int(frame_size)          # the authors' demo: 256
        self.compiled = None                 # dagan.speed.CompiledBatch after compile_batch_path()
        self.channels_last = self.device.type == "cpu" if channels_last is None else bool(channels_last)
        if self.channels_last:
            to_channels_last(self.generator, self.kp_detector, self.depth_encoder, self.depth_decoder)

    def compile_batch_path(self) -> None:
        """``torch.compile`` the driving batches' networks (``--compile``; costs and gains: dagan/speed.py)."""
        self.compiled = CompiledBatch(self)

    def _autocast(self):
        if self.fp16:
            return torch.autocast(self.device.type, dtype=self.amp_dtype)
        return contextlib.nullcontext()

    # -- building blocks ------------------------------------------------------------------------------------
    def preprocess(self, frames: Any) -> torch.Tensor:
        """Frames (N, H, W, C) or one frame (H, W, C), uint8 or float in [0, 1] -> (N, 3, 256, 256) on device,
        resized exactly as the authors' demo does."""
        arr = _as_frames(frames, "frames")
        out = np.stack([resize_frame(f, self.size) for f in arr])
        layout = torch.channels_last if self.channels_last else torch.contiguous_format
        return torch.from_numpy(out).permute(0, 3, 1, 2).to(self.device).contiguous(memory_format=layout)

    def depth(self, images: torch.Tensor, nets=None) -> torch.Tensor:
        """Disparity (N, 1, H, W) of preprocessed images; ``nets``: the compiled batch networks, else the model's."""
        nets = nets or self
        with torch.no_grad(), self._autocast():
            return nets.depth_decoder(nets.depth_encoder(images)).float()

    def keypoints(self, images: torch.Tensor, depth: torch.Tensor, nets=None) -> Keypoints:
        nets = nets or self
        with torch.no_grad(), self._autocast():
            kp = nets.kp_detector(torch.cat([images, depth.to(images.dtype)], dim=1))
        return {k: v.float() for k, v in kp.items()}

    # -- streaming API --------------------------------------------------------------------------------------
    def prepare_source(self, source: Any) -> SourceState:
        """Source image (H, W, C) -> its depth, keypoints and generator features, for any number of chunks."""
        image = self.preprocess(_as_frames(source, "source")[:1])
        depth = self.depth(image)
        kp = self.keypoints(image, depth)
        with torch.no_grad(), self._autocast():
            encoding = self.generator.encode_source(image, depth)
        return SourceState(image=image, depth=depth, kp=kp, encoding=encoding)

    def driving_keypoints(self, frame: Any) -> Keypoints:
        """Keypoints of one driving frame (H, W, C) — the anchor of relative motion (batch 1)."""
        image = self.preprocess(_as_frames(frame, "driving frame")[:1])
        return self.keypoints(image, self.depth(image))

    def animate_tensor(self, src: SourceState, driving: torch.Tensor, kp_driving_initial: Keypoints | None = None,
                       relative: bool = True, adapt_scale: bool = True) -> torch.Tensor:
        """Preprocessed driving frames (n, 3, 256, 256) on device -> predictions (n, 3, 256, 256) float32.

        Frames go through the networks ``batch_size`` at a time, whatever ``n`` is.
        """
        if relative and kp_driving_initial is None:
            raise ValueError("relative motion needs kp_driving_initial (model.driving_keypoints(first_frame))")
        return torch.cat([self._animate_batch(src, driving[i:i + self.batch_size], kp_driving_initial, relative,
                                              adapt_scale) for i in range(0, len(driving), self.batch_size)])

    def _animate_batch(self, src: SourceState, driving: torch.Tensor, kp_driving_initial: Keypoints | None,
                       relative: bool, adapt_scale: bool) -> torch.Tensor:
        n, nets = len(driving), self.compiled
        if nets is not None:                 # one shape for the compiled graphs: pad a short batch
            driving = nets.pad(driving, self.batch_size)
        kp_driving = self.keypoints(driving, self.depth(driving, nets), nets)
        kp_norm = normalize_kp(kp_source=src.kp, kp_driving=kp_driving,
                               kp_driving_initial=kp_driving_initial if relative else kp_driving,
                               use_relative_movement=relative, use_relative_jacobian=relative,
                               adapt_movement_scale=adapt_scale and relative)
        with torch.no_grad(), self._autocast():
            out = (nets or self.generator).decode(src.encoding, src.kp, kp_norm, full_output=False)["prediction"]
        return out[:n].float().clamp_(0, 1)

    def animate_chunk(self, src: SourceState, driving_chunk: Any, kp_driving_initial: Keypoints | None = None,
                      relative: bool = True, adapt_scale: bool = True) -> np.ndarray:
        """Driving frames (n, H, W, C) -> animated frames (n, 256, 256, 3) float32 in [0, 1].

        ``kp_driving_initial`` (from :meth:`driving_keypoints`) is required when ``relative``.
        """
        pred = self.animate_tensor(src, self.preprocess(driving_chunk), kp_driving_initial, relative, adapt_scale)
        return pred.permute(0, 2, 3, 1).cpu().numpy()

    def iter_animate(self, source: Any, driving: Any, relative: bool = True,
                     adapt_scale: bool = True) -> Iterator[np.ndarray]:
        """Like :meth:`animate`, yielding (n, 256, 256, 3) blocks of at most ``batch_size`` frames."""
        driving = _as_frames(driving, "driving")
        src = self.prepare_source(source)
        init = self.driving_keypoints(driving[0]) if relative else None
        for start in range(0, len(driving), self.batch_size):
            yield self.animate_chunk(src, driving[start:start + self.batch_size], init, relative, adapt_scale)

    def animate(self, source: Any, driving: Any, relative: bool = True, adapt_scale: bool = True) -> np.ndarray:
        """Animate ``source`` (H, W, C) with ``driving`` (N, H, W, C): uint8 or float in [0, 1], any size.

        Returns (N, 256, 256, 3) float32 in [0, 1]. ``relative`` moves the source keypoints by the driving motion
        relative to the first driving frame (``adapt_scale`` scales it by the keypoint hulls' areas); otherwise the
        driving keypoints are used as they are.
        """
        return np.concatenate(list(self.iter_animate(source, driving, relative, adapt_scale)), axis=0)


def load_model(checkpoint: str | os.PathLike, depth_encoder: str | os.PathLike, depth_decoder: str | os.PathLike,
               config: str | os.PathLike | dict | DaganConfig | None = None, kp_num: int | None = 15,
               device: str | torch.device = "cpu", fp16: bool = False, batch_size: int | None = None,
               frame_size: int = FRAME_SIZE, channels_last: bool | None = None) -> DaganModel:
    """Build DaGAN and load the authors' files strictly.

    ``checkpoint``: ``DaGAN_vox_adv_256.pth.tar`` (with or without DDP ``module.`` prefixes); ``depth_encoder`` /
    ``depth_decoder``: ``weights_19/encoder.pth`` and ``depth.pth``. ``config=None`` uses the built-in
    vox-adv-256 settings; ``kp_num`` overrides the config's number of keypoints (None keeps it), like the
    authors' ``--kp_num``. ``channels_last``: see :class:`DaganModel` (None: on the CPU only).
    """
    cfg = copy.deepcopy(load_dagan_config(config))
    if kp_num is not None:
        cfg.model_params.common_params.num_kp = int(kp_num)
    generator, kp_detector = build_generator(cfg), build_kp_detector(cfg)
    encoder, decoder = build_depth_network(cfg)
    load_dagan_checkpoint(checkpoint, generator, kp_detector)
    load_depth_encoder(depth_encoder, encoder)
    load_depth_decoder(depth_decoder, decoder)
    return DaganModel(generator, kp_detector, encoder, decoder, cfg, device=device, fp16=fp16, batch_size=batch_size,
                      frame_size=frame_size, channels_last=channels_last)

