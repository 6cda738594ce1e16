"""SyncNet and syncnet_python's LSE-D / LSE-C protocol, reproduced exactly and run fast (docs/lse_protocol.md).

    import syncnet
    r = syncnet.evaluate_video("clip.mp4", "checkpoints/syncnet/syncnet_v2.model", device="cpu")
    r.lse_d, r.lse_c, r.offset, r.distances   # distances[j] is offset 15 - j (syncnet_python's order)
"""
from syncnet.evaluate import evaluate_video
from syncnet.model import SyncNet, load_syncnet, save_syncnet
from syncnet.protocol import SyncNetResult

__all__ = ["evaluate_video", "SyncNetResult", "load_syncnet", "save_syncnet", "SyncNet"]
