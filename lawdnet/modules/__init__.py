"""LawDNet and DINet networks, one per file; parameter names and shapes are the authors' (their files load strictly)."""
