"""The reference implementation of Diffuscope's digit networks in PyTorch.

The Rust implementation in src/model/ must compute exactly the same function (a golden test checks
it within 1e-4). Parameter names here are the tensor names in the checkpoints and the module paths
in candle, so keep them in sync.

DigitUNet (for 1×28×28 digits; no padding: 28 → 14 → 7):
    conv_in                  3×3, 1 → c0
    down.0  ResBlock(c0, c0)        [skip 28×28]     down.0.downsample  3×3 stride 2   → 14×14
    down.1  ResBlock(c0, c1)        [skip 14×14]     down.1.downsample  3×3 stride 2   → 7×7
    down.2  ResBlock(c1, c2)        [skip 7×7]
    mid.block1 ResBlock(c2, c2), mid.attn SelfAttention(c2), mid.block2 ResBlock(c2, c2)
    up.2    ResBlock(c2 + c2, c2)    up.2.upsample  nearest ×2, 3×3                     → 14×14
    up.1    ResBlock(c2 + c1, c1)    up.1.upsample  nearest ×2, 3×3                     → 28×28
    up.0    ResBlock(c1 + c0, c0)
    norm_out GroupNorm, SiLU, conv_out 3×3, c0 → 1
Conditioning: emb = time_mlp(sinusoid(t)) + class_emb(y), with y = 10 meaning "no class" (for
classifier-free guidance). Each ResBlock adds Linear(SiLU(emb)) to its hidden channels.
"""
import math

import torch
from torch import nn
import torch.nn.functional as F

NULL_CLASS = 10


def sinusoidal_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """[cos(t·f_i), sin(t·f_i)] with f_i = exp(−ln(10000)·i/(dim/2)), i = 0..dim/2−1."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None, :]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, emb_dim, groups):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(emb_dim, cout)
        self.norm2 = nn.GroupNorm(groups, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(F.silu(emb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + (self.skip(x) if self.skip is not None else x)


class SelfAttention(nn.Module):
    """Single-head self-attention over the H·W positions, with a residual connection."""

    def __init__(self, channels, groups):
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels)
        self.qkv = nn.Linear(channels, 3 * channels)
        self.proj = nn.Linear(channels, channels)

    def forward(self, x):
        b, c, h, w = x.shape
        tokens = self.norm(x).reshape(b, c, h * w).transpose(1, 2)  # b, hw, c
        q, k, v = self.qkv(tokens).chunk(3, dim=2)
        weights = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(c), dim=2)
        out = self.proj(weights @ v)
        return x + out.transpose(1, 2).reshape(b, c, h, w)


class Down(nn.Module):
    def __init__(self, cin, cout, emb_dim, groups, downsample):
        super().__init__()
        self.block = ResBlock(cin, cout, emb_dim, groups)
        self.downsample = nn.Conv2d(cout, cout, 3, stride=2, padding=1) if downsample else None


class Up(nn.Module):
    def __init__(self, cin, cout, emb_dim, groups, upsample):
        super().__init__()
        self.block = ResBlock(cin, cout, emb_dim, groups)
        self.upsample = nn.Conv2d(cout, cout, 3, padding=1) if upsample else None


class Mid(nn.Module):
    def __init__(self, channels, emb_dim, groups):
        super().__init__()
        self.block1 = ResBlock(channels, channels, emb_dim, groups)
        self.attn = SelfAttention(channels, groups)
        self.block2 = ResBlock(channels, channels, emb_dim, groups)


class TimeMlp(nn.Module):
    def __init__(self, sinusoid_dim, emb_dim):
        super().__init__()
        self.sinusoid_dim = sinusoid_dim
        self.linear1 = nn.Linear(sinusoid_dim, emb_dim)
        self.linear2 = nn.Linear(emb_dim, emb_dim)

    def forward(self, t):
        return self.linear2(F.silu(self.linear1(sinusoidal_embedding(t, self.sinusoid_dim))))


DEFAULT_CONFIG = {
    "channels": [16, 32, 64],
    "groups": 8,
    "sinusoid_dim": 32,
    "emb_dim": 128,
    "classes": 10,
}


class DigitUNet(nn.Module):
    def __init__(self, config=None):
        super().__init__()
        config = dict(DEFAULT_CONFIG, **(config or {}))
        self.config = config
        c0, c1, c2 = config["channels"]
        g, e = config["groups"], config["emb_dim"]
        self.time_mlp = TimeMlp(config["sinusoid_dim"], e)
        self.class_emb = nn.Embedding(config["classes"] + 1, e)
        self.conv_in = nn.Conv2d(1, c0, 3, padding=1)
        self.down = nn.ModuleList(
            [Down(c0, c0, e, g, True), Down(c0, c1, e, g, True), Down(c1, c2, e, g, False)]
        )
        self.mid = Mid(c2, e, g)
        self.up = nn.ModuleList(
            [Up(c1 + c0, c0, e, g, False), Up(c2 + c1, c1, e, g, True), Up(c2 + c2, c2, e, g, True)]
        )
        self.norm_out = nn.GroupNorm(g, c0)
        self.conv_out = nn.Conv2d(c0, 1, 3, padding=1)

    def forward(self, x, t, y):
        emb = self.time_mlp(t) + self.class_emb(y)
        h = self.conv_in(x)
        skips = []
        for down in self.down:
            h = down.block(h, emb)
            skips.append(h)
            if down.downsample is not None:
                h = down.downsample(h)
        h = self.mid.block2(self.mid.attn(self.mid.block1(h, emb)), emb)
        for up in reversed(self.up):
            h = up.block(torch.cat([h, skips.pop()], dim=1), emb)
            if up.upsample is not None:
                h = up.upsample(F.interpolate(h, scale_factor=2, mode="nearest"))
        return self.conv_out(F.silu(self.norm_out(h)))


class DigitClassifier(nn.Module):
    """A small CNN that judges generated digits: 28×28 in [-1, 1] → 10 logits."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.conv3 = nn.Conv2d(64, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.conv1(x)), 2)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)
        h = F.relu(self.conv3(h))
        return self.fc2(F.relu(self.fc1(h.flatten(1))))
