"""report.html fits a 1366-px laptop window: the static rules always (no path or sentence in a cell, footnotes
once, no script), and scripts/check_report_layout.py in headless Chromium when `chromium` is on PATH."""
from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
from report_results import handmade

from talkingface.report.html import page, render_comparison, render_html

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "check_report_layout.py"


@pytest.fixture(scope="module")
def layout():
    spec = importlib.util.spec_from_file_location("check_report_layout", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("layout")
    results = handmade()
    html = {"report": render_html(results, examples=3),
            "comparison": render_comparison([("dagan/evaluation", results), ("baseline/evaluation", results)])}
    out = {}
    for name, text in html.items():
        out[name] = folder / f"{name}.html"
        out[name].write_text(text, encoding="utf-8")
    return out


def test_static_rules_hold(layout, pages):
    for path in pages.values():
        assert layout.static_problems(path.read_text(encoding="utf-8")) == [], path.name


def test_static_rules_catch_the_old_layout(layout):
    note = "weights missing: /work/main/checkpoints/syncnet/syncnet_v2.model, see `python -m talkingface weights`"
    old = page("x", f"<table><tr><td>n/a [1]<div>{note}</div></td><td>n/a [2]</td></tr></table>"
                    "<ul class='notes'><li>[1] cross-identity set</li><li>[2] cross-identity set</li></ul>"
                    "<script>1</script><img src='https://example.org/x.png'>")
    problems = layout.static_problems(old)
    assert any(p.startswith("cell holds a path") for p in problems)
    assert any(p.startswith("cell text is") for p in problems)
    assert any(p.startswith("footnote listed 2 times: 'cross-identity set'") for p in problems)
    assert any("<script>" in p for p in problems) and any(p.startswith("external resource") for p in problems)
    assert layout.static_problems(page("x", "<table><tr><td>n/a [1]</td><td>0.5184 ± 0.0243 N=2 † [7]</td>"
                                            "<td>dagan/evaluation</td></tr></table>")) == []


needs_chromium = pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not on PATH")


@needs_chromium
def test_reports_fit_a_laptop_window_in_chromium(layout, pages, tmp_path):
    m, problems = layout.check(pages["report"], width=1366)
    assert problems == [] and m["page_width"] <= m["window_width"] == 1366
    assert all(t["width"] <= 1366 for t in m["tables"])
    m, problems = layout.check(pages["comparison"], width=1366)
    assert problems == [] and m["page_width"] <= 1366
    assert "<script" not in pages["report"].read_text(encoding="utf-8")          # only the measured copy had one


@needs_chromium
def test_chromium_check_fails_a_too_wide_page(layout, tmp_path, capsys):
    wide = tmp_path / "wide.html"
    cell = "n/a weights missing: " + "x" * 300
    wide.write_text(page("wide", f"<table><tr><td style='white-space:nowrap'>{cell}</td></tr></table>"))
    assert layout.main([str(wide), "--width", "1366", "--screenshot", str(tmp_path / "wide.png")]) == 1
    out = capsys.readouterr().out
    assert "px wide in a 1366 px window (horizontal scroll)" in out and "cell of table 0 is" in out
    assert (tmp_path / "wide.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"          # the screenshot
