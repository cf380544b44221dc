//! `DigitUNet`: the network of the shipped digit models, the twin of `DigitUNet` in
//! `training/unet.py` (same function, same tensor names).
//!
//! For 1×28×28 digits, without padding: 28 → 14 → 7 and back.
//! ```text
//! conv_in                     3×3, 1 → c0
//! down.0   ResBlock(c0, c0)     [skip 28×28]   down.0.downsample  3×3 stride 2 → 14×14
//! down.1   ResBlock(c0, c1)     [skip 14×14]   down.1.downsample  3×3 stride 2 → 7×7
//! down.2   ResBlock(c1, c2)     [skip 7×7]
//! mid.block1, mid.attn (self-attention over the 49 positions), mid.block2
//! up.2     ResBlock(c2+c2, c2)  up.2.upsample  nearest ×2, 3×3              → 14×14
//! up.1     ResBlock(c2+c1, c1)  up.1.upsample  nearest ×2, 3×3              → 28×28
//! up.0     ResBlock(c1+c0, c0)
//! norm_out GroupNorm, SiLU, conv_out 3×3, c0 → 1
//! ```
//! Conditioning: emb = time_mlp(sinusoid(t)) + class_emb(y), with y = 10 meaning "no class".

use candle_core::{DType, Module, Result, Tensor};
use candle_nn::{Embedding, VarBuilder};

use super::config::UNetConfig;
use super::kernels::with_warm_workers_on;
use super::layers::{
    FastConv2d, FastGroupNorm, ResBlock, SelfAttention, TimeMlp, fast_conv, group_norm,
};

/// One level on the way down: a residual block, then (except at the bottom) a stride-2 convolution.
#[derive(Clone, Debug)]
struct Down {
    block: ResBlock,
    downsample: Option<FastConv2d>,
}

/// One level on the way up: a residual block on [h, skip], then (except at the top) nearest ×2
/// upsampling and a 3×3 convolution.
#[derive(Clone, Debug)]
struct Up {
    block: ResBlock,
    upsample: Option<FastConv2d>,
}

/// The UNet that predicts ε, v or the flow velocity for a batch of noisy 28×28 digits.
///
/// Built from plain tensors (a loaded checkpoint) or from a `VarMap` (training); see
/// [`DigitUNet::new`].
#[derive(Clone, Debug)]
pub struct DigitUNet {
    config: UNetConfig,
    time_mlp: TimeMlp,
    class_emb: Embedding,
    conv_in: FastConv2d,
    down: Vec<Down>,
    mid_block1: ResBlock,
    mid_attn: SelfAttention,
    mid_block2: ResBlock,
    /// `up.0`, `up.1`, `up.2` in that order (the forward pass runs them in reverse).
    up: Vec<Up>,
    norm_out: FastGroupNorm,
    conv_out: FastConv2d,
}

