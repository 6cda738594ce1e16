"""DaGAN (Depth-Aware GAN, CVPR 2022) for talking-head animation, loading the authors' weights unchanged.

    import dagan
    model = dagan.load_model("DaGAN_vox_adv_256.pth.tar", "encoder.pth", "depth.pth", device="cpu")
    frames = model.animate(source, driving)    # (N, 256, 256, 3) float32 in [0, 1]
"""
from dagan.model import DaganModel, SourceState, load_model

__all__ = ["DaganModel", "SourceState", "load_model"]
