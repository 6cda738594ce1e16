"""The evaluation_set layout and the one pairs.csv format, as the generators and the evaluator read it."""
from __future__ import annotations

import pytest

from talkingface.errors import ConfigError
from talkingface.evalset import (
    COLUMNS,
    generated_folders,
    generator_pairs,
    media_files,
    mode_of,
    read_pairs,
    write_pairs,
)
from talkingface.media import write_image


@pytest.fixture
def eval_set(tmp_path, make_video):
    """source_self/{a,b}.png, gt_self/{a,c}.png, two generated folders, one odd file."""
    base = tmp_path / "set"
    for folder, names in (("source_self", "ab"), ("gt_self", "ac"), ("generate_x_self", "a"), ("generate_x", "a")):
        (base / folder).mkdir(parents=True)
        for i, name in enumerate(names):
            write_image(base / folder / f"{name}.png", make_video.frame(i, 16, 16))
    (base / "gt_self" / "notes.txt").write_text("not media")
    return base


def test_layout_rules(eval_set):
    assert mode_of("generate_dagan_self") == "self" and mode_of("generate_dagan") == "cross"
    assert mode_of("generate_self_made") == "cross"          # the suffix decides, not a substring
    assert generated_folders(eval_set) == ["generate_x", "generate_x_self"]
    warnings: list[str] = []
    assert sorted(media_files(eval_set / "gt_self", warnings)) == ["a", "c"]
    assert len(warnings) == 1 and "notes.txt" in warnings[0]


def test_round_trip_and_defaults(tmp_path, eval_set):
    path = write_pairs(tmp_path / "pairs.csv", [
        {"id": "p1", "source": "source_self/a.png", "driving": "gt_self/a.png", "source_id": "A", "driving_id": "A"},
        {"source": "source_self/b.png", "gt": "gt_self/c.png", "source_id": "B", "driving_id": "C"},
    ])
    assert path.read_text().splitlines()[0] == ",".join(COLUMNS)
    rows = read_pairs(path, [eval_set])
    assert [r.id for r in rows] == ["p1", "c"]                  # id defaults to the driving (= gt) file's stem
    assert rows[0].gt == rows[0].driving == eval_set / "gt_self" / "a.png"     # gt defaults to driving
    assert rows[1].driving == rows[1].gt == eval_set / "gt_self" / "c.png"     # and driving to gt
    assert [r.same_identity for r in rows] == [True, False]
    assert all(not r.problems for r in rows)


def test_legacy_generated_column_and_missing_files(tmp_path, eval_set):
    csv_path = eval_set / "pairs.csv"
    csv_path.write_text("generated,gt,source\nid0.png,gt_self/a.png,source_self/zzz.png\n")
    (row,) = read_pairs(csv_path)                               # relative to the CSV's folder by default
    assert row.id == "id0" and row.gt == eval_set / "gt_self" / "a.png" and row.same_identity is None
    assert row.source is None and "source 'source_self/zzz.png' not found" in row.problems[0]


@pytest.mark.parametrize("text, message", [
    ("source,video\na.png,b.png\n", r"needs a 'driving' \(or 'gt'\) column"),
    ("driving,id\na.png,x\nb.png,x\n", "id 'x' already used on line 2"),
    ("driving\n", "no rows"),
    ("driving,source\n,a.png\n", "empty 'driving'"),
])
def test_malformed_files(tmp_path, text, message):
    path = tmp_path / "pairs.csv"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        read_pairs(path)


def test_generator_pairs_by_name_and_by_csv(tmp_path, eval_set):
    warnings: list[str] = []
    rows = generator_pairs(eval_set / "source_self", eval_set / "gt_self", None, warnings)
    assert [(r.id, r.source.name, r.driving.name) for r in rows] == [("a", "a.png", "a.png")]
    assert any("c.png" in w for w in warnings)                  # a driving file without a source is reported
    csv_path = tmp_path / "pairs.csv"
    csv_path.write_text("source,driving,id\na.png,c.png,ac\n")
    (row,) = generator_pairs(eval_set / "source_self", eval_set / "gt_self", csv_path, [])
    assert (row.id, row.source, row.driving) == ("ac", eval_set / "source_self" / "a.png",
                                                 eval_set / "gt_self" / "c.png")
    csv_path.write_text("source,driving\nnope.png,c.png\n")
    with pytest.raises(ConfigError, match=r"pairs.csv:2: source 'nope.png' not found"):
        generator_pairs(eval_set / "source_self", eval_set / "gt_self", csv_path, [])
    csv_path.write_text("driving\nc.png\n")
    with pytest.raises(ConfigError, match="needs the column"):
        generator_pairs(eval_set / "source_self", eval_set / "gt_self", csv_path, [])
    with pytest.raises(ConfigError, match="--source_dir is needed"):
        generator_pairs(None, eval_set / "gt_self", None, [])
