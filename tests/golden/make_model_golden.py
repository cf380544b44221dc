#!/usr/bin/env python3
"""Writes the golden files of tests/model_golden.rs from the PyTorch reference (training/unet.py).

    python3 tests/golden/make_model_golden.py

Each file is a checkpoint in the format training writes (same tensor names, same metadata keys), so
the test goes through the program's own loader, plus extra tensors under `golden.*` holding fixed
inputs and the reference's outputs for them:

- unet-golden.safetensors: DigitUNet() with the default config, weights stored as float16 (this
  exercises the loader's conversion to f32; the outputs were computed with the f16-rounded weights).
- unet-tiny-golden.safetensors: DigitUNet with channels 8/8/16, 4 groups, sinusoid 8, embedding 16,
  weights stored as float32 (a non-default architecture read from the metadata). The test's error
  cases are made from this small file.
- classifier-golden.safetensors: DigitClassifier(), weights stored as bfloat16.

Weights are random (torch.manual_seed(0)); GroupNorm weights and biases are perturbed away from 1
and 0 so that they matter. Inputs: three batches of two (x, t, y) with t in {1, 250, 999, 500,
437.25, 0} and y including 10 ("no class"); the sinusoid for those t; for the classifier, two
random images and the first two digits of assets/data/mnist10k.
"""
import gzip
import json
import pathlib
import sys

import numpy as np
import torch
from safetensors.torch import save_file

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "training"))
from unet import DigitClassifier, DigitUNet, sinusoidal_embedding  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parent
TINY = {"channels": [8, 8, 16], "groups": 4, "sinusoid_dim": 8, "emb_dim": 16, "classes": 10}
BATCHES = [
    ([1.0, 250.0], [3, 10]),
    ([999.0, 500.0], [10, 7]),
    ([437.25, 0.0], [0, 9]),
]


def perturb(model):
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.GroupNorm):
                module.weight.copy_(1.0 + 0.3 * torch.randn_like(module.weight))
                module.bias.copy_(0.2 * torch.randn_like(module.bias))


def rounded(model, dtype):
    """Rounds the weights to `dtype` (and back to f32, for computing), returns the stored tensors."""
    stored = {}
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            low = tensor.to(dtype).contiguous()
            stored[name] = low
            tensor.copy_(low.float())
    return stored


def unet_metadata(config):
    return {
        "diffuscope.kind": "digit-unet",
        "diffuscope.format": "1",
        "architecture": json.dumps(config),
        "objective": "eps",
        "schedule": "linear",
        "train_steps_T": "1000",
        "beta_start": "0.0001",
        "beta_end": "0.02",
        "timestep_input": "t (1..1000)",
        "training_data": "none: random weights for a golden test",
        "steps": "0",
        "final_loss": "0",
        "seed": "0",
        "date": "golden",
        "command": "python3 tests/golden/make_model_golden.py",
        "trainer": f"PyTorch {torch.__version__}",
    }


def write_unet(name, config, dtype):
    model = DigitUNet(config).eval()
    perturb(model)
    tensors = rounded(model, dtype)
    all_t = []
    with torch.no_grad():
        for i, (t, y) in enumerate(BATCHES):
            x = torch.randn(2, 1, 28, 28)
            t = torch.tensor(t, dtype=torch.float32)
            y = torch.tensor(y, dtype=torch.int64)
            out = model(x, t, y)
            tensors[f"golden.x.{i}"] = x
            tensors[f"golden.t.{i}"] = t
            tensors[f"golden.y.{i}"] = y
            tensors[f"golden.out.{i}"] = out.contiguous()
            all_t.append(t)
            print(f"{name} batch {i}: output std {out.std():.4f}, max |out| {out.abs().max():.4f}")
        t = torch.cat(all_t)
        tensors["golden.sinusoid.t"] = t
        tensors["golden.sinusoid"] = sinusoidal_embedding(t, model.config["sinusoid_dim"])
    save_file(tensors, str(OUT / name), metadata=unet_metadata(model.config))


def mnist_digits(count):
    data = ROOT / "assets/data"
    with gzip.open(data / "mnist10k-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)[:count]
    return torch.from_numpy(images.astype(np.float32) / 127.5 - 1.0)


def write_classifier(name):
    model = DigitClassifier().eval()
    with torch.no_grad():
        model.fc2.weight.mul_(30.0)  # logits of a useful size (random init gives about ±0.1)
    tensors = rounded(model, torch.bfloat16)
    x = torch.cat([torch.rand(2, 1, 28, 28) * 2 - 1, mnist_digits(2)])
    with torch.no_grad():
        logits = model(x)
    tensors["golden.x"] = x
    tensors["golden.logits"] = logits.contiguous()
    print(f"{name}: max |logit| {logits.abs().max():.4f}")
    metadata = {
        "diffuscope.kind": "digit-classifier",
        "diffuscope.format": "1",
        "architecture": json.dumps({"conv": [32, 64, 64], "hidden": 128, "classes": 10}),
        "training_data": "none: random weights for a golden test",
        "seed": "0",
        "date": "golden",
        "command": "python3 tests/golden/make_model_golden.py",
        "trainer": f"PyTorch {torch.__version__}",
    }
    save_file(tensors, str(OUT / name), metadata=metadata)


def main():
    torch.manual_seed(0)
    torch.set_num_threads(2)
    write_unet("unet-golden.safetensors", None, torch.float16)
    write_unet("unet-tiny-golden.safetensors", TINY, torch.float32)
    write_classifier("classifier-golden.safetensors")


if __name__ == "__main__":
    main()
