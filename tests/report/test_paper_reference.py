"""Comparing a run with the papers: config/reference/*.yaml loads and is validated, the comparison's numbers, verdicts
and notes, its Markdown and HTML, the `report --paper` CLI, and the section in headless Chromium (skipped without)."""
from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path

import pytest
import yaml
from report_results import WEIGHTS_NOTE, handmade, only

from talkingface.cli.report import main
from talkingface.errors import ConfigError, KitError
from talkingface.metrics.protocols import SPECS, SSIM_PROTOCOLS
from talkingface.report.html import render_html
from talkingface.report.published import REFERENCE_DIR, get_table, known_tables, load_table
from talkingface.report.versus import versus, versus_html, versus_markdown

REPO = Path(__file__).resolve().parents[2]
SHIPPED = ("dagan-vox", "dagan-celebv", "fomm-vox", "dinet-hdtf", "wav2lip-lrs2", "wav2lip-gan-lrs2")


def entry(name, value, protocol=None, note=None, n=3):
    spec = SPECS[name]
    return {"value": value, "std": 0.01 if value is not None else None, "n": n if value is not None else 0,
            "protocol": protocol or spec.protocol, "lower_is_better": spec.lower_is_better, "kind": spec.kind,
            "note": note}


def run(**metrics) -> dict:
    return {"name": "generate_dagan_self", "mode": "self", "n_evaluated": 3, "n_samples": 3, "metrics": metrics,
            "samples": [], "provenance": {"random_weights": False, "label": "authors' vox.pth", "model": "dagan",
                                          "checkpoints": [], "settings": {}, "kit_version": "0.1.0"}}


def test_every_shipped_table_loads_and_verified_values_name_their_source():
    tables = known_tables()
    assert set(SHIPPED) <= set(tables)
    for t in tables.values():
        assert t.metrics and t.paper.url.startswith("http")
        for v in t.metrics.values():
            assert v.metric in SPECS
            assert not v.verified or (v.source and v.source_kind)
            assert v.value is not None or v.note
    assert tables["dagan-vox"].metrics["ssim"].value == 0.804 and tables["dagan-vox"].metrics["ssim"].protocol == "fomm"


def _write(tmp_path, mutate) -> Path:
    data = yaml.safe_load((REFERENCE_DIR / "dagan-vox.yaml").read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "dagan-vox.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("mutate, key", [
    (lambda d: d.update(tabel="x"), "tabel"),
    (lambda d: d["metrics"].update(sssim=d["metrics"].pop("ssim")), "metrics.sssim"),
    (lambda d: d["metrics"]["psnr"].pop("value"), "metrics.psnr"),
    (lambda d: d["metrics"]["psnr"].update(valu=1.0), "valu"),
    (lambda d: d["metrics"]["psnr"].update(direction="lower"), "metrics.psnr.direction"),
    (lambda d: d["metrics"]["ssim"].update(protocol="gaussian"), "metrics.ssim.protocol"),
    (lambda d: d["metrics"]["psnr"].update(verified=True), "metrics.psnr.source"),
    (lambda d: d["metrics"]["l1"].update(value=None, note=""), "metrics.l1.note"),
    (lambda d: d.update(setting="talking"), "setting"),
    (lambda d: d["paper"].update(doi="x"), "paper"),
])
def test_a_bad_table_is_one_line_naming_file_and_key(tmp_path, mutate, key):
    path = _write(tmp_path, mutate)
    with pytest.raises(ConfigError) as err:
        load_table(path)
    message = str(err.value)
    assert "\n" not in message and str(path) in message and key in message
    if key == "metrics.sssim":
        assert "did you mean 'ssim'" in message


def test_diff_relative_and_direction_aware_verdicts():
    table = get_table("dagan-vox")
    v = versus(table, run(psnr=entry("psnr", 32.0), akd=entry("akd", 1.5), aed=entry("aed", 0.1172),
                          ssim=entry("ssim", 0.75, SSIM_PROTOCOLS["fomm"])))
    rows = {r.metric: r for r in v.rows}
    assert rows["psnr"].diff == pytest.approx(0.78) and rows["psnr"].relative == pytest.approx(100 * 0.78 / 31.22)
    assert rows["psnr"].verdict == "better"                       # higher is better, ours higher
    assert rows["akd"].diff == pytest.approx(0.221) and rows["akd"].verdict == "worse"   # lower is better
    assert rows["aed"].verdict == "same (rounding)"               # |0.0002| < half of the paper's last digit
    assert rows["ssim"].verdict == "worse" and rows["ssim"].relative == pytest.approx(100 * (0.75 - 0.804) / 0.804)
    assert not any("protocols differ" in n for n in rows["ssim"].notes)      # ours fomm = the paper's


def test_ssim_standard_against_a_fomm_paper_says_protocols_differ():
    rows = {r.metric: r for r in versus(get_table("dagan-vox"), run(ssim=entry("ssim", 0.75))).rows}
    note = next(n for n in rows["ssim"].notes if "protocols differ" in n)
    assert "paper used fomm" in note and "7x7 uniform window" in note and "--ssim_protocol fomm" in note
    # an unrecognised protocol text falls back to the run's recorded args
    ours = run(ssim=entry("ssim", 0.75, "SSIM (older kit text)"))
    rows = {r.metric: r for r in versus(get_table("dagan-vox"), ours, {"ssim_protocol": "fomm"}).rows}
    assert not any("protocols differ" in n for n in rows["ssim"].notes)


