"""Bad input: clear one-line messages, the run goes on, and a non-zero exit only when nothing could be evaluated."""
from __future__ import annotations

import numpy as np
import pytest
from evaluate_helpers import run_by_name, sample_by_name

from talkingface.cli.evaluate import main as evaluate_main
from talkingface.media.images import read_image, write_image


def _cli(base, out, *extra):
    return evaluate_main(["--base_dir", str(base), "--output_path", str(out), "--metrics", "psnr",
                          "--no_progress", *extra])


def test_missing_base_dir(tmp_path, capsys):
    assert _cli(tmp_path / "nope", tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "evaluation set folder not found" in err and "nope" in err


def test_missing_generate_dir_named_and_others_go_on(copy_set, tmp_path, capsys):
    base = copy_set(keep={"generate_base_self"})
    assert _cli(base, tmp_path / "out", "--generate_dirs", "generate_base_self,generate_typo") == 0
    err = capsys.readouterr().err
    assert f"generated folder not found: {base / 'generate_typo'}" in err
    # only the missing folder: nothing to evaluate -> non-zero before anything is written, the line names it
    assert _cli(base, tmp_path / "out2", "--generate_dirs", "generate_typo") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: generate_typo: generated folder not found") and \
        not (tmp_path / "out2").exists()


def test_missing_gt_folder_unmatched_names_and_empty_folder(copy_set, run_eval, tmp_path):
    import shutil

    base = copy_set(keep={"generate_base_self", "generate_base"})
    shutil.rmtree(base / "gt_cross")
    for i in range(6):                                       # 6 generated files without a ground truth
        write_image(base / "generate_base_self" / f"extra{i}.png", read_image(base / "gt_self" / "id0.png"))
    (base / "generate_empty_self").mkdir()
    (base / "generate_empty_self" / "notes.txt").write_text("not media")
    results, log = run_eval(base, ["generate_base_self", "generate_base", "generate_empty_self"])
    text = "\n".join(log)
    assert f"ground-truth folder missing: {base / 'gt_cross'}" in text
    unmatched = next(line for line in log if "have no file of the same name" in line)
    assert "6 of 11 generated file(s)" in unmatched and "extra0.png" in unmatched and "(6 in all)" in unmatched
    assert "ignored 1 file(s) that are neither images nor videos (notes.txt)" in text
    assert f"no images or videos in {base / 'generate_empty_self'}" in text

    self_run = run_by_name(results, "generate_base_self")
    assert self_run["metrics"]["psnr"]["n"] == 5 and self_run["n_evaluated"] == 11
    assert "not computable for 6 of 11" in self_run["metrics"]["psnr"]["note"]
    assert sample_by_name(self_run, "extra3")["not_computable"]["psnr"] == "no ground truth with the same name"
    empty = run_by_name(results, "generate_empty_self")
    assert empty["error"].startswith("no images or videos") and empty["metrics"]["psnr"]["value"] is None


def test_size_mismatch_error_or_resize(copy_set, run_eval, tmp_path):
    import cv2

    base = copy_set(keep={"generate_base_self"})
    gen_path = base / "generate_base_self" / "id1.png"
    write_image(gen_path, cv2.resize(read_image(gen_path), (160, 160), interpolation=cv2.INTER_AREA))
    results, _ = run_eval(base, out=tmp_path / "a")
    run = results["runs"][0]
    s = sample_by_name(run, "id1")
    assert s["values"] == {} and "160x160" in s["error"] and "200x200" in s["error"] and "--resize" in s["error"]
    assert str(gen_path) in s["error"] and str(base / "gt_self" / "id1.png") in s["error"]
    assert run["n_failed"] == 1 and run["metrics"]["psnr"]["n"] == 4

    results, _ = run_eval(base, out=tmp_path / "b", resize=True)
    s = sample_by_name(results["runs"][0], "id1")
    assert s["error"] is None and s["values"]["psnr"] > 20 and "resized from 160x160 to 200x200" in s["notes"][0]


def test_gray_rgba_16bit_and_unreadable(copy_set, run_eval, tmp_path, capsys):
    from PIL import Image
    from skimage.metrics import peak_signal_noise_ratio

    base = copy_set(keep={"generate_base_self"})
    gen = base / "generate_base_self"
    rgb = read_image(gen / "id0.png")
    Image.fromarray(rgb[..., 0]).save(gen / "id0.png")                                   # grayscale
    rgba = np.dstack([read_image(gen / "id1.png"), np.full((200, 200), 128, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(gen / "id1.png")                                   # RGBA
    g16 = (read_image(gen / "id2.png")[..., 1].astype(np.uint16) * 257)
    Image.fromarray(g16).save(gen / "id2.png")                                            # 16-bit gray
    (gen / "v1.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video")       # unreadable

    results, log = run_eval(base, out=tmp_path / "o")
    run = results["runs"][0]
    for i in range(3):
        s = sample_by_name(run, f"id{i}")
        expected = peak_signal_noise_ratio(read_image(base / "gt_self" / f"id{i}.png"), read_image(gen / f"id{i}.png"),
                                           data_range=255)
        assert s["error"] is None and s["values"]["psnr"] == pytest.approx(expected, rel=1e-9)
    bad = sample_by_name(run, "v1")
    assert bad["error"] and "v1.mp4" in bad["error"] and bad["values"] == {}
    assert run["n_failed"] == 1 and run["n_evaluated"] == 4 and run["metrics"]["psnr"]["n"] == 4

    # through the CLI: exit 0, the failure is counted on stderr and in the summary
    assert _cli(base, tmp_path / "cli", "--generate_dirs", "generate_base_self") == 0
    captured = capsys.readouterr()
    assert "1 sample(s) could not be evaluated" in captured.err
    assert "4 of 5 samples evaluated, 1 failed" in captured.out
    summary = (tmp_path / "cli" / "summary.md").read_text()
    assert "## Failed samples (1)" in summary and "v1.mp4" in summary


def test_all_unreadable_is_nonzero(copy_set, tmp_path, capsys):
    base = copy_set(keep={"generate_base"})
    for p in (base / "generate_base").iterdir():
        p.write_bytes(b"garbage")
    assert _cli(base, tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert "nothing could be evaluated (3 sample(s) failed; first:" in err and "id0.png" in err
    assert (tmp_path / "out" / "full_results.json").is_file()            # the errors are still reported


def test_bad_options_are_config_errors(eval_set, tmp_path, capsys):
    assert _cli(eval_set, tmp_path / "o", "--batch_size", "0") == 2
    assert "batch_size: expected a positive integer" in capsys.readouterr().err
    assert evaluate_main(["--base_dir", str(eval_set), "--output_path", str(tmp_path / "o"), "--metrics",
                          "psnr,nique"]) == 2
    err = capsys.readouterr().err
    assert "unknown metric 'nique'" in err and "niqe" in err
    (tmp_path / "pairs.csv").write_text("source,generated\na,b\n")
    assert _cli(eval_set, tmp_path / "o", "--pairs", str(tmp_path / "pairs.csv")) == 2
    assert "needs a 'driving' (or 'gt') column" in capsys.readouterr().err


def test_no_applicable_metric_is_nonzero(copy_set, tmp_path, capsys):
    base = copy_set(keep={"generate_base"})                 # cross-identity images: PSNR is never reported
    assert _cli(base, tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert "nothing could be evaluated (0 sample(s) failed; first: psnr: not reported: cross-identity set" in err
