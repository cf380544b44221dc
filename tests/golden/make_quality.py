#!/usr/bin/env python3
"""Writes tests/golden/quality.json: reference values of the evaluation lab's measures on fixed
features, computed the way the common implementations compute them:

- FID: the formula of the common PyTorch FID implementation (pytorch-fid's
  `calculate_frechet_distance`): mu = mean, sigma = np.cov(rowvar=False),
  ||mu1 - mu2||^2 + tr(sigma1) + tr(sigma2) - 2 tr(scipy.linalg.sqrtm(sigma1 @ sigma2)).real, with its
  eps offset where sqrtm is not finite.
- KID: the unbiased squared MMD with the polynomial kernel (x.y / d + 1)^3 (clean-fid's and
  torch-fidelity's kernel), over all pairs (one "subset" holding every sample; sizes m and n).
- Precision and recall (Kynkaenniemi et al. 2019, k = 3): radii from np.partition of each point's
  distances to its own set (the k-th neighbour, itself excluded), a point counted when it lies in
  any ball of the other set.

Cases: two Gaussian-ish sets of width 16 (more samples than features), and two ReLU'd sets of width
128 with fewer samples than features (singular covariances, as FID on a few samples meets them).
Every feature is a multiple of 1/64, exactly representable in float32. Regenerate (a maintainer's tool):

    pip install numpy==2.* scipy==1.17.*
    python3 tests/golden/make_quality.py
"""

import json
import pathlib

import numpy as np
from scipy import linalg


def fid(a, b, eps=1e-6):
    mu1, mu2 = a.mean(axis=0), b.mean(axis=0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    diff = mu1 - mu2
    covmean = linalg.sqrtm(s1.dot(s2))
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * eps
        covmean = linalg.sqrtm((s1 + offset).dot(s2 + offset))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def kid(x, y):
    d = x.shape[1]
    k = lambda p, q: (p @ q.T / d + 1.0) ** 3
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    m, n = len(x), len(y)
    return float(
        (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
        + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
        - 2 * kxy.sum() / (m * n)
    )


def radii(points, k=3):
    dist = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(-1))
    return np.partition(dist, k, axis=1)[:, k]


def coverage(manifold, others, k=3):
    r = radii(manifold, k)
    dist = np.sqrt(((others[:, None, :] - manifold[None, :, :]) ** 2).sum(-1))
    return float((dist <= r[None, :]).any(axis=1).mean())


def case(name, real, fake):
    # Multiples of 1/64: exact in float32, and short in the JSON.
    real = np.round(real * 64) / 64
    fake = np.round(fake * 64) / 64
    return {
        "name": name,
        "width": real.shape[1],
        "real": real.ravel().tolist(),
        "fake": fake.ravel().tolist(),
        "fid": fid(fake, real),
        "kid": kid(fake, real),
        "precision": coverage(real, fake),
        "recall": coverage(fake, real),
    }


def main():
    rng = np.random.default_rng(2026)
    mix = rng.normal(size=(16, 16)) / 4
    real = rng.normal(size=(300, 16)) @ mix + 0.5
    fake = rng.normal(size=(200, 16)) @ (mix + rng.normal(size=(16, 16)) / 10) + 0.6
    wide_mix = rng.normal(size=(128, 128)) / 8
    wide_real = np.maximum(rng.normal(size=(90, 128)) @ wide_mix, 0)
    wide_fake = np.maximum(rng.normal(size=(60, 128)) @ wide_mix + 0.1, 0)
    cases = [case("gaussian-16", real, fake), case("relu-128-singular", wide_real, wide_fake)]
    out = pathlib.Path(__file__).with_name("quality.json")
    out.write_text(json.dumps({"script": "tests/golden/make_quality.py", "cases": cases}))
    for c in cases:
        print(c["name"], c["fid"], c["kid"], c["precision"], c["recall"])


if __name__ == "__main__":
    main()
