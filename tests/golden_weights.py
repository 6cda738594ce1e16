"""Formula weights for the golden tests: every tensor a closed-form function of its key and flat index (no RNG).

Shared by ``scripts/make_golden.py`` (which runs the authors' code on them) and the golden tests (which run the kit
on them); both write the files with the kit's savers in the authors' formats and load them through each side's own
loading path. Regenerating gives bit-identical tensors on every machine and torch version: only integer arithmetic
(uint32, wrapping), an exact conversion to float32 and one IEEE-rounded float32 multiply (and add) per value are
involved (the Gaussian anti-alias kernels use float64 ``exp`` of a 13-value table, then one rounding to float32).

    u(key, i) = (fmix32(i * 0x9E3779B1 + fmix32(crc32(key))) >> 8) * 2**-23 - 1     in [-1, 1), exact in float32
    fmix32 = MurmurHash3's finaliser; key = "<network>/<state-dict key>" (e.g. "generator/first.conv.weight")

Each key then gets (``RULES`` says the same in words, and goes into the golden provenance):

* conv / linear weights (ndim > 1): ``gain * sqrt(3 / fan_in) * u`` (std gain / sqrt(fan_in)); gain 1 except
  DaGAN's ``kp.weight`` 5 (heatmaps peaked enough for keypoints to spread, smooth enough to move and to stay
  well-conditioned), ``jacobian.weight`` 0.05, ``final.weight`` 5 (outputs span [0, 1]);
* biases: ``0.1 * sqrt(3) * u``; norm weights (1-D ``*.weight``): ``1 + 0.1 * sqrt(3) * u``;
* BatchNorm ``running_mean`` ``0.1 * sqrt(3) * u``, ``running_var`` ``1 + 0.5 * u``, ``num_batches_tracked`` 0;
* DaGAN: the attention's ``gamma`` 0.7 (attention on), ``jacobian.bias`` the identity per keypoint, the anti-alias
  buffers ``down.weight`` the normalised 13x13 Gaussian (sigma 1.5) the modules compute;
* SyncNet: both output biases (``netfclip.3.bias``, ``netfcaud.3.bias``) the same ``5 * sqrt(3) * u`` under the key
  ``syncnet/output.bias`` (norm ~160) and the output weights' gains 0.02 (lip) / 0.05 (audio), so that both
  embeddings sit near that shared bias with content of norm ~13 that varies from window to window: lip and audio
  lie ~15 apart, the zero-padded audio rows ~160 away, and the 31 mean distances vary with offset.
"""
from __future__ import annotations

import hashlib
import math
import zlib
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

FORMULA_NAME = "fmix32-uniform/v1"
DAGAN_GAINS = {"kp.weight": 5.0, "jacobian.weight": 0.05, "final.weight": 5.0}
DAGAN_FIXED = {"gamma": 0.7}
ANTIALIAS_KEYS = {"kp_detector": ("down.weight",), "generator": ("dense_motion_network.down.weight",)}
ANTIALIAS_SCALE = 0.25
SYNCNET_SHARED_BIAS = ("netfclip.3.bias", "netfcaud.3.bias")
SYNCNET_GAINS = {"netfclip.3.weight": 0.02, "netfcaud.3.weight": 0.05}
SYNCNET_BIAS_STD = 5.0
BIAS_STD, NORM_STD, RUNNING_MEAN_STD, RUNNING_VAR_HALF_WIDTH = 0.1, 0.1, 0.1, 0.5

