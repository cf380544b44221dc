#!/usr/bin/env python3
"""Writes tests/golden/samplers.json: whole sampling runs of diffusers' schedulers, for
tests/sampler_golden.rs to replay with Diffuscope's samplers (src/diffusion/samplers/).

Every run drives one diffusers scheduler with a fake model: on its k-th call the model returns a
fixed array (an ε or v that knows a fixed image x0, plus seeded noise, so that the run stays in a
sensible range), rounded to 4 decimals so that the JSON stays small and the Rust side reads exactly
the float32 value diffusers was given. For each run the file records
- the configuration (scheduler, prediction type, schedule, T, n, spacing, variance, η, clipping),
- "x_start": the starting x (in the model's own scale, see below),
- "calls": for each model call (two per step for Heun, but one for the last step), where the model was asked ("t": the time input the network gets,
  in Diffuscope's convention; "a", "s": the weights of x0 and ε in x there), the model's "output",
  the fresh "noise" the step after it used (null for none; passed as `variance_noise` or through
  a patched `randn_tensor`, so it is known exactly), and "x": the sample after that step.

Samples are recorded in Diffuscope's space, x = a·x0 + s·ε with a² + s² = 1 for ε/v models (and
x = (1 − σ)·x0 + σ·ε for flow models). DDPM, DDIM and DPM-Solver keep their sample there already.
Euler and Heun keep X = x/a (the "variance-exploding" picture, σ = s/a); their samples are
multiplied by a = 1/√(1 + σ²) of the level they have reached, `sigmas[step_index]` after the step
(a = 1 at σ = 0, the image), and their starting sample is x_start/a. The network time input is
diffusers' timestep + 1 (our t = diffusers' index + 1; fractional for Euler/Heun with "linspace"),
and T·σ for flow models.

Deliberate difference: diffusers' DDIMScheduler steps from timestep τ to τ − ⌊T/n⌋ whatever the
spacing; Diffuscope steps to the next timestep of the list (as DDPMScheduler does). Where the two
differ (here "linspace", and "trailing" when n does not divide T) the DDIM run is made with
`num_inference_steps` replaced by an object whose ⌊T/·⌋ is the gap to the next listed timestep, so
that diffusers' own arithmetic makes the step we make ("gap_patched": true in the record).

Everything runs diffusers' own code in float64 (torch.float32 temporarily means float64, as in
make_schedules.py; the schedulers' `np.float32` casts are redirected to float64 the same way), so
the reference carries no float32 rounding. Regenerate with the pinned versions (a maintainer's
tool):

    pip install diffusers==0.42.1 torch==2.15.0 numpy==2.*
    python3 tests/golden/make_samplers.py
"""
import contextlib
import json
import pathlib
import types

import diffusers
import numpy as np
import torch
from diffusers import (
    DDIMScheduler,
    DDPMScheduler,
    DPMSolverMultistepScheduler,
    EulerDiscreteScheduler,
    FlowMatchEulerDiscreteScheduler,
    FlowMatchHeunDiscreteScheduler,
    HeunDiscreteScheduler,
)
from make_objectives import fixed_noise  # DDPMScheduler.step's noise, taken from a list
from make_schedules import float64_everywhere

OUT = pathlib.Path(__file__).with_name("samplers.json")
SHAPE = (2, 1, 4, 4)
TRAIN_STEPS = 1000
STEPS = 8
SCHEDULES = {
    "linear": dict(beta_schedule="linear", beta_start=1e-4, beta_end=0.02),
    "scaled-linear": dict(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012),
}
PREDICTION = {"eps": "epsilon", "v": "v_prediction", "flow": "flow", "x0": "sample"}


@contextlib.contextmanager
def numpy_float64(*modules):
    """Makes `np.float32` mean float64 inside the given scheduler modules (their set_timesteps
    round sigmas and timesteps through numpy's float32)."""
    proxy = types.SimpleNamespace(**{name: getattr(np, name) for name in dir(np) if not name.startswith("__")})
    proxy.float32 = np.float64
    originals = [module.np for module in modules]
    for module in modules:
        module.np = proxy
    try:
        yield
    finally:
        for module, original in zip(modules, originals):
            module.np = original


