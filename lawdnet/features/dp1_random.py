"""A tiny random DeepSpeech v0.1.0-style graph for dp1 without the published weights (smoke runs, tests).

    graph_def_bytes = tiny_dp1_graph(seed=0)        # -> Dp1Extractor.from_graph_bytes(...), RANDOM WEIGHTS

The interface is output_graph.pb's (``deepspeech/input_node`` (1, T, 494) float32, ``input_lengths``, ``logits``
(T, 1, 29)), so everything after the graph runs as with the real one; the rows it gives mean nothing.
"""
from __future__ import annotations

import numpy as np

HIDDEN = 16  # width of the tiny graph's dense layer


def tiny_dp1_graph(scope: str = "", logits_name: str = "logits", seed: int = 2024) -> bytes:
    """A frozen TF1 GraphDef with DeepSpeech v0.1.0's interface: ``input_node`` (1, T, 494) float32,
    ``input_lengths`` (1,) int32, ``logits`` (T, 1, 29). Dense 494 -> 16 + tanh, a 3-step time convolution,
    a mask from ``input_lengths``, dense 16 -> 29. Weights from numpy's PCG64 with ``seed``."""
    from lawdnet.features.tf import tensorflow

    tf = tensorflow()
    rng = np.random.default_rng(seed)
    w1 = rng.uniform(-1, 1, (494, HIDDEN)).astype(np.float32) * np.float32(np.sqrt(3 / 494) * 2)
    b1 = rng.uniform(-0.2, 0.2, HIDDEN).astype(np.float32)
    k = rng.uniform(-1, 1, (3, HIDDEN, HIDDEN)).astype(np.float32) * np.float32(np.sqrt(3 / (3 * HIDDEN)))
    w2 = rng.uniform(-1, 1, (HIDDEN, 29)).astype(np.float32) * np.float32(np.sqrt(3 / HIDDEN) * 3)
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [1, None, 494], name="input_node")
        lengths = tf.compat.v1.placeholder(tf.int32, [None], name="input_lengths")
        h = tf.tanh(tf.einsum("btd,dh->bth", x, tf.constant(w1)) + tf.constant(b1))
        h = h + tf.nn.conv1d(h, tf.constant(k), stride=1, padding="SAME")
        mask = tf.sequence_mask(lengths, maxlen=tf.shape(h)[1], dtype=tf.float32)[:, :, None]
        out = tf.einsum("bth,hc->btc", h * mask, tf.constant(w2))
        tf.transpose(out, [1, 0, 2], name=logits_name)
    graph_def = graph.as_graph_def()
    if scope:  # a graph whose tensors live under another name scope (e.g. a later DeepSpeech export)
        for node in graph_def.node:
            node.name = f"{scope}/{node.name}"
            node.input[:] = [f"{scope}/{i}" if not i.startswith("^") else f"^{scope}/{i[1:]}" for i in node.input]
    return graph_def.SerializeToString()
