"""LawDNet's training datasets: parity with the authors' frame- and clip-stage items (golden npz), the sampling
rules, (seed, epoch, index) reproducibility, and bad training JSONs left out or refused with one-line errors."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from lawdnet.prep import layout
from lawdnet.prep.training_json import build_training_json
from lawdnet.train.dataset import ClipDataset, FrameDataset, read_frame
from lawdnet.train.sampling import SOURCE_FRAMES, ClipDraws, FrameDraws, draw_clip, draw_frame, window
from talkingface.errors import ConfigError, MediaError

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden" / "lawdnet_dataset.npz"


def _scalar(golden, key: str) -> int:
    return int(np.asarray(golden[key]).reshape(-1)[0])


@pytest.fixture(scope="module")
def golden():
    return np.load(GOLDEN)


@pytest.fixture(scope="module")
def data_root(golden_training_root) -> Path:
    """The golden inputs in the authors' layout (the script's ``write_layout``) with the kit's JSON writer."""
    return golden_training_root


@pytest.fixture(scope="module")
def json_path(data_root) -> Path:
    return data_root / layout.JSON


def _variant(json_path: Path, tmp_path: Path, edit) -> Path:
    data = json.loads(json_path.read_text())
    edit(data)
    out = tmp_path / "variant.json"
    out.write_text(json.dumps(data))
    return out


@pytest.mark.parametrize("kind", ["dp1", "dp2"])
@pytest.mark.parametrize("case", [0, 1])
def test_frame_stage_equals_the_authors(golden, json_path, case, kind):
    d = [int(v) for v in golden[f"frame{case}_draws"]]
    data = FrameDataset(json_path, _scalar(golden, f"frame{case}_mouth"), augment_num=2, features=kind)
    item = data.item(_scalar(golden, f"frame{case}_index"), FrameDraws(d[0], d[1], tuple(d[2:7]), tuple(d[7:12])))
    for key, theirs in (("source", "source"), ("references", "references"), ("audio", kind)):
        assert item[key].dtype == np.float32 and item[key].shape == golden[f"frame{case}_{theirs}"].shape
        assert np.array_equal(item[key], golden[f"frame{case}_{theirs}"]), key      # exact: same decoder, resize


@pytest.mark.parametrize("kind", ["dp1", "dp2"])
def test_clip_stage_equals_the_authors(golden, json_path, kind):
    data = ClipDataset(json_path, _scalar(golden, "clip0_mouth"), augment_num=2, features=kind)
    draws = ClipDraws(_scalar(golden, "clip0_source_clip"),
                      tuple(tuple(int(v) for v in row) for row in golden["clip0_reference_clips"]),
                      tuple(tuple(int(v) for v in row) for row in golden["clip0_reference_frames"]))
    item = data.item(_scalar(golden, "clip0_index"), draws)
    assert item["video"] == "a"
    assert np.array_equal(item["source"], golden["clip0_source"])
    assert np.array_equal(item["references"], golden["clip0_references"])
    assert np.array_equal(item["audio"], golden[f"clip0_{kind}"])
    assert item["audio_full"].dtype == np.float32       # theirs float64 (dp1 rows whatever the generator's kind)
    assert np.array_equal(item["audio_full"], golden["clip0_full"].astype(np.float32))


def test_frame_draws_follow_the_rules_and_reach_every_choice():
    rng = np.random.default_rng(0)
    sources, refs, frames = set(), set(), set()
    for _ in range(400):
        d = draw_frame(rng, 7)
        d.check(7)
        assert d.source_clip not in d.reference_clips and len(set(d.reference_clips)) == 5
        sources.add(d.source_frame)
        refs.update(d.reference_clips)
        frames.update(d.reference_frames)
    assert sources == set(SOURCE_FRAMES) and refs == set(range(7)) and frames == set(range(9))
    assert window(2) == slice(0, 5) and window(6) == slice(4, 9)


def test_clip_draws_follow_the_rules():
    rng = np.random.default_rng(1)
    with_source = 0
    for _ in range(200):
        d = draw_clip(rng, 6)
        d.check(6)
        assert len(d.reference_clips) == 5 and all(len(set(a)) == 5 for a in d.reference_clips)
        with_source += any(d.source_clip in a for a in d.reference_clips)
    assert with_source > 0                               # theirs may take references from the source clip


def test_draws_breaking_the_rules_are_refused(json_path):
    data = FrameDataset(json_path, 16, 1)
    with pytest.raises(ValueError, match="source_frame"):
        data.item(0, FrameDraws(0, 7, (1, 2, 3, 4, 5), (0, 0, 0, 0, 0)))
    with pytest.raises(ValueError, match="distinct"):
        data.item(0, FrameDraws(0, 2, (0, 2, 3, 4, 5), (0, 0, 0, 0, 0)))


def test_items_audio_is_the_source_frames_window(golden, json_path):
    frame = FrameDataset(json_path, 16, 3, seed=5, features="dp2")
    for index in range(len(frame)):
        d, item = frame.draws(index), frame[index]
        rows = golden[f"dp2_{item['video']}"][d.source_clip]
        assert np.array_equal(item["audio"], rows[window(d.source_frame)].T.astype(np.float32))
    clip = ClipDataset(json_path, 16, 1, seed=5)
    d, item = clip.draws(1), clip[1]
    rows = golden["dp2_b"][d.source_clip]
    assert np.array_equal(item["audio"], np.stack([rows[window(f)].T for f in SOURCE_FRAMES]).astype(np.float32))
    assert np.array_equal(item["audio_full"], golden["dp1_b"][d.source_clip].T.astype(np.float32))
    assert item["source"].shape == (5, 3, 26, 20) and item["references"].shape == (5, 15, 26, 20)


