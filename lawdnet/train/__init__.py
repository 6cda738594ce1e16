"""LawDNet training: data, losses, the training step and the stage runner (frame 64/128/256, clip)."""
