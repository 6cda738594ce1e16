"""Dense motion network: from sparse keypoint motion to a dense deformation field and an occlusion map.

The source image is downscaled once (:meth:`DenseMotionNetwork.prepare`) and may then be reused for every driving
frame (:meth:`DenseMotionNetwork.motion`); ``forward`` does both, with the authors' signature.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dagan.modules.blocks import AntiAliasInterpolation2d, Hourglass, kp2gaussian, make_coordinate_grid


def _broadcast_batch(t: torch.Tensor, batch: int) -> torch.Tensor:
    return t.expand(batch, *t.shape[1:]) if t.shape[0] == 1 and batch > 1 else t


class DenseMotionNetwork(nn.Module):
    def __init__(self, block_expansion: int, num_blocks: int, max_features: int, num_kp: int, num_channels: int,
                 estimate_occlusion_map: bool = False, scale_factor: float = 1, kp_variance: float = 0.01):
        super().__init__()
        self.hourglass = Hourglass(block_expansion=block_expansion, in_features=(num_kp + 1) * (num_channels + 1),
                                   max_features=max_features, num_blocks=num_blocks)
        self.mask = nn.Conv2d(self.hourglass.out_filters, num_kp + 1, kernel_size=(7, 7), padding=(3, 3))
        self.occlusion = (nn.Conv2d(self.hourglass.out_filters, 1, kernel_size=(7, 7), padding=(3, 3))
                          if estimate_occlusion_map else None)
        self.num_kp = num_kp
        self.scale_factor = scale_factor
        self.kp_variance = kp_variance
        if scale_factor != 1:
            self.down = AntiAliasInterpolation2d(num_channels, scale_factor)

    def prepare(self, source_image: torch.Tensor) -> torch.Tensor:
        """The source image at the resolution the motion is estimated at."""
        return self.down(source_image) if self.scale_factor != 1 else source_image

    def heatmap_representation(self, spatial_size, kp_driving, kp_source) -> torch.Tensor:
        """Difference of keypoint gaussians, with a zero background channel: (B, K+1, 1, h, w)."""
        heatmap = (kp2gaussian(kp_driving["value"], spatial_size, self.kp_variance)
                   - kp2gaussian(kp_source["value"], spatial_size, self.kp_variance))
        zeros = heatmap.new_zeros(heatmap.shape[0], 1, *spatial_size)
        return torch.cat([zeros, heatmap], dim=1).unsqueeze(2)

    def sparse_motions(self, spatial_size, kp_driving, kp_source) -> torch.Tensor:
        """Per keypoint, where each driving pixel comes from in the source, plus identity: (B, K+1, h, w, 2)."""
        h, w = spatial_size
        bs = kp_driving["value"].shape[0]
        value_src = _broadcast_batch(kp_source["value"], bs)
        grid = make_coordinate_grid((h, w), value_src.dtype, value_src.device).view(1, 1, h, w, 2)
        coords = grid - kp_driving["value"].view(bs, self.num_kp, 1, 1, 2)
        if "jacobian" in kp_driving:
            jac_src = _broadcast_batch(kp_source["jacobian"], bs)
            jacobian = torch.matmul(jac_src, torch.inverse(kp_driving["jacobian"]))
            coords = torch.matmul(jacobian.view(bs, self.num_kp, 1, 1, 2, 2), coords.unsqueeze(-1)).squeeze(-1)
        driving_to_source = coords + value_src.view(bs, self.num_kp, 1, 1, 2)
        identity = grid.expand(bs, 1, h, w, 2)
        return torch.cat([identity, driving_to_source], dim=1)

    def deformed_sources(self, source_image: torch.Tensor, sparse_motions: torch.Tensor) -> torch.Tensor:
        """The source warped by each sparse motion: (B, K+1, C, h, w)."""
        bs, k1, h, w, _ = sparse_motions.shape
        source = _broadcast_batch(source_image, bs)
        repeated = source.unsqueeze(1).expand(bs, k1, *source.shape[1:]).reshape(bs * k1, -1, h, w)
        grid = sparse_motions.reshape(bs * k1, h, w, 2).to(repeated.dtype)
        return F.grid_sample(repeated, grid, align_corners=False).view(bs, k1, -1, h, w)

    def motion(self, small_source: torch.Tensor, kp_driving, kp_source) -> dict[str, torch.Tensor]:
        """Dense motion from the prepared (downscaled) source image and the two keypoint sets."""
        bs = kp_driving["value"].shape[0]
        h, w = small_source.shape[2:]
        heatmaps = self.heatmap_representation((h, w), kp_driving, kp_source)
        sparse = self.sparse_motions((h, w), kp_driving, kp_source)
        deformed = self.deformed_sources(small_source, sparse)
        out = {"sparse_deformed": deformed}

        net_in = torch.cat([heatmaps.to(deformed.dtype), deformed], dim=2).view(bs, -1, h, w)
        prediction = self.hourglass(net_in)
        mask = F.softmax(self.mask(prediction), dim=1)
        out["mask"] = mask
        deformation = (sparse.permute(0, 1, 4, 2, 3) * mask.unsqueeze(2)).sum(dim=1)
        out["deformation"] = deformation.permute(0, 2, 3, 1)
        if self.occlusion is not None:
            out["occlusion_map"] = torch.sigmoid(self.occlusion(prediction))
        return out

    def forward(self, source_image: torch.Tensor, kp_driving, kp_source) -> dict[str, torch.Tensor]:
        return self.motion(self.prepare(source_image), kp_driving, kp_source)
