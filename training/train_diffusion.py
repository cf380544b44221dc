#!/usr/bin/env python3
"""Trains one of Diffuscope's shipped digit models and writes it as safetensors with full metadata.

    python3 training/train_diffusion.py --objective eps  --out assets/models/digits-eps.safetensors
    python3 training/train_diffusion.py --objective v    --out assets/models/digits-v.safetensors
    python3 training/train_diffusion.py --objective flow --out assets/models/digits-flow.safetensors

Objectives (the network's target given x0, ε and t):
- eps:  x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε on the linear DDPM schedule (T = 1000, t = 1..T), target ε.
- v:    the same x_t, target v = √ᾱ_t·ε − √(1−ᾱ_t)·x0.
- flow: rectified flow, x_t = (1−s)·x0 + s·ε with s uniform in [0, 1], target ε − x0; the network
        is given t = 1000·s.
AdamW with linear warm-up then cosine decay, an exponential moving average of the weights (the EMA
weights are saved), 10 % of labels replaced by the "no class" token for classifier-free guidance.
Seeded; resumable from scratch/<name>.resume.pt (saved every 200 steps; git-ignored).
`--init MODEL` starts from the weights of a model written by this script (fine-tuning: the optimiser
and the moving average start afresh from those weights; the metadata names the model it started from;
tensors the new network has no place for, such as the time MLP with --no-time, are left out).
`--arch dit` trains the digit transformer of training/dit.py instead of the UNet, with
`--positions learned|rope|none`; `--no-time` builds it without the time input (the model that is not
told t, for the Clock lesson):

    python3 training/train_diffusion.py --objective v --arch dit --positions learned \
        --out assets/models/digits-dit.safetensors --steps 6000 --lr 1e-3 --label-dropout 0.2

(v, not ε: a transformer's ε at large t is not precise enough for sampling; see MODELS.md.)

`--snapshot PATH` writes the EMA weights of that resume point to PATH and stops, so a run can be
measured (`diffuscope eval --model PATH`) while it trains.
A maintainer's tool: the program never needs Python. Pinned: see training/requirements.txt.
"""
import argparse
import datetime
import gzip
import json
import math
import pathlib
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from dit import DigitDiT  # noqa: E402
from unet import NULL_CLASS, DigitUNet  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
T = 1000


def load_mnist():
    data = ROOT / "assets/data"
    with gzip.open(data / "mnist10k-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(data / "mnist10k-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    x = torch.from_numpy(images.astype(np.float32) / 127.5 - 1.0)
    return x, torch.from_numpy(labels.astype(np.int64))


def linear_alpha_bars():
    betas = torch.linspace(1e-4, 0.02, T, dtype=torch.float64)
    return torch.cumprod(1.0 - betas, 0).float()  # index i is our t = i + 1


def noisy_batch(objective, x0, alpha_bars, generator):
    b = x0.shape[0]
    eps = torch.randn(x0.shape, generator=generator)
    if objective == "flow":
        s = torch.rand(b, generator=generator)
        x_t = (1 - s)[:, None, None, None] * x0 + s[:, None, None, None] * eps
        return x_t, s * T, eps - x0
    t = torch.randint(1, T + 1, (b,), generator=generator)
    ab = alpha_bars[t - 1][:, None, None, None]
    x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
    target = eps if objective == "eps" else ab.sqrt() * eps - (1 - ab).sqrt() * x0
    return x_t, t.float(), target


def write_model(out, ema, args, steps, final_loss, wall):
    """Writes the EMA weights to `out` (through a temporary file) with the full metadata."""
    metadata = {
        "diffuscope.kind": "digit-dit" if args.arch == "dit" else "digit-unet",
        "diffuscope.format": "1",
        "architecture": json.dumps(ema.config),
        "objective": args.objective,
        "schedule": "linear" if args.objective != "flow" else "rectified-flow",
        "train_steps_T": str(T),
        "beta_start": "0.0001",
        "beta_end": "0.02",
        "timestep_input": "t (1..1000)" if args.objective != "flow" else "1000·s, s in [0, 1]",
        "training_data": "assets/data/mnist10k (10,000 MNIST digits, scaled to [-1, 1])",
        "steps": str(steps),
        "batch": str(args.batch),
        "final_loss": f"{final_loss:.5f}",
        "ema": str(args.ema),
        "label_dropout": str(args.label_dropout),
        "seed": str(args.seed),
        "wall_time_secs": f"{wall:.0f}",
        "date": datetime.date.today().isoformat(),
        "command": " ".join(["python3", "training/train_diffusion.py"] + sys.argv[1:]),
        "init_from": args.init or "random (seeded)",
        "trainer": f"PyTorch {torch.__version__}, {args.threads} CPU threads",
    }
    tensors = {k: v.contiguous() for k, v in ema.state_dict().items()}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata=metadata)
    tmp.replace(out)