def test_length_and_reproducible_by_seed_epoch_index(json_path):
    data = FrameDataset(json_path, 16, augment_num=3, seed=7)
    assert len(data) == 6 and [data.video(i).name for i in range(6)] == ["a", "b"] * 3
    first = [data.draws(i) for i in range(6)]
    again = FrameDataset(json_path, 16, augment_num=3, seed=7)
    assert [again.draws(i) for i in reversed(range(6))][::-1] == first          # call order does not matter
    assert np.array_equal(again[4]["references"], data[4]["references"])
    data.set_epoch(1)
    assert [data.draws(i) for i in range(6)] != first
    data.set_epoch(0)
    assert [data.draws(i) for i in range(6)] == first
    assert [FrameDataset(json_path, 16, 3, seed=8).draws(i) for i in range(6)] != first
    with pytest.raises(IndexError):
        data[6]


def test_items_collate_into_training_batches(json_path):
    import torch
    from torch.utils.data import DataLoader

    batch = next(iter(DataLoader(ClipDataset(json_path, 16, 2), batch_size=2)))
    assert batch["source"].shape == (2, 5, 3, 26, 20) and batch["audio_full"].shape == (2, 29, 9)
    assert batch["references"].dtype == torch.float32 and batch["video"] == ["a", "b"]


def test_no_resize_at_the_crop_size_rgb_in_0_1(data_root, json_path):
    import cv2

    frame = data_root / layout.CROPS / "a" / "000000" / "000000.jpg"
    image = read_frame(frame, (52, 40))                  # mouth 32 -> 52 x 40: the file's own size
    assert np.array_equal(image, (cv2.imread(str(frame))[:, :, ::-1] / 255.0).astype(np.float32))
    assert FrameDataset(json_path, 32, 1)[0]["source"].shape == (3, 52, 40)


def test_relative_frame_paths_from_frames_root(data_root, tmp_path):
    videos = sorted(json.loads((data_root / layout.JSON).read_text()))
    summary = build_training_json(data_root, videos, path_root=".", json_name="relative.json")
    data = FrameDataset(summary["path"], 16, 1, frames_root=data_root)
    assert data[0]["source"].shape == (3, 26, 20)


def test_missing_frames_and_short_features_are_left_out(json_path, tmp_path, caplog):
    def edit(data):
        clips = data["a"]["clip_data_list"]
        clips[1]["frame_path_list"][4] = clips[1]["frame_path_list"][4].replace(".jpg", "_gone.jpg")
        data["b"]["clip_data_list"][2]["deep_speech_dp2_list"] = data["b"]["clip_data_list"][2][
            "deep_speech_dp2_list"][:7]
        del data["b"]["clip_data_list"][0]["deep_speech_dp2_list"]
    variant = _variant(json_path, tmp_path, edit)
    with caplog.at_level(logging.WARNING, logger="lawdnet.train.dataset"):
        data = FrameDataset(variant, 16, 2, features="dp2")
    reasons = dict(data.skipped)
    assert reasons["a#clip1"].endswith("/a/000001/000013_gone.jpg missing")
    assert reasons["b#clip2"] == "deep_speech_dp2_list has 7 rows, fewer than the clip's 9 frames"
    assert reasons["b#clip0"] == "no deep_speech_dp2_list (dp2 features)"
    assert reasons["b"].startswith("4 usable clips, fewer than 6")
    assert [v.name for v in data.videos] == ["a"] and len(data.videos[0].clips) == 6 and len(data) == 2
    assert data.draws(1).check(6) is None                # draws index the usable clips
    assert len(caplog.records) == 1 and "left out 4 entries" in caplog.records[0].getMessage()
    assert FrameDataset(variant, 16, 2, features="dp1").skipped == [("a#clip1", reasons["a#clip1"])]
    with pytest.raises(ConfigError, match="variant.json: no usable video"):
        ClipDataset(_variant(variant, tmp_path, lambda d: d.pop("a")), 16, 1)


def test_corrupt_frame_is_a_media_error_naming_it(data_root, json_path, tmp_path):
    data = json.loads(json_path.read_text())
    bad = tmp_path / "corrupt.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    for clip in data["b"]["clip_data_list"]:
        clip["frame_path_list"] = [str(bad)] * 9
    variant = tmp_path / "corrupt.json"
    variant.write_text(json.dumps(data))
    ds = FrameDataset(variant, 16, 1)
    with pytest.raises(MediaError, match="corrupt.jpg: not a decodable image") as err:
        ds[1]
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("text, message", [
    ("{not json", "not a readable training JSON"),
    ("[]", "not a training JSON"),
    ("{}", "no usable video .*it is empty"),
    ('{"v": {"clip_data_list": []}}', "no usable video .*v: 0 usable clips"),
    ('{"v": 3}', "no usable video .*v: no clip_data_list"),
])
def test_bad_json_is_a_one_line_config_error(tmp_path, text, message):
    path = tmp_path / "train.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as err:
        FrameDataset(path, 64, 1)
    assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)


def test_bad_settings_are_config_errors(json_path, tmp_path):
    with pytest.raises(ConfigError, match="no such training JSON"):
        FrameDataset(tmp_path / "missing.json", 64, 1)
    with pytest.raises(ConfigError, match="multiple of 8"):
        FrameDataset(json_path, 60, 1)
    with pytest.raises(ConfigError, match="augment_num"):
        ClipDataset(json_path, 64, 0)
    with pytest.raises(ConfigError, match="features must be one of"):
        FrameDataset(json_path, 64, 1, features="dp3")
