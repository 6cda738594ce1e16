"""DaGAN's training dataset and augmentation: id sampling, sorted frame pairs, (seed, epoch, index) draws, mp4 and
PNG-folder clips, parity with the authors' augmentation (golden npz), and one-line errors on bad input."""
from __future__ import annotations

import logging
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from dagan.train.augment import (
    JITTER_OPS,
    AugmentationParams,
    FlipDraw,
    JitterDraw,
    apply_flip,
    apply_jitter,
    draw_flip,
    to_float32,
)
from dagan.train.dataset import Clip, DatasetRepeater, EvalPairs, FramesDataset, read_frames
from talkingface.errors import ConfigError, MediaError
from talkingface.media import VideoReader, write_image

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden" / "dagan_augment.npz"
SHAPE = (32, 32, 3)
FRAMES = 12


def _frame(i: int, width: int = 32, height: int = 32) -> np.ndarray:
    """The synthetic frames of the suite's make_video (smooth colour waves), any size."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    t = i / 25.0
    r = 128 + 90 * np.sin(2 * np.pi * (x / width + 0.5 * t))
    g = 128 + 90 * np.cos(2 * np.pi * (y / height - 0.3 * t))
    b = 128 + 60 * np.sin(2 * np.pi * ((x + y) / (width + height) + t))
    return np.stack([r, g, b], axis=-1).round().astype(np.uint8)


def _png_clip(folder: Path, frames: int = FRAMES, size: tuple[int, int] = (32, 32), offset: int = 0) -> Path:
    folder.mkdir(parents=True)
    for i in range(frames):
        write_image(folder / f"{i:07d}.png", _frame(i + offset, *size))
    return folder


@pytest.fixture(scope="module")
def data_root(tmp_path_factory, make_video) -> Path:
    """train: id ``a`` (2 mp4 + 1 frame folder), ``ab`` (1 mp4), ``b`` (1 folder); test: ``t`` (mp4 + folder)."""
    root = tmp_path_factory.mktemp("dagan_data")
    clip = make_video(frames=FRAMES, size=(32, 32))
    for name in ("a#v1#0#11.mp4", "a#v2#0#11.mp4", "ab#v#0#11.mp4"):
        (root / "train").mkdir(exist_ok=True)
        shutil.copy(clip, root / "train" / name)
    _png_clip(root / "train" / "a#v3#0#11.mp4")
    _png_clip(root / "train" / "b#v#0#11.mp4", offset=3)
    (root / "test").mkdir()
    shutil.copy(clip, root / "test" / "t#v#0#11.mp4")
    _png_clip(root / "test" / "t#w#0#11.mp4")
    return root


def _frame_index(frame_chw: np.ndarray, offset: int = 0) -> int:
    """Which synthetic frame a PNG-folder item holds (exact match)."""
    image = np.rint(frame_chw.transpose(1, 2, 0) * 255).astype(np.uint8)
    hits = [i for i in range(FRAMES) if np.array_equal(image, _frame(i + offset))]
    assert len(hits) == 1
    return hits[0]


def test_id_sampling_items_are_identities_and_reach_every_clip(data_root):
    data = FramesDataset(data_root, id_sampling=True, frame_shape=SHAPE)
    assert data.items == ["a", "ab", "b"] and len(data) == 3
    names = Counter()
    for i in range(300):
        item = data[i]
        assert item["name"].split("#")[0] == data.items[i % 3]     # "a" never takes "ab"'s clip (exact prefix)
        names[item["name"]] += 1
    assert set(names) == {p.name for p in (data_root / "train").iterdir()}
    assert min(names[f"a#v{k}#0#11.mp4"] for k in (1, 2, 3)) > 15    # ~33 each of the 100 draws of "a"


def test_without_id_sampling_items_are_clips(data_root):
    data = FramesDataset(data_root, id_sampling=False, frame_shape=SHAPE)
    assert len(data) == 5 and [data[i]["name"] for i in range(5)] == data.items == sorted(data.items)


def test_pairs_are_sorted_drawn_with_replacement_and_shaped(data_root):
    data = FramesDataset(data_root, id_sampling=False, frame_shape=SHAPE)
    folder = data.items.index("b#v#0#11.mp4")
    pairs = []
    for k in range(150):
        item = data[folder + 5 * k]                               # every 5th index is the folder clip
        assert item["source"].shape == (3, 32, 32) and item["source"].dtype == np.float32
        assert item["source"].flags.c_contiguous and 0 <= item["driving"].min() <= item["driving"].max() <= 1
        pairs.append((_frame_index(item["source"], 3), _frame_index(item["driving"], 3)))
    assert all(s <= d for s, d in pairs)
    assert any(s == d for s, d in pairs)                          # with replacement, as the authors'
    assert len({s for s, _ in pairs}) > 6


def test_draws_depend_on_seed_epoch_index_only(data_root):
    aug = AugmentationParams.vox_adv_256()
    one = FramesDataset(data_root, frame_shape=SHAPE, augmentation=aug, seed=3)
    two = FramesDataset(data_root, frame_shape=SHAPE, augmentation=aug, seed=3)
    for i in (7, 0, 4):
        a, b = one[i], two[i]
        assert a["name"] == b["name"] and np.array_equal(a["source"], b["source"])
        assert np.array_equal(a["driving"], b["driving"])
    before = [one[i]["driving"] for i in range(6)]
    one.set_epoch(1)
    after = [one[i]["driving"] for i in range(6)]
    assert not all(np.array_equal(x, y) for x, y in zip(before, after, strict=True))
    one.set_epoch(0)
    assert all(np.array_equal(one[i]["driving"], before[i]) for i in range(6))
    other_seed = FramesDataset(data_root, frame_shape=SHAPE, augmentation=aug, seed=4)
    assert not all(np.array_equal(other_seed[i]["driving"], before[i]) for i in range(6))


def test_batches_do_not_depend_on_the_worker_count(data_root):
    import torch

    data = DatasetRepeater(FramesDataset(data_root, frame_shape=SHAPE, augmentation={
        "flip_param": {"horizontal_flip": True, "time_flip": True}, "jitter_param": dict.fromkeys(JITTER_OPS, 0.1)}),
        4)
    data.set_epoch(2)
    runs = [list(torch.utils.data.DataLoader(data, batch_size=4, num_workers=w)) for w in (0, 2)]
    for x, y in zip(*runs, strict=True):
        assert x["name"] == y["name"] and torch.equal(x["source"], y["source"])
        assert torch.equal(x["driving"], y["driving"])


def test_repeater(data_root):
    base = FramesDataset(data_root, frame_shape=SHAPE)
    data = DatasetRepeater(base, 5)
    assert len(data) == 15
    data.set_epoch(7)
    assert base.epoch == 7
    names = [data[i]["name"].split("#")[0] for i in range(15)]
    assert Counter(names) == {"a": 5, "ab": 5, "b": 5}
    firsts = [data[3 * r]["source"] for r in range(5)]             # identity "a", five repeats: own draws
    assert len({x.tobytes() for x in firsts}) > 1
    with pytest.raises(IndexError):
        data[15]
    with pytest.raises(ConfigError):
        DatasetRepeater(base, 0)


def test_mp4_and_folder_frames_are_read_exactly(data_root, make_video):
    clip = make_video(frames=FRAMES, size=(32, 32))
    expected = np.stack(list(VideoReader(clip)))
    mp4 = Clip(data_root / "train" / "a#v1#0#11.mp4", FRAMES, False)
    for indices in ([0, 11], [4, 4], [11, 2], [5, 6]):
        assert np.array_equal(read_frames(mp4, indices, SHAPE), expected[indices])
    folder = Clip(data_root / "train" / "a#v3#0#11.mp4", FRAMES, True)
    assert np.array_equal(read_frames(folder, [3, 9], SHAPE)[1], _frame(9))
    assert np.array_equal(_frame(9), make_video.frame(9, 32, 32))


def test_mp4_seek_reads_match_sequential_decoding_across_key_frames(make_video, tmp_path):
    clip = make_video(frames=300, size=(64, 64))
    expected = np.stack(list(VideoReader(clip)))
    c = Clip(clip, 300, False)
    for indices in ([0, 299], [59, 60], [61, 250], [120, 121], [298, 1], [150, 150]):
        assert np.array_equal(read_frames(c, indices, (64, 64, 3)), expected[indices]), indices


def _golden_draws(g, i: int) -> tuple[FlipDraw, JitterDraw, bool]:
    u1, u2 = g["u"][i]
    flip = FlipDraw(time=True) if u1 < 0.5 else FlipDraw(horizontal=bool(u2 < 0.5))
    factors = {n: (None if np.isnan(v) else float(v))
               for n, v in zip(("brightness", "contrast", "saturation", "hue"), g["factors"][i], strict=True)}
    enabled = [n for n in JITTER_OPS if factors[n] is not None]
    order = tuple(enabled[p] for p in g["perm"][i] if p >= 0)
    return flip, JitterDraw(**factors, order=order), bool(enabled)


def test_augmentation_matches_the_authors_bit_for_bit():
    g = np.load(GOLDEN)
    assert len(g["u"]) == 8
    for i in range(len(g["u"])):
        flip, jitter, jittered = _golden_draws(g, i)
        out = apply_jitter(np.ascontiguousarray(apply_flip(g["frames"], flip)), jitter)
        assert np.array_equal(out, g["out"][i]), f"case {i}"
        if f"out_float_{i}" in g:
            assert np.array_equal(to_float32(out, jittered), g[f"out_float_{i}"]), f"case {i} float32"


def test_augmentation_params_and_flip_odds():
    vox = {"flip_param": {"horizontal_flip": True, "time_flip": True},
           "jitter_param": {"brightness": 0.1, "contrast": 0.1, "saturation": 0.1, "hue": 0.1}}
    assert AugmentationParams.from_dict(vox) == AugmentationParams.vox_adv_256()
    for bad in ({"rotation_param": {"degrees": 5}}, {"jitter_param": {"gamma": 1}}, {"jitter_param": {"hue": 0.7}}):
        with pytest.raises(ConfigError):
            AugmentationParams.from_dict(bad)
    rng = np.random.default_rng(0)
    draws = Counter(draw_flip(AugmentationParams.vox_adv_256(), rng) for _ in range(4000))
    assert FlipDraw(True, True) not in draws                      # the authors' RandomFlip returns after a time flip
    assert abs(draws[FlipDraw(time=True)] / 4000 - 0.5) < 0.03
    assert abs(draws[FlipDraw(horizontal=True)] / 4000 - 0.25) < 0.03


def test_eval_pairs_are_fixed_distinct_frames(data_root):
    pairs = EvalPairs(data_root, split="test", pairs=6, seed=1, frame_shape=SHAPE)
    assert len(pairs) == 6 and pairs.pairs == EvalPairs(data_root, "test", 6, 1, SHAPE).pairs
    assert all(s != d for _, s, d in pairs.pairs) and {c for c, _, _ in pairs.pairs} == {0, 1}
    item = pairs[0]
    assert set(item) == {"source", "driving", "name"} and item["name"].startswith("t#")
    assert item["source"].shape == (3, 32, 32) and item["source"].dtype == np.float32


def _one_line(exc_info, *needles: str) -> None:
    text = str(exc_info.value)
    assert "\n" not in text
    for needle in needles:
        assert needle in text, text


def test_missing_or_unsplit_or_empty_data_folder(tmp_path):
    with pytest.raises(ConfigError) as e:
        FramesDataset(tmp_path / "nope")
    _one_line(e, str(tmp_path / "nope"), "no such data folder")
    (tmp_path / "train").mkdir()
    with pytest.raises(ConfigError) as e:
        FramesDataset(tmp_path)
    _one_line(e, str(tmp_path), "train/ and test/")
    (tmp_path / "test").mkdir()
    with pytest.raises(ConfigError) as e:
        FramesDataset(tmp_path)
    _one_line(e, str(tmp_path / "train"), "no usable clips")


def test_short_and_unreadable_clips_are_left_out_with_a_warning(tmp_path, make_video, caplog):
    (tmp_path / "test").mkdir()
    train = tmp_path / "train"
    _png_clip(train / "x#one#0#0.mp4", frames=1)
    shutil.copy(make_video(frames=1, size=(32, 32)), train / "y#one#0#0.mp4")
    (train / "z#junk#0#9.mp4").write_bytes(b"not a video at all" * 10)
    with caplog.at_level(logging.WARNING), pytest.raises(ConfigError) as e:
        FramesDataset(tmp_path, frame_shape=SHAPE)
    _one_line(e, str(train), "no usable clips", "3 left out")
    _png_clip(train / "x#ok#0#11.mp4")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        data = FramesDataset(tmp_path, frame_shape=SHAPE)
    assert data.items == ["x"] and [name for name, _ in data.skipped] == sorted(
        ["x#one#0#0.mp4", "y#one#0#0.mp4", "z#junk#0#9.mp4"])
    assert "1 frame, a pair needs 2" in dict(data.skipped)["y#one#0#0.mp4"]
    warning = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "left out 3" in warning and "z#junk#0#9.mp4" in warning and "x#one#0#0.mp4" in warning


def test_corrupt_frame_or_video_raises_naming_the_file(tmp_path, make_video):
    (tmp_path / "test").mkdir()
    folder = _png_clip(tmp_path / "train" / "x#v#0#11.mp4")
    data = FramesDataset(tmp_path, frame_shape=SHAPE)
    for png in folder.iterdir():
        png.write_bytes(png.read_bytes()[:60])                    # truncated PNGs
    with pytest.raises(MediaError) as e:
        data[0]
    _one_line(e, str(folder / "0000000.png")[:-5])
    shutil.rmtree(folder)
    mp4 = tmp_path / "train" / "x#v#0#11.mp4"
    shutil.copy(make_video(frames=FRAMES, size=(32, 32)), mp4)
    data = FramesDataset(tmp_path, frame_shape=SHAPE)
    mp4.write_bytes(mp4.read_bytes()[: mp4.stat().st_size // 2])  # damaged after the index was built
    with pytest.raises(MediaError) as e:
        for i in range(10):
            data[i]
    _one_line(e, str(mp4))


def test_frames_of_another_size_are_refused(tmp_path, make_video):
    (tmp_path / "test").mkdir()
    folder = _png_clip(tmp_path / "train" / "y#v#0#11.mp4", size=(40, 32))
    shutil.copy(make_video(frames=FRAMES, size=(64, 48)), tmp_path / "test" / "x#v#0#11.mp4")
    with pytest.raises(MediaError) as e:
        EvalPairs(tmp_path, frame_shape=SHAPE)
    _one_line(e, "x#v#0#11.mp4", "64x48", "32x32")
    data = FramesDataset(tmp_path, frame_shape=SHAPE)
    with pytest.raises(MediaError) as e:
        data[0]
    _one_line(e, str(folder), ".png", "40x32")
    with pytest.raises(ConfigError):
        FramesDataset(tmp_path, frame_shape=(32, 32))
