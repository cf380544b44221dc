"""The reference implementation of Diffuscope's digit transformer (a small DiT) in PyTorch.

The Rust implementation in src/model/dit.rs must compute exactly the same function (a golden test
checks it within 1e-4). Parameter names here are the tensor names in the checkpoints and the module
paths in candle, so keep them in sync.

DigitDiT (for 1×28×28 digits):
    patchify        the picture cut into 4×4 patches → 7×7 = 49 tokens of 16 values, row by row;
                    a patch's values in (channel, row, column) order
    patch_embed     Linear(16·C, dim)
    pos_embed       (49, dim) learned, added to the tokens            [positions = "learned"]
                    or 2D RoPE on each head's queries and keys       [positions = "rope"]
                    or nothing                                        [positions = "none"]
    blocks.i        adaLN-zero transformer block (DiT): from c, one Linear(SiLU(c)) gives
                    shift, scale, gate for the attention and for the MLP;
                    x += gate_a · attn(LN(x)·(1 + scale_a) + shift_a)
                    x += gate_m · mlp(LN(x)·(1 + scale_m) + shift_m)
                    LN without parameters (ε = 1e-6), attention with `heads` heads, MLP
                    Linear(dim, 4·dim), GELU (tanh approximation), Linear(4·dim, dim)
    final           LN·(1 + scale) + shift (adaLN, 2·dim), Linear(dim, 16·C), unpatchify
Conditioning: c = time_mlp(sinusoid(t)) + class_emb(y), y = 10 meaning "no class"; a model built
with time_input = False has no time_mlp and c = class_emb(y) — it is not told t.
Every adaLN Linear and the final Linear start at zero (adaLN-zero): each block starts as identity.

Why 4×4 patches: 28 = 7·4, so 49 tokens — few enough that attention over all of them is cheap on a
laptop (49² scores per head), large enough that a stroke crosses several patches; 2×2 patches would
give 196 tokens (16× the attention work), 7×7 patches only 16 tokens too coarse to place a stroke.

2D RoPE: each head's dim is split in two halves, the first rotated by the patch's row, the second by
its column. Within a half of size h, value i pairs with value i + h/2 (the "rotate half" layout) and
the pair turns by the angle position · θ_i, θ_i = ROPE_BASE^(−i/(h/2)).
"""
import math

import torch
from torch import nn
import torch.nn.functional as F

from unet import NULL_CLASS, TimeMlp  # noqa: F401  (NULL_CLASS re-exported for the trainer)

ROPE_BASE = 100.0

DEFAULT_CONFIG = {
    "image_size": 28,
    "in_channels": 1,
    "patch": 4,
    "dim": 128,
    "depth": 4,
    "heads": 4,
    "mlp_ratio": 4,
    "sinusoid_dim": 64,
    "classes": 10,
    "positions": "learned",
    "time_input": True,
}


