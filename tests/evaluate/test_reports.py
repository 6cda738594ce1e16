"""Report files: schema, CSV, text/markdown tables, a self-contained HTML page, the `report` comparison CLI."""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def result_dir(eval_set, tmp_path_factory):
    """One evaluated folder shared by this module's tests (read-only): self + cross runs, one broken sample."""
    import shutil

    from talkingface.evaluation import evaluate

    base = tmp_path_factory.mktemp("reports") / "evaluation_set"
    shutil.copytree(eval_set, base)
    (base / "generate_base_self" / "id2.png").write_bytes(b"broken")
    out = base.parent / "res_a"
    results = evaluate(base, None, out, metrics=["niqe", "psnr", "ssim"], report_examples=2, progress=False,
                       batch_size=4, log=lambda line: None)
    return out, results


def test_report_files(result_dir):
    out, results = result_dir
    for name in ("full_results.json", "per_sample.csv", "summary.md", "evaluation_summary.txt", "report.html",
                 "paper_table.md", "config.resolved.yaml", "results_cache.jsonl"):
        assert (out / name).is_file(), name
    data = json.loads((out / "full_results.json").read_text())
    assert data["kit_version"] and data["environment"]["device"] == "cpu" and data["environment"]["ffmpeg"]
    assert data["args"]["metrics"] == ["niqe", "psnr", "ssim"] and data["n_failed"] == 1
    run = next(r for r in data["runs"] if r["name"] == "generate_base_self")
    psnr = run["metrics"]["psnr"]
    assert set(psnr) >= {"value", "std", "n", "n_frames", "protocol", "lower_is_better", "kind", "note"}
    sample = run["samples"][0]
    assert set(sample) >= {"sample", "generated", "reference", "source", "n_frames", "error", "values",
                           "not_computable"}

    rows = list(csv.DictReader((out / "per_sample.csv").open()))
    assert len(rows) == 5 + 3 and {"run", "label", "sample", "psnr", "ssim", "niqe", "error"} <= set(rows[0])
    broken = next(r for r in rows if r["sample"] == "id2" and r["run"] == "generate_base_self")
    assert broken["error"] and broken["psnr"] == ""
    ok = next(r for r in rows if r["sample"] == "id0" and r["run"] == "generate_base_self")
    assert float(ok["psnr"]) == next(s for s in run["samples"] if s["sample"] == "id0")["values"]["psnr"]

    text = (out / "evaluation_summary.txt").read_text()
    assert re.search(r"generate_base_self  \[[^]]+\]  \(self; 4 of 5 samples evaluated, 1 failed", text)
    assert "  data checks: " in text and "  provenance: " in text
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("psnr") and "4" in ln)
    assert f"{psnr['value']:.2f}" in line and re.search(r"\[\d+\]", line)          # value, N and protocol mark
    assert "PSNR on RGB uint8" in text and "not reported: cross-identity set" in text

    md = (out / "summary.md").read_text()
    assert f"{psnr['value']:.2f} ± {psnr['std']:.4f} (N=4) [" in md and "## Failed samples (1)" in md
    assert "| run | label | mode | samples | failed |" in md and "## Runs: provenance and data checks" in md

    paper = (out / "paper_table.md").read_text()
    assert "| Method |" in paper and "PSNR ↑" in paper and "NIQE ↓" in paper
    assert "| generate_base_self (" in paper and f" {psnr['value']:.2f} " in paper

    cfg = yaml.safe_load((out / "config.resolved.yaml").read_text())
    assert cfg["metrics"] == ["niqe", "psnr", "ssim"] and cfg["report_examples"] == 2


def test_html_is_self_contained(result_dir):
    out, results = result_dir
    page = (out / "report.html").read_text()
    assert "http://" not in page and "https://" not in page and "<script" not in page and "<link" not in page
    srcs = re.findall(r"src=['\"]([^'\"]*)", page)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "url(" not in page
    assert page.count("<svg") >= 3                                          # a plot per metric and run
    assert page.count("every one a dot") >= 3                               # N <= 30: strip plots
    assert "PSNR on RGB uint8" in page and "<span class='n'>N=4</span>" in page
    assert "ranked by psnr (higher is better" in page and "ranked by niqe (lower is better" in page
    assert "all samples (N too small for best/worst)" in page               # N = 4 < 2·2 + 1
    assert "Failed samples (1)" in page and "id2.png" in page
    # thumbnails are at most 256 px per panel: decode one and check
    import base64

    import cv2
    import numpy as np

    png = base64.b64decode(srcs[0].split(",", 1)[1])
    img = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert img.shape[0] <= 256 and img.shape[1] <= 3 * 256 + 8


def test_real_report_keeps_the_layout_rules(result_dir, tmp_path):
    """The static rules always; the headless-Chromium check at 1366 px when chromium is on PATH."""
    import importlib.util
    import shutil

    spec = importlib.util.spec_from_file_location("check_report_layout", REPO / "scripts" / "check_report_layout.py")
    layout = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(layout)
    out, _ = result_dir
    assert layout.static_problems((out / "report.html").read_text()) == []
    if shutil.which("chromium"):
        m, problems = layout.check(out / "report.html", width=1366)
        assert problems == [] and m["page_width"] <= 1366


def test_report_cli_compares_folders(result_dir, copy_set, run_eval, tmp_path, capsys):
    from talkingface.__main__ import main as dispatch

    out_a, _ = result_dir
    base = copy_set(keep={"generate_base"})
    out_b = tmp_path / "res_b"
    run_eval(base, out=out_b, metrics=["psnr", "ssim"], ssim_protocol="fomm")
    assert dispatch(["report", str(out_a), str(out_b), "--output", str(tmp_path / "cmp.html")]) == 0
    md = capsys.readouterr().out
    assert "| results | run | label |" in md and "| res_a | generate_base_self |" in md
    assert "| res_b | generate_base |" in md
    assert "SSIM standard" in md and "SSIM fomm" not in md              # fomm SSIM has no value on a cross run
    page = (tmp_path / "cmp.html").read_text()
    assert "res_a" in page and "res_b" in page and "http" not in page
    assert dispatch(["report", str(out_a), str(out_b), "--output", str(tmp_path / "cmp.md")]) == 0
    assert (tmp_path / "cmp.md").read_text().startswith("# Evaluation comparison")
    capsys.readouterr()
    assert dispatch(["report", str(out_a), str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err
    assert "nothing" in err and "no evaluation results here" in err


def test_report_cli_flags_protocol_clash(result_dir, copy_set, run_eval, tmp_path, capsys):
    from talkingface.cli.report import main

    out_a, _ = result_dir
    base = copy_set(keep={"generate_base_self"})
    run_eval(base, out=tmp_path / "res_c", metrics=["ssim"], ssim_protocol="fomm")
    assert main([str(out_a), str(tmp_path / "res_c")]) == 0
    assert "ssim was computed with different protocols" in capsys.readouterr().out


def test_default_yaml_matches_dataclass():
    from talkingface.config import load_config, to_dict
    from talkingface.evaluation.config import EvaluateConfig

    assert to_dict(load_config(REPO / "config" / "evaluate" / "default.yaml", EvaluateConfig)) == to_dict(
        EvaluateConfig())


def test_cli_help_documents_every_flag(capsys):
    from talkingface.cli.evaluate import build_parser

    for action in build_parser()._actions:
        assert action.help, action.dest
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    assert "--fid_max_frames_per_video" in capsys.readouterr().out
