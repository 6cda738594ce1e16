"""The formula weights of the DaGAN training-loss golden (scripts/make_golden_train.py writes the golden with them,
tests/dagan/test_train_losses.py rebuilds them and checks their digest): every network the cases use, keyed by name,
from tests/golden_weights.dagan_state on the kit's module layouts."""
from __future__ import annotations

import torch
import torchvision
from golden_weights import dagan_state

#: the keypoint detector's input channels per mode (RGB-D, depth, RGB)
MODE_CHANNELS = {"rgbd": 4, "depth": 1, "rgb": 3}


def formula_states(cfg, vgg_gain: float) -> dict[str, dict]:
    """{generator, discriminator, depth_encoder, depth_decoder, vgg19_features, kp_detector_<mode>: state dict};
    VGG19's conv weights are multiplied by ``vgg_gain`` (so that features survive its depth)."""
    from dagan.model import build_depth_network, build_discriminator, build_generator
    from dagan.modules.keypoint_detector import KPDetector

    k, c = cfg.model_params.kp_detector_params, cfg.model_params.common_params
    with torch.device("meta"):
        encoder, decoder = build_depth_network(cfg)
        nets = {"generator": build_generator(cfg), "discriminator": build_discriminator(cfg),
                "depth_encoder": encoder, "depth_decoder": decoder,
                "vgg19_features": torchvision.models.vgg19(weights=None).features}
        for mode, channels in MODE_CHANNELS.items():
            nets[f"kp_detector_{mode}"] = KPDetector(
                block_expansion=k.block_expansion, num_kp=c.num_kp, num_channels=channels,
                max_features=k.max_features, num_blocks=k.num_blocks, temperature=k.temperature,
                estimate_jacobian=c.estimate_jacobian, scale_factor=k.scale_factor)
    states = {name: dict(dagan_state("kp_detector" if name.startswith("kp_detector") else name, net.state_dict()))
              for name, net in nets.items()}
    for t in states["vgg19_features"].values():
        if t.ndim > 1:
            t.mul_(torch.tensor(vgg_gain, dtype=torch.float32))
    return states