def quantized(tensor):
    """Rounds to 4 decimals and then to float32: the value the JSON text gives Rust exactly."""
    return torch.round(tensor.double() * 1e4).div(1e4).float().double()


def short(tensor):
    """The 4-decimal values of `quantized`, as written."""
    return [round(v, 4) for v in tensor.double().flatten().tolist()]


def full(tensor):
    return [float(f"{v:.9g}") for v in tensor.double().flatten().tolist()]


def image():
    return torch.linspace(-1.0, 1.0, int(np.prod(SHAPE)), dtype=torch.float64).reshape(SHAPE)


class FakeModel:
    """Knows the image x0; its ε (or v, or flow velocity) is the one that makes x from x0, plus a
    little seeded noise. Outputs are rounded by `quantized`."""

    def __init__(self, objective, generator):
        self.objective, self.generator = objective, generator

    def __call__(self, x, a, s):
        x0 = image()
        eps = (x - a * x0) / s + 0.1 * torch.randn(SHAPE, generator=self.generator, dtype=torch.float64)
        if self.objective == "eps":
            return quantized(eps)
        if self.objective == "v":
            return quantized(a * eps - s * x0)
        if self.objective == "x0":
            return quantized(x0 + 0.1 * torch.randn(SHAPE, generator=self.generator, dtype=torch.float64))
        return quantized(eps - x0)


def randn(generator):
    return quantized(torch.randn(SHAPE, generator=generator, dtype=torch.float64))


class Gap:
    """Stands in for DDIMScheduler.num_inference_steps: T // Gap(g) is g."""

    def __init__(self, gap):
        self.gap = gap

    def __rfloordiv__(self, train_steps):
        return self.gap


def record(config, x_start, calls, **extra):
    return {**config, **extra, "x_start": short(x_start), "calls": calls}


def call_record(t, a, s, output, noise, x):
    return {
        "t": float(t),
        "a": float(a),
        "s": float(s),
        "output": short(output),
        "noise": None if noise is None else short(noise),
        "x": full(x),
    }


def ve_run(scheduler_class, config, generator, clip):
    """Euler or Heun: the sample is X = x/a; records x = a·X."""
    kwargs = dict(
        num_train_timesteps=TRAIN_STEPS,
        prediction_type=PREDICTION[config["objective"]],
        timestep_spacing=config["spacing"],
        **SCHEDULES[config["schedule"]],
    )
    if clip:
        kwargs["clip_sample"] = True
    scheduler = scheduler_class(**kwargs)
    scheduler.set_timesteps(config["steps"])
    model = FakeModel(config["objective"], generator)
    x_start = randn(generator)
    a_of = lambda sigma: 1.0 / (sigma**2 + 1) ** 0.5
    sample = x_start / a_of(scheduler.sigmas[0])
    calls = []
    for timestep in scheduler.timesteps:
        model_input = scheduler.scale_model_input(sample, timestep)
        sigma = scheduler.sigmas[scheduler.step_index]
        a = a_of(sigma)
        s = sigma * a
        output = model(model_input, a, s)
        sample = scheduler.step(output, timestep, sample).prev_sample
        x = sample * a_of(scheduler.sigmas[scheduler.step_index])
        calls.append(call_record(timestep + 1, a, s, output, None, x))
    return record(config, x_start, calls, clip=clip)


