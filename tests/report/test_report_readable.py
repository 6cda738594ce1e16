"""A report people can read: plots that say something at any N, best/worst only when N allows, the paper table,
and a comparison that names each run by its results folder, generated folder and label."""
from __future__ import annotations

import json
import re

from report_results import handmade, make_run, only

from talkingface.report.examples import ALL_LABEL, example_groups, examples_html
from talkingface.report.html import distributions, render_html
from talkingface.report.paper import paper_table_markdown
from talkingface.report.plots import STRIP_MAX_N, metric_plot


def test_strip_plot_small_n_histogram_large_n_and_n0():
    strip = metric_plot([1.0, 2.0, 2.0], "psnr — run")
    assert strip.count("<circle") == 3 and "mean 1.6667" in strip and "N=3 samples, every one a dot" in strip
    assert "<rect" not in strip
    edge = metric_plot(list(range(STRIP_MAX_N)), "x")
    assert edge.count("<circle") == STRIP_MAX_N
    hist = metric_plot([float(i % 7) for i in range(STRIP_MAX_N + 1)], "x")
    assert "<circle" not in hist and hist.count("<rect") == 12 and f"N={STRIP_MAX_N + 1} samples" in hist
    one = metric_plot([5.0], "x")
    assert one.count("<circle") == 1 and "N=1 sample," in one
    assert "N = 0" in metric_plot([], "x") and "N = 0" in metric_plot([None, float("nan")], "x")


def test_distributions_per_metric():
    runs = handmade()["runs"]
    page = distributions(runs)
    assert "<h3>fid ↓ lower is better</h3><p class='small'>a set metric" in page
    assert "<h3>lpips ↓ lower is better</h3><p class='small'>N = 0 in every run" in page
    psnr = page.split("<h3>psnr")[1].split("<h3>")[0]
    assert psnr.count("N = 0: no per-sample values") == 2                  # the two cross-identity runs say so
    assert "N=40 samples, mean in red" in psnr and "N=7 samples, every one a dot" in psnr
    assert "generate_dagan_self (RANDOM WEIGHTS)" in psnr


def _names(groups):
    return [[s["sample"] for s in group] for _, group in groups]


def test_best_worst_only_when_n_allows():
    for n, k in ((1, 3), (3, 3), (6, 3), (2, 1)):
        run = make_run("r", n, seed=n)
        metric, groups = example_groups(run, k)
        assert metric == "psnr" and [label for label, _ in groups] == [ALL_LABEL]
        values = [s["values"]["psnr"] for s in groups[0][1]]
        assert len(values) == n and values == sorted(values, reverse=True)      # higher is better: best first
    for n, k in ((7, 3), (3, 1), (40, 3)):
        run = make_run("r", n, seed=n)
        _, groups = example_groups(run, k)
        best, worst = _names(groups)
        assert len(best) == len(worst) == k and not set(best) & set(worst)
    niqe_only = make_run("r", 7, seed=1, mode="cross")                     # ranked by niqe: lower is better
    metric, groups = example_groups(niqe_only, 3)
    assert metric == "niqe" and groups[0][1][0]["values"]["niqe"] == min(
        s["values"]["niqe"] for s in niqe_only["samples"] if not s["error"])
    html = examples_html(make_run("r", 3, seed=3), 3)
    assert ALL_LABEL in html and "best 3" not in html and html.count("<figure>") == 3


