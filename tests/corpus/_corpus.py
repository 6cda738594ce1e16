"""The bad-input corpus's machinery: a case (one table row), its workspace, and the checks every case must pass.

A :class:`Case` names a CLI, builds its argv in a fresh :class:`Workspace` (a temporary folder holding every input
file the case makes), and says what must come out: the exit code and a substring of the one final line. For every
case :func:`check_outcome` and :func:`check_files` assert the rules of docs/architecture.md:

* the exit code is the expected one (2 for a user error, unless the CLI documents another);
* stderr holds exactly one non-empty line, ``error: …``, with the expected text; log lines before it only where the
  case documents why (``logs``) — usage mistakes too (``talkingface.cli.CommandParser``: ``error: <prog>: …``);
  ``style="row"``: ``syncnet score`` reports a video it cannot score in that video's row on stdout, exit 1;
* no ``Traceback`` anywhere;
* the workspace after the run holds exactly what it held before plus ``case.new`` (no partial or temporary file),
  and the sha256 of every file in it is unchanged (inputs are never modified); inputs outside the workspace (the
  shared 54 MB SyncNet weights) keep their size, mtime and inode.

``reach`` says how far a bad input may get: ``checks`` (default: neither weights nor work — the model loaders and
the writers are replaced by a tripwire that fails the test), ``weights`` (loading weights is the check, e.g. a
damaged checkpoint; inference and writers are still tripwires), ``work`` (the documented per-item failure).
"""
from __future__ import annotations

import errno
import importlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from _corpus_workspace import Workspace

#: the CLI as a user types it -> (module for ``python -m``, argv prefix)
COMMANDS = {**{f"talkingface {c}": ("talkingface", [c]) for c in
               ("probe", "normalize", "sample", "weights", "baseline", "evaluate", "report")},
            "dagan.animate": ("dagan.animate", []), "dagan.generate": ("dagan.generate", []),
            "syncnet score": ("syncnet", ["score"]), "syncnet selftest": ("syncnet", ["selftest"]),
            "lawdnet.infer": ("lawdnet.infer", [])}
#: module of ``python -m`` -> the ``main(argv)`` it runs
MAINS = {"talkingface": "talkingface.__main__", "dagan.animate": "dagan.cli.animate",
         "dagan.generate": "dagan.cli.generate", "syncnet": "syncnet.cli", "lawdnet.infer": "lawdnet.cli.infer"}
#: loading weights or building a model (tripwires unless ``reach`` is weights or work)
LOADERS = ("dagan.model:load_model", "dagan.random_weights:random_model", "syncnet.model:load_syncnet",
           "lawdnet.loading:load_lip_sync_model", "lawdnet.loading:load_extractor")
#: the work itself: inference, scoring, encoding, writing outputs, downloads (tripwires unless ``reach`` is work)
WORKERS = ("dagan.pipeline:animate_video", "dagan.evaluation_set:generate", "syncnet.evaluate:evaluate_video",
           "talkingface.evaluation.run:RunScorer.score", "talkingface.media.retime:run_ffmpeg",
           "talkingface.baseline:VideoWriter", "talkingface.sample:_write_clip",
           "talkingface.report.compare:write_text_atomic", "talkingface.weights:fetch",
           "lawdnet.pipeline:lip_sync_video", "lawdnet.record:write_record")


@dataclass(frozen=True)
class Case:
    """One bad input: ``argv(ws)`` for ``cli``, and what must come out (see the module docstring)."""

    id: str
    cli: str
    what: str
    argv: Callable[[Workspace], list[str]]
    says: tuple[str, ...]
    code: int = 2
    style: str = "error"                 # error | row | ok (the input works: exit 0, outputs checked by ``expect``)
    logs: tuple[str, ...] = ()           # prefixes of the log lines allowed before the error line
    why: str = ""                        # why those log lines or new files are expected (README)
    new: tuple[str, ...] = ()            # what the case may leave in the workspace ("dir/" for a folder)
    reach: str = "checks"                # checks | weights | work
    env: Callable[[Workspace], dict] | None = None
    process: bool = False                # also run in a real process
    readonly: str = ""                   # folder of the workspace mounted read-only (a real process)
    xfail: str = ""                      # a known defect, reported, not fixed here
    expect: Callable[[Path], None] | None = None   # style ok: asserts on the outputs (given the workspace root)

    @property
    def module(self) -> str:
        return COMMANDS[self.cli][0]

    def full_argv(self, ws: Workspace) -> list[str]:
        return [*COMMANDS[self.cli][1], *self.argv(ws)]


@dataclass
class Outcome:
    code: int
    out: str
    err: str
    extra: dict = field(default_factory=dict)


def check_files(case: Case, before: dict[str, str], after: dict[str, str]) -> None:
    removed = sorted(set(before) - set(after))
    changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])
    added = sorted(set(after) - set(before))
    assert not changed, f"{case.id}: inputs modified: {changed}"
    assert not removed, f"{case.id}: inputs removed: {removed}"
    assert added == sorted(case.new), f"{case.id}: left behind {added}, expected {sorted(case.new)}"