def ddim_run(config, generator, eta, clip):
    scheduler = DDIMScheduler(
        num_train_timesteps=TRAIN_STEPS,
        prediction_type=PREDICTION[config["objective"]],
        timestep_spacing=config["spacing"],
        clip_sample=clip,
        **SCHEDULES[config["schedule"]],
    )
    scheduler.set_timesteps(config["steps"])
    timesteps = [int(t) for t in scheduler.timesteps]
    own_gap = TRAIN_STEPS // config["steps"]
    model = FakeModel(config["objective"], generator)
    x_start = randn(generator)
    sample = x_start
    calls = []
    patched = False
    for k, timestep in enumerate(timesteps):
        following = timesteps[k + 1] if k + 1 < len(timesteps) else -1
        if timestep - following != own_gap and following >= 0:
            scheduler.num_inference_steps = Gap(timestep - following)
            patched = True
        elif following < 0 and timestep - own_gap >= 0:
            scheduler.num_inference_steps = Gap(timestep + 1)
            patched = True
        else:
            scheduler.num_inference_steps = config["steps"]
        alpha_bar = scheduler.alphas_cumprod[timestep]
        a, s = alpha_bar**0.5, (1 - alpha_bar) ** 0.5
        output = model(sample, a, s)
        noise = randn(generator) if eta > 0 else None
        sample = scheduler.step(
            output, timestep, sample, eta=eta, use_clipped_model_output=clip, variance_noise=noise
        ).prev_sample
        calls.append(call_record(timestep + 1, a, s, output, noise, sample))
    return record(config, x_start, calls, eta=eta, clip=clip, gap_patched=patched)


def ddim_diffusers_run(config, generator, steps_offset, set_alpha_to_one, eta=0.0, clip=False):
    """DDIMScheduler unpatched: diffusers' own rule (t − ⌊T/n⌋), its steps_offset and
    set_alpha_to_one, for Diffuscope's `DdimStep::Diffusers`; clipping as its pipelines do it
    (`use_clipped_model_output=False`: the model's ε̂ kept)."""
    scheduler = DDIMScheduler(
        num_train_timesteps=TRAIN_STEPS,
        prediction_type=PREDICTION[config["objective"]],
        timestep_spacing=config["spacing"],
        clip_sample=clip,
        steps_offset=steps_offset,
        set_alpha_to_one=set_alpha_to_one,
        **SCHEDULES[config["schedule"]],
    )
    scheduler.set_timesteps(config["steps"])
    model = FakeModel(config["objective"], generator)
    x_start = randn(generator)
    sample = x_start
    calls = []
    for timestep in [int(t) for t in scheduler.timesteps]:
        alpha_bar = scheduler.alphas_cumprod[timestep]
        a, s = alpha_bar**0.5, (1 - alpha_bar) ** 0.5
        output = model(sample, a, s)
        noise = randn(generator) if eta > 0 else None
        sample = scheduler.step(
            output, timestep, sample, eta=eta, use_clipped_model_output=False, variance_noise=noise
        ).prev_sample
        calls.append(call_record(timestep + 1, a, s, output, noise, sample))
    return record(
        config, x_start, calls, eta=eta, clip=clip, ddim_step="diffusers",
        steps_offset=steps_offset, set_alpha_to_one=set_alpha_to_one, eps_from_clipped_x0=False,
    )


def ddpm_run(config, generator, variance):
    scheduler = DDPMScheduler(
        num_train_timesteps=TRAIN_STEPS,
        prediction_type=PREDICTION[config["objective"]],
        timestep_spacing=config["spacing"],
        variance_type=variance,
        clip_sample=True,
        **SCHEDULES[config["schedule"]],
    )
    scheduler.set_timesteps(config["steps"])
    model = FakeModel(config["objective"], generator)
    x_start = randn(generator)
    sample = x_start
    calls = []
    for timestep in scheduler.timesteps:
        timestep = int(timestep)
        alpha_bar = scheduler.alphas_cumprod[timestep]
        a, s = alpha_bar**0.5, (1 - alpha_bar) ** 0.5
        output = model(sample, a, s)
        noise = randn(generator) if timestep > 0 else None
        with fixed_noise([noise] if noise is not None else []):
            sample = scheduler.step(output, timestep, sample).prev_sample
        calls.append(call_record(timestep + 1, a, s, output, noise, sample))
    return record(config, x_start, calls, variance=variance, clip=True)


