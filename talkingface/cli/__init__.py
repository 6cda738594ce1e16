"""Command modules of `python -m talkingface`; each exposes `main(argv) -> int` and only parses and calls."""
