"""LawDNet's face alignment ("正脸化"): a 2-D similarity fit of 25 landmarks to a template, and the warp to the crop.

    matrices = align_matrices(landmarks, out_w)          # (B, 68, 2) frame pixels -> (B, 3, 3) float32
    faces = warp_faces(frames, matrices, out_w)          # (B, 3, H, W) float 0-255 -> (B, 3, int(1.3 out_w), out_w)
    points = align_landmarks(landmarks, matrices)        # landmarks moved by the matrices (the authors' lmrks_align)

Equal to the authors' ``tensor_processing.FaceAlign`` (Face_align_matrix, forward) at LawDNet_2024 76a14bb:

* 25 points: 68-point indices 17-36 (brows, nose), 39, 42, 45 (eye corners), 48, 54 (mouth corners);
* the template: their 25 built-in numbers, moved so the point 6.5/4 of the way from the mid-brow (mean of points 2, 7)
  to the nose (point 12) is the origin (x of the nose) and divided by ``ratio`` times that brow-to-nose height; then
  scaled by out_w/2 and centred in the out_w x 1.3 out_w canvas;
* the least-squares similarity (rotation, uniform scale, translation) of ``SimilarityTransform_torch_2D``: both point
  sets demeaned and divided by the mean of their per-axis *unbiased* standard deviations, the 4 unknowns solved by the
  normal equations with 1e-8 added to the diagonal. Solved here in float64 in closed form (the normal matrix is
  diagonal for demeaned points) and returned as float32; it differs from their float32 solve by float32 rounding;
* the warp of the ``warp_img_torch`` that FaceAlign runs (tensor_processing's own, which overrides the one of
  torch_affine_ops imported with ``*``: x is normalised by the output width, y by the height): pixels are normalised
  with the align_corners=True convention (2/(n-1)) while ``affine_grid`` / ``grid_sample`` run with their default
  align_corners=False, as the authors call them. The pixel mapping that really runs is therefore not the matrix itself
  but :func:`effective_matrices` (off by under a pixel); the paste-back inverts that one. Bilinear, zeros outside
  the frame, clipped to 0-255.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from lawdnet.config import ALIGN_RATIO

#: 68-point indices of the 25 aligned landmarks: brows and nose (17-36), inner right / inner left / outer left eye
#: corners (39, 42, 45), mouth corners (48, 54)
LANDMARKS_25 = (*range(17, 37), 39, 42, 45, 48, 54)
#: the aligned crop is int(HEIGHT_RATIO * out_w) tall
HEIGHT_RATIO = 1.3
#: the authors' 25-point template (x, y), in the order of LANDMARKS_25, before normalisation (FaceAlign.standard_lm_25)
TEMPLATE_25 = np.array([
    [2.13256e-04, 1.06454e-01], [7.52622e-02, 3.89150e-02], [1.81130e-01, 1.87482e-02], [2.90770e-01, 3.44891e-02],
    [3.93397e-01, 7.73906e-02], [5.86856e-01, 7.73906e-02], [6.89483e-01, 3.44891e-02], [7.99124e-01, 1.87482e-02],
    [9.04991e-01, 3.89150e-02], [9.80040e-01, 1.06454e-01], [4.90127e-01, 2.03352e-01], [4.90127e-01, 3.07009e-01],
    [4.90127e-01, 4.09805e-01], [4.90127e-01, 5.15625e-01], [3.66880e-01, 5.87326e-01], [4.26036e-01, 6.09345e-01],
    [4.90127e-01, 6.28106e-01], [5.54217e-01, 6.09345e-01], [6.13373e-01, 5.87326e-01], [1.21737e-01, 2.16423e-01],
    [3.34606e-01, 2.31733e-01], [6.45647e-01, 2.31733e-01], [8.58516e-01, 2.16423e-01], [2.54149e-01, 7.80233e-01],
    [7.26104e-01, 7.80233e-01]], dtype=np.float32)
#: the 1e-8 the authors add to the diagonal of the normal equations
RIDGE = 1e-8


def aligned_size(out_w: int) -> tuple[int, int]:
    """(H, W) of the aligned crop: (int(1.3 out_w), out_w), e.g. 468 x 360 for out_w 360 (mouth 288)."""
    return int(HEIGHT_RATIO * out_w), int(out_w)


def template(ratio: float = ALIGN_RATIO) -> np.ndarray:
    """The normalised (25, 2) float64 template: origin below the nose, unit = ratio x the brow-to-nose height."""
    t = TEMPLATE_25.astype(np.float64)
    up = (t[2] + t[7]) / 2                              # middle of the brows
    nose = t[12]
    height = nose[1] - up[1]
    centre = up + (nose - up) * 6.5 / 4
    centre[0] = nose[0]
    return (t - centre) / (ratio * height)


def template_points(out_w: int, ratio: float = ALIGN_RATIO) -> np.ndarray:
    """(25, 2) float64 pixel positions of the template in the crop: scaled by out_w/2, centred at (out_w/2, 1.3 out_w/2)
    (the float 1.3 out_w, not the crop's integer height, as the authors do)."""
    return template(ratio) * (out_w / 2) + np.array([out_w / 2, out_w * HEIGHT_RATIO / 2])


def _standardise(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(demeaned / std, mean (B,1,2), std (B,1,1)): std = mean over x, y of the unbiased per-axis standard deviation."""
    mean = points.mean(axis=-2, keepdims=True)
    centred = points - mean
    std = centred.std(axis=-2, ddof=1, keepdims=True).mean(axis=-1, keepdims=True)
    return centred / std, mean, std


def similarity_lstsq(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """(B, 3, 3) float64 least-squares similarity taking src (B, N, 2) onto dst (B, N, 2), as the authors solve it.

    In standardised coordinates the model is u = a x + b y + c, v = -b x + a y + d; with demeaned points the normal
    matrix is diag(S, S, N, N) (S = sum of x^2 + y^2), so each unknown is a ratio of sums (RIDGE on the diagonal).
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if src.shape != dst.shape or src.ndim != 3 or src.shape[-1] != 2:
        raise ValueError(f"expected two (B, N, 2) point sets, got {src.shape} and {dst.shape}")
    p, src_mean, src_std = _standardise(src)
    q, dst_mean, dst_std = _standardise(dst)
    x, y, u, v = p[..., 0], p[..., 1], q[..., 0], q[..., 1]
    s = (x * x + y * y).sum(-1) + RIDGE
    n = src.shape[-2] + RIDGE
    a = (x * u + y * v).sum(-1) / s
    b = (y * u - x * v).sum(-1) / s
    c, d = u.sum(-1) / n, v.sum(-1) / n
    batch = src.shape[0]
    sim = np.zeros((batch, 3, 3))
    sim[:, 0] = np.stack([a, b, c], -1)
    sim[:, 1] = np.stack([-b, a, d], -1)
    sim[:, 2, 2] = 1
    # frame pixels -> standardised source -> standardised template -> crop pixels
    pre = np.zeros((batch, 3, 3))
    pre[:, [0, 1], [0, 1]] = 1 / src_std[:, 0]
    pre[:, :2, 2] = -src_mean[:, 0] / src_std[:, 0]
    pre[:, 2, 2] = 1
    post = np.zeros((batch, 3, 3))
    post[:, [0, 1], [0, 1]] = dst_std[:, 0]
    post[:, :2, 2] = dst_mean[:, 0]
    post[:, 2, 2] = 1
    return post @ sim @ pre


def align_matrices(landmarks, out_w: int, ratio: float = ALIGN_RATIO) -> torch.Tensor:
    """(B, 3, 3) float32 similarity matrices taking frame pixels to crop pixels, from (B, 68, 2) landmarks (numpy or
    torch; the result is on the landmarks' device, CPU for numpy)."""
    device = landmarks.device if isinstance(landmarks, torch.Tensor) else torch.device("cpu")
    points = landmarks.detach().cpu().double().numpy() if isinstance(landmarks, torch.Tensor) else np.asarray(
        landmarks, dtype=np.float64)
    if points.ndim != 3 or points.shape[1:] != (68, 2):
        raise ValueError(f"expected (B, 68, 2) landmarks, got shape {points.shape}")
    src = points[:, list(LANDMARKS_25)]
    dst = np.broadcast_to(template_points(out_w, ratio), src.shape)
    return torch.from_numpy(similarity_lstsq(src, dst)).float().to(device)


def _pixel_normaliser(size: tuple[int, int], batch: int, device) -> torch.Tensor:
    """(B, 3, 3) pixels -> [-1, 1] with the 2/(n-1) convention, x by the width, y by the height (size = (H, W))."""
    h, w = size
    return torch.tensor([[2 / (w - 1), 0, -1], [0, 2 / (h - 1), -1], [0, 0, 1]],
                        dtype=torch.float32, device=device).repeat(batch, 1, 1)


def warp_faces(frames: torch.Tensor, matrices: torch.Tensor, out_w: int) -> torch.Tensor:
    """The aligned crops (B, 3, int(1.3 out_w), out_w) of frames (B, C, H, W) float 0-255 under ``matrices``, as the
    authors' FaceAlign.forward computes them (float32, same operations: bilinear, zeros outside, clip 0-255)."""
    if frames.ndim != 4:
        raise ValueError(f"expected (B, C, H, W) frames, got shape {tuple(frames.shape)}")
    if not frames.is_floating_point():
        frames = frames.float()
    batch, channels, h, w = frames.shape
    out = aligned_size(out_w)
    m = matrices.to(device=frames.device, dtype=torch.float32)
    norm_in = _pixel_normaliser((h, w), batch, frames.device)
    norm_out = _pixel_normaliser(out, batch, frames.device)
    theta = torch.linalg.inv(torch.matmul(norm_out, torch.matmul(m, torch.linalg.inv(norm_in))))[:, 0:2, :]
    grid = F.affine_grid(theta.to(frames.dtype), [batch, channels, *out], align_corners=False)
    return F.grid_sample(frames, grid, mode="bilinear", padding_mode="zeros", align_corners=False).clamp_(0, 255)


def align_landmarks(landmarks, matrices: torch.Tensor) -> torch.Tensor:
    """(B, N, 2) landmarks moved by the matrices (the authors' ``lmrks_align``: the matrix itself, not the sub-pixel
    different :func:`effective_matrices` the warp really applies)."""
    pts = torch.as_tensor(landmarks, dtype=torch.float32, device=matrices.device)
    return torch.matmul(pts, matrices[:, :2, :2].transpose(-1, -2)) + matrices[:, :2, 2:].transpose(-1, -2)


def effective_matrices(matrices, frame_size: tuple[int, int], crop_size: tuple[int, int]) -> np.ndarray:
    """(B, 3, 3) float64 maps from frame pixel centres to crop pixel centres that :func:`warp_faces` really applies.

    Crop pixel q samples the frame at ``D_in M^-1 D_out q`` where D_out: q -> (q + 0.5)(n_out - 1)/n_out and
    D_in: p -> p n_in/(n_in - 1) - 0.5 per axis (the 2/(n-1) normalisation read back with align_corners=False), so
    the forward map is ``D_out^-1 M D_in^-1``. frame_size, crop_size: (H, W).
    """
    m = matrices.detach().cpu().double().numpy() if isinstance(matrices, torch.Tensor) else np.asarray(
        matrices, dtype=np.float64)
    (fh, fw), (ch, cw) = frame_size, crop_size
    d_in_inv = np.array([[(fw - 1) / fw, 0, 0.5 * (fw - 1) / fw], [0, (fh - 1) / fh, 0.5 * (fh - 1) / fh], [0, 0, 1]])
    d_out_inv = np.array([[cw / (cw - 1), 0, -0.5], [0, ch / (ch - 1), -0.5], [0, 0, 1]])
    return d_out_inv @ m @ d_in_inv
