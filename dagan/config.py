"""DaGAN configuration: the sections of the authors' ``config/vox-adv-256.yaml`` as dataclasses.

The defaults are the published vox-adv-256 model (kp_num 15, DepthAwareGenerator, ResNet-18 depth net), so
``DaganConfig()`` is what ``dagan.load_model(config=None)`` builds and ``config/dagan/vox-adv-256.yaml`` holds the
same values. The YAML keeps the authors' layout so their scripts can read it too; the one kit addition is the
top-level ``depth_params`` section, which their code ignores.

    cfg = load_dagan_config("config/dagan/vox-adv-256.yaml", overrides=["model_params.common_params.num_kp=10"])
"""
from __future__ import annotations

import copy
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from talkingface.config import apply_overrides, from_dict, load_config


@dataclass
class CommonParams:
    num_kp: int = 15
    num_channels: int = 3          # image channels; the keypoint detector sees one more (depth)
    estimate_jacobian: bool = True


@dataclass
class KPDetectorParams:
    temperature: float = 0.1
    block_expansion: int = 32
    max_features: int = 1024
    scale_factor: float = 0.25
    num_blocks: int = 5


@dataclass
class DenseMotionParams:
    block_expansion: int = 64
    max_features: int = 1024
    num_blocks: int = 5
    scale_factor: float = 0.25


@dataclass
class GeneratorParams:
    block_expansion: int = 64
    max_features: int = 512
    num_down_blocks: int = 2
    num_bottleneck_blocks: int = 6
    estimate_occlusion_map: bool = True
    dense_motion_params: DenseMotionParams = field(default_factory=DenseMotionParams)


@dataclass
class DiscriminatorParams:
    scales: list = field(default_factory=lambda: [1])
    block_expansion: int = 32
    max_features: int = 512
    num_blocks: int = 4
    use_kp: bool = True


@dataclass
class ModelParams:
    common_params: CommonParams = field(default_factory=CommonParams)
    kp_detector_params: KPDetectorParams = field(default_factory=KPDetectorParams)
    generator_params: GeneratorParams = field(default_factory=GeneratorParams)
    discriminator_params: DiscriminatorParams = field(default_factory=DiscriminatorParams)


@dataclass
class DepthParams:
    num_layers: int = 18           # depth encoder: ResNet-18 (the published weights_19) or ResNet-50


@dataclass
class DatasetParams:
    root_dir: str = "data/vox1_frames"
    frame_shape: list = field(default_factory=lambda: [256, 256, 3])
    id_sampling: bool = True
    pairs_list: str | None = "data/vox256.csv"
    augmentation_params: dict = field(default_factory=lambda: {
        "flip_param": {"horizontal_flip": True, "time_flip": True},
        "jitter_param": {"brightness": 0.1, "contrast": 0.1, "saturation": 0.1, "hue": 0.1},
    })


@dataclass
class TrainParams:
    num_epochs: int = 150
    num_repeats: int = 75
    epoch_milestones: list = field(default_factory=list)
    lr_generator: float = 2.0e-4
    lr_discriminator: float = 2.0e-4
    lr_kp_detector: float = 2.0e-4
    batch_size: int = 4
    scales: list = field(default_factory=lambda: [1, 0.5, 0.25, 0.125])
    checkpoint_freq: int = 10
    transform_params: dict = field(default_factory=lambda: {"sigma_affine": 0.05, "sigma_tps": 0.005,
                                                            "points_tps": 5})
    loss_weights: dict = field(default_factory=lambda: {
        "generator_gan": 1, "discriminator_gan": 1, "feature_matching": [10, 10, 10, 10],
        "perceptual": [10, 10, 10, 10, 10], "equivariance_value": 10, "equivariance_jacobian": 10,
        "kp_distance": 10, "kp_prior": 0, "kp_scale": 0, "depth_constraint": 0,
    })


@dataclass
class ReconstructionParams:
    num_videos: int = 1000
    format: str = ".mp4"


@dataclass
class AnimateParams:
    num_pairs: int = 50
    format: str = ".mp4"
    normalization_params: dict = field(default_factory=lambda: {
        "adapt_movement_scale": False, "use_relative_movement": True, "use_relative_jacobian": True})


@dataclass
class VisualizerParams:
    kp_size: int = 5
    draw_border: bool = True
    colormap: str = "gist_rainbow"


@dataclass
class DaganConfig:
    dataset_params: DatasetParams = field(default_factory=DatasetParams)
    model_params: ModelParams = field(default_factory=ModelParams)
    depth_params: DepthParams = field(default_factory=DepthParams)
    train_params: TrainParams = field(default_factory=TrainParams)
    reconstruction_params: ReconstructionParams = field(default_factory=ReconstructionParams)
    animate_params: AnimateParams = field(default_factory=AnimateParams)
    visualizer_params: VisualizerParams = field(default_factory=VisualizerParams)


def load_dagan_config(config: str | os.PathLike | dict[str, Any] | DaganConfig | None = None,
                      overrides: Iterable[str] = ()) -> DaganConfig:
    """A :class:`DaganConfig` from a YAML path, a mapping, an instance (returned as is) or None (defaults)."""
    if isinstance(config, DaganConfig):
        return config
    if isinstance(config, dict):
        return from_dict(DaganConfig, apply_overrides(copy.deepcopy(config), overrides), where="dagan config")
    return load_config(config, DaganConfig, overrides)
