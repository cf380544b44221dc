#!/usr/bin/env python3
"""Writes tests/golden/scheduler_configs.json for tests/scheduler_config_golden.rs: diffusers'
own reading of scheduler configs that Diffuscope accepts (src/model/scheduler_config.rs).

    pip install diffusers==0.42.1 torch
    python3 tests/golden/make_scheduler_configs.py

For each config: the file diffusers' `save_config` writes (every default spelled out), ᾱ at every 37th training timestep and the last (diffusers' `alphas_cumprod`, float32),
and, for DDPM and DDIM, the timesteps `set_timesteps(n)` picks for a few n.
"""
import json
import pathlib
import tempfile

import diffusers

OUT = pathlib.Path(__file__).resolve().parent / "scheduler_configs.json"

CONFIGS = [
    ("DDPMScheduler", {"variance_type": "fixed_large"}),
    ("DDPMScheduler", {"beta_schedule": "sigmoid", "timestep_spacing": "trailing"}),
    ("DDPMScheduler", {"beta_schedule": "squaredcos_cap_v2", "num_train_timesteps": 250,
                       "prediction_type": "v_prediction", "timestep_spacing": "linspace"}),
    ("DDIMScheduler", {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012,
                       "clip_sample": False, "timestep_spacing": "trailing",
                       "rescale_betas_zero_snr": True, "prediction_type": "v_prediction"}),
    ("DDIMScheduler", {"num_train_timesteps": 37}),
    ("DDIMScheduler", {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012,
                       "clip_sample": False, "set_alpha_to_one": False, "steps_offset": 1}),
    ("EulerDiscreteScheduler", {"prediction_type": "v_prediction", "timestep_spacing": "trailing"}),
    ("HeunDiscreteScheduler", {}),
    ("DPMSolverMultistepScheduler", {"beta_schedule": "squaredcos_cap_v2", "thresholding": True,
                                     "sample_max_value": 1.0}),
]
STEPS = [1, 7, 10, 50]


def main():
    cases = []
    for class_name, fields in CONFIGS:
        scheduler = getattr(diffusers, class_name)(**fields)
        with tempfile.TemporaryDirectory() as folder:
            scheduler.save_config(folder)
            config = (pathlib.Path(folder) / "scheduler_config.json").read_text()
        alphas = scheduler.alphas_cumprod.double().tolist()
        indices = sorted(set(range(0, len(alphas), 37)) | {len(alphas) - 1})
        case = {
            "config": config,
            "alpha_bar": [[i, alphas[i]] for i in indices],
            "timesteps": {},
        }
        if class_name in ("DDPMScheduler", "DDIMScheduler"):
            for n in [n for n in STEPS if n <= scheduler.config.num_train_timesteps]:
                scheduler.set_timesteps(n)
                case["timesteps"][str(n)] = [int(t) for t in scheduler.timesteps]
        cases.append(case)
    OUT.write_text(json.dumps({"diffusers": diffusers.__version__, "cases": cases}, indent=1) + "\n")
    print(f"wrote {OUT}: {len(cases)} configs")


if __name__ == "__main__":
    main()
