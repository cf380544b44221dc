#!/usr/bin/env python3
"""Writes the golden files of tests/dit_golden.rs from the PyTorch reference (training/dit.py).

    python3 tests/golden/make_dit_golden.py

Each file is a checkpoint in the format training writes (`diffuscope.kind = digit-dit`, the same
tensor names and metadata keys), so the test goes through the program's own loader, plus tensors
under `golden.*`: fixed inputs (x, t, y) in three batches of two and the reference's outputs, the
tokens of `patchify` for the first batch, and the attention weights of the last block.

- dit-learned-golden.safetensors: learned positions, told t (float32 weights).
- dit-rope-golden.safetensors: 2D RoPE, told t (float32), plus `golden.rope.x` (1, 2, 49, 16)
  and `golden.rope.out`, the reference's `apply_rope` of it.
- dit-none-notime-golden.safetensors: no positions and no time input (weights stored as float16;
  the outputs were computed with the f16-rounded weights).

Small sizes (dim 32, 2 blocks, 2 heads of 16, MLP ×2, sinusoid 16) keep the files small; every
weight is random (torch.manual_seed(0)), the adaLN layers too (training starts them at zero, which
would hide them from the test).
"""
import json
import pathlib
import sys

import torch
from safetensors.torch import save_file

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "training"))
from dit import DigitDiT, apply_rope, patchify  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parent
SMALL = {"dim": 32, "depth": 2, "heads": 2, "mlp_ratio": 2, "sinusoid_dim": 16}
BATCHES = [([1.0, 250.0], [3, 10]), ([999.0, 500.0], [10, 7]), ([437.25, 0.0], [0, 9])]


def randomised(model):
    with torch.no_grad():
        for name, p in model.named_parameters():
            scale = 0.02 if name == "class_emb.weight" else 1.0 / max(1, p.shape[-1]) ** 0.5
            p.copy_(torch.randn_like(p) * (scale if p.dim() > 1 else 0.1))
    return model


def write(name, config, dtype, extra=None):
    torch.manual_seed(0)
    model = randomised(DigitDiT(dict(SMALL, **config))).eval()
    stored = {}
    with torch.no_grad():
        for key, tensor in model.state_dict().items():
            low = tensor.to(dtype).contiguous()
            stored[key] = low
            tensor.copy_(low.float())
    golden = {}
    with torch.no_grad():
        for i, (t, y) in enumerate(BATCHES):
            x = torch.randn(2, 1, 28, 28)
            t, y = torch.tensor(t), torch.tensor(y)
            golden[f"golden.x.{i}"] = x
            golden[f"golden.t.{i}"] = t
            golden[f"golden.y.{i}"] = y.to(torch.int64)
            golden[f"golden.out.{i}"] = model(x, t, y)
        x = golden["golden.x.0"]
        golden["golden.tokens.0"] = patchify(x, 4)
        h = model.patch_embed(patchify(x, 4))
        if model.config["positions"] == "learned":
            h = h + model.pos_embed[None]
        c = model.condition(golden["golden.t.0"], torch.tensor(BATCHES[0][1]))
        angles = model.rope if model.config["positions"] == "rope" else None
        for block in model.blocks[:-1]:
            h = block(h, c, angles)
        last = model.blocks[-1]
        shift, scale = last.ada(torch.nn.functional.silu(c)).chunk(6, dim=1)[:2]
        from dit import modulate
        _, weights = last.attn(modulate(h, shift, scale), angles, keep_weights=True)
        golden["golden.attention.0"] = weights
    golden.update(extra(model) if extra else {})
    metadata = {
        "diffuscope.kind": "digit-dit",
        "diffuscope.format": "1",
        "architecture": json.dumps(model.config),
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
        "command": "python3 tests/golden/make_dit_golden.py",
        "trainer": f"PyTorch {torch.__version__}",
    }
    tensors = {**stored, **{k: v.contiguous() for k, v in golden.items()}}
    save_file(tensors, str(OUT / name), metadata=metadata)
    print(f"wrote {name}")


def rope_vectors(model):
    x = torch.randn(1, 2, 49, 16)
    return {"golden.rope.x": x, "golden.rope.out": apply_rope(x, model.rope)}


write("dit-learned-golden.safetensors", {"positions": "learned"}, torch.float32)
write("dit-rope-golden.safetensors", {"positions": "rope"}, torch.float32, rope_vectors)
write("dit-none-notime-golden.safetensors", {"positions": "none", "time_input": False}, torch.float16)