def dpm_run(config, generator, clip):
    scheduler = DPMSolverMultistepScheduler(
        num_train_timesteps=TRAIN_STEPS,
        prediction_type=PREDICTION[config["objective"]],
        timestep_spacing=config["spacing"],
        thresholding=clip,
        sample_max_value=1.0,
        **SCHEDULES[config["schedule"]],
    )
    scheduler.set_timesteps(config["steps"])
    model = FakeModel(config["objective"], generator)
    x_start = randn(generator)
    sample = x_start
    calls = []
    for timestep in scheduler.timesteps:
        index = scheduler.step_index if scheduler.step_index is not None else 0
        a, s = scheduler._sigma_to_alpha_sigma_t(scheduler.sigmas[index])
        output = model(sample, a, s)
        sample = scheduler.step(output, timestep, sample).prev_sample
        calls.append(call_record(int(timestep) + 1, a, s, output, None, sample))
    return record(config, x_start, calls, clip=clip)


def flow_run(scheduler_class, config, generator):
    """Flow matching with σ = 1 − k/n. FlowMatchEulerDiscreteScheduler takes them as custom sigmas;
    FlowMatchHeunDiscreteScheduler.set_timesteps cannot, so its tables are replaced after it ran,
    in its own layout (every σ but the first and the final 0 twice)."""
    scheduler = scheduler_class(num_train_timesteps=TRAIN_STEPS, shift=1.0)
    n = config["steps"]
    ours = [1.0 - k / n for k in range(n)]
    if scheduler_class is FlowMatchEulerDiscreteScheduler:
        scheduler.set_timesteps(sigmas=ours)
    else:
        scheduler.set_timesteps(n)
        sigmas = torch.tensor(ours + [0.0], dtype=torch.float64)
        scheduler.sigmas = torch.cat([sigmas[:1], sigmas[1:-1].repeat_interleave(2), sigmas[-1:]])
        timesteps = sigmas[:-1] * TRAIN_STEPS
        scheduler.timesteps = torch.cat([timesteps[:1], timesteps[1:].repeat_interleave(2)])
    model = FakeModel("flow", generator)
    x_start = randn(generator)
    sample = x_start
    calls = []
    for timestep in scheduler.timesteps:
        index = scheduler.step_index if scheduler.step_index is not None else 0
        sigma = scheduler.sigmas[index]
        output = model(sample, 1 - sigma, sigma)
        sample = scheduler.step(output, timestep, sample).prev_sample
        calls.append(call_record(timestep, 1 - sigma, sigma, output, None, sample))
    return record(config, x_start, calls, clip=False)


def flow_diffusers_run(scheduler_class, config, generator, shift):
    """Flow matching over diffusers' own σ's: set_timesteps(n) with `shift`, nothing replaced."""
    scheduler = scheduler_class(num_train_timesteps=TRAIN_STEPS, shift=shift)
    scheduler.set_timesteps(config["steps"])
    model = FakeModel("flow", generator)
    x_start = randn(generator)
    sample = x_start
    calls = []
    for timestep in scheduler.timesteps:
        index = scheduler.step_index if scheduler.step_index is not None else 0
        sigma = scheduler.sigmas[index]
        output = model(sample, 1 - sigma, sigma)
        sample = scheduler.step(output, timestep, sample).prev_sample
        calls.append(call_record(timestep, 1 - sigma, sigma, output, None, sample))
    return record(config, x_start, calls, clip=False, flow_sigmas="diffusers", flow_shift=shift)


