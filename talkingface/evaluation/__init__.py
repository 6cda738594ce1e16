"""The evaluation runner: score the generated folders of an evaluation_set with the metric registry, resumably.

    from talkingface.evaluation import evaluate
    results = evaluate("evaluation_set", ["generate_dagan_self", "generate_dagan"], "outputs/eval")

One module per job: ``config`` (options), ``plan`` (which files are scored against which), ``frames`` (streaming
images and videos, paired by index), ``stream`` (one sample's frames, with its ground truth and source, into the
batcher), ``metrics`` (the metric objects of a run), ``batcher`` (frames of consecutive
samples batched through every metric), ``cache`` (resume), ``run`` (one generated folder), ``aggregate`` (means, N,
notes), ``fidstats`` (FID's statistics in a fixed order), ``runner`` (all runs and the reports; shards and their merge,
docs/scale_out.md).
"""
from talkingface.evaluation.config import EvaluateConfig
from talkingface.evaluation.runner import evaluate, run_evaluation, shard_message

__all__ = ["EvaluateConfig", "evaluate", "run_evaluation", "shard_message"]