RULES = {
    "name": FORMULA_NAME,
    "uniform": "u = (fmix32(i * 0x9E3779B1 + fmix32(crc32(key))) >> 8) * 2**-23 - 1, i = flat index (C order), "
               "key = '<network>/<state-dict key>', uint32 wrapping arithmetic; fmix32 = MurmurHash3 finaliser; "
               "values = offset + float32(scale) * u in float32",
    "weights (ndim > 1)": "gain * sqrt(3 / fan_in) * u, fan_in = numel / shape[0]",
    "dagan gains": DAGAN_GAINS,
    "biases": f"{BIAS_STD} * sqrt(3) * u",
    "norm weights (1-D *.weight)": f"1 + {NORM_STD} * sqrt(3) * u",
    "running_mean": f"{RUNNING_MEAN_STD} * sqrt(3) * u",
    "running_var": f"1 + {RUNNING_VAR_HALF_WIDTH} * u",
    "num_batches_tracked": 0,
    "dagan gamma": DAGAN_FIXED["gamma"],
    "dagan jacobian.bias": "[1, 0, 0, 1] per keypoint",
    "dagan anti-alias down.weight": f"normalised Gaussian, sigma (1/{ANTIALIAS_SCALE} - 1) / 2, float64 then float32",
    "syncnet output biases": f"netfclip.3.bias = netfcaud.3.bias = {SYNCNET_BIAS_STD} * sqrt(3) * "
                             "u('syncnet/output.bias')",
    "syncnet gains": SYNCNET_GAINS,
}


