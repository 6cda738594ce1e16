"""`python -m talkingface make-evalset` (talkingface/evalset/build.py): an evaluation set with correct pairs from a
test split — layout, identities, sampling (deterministic, capped per identity), the check that refuses mislabelled
rows (the seed kit's published set had a sixth of its pairs wrong), atomic output, and the evaluator reading it."""
from __future__ import annotations

import csv
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from talkingface.__main__ import main as kit_main
from talkingface.errors import ConfigError, OutputError
from talkingface.evalset import read_pairs
from talkingface.evalset.build import EvalsetError, build_evalset
from talkingface.evalset.check import check_evalset
from talkingface.evalset.clips import Row, find_clips, sample_cross, sample_self

# identity -> number of clips; every clip has its own content (its own frame size), so swapped files are visible
SPLIT = {"id00017": 3, "id00061": 2, "id00081": 2, "id00154": 1}


@pytest.fixture(scope="module")
def split(make_video, tmp_path_factory) -> Path:
    """A fake DaGAN test split: test/<identity>#<video>#<start>#<end>.mp4, tiny clips of 4-7 frames."""
    root = tmp_path_factory.mktemp("split") / "test"
    root.mkdir()
    k = 0
    for identity, n in SPLIT.items():
        for j in range(n):
            clip = make_video(frames=4 + k % 4, size=(32 + 8 * k, 32))
            shutil.copyfile(clip, root / f"{identity}#vid{j}#{j * 100:06d}#{j * 100 + 4 + k % 4:06d}.mp4")
            k += 1
    (root / ".done").mkdir()                                     # a preprocessing run's markers are skipped
    (root / ".done" / "x.mp4").write_bytes(b"")
    (root / "notes.txt").write_text("not a clip")
    return root


def make(split: Path, out: Path, *args: str) -> int:
    return kit_main(["make-evalset", str(split), str(out), *args])


def rows_of(out: Path, name: str = "pairs.csv") -> list[dict]:
    with (out / name).open(newline="") as fh:
        return list(csv.DictReader(fh))


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "evalset.json"}


def test_layout_identities_and_provenance(split, tmp_path, capsys):
    out = tmp_path / "es"
    assert make(split, out, "--self", "5", "--cross", "4", "--seed", "3") == 0
    assert "5 self and 4 cross rows from 8 clips of 4 identities (checked" in capsys.readouterr().out
    rows = rows_of(out)
    assert list(rows[0]) == ["id", "source", "driving", "gt", "source_id", "driving_id"]
    self_rows = [r for r in rows if r["gt"].startswith("gt_self/")]
    cross_rows = [r for r in rows if r["gt"].startswith("gt_cross/")]
    assert len(self_rows) == 5 and len(cross_rows) == 4
    for r in self_rows:
        assert r["source_id"] == r["driving_id"] == r["id"].split("#")[0]
        assert r["source"] == f"source_self/{r['id']}.png" and r["driving"] == r["gt"] == f"gt_self/{r['id']}.mp4"
        # the ground truth is the clip itself, byte for byte; the source is its frame 0
        assert (out / r["gt"]).read_bytes() == (split / f"{r['id']}.mp4").read_bytes()
    for r in cross_rows:
        assert r["source_id"] != r["driving_id"]
        src, drv = r["id"].split("__")
        assert src.split("#")[0] == r["source_id"] and drv.split("#")[0] == r["driving_id"]
        assert (out / r["gt"]).read_bytes() == (split / f"{drv}.mp4").read_bytes()
    # the four folders hold exactly the rows' files; the split files are by kind
    for folder, kind in (("source_self", self_rows), ("gt_self", self_rows), ("source_cross", cross_rows),
                         ("gt_cross", cross_rows)):
        assert len(list((out / folder).iterdir())) == len(kind)
    assert [r["id"] for r in rows_of(out, "pairs_self.csv")] == [r["id"] for r in self_rows]
    assert [r["id"] for r in rows_of(out, "pairs_cross.csv")] == [r["id"] for r in cross_rows]
    prov = json.loads((out / "evalset.json").read_text())
    assert prov["settings"]["seed"] == 3 and prov["settings"]["self"] == 5 and prov["settings"]["cross"] == 4
    assert prov["input"]["clips"] == 8 and prov["input"]["identities"] == 4 and len(prov["input"]["fingerprint"]) == 64
    assert prov["kit_version"] and "make-evalset" in prov["command"] and len(prov["rows"]) == 9
    assert check_evalset(out) == []
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]          # no partial folder left


