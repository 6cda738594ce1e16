"""Hand-made full_results.json dicts for the report tests: provenance, integrity, many runs and metrics, long notes.

``handmade()`` holds six runs over nine metrics:

* ``generate_dagan_self`` — RANDOM WEIGHTS (dagan), flagged: 3 requested, 1 evaluated, 2 failed, 1 fps mismatch;
  FID 0.0 (the number that must never look like a result);
* ``generate_dagan`` — RANDOM WEIGHTS, cross-identity (PSNR/SSIM/LPIPS not reported);
* ``generate_baseline_self`` — the baseline, 40 samples (a histogram), clean data checks;
* ``generate_baseline`` — ``provenance: None`` (no manifest in the generated folder);
* ``generate_lawdnet_hdtf_finetune_epoch120_self`` — a real checkpoint with a label too long for a table cell;
* ``generate_old_self`` — written before provenance/integrity existed (neither key).

Every metric that lacks weights carries the runner's real note: a long sentence with an absolute path.
"""
from __future__ import annotations

import copy

import numpy as np

from talkingface.metrics.protocols import SPECS

CKPT = "/work/main/checkpoints"
WEIGHTS_NOTE = {"lpips": f"weights missing: {CKPT}/torchvision/alexnet-owt-7be5be79.pth, see `python -m talkingface "
                         "weights status`",
                "lse_c": f"weights missing: {CKPT}/syncnet/syncnet_v2.model, see `python -m talkingface weights "
                         "status`",
                "lse_d": f"weights missing: {CKPT}/syncnet/syncnet_v2.model, see `python -m talkingface weights "
                         "status`"}
CROSS = "not reported: cross-identity set (needs a same-identity ground truth)"
EXTRA = {"akd": "AKD: mean L2 distance of face-alignment 68 landmarks between generated and driving frames, px",
         "aed": "AED: mean L2 distance of ArcFace identity embeddings between generated and source, unit norm"}
METRICS = ("niqe", "psnr", "ssim", "lpips", "fid", "lse_c", "lse_d", "akd", "aed")
RANDOM_PROV = {"random_weights": True, "label": "RANDOM WEIGHTS — not the authors' model", "model": "dagan",
               "checkpoints": [{"name": "dagan_vox_random.pth.tar", "sha256": "ab" * 32},
                               {"name": "depth_encoder_random.pth", "sha256": None}],
               "settings": {"kp_num": 15, "relative": True, "adapt_scale": True, "seed": 0}, "kit_version": "0.1.0"}
LAWDNET_LABEL = "authors' checkpoint_epoch_120.pth, HDTF fine-tune (LawDNet, 2024 release, 256 px)"


def _integrity(requested, evaluated, failed, flagged=False, fps=0, length=0, dropped=0, notes=()):
    return {"requested": requested, "evaluated": evaluated, "failed": failed, "dropped_pairs": dropped,
            "fps_mismatch": fps, "length_mismatch": length, "flagged": flagged, "notes": list(notes)}


def _entry(name, values, mode, note=None):
    spec = SPECS.get(name)
    lower = spec.lower_is_better if spec else True
    entry = {"value": None, "std": None, "n": 0, "protocol": spec.protocol if spec else EXTRA[name],
             "lower_is_better": lower, "kind": spec.kind if spec else "image", "note": note}
    if note and note.startswith(("weights", "not reported")):
        return entry
    if spec and spec.full_reference and mode == "cross":
        return dict(entry, note=CROSS)
    vals = np.asarray(values, dtype=np.float64)
    entry.update(value=float(vals.mean()), std=float(vals.std()), n=len(vals), n_frames=25 * len(vals))
    return entry