def fmix32(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser on a uint32 array (wrapping arithmetic)."""
    x = np.asarray(x, dtype=np.uint32).copy()
    x ^= x >> 16
    x *= np.uint32(0x85EBCA6B)
    x ^= x >> 13
    x *= np.uint32(0xC2B2AE35)
    x ^= x >> 16
    return x


def uniform(key: str, n: int) -> np.ndarray:
    """``n`` float32 values in [-1, 1) (multiples of 2**-23, all exact), a closed-form function of ``key`` and the
    flat index."""
    seed = fmix32(np.array([zlib.crc32(key.encode("utf-8"))], dtype=np.uint32))
    x = np.arange(n, dtype=np.uint32) * np.uint32(0x9E3779B1) + seed
    u = (fmix32(x) >> 8).astype(np.float32)
    u *= np.float32(2.0 ** -23)
    u -= np.float32(1.0)
    return u


def _affine(u: np.ndarray, scale: float, offset: float = 0.0) -> np.ndarray:
    """``offset + scale * u`` in float32 (scale rounded to float32 once; one rounding per operation)."""
    out = u * np.float32(scale)
    if offset:
        out += np.float32(offset)
    return out


def _tensor(values: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    values = np.ascontiguousarray(values.reshape(tuple(like.shape)), dtype=np.float32)
    return torch.from_numpy(values).to(like.dtype)


def antialias_kernel(channels: int, size: int, scale: float = ANTIALIAS_SCALE) -> np.ndarray:
    """The (channels, 1, size, size) Gaussian of the authors' AntiAliasInterpolation2d, in float64 (cast later)."""
    sigma = (1 / scale - 1) / 2
    if size != 2 * round(sigma * 4) + 1:
        raise ValueError(f"anti-alias kernel of size {size} does not match scale {scale}")
    g = np.array([math.exp(-((j - (size - 1) / 2) ** 2) / (2 * sigma ** 2)) for j in range(size)])
    kernel = np.outer(g, g)
    kernel = kernel / kernel.sum()
    return np.broadcast_to(kernel, (channels, 1, size, size))


def _common(full_key: str, key: str, t: torch.Tensor, gain: float = 1.0) -> np.ndarray:
    n = t.numel()
    if key.endswith("num_batches_tracked"):
        return np.zeros(n)
    u = uniform(full_key, n)
    if key.endswith("running_mean"):
        return _affine(u, RUNNING_MEAN_STD * math.sqrt(3))
    if key.endswith("running_var"):
        return _affine(u, RUNNING_VAR_HALF_WIDTH, 1.0)
    if t.ndim > 1:
        return _affine(u, gain * math.sqrt(3.0 / (n // t.shape[0])))
    if key.endswith("weight"):
        return _affine(u, NORM_STD * math.sqrt(3), 1.0)
    return _affine(u, BIAS_STD * math.sqrt(3))


def dagan_state(net: str, state: Mapping[str, torch.Tensor]) -> OrderedDict[str, torch.Tensor]:
    """Formula values for a DaGAN network's state dict (``net``: generator, kp_detector, depth_encoder,
    depth_decoder); keys and shapes are taken from ``state`` (non-tensor entries are dropped)."""
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for key, t in state.items():
        if not isinstance(t, torch.Tensor):
            continue
        if key in ANTIALIAS_KEYS.get(net, ()):
            values = antialias_kernel(t.shape[0], t.shape[-1])
        elif key.rsplit(".", 1)[-1] in DAGAN_FIXED:
            values = np.full(t.numel(), DAGAN_FIXED[key.rsplit(".", 1)[-1]])
        elif key == "jacobian.bias":
            values = np.tile([1.0, 0.0, 0.0, 1.0], t.numel() // 4)
        else:
            values = _common(f"{net}/{key}", key, t, DAGAN_GAINS.get(key, 1.0))
        out[key] = _tensor(values, t)
    return out


def syncnet_state(state: Mapping[str, torch.Tensor]) -> OrderedDict[str, torch.Tensor]:
    """Formula values for SyncNet (syncnet_python's ``S``) state-dict keys and shapes."""
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for key, t in state.items():
        if key in SYNCNET_SHARED_BIAS:
            values = _affine(uniform("syncnet/output.bias", t.numel()), SYNCNET_BIAS_STD * math.sqrt(3))
        else:
            values = _common(f"syncnet/{key}", key, t, SYNCNET_GAINS.get(key, 1.0))
        out[key] = _tensor(values, t)
    return out


def _fill(module: torch.nn.Module, state: Mapping[str, torch.Tensor]) -> torch.nn.Module:
    """Load ``state`` strictly; a module built on the meta device takes the tensors themselves (no copy)."""
    meta = any(t.is_meta for t in module.state_dict().values())
    module.load_state_dict(state, strict=True, assign=meta)
    left = [k for k, t in [*module.named_parameters(), *module.named_buffers()] if t.is_meta]
    if left:
        raise RuntimeError(f"tensors not in the state dict stayed on the meta device: {left[:5]}")
    return module.eval()


def state_digest(states: Mapping[str, Mapping[str, torch.Tensor]]) -> str:
    """sha256 over ``{network: state dict}``: names, dtypes, shapes and little-endian bytes, in sorted order
    (independent of torch's file format, so the golden can record which weights it was made with)."""
    h = hashlib.sha256()
    for net in sorted(states):
        for key in sorted(states[net]):
            t = states[net][key].detach().cpu().contiguous()
            h.update(f"{net}/{key}|{t.dtype}|{tuple(t.shape)}\n".encode())
            a = t.numpy()
            h.update(a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes())
    return h.hexdigest()


def write_dagan_files(folder: str | Path) -> tuple[dict[str, Path], str]:
    """The published DaGAN configuration (vox-adv-256, kp_num 15, ResNet-18 depth) with formula weights, written
    with the kit's savers in the authors' formats: (``{"checkpoint", "depth_encoder", "depth_decoder"}`` paths,
    :func:`state_digest` of the four networks)."""
    from dagan.checkpoint import save_checkpoint, save_depth_decoder, save_depth_encoder
    from dagan.config import load_dagan_config
    from dagan.model import build_depth_network, build_generator, build_kp_detector

    folder = Path(folder)
    cfg = load_dagan_config(None)
    cfg.model_params.common_params.num_kp = 15
    with torch.device("meta"):          # no random init to compute and overwrite
        generator, kp_detector = build_generator(cfg), build_kp_detector(cfg)
        encoder, decoder = build_depth_network(cfg)
    with torch.no_grad():
        nets = {"generator": generator, "kp_detector": kp_detector, "depth_encoder": encoder,
                "depth_decoder": decoder}
        for name, net in nets.items():
            _fill(net, dagan_state(name, net.state_dict()))
    files = {"checkpoint": folder / "dagan_formula.pth.tar", "depth_encoder": folder / "encoder.pth",
             "depth_decoder": folder / "depth.pth"}
    save_checkpoint(files["checkpoint"], generator, kp_detector)
    save_depth_encoder(files["depth_encoder"], encoder)
    save_depth_decoder(files["depth_decoder"], decoder)
    return files, state_digest({name: net.state_dict() for name, net in nets.items()})


def write_syncnet_file(path: str | Path) -> tuple[Path, str]:
    """SyncNet with formula weights in the syncnet_v2.model format (plain state dict, no num_batches_tracked):
    (path, :func:`state_digest` of what was written)."""
    from syncnet.model import SyncNet, save_syncnet

    with torch.random.fork_rng(devices=[]), torch.no_grad():
        model = SyncNet()
        _fill(model, syncnet_state(model.state_dict()))
    path = save_syncnet(model, path)
    written = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    return path, state_digest({"syncnet": written})


GOLDEN = Path(__file__).resolve().parent / "data" / "golden"


def load_golden(name: str) -> tuple[dict, dict[str, np.ndarray]]:
    """``tests/data/golden/<name>.json`` and the arrays of ``<name>.npz``: what the authors' code gave."""
    import json

    doc = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    with np.load(GOLDEN / f"{name}.npz") as npz:
        return doc, {k: npz[k] for k in npz.files}


# ------------------------------------------------------------------------------------------------ LawDNet / DINet
#: per-network gains on the generic weight rule (keys after the ``module.`` prefix); chosen so that the golden
#: outputs are neither flat nor saturated, the attention is peaked and the warps move (checks in lawdnet.json)
LAWDNET_GAINS: dict[str, dict[str, float]] = {
    "lawdnet": {"out_conv.4.weight": 6.0, "cross_attention.query_proj.weight": 3.0,
                **{f"lawLayer_list.{i}.{layer}.0.weight": 4.0 for i in range(2)
                   for layer in ("kpoints_normalized_layer", "similarity_params_layer", "radius_layer")}},
    "dinet": {"out_conv.4.weight": 5.0, "adaAT.scale.0.weight": 3.0, "adaAT.rotation.0.weight": 3.0,
              "adaAT.translation.0.weight": 3.0},
    "net_dI": {}, "net_dV": {}}
#: LawDNet's learned positional encodings: ``std * sqrt(3) * u`` (the authors initialise them with randn)
LAWDNET_POSITIONAL = ("cross_attention.positional_encoding_video", "cross_attention.positional_encoding_audio")
LAWDNET_POSITIONAL_STD = 1.0
LAWDNET_RULES = {
    **{k: v for k, v in RULES.items() if not k.startswith(("dagan", "syncnet"))},
    "key": "'<network>/<state-dict key>' with network lawdnet | dinet | net_dI | net_dV and the key without "
           "'module.'",
    "gains": LAWDNET_GAINS,
    "positional encodings": f"{LAWDNET_POSITIONAL_STD} * sqrt(3) * u",
}


def lawdnet_state(net: str, state: Mapping[str, torch.Tensor]) -> OrderedDict[str, torch.Tensor]:
    """Formula values for a LawDNet-family state dict (``net``: lawdnet, dinet, net_dI, net_dV)."""
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for key, t in state.items():
        if key in LAWDNET_POSITIONAL:
            values = _affine(uniform(f"{net}/{key}", t.numel()), LAWDNET_POSITIONAL_STD * math.sqrt(3))
        else:
            values = _common(f"{net}/{key}", key, t, LAWDNET_GAINS[net].get(key, 1.0))
        out[key] = _tensor(values, t)
    return out


def lawdnet_networks(model: str = "lawdnet") -> dict[str, torch.nn.Module]:
    """``{"net_g", "net_dI"[, "net_dV"]}`` with formula weights (net_dV for LawDNet's checkpoint_epoch format)."""
    from lawdnet.checkpoint import build_generator
    from lawdnet.modules.discriminator import Discriminator

    with torch.device("meta"):
        nets = {"net_g": build_generator(model), "net_dI": Discriminator(3)}
        if model == "lawdnet":
            nets["net_dV"] = Discriminator(15)
    with torch.no_grad():
        for name, net in nets.items():
            _fill(net, lawdnet_state(model if name == "net_g" else name, net.state_dict()))
    return nets


def write_lawdnet_file(path: str | Path, model: str = "lawdnet") -> tuple[Path, str]:
    """The generator ``model`` with formula weights in the authors' format (LawDNet: checkpoint_epoch_N.pth with
    net_dI and net_dV; DINet: netG_model_epoch_N.pth with net_dI), written by ``lawdnet.checkpoint.save_checkpoint``:
    (path, :func:`state_digest` of the generator's state dict)."""
    from lawdnet.checkpoint import save_checkpoint

    nets = lawdnet_networks(model)
    kind = "checkpoint_epoch" if model == "lawdnet" else "netG_model_epoch"
    path = save_checkpoint(path, nets["net_g"], nets["net_dI"], nets.get("net_dV"), epoch=0, kind=kind)
    return path, state_digest({model: nets["net_g"].state_dict()})


LAWDNET_INPUTS = {
    "batch": "2 samples with the same images and different audio windows",
    "images": "uint8, channel c of (source 3 | references 15), row i, column j: t = (i * (1 + 7c mod 5) + "
              "j * (2 + 3c mod 4) + 11c) mod 64, tri = |t - 32| / 32, v = float32(0.75 tri + 0.125 (u + 1)) "
              "with u = uniform('input/<source|reference>/<mouth>', n) over the (C, H, W) array in C order, "
              "pixel = floor(255 v); images are pixel / 255 as float32",
    "mask": "source rows [m/2, m/2 + m), columns [m/8, m/8 + m) set to 0 (the authors' mouth mask, m = mouth)",
    "audio": "float32 (2, 29, 5): 3 * uniform('input/audio', 290) (a DeepSpeech-logit-like range)",
}


def _pattern(name: str, channels: int, h: int, w: int) -> np.ndarray:
    c = np.arange(channels, dtype=np.int64).reshape(-1, 1, 1)
    i = np.arange(h, dtype=np.int64).reshape(1, -1, 1)
    j = np.arange(w, dtype=np.int64).reshape(1, 1, -1)
    t = (i * (1 + (7 * c) % 5) + j * (2 + (3 * c) % 4) + 11 * c) % 64
    tri = (np.abs(t - 32).astype(np.float32) / np.float32(32)).astype(np.float32)
    u = uniform(name, channels * h * w).reshape(channels, h, w)
    v = tri * np.float32(0.75) + (u + np.float32(1)) * np.float32(0.125)
    return np.floor(v * np.float32(255)).astype(np.uint8)


def lawdnet_inputs(mouth: int) -> dict[str, np.ndarray]:
    """The golden's inputs for a mouth size, as ``LAWDNET_INPUTS`` says: ``source`` (3, H, W) and ``reference``
    (15, H, W) uint8 (shared by the 2 samples), ``audio`` (2, 29, 5) float32."""
    from lawdnet.config import crop_size

    h, w = crop_size(mouth)
    source = _pattern(f"input/source/{mouth}", 3, h, w)
    source[:, mouth // 2:mouth // 2 + mouth, mouth // 8:mouth // 8 + mouth] = 0
    reference = _pattern(f"input/reference/{mouth}", 15, h, w)
    audio = _affine(uniform("input/audio", 2 * 29 * 5), 3.0).reshape(2, 29, 5)
    return {"source": source, "reference": reference, "audio": audio}


def lawdnet_batch(mouth: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(source (2, 3, H, W), references (2, 15, H, W), audio (2, 29, 5)) float32 tensors from lawdnet_inputs."""
    arrays = lawdnet_inputs(mouth)
    src = torch.from_numpy(arrays["source"].astype(np.float32) / np.float32(255)).unsqueeze(0).repeat(2, 1, 1, 1)
    ref = torch.from_numpy(arrays["reference"].astype(np.float32) / np.float32(255)).unsqueeze(0).repeat(2, 1, 1, 1)
    return src, ref, torch.from_numpy(arrays["audio"].copy())