def test_sampling_is_deterministic_and_spreads_identities(split, tmp_path):
    clips = find_clips(split)
    assert [c.name for c in clips] == sorted(p.stem for p in split.glob("*.mp4"))
    a, b = tmp_path / "a", tmp_path / "b"
    make(split, a, "--self", "4", "--cross", "3", "--seed", "7")
    make(split, b, "--self", "4", "--cross", "3", "--seed", "7")
    assert (a / "pairs.csv").read_text() == (b / "pairs.csv").read_text()
    assert digest(a) == digest(b)                                             # same files, byte for byte
    # the order of the clips given does not matter; the seed does
    assert sample_self(clips[::-1], 4, 7) == sample_self(clips, 4, 7)
    assert sample_cross(clips[::-1], 3, 7) == sample_cross(clips, 3, 7)
    picks = {tuple(r.id for r in sample_self(clips, 4, seed)) for seed in range(6)}
    assert len(picks) > 1
    # round-robin: 4 self rows from a split of 4 identities = one clip of each
    for seed in range(6):
        assert sorted(r.source.identity for r in sample_self(clips, 4, seed)) == sorted(SPLIT)


def test_per_identity_cap_and_sizes_beyond_the_split(split, tmp_path, capsys):
    clips = find_clips(split)
    every = sample_self(clips, 100, 0)
    assert sorted(r.id for r in every) == sorted(c.name for c in clips)       # all clips when N exceeds them
    capped = sample_self(clips, 100, 0, per_identity=1)
    assert sorted(r.source.identity for r in capped) == sorted(SPLIT)
    cross = sample_cross(clips, 100, 0, per_identity=2)
    for ident in SPLIT:
        assert sum(r.driving.identity == ident for r in cross) <= 2
        assert sum(r.source.identity == ident for r in cross) <= 2
    assert all(r.source.identity != r.driving.identity for r in cross)
    assert len({r.driving.name for r in cross}) == len(cross)                 # a clip drives once at most
    out = tmp_path / "es"
    assert make(split, out, "--self", "50", "--cross", "50", "--per_identity", "1") == 0
    text = capsys.readouterr().out
    assert "note: self: 4 of 50 rows (--per_identity 1)" in text
    assert check_evalset(out) == []


def test_identity_from_parent_and_unlabelled_clips(make_video, tmp_path):
    root = tmp_path / "raw"
    for ident, video in (("alice", "v1"), ("alice", "v2"), ("bob", "v1")):
        (root / ident / video).mkdir(parents=True)
        clip = make_video(frames=4, size=(40 if ident == "bob" else 48, 32))
        shutil.copyfile(clip, root / ident / video / "00001.mp4")
    clips = find_clips(root, "parent")
    assert [(c.name, c.identity) for c in clips] == [("alice#v1#00001", "alice"), ("alice#v2#00001", "alice"),
                                                     ("bob#v1#00001", "bob")]
    out = tmp_path / "es"
    assert make(root, out, "--identity_from", "parent", "--self", "3", "--cross", "2") == 0
    assert check_evalset(out) == []
    with pytest.raises(ConfigError, match="without an identity"):
        find_clips(root / "alice" / "v1")                                     # 00001.mp4 has no '#'
    (root / "loose.mp4").write_bytes((root / "bob" / "v1" / "00001.mp4").read_bytes())
    with pytest.raises(ConfigError, match=r"1 clip\(s\) without an identity \(loose.mp4\)"):
        find_clips(root, "parent")
    one = tmp_path / "one"
    one.mkdir()
    shutil.copyfile(make_video(frames=4), one / "solo#a#0#4.mp4")
    with pytest.raises(ConfigError, match="at least 2 identities"):
        build_evalset(find_clips(one), tmp_path / "x", input_dir=one, n_self=1, n_cross=1)
    assert build_evalset(find_clips(one), tmp_path / "x", input_dir=one, n_self=1, n_cross=0).count("self") == 1


