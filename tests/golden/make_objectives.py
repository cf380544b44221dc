#!/usr/bin/env python3
"""Writes tests/golden/objectives.json: diffusers' reference values for the three objectives (ε, v, flow
matching) and for the two minimal samplers (DDPM ancestral steps, Euler for flow matching).

What is recorded, all on the shipped models' schedule (linear β from 1e-4 to 0.02, T = 1000) unless
said otherwise:
- "conversions": for a fixed x_t and a fixed network output at several t,
  - ε-prediction: x̂0 = DDPMScheduler(prediction_type="epsilon").step(...).pred_original_sample and
    v̂ = get_velocity(x̂0, ε̂, t);
  - v-prediction: x̂0 = DDPMScheduler(prediction_type="v_prediction").step(...).pred_original_sample and
    ε̂ = DPMSolverMultistepScheduler(algorithm_type="dpmsolver", prediction_type="v_prediction")
    .convert_model_output(...) (DPM-Solver's ε-form, which turns v into ε);
  - the v training target get_velocity(x0, ε, t).
- "flow": for a fixed x_t and network output u at several σ, x̂0 from DPMSolverMultistepScheduler
  (use_flow_sigmas=True, prediction_type="flow_prediction").convert_model_output, diffusers' only
  public conversion of a flow output (FlowMatchEulerDiscreteScheduler.step does not expose x̂0).
- "ddpm": whole ancestral chains of DDPMScheduler.step (variance "fixed_small", clip_sample=False) for
  prediction types "epsilon" and "v_prediction", on a fixed sequence of network outputs and fixed
  noise z (diffusers' own noise draw is replaced by the recorded z): every t of a T = 20 schedule, and
  10 "trailing"-spaced steps of the T = 1000 schedule. The network outputs are those of a fake model
  that knows a fixed x0, plus a little noise, so that the chain stays in a sensible range.
- "euler": a chain of FlowMatchEulerDiscreteScheduler.step with σ = 1, 1 − 1/n, …, 1/n, 0 (passed as
  custom sigmas, shift 1) on fixed network outputs.

Everything runs diffusers' own code in float64 (torch.float32 temporarily means float64, as in
make_schedules.py), on inputs that are exactly representable in float32, so the reference carries no
float32 rounding; the Rust tests compare at ≤ 1e-5 (relative to the magnitude where a value exceeds 1).
Our t is diffusers' index + 1. Regenerate with the pinned versions (a maintainer's tool):

    pip install diffusers==0.42.1 torch==2.15.0 numpy==2.*
    python3 tests/golden/make_objectives.py
"""
import contextlib
import json
import pathlib
import warnings

import diffusers
import diffusers.schedulers.scheduling_ddpm as scheduling_ddpm
import numpy as np
import torch
from diffusers import DDPMScheduler, DPMSolverMultistepScheduler, FlowMatchEulerDiscreteScheduler
from make_schedules import float64_everywhere  # the same float64 trick as the schedule goldens

OUT = pathlib.Path(__file__).with_name("objectives.json")
SHAPE = (2, 1, 4, 4)
SCHEDULE = dict(beta_schedule="linear", beta_start=1e-4, beta_end=0.02)
CONVERSION_INDICES = [0, 9, 249, 499, 899, 999]  # our t = 1, 10, 250, 500, 900, 1000
FLOW_SIGMAS = [1.0, 0.9, 0.5, 0.25, 0.02]


@contextlib.contextmanager
def fixed_noise(draws):
    """Makes DDPMScheduler.step take its noise z from `draws`, in order, instead of a generator."""
    original = scheduling_ddpm.randn_tensor
    queue = list(draws)
    scheduling_ddpm.randn_tensor = lambda shape, **kwargs: queue.pop(0).reshape(shape)
    try:
        yield
    finally:
        scheduling_ddpm.randn_tensor = original


def f32(tensor):
    """Rounds to float32 and back, so that the value reaches Rust exactly."""
    return tensor.float().double()


def flat(tensor):
    return tensor.double().flatten().tolist()


def randn(generator):
    return f32(torch.randn(SHAPE, generator=generator, dtype=torch.float32))


def conversions(x_t, output, x0, noise):
    cases = []
    for index in CONVERSION_INDICES:
        eps_scheduler = DDPMScheduler(num_train_timesteps=1000, prediction_type="epsilon", clip_sample=False, **SCHEDULE)
        v_scheduler = DDPMScheduler(num_train_timesteps=1000, prediction_type="v_prediction", clip_sample=False, **SCHEDULE)
        eps_x0 = eps_scheduler.step(output, index, x_t).pred_original_sample
        eps_v = eps_scheduler.get_velocity(eps_x0, output, torch.tensor([index]))
        v_x0 = v_scheduler.step(output, index, x_t).pred_original_sample

        solver = DPMSolverMultistepScheduler(
            num_train_timesteps=1000,
            algorithm_type="dpmsolver",
            prediction_type="v_prediction",
            final_sigmas_type="sigma_min",
            **SCHEDULE,
        )
        alpha_bar = solver.alphas_cumprod[index]
        solver.sigmas = torch.stack([((1 - alpha_bar) / alpha_bar) ** 0.5])
        solver._step_index = 0
        v_eps = solver.convert_model_output(output, sample=x_t)

        cases.append(
            {
                "t": index + 1,
                "eps": {"x0": flat(eps_x0), "v": flat(eps_v)},
                "v": {"x0": flat(v_x0), "eps": flat(v_eps)},
                "v_target": flat(v_scheduler.get_velocity(x0, noise, torch.tensor([index]))),
            }
        )
    return cases


