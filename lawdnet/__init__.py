"""LawDNet (and DINet) lip-sync: a face video + any speech audio -> the same video with the mouth re-synced.

    import lawdnet
    g = lawdnet.load_generator("checkpoint_epoch_170.pth", device="cpu", model="lawdnet")   # or model="dinet"
    out = g(source, reference, audio)     # (B,3,H,W), (B,15,H,W), (B,29,5) -> (B,3,H,W) in [0, 1]

    from lawdnet.features import deepspeech_dp1, deepspeech_dp2, audio_windows

Files and streams: :func:`lawdnet.pipeline.lip_sync_video`; command line: ``python -m lawdnet.infer``.
"""
__all__ = ["load_generator"]


def __getattr__(name):            # lazy: `import lawdnet.features` does not load the networks
    if name == "load_generator":
        from lawdnet.checkpoint import load_generator

        return load_generator
    raise AttributeError(f"module 'lawdnet' has no attribute {name!r}")
