#!/usr/bin/env python3
"""Writes tests/golden/schedules.json: reference noise schedules and add_noise results from diffusers.

Each case is recorded twice:
- "f64": diffusers' own DDPMScheduler code run in float64 (torch.float32 temporarily means float64,
  see `float64_everywhere`), so the reference carries no float32 rounding. The Rust test compares our
  f64 schedules with it at <= 1e-6 absolute (in practice ~1e-15).
- "f32": the stock scheduler exactly as a diffusers user gets it (float32), compared at float32's
  own accuracy: products of up to 1000 rounded factors drift by a few 1e-6.
Regenerate with the pinned versions (a maintainer's tool; the program never needs Python):

    pip install diffusers==0.42.1 torch==2.15.0 numpy==2.*
    python3 tests/golden/make_schedules.py

Our timestep t = diffusers' index + 1, so diffusers' alphas_cumprod[i] is our ᾱ at t = i + 1.
"""
import contextlib
import json
import pathlib

import diffusers
import torch
from diffusers import DDPMScheduler

OUT = pathlib.Path(__file__).with_name("schedules.json")

# (our name, diffusers beta_schedule, beta_start, beta_end) — the ranges Diffuscope uses by default.
KINDS = [
    ("linear", "linear", 1e-4, 0.02),
    ("cosine", "squaredcos_cap_v2", 1e-4, 0.02),
    ("sigmoid", "sigmoid", 1e-4, 0.02),
    ("scaled-linear", "scaled_linear", 0.00085, 0.012),
]
STEPS = [10, 50, 1000]


@contextlib.contextmanager
def float64_everywhere():
    """Runs diffusers' scheduler code in float64: it names torch.float32 explicitly, so alias it."""
    float32, default = torch.float32, torch.get_default_dtype()
    torch.float32 = torch.float64
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.float32 = float32
        torch.set_default_dtype(default)


def record(scheduler, x0, noise, indices):
    return {
        "betas": scheduler.betas.double().tolist(),
        "alphas_cumprod": scheduler.alphas_cumprod.double().tolist(),
        "x_t": [
            scheduler.add_noise(x0, noise, torch.tensor([i])).double().flatten().tolist()
            for i in indices
        ],
    }


def main() -> None:
    torch.manual_seed(0)
    x0 = torch.linspace(-1.0, 1.0, 12, dtype=torch.float32).reshape(2, 2, 3)
    noise = torch.randn(2, 2, 3, dtype=torch.float32)
    cases = []
    for name, beta_schedule, beta_start, beta_end in KINDS:
        for steps in STEPS:
            for zero_snr in (False, True):
                config = dict(
                    num_train_timesteps=steps,
                    beta_schedule=beta_schedule,
                    beta_start=beta_start,
                    beta_end=beta_end,
                    rescale_betas_zero_snr=zero_snr,
                )
                indices = sorted({0, steps // 4, steps // 2, steps - 1})
                f32 = record(DDPMScheduler(**config), x0, noise, indices)
                with float64_everywhere():
                    f64 = record(DDPMScheduler(**config), x0.double(), noise.double(), indices)
                cases.append(
                    {
                        "kind": name,
                        "steps": steps,
                        "zero_terminal_snr": zero_snr,
                        "indices": indices,
                        "f32": f32,
                        "f64": f64,
                    }
                )
    OUT.write_text(
        json.dumps(
            {
                "generator": f"diffusers {diffusers.__version__}, torch {torch.__version__}",
                "x0": x0.flatten().tolist(),
                "noise": noise.flatten().tolist(),
                "cases": cases,
            },
            indent=None,
        )
    )
    print(f"wrote {OUT} ({len(cases)} cases)")


if __name__ == "__main__":
    main()
