"""`python -m talkingface weights status|verify|fetch|path|table` over checkpoints/manifest.yaml.

    python -m talkingface weights status                 # present / missing / wrong size (fast, offline)
    python -m talkingface weights status --quiet NAME…   # exit status only: 0 when all NAMEs are in place
    python -m talkingface weights verify --stage dagan   # also sha256 / published digests; non-zero if bad
    python -m talkingface weights fetch syncnet_v2 s3fd  # download (resumable) or print manual steps
    python -m talkingface weights fetch --all

Environment: TALKINGFACE_CHECKPOINTS (the weights folder), TALKINGFACE_MANIFEST (the manifest).
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from talkingface import weights as W
from talkingface.cli import CommandParser
from talkingface.errors import WeightsError, cli_main


def _human(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _shown(status: W.WeightStatus, root: Path) -> str:
    try:
        rel = status.path.relative_to(root).as_posix()
    except ValueError:
        rel = str(status.path)
    return rel if status.origin == "checkpoints" else f"{rel} ({status.origin})"


def _select(args: argparse.Namespace, entries: dict[str, W.WeightEntry], default_all: bool) -> list[W.WeightEntry]:
    names = list(getattr(args, "names", None) or [])
    chosen = [W.get_entry(n, entries) for n in dict.fromkeys(names)]
    if args.stage:
        stages = W.load_stages()
        if args.stage not in stages:
            raise WeightsError(f"unknown stage {args.stage!r}; stages: {', '.join(stages)}")
        chosen += [e for e in entries.values() if args.stage in e.stages and e not in chosen]
    if not chosen and default_all:
        chosen = list(entries.values())
    return chosen


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths[:-1]) + "  {}"
    return "\n".join(fmt.format(*r) for r in [header, *rows])


def _header(root: Path) -> str:
    return f"manifest:    {W.manifest_path()}\ncheckpoints: {root}"


def cmd_status(args: argparse.Namespace) -> int:
    entries = W.load_manifest()
    root = W.checkpoints_dir()
    statuses = [W.check(e, root) for e in _select(args, entries, default_all=True)]
    code = 0 if all(s.ok for s in statuses) else 1
    if args.quiet:
        return code
    if args.json:
        print(json.dumps([{"name": s.entry.name, "state": s.state, "path": str(s.path), "origin": s.origin,
                           "size": s.path.stat().st_size if s.state != "missing" else None,
                           "stages": list(s.entry.stages)} for s in statuses], indent=2))
        return code
    rows = [[s.entry.name, s.state, _human(s.path.stat().st_size) if s.state != "missing" else "-",
             ",".join(s.entry.stages), _shown(s, root)] for s in statuses]
    print(_header(root))
    print(_table(rows, ["NAME", "STATE", "SIZE", "STAGES", "PATH"]))
    present = sum(s.ok for s in statuses)
    print(f"\n{present} of {len(statuses)} present. Get the others with `python -m talkingface weights fetch NAME` "
          f"(or --all); files that need a browser get printed steps. `verify` checks hashes.")
    return code


def cmd_verify(args: argparse.Namespace) -> int:
    entries = W.load_manifest()
    root = W.checkpoints_dir()
    chosen = _select(args, entries, default_all=True)
    print(_header(root))
    bad, unverified = 0, 0
    for entry in chosen:
        status = W.check(entry, root, deep=True)
        bad += not status.ok
        unverified += status.state == "unverified"
        label = {"ok": "ok", "unverified": "ok?", "missing": "MISSING"}.get(status.state, "BAD")
        detail = f"wrong size: {status.detail}" if status.state == "wrong size" else status.detail
        print(f"{label:<8} {entry.name:<32} {_shown(status, root)}" + (f"  {detail}" if detail else ""))
    print(f"\n{len(chosen) - bad} of {len(chosen)} good" + (f", {bad} missing or bad" if bad else "")
          + ("; ok? = present, but no digest is published to compare with" if unverified else ""))
    return 1 if bad else 0


def cmd_fetch(args: argparse.Namespace) -> int:
    entries = W.load_manifest()
    if not (args.names or args.all or args.stage):
        raise WeightsError("name the files to fetch (see `python -m talkingface weights status`), or use --all")
    chosen = list(entries.values()) if args.all else _select(args, entries, default_all=False)
    root = W.checkpoints_dir()
    progress = False if args.no_progress else None
    manual: list[str] = []
    for entry in chosen:
        if not entry.urls and not (entry.package_file and W.package_file_path(entry.package_file)):
            status = W.check(entry, root)
            if status.ok:
                print(f"{entry.name}: present ({_shown(status, root)})")
            else:
                manual.append(entry.name)
                print(W.manual_steps(entry, root) + "\n")
            continue
        result = W.fetch(entry, root, timeout=args.timeout, progress=progress, log=print)
        print(f"{entry.name}: {result.action} {result.path}" + (f" ({result.detail})" if result.detail else ""))
    if manual:
        print(f"{len(manual)} file(s) need the manual steps above: {', '.join(manual)}")
        return 1
    return 0


def cmd_path(args: argparse.Namespace) -> int:
    print(W.weight_path(args.name))
    return 0


def readme_table(entries: dict[str, W.WeightEntry]) -> str:
    """The Markdown table of checkpoints/README.md, generated from the manifest."""

    def how(e: W.WeightEntry) -> str:
        if e.package_file:
            return f"`fetch` copies it from the `{e.package_file.split('/')[0]}` package"
        if e.urls and e.extract:
            return f"`fetch` (from an archive: `{e.extract}`)"
        return "`fetch`" if e.urls else "manual, see below"

    lines = ["| name | file under `checkpoints/` | how | published check | licence | stages |",
             "|---|---|---|---|---|---|"]
    for e in entries.values():
        licence = e.licence.split(" (")[0].split(";")[0]
        lines.append(f"| `{e.name}` | `{e.path}` | {how(e)} | {e.digest_kind} | {licence} | {', '.join(e.stages)} |")
    return "\n".join(lines)


def cmd_table(args: argparse.Namespace) -> int:
    print(readme_table(W.load_manifest()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="python -m talkingface weights",
        description="Status, verification and download of the external weight files listed in "
                    "checkpoints/manifest.yaml. TALKINGFACE_CHECKPOINTS overrides the weights folder, "
                    "TALKINGFACE_MANIFEST the manifest.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    stage_help = "only the files this stage needs (a stage of the manifest, e.g. dagan or evaluation-image)"

    status = sub.add_parser("status", help="present / missing / wrong size of each file (fast, offline); "
                                           "exit 1 if any shown file is missing or has the wrong size")
    status.add_argument("names", nargs="*", metavar="NAME", help="manifest names (default: all, or those of --stage)")
    status.add_argument("--stage", help=stage_help)
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    status.add_argument("--quiet", action="store_true", help="print nothing; only the exit status tells")
    status.set_defaults(func=cmd_status)

    verify = sub.add_parser("verify", help="also compare sha256 / published digests; exit 1 if any is missing or bad")
    verify.add_argument("names", nargs="*", metavar="NAME", help="manifest names (default: all, or those of --stage)")
    verify.add_argument("--stage", help=stage_help)
    verify.set_defaults(func=cmd_verify)

    fetch = sub.add_parser("fetch", help="download files (resumable, hash-checked) or print the manual steps")
    fetch.add_argument("names", nargs="*", metavar="NAME", help="manifest names to fetch")
    fetch.add_argument("--all", action="store_true", help="fetch every file of the manifest")
    fetch.add_argument("--stage", help=stage_help)
    fetch.add_argument("--timeout", type=float, default=W.DEFAULT_TIMEOUT,
                       help=f"seconds to wait for a connection or data (default {W.DEFAULT_TIMEOUT:g})")
    fetch.add_argument("--no-progress", action="store_true", help="no progress bars")
    fetch.set_defaults(func=cmd_fetch)

    path = sub.add_parser("path", help="print where the file of NAME is (error if missing)")
    path.add_argument("name", metavar="NAME", help="a manifest name")
    path.set_defaults(func=cmd_path)

    table = sub.add_parser("table", help="print the Markdown table for checkpoints/README.md")
    table.set_defaults(func=cmd_table)
    return parser


@cli_main
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
