"""Corpus rows for `python -m talkingface evaluate | report`."""
from __future__ import annotations

import os

from _corpus import Case

REPORTS = ("ev/", "ev/config.resolved.yaml", "ev/evaluation_summary.txt", "ev/full_results.json", "ev/paper_table.md",
           "ev/per_sample.csv", "ev/report.html", "ev/results_cache.jsonl", "ev/summary.md")
REPORTS_WHY = ("evaluate scores what it can and always writes its reports (summary.md says why each sample "
               "failed), then exits 2 when not a single number came out; the per-run problem is logged as a warning")


def _ev(w, *extra: str, out: str = "ev", generated: bool = True, metrics: str = "psnr") -> list[str]:
    """evaluate over a one-pair evaluation set es/ (with generate_x_self/ when ``generated``), PSNR only."""
    es = w.evalset(generated=generated)
    return ["--base_dir", es, "--output_path", w.p(out), "--metrics", metrics, "--no_progress", *extra]


def _corrupt_generated(w) -> list[str]:
    argv = _ev(w)
    w.truncated("es/generate_x_self/a.mp4")
    return argv


def _link_to_results(w) -> str:
    w.results()
    os.symlink("res/full_results.json", w.p("cmp.md"))
    return w.p("cmp.md")


EVALUATE = [
    Case("evaluate-no-generated", "talkingface evaluate", "an evaluation set without generate_* folders",
         lambda w: _ev(w, generated=False), ("no generate_* folder found", "--generate_dirs")),
    Case("evaluate-base-missing", "talkingface evaluate", "--base_dir does not exist",
         lambda w: ["--base_dir", w.p("nothere"), "--output_path", w.p("ev")], ("evaluation set folder not found",)),
    Case("evaluate-unknown-metric", "talkingface evaluate", "--metrics nqie (a typo)",
         lambda w: _ev(w, metrics="psnr,nqie"), ("unknown metric 'nqie'", "did you mean 'niqe'")),
    Case("evaluate-batch-size-0", "talkingface evaluate", "--batch_size 0",
         lambda w: _ev(w, "--batch_size", "0"), ("batch_size", "positive integer, got 0")),
    Case("evaluate-device-cuda", "talkingface evaluate", "--device cuda without a GPU (cuda:64 where one is)",
         lambda w: _ev(w, "--device", w.no_such_gpu()), ("device 'cuda",)),
    Case("evaluate-output-is-base", "talkingface evaluate", "--output_path = --base_dir",
         lambda w: _ev(w, out="es"), ("would overwrite the input folder",)),
    Case("evaluate-output-in-gt_self", "talkingface evaluate", "--output_path inside gt_self",
         lambda w: _ev(w, out="es/gt_self/ev"), ("lies inside the input folder",)),
    Case("evaluate-output-is-file", "talkingface evaluate", "--output_path is a file",
         lambda w: _ev(w, out=os.path.basename(w.file("ev.txt", "x"))), ("ev.txt", "is a file, not a folder")),
    Case("evaluate-pairs-no-driving", "talkingface evaluate", "pairs.csv without a driving/gt column",
         lambda w: _ev(w, "--pairs", w.file("pairs.csv", "source,video\na.png,a.mp4\n")),
         ("pairs.csv", "needs a 'driving' (or 'gt') column")),
    Case("evaluate-pairs-duplicate-id", "talkingface evaluate", "pairs.csv with the same id twice",
         lambda w: _ev(w, "--pairs", w.file("pairs.csv", "id,driving\na,a.mp4\na,a.mp4\n")),
         ("pairs.csv:3", "id 'a' already used")),
    Case("evaluate-pairs-missing", "talkingface evaluate", "--pairs names no file",
         lambda w: _ev(w, "--pairs", w.p("pairs.csv")), ("pairs file not found",)),
    Case("evaluate-config-unknown-key", "talkingface evaluate", "--config with an unknown key",
         lambda w: _ev(w, "--config", w.file("eval.yaml", "bogus_key: 1\n")),
         ("eval.yaml", "unknown key(s) bogus_key")),
    Case("evaluate-config-not-yaml", "talkingface evaluate", "--config that is not YAML",
         lambda w: _ev(w, "--config", w.file("eval.yaml", "batch_size: [1\n")), ("eval.yaml", "not valid YAML")),
    Case("evaluate-ssim-protocol", "talkingface evaluate", "--ssim_protocol of an unknown name",
         lambda w: _ev(w, "--ssim_protocol", "wang"), ("invalid choice: 'wang'",)),
    Case("evaluate-corrupt-generated", "talkingface evaluate", "the only generated video is truncated",
         _corrupt_generated, ("nothing could be evaluated", "a.mp4: truncated file"), reach="work",
         logs=("warning: generate_x_self: ",), new=REPORTS, why=REPORTS_WHY),
    Case("evaluate-generate-dir-missing", "talkingface evaluate", "--generate_dirs names a folder that does not exist",
         lambda w: _ev(w, "--generate_dirs", "generate_typo"), ("generated folder not found", "generate_typo")),
    Case("evaluate-read-only", "talkingface evaluate", "--output_path on a read-only mount",
         lambda w: _ev(w, out=os.path.basename(w.dir("ro"))), ("ro", "read-only file system"), readonly="ro"),
]

REPORT = [
    Case("report-no-results", "talkingface report", "a folder without full_results.json",
         lambda w: [w.dir("res")], ("full_results.json", "no evaluation results here")),
    Case("report-missing-folder", "talkingface report", "a folder that does not exist",
         lambda w: [w.p("nothere")], ("nothere", "no evaluation results here")),
    Case("report-bad-json", "talkingface report", "full_results.json cut short",
         lambda w: [w.file("res/full_results.json", '{"runs": [')], ("not a readable results file",)),
    Case("report-not-results", "talkingface report", "full_results.json holding a list",
         lambda w: [w.file("res/full_results.json", "[1, 2]").rsplit("/", 1)[0]], ("no 'runs' list",)),
    Case("report-output-extension", "talkingface report", "--output with an unknown extension (.json)",
         lambda w: [w.results(), "--output", w.p("cmp.json")], ("cmp.json", "must end in .html or .md")),
    Case("report-paper-is-results", "talkingface report", "--paper_table = the folder's own full_results.json",
         lambda w: [w.results(), "--paper_table", w.p("res/full_results.json")], ("would overwrite the input file",)),
    Case("report-output-symlink-to-results", "talkingface report", "--output cmp.md, a symlink to full_results.json",
         lambda w: [w.p("res"), "--output", _link_to_results(w)], ("cmp.md", "would overwrite the input file")),
    Case("report-output-is-dir", "talkingface report", "--output is a directory named cmp.md",
         lambda w: [w.results(), "--output", w.dir("cmp.md")], ("cmp.md", "is a folder")),
    Case("report-paper-under-file", "talkingface report", "--paper_table inside a path whose folder is a file",
         lambda w: [w.results(), "--paper_table", w.file("notes.txt", "x") + "/paper.md"], ("notes.txt", "is a file")),
    Case("report-read-only", "talkingface report", "--output on a read-only mount",
         lambda w: [w.results(), "--output", w.dir("ro") + "/cmp.md"], ("read-only file system",), readonly="ro"),
]

CASES = EVALUATE + REPORT
