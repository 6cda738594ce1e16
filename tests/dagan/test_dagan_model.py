"""dagan.load_model / DaganModel: the public animate API, the streaming chunk API, preprocessing, config."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from skimage.transform import resize

import dagan
from dagan.checkpoint import save_checkpoint, save_depth_decoder, save_depth_encoder
from dagan.config import DaganConfig, load_dagan_config
from dagan.model import DaganModel, build_depth_network, build_generator, build_kp_detector, normalize_kp, resize_frame
from talkingface.errors import KitError, WeightsError

REPO_ROOT = Path(__file__).resolve().parents[2]
REPO_CONFIG = "config/dagan/vox-adv-256.yaml"


@pytest.fixture(scope="module")
def whole(tiny_model, source_image, driving_frames) -> np.ndarray:
    return tiny_model.animate(source_image, driving_frames, relative=True, adapt_scale=True)


@pytest.fixture(scope="module")
def src_state(tiny_model, source_image):
    return tiny_model.prepare_source(source_image)


@pytest.fixture(scope="module")
def init_kp(tiny_model, driving_frames):
    return tiny_model.driving_keypoints(driving_frames[0])


def test_animate_shape_dtype_range(whole, driving_frames, tiny_model):
    assert whole.shape == (len(driving_frames), 64, 64, 3) and whole.dtype == np.float32
    assert whole.min() >= 0 and whole.max() <= 1
    assert whole.std() > 0.05                           # not a flat image
    assert np.abs(whole[0] - whole[-1]).max() > 1e-2    # frames follow the driving motion
    assert tiny_model.device == torch.device("cpu")


def test_chunked_equals_whole(whole, tiny_model, src_state, init_kp, driving_frames):
    # chunks of 1 and 4 frames; the model's batch_size is 3, so the second chunk is split inside as well
    parts = [tiny_model.animate_chunk(src_state, driving_frames[a:b], kp_driving_initial=init_kp, relative=True,
                                      adapt_scale=True) for a, b in ((0, 1), (1, 5))]
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=2e-5, rtol=0)
    assert src_state.image.shape == (1, 3, 64, 64) and src_state.depth.shape == (1, 1, 64, 64)
    with pytest.raises(ValueError, match="kp_driving_initial"):
        tiny_model.animate_chunk(src_state, driving_frames[:1], relative=True)


def test_relative_absolute_and_adapt_scale_differ(whole, tiny_model, src_state, init_kp, driving_frames):
    frames = driving_frames[2:4]
    absolute = tiny_model.animate_chunk(src_state, frames, relative=False, adapt_scale=False)
    no_adapt = tiny_model.animate_chunk(src_state, frames, init_kp, relative=True, adapt_scale=False)
    assert np.abs(absolute - whole[2:4]).max() > 1e-2
    assert np.abs(no_adapt - whole[2:4]).max() > 1e-3
    # absolute mode ignores adapt_scale (the authors scale only relative motion)
    np.testing.assert_array_equal(tiny_model.animate_chunk(src_state, frames, relative=False, adapt_scale=True),
                                  absolute)


def test_uint8_and_float_inputs_are_equivalent(tiny_model, src_state, source_image, driving_frames):
    drv_u8 = driving_frames[:2]
    drv_f = drv_u8.astype(np.float32) / 255
    np.testing.assert_allclose(tiny_model.preprocess(drv_f).numpy(), tiny_model.preprocess(drv_u8).numpy(),
                               atol=1e-6, rtol=0)
    src_f = tiny_model.prepare_source(source_image / 255.0)  # float64 in [0, 1]
    torch.testing.assert_close(src_f.image, src_state.image, atol=1e-6, rtol=0)
    out_u8 = tiny_model.animate_chunk(src_state, drv_u8[1:], relative=False)
    out_f = tiny_model.animate_chunk(src_f, drv_f[1:], relative=False)
    np.testing.assert_allclose(out_f, out_u8, atol=1e-4, rtol=0)


def test_preprocess_is_the_authors_skimage_resize(tiny_model, driving_frames):
    frame = driving_frames[0]                                   # 120x120 -> 64x64, anti-aliased
    ours = tiny_model.preprocess(frame)
    assert ours.shape == (1, 3, 64, 64) and ours.dtype == torch.float32
    expected = resize(frame, (64, 64))[..., :3].astype(np.float32)
    np.testing.assert_array_equal(ours[0].permute(1, 2, 0).numpy(), expected)
    rgba = np.dstack([frame, np.full(frame.shape[:2], 128, np.uint8)])
    np.testing.assert_array_equal(resize_frame(rgba, 64), resize(rgba, (64, 64))[..., :3].astype(np.float32))
    small = frame[:64, :64]                                      # already the right size: same as resize()
    np.testing.assert_array_equal(resize_frame(small, 64), resize(small, (64, 64)).astype(np.float32))
    grey = resize_frame(frame[..., 0], 64)
    assert grey.shape == (64, 64, 3) and np.array_equal(grey[..., 0], grey[..., 2])


@pytest.mark.parametrize("bad, match", [
    (np.full((2, 32, 32, 3), 255.0), r"\[0, 1\]"),
    (np.zeros((2, 32, 32, 3), np.int16), "dtype int16"),
    (np.zeros((2, 32, 32, 5), np.uint8), "shape"),
    (np.zeros((0, 32, 32, 3), np.uint8), "shape"),
])
def test_bad_frames_raise_kit_errors(tiny_model, bad, match):
    with pytest.raises(KitError, match=match):
        tiny_model.preprocess(bad)


def test_normalize_kp_matches_the_authors_definition():
    torch.manual_seed(0)
    kp_src = {"value": torch.rand(1, 5, 2) - 0.5, "jacobian": torch.eye(2).repeat(1, 5, 1, 1) * 1.5}
    init = {"value": (torch.rand(1, 5, 2) - 0.5) * 0.5, "jacobian": torch.eye(2).repeat(1, 5, 1, 1) * 0.5}
    drv = {"value": init["value"].repeat(3, 1, 1) + 0.1 * torch.rand(3, 5, 2),
           "jacobian": init["jacobian"].repeat(3, 1, 1, 1)}
    rel = normalize_kp(kp_src, drv, init, adapt_movement_scale=False, use_relative_movement=True,
                       use_relative_jacobian=True)
    torch.testing.assert_close(rel["value"], kp_src["value"] + drv["value"] - init["value"])
    torch.testing.assert_close(rel["jacobian"], kp_src["jacobian"].expand(3, 5, 2, 2))
    scaled = normalize_kp(kp_src, drv, init, adapt_movement_scale=True, use_relative_movement=True)
    from scipy.spatial import ConvexHull
    ratio = np.sqrt(ConvexHull(kp_src["value"][0].numpy()).volume / ConvexHull(init["value"][0].numpy()).volume)
    torch.testing.assert_close(scaled["value"], kp_src["value"] + (drv["value"] - init["value"]) * float(ratio))
    assert normalize_kp(kp_src, drv, init)["value"] is drv["value"]  # absolute: driving keypoints as they are


def test_load_model_from_the_authors_files(tmp_path, tiny_nets, tiny_model, source_image, driving_frames):
    gen, kp, enc, dec, disc = tiny_nets
    ckpt = save_checkpoint(tmp_path / "DaGAN.pth.tar", gen, kp, disc,
                           {"generator": torch.optim.Adam(gen.parameters())}, epoch=3, ddp_prefix=True)
    enc_path = save_depth_encoder(tmp_path / "encoder.pth", enc)
    dec_path = save_depth_decoder(tmp_path / "depth.pth", dec)
    cfg = copy.deepcopy(tiny_model.config)
    model = dagan.load_model(ckpt, enc_path, dec_path, config=cfg, kp_num=None, frame_size=64)
    assert isinstance(model, DaganModel) and model.device == torch.device("cpu")
    frames = driving_frames[3:4]
    np.testing.assert_array_equal(model.animate(source_image, frames, relative=False),
                                  tiny_model.animate(source_image, frames, relative=False))
    with pytest.raises(WeightsError, match="pass kp_num=5"):   # the default kp_num=15 is the published model's
        dagan.load_model(ckpt, enc_path, dec_path, config=cfg, frame_size=64)


def test_fp16_on_cpu_warns_and_runs_float32(tiny_nets, tiny_cfg):
    g, k, e, d, _ = tiny_nets
    with pytest.warns(UserWarning, match="fp16 needs a CUDA device"):
        model = DaganModel(g, k, e, d, tiny_cfg, fp16=True, frame_size=64)
    assert model.fp16 is False


def test_config_yaml_is_the_builtin_default_and_the_authors_layout():
    assert load_dagan_config(REPO_CONFIG) == DaganConfig() == load_dagan_config(None)
    with open(REPO_CONFIG) as fh:
        raw = yaml.load(fh, Loader=yaml.FullLoader)  # how the authors' scripts read it
    mp = raw["model_params"]
    assert mp["common_params"] == {"num_kp": 15, "num_channels": 3, "estimate_jacobian": True}
    assert set(mp) == {"common_params", "kp_detector_params", "generator_params", "discriminator_params"}
    assert set(raw) >= {"dataset_params", "train_params", "animate_params", "visualizer_params"}
    over = load_dagan_config(REPO_CONFIG, overrides=["model_params.common_params.num_kp=10"])
    assert over.model_params.common_params.num_kp == 10


def kit_media(folder):
    """A 1024x1024 portrait png (scikit-image's astronaut photo, enlarged) and a 256x256 clip of its face moving
    (talkingface.sample's renderer), written with the kit's own writers: the sizes of the authors' demo media."""
    import cv2
    from skimage.data import astronaut

    from talkingface.media import VideoWriter, write_image
    from talkingface.sample import CLIPS, render_frame

    photo = astronaut()
    source = write_image(folder / "portrait.png", cv2.resize(photo, (1024, 1024), interpolation=cv2.INTER_CUBIC))
    with VideoWriter(folder / "clip.mp4", 25) as writer:
        for i in range(3):
            writer.write(render_frame(photo, i / 25, CLIPS["talk"], 0.3 * i))
    return source, writer.path


@pytest.mark.slow
def test_full_size_model_on_the_real_fixtures(tmp_path, randomise, shared_fixtures):
    """The published model's size on demo-sized media: media the kit makes, plus ../shared/fixtures/dagan (the
    authors' src.png and driving.mp4) when that folder is next to the repository."""
    from talkingface.media import VideoReader, read_image

    cfg = DaganConfig()
    gen, kp = randomise(build_generator(cfg), 1), randomise(build_kp_detector(cfg), 2)
    enc, dec = build_depth_network(cfg)
    save_checkpoint(tmp_path / "DaGAN_vox_adv_256.pth.tar", gen, kp, epoch=149, ddp_prefix=True)
    save_depth_encoder(tmp_path / "encoder.pth", randomise(enc, 3))
    save_depth_decoder(tmp_path / "depth.pth", randomise(dec, 4))
    model = dagan.load_model(tmp_path / "DaGAN_vox_adv_256.pth.tar", tmp_path / "encoder.pth",
                             tmp_path / "depth.pth")
    media = [kit_media(tmp_path)]
    shared = shared_fixtures / "dagan" if shared_fixtures is not None else None
    if shared is not None and (shared / "src.png").is_file() and (shared / "driving.mp4").is_file():
        media.append((shared / "src.png", shared / "driving.mp4"))
    for source_path, driving_path in media:
        source = read_image(source_path)                                  # 1024x1024
        assert source.shape == (1024, 1024, 3)
        with VideoReader(driving_path) as reader:
            driving = next(reader.chunks(1))                              # 256x256
        out = model.animate(source, driving)
        assert out.shape == (1, 256, 256, 3) and out.dtype == np.float32
        assert 0 <= out.min() and out.max() <= 1 and out.std() > 0.01
