"""The DaGAN commands: ``animate`` (one source, one driving video) and ``generate`` (an evaluation set).

Both share the model flags and the run record of :mod:`dagan.cli.options`; neither imports the other.
"""
