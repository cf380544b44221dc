#!/usr/bin/env python3
"""Writes tests/golden/gradients.safetensors: PyTorch's gradients for tests/kernels.rs.

    python3 tests/golden/make_gradient_golden.py

Two kinds of entries, all float32, inputs random with torch.manual_seed(0):

- Layers, `conv.{i}.*` and `norm.{i}.*`: a convolution (with bias; square kernel, stride, padding,
  the input optionally upsampled x2 nearest first) or a GroupNorm (optionally followed by SiLU) on
  odd shapes; the loss is sum(y * mix). Stored: the inputs (x, w, b or gamma, beta, mix), the
  output y and the gradients dx, dw, db (dgamma, dbeta). Each case's settings are in the metadata
  as JSON (`conv.{i}`, `norm.{i}`).
- The whole network, `unet.*`: DigitUNet with the tiny architecture of make_model_golden.py
  (channels 8/8/16, 4 groups), random weights with GroupNorm parameters perturbed from 1 and 0,
  a batch of four (x_t, t, y, target); the loss is the mean squared error, as in training.
  Stored: `unet.weight.<name>` for every parameter, the batch, `unet.loss`, and
  `unet.grad.<name>` for every parameter.
"""
import json
import pathlib
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "training"))
from unet import DigitUNet  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parent / "gradients.safetensors"
TINY = {"channels": [8, 8, 16], "groups": 4, "sinusoid_dim": 8, "emb_dim": 16, "classes": 10}

# (batch, cin, cout, h, w, kernel, stride, padding, upsample)
CONVOLUTIONS = [
    (2, 5, 4, 7, 6, 3, 1, 1, False),
    (2, 9, 8, 14, 15, 3, 1, 1, False),
    (2, 6, 5, 7, 9, 3, 2, 1, False),
    (2, 7, 3, 5, 6, 1, 1, 0, False),
    (2, 5, 6, 7, 4, 3, 1, 1, True),
    (1, 3, 2, 7, 5, 3, 2, 0, False),
]
# (batch, channels, groups, h, w, silu)
NORMS = [
    (2, 6, 3, 7, 5, True),
    (3, 4, 1, 1, 1, False),
    (2, 16, 8, 14, 14, True),
]


def leaf(*shape, scale=1.0, offset=0.0):
    return (torch.randn(*shape) * scale + offset).requires_grad_(True)


def conv_case(i, case, tensors, metadata):
    batch, cin, cout, h, w, k, stride, padding, upsample = case
    x, weight, bias = leaf(batch, cin, h, w), leaf(cout, cin, k, k, scale=0.3), leaf(cout)
    seen = F.interpolate(x, scale_factor=2, mode="nearest") if upsample else x
    y = F.conv2d(seen, weight, bias, stride=stride, padding=padding)
    mix = torch.randn_like(y)
    (y * mix).sum().backward()
    for name, t in [("x", x), ("w", weight), ("b", bias), ("mix", mix), ("y", y),
                    ("dx", x.grad), ("dw", weight.grad), ("db", bias.grad)]:
        tensors[f"conv.{i}.{name}"] = t.detach().contiguous()
    metadata[f"conv.{i}"] = json.dumps({"stride": stride, "padding": padding, "upsample": upsample})


def norm_case(i, case, tensors, metadata):
    batch, channels, groups, h, w, silu = case
    x = leaf(batch, channels, h, w, scale=2.0, offset=0.5)
    gamma, beta = leaf(channels, scale=0.3, offset=1.0), leaf(channels, scale=0.3)
    y = F.group_norm(x, groups, gamma, beta, eps=1e-5)
    y = F.silu(y) if silu else y
    mix = torch.randn_like(y)
    (y * mix).sum().backward()
    for name, t in [("x", x), ("gamma", gamma), ("beta", beta), ("mix", mix), ("y", y),
                    ("dx", x.grad), ("dgamma", gamma.grad), ("dbeta", beta.grad)]:
        tensors[f"norm.{i}.{name}"] = t.detach().contiguous()
    metadata[f"norm.{i}"] = json.dumps({"groups": groups, "silu": silu})


def unet_case(tensors, metadata):
    model = DigitUNet(TINY)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.GroupNorm):
                module.weight.copy_(1.0 + 0.3 * torch.randn_like(module.weight))
                module.bias.copy_(0.2 * torch.randn_like(module.bias))
    x_t = torch.randn(4, 1, 28, 28)
    t = torch.tensor([1.0, 250.0, 999.0, 500.0])
    y = torch.tensor([3, 10, 0, 7])
    target = torch.randn(4, 1, 28, 28)
    loss = F.mse_loss(model(x_t, t, y), target)
    loss.backward()
    for name, p in model.named_parameters():
        tensors[f"unet.weight.{name}"] = p.detach().contiguous()
        tensors[f"unet.grad.{name}"] = p.grad.detach().contiguous()
    tensors["unet.x_t"], tensors["unet.t"], tensors["unet.target"] = x_t, t, target
    tensors["unet.y"] = y.to(torch.int64)
    tensors["unet.loss"] = loss.detach().reshape(1)
    metadata["unet.architecture"] = json.dumps(TINY)


def main():
    torch.manual_seed(0)
    tensors, metadata = {}, {"command": "python3 tests/golden/make_gradient_golden.py",
                             "generator": f"PyTorch {torch.__version__}"}
    for i, case in enumerate(CONVOLUTIONS):
        conv_case(i, case, tensors, metadata)
    for i, case in enumerate(NORMS):
        norm_case(i, case, tensors, metadata)
    unet_case(tensors, metadata)
    save_file(tensors, str(OUT), metadata=metadata)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(tensors)} tensors)")


if __name__ == "__main__":
    main()