def new_network(args):
    if args.arch == "dit":
        return DigitDiT({"positions": args.positions, "time_input": not args.no_time})
    assert not args.no_time, "--no-time is for --arch dit"
    return DigitUNet()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--objective", choices=["eps", "v", "flow"], required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--ema", type=float, default=0.999)
    parser.add_argument("--label-dropout", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--arch", choices=["unet", "dit"], default="unet")
    parser.add_argument("--positions", choices=["learned", "rope", "none"], default="learned")
    parser.add_argument("--no-time", action="store_true", help="a DiT not told t")
    parser.add_argument("--init", help="start from this model's weights (a .safetensors written here)")
    parser.add_argument("--snapshot", help="write the resume point's EMA weights here and stop")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)

    x_all, y_all = load_mnist()
    model = new_network(args)
    if args.init:
        # Tensors the network has no place for are left out (the time MLP, for --no-time);
        # every tensor it has must be in the file.
        state, own = load_file(args.init), model.state_dict()
        missing = [name for name in own if name not in state]
        assert not missing, f"{args.init} lacks {missing}"
        model.load_state_dict({name: t for name, t in state.items() if name in own})
    ema = new_network(args)
    ema.load_state_dict(model.state_dict())
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    schedule = lambda step: min(1.0, (step + 1) / args.warmup) * 0.5 * (  # noqa: E731
        1 + math.cos(math.pi * min(1.0, step / args.steps))
    )
    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    alpha_bars = linear_alpha_bars()

    out = pathlib.Path(args.out)
    resume = ROOT / "scratch" / (out.stem + ".resume.pt")
    resume.parent.mkdir(exist_ok=True)
    start, elapsed, losses = 0, 0.0, []
    if resume.exists():
        state = torch.load(resume, weights_only=False)
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        generator.set_state(state["generator"])
        start, elapsed, losses = state["step"], state["elapsed"], state["losses"]
        print(f"resumed at step {start}", flush=True)
    if args.snapshot:
        final_loss = sum(losses[-100:]) / max(1, min(100, len(losses)))
        write_model(pathlib.Path(args.snapshot), ema, args, start, final_loss, elapsed)
        print(f"wrote {args.snapshot} at step {start}: loss {final_loss:.5f}", flush=True)
        return

    began = time.time() - elapsed
    for step in range(start, args.steps):
        idx = torch.randint(0, x_all.shape[0], (args.batch,), generator=generator)
        x0, y = x_all[idx], y_all[idx].clone()
        drop = torch.rand(args.batch, generator=generator) < args.label_dropout
        y[drop] = NULL_CLASS
        x_t, t, target = noisy_batch(args.objective, x0, alpha_bars, generator)
        loss = F.mse_loss(model(x_t, t, y), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            for p_ema, p in zip(ema.parameters(), model.parameters()):
                p_ema.lerp_(p, 1 - args.ema)
        losses.append(loss.item())
        if (step + 1) % 50 == 0:
            mean = sum(losses[-50:]) / 50
            rate = (step + 1 - start) * args.batch / max(1e-9, time.time() - began - elapsed)
            print(f"step {step + 1}/{args.steps} loss {mean:.4f} {rate:.0f} img/s", flush=True)
        if (step + 1) % 200 == 0:
            state = {
                "model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                "sched": sched.state_dict(), "generator": generator.get_state(),
                "step": step + 1, "elapsed": time.time() - began, "losses": losses,
            }
            torch.save(state, resume.with_suffix(".tmp"))
            resume.with_suffix(".tmp").replace(resume)

    wall = time.time() - began
    final_loss = sum(losses[-100:]) / min(100, len(losses))
    write_model(out, ema, args, args.steps, final_loss, wall)
    resume.unlink(missing_ok=True)
    print(f"wrote {out}: final loss {final_loss:.5f}, {wall:.0f} s", flush=True)


if __name__ == "__main__":
    main()