impl DigitUNet {
    /// Builds the network with the sizes of `config`, taking every tensor from `vb` under the
    /// names of `training/unet.py` (`down.0.block.conv1.weight`, `mid.attn.qkv.weight`, …).
    /// With a `VarBuilder` over loaded tensors it fails on a missing or misshapen tensor; with
    /// `VarBuilder::from_varmap` it creates freshly initialised trainable weights.
    #[expect(
        clippy::needless_pass_by_value,
        reason = "candle's convention: a layer takes its VarBuilder by value"
    )]
    pub fn new(config: &UNetConfig, vb: VarBuilder) -> Result<Self> {
        config.validate().map_err(candle_core::Error::Msg)?;
        let [c0, c1, c2] = config.channels;
        let (g, e) = (config.groups, config.emb_dim);
        let down_vb = vb.pp("down");
        let down = [(c0, c0, true), (c0, c1, true), (c1, c2, false)]
            .into_iter()
            .enumerate()
            .map(|(i, (cin, cout, downsample))| {
                let vb = down_vb.pp(i.to_string());
                Ok(Down {
                    block: ResBlock::new(cin, cout, e, g, vb.pp("block"))?,
                    downsample: if downsample {
                        Some(fast_conv(cout, cout, 3, 2, vb.pp("downsample"))?)
                    } else {
                        None
                    },
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let up_vb = vb.pp("up");
        let up = [
            (c1 + c0, c0, false),
            (c2 + c1, c1, true),
            (c2 + c2, c2, true),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, (cin, cout, upsample))| {
            let vb = up_vb.pp(i.to_string());
            Ok(Up {
                block: ResBlock::new(cin, cout, e, g, vb.pp("block"))?,
                upsample: if upsample {
                    Some(fast_conv(cout, cout, 3, 1, vb.pp("upsample"))?)
                } else {
                    None
                },
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let mid = vb.pp("mid");
        Ok(Self {
            config: config.clone(),
            time_mlp: TimeMlp::new(config.sinusoid_dim, e, vb.pp("time_mlp"))?,
            class_emb: candle_nn::embedding(config.classes + 1, e, vb.pp("class_emb"))?,
            conv_in: fast_conv(1, c0, 3, 1, vb.pp("conv_in"))?,
            down,
            mid_block1: ResBlock::new(c2, c2, e, g, mid.pp("block1"))?,
            mid_attn: SelfAttention::new(c2, g, mid.pp("attn"))?,
            mid_block2: ResBlock::new(c2, c2, e, g, mid.pp("block2"))?,
            up,
            norm_out: group_norm(g, c0, vb.pp("norm_out"))?,
            conv_out: fast_conv(c0, 1, 3, 1, vb.pp("conv_out"))?,
        })
    }

    /// The sizes this network was built with.
    pub fn config(&self) -> &UNetConfig {
        &self.config
    }

    /// Whether this network runs on our CPU kernels (else candle's operations throughout: trainable
    /// weights, another device, or built inside [`crate::model::layers::with_candle_ops`]).
    pub fn uses_our_kernels(&self) -> bool {
        self.conv_in.is_fast() && self.norm_out.is_fast()
    }

    /// What the network makes of the time input alone: time_mlp(sinusoid(t)), `(B, emb_dim)`.
    pub fn time_embedding(&self, t: &Tensor) -> Result<Tensor> {
        self.time_mlp.forward(t)
    }

    /// The conditioning vector emb = time_mlp(sinusoid(t)) + class_emb(y), shape `(B, emb_dim)`.
    pub fn conditioning(&self, t: &Tensor, y: &Tensor) -> Result<Tensor> {
        let time = self.time_mlp.forward(t)?;
        let class = self.class_emb.forward(&y.to_dtype(DType::U32)?)?;
        time + class
    }

    /// The network's prediction for a batch.
    ///
    /// `x`: `(B, 1, 28, 28)` f32 noisy images; `t`: `(B,)` timestep inputs (f32; the value the
    /// model was trained with, see the checkpoint's `timestep_input`); `y`: `(B,)` u32 class ids,
    /// 0–9 for a digit and [`NULL_CLASS`](super::NULL_CLASS) for "no class". Returns
    /// `(B, 1, 28, 28)`: ε, v or the velocity, depending on the model's objective.
    pub fn forward(&self, x: &Tensor, t: &Tensor, y: &Tensor) -> Result<Tensor> {
        let (b, c, height, width) = x.dims4()?;
        if c != 1 || t.dims() != [b] || y.dims() != [b] {
            candle_core::bail!(
                "DigitUNet expects x (B, 1, H, W), t (B,), y (B,); got x {:?}, t {:?}, y {:?}",
                x.dims(),
                t.dims(),
                y.dims()
            );
        }
        if height % 4 != 0 || width % 4 != 0 {
            candle_core::bail!(
                "DigitUNet needs a height and width divisible by 4, got {height}×{width}"
            );
        }
        // Dozens of short parallel layers: the pool's threads wait for them awake.
        with_warm_workers_on(x.device(), || self.layers(x, t, y))
    }

    /// [`Self::forward`] on checked inputs: every layer, in order.
    fn layers(&self, x: &Tensor, t: &Tensor, y: &Tensor) -> Result<Tensor> {
        let emb_silu = self.conditioning(t, y)?.silu()?;
        let mut h = self.conv_in.forward(x)?;
        let mut skips = Vec::with_capacity(self.down.len());
        for down in &self.down {
            h = down.block.forward(&h, &emb_silu)?;
            skips.push(h.clone());
            if let Some(downsample) = &down.downsample {
                h = downsample.forward(&h)?;
            }
        }
        h = self.mid_block1.forward(&h, &emb_silu)?;
        h = self.mid_attn.forward(&h)?;
        h = self.mid_block2.forward(&h, &emb_silu)?;
        for up in self.up.iter().rev() {
            let Some(skip) = skips.pop() else {
                candle_core::bail!("DigitUNet: more up levels than down levels");
            };
            h = up
                .block
                .forward(&Tensor::cat(&[&h, &skip], 1)?, &emb_silu)?;
            if let Some(upsample) = &up.upsample {
                // Nearest ×2, then the convolution: one fused step on our kernel.
                h = upsample.forward_with(&h, true, None, None)?;
            }
        }
        self.conv_out
            .forward_after_norm(&self.norm_out, &h, None, None)
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device, Tensor};
    use candle_nn::{VarBuilder, VarMap};

    use super::DigitUNet;
    use crate::model::{NULL_CLASS, UNetConfig};

    #[test]
    fn builds_from_a_varmap_with_the_reference_names_and_runs() {
        let varmap = VarMap::new();
        let config = UNetConfig::tiny();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let net = DigitUNet::new(&config, vb).unwrap();
        let names: Vec<String> = varmap.data().lock().unwrap().keys().cloned().collect();
        for name in [
            "down.0.block.conv1.weight",
            "down.0.downsample.weight",
            "down.2.block.skip.weight",
            "mid.attn.qkv.weight",
            "up.2.upsample.weight",
            "up.0.block.skip.bias",
            "time_mlp.linear1.weight",
            "class_emb.weight",
            "norm_out.weight",
            "conv_out.bias",
        ] {
            assert!(names.iter().any(|n| n == name), "{name} missing");
        }
        assert!(!names.iter().any(|n| n.starts_with("up.0.upsample")));
        let total: usize = varmap.all_vars().iter().map(|v| v.elem_count()).sum();
        assert_eq!(total as u64, config.parameter_count());

        let x = Tensor::randn(0f32, 1., (2, 1, 28, 28), &Device::Cpu).unwrap();
        let t = Tensor::new(&[1f32, 999.], &Device::Cpu).unwrap();
        let y = Tensor::new(&[3u32, NULL_CLASS], &Device::Cpu).unwrap();
        let out = net.forward(&x, &t, &y).unwrap();
        assert_eq!(out.dims(), [2, 1, 28, 28]);
        let bad_y = Tensor::new(&[3u32, 11], &Device::Cpu).unwrap();
        assert!(net.forward(&x, &t, &bad_y).is_err());
        assert!(net.forward(&x, &t.narrow(0, 0, 1).unwrap(), &y).is_err());
    }
}
