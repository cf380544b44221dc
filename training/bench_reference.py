#!/usr/bin/env python3
"""PyTorch side of `diffuscope bench model`: the same table for the reference networks.

    python3 training/bench_reference.py [--model assets/models/digits-eps.safetensors] [--threads 2]
    target/release/diffuscope bench model --json | python3 training/bench_reference.py --ours -

Forward pass of DigitUNet at batch 1, 16 and 64 (median of repeated runs after warm-up, inputs made
the same way as the Rust bench), and DigitClassifier at batch 64 if the shipped classifier exists.
GFLOP/s uses the same analytic count as the Rust bench (2 × multiply-adds of convolutions, linear
layers and attention products; checked against torch.utils.flop_counter below).

With --ours (a file, or - for standard input, holding the JSON that `diffuscope bench model --json`
prints) the weights are those of the model the Rust bench measured, and a ratio column says how
many times slower candle is (candle ms / PyTorch ms). Without a model, random weights of the
default sizes are used (the time does not depend on the values).
A maintainer's tool: the program never needs Python.
"""
import argparse
import json
import pathlib
import statistics
import sys
import time

import torch
from safetensors import safe_open
from safetensors.torch import load_file

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from unet import NULL_CLASS, DigitClassifier, DigitUNet  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
BATCHES = [1, 16, 64]
ROW_BUDGET_SECS = 4.0


def unet_macs(config, h=28, w=28):
    """Multiply-adds of one forward pass; the same count as UNetConfig::forward_macs in Rust."""
    c0, c1, c2 = config["channels"]
    e, s = config["emb_dim"], config["sinusoid_dim"]

    def conv(hw, cin, cout, k):
        return hw[0] * hw[1] * cout * cin * k * k

    def res(hw, cin, cout):
        return conv(hw, cin, cout, 3) + e * cout + conv(hw, cout, cout, 3) + (
            0 if cin == cout else conv(hw, cin, cout, 1)
        )

    s0 = (h, w)
    s1 = ((h + 1) // 2, (w + 1) // 2)
    s2 = ((s1[0] + 1) // 2, (s1[1] + 1) // 2)
    n = s2[0] * s2[1]
    attention = n * c2 * 3 * c2 + 2 * n * n * c2 + n * c2 * c2
    down = res(s0, c0, c0) + conv(s1, c0, c0, 3) + res(s1, c0, c1) + conv(s2, c1, c1, 3) + res(s2, c1, c2)
    mid = 2 * res(s2, c2, c2) + attention
    up = (
        res(s2, c2 + c2, c2)
        + conv((2 * s2[0], 2 * s2[1]), c2, c2, 3)
        + res(s1, c2 + c1, c1)
        + conv((2 * s1[0], 2 * s1[1]), c1, c1, 3)
        + res(s0, c1 + c0, c0)
    )
    return s * e + e * e + conv(s0, 1, c0, 3) + down + mid + up + conv(s0, c0, 1, 3)


CLASSIFIER_MACS = 28 * 28 * 32 * 9 + 14 * 14 * 64 * 32 * 9 + 7 * 7 * 64 * 64 * 9 + 3136 * 128 + 128 * 10


def check_flop_count(model, config):
    from torch.utils.flop_counter import FlopCounterMode

    x, t, y = unet_inputs(1)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x, t, y)
    assert counter.get_total_flops() == 2 * unet_macs(config), "FLOP count disagrees with torch"
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        DigitClassifier()(torch.zeros(1, 1, 28, 28))
    assert counter.get_total_flops() == 2 * CLASSIFIER_MACS, "classifier FLOP count disagrees"


def unet_inputs(batch):
    """The same construction as the Rust bench: noise, t spread over 1..1000, classes 0..10 cycling."""
    x = torch.randn(batch, 1, 28, 28)
    t = torch.tensor([1 + (i * 997) % 1000 for i in range(batch)], dtype=torch.float32)
    y = torch.tensor([i % (NULL_CLASS + 1) for i in range(batch)], dtype=torch.int64)
    return x, t, y


def load_unet(path):
    if path is None:
        return DigitUNet().eval()
    with safe_open(str(path), "pt") as f:
        metadata = f.metadata() or {}
    model = DigitUNet(json.loads(metadata.get("architecture", "{}"))).eval()
    state = load_file(str(path))
    model.load_state_dict({k: v for k, v in state.items() if k in model.state_dict()})
    return model


def measure(f):
    with torch.inference_mode():
        f()
        start = time.perf_counter()
        f()
        one = max(time.perf_counter() - start, 1e-6)
        runs = int(min(200, max(5, ROW_BUDGET_SECS / one)))
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            f()
            times.append(time.perf_counter() - start)
    return statistics.median(times), runs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="a .safetensors diffusion checkpoint (default: from --ours, else random)")
    parser.add_argument("--ours", help="JSON from `diffuscope bench model --json` (a file, or - for stdin)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    ours = None
    if args.ours:
        text = sys.stdin.read() if args.ours == "-" else pathlib.Path(args.ours).read_text()
        ours = json.loads(text.strip().splitlines()[-1])
    model_path = args.model or (ours or {}).get("model")
    model = load_unet(model_path)
    config = model.config
    check_flop_count(model, config)
    flops = 2 * unet_macs(config)
    params = sum(p.numel() for p in model.parameters())
    print(
        f"PyTorch {torch.__version__} reference — DigitUNet {config['channels']} "
        f"({model_path or 'random weights'}), {params:,} parameters, {flops / 1e9:.3f} GFLOP per 28×28 image"
    )
    print(f"CPU, torch.set_num_threads({args.threads}); median of repeated runs after warm-up")
    if ours:
        print(f"candle figures from the Rust bench: {ours.get('threads')} threads, device {ours.get('device')}")
    print()
    theirs = {(r["network"], r["batch"]): r for r in (ours or {}).get("rows", [])}
    header = "network     batch   median ms   ms/image    images/s   GFLOP/s   runs"
    print(header + ("   candle ms   candle/torch" if ours else ""))

    rows = []
    for batch in BATCHES:
        x, t, y = unet_inputs(batch)
        rows.append(("unet", batch, flops * batch, *measure(lambda: model(x, t, y))))
    classifier_path = ROOT / "assets/models/digits-classifier.safetensors"
    if classifier_path.exists():
        classifier = DigitClassifier().eval()
        classifier.load_state_dict(load_file(str(classifier_path)))
        x = torch.rand(64, 1, 28, 28) * 2 - 1
        rows.append(("classifier", 64, 2 * CLASSIFIER_MACS * 64, *measure(lambda: classifier(x))))

    for network, batch, row_flops, median, runs in rows:
        ms = median * 1e3
        line = (
            f"{network:<10} {batch:>6} {ms:>11.3f} {ms / batch:>10.3f} {batch / median:>11.1f} "
            f"{row_flops / median / 1e9:>9.2f} {runs:>6}"
        )
        mine = theirs.get((network, batch))
        if mine:
            line += f" {mine['median_ms']:>11.3f} {mine['median_ms'] / ms:>14.2f}×"
        print(line)


if __name__ == "__main__":
    main()