def from_config(scheduler_class, config, generator, **fields):
    """A run of `scheduler_class` made from a config with `fields` besides the run's prediction
    type, schedule and spacing. The record keeps that config as "scheduler_config", so that the
    Rust side reads it with the program's own reader of scheduler_config.json."""
    kwargs = dict(
        num_train_timesteps=TRAIN_STEPS,
        prediction_type=PREDICTION[config["objective"]],
        timestep_spacing=config["spacing"],
        **SCHEDULES[config["schedule"]],
        **fields,
    )
    if scheduler_class is FlowMatchEulerDiscreteScheduler:
        for key in ["prediction_type", "timestep_spacing", "beta_schedule", "beta_start", "beta_end"]:
            kwargs.pop(key)
    scheduler = scheduler_class(**kwargs)
    if getattr(scheduler.config, "use_dynamic_shifting", False):
        # The image's sequence length is its number of values (Diffuscope's convention).
        seq_len = int(np.prod(SHAPE[1:]))
        c = scheduler.config
        slope = (c.max_shift - c.base_shift) / (c.max_image_seq_len - c.base_image_seq_len)
        scheduler.set_timesteps(config["steps"], mu=c.base_shift + slope * (seq_len - c.base_image_seq_len))
    else:
        scheduler.set_timesteps(config["steps"])
    model = FakeModel(config["objective"], generator)
    x_start = randn(generator)
    euler_like = scheduler_class in (EulerDiscreteScheduler, HeunDiscreteScheduler)
    a_of = lambda sigma: 1.0 / (sigma**2 + 1) ** 0.5
    sample = x_start / a_of(scheduler.sigmas[0]) if euler_like else x_start
    calls = []
    for timestep in scheduler.timesteps:
        index = getattr(scheduler, "step_index", None) or 0
        noise = None
        if scheduler_class is FlowMatchEulerDiscreteScheduler:
            sigma = scheduler.sigmas[index]
            a, s, t = 1 - sigma, sigma, timestep
        elif euler_like:
            sigma = scheduler.sigmas[index]
            a = a_of(sigma)
            s, t = sigma * a, timestep + 1
        elif scheduler_class is DPMSolverMultistepScheduler:
            a, s = scheduler._sigma_to_alpha_sigma_t(scheduler.sigmas[index])
            t = int(timestep) + 1
        else:
            alpha_bar = scheduler.alphas_cumprod[int(timestep)]
            a, s, t = alpha_bar**0.5, (1 - alpha_bar) ** 0.5, int(timestep) + 1
        model_input = scheduler.scale_model_input(sample, timestep) if euler_like else sample
        output = model(model_input, a, s)
        if scheduler_class is DDPMScheduler:
            noise = randn(generator) if int(timestep) > 0 else None
            with fixed_noise([noise] if noise is not None else []):
                sample = scheduler.step(output, timestep, sample).prev_sample
        elif scheduler_class is DDIMScheduler:
            sample = scheduler.step(output, timestep, sample, use_clipped_model_output=False).prev_sample
        else:
            sample = scheduler.step(output, timestep, sample).prev_sample
        x = sample * a_of(scheduler.sigmas[scheduler.step_index]) if euler_like else sample
        calls.append(call_record(t, a, s, output, noise, x))
    scheduler_config = {"_class_name": scheduler_class.__name__, **kwargs}
    return record(config, x_start, calls, clip=False, scheduler_config=scheduler_config)


def config(sampler, objective, spacing, schedule="linear", steps=STEPS):
    return dict(
        sampler=sampler,
        objective=objective,
        schedule=schedule,
        train_steps=TRAIN_STEPS,
        steps=steps,
        spacing=spacing,
    )