def check_outcome(case: Case, got: Outcome) -> None:
    text = got.out + got.err
    assert "Traceback" not in text, f"{case.id}: a traceback:\n{text}"
    assert got.code == case.code, f"{case.id}: exit {got.code}, expected {case.code}\n{text}"
    lines = [line for line in got.err.splitlines() if line.strip()]
    if case.style == "ok":                     # a bad-looking input that works: no error, only the allowed log lines
        strays = [line for line in lines if not line.startswith(case.logs or ("\0",))]
        assert not strays, f"{case.id}: unexpected lines on stderr: {strays}"
        if case.expect:
            case.expect(got.extra["root"])
        return
    if case.style == "row":                    # syncnet score: the video's row on stdout says why; stderr is silent
        assert not lines, f"{case.id}: stderr: {lines}"
        rows = [line for line in got.out.splitlines() if "error: " in line]
        assert len(rows) == 1 and all(s in rows[0] for s in case.says), f"{case.id}: rows {rows}"
        return
    assert lines, f"{case.id}: nothing on stderr; stdout:\n{got.out}"
    last, earlier = lines[-1], lines[:-1]
    assert last.startswith("error: "), f"{case.id}: the last line is not 'error: …': {last!r}"
    strays = [line for line in earlier if not line.startswith(case.logs or ("\0",))]
    assert not strays, f"{case.id}: lines before the error line: {strays}"
    assert not any(line.startswith("error:") for line in earlier), f"{case.id}: several error lines: {lines}"
    missing = [s for s in case.says if s not in last]
    assert not missing, f"{case.id}: the line lacks {missing}: {last!r}"


class ReachedWork(BaseException):
    """Raised by a tripwire: a bad input got as far as loading weights or doing the work (nothing catches it)."""


def tripwires(case: Case, monkeypatch) -> None:
    """Replace the loaders and workers ``case.reach`` may not get to by functions raising :class:`ReachedWork`."""
    names = {"checks": LOADERS + WORKERS, "weights": WORKERS, "work": ()}[case.reach]
    for name in names:
        module_name, attr = name.split(":")
        owner = importlib.import_module(module_name)
        *path, leaf = attr.split(".")
        for part in path:
            owner = getattr(owner, part)

        def wire(*args, _name=name, **kwargs):
            raise ReachedWork(f"{case.id}: a bad input reached {_name}")

        monkeypatch.setattr(owner, leaf, wire)


def case_env(case: Case, ws: Workspace) -> dict[str, str]:
    """The environment a case runs with (built before the snapshot: it may make files)."""
    return {"TALKINGFACE_CHECKPOINTS": ws.p("checkpoints"), **(case.env(ws) if case.env else {})}


def run_in_process(case: Case, ws: Workspace, argv: list[str], env: dict[str, str], capsys, monkeypatch) -> Outcome:
    """``main(argv)`` of the case's CLI in this process, with its tripwires, in the workspace as cwd."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("TALKINGFACE_DEBUG", raising=False)
    monkeypatch.chdir(ws.root)
    tripwires(case, monkeypatch)
    main = importlib.import_module(MAINS[case.module]).main
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exc:                  # argparse
        code = exc.code
    out, err = capsys.readouterr()
    return Outcome(code, out, err, {"root": ws.root})


def readonly_prefix() -> list[str] | None:
    """``unshare -rm sh -c …`` mounting ``$0`` read-only before running the rest, or None where this machine cannot
    make a private mount namespace."""
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-rm", "true"], capture_output=True, check=False).returncode:
        return None
    script = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" && exec "$@"'
    return [unshare, "-rm", "sh", "-c", script]


def run_process(case: Case, ws: Workspace, argv: list[str], env: dict[str, str], prefix: list[str] | None) -> Outcome:
    """``python -m <module> argv`` in a real process (inside a read-only mount of ``case.readonly`` if set)."""
    cmd = [sys.executable, "-m", case.module, *argv]
    if case.readonly:
        cmd = [*prefix, ws.p(case.readonly), *cmd]
    full_env = {k: v for k, v in os.environ.items() if k != "TALKINGFACE_DEBUG"}
    full_env.update(env)
    done = subprocess.run(cmd, cwd=ws.root, env=full_env, capture_output=True, text=True, timeout=300, check=False)
    return Outcome(done.returncode, done.stdout, done.stderr, {"root": ws.root})


def inject_readonly(folder: Path, monkeypatch) -> None:
    """The fallback of a read-only mount: creating the kit's first file (a temporary sibling) under ``folder``
    fails with EROFS, as it would on the mount."""
    from talkingface import fsutil, outputs

    original = fsutil.temp_sibling

    def readonly(final, tag="partial"):
        if Path(final).absolute().is_relative_to(folder):
            raise OSError(errno.EROFS, "Read-only file system", str(final))
        return original(final, tag)

    monkeypatch.setattr(fsutil, "temp_sibling", readonly)
    monkeypatch.setattr(outputs, "temp_sibling", readonly)
