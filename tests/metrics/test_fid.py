"""FID against pytorch-fid's own code, with a randomly initialised FID-Inception saved in the authors' format."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from _metric_images import crops, pool3_like_features

from talkingface.errors import KitError, WeightsError
from talkingface.metrics import NotComputable, SetResult, create_metric, fid
from talkingface.metrics.fid import FidMetric, fingerprint_files, frechet_distance

pytest.importorskip("pytorch_fid")
# scipy warns that sqrtm of a rank-deficient product may be inaccurate (pytorch-fid gets the same warning)
pytestmark = pytest.mark.filterwarnings("ignore::scipy.linalg.LinAlgWarning", "ignore:fid. N < :UserWarning")


def _write_set(folder, images, ext="png"):
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i, img in enumerate(images):
        Image.fromarray(img).save(folder / f"{i:03d}.{ext}")
    return folder


def test_value_equals_pytorch_fid_given_paths(fid_weights, tmp_path, monkeypatch):
    from pytorch_fid.fid_score import calculate_fid_given_paths

    a = _write_set(tmp_path / "a", crops(8, seed=0))
    b = _write_set(tmp_path / "b", crops(10, seed=1))
    monkeypatch.setenv("TORCH_HOME", str(fid_weights["torch_home"]))
    want = calculate_fid_given_paths([str(a), str(b)], batch_size=50, device="cpu", dims=192, num_workers=0)
    with pytest.warns(UserWarning, match="N < 192"):
        ours = fid(a, b, weights=fid_weights["path"], dims=192)
    assert ours == pytest.approx(want, rel=1e-4)
    assert ours == pytest.approx(want, rel=1e-6)   # same network and batches; singular sqrtm amplifies rounding
    assert ours > 1.0


@pytest.mark.slow
def test_pool3_features_equal_pytorch_fid_inception(fid_weights, monkeypatch):
    """dims 2048 (FIDInceptionE blocks, avg pool): the features, since scipy's sqrtm at 2048-d takes minutes."""
    from pytorch_fid.inception import InceptionV3

    monkeypatch.setenv("TORCH_HOME", str(fid_weights["torch_home"]))
    ref_net = InceptionV3([3]).eval()
    imgs = np.stack(crops(3, size=120, seed=2))
    with torch.no_grad():
        want = ref_net(torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 255)[0].squeeze(3).squeeze(2)
    metric = FidMetric(create_metric.__globals__["get_spec"]("fid"), weights=fid_weights["path"])
    ours = metric.features(imgs)
    assert ours.shape == (3, 2048)
    np.testing.assert_allclose(ours, want.double().numpy(), rtol=1e-6, atol=1e-7)


def test_frechet_distance_equals_pytorch_fid():
    from pytorch_fid.fid_score import calculate_frechet_distance

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 16)), rng.normal(0.3, 1.2, size=(40, 16))
    args = (x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False))
    assert frechet_distance(*args) == pytest.approx(calculate_frechet_distance(*args), rel=1e-10)
    # rank-deficient covariances (N < dims): the offset path of pytorch-fid
    x, y = rng.normal(size=(5, 16)), rng.normal(size=(5, 16))
    args = (x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False))
    assert frechet_distance(*args) == pytest.approx(calculate_frechet_distance(*args), rel=1e-6)


@pytest.mark.parametrize("dims,n", [(64, 300), (512, 900)])
def test_the_eigenvalue_trace_equals_pytorch_fids_sqrtm(dims, n):
    """Full-rank covariances (N > dims): the eigenvalue route equals pytorch-fid's own sqrtm-based value to 1e-6."""
    from pytorch_fid.fid_score import calculate_frechet_distance

    x, y = pool3_like_features(n, dims, 1), pool3_like_features(n + 7, dims, 2, shift=0.2)
    args = (x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False))
    want = calculate_frechet_distance(*args)
    assert frechet_distance(*args, method="eig") == pytest.approx(want, rel=1e-6)
    assert frechet_distance(*args, method="sqrtm") == pytest.approx(want, rel=1e-12)


def test_the_eigenvalue_trace_without_a_cholesky_factor():
    """Σ1 singular (not positive definite: no Cholesky factor): the symmetric square-root route gives tr √(Σ1 Σ2)
    equal to scipy's sqrtm of the product, and so does the positive definite case through the one-call route."""
    from scipy.linalg import sqrtm

    from talkingface.metrics.fid import trace_sqrt_product

    x, y = pool3_like_features(40, 64, 1), pool3_like_features(300, 64, 2, shift=0.2)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)       # s1 has rank 39 < 64
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.cholesky(s1 - 1e-9 * np.eye(64))
    for a, b in ((s1, s2), (s2, s1 + np.eye(64))):
        want = float(np.trace(sqrtm(a @ b)).real)
        assert trace_sqrt_product(a, b) == pytest.approx(want, rel=1e-6)


