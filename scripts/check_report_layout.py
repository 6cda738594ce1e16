"""Check report.html as a picture: render it in headless Chromium at a laptop width, measure, screenshot.

Usage::

    scripts/check_report_layout.py REPORT.html [--width 1366] [--height 900] [--screenshot OUT.png] [--json OUT.json]

What it does (docs/reports.md):

1. the static rules, without a browser: no file path in any table cell, no cell text longer than ``MAX_CELL_CHARS``
   characters, every footnote text listed once, no ``<script>`` and no external resource in the page;
2. a temporary COPY of the page gets a small script that writes ``document.documentElement.scrollWidth``, the
   window's width and every table's and cell's width into the DOM; Chromium loads it with ``--dump-dom`` and the
   numbers are read back (the real report stays script-free);
3. ``chromium --headless --screenshot`` of the real page, as tall as the page (≤ 16000 px), written as PNG.

Exit status: 0 when the page fits (page no wider than the window, no cell wider than ``--max-cell`` of it, static
rules kept), 1 when it does not (each problem on one line), 2 when Chromium is missing or fails.
"""
from __future__ import annotations

import argparse
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

MAX_CELL_CHARS = 48            # a cell holds a number, ± std, N and footnote marks: never a sentence
MAX_SHOT_HEIGHT = 16000
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# a file path: absolute (/x/y, ~/x, C:\x), three or more components, or a file with a weights/media suffix
PATH_RE = re.compile(r"(?:^|[\s(\"'=])(?:/[\w.-]+/|~/|[A-Za-z]:\\)|[\w.-]+/[\w.-]+/[\w.-]+"
                     r"|\.(?:pth|pt|tar|model|mp4|png|jpg|yaml|json|csv)\b")

MEASURE = """<script>addEventListener('load', function () {
  var d = document.documentElement, W = window.innerWidth, out = {page_width: d.scrollWidth,
      window_width: W, page_height: d.scrollHeight, tables: [], wide_cells: []};
  document.querySelectorAll('table').forEach(function (t, i) {
    out.tables.push({index: i, width: Math.round(t.getBoundingClientRect().width), scroll_width: t.scrollWidth});
    t.querySelectorAll('td,th').forEach(function (c) {
      var w = Math.round(c.getBoundingClientRect().width);
      if (w > %(limit)s * W) out.wide_cells.push({table: i, width: w, text: c.textContent.slice(0, 80)});
    });
  });
  var pre = document.createElement('pre'); pre.id = 'layout-metrics'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});</script>"""


