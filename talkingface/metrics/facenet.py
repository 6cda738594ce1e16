"""facenet-pytorch's networks built from the kit's weight files (CSIM's face detector and identity network).

facenet-pytorch (the library DaGAN's ``utils.py`` names) would read MTCNN's P/R/O-Nets from its package folder and
download InceptionResnetV1's VGGFace2 state dict into ``$TORCH_HOME/checkpoints`` on first use. Here nothing is
downloaded: the four files are located through the manifest (``facenet_vggface2``, ``mtcnn_pnet``, ``mtcnn_rnet``,
``mtcnn_onet``; the MTCNN files default to the installed package's copies) and loaded strictly:

* ``build_mtcnn``: ``MTCNN(image_size=256, margin=0)`` as DaGAN makes it (every other argument facenet's default:
  min_face_size 20, thresholds 0.6/0.7/0.7, factor 0.709, post_process, select_largest), its three networks loaded
  from the given state dicts instead of the package folder;
* ``build_inception_resnet``: ``InceptionResnetV1`` with the 8631-class ``logits`` layer the published state dict
  holds (loaded, unused: ``classify`` is False, so the output is the L2-normalised 512-d embedding), eval mode.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from talkingface.errors import KitError, WeightsError
from talkingface.weights import load_state_dict_file, load_state_strict, require_weights

MTCNN_NETS = ("pnet", "rnet", "onet")
VGGFACE2_CLASSES = 8631
MTCNN_ARGS = {"image_size": 256, "margin": 0}       # DaGAN utils.py: MTCNN(image_size=256, margin=0)


def _facenet():
    try:
        import facenet_pytorch
        from facenet_pytorch.models import mtcnn as mtcnn_module
    except ImportError as exc:
        raise KitError(f"csim needs facenet-pytorch (pip install --no-deps facenet-pytorch==2.6.0): {exc}") from exc
    return facenet_pytorch, mtcnn_module


def detector_files(detector_weights=None) -> dict[str, tuple[str, str | os.PathLike | None]]:
    """``{net: (manifest name, given path or None)}`` for MTCNN's three networks. ``detector_weights``: None (the
    manifest's files), a folder holding ``pnet.pt``, ``rnet.pt``, ``onet.pt``, or a mapping ``{"pnet": path, ...}``."""
    if detector_weights is None:
        return {net: (f"mtcnn_{net}", None) for net in MTCNN_NETS}
    if isinstance(detector_weights, Mapping):
        unknown = sorted(set(detector_weights) - set(MTCNN_NETS))
        if unknown:
            raise KitError(f"csim detector_weights: unknown network(s) {', '.join(map(str, unknown))}; "
                           f"known: {', '.join(MTCNN_NETS)}")
        return {net: (f"mtcnn_{net}", detector_weights.get(net)) for net in MTCNN_NETS}
    folder = Path(detector_weights)
    if not folder.is_dir():
        raise WeightsError(f"{folder}: csim detector_weights must be a folder holding pnet.pt, rnet.pt, onet.pt")
    return {net: (f"mtcnn_{net}", folder / f"{net}.pt") for net in MTCNN_NETS}


def require_csim_weights(weights=None, detector_weights=None) -> dict[str, Path]:
    """``{"facenet", "pnet", "rnet", "onet"}`` paths; one WeightsError naming every missing file."""
    return require_weights({"facenet": ("facenet_vggface2", weights), **detector_files(detector_weights)})


def build_mtcnn(files: Mapping[str, Path], device="cpu"):
    """facenet-pytorch ``MTCNN(image_size=256, margin=0)`` whose P/R/O-Nets hold ``files[net]`` (strictly)."""
    import torch

    _, mtcnn_module = _facenet()
    nets = {}
    with torch.random.fork_rng(devices=[]):        # the nets' throw-away init must not move the caller's RNG
        for net, cls in zip(MTCNN_NETS, (mtcnn_module.PNet, mtcnn_module.RNet, mtcnn_module.ONet), strict=True):
            nets[net] = cls(pretrained=False)
    for net in MTCNN_NETS:
        load_state_strict(nets[net], load_state_dict_file(files[net], f"MTCNN {net} state dict"), files[net],
                          f"the MTCNN {net} state dict")
    with torch.random.fork_rng(devices=[]):
        model = mtcnn_module.MTCNN(**MTCNN_ARGS, device=torch.device(device))
    # MTCNN.__init__ loaded its networks from the package folder: ours (the files located above) replace them
    model.pnet, model.rnet, model.onet = nets["pnet"], nets["rnet"], nets["onet"]
    return model.to(device).eval()


def build_inception_resnet(path: str | os.PathLike, device="cpu"):
    """facenet-pytorch ``InceptionResnetV1`` (eval, embedding output) with the state dict of ``path``, strictly."""
    import torch

    facenet_pytorch, _ = _facenet()
    with torch.device("meta"):                      # no random init of 28M parameters that are overwritten
        model = facenet_pytorch.InceptionResnetV1(pretrained=None, classify=True, num_classes=VGGFACE2_CLASSES)
    model.classify = False                          # as pretrained='vggface2' builds it: logits held, not applied
    state = load_state_dict_file(path, "InceptionResnetV1 state dict")
    load_state_strict(model, state, path, "the InceptionResnetV1 (vggface2) state dict",
                      optional_suffixes=(".num_batches_tracked",), assign=True)
    left = [k for k, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if left:                                        # num_batches_tracked absent from the file: facenet's 0
        for key in left:
            module = model.get_submodule(key.rsplit(".", 1)[0])
            module.num_batches_tracked = torch.zeros((), dtype=torch.long)
    model.device = torch.device(device)
    return model.eval().to(device)
