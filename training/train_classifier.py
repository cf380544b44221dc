#!/usr/bin/env python3
"""Trains the digit classifier that judges generated samples, and reports its held-out accuracy.

    python3 training/train_classifier.py --out assets/models/digits-classifier.safetensors

Trained on the first 9,000 of the 10,000 shipped digits (with small random shifts), tested on the
last 1,000. Light noise is added to half the training images so that slightly imperfect samples are
still judged by their shape. Seeded; a maintainer's tool.
"""
import argparse
import datetime
import json
import pathlib
import sys
import time

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from train_diffusion import load_mnist  # noqa: E402
from unet import DigitClassifier  # noqa: E402

HELD_OUT = 1000


def shift(x, generator):
    """Random shifts of up to two pixels, by padding and cropping."""
    padded = F.pad(x, (2, 2, 2, 2), value=-1.0)
    dx, dy = torch.randint(0, 5, (2,), generator=generator).tolist()
    return padded[:, :, dy : dy + 28, dx : dx + 28]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    x, y = load_mnist()
    x_train, y_train, x_test, y_test = x[:-HELD_OUT], y[:-HELD_OUT], x[-HELD_OUT:], y[-HELD_OUT:]
    model = DigitClassifier()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    began = time.time()
    for epoch in range(args.epochs):
        order = torch.randperm(x_train.shape[0], generator=generator)
        for i in range(0, len(order), args.batch):
            idx = order[i : i + args.batch]
            xb = shift(x_train[idx], generator)
            noisy = torch.rand(len(idx), generator=generator) < 0.5
            xb[noisy] += 0.15 * torch.randn(xb[noisy].shape, generator=generator)
            loss = F.cross_entropy(model(xb), y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        with torch.no_grad():
            accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
        print(f"epoch {epoch + 1}: loss {loss.item():.4f}, held-out accuracy {accuracy:.4f}", flush=True)
    wall = time.time() - began
    metadata = {
        "diffuscope.kind": "digit-classifier",
        "diffuscope.format": "1",
        "architecture": json.dumps({"conv": [32, 64, 64], "hidden": 128, "classes": 10}),
        "training_data": f"assets/data/mnist10k, first {10000 - HELD_OUT} digits",
        "held_out_accuracy": f"{accuracy:.4f}",
        "held_out": f"last {HELD_OUT} digits of assets/data/mnist10k",
        "epochs": str(args.epochs),
        "final_loss": f"{loss.item():.5f}",
        "seed": str(args.seed),
        "wall_time_secs": f"{wall:.0f}",
        "date": datetime.date.today().isoformat(),
        "command": " ".join(["python3", "training/train_classifier.py"] + sys.argv[1:]),
        "trainer": f"PyTorch {torch.__version__}, {args.threads} CPU threads",
    }
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp), metadata=metadata)
    tmp.replace(out)
    print(f"wrote {out}: held-out accuracy {accuracy:.4f}, {wall:.0f} s", flush=True)


if __name__ == "__main__":
    main()