def runs(generator):
    spacings = ["leading", "trailing", "linspace"]
    out = []
    for spacing in spacings:
        for variance in ["fixed_small", "fixed_large"]:
            out.append(ddpm_run(config("ddpm", "eps", spacing), generator, variance))
    out.append(ddpm_run(config("ddpm", "v", "trailing"), generator, "fixed_small"))
    for spacing in spacings:
        for objective in ["eps", "v"]:
            out.append(ddim_run(config("ddim", objective, spacing), generator, eta=0.0, clip=False))
    out.append(ddim_run(config("ddim", "eps", "trailing", steps=6), generator, eta=1.0, clip=True))
    out.append(ddim_run(config("ddim", "v", "linspace"), generator, eta=0.5, clip=True))
    for name, scheduler_class in [("euler", EulerDiscreteScheduler), ("heun", HeunDiscreteScheduler)]:
        for spacing in spacings:
            for objective in ["eps", "v"]:
                out.append(ve_run(scheduler_class, config(name, objective, spacing), generator, clip=False))
        out.append(ve_run(scheduler_class, config(name, "eps", "linspace", "scaled-linear"), generator, clip=False))
    out.append(ve_run(HeunDiscreteScheduler, config("heun", "eps", "trailing", steps=5), generator, clip=True))
    for spacing in spacings:
        for objective in ["eps", "v"]:
            out.append(dpm_run(config("dpm++2m", objective, spacing), generator, clip=False))
    out.append(dpm_run(config("dpm++2m", "eps", "trailing", "scaled-linear"), generator, clip=True))
    out.append(flow_run(FlowMatchEulerDiscreteScheduler, config("flow-euler", "flow", "trailing"), generator))
    out.append(flow_run(FlowMatchHeunDiscreteScheduler, config("flow-heun", "flow", "trailing", steps=6), generator))
    # diffusers' own DDIM rule: the latent-diffusion configuration, steps that do not divide T,
    # and linspace spacing, where its rule and the formula's differ.
    ldm = config("ddim", "eps", "leading", "scaled-linear", steps=7)
    out.append(ddim_diffusers_run(ldm, generator, steps_offset=1, set_alpha_to_one=False))
    out.append(ddim_diffusers_run(config("ddim", "v", "trailing", steps=7), generator, 0, True))
    out.append(ddim_diffusers_run(config("ddim", "eps", "linspace"), generator, 0, False, eta=1.0))
    # diffusers' own flow σ's, unshifted and shifted.
    for shift in [1.0, 3.0]:
        out.append(flow_diffusers_run(FlowMatchEulerDiscreteScheduler, config("flow-euler", "flow", "trailing"), generator, shift))
        out.append(flow_diffusers_run(FlowMatchHeunDiscreteScheduler, config("flow-heun", "flow", "trailing", steps=6), generator, shift))
    # Clipping x̂0 and keeping the model's ε̂, as diffusers' DDIM pipeline does.
    out.append(ddim_diffusers_run(config("ddim", "eps", "leading"), generator, 1, False, clip=True))
    # Every further field of diffusers' configs the program reads, from the config itself.
    out.extend(config_runs(generator))
    return out