def test_paper_table_values_arrows_n_and_random_marks():
    results = handmade()
    paper = paper_table_markdown([("", results)])
    header = next(ln for ln in paper.splitlines() if ln.startswith("| Method"))
    for col in ("NIQE ↓", "PSNR ↑", "SSIM ↑", "LPIPS ↓", "FID ↓", "LSE-C ↑", "LSE-D ↓", "AKD ↓", "AED ↓"):
        assert col in header, col
    base = next(r for r in results["runs"] if r["name"] == "generate_baseline_self")
    row = next(ln for ln in paper.splitlines() if ln.startswith("| generate_baseline_self (baseline) ["))
    cells = [c.strip() for c in row.strip("|").split(" | ")]
    assert cells[2] == f"{base['metrics']['psnr']['value']:.2f}"              # PSNR: 2 decimals
    assert cells[3] == f"{base['metrics']['ssim']['value']:.3f}"              # SSIM: 3 decimals
    assert cells[5].startswith(f"{base['metrics']['fid']['value']:.2f} [")    # FID: 2 decimals (+ its note)
    assert cells[4].startswith("– [")                                         # not computed: a dash and why
    n_mark = re.search(r"\[(\d+)\]", cells[0]).group(1)
    assert (f"- [{n_mark}] generate_baseline_self (baseline): N = 40 samples (1000 frames); FID: N = 1000 generated "
            "frames vs 1000 reference frames") in paper
    assert "| generate_dagan_self (RANDOM WEIGHTS) [" in paper
    lower = only(results, "generate_baseline_self")
    lower["runs"][0]["metrics"]["psnr"]["lower_is_better"] = True            # the direction comes from the results
    assert "PSNR ↓" in paper_table_markdown([("", lower)])


def test_html_table_cells_hold_numbers_and_marks_only():
    page = render_html(handmade(), examples=0)
    table = page[page.index("<table"):page.index("</table>")]
    assert "/work/main" not in table and "weights missing" not in table and "cross-identity" not in table
    assert "weights missing: /work/main/checkpoints/syncnet/syncnet_v2.model" in page      # … below the table
    assert page.count("syncnet_v2.model") == 1


def _write(folder, results):
    folder.mkdir(parents=True)
    (folder / "full_results.json").write_text(json.dumps(results))
    return folder


def test_comparison_names_runs_by_folder_run_and_label(tmp_path, capsys):
    from talkingface.cli.report import main

    results = handmade()
    a = _write(tmp_path / "dagan" / "evaluation", only(results, "generate_dagan_self", "generate_dagan"))
    b = _write(tmp_path / "baseline" / "evaluation", only(results, "generate_baseline_self", "generate_baseline"))
    assert main([str(a), str(b), "--output", str(tmp_path / "cmp.html"),
                 "--paper_table", str(tmp_path / "paper.md")]) == 0
    md = capsys.readouterr().out
    assert "| results | run | label |" in md
    assert "| dagan/evaluation | generate_dagan_self | RANDOM WEIGHTS | self |" in md
    assert "| baseline/evaluation | generate_baseline | provenance unknown | cross |" in md
    assert "> **RANDOM WEIGHTS**: dagan/evaluation: generate_dagan_self (dagan)" in md
    assert "- dagan/evaluation: **generate_dagan** (RANDOM WEIGHTS — not the authors' model)" in md
    page = (tmp_path / "cmp.html").read_text()
    assert "<td class='run'>dagan/<wbr>evaluation</td>" in page and "baseline/<wbr>evaluation" in page
    assert "<span class='badge'>RANDOM WEIGHTS</span>" in page and "<script" not in page
    paper = (tmp_path / "paper.md").read_text()
    assert "| dagan/evaluation: generate_dagan_self (RANDOM WEIGHTS) [" in paper
    assert "| baseline/evaluation: generate_baseline_self (baseline) [" in paper


def test_folder_labels_tell_folders_apart(tmp_path):
    from talkingface.report.compare import folder_labels

    assert folder_labels([tmp_path / "x" / "res_a", tmp_path / "y" / "res_b"]) == ["res_a", "res_b"]
    assert folder_labels([tmp_path / "a" / "evaluation", tmp_path / "b" / "evaluation"]) == ["a/evaluation",
                                                                                            "b/evaluation"]
    assert folder_labels([tmp_path / "a" / "run" / "evaluation", tmp_path / "b" / "run" / "evaluation",
                          tmp_path / "c"]) == ["a/run/evaluation", "b/run/evaluation", "c"]