def test_missing_weights_and_not_computed_say_why_never_blank():
    ours = run(lpips=entry("lpips", None, note=WEIGHTS_NOTE["lpips"]), psnr=entry("psnr", 30.0))
    v = versus(get_table("dagan-vox"), ours)
    rows = {r.metric: r for r in v.rows}
    assert any("weights missing" in n and "alexnet" in n for n in rows["lpips"].notes)
    assert any("not computed in this run" in n and "--metrics" in n for n in rows["l1"].notes)
    text = versus_markdown([v])
    lpips_line = next(line for line in text.splitlines() if line.startswith("| lpips"))
    assert "n/a" in lpips_line and "[p" in lpips_line
    assert "weights missing: " in text and "not computed in this run (add l1" in text


def test_markdown_and_html_hold_the_table_and_flag_random_weights():
    results = only(handmade(), "generate_dagan_self", "generate_baseline_self")
    md = versus_markdown([versus(get_table("dagan-vox"), r) for r in results["runs"]])
    assert "| metric | ours | paper | ours − paper | relative | verdict | paper value | notes |" in md
    assert "| ssim ↑ |" in md and "0.804" in md and "verified (secondary)" in md and "unverified" in md
    assert "RANDOM WEIGHTS" in md and "†" in md and "no reproduction" in md
    page = render_html(results, examples=0, papers=[get_table("dagan-vox")])
    assert "<h2>Compared with the papers</h2>" in page and "<table class='versus'>" in page
    assert page.index("<h2>Compared with the papers</h2>") < page.index("<h2>Runs: provenance")
    assert "Compared with the papers" not in render_html(results, examples=0)
    assert "versus" not in versus_html([]) and "No run to compare" in versus_html([])


def test_setting_selects_runs_and_paper_nulls_are_explained():
    results = only(handmade(), "generate_dagan", "generate_baseline_self")       # cross and self runs
    from talkingface.report.versus import comparisons
    picked = comparisons([get_table("dagan-vox"), get_table("dagan-celebv")], [("", results)])
    assert [(c.table.id, c.run["mode"]) for c in picked] == [("dagan-vox", "self"), ("dagan-celebv", "cross")]
    celebv = picked[1]
    assert celebv.rows[0].paper.value is None and any("paper value not recorded" in n for n in celebv.rows[0].notes)
    assert any(n.startswith("prmse:") for n in celebv.notes)


@pytest.fixture
def results_folder(tmp_path) -> Path:
    folder = tmp_path / "res"
    folder.mkdir()
    results = only(handmade(), "generate_dagan_self", "generate_baseline_self")
    results["args"] = {"ssim_protocol": "standard"}
    (folder / "full_results.json").write_text(json.dumps(results), encoding="utf-8")
    return folder


def test_cli_paper_writes_the_comparison(results_folder, tmp_path, capsys):
    html_out = tmp_path / "cmp.html"
    assert main([str(results_folder), "--paper", "dagan-vox", "--output", str(html_out)]) == 0
    out = capsys.readouterr().out
    assert "# Compared with the papers" in out and "protocols differ: paper used fomm" in out
    written = (results_folder / "paper_comparison.md").read_text(encoding="utf-8")
    assert "| ssim ↑ |" in written and "generate_baseline_self" in written
    assert "<h2>Compared with the papers</h2>" in html_out.read_text(encoding="utf-8")
    assert main([str(results_folder), "--paper", "dagan-vox", "--run", "generate_baseline_self",
                 "--paper_output", str(tmp_path / "p.html")]) == 0
    single = (tmp_path / "p.html").read_text(encoding="utf-8")
    assert "generate_baseline_self" in single and "generate_dagan_self vs" not in single


def test_cli_unknown_id_list_and_old_paper_spelling(results_folder, tmp_path, capsys):
    assert main([str(results_folder), "--paper", "dagan-vx"]) == KitError.exit_code
    err = capsys.readouterr().err
    assert "did you mean 'dagan-vox'" in err and "wav2lip-lrs2" in err and "\n" not in err.strip()
    assert main(["--paper", "list"]) == 0
    listing = capsys.readouterr().out
    assert all(i in listing for i in SHIPPED)
    assert main([str(results_folder), "--paper", str(tmp_path / "table.md")]) == KitError.exit_code  # a file name
    err = capsys.readouterr().err
    assert "not a published table id" in err and f"--paper_table {tmp_path / 'table.md'}" in err
    assert not (tmp_path / "table.md").exists()
    assert main([str(results_folder), "--paper_table", str(tmp_path / "table.md")]) == 0  # the paper-style table
    assert (tmp_path / "table.md").read_text(encoding="utf-8").startswith("# Results, as a paper prints them")


def test_paper_section_renders_in_headless_chromium(tmp_path):
    spec = importlib.util.spec_from_file_location("check_report_layout", REPO / "scripts" / "check_report_layout.py")
    layout = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(layout)
    if layout.find_browser() is None:
        pytest.skip("no headless browser (chromium) on PATH: run scripts/check_report_layout.py where there is one")
    results = copy.deepcopy(handmade())
    report = tmp_path / "report.html"
    report.write_text(render_html(results, examples=0, papers=[get_table("dagan-vox"), get_table("wav2lip-lrs2")]),
                      encoding="utf-8")
    measured, problems = layout.check(report, shot=tmp_path / "report.png")
    assert problems == [], problems
    assert measured["page_width"] <= measured["window_width"]
    assert len(measured["tables"]) >= 3 and (tmp_path / "report.png").stat().st_size > 0
