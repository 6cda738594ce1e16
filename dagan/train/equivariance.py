"""The random thin-plate-spline warp of DaGAN's (FOMM's) equivariance losses: draws, coordinates, jacobian, frames.

    t = RandomTPS.draw(batch, sigma_affine=0.05, sigma_tps=0.005, points_tps=5)    # global RNG, as the authors
    warped = t.transform_frame(driving)                 # grid_sample, reflection padding
    kp_back = t.warp_coordinates(kp_of_warped["value"]) # should land on the driving keypoints
    jac = t.jacobian(kp_of_warped["value"])             # (B, K, 2, 2) d warp / d coordinates, by autograd

The draws are the authors' ``Transform``'s, in the same order and made the same way (on the CPU, whatever the
device): ``torch.normal(mean=0, std=sigma_affine * ones(B, 2, 3))`` (affine noise added to the identity), then
``torch.normal(mean=0, std=sigma_tps * ones(B, 1, points**2))`` (TPS weights of a ``points x points`` grid of
control points in [-1, 1]). So seeding torch's global RNG (or passing the same ``generator``) reproduces their warp.
The TPS kernel is ``r**2 * log(r + 1e-6)`` with r the L1 distance to a control point, as theirs. ``grid_sample``
uses ``align_corners=False`` (the default since torch 1.3, which the authors' torch 1.9 used; the kit's dagan
modules do the same).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from dagan.modules.blocks import make_coordinate_grid


@dataclass
class RandomTPS:
    """One random warp per batch item: ``theta`` (B, 2, 3) affine part; ``control_params`` (B, 1, P*P) TPS weights
    on ``control_points`` (P*P, 2), or None for an affine-only warp."""

    theta: torch.Tensor
    control_points: torch.Tensor | None = None
    control_params: torch.Tensor | None = None

    @classmethod
    def draw(cls, batch: int, sigma_affine: float, sigma_tps: float | None = None, points_tps: int | None = None,
             generator: torch.Generator | None = None) -> RandomTPS:
        """Draw a warp as the authors' ``Transform(batch, **transform_params)`` does (TPS only when both
        ``sigma_tps`` and ``points_tps`` are given)."""
        noise = torch.normal(mean=0, std=sigma_affine * torch.ones([batch, 2, 3]), generator=generator)
        theta = noise + torch.eye(2, 3).view(1, 2, 3)
        if sigma_tps is None or points_tps is None:
            return cls(theta)
        points = make_coordinate_grid((points_tps, points_tps), noise.dtype).reshape(-1, 2)
        params = torch.normal(mean=0, std=sigma_tps * torch.ones([batch, 1, points_tps ** 2]), generator=generator)
        return cls(theta, points, params)

    @property
    def batch(self) -> int:
        return self.theta.shape[0]

    def warp_coordinates(self, coordinates: torch.Tensor) -> torch.Tensor:
        """Warp (B or 1, N, 2) coordinates in [-1, 1] -> (B, N, 2)."""
        theta = self.theta.to(coordinates).unsqueeze(1)                       # (B, 1, 2, 3)
        out = (theta[..., :2] @ coordinates.unsqueeze(-1) + theta[..., 2:]).squeeze(-1)
        if self.control_params is None:
            return out
        points = self.control_points.to(coordinates)
        params = self.control_params.to(coordinates)
        dist = (coordinates.reshape(coordinates.shape[0], -1, 1, 2) - points.view(1, 1, -1, 2)).abs().sum(-1)
        kernel = dist ** 2 * torch.log(dist + 1e-6) * params                   # (B, N, P*P)
        return out + kernel.sum(dim=2).view(self.batch, coordinates.shape[1], 1)

    def jacobian(self, coordinates: torch.Tensor) -> torch.Tensor:
        """d warp / d coordinates at (B, N, 2) coordinates -> (B, N, 2, 2), differentiable (``create_graph``)
        with respect to the coordinates when they require grad (else computed on a detached copy)."""
        with torch.enable_grad():
            if not coordinates.requires_grad:
                coordinates = coordinates.detach().requires_grad_(True)
            warped = self.warp_coordinates(coordinates)
            grad_x, = torch.autograd.grad(warped[..., 0].sum(), coordinates, create_graph=True)
            grad_y, = torch.autograd.grad(warped[..., 1].sum(), coordinates, create_graph=True)
        return torch.stack([grad_x, grad_y], dim=-2)

    def transform_frame(self, frame: torch.Tensor) -> torch.Tensor:
        """Warp frames (B, C, H, W): sample each at the warped pixel grid, reflection padding."""
        h, w = frame.shape[2:]
        grid = make_coordinate_grid((h, w), frame.dtype, frame.device).reshape(1, h * w, 2)
        grid = self.warp_coordinates(grid).view(self.batch, h, w, 2)
        return F.grid_sample(frame, grid, padding_mode="reflection", align_corners=False)
