"""DaGAN networks, one per file; parameter names and shapes are the authors' (their checkpoints load strictly)."""