def test_auto_takes_eigenvalues_only_for_full_rank_sets(fid_weights):
    from talkingface.metrics.fid import frechet_method

    assert frechet_method("auto", 3000, 2049, 2048) == "eig"
    assert frechet_method("auto", 3000, 2048, 2048) == "sqrtm"        # rank-deficient: pytorch-fid's offset path
    assert frechet_method("sqrtm", 5000, 5000, 2048) == "sqrtm"
    with pytest.raises(KitError, match="method must be one of auto, eig, sqrtm"):
        create_metric("fid", weights=fid_weights["path"], dims=64, method="schur")


def test_set_metric_api_batches_and_iterables(fid_weights, tmp_path):
    gen, ref = crops(9, seed=3), crops(7, seed=4)
    m = create_metric("fid", weights=fid_weights["path"], dims=64)
    m.add_generated(np.stack(gen[:4]))
    m.add_generated(np.stack(gen[4:]))          # streamed in two batches
    m.add_reference(np.stack(ref))
    result = m.compute()
    assert isinstance(result, SetResult) and (result.n_generated, result.n_reference) == (9, 7)
    assert "N < 64" in result.warning and "9 generated / 7 reference" in result.warning
    m2 = create_metric("fid", weights=fid_weights["path"], dims=64)      # per-frame features, added later
    for img in gen:
        m2.add_generated_features(m2.features(img))
    m2.add_reference_features(m2.features(np.stack(ref)))
    assert m2.compute().value == pytest.approx(result.value, rel=1e-6)
    with pytest.warns(UserWarning, match="N < 64"):
        one_shot = fid(iter(gen), (r for r in ref), weights=fid_weights["path"], dims=64, return_result=True)
    assert one_shot.value == pytest.approx(result.value, rel=1e-6)   # float32 convs vary with batch size
    with pytest.warns(UserWarning, match="N < 64"):
        folder = fid(_write_set(tmp_path / "g", gen), _write_set(tmp_path / "r", ref), weights=fid_weights["path"],
                     dims=64, return_result=True)
    assert folder.value == pytest.approx(one_shot.value, rel=1e-12)
    with pytest.raises(NotComputable, match="at least 2 images"):
        fid([gen[0]], ref, weights=fid_weights["path"], dims=64)


def test_reference_statistics_cache(fid_weights, tmp_path):
    gen = _write_set(tmp_path / "gen", crops(6, seed=5), "bmp")
    ref = _write_set(tmp_path / "ref", crops(6, seed=6), "bmp")
    cache = tmp_path / "cache" / "ref_stats.npz"
    first = fid(gen, ref, weights=fid_weights["path"], dims=64, reference_cache=cache)
    with np.load(cache) as f:
        assert int(f["n"]) == 6 and f["mu"].shape == (64,) and f["sigma"].shape == (64, 64)
        assert str(f["fingerprint"]) == fingerprint_files(sorted(ref.iterdir()))
    # new pixels, same names, sizes and mtimes: the cache is trusted (proves it is used, not recomputed)
    victim = ref / "000.bmp"
    stat = victim.stat()
    _write_set(tmp_path / "other", crops(1, seed=9), "bmp")
    os.replace(tmp_path / "other" / "000.bmp", victim)
    os.utime(victim, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert victim.stat().st_size == stat.st_size
    assert fid(gen, ref, weights=fid_weights["path"], dims=64, reference_cache=cache) == first
    # a touched file changes the fingerprint: statistics are recomputed and the cache rewritten
    os.utime(victim, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    second = fid(gen, ref, weights=fid_weights["path"], dims=64, reference_cache=cache)
    assert second != pytest.approx(first, rel=1e-6)
    assert fid(gen, ref, weights=fid_weights["path"], dims=64) == pytest.approx(second, rel=1e-12)
    # statistics of other dims are never reused
    m = create_metric("fid", weights=fid_weights["path"], dims=192)
    assert not m.reference_from_cache(cache) and not m.reference_from_cache(tmp_path / "absent.npz")


def test_weights_errors(fid_weights, tmp_path):
    with pytest.raises(WeightsError, match=r"weights missing: .*nope\.pth "
                                           r"\(`python -m talkingface weights fetch fid_inception"):
        create_metric("fid", weights=tmp_path / "nope.pth")
    state = torch.load(fid_weights["path"], weights_only=True)
    del state["Mixed_7c.branch_pool.conv.weight"]
    bad = tmp_path / "bad.pth"
    torch.save(state, bad)
    with pytest.raises(WeightsError, match=r"bad\.pth: the FID-Inception state dict does not match .*missing key.*"
                                           r"Mixed_7c\.branch_pool\.conv\.weight"):
        create_metric("fid", weights=bad)
