"""LawDNet/DINet training data from raw videos in the authors' layout: frames, audio, features, crops, JSON."""
from lawdnet.prep.run import REPORT, Plan, preprocess

__all__ = ["REPORT", "Plan", "preprocess"]
