#!/usr/bin/env python3
"""Judges shipped ε/v digit models with the PyTorch reference: for every digit, 16 samples with DDPM
(50 steps, guidance 3, x̂0 clipped to [-1, 1], seed 1), scored by the shipped classifier.

    cd training && python3 judge_reference.py eps v

The same formulas as `diffuscope sample` (src/diffusion/ancestral.rs, golden-tested against
diffusers), but PyTorch's random stream, so the individual samples differ from the program's.
"""
import sys, torch
sys.path.insert(0, '.')
from unet import DigitUNet, DigitClassifier
from safetensors.torch import load_file
torch.set_num_threads(1)
c = DigitClassifier(); c.load_state_dict(load_file('../assets/models/digits-classifier.safetensors')); c.eval()
betas = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64); ab = torch.cumprod(1 - betas, 0)
def sample(m, objective, cls, w, n_steps, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(16, 1, 28, 28, generator=g).double()
    ts = list(range(1000, 0, -1000 // n_steps))
    for i, t in enumerate(ts):
        tp = ts[i + 1] if i + 1 < len(ts) else 0
        with torch.no_grad():
            out = m(torch.cat([x, x]).float(), torch.full((32,), float(t)), torch.tensor([cls] * 16 + [10] * 16)).double()
        o = out[16:] + w * (out[:16] - out[16:])
        a_t = ab[t - 1]; a_p = ab[tp - 1] if tp > 0 else torch.tensor(1.0, dtype=torch.float64)
        x0 = (x - (1 - a_t).sqrt() * o) / a_t.sqrt() if objective == 'eps' else a_t.sqrt() * x - (1 - a_t).sqrt() * o
        x0 = x0.clamp(-1, 1)
        beta = 1 - a_t / a_p
        mean = a_p.sqrt() * beta / (1 - a_t) * x0 + (1 - beta).sqrt() * (1 - a_p) / (1 - a_t) * x
        x = mean + (((1 - a_p) / (1 - a_t) * beta).sqrt() * torch.randn(x.shape, generator=g).double() if tp > 0 else 0)
    with torch.no_grad():
        return (c(x.float()).argmax(1) == cls).sum().item()
for name in sys.argv[1:]:
    m = DigitUNet(); m.load_state_dict(load_file(f'../assets/models/digits-{name}.safetensors')); m.eval()
    res = [sample(m, name, d, 3.0, 50, 1) for d in range(10)]
    print(name, res, sum(res) / 160, flush=True)
