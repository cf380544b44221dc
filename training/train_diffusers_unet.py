#!/usr/bin/env python3
"""Trains the shipped example of an imported model: a diffusers `UNet2DModel` on the shipped digits,
saved as a diffusers pipeline folder (what a student who trains with diffusers would bring).

    python3 training/train_diffusers_unet.py --out assets/models/digits-diffusers

The folder holds `model_index.json`, `scheduler/scheduler_config.json` (DDPMScheduler: linear β
from 1e-4 to 0.02, T = 1000, ε-prediction) and `unet/config.json` with
`unet/diffusion_pytorch_model.safetensors` (the EMA weights), written by diffusers' own
`save_pretrained`. The UNet is class-conditional (`num_class_embeds = 11`: the digits 0–9 and 10
for "no class", dropped for 10 % of the examples), so classifier-free guidance works as with the
program's own models. Timesteps are diffusers' (0..999), the noise is added by the scheduler's
`add_noise`: the training is diffusers' recipe, not a copy of the program's.

Seeded; resumable from scratch/<name>.resume.pt (saved every 200 steps; git-ignored).
A maintainer's tool: the program never needs Python. Pinned: see training/requirements.txt.
"""
import argparse
import copy
import datetime
import json
import math
import pathlib
import sys
import time

import torch
import torch.nn.functional as F
from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from train_diffusion import load_mnist  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
NULL_CLASS = 10

UNET_CONFIG = dict(
    sample_size=28,
    in_channels=1,
    out_channels=1,
    block_out_channels=(16, 32, 64),
    down_block_types=("DownBlock2D", "DownBlock2D", "AttnDownBlock2D"),
    up_block_types=("AttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
    layers_per_block=1,
    norm_num_groups=8,
    attention_head_dim=32,
    num_class_embeds=11,
)


def save(out, ema, scheduler, notes):
    """Writes the pipeline folder through a temporary folder, then renames it into place."""
    tmp = out.with_name(out.name + ".tmp")
    DDPMPipeline(unet=ema, scheduler=scheduler).save_pretrained(tmp, safe_serialization=True)
    (tmp / "TRAINING.json").write_text(json.dumps(notes, indent=2) + "\n")
    if out.exists():
        old = out.with_name(out.name + ".old")
        out.replace(old)
        tmp.replace(out)
        for path in sorted(old.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        old.rmdir()
    else:
        tmp.replace(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--ema", type=float, default=0.999)
    parser.add_argument("--label-dropout", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)

    x_all, y_all = load_mnist()
    model = UNet2DModel(**UNET_CONFIG)
    ema = copy.deepcopy(model).requires_grad_(False)
    scheduler = DDPMScheduler(
        num_train_timesteps=1000, beta_schedule="linear", beta_start=1e-4, beta_end=0.02,
        prediction_type="epsilon", clip_sample=True,
    )
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    lr_at = lambda step: min(1.0, (step + 1) / args.warmup) * 0.5 * (  # noqa: E731
        1 + math.cos(math.pi * min(1.0, step / args.steps))
    )
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)

    out = pathlib.Path(args.out)
    resume = ROOT / "scratch" / (out.name + ".resume.pt")
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

    began = time.time() - elapsed
    for step in range(start, args.steps):
        idx = torch.randint(0, x_all.shape[0], (args.batch,), generator=generator)
        x0, y = x_all[idx], y_all[idx].clone()
        y[torch.rand(args.batch, generator=generator) < args.label_dropout] = NULL_CLASS
        noise = torch.randn(x0.shape, generator=generator)
        t = torch.randint(0, 1000, (args.batch,), generator=generator)
        x_t = scheduler.add_noise(x0, noise, t)
        loss = F.mse_loss(model(x_t, t, class_labels=y).sample, noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            for p_ema, p in zip(ema.parameters(), model.parameters()):
                p_ema.lerp_(p, 1 - args.ema)
        losses.append(loss.item())
        if (step + 1) % 50 == 0:
            rate = (step + 1 - start) * args.batch / max(1e-9, time.time() - began - elapsed)
            print(f"step {step + 1}/{args.steps} loss {sum(losses[-50:]) / 50:.4f} {rate:.0f} img/s", flush=True)
        if (step + 1) % 200 == 0:
            state = {
                "model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                "sched": sched.state_dict(), "generator": generator.get_state(),
                "step": step + 1, "elapsed": time.time() - began, "losses": losses,
            }
            torch.save(state, resume.with_suffix(".tmp"))
            resume.with_suffix(".tmp").replace(resume)

    wall = time.time() - began
    notes = {
        "what": "diffusers UNet2DModel trained on assets/data/mnist10k (10,000 MNIST digits in [-1, 1])",
        "steps": args.steps, "batch": args.batch, "lr": args.lr, "ema": args.ema,
        "label_dropout": args.label_dropout, "null_class": NULL_CLASS, "seed": args.seed,
        "final_loss": round(sum(losses[-100:]) / min(100, len(losses)), 5),
        "parameters": sum(p.numel() for p in ema.parameters()),
        "wall_time_secs": round(wall), "date": datetime.date.today().isoformat(),
        "command": " ".join(["python3", "training/train_diffusers_unet.py"] + sys.argv[1:]),
        "trainer": f"PyTorch {torch.__version__}, diffusers, {args.threads} CPU threads",
    }
    save(out, ema, scheduler, notes)
    resume.unlink(missing_ok=True)
    print(f"wrote {out}: final loss {notes['final_loss']}, {wall:.0f} s", flush=True)


if __name__ == "__main__":
    main()
