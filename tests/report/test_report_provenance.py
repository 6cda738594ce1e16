"""Provenance and data checks in every report format: RANDOM WEIGHTS runs labelled and every value marked †,
integrity counts and the too-few-samples warning shown, old results files (without these fields) still render."""
from __future__ import annotations

import csv
import io
import re

import pytest
from report_results import handmade, only

from talkingface.report import paper_table_markdown, per_sample_csv, summary_markdown, summary_text
from talkingface.report.html import render_html
from talkingface.report.tables import Footnotes, table_rows


@pytest.fixture(scope="module")
def results() -> dict:
    return handmade()


def _md_row(md: str, run: str) -> list[str]:
    line = next(ln for ln in md.splitlines() if ln.startswith(f"| {run} |"))
    return [c.strip() for c in line.strip("|").split(" | ")]


def _value_cells(cells: list[str]) -> list[str]:
    return [c for c in cells if re.match(r"^-?\d", c) and ("N=" in c or "±" in c)]


def test_random_weights_in_summary_md(results):
    md = summary_markdown(results)
    head = md[:md.index("| run |")]
    assert "> **RANDOM WEIGHTS**: generate_dagan_self (dagan)" in head and "not results" in head
    row = _md_row(md, "generate_dagan_self")
    assert row[1] == "RANDOM WEIGHTS"
    values = _value_cells(row)
    assert len(values) == 6 and all(" † " in v for v in values), values       # niqe psnr ssim fid akd aed
    assert any(v.startswith("0.0000 (N=25) †") for v in values)              # the FID of 0 is marked
    assert "- † random weights: not a result" in md
    assert all("†" not in c for c in _md_row(md, "generate_baseline_self"))


def test_random_weights_in_summary_text(results):
    text = summary_text(results)
    assert "*** RANDOM WEIGHTS: generate_dagan_self (dagan)" in text.split("generate_dagan_self  [")[0]
    assert "generate_dagan_self  [RANDOM WEIGHTS — not the authors' model]  (self;" in text
    block = text.split("generate_dagan_self  [")[1].split("\n\n")[0]
    fid = next(ln for ln in block.splitlines() if ln.strip().startswith("fid"))
    assert "0.0000 †" in fid
    for line in block.splitlines():
        if re.match(r"\s+\w+\s+-?\d", line):                                   # every line with a value
            assert "†" in line, line
    assert "\n† random weights: not a result\n" in text


def test_random_weights_in_csv_and_paper_table(results):
    rows = list(csv.DictReader(io.StringIO(per_sample_csv(results))))
    labels = {r["run"]: r["label"] for r in rows}
    assert labels["generate_dagan_self"] == "RANDOM WEIGHTS — not the authors' model"
    assert labels["generate_baseline"] == "provenance unknown" and labels["generate_old_self"] == "provenance unknown"
    assert labels["generate_baseline_self"] == "baseline"

    paper = paper_table_markdown([("", results)])
    row = next(ln for ln in paper.splitlines() if ln.startswith("| generate_dagan_self (RANDOM WEIGHTS)"))
    cells = [c.strip() for c in row.strip("|").split(" | ")][1:]
    numbers = [c for c in cells if re.match(r"^-?\d", c)]
    assert numbers and all(c.split()[0].endswith("†") for c in numbers), numbers
    assert any(c.startswith("0.00†") for c in numbers)                        # the FID of 0 is marked
    assert "- † random weights: not a result" in paper
    assert "Rows marked † were made with RANDOM WEIGHTS" in paper


def test_random_weights_in_html(results):
    page = render_html(results, examples=0)
    banner = page.index("<div class='banner'>RANDOM WEIGHTS: generate_dagan_self")
    assert banner < page.index("<table")
    row = next(r for r in page.split("<tr") if "generate_<wbr>dagan_<wbr>self" in r)
    assert "class='rnd'" in row and "<span class='badge'>RANDOM WEIGHTS</span>" in row
    values = re.findall(r"<span class='v'>(-?\d[^<]*)</span>", row)
    firsts = [v for v in values if not v.startswith("±")]
    assert len(firsts) == 6 and all(v.endswith("†") for v in firsts), firsts
    assert "<span class='v'>0.0000†</span>" in row
    assert "<li>† random weights: not a result</li>" in page


def test_integrity_counts_and_flag(results):
    md, text = summary_markdown(results), summary_text(results)
    page = render_html(results, examples=0)
    counts = "3 requested, 1 evaluated, 2 failed, 0 dropped pairs, 1 fps mismatch, 0 length mismatches"
    dropped = "4 requested, 3 evaluated, 0 failed, 1 dropped pair, 0 fps mismatches, 2 length mismatches"
    for out in (md, text, page):
        assert counts in out and dropped in out
        assert "id01: generated at 30 fps, ground truth at 25 fps (re-timed)" in out
        assert "mean over 1 of 3 samples" in out and "mean over 3 of 4 samples" in out
    assert "> **WARNING**: generate_dagan_self: mean over 1 of 3 samples" in md
    assert "  WARNING: mean over 1 of 3 samples" in text
    assert "<div class='banner warn'>WARNING: generate_dagan_self: mean over 1 of 3 samples</div>" in page
    assert _md_row(md, "generate_dagan_self")[3].startswith("1 of 3 ⚠[")               # the samples cell
    assert "40 requested, 40 evaluated, 0 failed" in md and "mean over 40" not in md  # not flagged: no warning


def test_provenance_lines(results):
    text = summary_text(results)
    assert ("provenance: model dagan; checkpoints dagan_vox_random.pth.tar (sha256 " + "ab" * 32 + "), "
            "depth_encoder_random.pth (sha256 unknown); settings kp_num=15, relative=True, adapt_scale=True, seed=0; "
            "kit 0.1.0") in text
    assert "provenance unknown (no manifest in the generated folder)" in text
    md = summary_markdown(results)
    row = _md_row(md, "generate_lawdnet_hdtf_finetune_epoch120_self")
    assert re.fullmatch(r"lawdnet \[\d+\]", row[1])                      # a long label goes into a footnote
    assert "generate_lawdnet_hdtf_finetune_epoch120_self: authors' checkpoint_epoch_120.pth" in md


def test_files_without_a_record_are_named():
    res = only(handmade(), "generate_baseline_self")
    res["runs"][0]["provenance"]["files_unrecorded"] = ["a.mp4", "b.mp4", "c.mp4", "d.mp4"]
    assert "4 file(s) without a record: a.mp4, b.mp4, c.mp4, …" in summary_text(res)


def test_old_results_without_fields_render():
    old = only(handmade(), "generate_old_self", "generate_baseline_self")
    for run in old["runs"]:
        run.pop("provenance", None)
        run.pop("integrity", None)
    md, text, page = summary_markdown(old), summary_text(old), render_html(old, examples=0)
    for out in (md, text, page):
        assert "provenance unknown" in out and "not recorded" in out
        assert "RANDOM WEIGHTS" not in out and "WARNING" not in out and "†" not in out
    assert "generate_old_self,provenance unknown," in per_sample_csv(old)
    assert "| generate_old_self (provenance unknown) [" in paper_table_markdown([("", old)])


def test_each_footnote_once():
    notes = Footnotes()
    table_rows([("", handmade())], notes)
    texts = list(notes.items)
    assert len(texts) == len(set(texts))
    lines = notes.lines()
    weights = [ln for ln in lines if "syncnet_v2.model" in ln]
    assert len(weights) == 1 and weights[0].split("] ", 1)[1].startswith("lse_c, lse_d: weights missing")
    assert lines[0] == "† random weights: not a result"
