"""DaGAN training: the authors' losses (``losses``), perceptual VGG19 + image pyramid (``perceptual``), random TPS
warp of the equivariance losses (``equivariance``), the FOMM frames dataset and augmentation (``dataset``,
``augment``), one training step (``step``), what a run is asked (``options``) and the run itself (``run``:
``train(TrainOptions(...))``, what ``python -m dagan.train`` calls)."""
from dagan.train.dataset import DatasetRepeater, EvalPairs, FramesDataset
from dagan.train.equivariance import RandomTPS
from dagan.train.losses import DiscriminatorLoss, GeneratorLoss, LossSettings
from dagan.train.perceptual import ImagePyramid, Vgg19Features, build_vgg19

__all__ = ["DatasetRepeater", "DiscriminatorLoss", "EvalPairs", "FramesDataset", "GeneratorLoss", "ImagePyramid",
           "LossSettings", "RandomTPS", "Vgg19Features", "build_vgg19"]