def config_runs(generator):
    """Runs read by the Rust side from their scheduler_config: clipping ranges, dynamic
    thresholding, offsets of the other schedulers, final σ's, DPM-Solver's last step, listed β's,
    x0-prediction, Karras and exponential σ ramps, and flow matching's dynamic shifting and
    terminal σ."""
    out = []
    threshold = dict(thresholding=True, dynamic_thresholding_ratio=0.9, sample_max_value=1.5)
    out.append(from_config(DDPMScheduler, config("ddpm", "eps", "leading"), generator, clip_sample=True, clip_sample_range=0.8))
    out.append(from_config(DDPMScheduler, config("ddpm", "v", "trailing"), generator, **threshold))
    out.append(from_config(DDIMScheduler, config("ddim", "eps", "leading", steps=7), generator, steps_offset=1, **threshold))
    out.append(from_config(DDIMScheduler, config("ddim", "eps", "trailing"), generator, clip_sample=True, clip_sample_range=1.2))
    out.append(from_config(HeunDiscreteScheduler, config("heun", "eps", "leading", steps=5), generator, clip_sample=True, clip_sample_range=0.9, steps_offset=1))
    out.append(from_config(EulerDiscreteScheduler, config("euler", "eps", "leading"), generator, steps_offset=1))
    out.append(from_config(EulerDiscreteScheduler, config("euler", "v", "trailing"), generator, final_sigmas_type="sigma_min"))
    out.append(from_config(DPMSolverMultistepScheduler, config("dpm++2m", "eps", "leading"), generator, steps_offset=1, **threshold))
    for lower_order_final, euler_at_final in [(True, False), (False, False), (False, True)]:
        out.append(from_config(
            DPMSolverMultistepScheduler, config("dpm++2m", "v", "trailing"), generator,
            final_sigmas_type="sigma_min", lower_order_final=lower_order_final, euler_at_final=euler_at_final,
        ))
    # β's listed one by one: a quadratic ramp no named schedule makes.
    trained = [round(1e-4 + (0.02 - 1e-4) * (i / 999) ** 2, 8) for i in range(TRAIN_STEPS)]
    out.append(from_config(DDIMScheduler, config("ddim", "eps", "trailing"), generator, trained_betas=trained))
    out.append(from_config(
        DPMSolverMultistepScheduler, config("dpm++2m", "v", "trailing"), generator, trained_betas=trained,
        rescale_betas_zero_snr=True,
    ))
    # x0-prediction (diffusers' "sample") through every ε/v sampler.
    out.append(from_config(DDPMScheduler, config("ddpm", "x0", "leading"), generator))
    out.append(from_config(DDIMScheduler, config("ddim", "x0", "trailing"), generator))
    out.append(from_config(EulerDiscreteScheduler, config("euler", "x0", "linspace"), generator))
    out.append(from_config(HeunDiscreteScheduler, config("heun", "x0", "trailing", steps=5), generator))
    out.append(from_config(DPMSolverMultistepScheduler, config("dpm++2m", "x0", "trailing"), generator))
    # Karras and exponential σ ramps (Euler's with its own ends too).
    out.append(from_config(EulerDiscreteScheduler, config("euler", "eps", "linspace"), generator, use_karras_sigmas=True))
    out.append(from_config(EulerDiscreteScheduler, config("euler", "v", "trailing"), generator, use_exponential_sigmas=True))
    out.append(from_config(
        EulerDiscreteScheduler, config("euler", "eps", "leading"), generator, use_karras_sigmas=True,
        sigma_min=0.1, sigma_max=10.0,
    ))
    out.append(from_config(HeunDiscreteScheduler, config("heun", "eps", "trailing", steps=5), generator, use_karras_sigmas=True))
    out.append(from_config(DPMSolverMultistepScheduler, config("dpm++2m", "eps", "trailing"), generator, use_karras_sigmas=True))
    out.append(from_config(DPMSolverMultistepScheduler, config("dpm++2m", "v", "linspace"), generator, use_exponential_sigmas=True))
    # DPM-Solver++ of every order, Heun's second-order rule, and order 3 ending short of the image.
    out.append(from_config(DPMSolverMultistepScheduler, config("dpm++2m", "eps", "trailing"), generator, solver_order=1))
    out.append(from_config(DPMSolverMultistepScheduler, config("dpm++2m", "eps", "trailing"), generator, solver_order=3))
    out.append(from_config(DPMSolverMultistepScheduler, config("dpm++2m", "v", "linspace", steps=16), generator, solver_order=3))
    out.append(from_config(DPMSolverMultistepScheduler, config("dpm++2m", "eps", "leading"), generator, solver_type="heun"))
    out.append(from_config(
        DPMSolverMultistepScheduler, config("dpm++2m", "v", "trailing"), generator, solver_order=3,
        solver_type="heun", final_sigmas_type="sigma_min", lower_order_final=False,
    ))
    flow = config("flow-euler", "flow", "trailing")
    for time_shift_type in ["exponential", "linear"]:
        out.append(from_config(FlowMatchEulerDiscreteScheduler, flow, generator, use_dynamic_shifting=True, time_shift_type=time_shift_type))
    out.append(from_config(FlowMatchEulerDiscreteScheduler, flow, generator, shift=3.0, shift_terminal=0.1))
    out.append(from_config(
        FlowMatchEulerDiscreteScheduler, flow, generator, use_dynamic_shifting=True, base_shift=0.3,
        max_shift=2.0, base_image_seq_len=8, max_image_seq_len=64, shift_terminal=0.05,
    ))
    return out


def main() -> None:
    generator = torch.Generator().manual_seed(0)
    modules = [
        diffusers.schedulers.scheduling_euler_discrete,
        diffusers.schedulers.scheduling_heun_discrete,
        diffusers.schedulers.scheduling_dpmsolver_multistep,
        diffusers.schedulers.scheduling_flow_match_euler_discrete,
        diffusers.schedulers.scheduling_flow_match_heun_discrete,
    ]
    with float64_everywhere(), numpy_float64(*modules):
        recorded = runs(generator)
    OUT.write_text(
        json.dumps(
            {
                "generator": f"diffusers {diffusers.__version__}, torch {torch.__version__} (float64)",
                "runs": recorded,
            },
            separators=(",", ":"),
        )
    )
    print(f"wrote {OUT} ({len(recorded)} runs, {OUT.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