class _Cells(html.parser.HTMLParser):
    """The text of every table cell and of every footnote list item (``<li>`` under an element of class notes)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.cells: list[str] = []
        self.footnotes: list[str] = []
        self.scripts = 0
        self.external: list[str] = []
        self._cell = self._note = None
        self._notes_depth = 0
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self._depth += 1
        if tag == "script":
            self.scripts += 1
        for key in ("src", "href"):
            if a.get(key) and not a[key].startswith(("data:", "#")):
                self.external.append(a[key])
        if tag in ("td", "th"):
            self._cell = []
        if "notes" in (a.get("class") or "").split() and not self._notes_depth:
            self._notes_depth = self._depth
        if tag == "li" and self._notes_depth:
            self._note = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append(" ".join("".join(self._cell).split()))
            self._cell = None
        if tag == "li" and self._note is not None:
            self.footnotes.append(" ".join("".join(self._note).split()))
            self._note = None
        if self._notes_depth == self._depth:
            self._notes_depth = 0
        self._depth -= 1

    def handle_data(self, data):
        for buf in (self._cell, self._note):
            if buf is not None:
                buf.append(data)


def static_problems(page: str, max_chars: int = MAX_CELL_CHARS) -> list[str]:
    """The rules that need no browser: no path or long text in a cell, footnotes unique, no script or link out."""
    p = _Cells()
    p.feed(page)
    problems = [f"cell holds a path: {c!r}" for c in p.cells if PATH_RE.search(c)]
    problems += [f"cell text is {len(c)} > {max_chars} characters: {c!r}" for c in p.cells if len(c) > max_chars]
    texts = [re.sub(r"^\s*(\[\d+\]|[†‡*])\s*", "", n) for n in p.footnotes]
    problems += [f"footnote listed {texts.count(t)} times: {t!r}" for t in sorted(set(texts)) if texts.count(t) > 1]
    if p.scripts:
        problems.append(f"{p.scripts} <script> element(s): the report must be script-free")
    problems += [f"external resource: {u}" for u in p.external if "://" in u or not u.startswith("data:")]
    return problems


def find_browser(explicit: str | None = None) -> str | None:
    if explicit:
        return explicit if shutil.which(explicit) else None
    return next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)


def _chromium(browser: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    flags = ["--headless", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--mute-audio",
             "--force-device-scale-factor=1", "--virtual-time-budget=3000"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        flags.append("--no-sandbox")            # Chromium refuses to run as root with its sandbox
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run([browser, *flags, f"--user-data-dir={profile}", *args], capture_output=True,
                              text=True, timeout=timeout)


def measure(report: Path, browser: str, width: int, height: int, max_cell: float) -> dict:
    """The widths of the page, its tables and its too-wide cells at a ``width`` × ``height`` window."""
    page = report.read_text(encoding="utf-8")
    script = MEASURE % {"limit": max_cell}
    probe = page.replace("</body>", script + "</body>") if "</body>" in page else page + script
    with tempfile.TemporaryDirectory(prefix="report-layout-") as tmp:
        copy = Path(tmp) / report.name
        copy.write_text(probe, encoding="utf-8")
        done = _chromium(browser, f"--window-size={width},{height}", "--dump-dom", copy.as_uri())
    found = re.search(r"<pre id=\"layout-metrics\">(.*?)</pre>", done.stdout, re.S)
    if not found:
        raise RuntimeError(f"{browser} wrote no measurements (exit {done.returncode}): {done.stderr.strip()[-400:]}")
    return json.loads(html.unescape(found.group(1)))


def screenshot(report: Path, browser: str, width: int, height: int, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    done = _chromium(browser, f"--window-size={width},{height}", f"--screenshot={out.resolve()}",
                     report.resolve().as_uri())
    if not out.is_file():
        raise RuntimeError(f"{browser} wrote no screenshot (exit {done.returncode}): {done.stderr.strip()[-400:]}")
    return out


def layout_problems(m: dict, max_cell: float) -> list[str]:
    w = m["window_width"]
    problems = []
    if m["page_width"] > w:
        problems.append(f"page is {m['page_width']} px wide in a {w} px window (horizontal scroll)")
    problems += [f"table {t['index']} is {max(t['width'], t['scroll_width'])} px wide (window {w} px)"
                 for t in m["tables"] if max(t["width"], t["scroll_width"]) > w]
    problems += [f"cell of table {c['table']} is {c['width']} px > {max_cell:.0%} of {w} px: {c['text']!r}"
                 for c in m["wide_cells"]]
    return problems


def check(report: Path, width: int = 1366, height: int = 900, max_cell: float = 0.25, shot: Path | None = None,
          browser: str | None = None) -> tuple[dict, list[str]]:
    """(measurements, problems): static rules always; widths and a screenshot when a browser is found."""
    problems = static_problems(report.read_text(encoding="utf-8"))
    browser = find_browser(browser)
    if browser is None:
        raise FileNotFoundError("no headless browser found (install chromium: apt-get install chromium)")
    m = measure(report, browser, width, height, max_cell)
    problems += layout_problems(m, max_cell)
    if shot is not None:
        tall = max(height, min(int(m.get("page_height", height)), MAX_SHOT_HEIGHT))
        m["screenshot"] = str(screenshot(report, browser, width, tall, shot))
    return m, problems


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Render a report.html in headless Chromium at a window width, measure "
                                            "the page and its table cells, write a PNG screenshot.")
    p.add_argument("report", type=Path, help="the report.html (or comparison .html) to check")
    p.add_argument("--width", type=int, default=1366, help="window width in CSS px (default 1366, a laptop)")
    p.add_argument("--height", type=int, default=900, help="window height for measuring (default 900)")
    p.add_argument("--max-cell", type=float, default=0.25, help="widest allowed cell, a fraction of the window")
    p.add_argument("--screenshot", type=Path, help="PNG to write (default: REPORT.<width>.png next to the report)")
    p.add_argument("--json", type=Path, help="also write the measurements here")
    p.add_argument("--browser", help="the Chromium executable (default: chromium on PATH)")
    args = p.parse_args(argv)
    if not args.report.is_file():
        print(f"error: {args.report}: no such file", file=sys.stderr)
        return 2
    shot = args.screenshot or args.report.with_name(f"{args.report.stem}.{args.width}.png")
    try:
        m, problems = check(args.report, args.width, args.height, args.max_cell, shot, args.browser)
    except (FileNotFoundError, RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        args.json.write_text(json.dumps(m, indent=1) + "\n", encoding="utf-8")
    widest = max((max(t["width"], t["scroll_width"]) for t in m["tables"]), default=0)
    print(f"{args.report}: page {m['page_width']} px in a {m['window_width']} px window; widest table {widest} px; "
          f"{len(m['tables'])} table(s); screenshot {m.get('screenshot')}")
    for line in dict.fromkeys(problems):                  # each distinct problem once, with its count
        print(f"problem: {line}" + (f" (×{problems.count(line)})" if problems.count(line) > 1 else ""))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
