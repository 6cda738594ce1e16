"""The authors' released LawDNet / DINet / DeepSpeech files, when they are in TALKINGFACE_CHECKPOINTS (`pytest -m
weights`).

Each test is skipped, naming the missing file, when its weights are absent (tests never download; see `python -m
talkingface weights status`). The same code runs on every clone with weights the tests make (test_lawdnet_checkpoint,
test_lawdnet_golden, test_features_dp1/dp2). With the real files: strict loads, and checks only trained weights
pass — DeepSpeech must hear the words of the kit's sample speech (a protocol slip in the features turns them into
noise), LawDNet must change the mouth of a real face and leave the rest of the crop close to the input.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.weights
#: what talkingface/data/sample_speech.wav says (scripts/make_sample_speech.sh)
TRANSCRIPT = "talking faces move their lips in time with the words they speak"


def real(name: str):
    from talkingface.weights import weight_path

    path = weight_path(name, required=False)
    if not path.is_file():
        pytest.skip(f"real weights missing: {name} ({path})")
    return path


def greedy(logits: np.ndarray, labels: str, blank: int) -> str:
    """Greedy CTC decoding: best label per row, repeats merged, blanks dropped."""
    best = logits.argmax(axis=1)
    keep = [b for i, b in enumerate(best) if b != blank and (i == 0 or b != best[i - 1])]
    return "".join(labels[b] for b in keep).lower()


def heard(text: str) -> set[str]:
    return set(text.split()) & set(TRANSCRIPT.split())


def test_deepspeech_v01_graph_hears_the_sample():
    """dp1: the DeepSpeech v0.1.0 alphabet is space, a-z, apostrophe, then the CTC blank (index 28)."""
    from lawdnet.features import deepspeech_dp1
    from talkingface import sample

    feats = deepspeech_dp1(sample.SPEECH_WAV, real("deepspeech_graph"))
    text = greedy(feats, " abcdefghijklmnopqrstuvwxyz'", blank=28)
    assert len(heard(text)) >= 3, f"DeepSpeech v0.1 heard {text!r}"


def test_deepspeech_pytorch_hears_the_sample():
    """dp2: deepspeech.pytorch's labels are the blank '_', apostrophe, A-Z, space (blank index 0)."""
    from lawdnet.features import deepspeech_dp2
    from talkingface import sample

    feats = deepspeech_dp2(sample.SPEECH_WAV, real("deepspeech_pytorch_librispeech"))
    text = greedy(feats, "_'ABCDEFGHIJKLMNOPQRSTUVWXYZ ", blank=0)
    assert len(heard(text)) >= 3, f"deepspeech.pytorch heard {text!r}"


@pytest.mark.parametrize("model,entry,mouth", [("lawdnet", "lawdnet_epoch_170", 288),
                                               ("dinet", "dinet_clip_256mouth", 256)])
def test_released_generator_lip_syncs_a_real_face(model, entry, mouth, make_video):
    """The released generator on the sample head's aligned crops with random audio windows: strict load, sane
    output, the mouth region changes with the audio, the upper face stays close to the input."""
    from lawdnet.model import LipSyncModel
    from lawdnet.template import prepare_template
    from lawdnet.template_clip import read_block
    from talkingface.landmarks import make_backend

    lip = LipSyncModel.load(real(entry), model=model, mouth=mouth)
    template = prepare_template(make_video.talking_head(frames=8), make_backend("offline"), mouth=mouth)
    try:
        frames = torch.from_numpy(read_block(template.clip, 0, 4)).permute(0, 3, 1, 2).float()
        aligned = lip.align(frames, torch.from_numpy(template.matrices[:4]))
        refs = lip.reference_stack(template.references).unsqueeze(0).expand(4, -1, -1, -1)
        gen = torch.Generator().manual_seed(0)
        audio_a, audio_b = (torch.randn(4, 29, 5, generator=gen) * 3 for _ in range(2))
        out_a = lip.generate(lip.masked_input(aligned), refs, audio_a)
        out_b = lip.generate(lip.masked_input(aligned), refs, audio_b)
    finally:
        template.close()
    h, w = lip.crop
    assert out_a.shape == (4, 3, h, w) and torch.isfinite(out_a).all()
    mouth_rows = slice(mouth // 2 + mouth // 4, mouth // 2 + mouth)
    upper = slice(0, mouth // 3)
    assert float((out_a - out_b)[:, :, mouth_rows].abs().mean()) > 1e-3, "the audio does not move the mouth"
    assert float((out_a[:, :, upper] - aligned[:, :, upper] / 255).abs().mean()) < 0.08, "the upper face drifts"
