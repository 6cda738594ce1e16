"""The command lines of the LawDNet package: one module per ``python -m lawdnet.<command>``."""
