"""Paths and file readers of the training-core tests (imported by name: ``from conftest import`` resolves to
whichever conftest.py was imported last when several test folders are collected)."""
import csv
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TOY_SCRIPT = Path(__file__).resolve().parent / "_training_toy.py"


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))
