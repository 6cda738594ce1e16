"""The whole bad-input corpus (every row of the case modules) and its README, generated from the rows.

    .venv/bin/python tests/corpus/_corpus_table.py > tests/corpus/README.md     # after changing a row
"""
from __future__ import annotations

import collections

import _corpus_cases_core
import _corpus_cases_eval
import _corpus_cases_lawdnet
import _corpus_cases_models
from _corpus import COMMANDS

CASES = _corpus_cases_core.CASES + _corpus_cases_eval.CASES + _corpus_cases_models.CASES + _corpus_cases_lawdnet.CASES
BY_ID = {case.id: case for case in CASES}

INTRO = """# The bad-input corpus

Every CLI of the kit, fed realistic bad input. One row of the table = one case (`_corpus_cases_*.py`); the
machinery is `_corpus.py` (checks, tripwires, runners) and `_corpus_workspace.py` (the inputs); `test_corpus.py`
runs them. Each case runs in a fresh workspace folder that holds every input it makes, with
`TALKINGFACE_CHECKPOINTS` pointing at an empty folder (no weights unless the case brings them), and must end with:

* the **exit code** of the table (2 = a user error; `syncnet score` exits 1 when some video could not be scored);
* exactly **one line** on stderr, `error: …`, containing the text of the table (argparse's own errors, style
  *usage*, print the usage block and then `<prog>: error: …`; `syncnet score`, style *row*, reports a video it
  cannot score in that video's row on stdout, and stderr stays empty); log lines before it only where the notes
  say why; style *ok* (exit 0) marks an input that looks bad but must work (`python -m lawdnet.infer`: 8 kHz, mp3,
  a tone, a 1-frame or 30 fps template): no error line, and its outputs are checked (`expect`);
* **no traceback**;
* **no new file** in the workspace but those the notes list (no partial file, no `.partial` temporary), and the
  **sha256 of every input unchanged** (the shared SyncNet weights outside the workspace: size, mtime and inode);
* **not further than it needs**: reach *checks* = no weights loaded, no model built, nothing encoded, scored,
  written or downloaded (those functions are tripwires in the in-process run); *weights* = loading the weights is
  the check (inference and writers are still tripwires); *work* = the documented per-item failure.

Every case runs in-process (`main(argv)`, fast); the cases marked *process* also run as `python -m …` in a real
process, and the *read-only* cases only there: their folder is bind-mounted read-only in a private mount namespace
(`unshare -rm`; root ignores permission bits). Where `unshare` is not available they run in-process with the
read-only error injected where the kit first writes. A case marked *xfail* is a known defect, reported, not fixed.

Regenerate this file after changing a row: `.venv/bin/python tests/corpus/_corpus_table.py > tests/corpus/README.md`
(`test_corpus.py` checks that it is current).
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def readme() -> str:
    counts = collections.Counter(case.cli for case in CASES)
    lines = [INTRO, f"## {len(CASES)} cases", "", "| CLI | cases |", "|---|---|"]
    lines += [f"| `python -m {COMMANDS[cli][0]}{' ' + COMMANDS[cli][1][0] if COMMANDS[cli][1] else ''}` | {n} |"
              for cli, n in counts.items()]
    lines += ["", "| case | CLI | bad input | exit | the line says | reach | notes |", "|---|---|---|---|---|---|---|"]
    for c in CASES:
        notes = [n for n in ("process" if c.process else "", f"read-only `{c.readonly}`" if c.readonly else "",
                             f"style {c.style}" if c.style != "error" else "",
                             f"leaves {', '.join(f'`{x}`' for x in c.new)}" if c.new else "",
                             f"log lines first: {', '.join(f'`{x.strip()}…`' for x in c.logs)}" if c.logs else "",
                             c.why, f"**xfail**: {c.xfail}" if c.xfail else "") if n]
        says = " … ".join(f"`{s}`" for s in c.says)
        lines.append(f"| `{c.id}` | {c.cli} | {_cell(c.what)} | {c.code} | {_cell(says)} | {c.reach} | "
                     f"{_cell('; '.join(notes))} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(readme(), end="")
