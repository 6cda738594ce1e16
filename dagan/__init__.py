"""DaGAN (Depth-Aware GAN, CVPR 2022) for talking-head animation, loading the authors' weights unchanged.

    import dagan
    model = dagan.load_model("DaGAN_vox_adv_256.pth.tar", "encoder.pth", "depth.pth", device="cpu")
    frames = model.animate(source, driving)    # (N, 256, 256, 3) float32 in [0, 1]

The networks (and torch) load on first use of these names: ``python -m dagan.preprocess`` and its worker processes
crop videos without them.
"""
__all__ = ["DaganModel", "SourceState", "load_model"]


def __getattr__(name):
    if name in __all__:
        import dagan.model

        return getattr(dagan.model, name)
    raise AttributeError(f"module 'dagan' has no attribute {name!r}")