def flow_conversions(x_t, output):
    cases = []
    for sigma in FLOW_SIGMAS:
        solver = DPMSolverMultistepScheduler(
            num_train_timesteps=1000,
            algorithm_type="dpmsolver++",
            prediction_type="flow_prediction",
            use_flow_sigmas=True,
            flow_shift=1.0,
        )
        solver.sigmas = torch.tensor([sigma])
        solver._step_index = 0
        cases.append({"sigma": sigma, "x0": flat(solver.convert_model_output(output, sample=x_t))})
    return cases


def ddpm_chain(prediction_type, train_steps, steps, generator):
    """A whole chain; the fake network knows x0 exactly, up to a little noise in its output."""
    scheduler = DDPMScheduler(
        num_train_timesteps=train_steps,
        prediction_type=prediction_type,
        clip_sample=False,
        variance_type="fixed_small",
        timestep_spacing="trailing",
        **SCHEDULE,
    )
    if steps != train_steps:
        scheduler.set_timesteps(steps)
    indices = [int(i) for i in scheduler.timesteps]
    x0 = f32(torch.linspace(-1.0, 1.0, int(np.prod(SHAPE)), dtype=torch.float32).reshape(SHAPE))
    x = randn(generator)
    start = x.clone()
    outputs, noises, samples, x0_hats = [], [], [], []
    for index in indices:
        alpha_bar = scheduler.alphas_cumprod[index]
        a, s = alpha_bar**0.5, (1 - alpha_bar) ** 0.5
        eps = (x - a * x0) / s + 0.1 * randn(generator)
        output = f32(eps if prediction_type == "epsilon" else a * eps - s * x0)
        z = randn(generator)
        with fixed_noise([z]):
            result = scheduler.step(output, index, x)
        x = result.prev_sample
        outputs.append(flat(output))
        noises.append(flat(z))
        samples.append(flat(x))
        x0_hats.append(flat(result.pred_original_sample))
    return {
        "prediction_type": prediction_type,
        "train_steps": train_steps,
        "steps": steps,
        "t": [i + 1 for i in indices],
        "x_start": flat(start),
        "outputs": outputs,
        "noise": noises,
        "x0_hat": x0_hats,
        "x_prev": samples,
    }


def euler_chain(steps, generator):
    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=1.0)
    scheduler.set_timesteps(sigmas=np.linspace(1.0, 0.0, steps + 1)[:-1].tolist())
    x0 = f32(torch.linspace(-1.0, 1.0, int(np.prod(SHAPE)), dtype=torch.float32).reshape(SHAPE))
    x = randn(generator)
    start = x.clone()
    eps = x.clone()
    outputs, samples = [], []
    for timestep in scheduler.timesteps:
        output = f32(eps - x0 + 0.1 * randn(generator))
        x = scheduler.step(output, timestep, x).prev_sample
        outputs.append(flat(output))
        samples.append(flat(x))
    return {
        "steps": steps,
        "sigmas": scheduler.sigmas.double().tolist(),
        "x_start": flat(start),
        "outputs": outputs,
        "x_next": samples,
    }


def main() -> None:
    # DPM-Solver's ε-form ("dpmsolver") is deprecated for sampling, but its conversion is what we check.
    warnings.filterwarnings("ignore", category=FutureWarning)
    generator = torch.Generator().manual_seed(0)
    x_t, output, noise = randn(generator), randn(generator), randn(generator)
    x0 = f32(torch.rand(SHAPE, generator=generator, dtype=torch.float32) * 2 - 1)
    with float64_everywhere():
        record = {
            "generator": f"diffusers {diffusers.__version__}, torch {torch.__version__} (float64)",
            "x_t": flat(x_t),
            "output": flat(output),
            "x0": flat(x0),
            "noise": flat(noise),
            "conversions": conversions(x_t, output, x0, noise),
            "flow": flow_conversions(x_t, output),
            "ddpm": [
                ddpm_chain("epsilon", 20, 20, generator),
                ddpm_chain("v_prediction", 20, 20, generator),
                ddpm_chain("epsilon", 1000, 10, generator),
                ddpm_chain("v_prediction", 1000, 10, generator),
            ],
            "euler": euler_chain(8, generator),
        }
    OUT.write_text(json.dumps(record, indent=None))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