def patchify(x, p):
    """(B, C, H, W) → (B, H/p · W/p, C·p·p), tokens row by row."""
    b, c, h, w = x.shape
    x = x.reshape(b, c, h // p, p, w // p, p).permute(0, 2, 4, 1, 3, 5)
    return x.reshape(b, (h // p) * (w // p), c * p * p)


def unpatchify(tokens, c, h, w, p):
    """The inverse of `patchify`."""
    b = tokens.shape[0]
    x = tokens.reshape(b, h // p, w // p, c, p, p).permute(0, 3, 1, 4, 2, 5)
    return x.reshape(b, c, h, w)


def rope_angles(grid, head_dim):
    """(grid², head_dim / 2) angles: for each token, the first head_dim/4 by its row, the rest by
    its column."""
    quarter = head_dim // 4
    theta = ROPE_BASE ** (-torch.arange(quarter, dtype=torch.float32) / quarter)
    rows = torch.arange(grid, dtype=torch.float32).repeat_interleave(grid)
    cols = torch.arange(grid, dtype=torch.float32).repeat(grid)
    return torch.cat([rows[:, None] * theta[None, :], cols[:, None] * theta[None, :]], dim=1)


def rotate_half(x, cos, sin):
    """Turns the pairs (x_i, x_{i + h/2}) of x (…, h) by the angles whose cos/sin are given (…, h/2)."""
    half = x.shape[-1] // 2
    a, b = x[..., :half], x[..., half:]
    return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)


def apply_rope(x, angles):
    """x (B, heads, N, head_dim): the first half of each head turned by the row angles, the second
    by the column angles."""
    half = x.shape[-1] // 2
    quarter = half // 2
    cos, sin = angles.cos(), angles.sin()
    rows = rotate_half(x[..., :half], cos[:, :quarter], sin[:, :quarter])
    cols = rotate_half(x[..., half:], cos[:, quarter:], sin[:, quarter:])
    return torch.cat([rows, cols], dim=-1)


def modulate(x, shift, scale):
    # The width as a plain int (shift's), so that an exported graph has a constant shape.
    dim = int(shift.shape[-1])
    return F.layer_norm(x, (dim,), eps=1e-6) * (1 + scale[:, None, :]) + shift[:, None, :]


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, angles=None, keep_weights=False):
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        if angles is not None:
            q, k = apply_rope(q, angles), apply_rope(k, angles)
        weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // self.heads), dim=-1)
        out = (weights @ v).transpose(1, 2).reshape(b, n, d)
        return self.proj(out), (weights if keep_weights else None)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, dim, heads, mlp_ratio):
        super().__init__()
        self.attn = Attention(dim, heads)
        self.mlp = Mlp(dim, mlp_ratio * dim)
        self.ada = nn.Linear(dim, 6 * dim)
        nn.init.zeros_(self.ada.weight)
        nn.init.zeros_(self.ada.bias)

    def forward(self, x, c, angles=None):
        shift_a, scale_a, gate_a, shift_m, scale_m, gate_m = self.ada(F.silu(c)).chunk(6, dim=1)
        attended, _ = self.attn(modulate(x, shift_a, scale_a), angles)
        x = x + gate_a[:, None, :] * attended
        return x + gate_m[:, None, :] * self.mlp(modulate(x, shift_m, scale_m))


class Final(nn.Module):
    def __init__(self, dim, out):
        super().__init__()
        self.ada = nn.Linear(dim, 2 * dim)
        self.linear = nn.Linear(dim, out)
        for layer in (self.ada, self.linear):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x, c):
        shift, scale = self.ada(F.silu(c)).chunk(2, dim=1)
        return self.linear(modulate(x, shift, scale))


class DigitDiT(nn.Module):
    def __init__(self, config=None):
        super().__init__()
        config = dict(DEFAULT_CONFIG, **(config or {}))
        assert config["positions"] in ("learned", "rope", "none")
        self.config = config
        dim, p, c = config["dim"], config["patch"], config["in_channels"]
        self.grid = config["image_size"] // p
        self.patch_embed = nn.Linear(c * p * p, dim)
        if config["positions"] == "learned":
            self.pos_embed = nn.Parameter(torch.randn(self.grid * self.grid, dim) * 0.02)
        if config["time_input"]:
            self.time_mlp = TimeMlp(config["sinusoid_dim"], dim)
        self.class_emb = nn.Embedding(config["classes"] + 1, dim)
        self.blocks = nn.ModuleList(
            [Block(dim, config["heads"], config["mlp_ratio"]) for _ in range(config["depth"])]
        )
        self.final = Final(dim, c * p * p)
        if config["positions"] == "rope":
            self.register_buffer(
                "rope", rope_angles(self.grid, dim // config["heads"]), persistent=False
            )

    def condition(self, t, y):
        c = self.class_emb(y)
        return c + self.time_mlp(t) if self.config["time_input"] else c

    def forward(self, x, t, y):
        cfg = self.config
        h = self.patch_embed(patchify(x, cfg["patch"]))
        if cfg["positions"] == "learned":
            h = h + self.pos_embed[None]
        c = self.condition(t, y)
        angles = self.rope if cfg["positions"] == "rope" else None
        for block in self.blocks:
            h = block(h, c, angles)
        out = self.final(h, c)
        return unpatchify(out, cfg["in_channels"], x.shape[2], x.shape[3], cfg["patch"])
