"""Honest aggregation and provenance: counts of failed, missing and mismatched samples; what made a folder; the
results folder is never an input."""
from __future__ import annotations

import shutil

import pytest
from evaluate_helpers import sample_by_name

from talkingface.errors import OutputError
from talkingface.generated import GeneratedFolder, Maker


def test_a_mean_over_fewer_samples_than_asked_for_is_flagged(copy_set, run_eval, make_video):
    base = copy_set(keep={"generate_base_self"})
    gen = base / "generate_base_self"
    (gen / "id2.png").write_bytes(b"not an image")                 # fails
    (gen / "id1.png").unlink()                                       # never generated
    shutil.copy(make_video(frames=5, size=(192, 192), fps=30), gen / "v0.mp4")   # another frame rate
    results, log = run_eval(base, ["generate_base_self"])
    integrity = results["runs"][0]["integrity"]
    assert integrity == {"requested": 5, "evaluated": 3, "failed": 1, "dropped_pairs": 1, "fps_mismatch": 1,
                         "length_mismatch": 1, "flagged": True, "notes": integrity["notes"]}
    assert "mean over 3 of 5 samples (1 failed, 1 without a generated file)" in integrity["notes"]
    assert any("mean over 3 of 5 samples" in line for line in log)
    assert any("another frame rate" in line for line in log)
    note = " ".join(sample_by_name(results["runs"][0], "v0")["notes"])
    assert "frame rates differ (generated 30.000 fps, ground truth 25.000 fps)" in note
    assert results["runs"][0]["metrics"]["psnr"]["n"] == 3


def test_provenance_of_the_generated_folder_is_reported(copy_set, run_eval):
    base = copy_set(keep={"generate_base_self"})
    gen = base / "generate_base_self"
    made = base / "generate_random_self"
    folder = GeneratedFolder(made, Maker("dagan", random_weights=True, label="RANDOM WEIGHTS — not the authors' "
                                         "model", settings={"random_seed": 0}))
    made.mkdir()                                                     # a generator's first write makes it
    for path in sorted(gen.iterdir()):
        shutil.copy(path, made / path.name)
        folder.add(path.name, source=base / "source_self" / path.name)
    results, log = run_eval(base, ["generate_random_self", "generate_base_self"])
    by_name = {run["name"]: run for run in results["runs"]}
    prov = by_name["generate_random_self"]["provenance"]
    assert prov["random_weights"] is True and prov["label"].startswith("RANDOM WEIGHTS") and prov["model"] == "dagan"
    assert prov["files_recorded"] == 5 and prov["files_unrecorded"] == [] and prov["settings"] == {"random_seed": 0}
    assert by_name["generate_base_self"]["provenance"] is None          # made outside the kit: unknown
    assert any("generate_random_self: made with RANDOM WEIGHTS" in line for line in log)
    assert not any("provenance.json" in line for line in log)           # the manifest is no stray file


@pytest.mark.parametrize("where", ["gt_self", "generate_base_self", "gt_self/results", "."])
def test_results_never_go_into_the_inputs(copy_set, run_eval, where):
    base = copy_set(keep={"generate_base_self"})
    before = sorted(p.relative_to(base) for p in base.rglob("*"))
    with pytest.raises(OutputError, match="--output_path"):
        run_eval(base, ["generate_base_self"], out=base / where)
    assert sorted(p.relative_to(base) for p in base.rglob("*")) == before
