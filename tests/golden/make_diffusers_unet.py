#!/usr/bin/env python3
"""Golden forward passes of diffusers' `UNet2DModel` for `tests/diffusers_unet_golden.rs`.

    /path/to/venv/bin/python tests/golden/make_diffusers_unet.py   # torch and diffusers 0.42.1

Writes tests/golden/diffusers_unet/<name>/ for three randomly initialised configurations chosen to
visit every option the program reads (grey and RGB; plain and attention blocks; one and several
heads; "default" and "scale_shift" time conditioning; class embeddings; flip_sin_to_cos off with
freq_shift 1; center_input_sample; downsample_padding 0; attn_norm_num_groups; a mid block without
attention; a set time_embedding_dim; mid_block_scale_factor ≠ 1):
- `config.json` and `diffusion_pytorch_model.safetensors`, written by diffusers' `save_pretrained`
  (every weight moved off its initial value by 0.1·N(0, 1), so GroupNorm's γ and β are not 1 and 0);
- `io.safetensors`: inputs `x` (B, C, H, W), `t` (B,) (whole and fractional timesteps, as Euler and
  Heun pass), `y` (B,) class ids, and the model's output `out`, all float32.
The configuration `pipeline` is also a whole pipeline folder (`model_index.json`,
`scheduler/scheduler_config.json`, `unet/`), for the folder loader's tests.

Also `shipped-io.safetensors`: the same inputs and output for the shipped example
`assets/models/digits-diffusers` (trained by `training/train_diffusers_unet.py`).
"""
import json
import pathlib
import shutil

import torch
from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel
from safetensors.torch import save_file

HERE = pathlib.Path(__file__).resolve().parent / "diffusers_unet"

CONFIGS = {
    "two-heads": dict(
        sample_size=16, in_channels=1, out_channels=1, block_out_channels=(8, 16),
        down_block_types=("DownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "UpBlock2D"),
        layers_per_block=2, norm_num_groups=4, attention_head_dim=8,
    ),
    "rgb-scale-shift": dict(
        sample_size=(16, 8), in_channels=3, out_channels=3, block_out_channels=(8, 16, 16),
        down_block_types=("DownBlock2D", "AttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
        layers_per_block=1, norm_num_groups=4, attention_head_dim=None,
        resnet_time_scale_shift="scale_shift", num_class_embeds=11, flip_sin_to_cos=False,
        freq_shift=1, center_input_sample=True, mid_block_scale_factor=1.4142135623730951,
        norm_eps=1e-6, downsample_padding=0,
    ),
    "pipeline": dict(
        sample_size=28, in_channels=1, out_channels=1, block_out_channels=(8, 16, 16),
        down_block_types=("DownBlock2D", "DownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
        layers_per_block=1, norm_num_groups=4, attention_head_dim=4, attn_norm_num_groups=2,
        num_class_embeds=11, add_attention=False, time_embedding_dim=24,
    ),
}


def main():
    torch.manual_seed(0)
    shutil.rmtree(HERE, ignore_errors=True)
    for name, config in CONFIGS.items():
        model = UNet2DModel(**config).eval()
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.1 * torch.randn_like(p))
        folder = HERE / name
        if name == "pipeline":
            scheduler = DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear")
            DDPMPipeline(unet=model, scheduler=scheduler).save_pretrained(folder, safe_serialization=True)
            unet_folder = folder / "unet"
        else:
            model.save_pretrained(folder, safe_serialization=True)
            unet_folder = folder
        size = config["sample_size"]
        h, w = (size, size) if isinstance(size, int) else size
        x = torch.randn(3, config["in_channels"], h, w)
        t = torch.tensor([0.0, 417.25, 999.0])
        y = torch.tensor([3, 10, 7])
        with torch.no_grad():
            out = model(x, t, class_labels=y if config.get("num_class_embeds") else None).sample
        save_file(
            {"x": x, "t": t, "y": y.float(), "out": out.contiguous()},
            str(unet_folder / "io.safetensors"),
        )
        count = sum(p.numel() for p in model.parameters())
        print(f"{name}: {count} parameters, |out| max {out.abs().max():.3f}")
    shipped = HERE.parent.parent.parent / "assets/models/digits-diffusers/unet"
    model = UNet2DModel.from_pretrained(str(shipped)).eval()
    x = torch.randn(4, 1, 28, 28)
    t = torch.tensor([0.0, 250.5, 640.0, 999.0])
    y = torch.tensor([0, 4, 10, 9])
    with torch.no_grad():
        out = model(x, t, class_labels=y).sample
    save_file({"x": x, "t": t, "y": y.float(), "out": out.contiguous()}, str(HERE / "shipped-io.safetensors"))
    print(f"shipped: |out| max {out.abs().max():.3f}")
    (HERE / "README.md").write_text(
        "Made by `tests/golden/make_diffusers_unet.py` with diffusers "
        + __import__("diffusers").__version__ + " and torch " + torch.__version__ + ".\n"
    )


if __name__ == "__main__":
    main()