def test_a_wrong_pair_is_refused_and_nothing_is_left(split, tmp_path):
    clips = {c.name: c for c in find_clips(split)}
    a, b = (next(c for c in clips.values() if c.identity == i) for i in ("id00017", "id00061"))
    out = tmp_path / "es"
    bad_rows = [Row("self", a.name, b, a),                         # a "self" pair of two people
                Row("cross", f"{a.name}__x", a, a)]                # a "cross" pair of one person
    with pytest.raises(EvalsetError) as info:
        build_evalset(list(clips.values()), out, input_dir=split, n_self=1, n_cross=1, rows=bad_rows)
    problems = "\n".join(info.value.problems)
    assert "same-identity row (gt_self/) with two identities: source 'id00061', driving 'id00017'" in problems
    assert "cross-identity row (gt_cross/) with one identity on both sides: 'id00017'" in problems
    assert "is not frame 0 of its ground truth" in problems
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_check_lists_mislabelled_rows(split, tmp_path, capsys):
    out = tmp_path / "es"
    make(split, out, "--self", "4", "--cross", "3")
    capsys.readouterr()
    assert kit_main(["make-evalset", "--check", str(out)]) == 0
    assert "every row is right" in capsys.readouterr().out
    rows = rows_of(out)
    self_rows = [r for r in rows if r["gt"].startswith("gt_self/")]
    cross_rows = [r for r in rows if r["gt"].startswith("gt_cross/")]
    # 1. a self row relabelled to another identity, 2. a cross row given one identity on both sides
    self_rows[0]["driving_id"] = "id99999"
    cross_rows[0]["source_id"] = cross_rows[0]["driving_id"]
    # 3. two sources of the self set swapped (the seed kit's mistake: a source of another person)
    s1, s2 = out / self_rows[1]["source"], out / self_rows[2]["source"]
    data1 = s1.read_bytes()
    s1.write_bytes(s2.read_bytes())
    s2.write_bytes(data1)
    # 4. a ground truth deleted
    (out / cross_rows[1]["gt"]).unlink()
    with (out / "pairs.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert kit_main(["make-evalset", "--check", str(out)]) == 1
    text = capsys.readouterr().out
    lines = [line.strip() for line in text.splitlines()[1:]]
    bad_ids = {line.split(":", 2)[1].split(" ", 1)[1] for line in lines}
    assert bad_ids == {self_rows[0]["id"], cross_rows[0]["id"], self_rows[1]["id"], self_rows[2]["id"],
                       cross_rows[1]["id"]}
    assert any("with two identities" in line and self_rows[0]["id"] in line for line in lines)
    assert any("one identity on both sides" in line and cross_rows[0]["id"] in line for line in lines)
    assert any("is not frame 0 of its ground truth" in line and self_rows[1]["id"] in line for line in lines)
    assert any("not found" in line and cross_rows[1]["id"] in line for line in lines)
    # without evalset.json only the pairs file and the folders can be checked: the relabelled rows still show
    (out / "evalset.json").unlink()
    problems = check_evalset(out)
    assert any("with two identities" in p for p in problems) and any("both sides" in p for p in problems)
    assert not any("frame 0" in p for p in problems)


def test_check_of_a_foreign_set_without_ids(tmp_path, make_video):
    base = tmp_path / "es"
    for folder in ("source_self", "gt_self"):
        (base / folder).mkdir(parents=True)
    shutil.copyfile(make_video(frames=4), base / "gt_self" / "a.mp4")
    (base / "source_self" / "a.png").write_bytes(b"")
    (base / "pairs.csv").write_text("source,driving\nsource_self/a.png,gt_self/a.mp4\n")
    problems = check_evalset(base)
    assert problems == ["pairs.csv:2 a: source_id and driving_id must both be given"]
    assert check_evalset(tmp_path / "es", pairs=tmp_path / "none.csv")[0].startswith("pairs file not found")


def test_outputs_are_checked_before_anything_is_written(split, tmp_path, capsys):
    assert make(split, split / "es") == 2
    assert "lies inside the input folder" in capsys.readouterr().err
    out = tmp_path / "es"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    assert make(split, out, "--self", "2", "--cross", "1") == 2
    assert "is not empty" in capsys.readouterr().err and (out / "mine.txt").exists()
    assert make(split, out, "--self", "2", "--cross", "1", "--overwrite") == 0
    assert not (out / "mine.txt").exists() and len(read_pairs(out / "pairs.csv", [out])) == 3
    assert make(split, out, "--self", "0", "--cross", "0", "--overwrite") == 2
    assert "both 0" in capsys.readouterr().err
    with pytest.raises(OutputError):
        build_evalset(find_clips(split), split, input_dir=split, n_self=1, n_cross=0)


def test_the_evaluator_scores_the_set(split, tmp_path):
    out = tmp_path / "es"
    assert make(split, out, "--self", "3", "--cross", "2") == 0
    assert kit_main(["baseline", "--source_dir", str(out / "source_self"), "--driving_dir", str(out / "gt_self"),
                     "--save_folder", str(out / "generate_baseline_self")]) == 0
    assert kit_main(["baseline", "--source_dir", str(out / "source_cross"), "--driving_dir", str(out / "gt_cross"),
                     "--save_folder", str(out / "generate_baseline")]) == 0
    for extra in ([], ["--pairs", "pairs_self.csv"]):
        res = tmp_path / f"results{len(extra)}"
        dirs = ["generate_baseline_self"] if extra else ["generate_baseline_self", "generate_baseline"]
        assert kit_main(["evaluate", "--base_dir", str(out), "--output_path", str(res), "--generate_dirs", *dirs,
                         "--metrics", "psnr,ssim", "--device", "cpu", "--no_progress", *extra]) == 0
        runs = {r["name"]: r for r in json.loads((res / "full_results.json").read_text())["runs"]}
        assert runs["generate_baseline_self"]["n_evaluated"] == 3
        assert runs["generate_baseline_self"]["metrics"]["psnr"]["value"] > 0
        if not extra:
            assert runs["generate_baseline"]["n_evaluated"] == 2
