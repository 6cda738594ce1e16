"""The evaluation_set: its folder layout and self/cross rule (``layout``) and the one ``pairs.csv`` format
(``pairs``), shared by every generator and by the evaluator."""
from talkingface.evalset.layout import (
    INPUT_FOLDERS,
    few,
    generated_folders,
    ground_truth_folder,
    media_files,
    mode_of,
    source_folder,
)
from talkingface.evalset.pairs import COLUMNS, PairRow, generator_pairs, read_pairs, write_pairs

__all__ = [
    "COLUMNS",
    "INPUT_FOLDERS",
    "PairRow",
    "few",
    "generated_folders",
    "generator_pairs",
    "ground_truth_folder",
    "media_files",
    "mode_of",
    "read_pairs",
    "source_folder",
    "write_pairs",
]
