"""The slip catalogue: realistic one-line mistakes and the tests that must catch each (scripts/run_slips.py).

Each :class:`Slip` replaces an exact ``old`` text, which must occur exactly once in ``file``, by ``new`` (so a slip
that no longer applies fails loudly instead of passing), says why a maintainer could plausibly type it, and names the
pytest node ids or paths that must fail with it in place. ``fast`` slips form the CI subset (``--fast``): the
quickest slips of every area, the issue's cheapest among them. docs/slips.md explains the runner and the counting.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Slip:
    id: str
    area: str
    file: str
    old: str
    new: str
    why: str
    tests: tuple[str, ...]
    fast: bool = False


T_MEDIA = "tests/talkingface/test_media.py"
T_SYNC_GOLDEN = "tests/syncnet/test_syncnet_golden.py::test_evaluate_video_equals_syncnet_python"
T_DAGAN_GOLDEN = "tests/dagan/test_dagan_golden.py"
T_DAGAN_DEFAULTS = "tests/dagan/test_dagan_published_defaults.py"
T_NIQE = "tests/metrics/test_niqe.py"
T_LAWDNET_PIPE = "tests/lawdnet/test_lawdnet_pipeline.py"

SLIPS: tuple[Slip, ...] = (
    # --- media: readers and writers ---------------------------------------------------------------------------
    Slip("reader-bgr", "media", "talkingface/media/reader.py",
         'array = frame.to_ndarray(format="rgb24")\n', 'array = frame.to_ndarray(format="bgr24")\n',
         "BGR is OpenCV's habit; a reader ported from cv2 code asks PyAV for bgr24",
         (f"{T_MEDIA}::test_decoding_matches_pinned_ffmpeg_rgb24",), fast=True),
    Slip("read-image-bgr", "media", "talkingface/media/images.py",
         "return np.ascontiguousarray(array[..., :3])", "return np.ascontiguousarray(array[..., 2::-1])",
         "a 'to RGB' flip kept from cv2.imread code although Pillow already gives RGB",
         ("tests/talkingface/test_images.py::test_rgb_png_and_jpeg",)),
    Slip("evaluator-bgr", "media", "talkingface/evaluation/frames.py",
         "yield self._resize(np.asarray(chunk))", "yield self._resize(np.asarray(chunk)[..., ::-1])",
         "the evaluator's frames BGR-swapped 'for OpenCV' (issue): PSNR/SSIM of two swapped videos do not move",
         ("tests/evaluate/test_channels.py",)),
    Slip("frame-at-1based", "media", "talkingface/media/reader.py",
         "for i, frame in enumerate(frames):", "for i, frame in enumerate(frames, start=1):",
         "frame numbers counted from 1 as ffmpeg's %06d.jpg files are: frame_at(i) returns frame i - 1",
         ("tests/dagan/test_pipeline.py::test_best_frame_search_keeps_the_anchor_pixels_it_saw",)),
    Slip("best-frame-1based", "media", "dagan/pipeline.py",
         "best, best_norm = (i, frame), norm", "best, best_norm = (i + 1, frame), norm",
         "the best frame reported 1-based, as a human reads the log, and used as a 0-based index",
         ("tests/dagan/test_pipeline.py::test_find_best_frame_rule_is_the_authors",)),
    Slip("odd-size-zero-pad", "media", "talkingface/media/writer.py",
         'mode="edge")', 'mode="constant")',
         "np.pad's default mode: odd sizes padded with a black column instead of repeating the edge",
         (f"{T_MEDIA}::test_odd_size_is_padded_by_repeating_edge",)),
    Slip("mux-audio-80ms-early", "media", "talkingface/media/writer.py",
         '["-y", "-i", self._tmp_video, "-i", self.audio,',
         '["-y", "-i", self._tmp_video, "-ss", "0.080", "-i", self.audio,',
         "VideoWriter muxes the audio 80 ms early (issue): a hand 'fix' for the 2-frame B-frame delay",
         ("tests/talkingface/test_av_sync.py::test_video_writer_puts_the_click_on_the_flash",), fast=True),
    # --- metrics ----------------------------------------------------------------------------------------------
    Slip("niqe-gray-bt709", "metrics", "talkingface/metrics/niqe.py",
         "_YIQ = ((0.299, 0.587, 0.114),", "_YIQ = ((0.2126, 0.7152, 0.0722),",
         "BT.709 luma instead of the BT.601 Y of YIQ that pyiqa uses",
         (f"{T_NIQE}::test_matches_pyiqa_calibration", f"{T_NIQE}::test_gray_conversions")),
    Slip("niqe-resize-bilinear", "metrics", "talkingface/metrics/niqe.py",
         "x = _half_1d(_half_1d(x, -2), -1)", 'x = F.interpolate(x, scale_factor=0.5, mode="bilinear")',
         "torch's bilinear interpolate in place of MATLAB's antialiased bicubic imresize(0.5)",
         (f"{T_NIQE}::test_matches_pyiqa_calibration",)),
    Slip("niqe-population-cov", "metrics", "talkingface/metrics/niqe.py",
         "correction=1 if len(rows) > 1 else 0)", "correction=0)",
         "population instead of sample covariance of the block features (np.cov's bias=True)",
         (f"{T_NIQE}::test_matches_pyiqa_calibration",)),
    Slip("ssim-sample-cov", "metrics", "talkingface/metrics/fidelity.py",
         "_gaussian_taps(1.5, 3.5), 1.0, 255.0, 1.0", "_gaussian_taps(1.5, 3.5), 121 / 120, 255.0, 1.0",
         "skimage's default use_sample_covariance=True (NP/(NP-1), 11x11 window) kept in the standard protocol",
         ("tests/metrics/test_fidelity.py::test_ssim_equals_skimage",)),
    Slip("psnr-data-range-1", "metrics", "talkingface/metrics/fidelity.py",
         "10 * np.log10((255.0**2) / mse)", "10 * np.log10(1.0 / mse)",
         "the data range of float images (1.0) used on 0..255 pixels",
         ("tests/metrics/test_fidelity.py::test_psnr_equals_skimage",), fast=True),
    Slip("fid-float32-stats", "metrics", "talkingface/metrics/fid.py",
         "feats = np.asarray(feats, dtype=np.float64)", "feats = np.asarray(feats, dtype=np.float32)",
         "statistics accumulated in float32 to halve memory (pytorch-fid's are float64)",
         ("tests/metrics/test_fid.py::test_value_equals_pytorch_fid_given_paths",)),
    Slip("fid-resize-antialias", "metrics", "talkingface/metrics/fid_inception.py",
         'mode="bilinear", align_corners=False)', 'mode="bilinear", align_corners=False, antialias=True)',
         "antialias=True 'because it is better' (torchvision's default for tensors now); pytorch-fid has none",
         ("tests/metrics/test_fid_resize.py",
          "tests/metrics/test_fid.py::test_pool3_features_equal_pytorch_fid_inception")),
    Slip("fid-resize-align-corners", "metrics", "talkingface/metrics/fid_inception.py",
         'mode="bilinear", align_corners=False)', 'mode="bilinear", align_corners=True)',
         "align_corners=True, the setting of older resize code (TF's resize_bilinear)",
         ("tests/metrics/test_fid_resize.py", "tests/metrics/test_fid.py::test_value_equals_pytorch_fid_given_paths")),
    Slip("fid-input-not-scaled", "metrics", "talkingface/metrics/fid_inception.py",
         "        x = 2 * x - 1\n", "",
         "pytorch-fid's normalize_input (to [-1, 1]) forgotten: Inception sees [0, 1]",
         ("tests/metrics/test_fid.py::test_value_equals_pytorch_fid_given_paths",)),
    Slip("lpips-input-01", "metrics", "talkingface/metrics/lpips.py",
         "float() / 127.5 - 1", "float() / 255.0",
         "[0, 1] inputs to lpips, which expects [-1, 1] (normalize=False)",
         ("tests/metrics/test_lpips.py::test_equals_lpips_package",)),
    # --- SyncNet LSE ------------------------------------------------------------------------------------------
    Slip("lse-audio-late-640", "syncnet", "syncnet/protocol.py",
         "    audio_frames = len(audio) // SAMPLES_PER_FRAME\n    if audio_frames < MIN_FRAMES:",
         "    audio = np.concatenate([np.zeros(SAMPLES_PER_FRAME, audio.dtype), audio])   # centre window 0\n"
         "    audio_frames = len(audio) // SAMPLES_PER_FRAME\n    if audio_frames < MIN_FRAMES:",
         "LSE audio delayed by one video frame, 640 samples (issue): padding 'to centre the first window'",
         ("tests/syncnet/test_syncnet_offset.py", T_SYNC_GOLDEN)),
    Slip("syncnet-frames-rgb", "syncnet", "syncnet/protocol.py",
         "                    if size is not None:\n                        img = cv2.resize(img, (size, size))",
         "                    img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)\n"
         "                    if size is not None:\n                        img = cv2.resize(img, (size, size))",
         "the JPEG frames converted to RGB like every other reader of the kit; syncnet_python feeds cv2's BGR",
         (T_SYNC_GOLDEN,)),
    Slip("syncnet-avgpool", "syncnet", "syncnet/model.py",
         "nn.MaxPool2d(kernel_size=(3, 3), stride=(1, 2)),", "nn.AvgPool2d(kernel_size=(3, 3), stride=(1, 2)),",
         "SyncNet's audio stream MaxPool typed as AvgPool (issue): same keys, same shapes, strict load passes",
         (T_SYNC_GOLDEN,), fast=True),
    Slip("lse-last-window", "syncnet", "syncnet/protocol.py",
         "lastframe = min(seen, audio_frames) - WINDOW\n", "lastframe = min(seen, audio_frames) - WINDOW + 1\n",
         "off-by-one 'fix': syncnet_python leaves the last possible 5-frame window out, on purpose here",
         (T_SYNC_GOLDEN,)),
    Slip("lse-vshift-10", "syncnet", "syncnet/protocol.py",
         "VSHIFT = 15\n", "VSHIFT = 10\n",
         "the offset range of another script (+-10) instead of syncnet_python's vshift 15",
         (T_SYNC_GOLDEN,)),
    Slip("mfcc-column-offset", "syncnet", "syncnet/protocol.py",
         "windows = mf.unfold(1, MFCC_WINDOW, MFCC_PER_FRAME)",
         "windows = mf[:, 1:].unfold(1, MFCC_WINDOW, MFCC_PER_FRAME)",
         "the first MFCC column dropped as a 'warm-up' frame: windows 4v+1..4v+20 instead of 4v..4v+19",
         (T_SYNC_GOLDEN,)),
    Slip("lse-c-mean", "syncnet", "syncnet/protocol.py",
         "float(np.median(mdist) - mdist[idx])", "float(np.mean(mdist) - mdist[idx])",
         "LSE-C as mean - min instead of syncnet_python's median - min",
         (T_SYNC_GOLDEN,)),
    Slip("lse-jpeg-qscale-2", "syncnet", "syncnet/protocol.py",
         "qscale: int | None = None,", "qscale: int | None = 2,",
         "run_pipeline's -qscale:v 2 JPEGs used for whole-frame scoring, where evaluate uses ffmpeg's default",
         (T_SYNC_GOLDEN,)),
    Slip("lse-sample-rate-16001", "syncnet", "syncnet/protocol.py",
         "SAMPLE_RATE = 16000\n", "SAMPLE_RATE = 16001\n",
         "a sample rate derived from 640 samples x the probed fps and rounded up: 16001 Hz",
         (T_SYNC_GOLDEN,)),
    Slip("lse-audio-frames-rounded", "syncnet", "syncnet/protocol.py",
         "    audio_frames = len(audio) // SAMPLES_PER_FRAME\n    if audio_frames < MIN_FRAMES:",
         "    audio_frames = round(len(audio) / SAMPLES_PER_FRAME)\n    if audio_frames < MIN_FRAMES:",
         "audio frames rounded instead of floored (syncnet_python: math.floor(len(audio) / 640))",
         ("tests/syncnet/test_syncnet_audio_length.py",)),
    # --- DaGAN ------------------------------------------------------------------------------------------------
    Slip("ddp-lstrip", "dagan", "talkingface/weights/loading.py",
         'k.removeprefix("module.")', 'k.lstrip("module.")',
         "str.lstrip takes a set of characters: 'down.weight' becomes 'wn.weight' (must be a clear error)",
         ("tests/dagan/test_checkpoint.py::test_save_and_load_the_authors_pth_tar",), fast=True),
    Slip("ddp-prefix-kept", "dagan", "dagan/checkpoint.py",
         "    return strip_ddp_prefix(state)\n\n\ndef load_dagan_checkpoint",
         "    return OrderedDict(state)\n\n\ndef load_dagan_checkpoint",
         "the 'module.' prefixes of a DDP-trained checkpoint not stripped (must be a clear error, not a partial load)",
         ("tests/dagan/test_checkpoint.py::test_save_and_load_the_authors_pth_tar",)),
    Slip("kp-num-10", "dagan", "dagan/model.py",
         "kp_num: int | None = 15,", "kp_num: int | None = 10,",
         "the authors' config file says num_kp 10; their published model has 15 (must be a clear error)",
         (f"{T_DAGAN_DEFAULTS}::test_load_model_defaults_load_the_published_model",
          "tests/dagan/test_dagan_cli.py::test_animate_cli_keeps_fps_audio_and_writes_config")),
    Slip("depth-resnet50", "dagan", "dagan/config.py",
         "num_layers: int = 18 ", "num_layers: int = 50 ",
         "monodepth2's ResNet-50 variant instead of the published ResNet-18 depth network",
         ("tests/dagan/test_dagan_model.py::test_config_yaml_is_the_builtin_default_and_the_authors_layout",
          f"{T_DAGAN_DEFAULTS}::test_load_model_defaults_load_the_published_model")),
    Slip("adapt-scale-ignored", "dagan", "dagan/model.py",
         "use_relative_jacobian=relative,\n" + " " * 31 + "adapt_movement_scale=adapt_scale and relative)",
         "use_relative_jacobian=relative)",
         "adapt_scale accepted but not passed on: normalize_kp's default False wins",
         ("tests/dagan/test_dagan_model.py::test_relative_absolute_and_adapt_scale_differ",
          f"{T_DAGAN_GOLDEN}::test_generated_frames_equal_authors")),
    Slip("kp-detector-train-mode", "dagan", "dagan/model.py",
         "self.kp_detector = kp_detector.to(self.device).eval()", "self.kp_detector = kp_detector.to(self.device)",
         ".eval() forgotten: BatchNorm normalises with the batch's statistics at inference",
         (f"{T_DAGAN_GOLDEN}::test_depth_and_keypoints_equal_authors",)),
    Slip("grid-sample-align-corners", "dagan", "dagan/modules/generator.py",
         "deformation.to(inp.dtype), align_corners=False)", "deformation.to(inp.dtype), align_corners=True)",
         "align_corners=True, grid_sample's default before torch 1.3 (when FOMM was written)",
         (f"{T_DAGAN_GOLDEN}::test_generated_frames_equal_authors",)),
    Slip("depth-one-minus-disparity", "dagan", "dagan/model.py",
         "return nets.depth_decoder(nets.depth_encoder(images)).float()",
         "return (1 - nets.depth_decoder(nets.depth_encoder(images))).float()",
         "DaGAN depth as 1 - disparity (issue): 'depth' read literally; the authors feed monodepth2's disparity",
         (f"{T_DAGAN_GOLDEN}::test_depth_and_keypoints_equal_authors",)),
    Slip("resize-no-antialias", "dagan", "dagan/model.py",
         "out = resize(frame, (size, size))", "out = resize(frame, (size, size), anti_aliasing=False)",
         "anti_aliasing=False to match torch's interpolate; the authors' demo uses skimage's default (True)",
         ("tests/dagan/test_dagan_model.py::test_preprocess_is_the_authors_skimage_resize",)),
    Slip("animate-absolute", "dagan", "dagan/pipeline.py",
         "init = model.driving_keypoints(model_frame(pixels, box))", "init = src.kp   # computed once, above",
         "dagan.animate silently uses absolute motion (issue): motion 'relative' to the source's own keypoints",
         (f"{T_DAGAN_DEFAULTS}::test_animate_cli_motion_equals_the_authors",)),
    # --- evaluation -------------------------------------------------------------------------------------------
    Slip("cache-key-without-gt", "evaluation", "talkingface/evaluation/cache.py",
         '"files": [file_stamp(sample.generated), file_stamp(sample.reference), file_stamp(sample.source)],',
         '"files": [file_stamp(sample.generated)],',
         "evaluation cache keyed on the generated file only (issue): a replaced ground truth is not re-scored",
         ("tests/evaluate/test_cache_keys.py::test_replaced_ground_truth_rescores_exactly_that_sample",
          "tests/evaluate/test_cache_keys.py::test_replaced_source_invalidates_its_entry"), fast=True),
    Slip("cache-no-fsync", "evaluation", "talkingface/evaluation/cache.py",
         "            os.fsync(self._fd)\n", "            pass   # os.fsync(self._fd): too slow on network disks\n",
         "evaluation cache skips fsync (issue): a kill or power cut can lose samples reported as done",
         ("tests/evaluate/test_cache_keys.py::test_a_failing_fsync_stops_the_run",), fast=True),
    Slip("self-cross-substring", "evaluation", "talkingface/evalset/layout.py",
         'return "self" if folder_name.endswith(SELF_SUFFIX) else "cross"',
         'return "self" if SELF_SUFFIX in folder_name else "cross"',
         "a substring test for the suffix: generate_self_made is scored against gt_self",
         ("tests/talkingface/test_evalset.py::test_layout_rules",)),
    Slip("fid-reference-sources", "evaluation", "talkingface/evaluation/plan.py",
         "plan.fid_reference = list(ref.values())", "plan.fid_reference = list(src.values())",
         "FID's reference set taken from the source folder instead of the ground truth",
         ("tests/evaluate/test_weights_metrics.py::test_fid_and_lpips_with_weights",)),
    # --- lawdnet: the lip-sync pipeline (python -m lawdnet.infer) --------------------------------------------
    Slip("lawdnet-pingpong-phase", "lawdnet", "lawdnet/template_clip.py",
         "phase = (done // length) % 2", "phase = (done // length + 1) % 2",
         "the ping-pong runs counted from 1: the template starts with the backward run (L-1..0, 0..L-1, ...)",
         (f"{T_LAWDNET_PIPE}::test_length_follows_audio_and_template_plays_back_and_forth",
          "tests/lawdnet/test_template_clip.py::test_pingpong_blocks_follow_the_cycle")),
    Slip("lawdnet-windows-after-align", "lawdnet", "lawdnet/pipeline.py",
         "windows = align_rows(audio_windows(features), frames)",
         "windows = audio_windows(align_rows(features, frames))",
         "rows cut to the frame count before windowing: the last frames see edge padding, not their real context",
         (f"{T_LAWDNET_PIPE}::test_length_follows_audio_and_template_plays_back_and_forth",)),
    Slip("lawdnet-references-0-255", "lawdnet", "lawdnet/template.py",
         "references = (refs / 255.0).numpy().astype(np.float32)", "references = refs.numpy().astype(np.float32)",
         "reference crops left in 0-255 (warp_faces works on pixel values) while the masked source is in [0, 1]",
         (f"{T_LAWDNET_PIPE}::test_references_and_masked_source",), fast=True),
    Slip("lawdnet-mask-not-applied", "lawdnet", "lawdnet/model.py",
         "return self.mask(aligned / 255.0)", "return aligned / 255.0",
         "the mouth mask dropped from the source: the generator sees the template's own mouth and copies it",
         (f"{T_LAWDNET_PIPE}::test_references_and_masked_source",)),
    Slip("lawdnet-paste-alpha-inverted", "lawdnet", "lawdnet/paste.py",
         "region + alpha * (sample - region)", "region + (1 - alpha) * (sample - region)",
         "the blend weight taken for the frame's instead of the crop's: only the seam gets the generated face",
         (f"{T_LAWDNET_PIPE}::test_paste_puts_the_crop_where_the_alignment_took_it",
          "tests/lawdnet/test_paste.py::test_feathered_paste_regions")),
    Slip("lawdnet-cache-key-no-mouth", "lawdnet", "lawdnet/template.py",
         '"video": [size, fingerprint(info.path, size)], "mouth": mouth,',
         '"video": [size, fingerprint(info.path, size)],',
         "the template cache keyed without the mouth size: a 128 run reuses the 64 run's matrices and references",
         (f"{T_LAWDNET_PIPE}::test_cache_is_keyed_by_content_and_settings",), fast=True),
    # --- reports ----------------------------------------------------------------------------------------------
    Slip("best-worst-inverted", "reports", "talkingface/report/examples.py",
         "reverse=not lower)", "reverse=lower)",
         "lower_is_better inverted when ranking samples: the best examples shown as the worst",
         ("tests/report/test_report_readable.py::test_best_worst_only_when_n_allows",), fast=True),
    Slip("fid-eig-symmetric-product", "metrics", "talkingface/metrics/fid.py",
         "    m = root @ sigma2 @ root\n", "    m = sigma1 @ sigma2\n",
         "Σ1 Σ2 taken as it is for the eigenvalues: it is not symmetric, and eigvalsh reads only one triangle",
         ("tests/metrics/test_fid.py::test_the_eigenvalue_trace_equals_pytorch_fids_sqrtm",)),
    # --- the lip-sync service ---------------------------------------------------------------------------------
    Slip("serve-no-drain", "serving", "talkingface/serving/app.py",
         "DRAIN_LIMIT = 16 * 2**20\n", "DRAIN_LIMIT = 0\n",
         "'never read a refused body' taken literally: the connection closes with unread data and the 429 is lost",
         ("tests/serving/test_serving_load.py::test_clients_retrying_after_429_always_get_an_answer",)),
    Slip("serve-wav-header-trusted-to-ffmpeg", "serving", "talkingface/serving/sniff.py",
         'if fmt.name == "wav":  # ffmpeg clamps', 'if False:  # ffmpeg clamps',
         "the container's duration looks enough, but ffmpeg clamps a WAV's declared length to the file's size",
         ("tests/serving/test_serving_api.py",)),
    Slip("serve-content-length-ignored", "serving", "talkingface/serving/uploads.py",
         "if declared is not None and declared.isdigit() and int(declared) > max_bytes + SLACK:",
         "if declared is not None and declared.isdigit() and int(declared) > 2 ** 40:",
         "Content-Length left to the streaming check: a declared 2 GB upload is read up to the limit before 413",
         ("tests/serving/test_serving_api.py::test_a_declared_length_over_the_limit_is_refused_before_the_body",),
         fast=True),
    Slip("lse-d-higher-is-better", "reports", "talkingface/metrics/protocols.py",
         'MetricSpec("lse_d", "video", False, True,', 'MetricSpec("lse_d", "video", False, False,',
         "LSE-D's direction copied from LSE-C's line: reports mark the lower distance as worse",
         ("tests/metrics/test_registry.py::test_table",)),
)


def by_id() -> dict[str, Slip]:
    return {s.id: s for s in SLIPS}


def select(fast: bool = False, only: list[str] | None = None) -> list[Slip]:
    """The slips to run: all, the ``fast`` subset, or the named ids (KeyError naming unknown ones)."""
    if only:
        table = by_id()
        unknown = [i for i in only if i not in table]
        if unknown:
            raise KeyError(f"unknown slip id(s): {', '.join(unknown)}; known: {', '.join(table)}")
        return [table[i] for i in only]
    return [s for s in SLIPS if s.fast or not fast]
