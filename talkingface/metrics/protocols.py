"""What every metric is: its spec (kind, full-reference, direction, weights) and the named protocol printed next to
each number, plus the protocol options a metric takes. One table; no metric code is imported here.

docs/architecture.md ("Protocols") has the table in prose; a protocol's text is part of every report.
"""
from __future__ import annotations

from talkingface.metrics.base import MetricSpec

NIQE_PROTOCOLS = {
    "pyiqa": ("NIQE, pyiqa niqe with the official LIVE pristine parameters: Y = round(0.299R+0.587G+0.114B) "
              "of uint8 RGB, 96-px blocks, 2 scales (MATLAB bicubic imresize 0.5), needs >= 192 px"),
    "matlab": ("NIQE (matlab variant), official LIVE pristine parameters: gray = MATLAB rgb2gray "
               "(0.298936R+0.587043G+0.114021B, rounded), 96-px blocks, 2 scales, needs >= 192 px"),
}
PSNR_PROTOCOL = "PSNR on RGB uint8, data range 255, per frame (skimage peak_signal_noise_ratio)"
SSIM_PROTOCOLS = {
    "standard": ("SSIM standard: uint8 RGB, Gaussian sigma 1.5, population covariance, data range 255 "
                 "(skimage structural_similarity, Wang et al.)"),
    "fomm": ("SSIM fomm: float [0,1] RGB, 7x7 uniform window, sample covariance, data range 2 "
             "(the DaGAN/MCNet authors' skimage call; only for comparing with those papers)"),
}
FID_PROTOCOL = ("FID, pytorch-fid: InceptionV3 pt_inception-2015-12-05 weights, pool3 2048-d, bilinear resize "
                "to 299 without antialias, float64 statistics, scipy sqrtm")
FID_DIMS = (64, 192, 768, 2048)          # pytorch-fid's blocks; only 2048 is the standard FID
#: how FID's trace term tr √(Σ1 Σ2) is computed (talkingface.metrics.fid): auto = from eigenvalues when both sets
#: have more images than dims (full-rank: equal to sqrtm to 1e-6 relative), else pytorch-fid's scipy sqrtm
FRECHET_METHODS = ("auto", "eig", "sqrtm")
LPIPS_PROTOCOL = "LPIPS v0.1 AlexNet (lpips package), inputs scaled to [-1,1], per frame"
L1_PROTOCOL = "L1 (FOMM): mean absolute error of RGB pixels scaled to [0,1] (uint8 / 255), per frame"
AKD_PROTOCOL = ("AKD (FOMM pose-evaluation extract.py face_pose + cmp_kp.py): face-alignment 2D-FAN-4 68 landmarks "
                "(S3FD detector, flip_input False, first face) of generated and ground-truth frames; per frame the "
                "mean |difference| over the 136 coordinates, in pixels of a 256x256 frame; frames without a face "
                "on either side skipped")
AED_PROTOCOL = ("AED (FOMM pose-evaluation extract.py face_id + cmp.py): whole frame RGB->BGR, skimage resize to "
                "96x96 with scikit-image 0.14.0's defaults (bilinear, mode='constant', no anti-aliasing), OpenFace "
                "nn4.small2.v1 (OpenFacePytorch d0022183, legacy cross-map LRN) 128-d unit embedding; per frame the "
                "squared Euclidean distance (no sqrt) between generated and ground truth, mean over frames")
CSIM_PROTOCOL = ("CSIM (DaGAN utils.py): facenet-pytorch MTCNN(image_size=256, margin=0) crop of the largest face, "
                 "InceptionResnetV1 'vggface2' embedding, cosine similarity of source and generated; frames without "
                 "a face skipped")
LSE_PROTOCOL = ("LSE (syncnet_python SyncNetInstance.evaluate): 25 fps, 224x224 frames after JPEG round trip, "
                "16 kHz MFCC, 5-frame windows, vshift 15; LSE-D = min mean distance, LSE-C = median - min")
LSE_MODES = ("whole-frame", "face-track")

#: name -> spec, in report order. The runner and the reports read these fields, never the metric code.
SPECS: dict[str, MetricSpec] = {spec.name: spec for spec in (
    MetricSpec("niqe", "image", False, True, (), NIQE_PROTOCOLS["pyiqa"]),
    MetricSpec("psnr", "image", True, False, (), PSNR_PROTOCOL),
    MetricSpec("ssim", "image", True, False, (), SSIM_PROTOCOLS["standard"]),
    MetricSpec("lpips", "image", True, True, ("alexnet_imagenet", "lpips_alex_linear"), LPIPS_PROTOCOL),
    MetricSpec("l1", "image", True, True, (), L1_PROTOCOL),
    MetricSpec("akd", "image", True, True, ("face_alignment_2dfan4", "face_alignment_s3fd"), AKD_PROTOCOL),
    MetricSpec("aed", "image", True, True, ("openface_nn4_small2",), AED_PROTOCOL),
    MetricSpec("csim", "image", False, False, ("facenet_vggface2", "mtcnn_pnet", "mtcnn_rnet", "mtcnn_onet"),
               CSIM_PROTOCOL, source_reference=True),
    MetricSpec("fid", "set", False, True, ("fid_inception",), FID_PROTOCOL),
    MetricSpec("lse_c", "video", False, False, ("syncnet_v2",), LSE_PROTOCOL, needs_audio=True),
    MetricSpec("lse_d", "video", False, True, ("syncnet_v2",), LSE_PROTOCOL, needs_audio=True),
)}