def make_run(name, n, seed, mode="self", provenance=None, integrity=None, failed=0, fid=12.3456,
             old=False) -> dict:
    """One run of ``n`` scored samples (+ ``failed`` failed ones) with plausible values for every metric."""
    rng = np.random.default_rng(seed)
    per = {"niqe": rng.normal(5.5, 0.6, n), "psnr": rng.normal(24, 2, n), "ssim": rng.uniform(0.6, 0.9, n),
           "akd": rng.uniform(1, 4, n), "aed": rng.uniform(0.1, 0.3, n)}
    samples = [{"sample": f"id{i:02d}", "generated": f"/data/{name}/id{i:02d}.mp4",
                "reference": f"/data/gt_{mode}/id{i:02d}.mp4", "source": f"/data/source_{mode}/id{i:02d}.png",
                "same_identity": mode == "self", "n_frames": 25, "error": None,
                "values": {k: float(v[i]) for k, v in per.items() if mode == "self" or k not in ("psnr", "ssim")},
                "not_computable": {}, "notes": []} for i in range(n)]
    samples += [{"sample": f"bad{i}", "generated": f"/data/{name}/bad{i}.mp4", "reference": None, "source": None,
                 "n_frames": 0, "error": "cannot decode: moov atom not found", "values": {}, "not_computable": {}}
                for i in range(failed)]
    metrics = {m: _entry(m, per.get(m, []), mode, WEIGHTS_NOTE.get(m)) if m != "fid" else None for m in METRICS}
    metrics["fid"] = {"value": fid, "std": None, "n": 25 * n, "n_reference": 25 * n, "protocol": SPECS["fid"].protocol,
                      "lower_is_better": True, "kind": "set",
                      "note": f"N = {25 * n} < 2048 frames: FID is biased upwards at small N (pytorch-fid warns)"}
    run = {"name": name, "mode": mode, "generated_dir": f"/data/{name}", "reference_dir": f"/data/gt_{mode}",
           "source_dir": f"/data/source_{mode}", "n_samples": n + failed, "n_failed": failed, "n_evaluated": n,
           "n_frames": 25 * n, "error": None, "warnings": [], "metrics": metrics, "samples": samples}
    if not old:
        run["provenance"] = provenance
        run["integrity"] = integrity or _integrity(n + failed, n, failed)
    return run


def handmade() -> dict:
    runs = [
        make_run("generate_dagan_self", 1, 1, provenance=RANDOM_PROV, failed=2, fid=0.0,
                 integrity=_integrity(3, 1, 2, flagged=True, fps=1,
                                      notes=["id01: generated at 30 fps, ground truth at 25 fps (re-timed)"])),
        make_run("generate_dagan", 3, 2, mode="cross", provenance=RANDOM_PROV, fid=0.0),
        make_run("generate_baseline_self", 40, 3, provenance={
            "random_weights": False, "label": None, "model": "baseline", "checkpoints": [],
            "settings": {"frame": "source"}, "kit_version": "0.1.0"}),
        make_run("generate_baseline", 3, 4, mode="cross", provenance=None,
                 integrity=_integrity(4, 3, 0, flagged=True, dropped=1, length=2,
                                      notes=["pairs.csv row 4: driving file missing, pair dropped"])),
        make_run("generate_lawdnet_hdtf_finetune_epoch120_self", 7, 5, provenance={
            "random_weights": False, "label": LAWDNET_LABEL, "model": "lawdnet",
            "checkpoints": [{"name": "checkpoint_epoch_120.pth", "sha256": "cd" * 32}], "settings": {},
            "kit_version": "0.1.0"}),
        make_run("generate_old_self", 2, 6, old=True),
    ]
    return {"kit_version": "0.1.0", "created": "2026-01-01T00:00:00+00:00",
            "environment": {"python": "3.11.7", "torch": "2.12.1", "device": "cpu", "ffmpeg": "n9.0.2"},
            "args": {}, "runs": runs}


def only(results: dict, *names: str) -> dict:
    """A deep copy of ``results`` with only the named runs."""
    out = copy.deepcopy(results)
    out["runs"] = [r for r in out["runs"] if r["name"] in names]
    return out
