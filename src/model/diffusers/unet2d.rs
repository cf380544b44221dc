//! [`DiffusersUNet`]: a diffusers `UNet2DModel` built in candle from its `config.json` and
//! safetensors weights, with diffusers' tensor names, computing what diffusers computes
//! (`tests/diffusers_unet_golden.rs`: within 3.4e-6 on three random configurations and the shipped
//! example, tested at 1e-5).
//!
//! ```text
//! conv_in 3×3                                   skips: [conv_in]
//! down_blocks.i: layers × (resnet [+ attention])  + each output; downsampler (not the last) + it
//! mid_block: resnet, attention (if add_attention), resnet
//! up_blocks.i: (layers + 1) × (cat[h, skip] → resnet [+ attention]); nearest ×2 + 3×3 (not the last)
//! conv_norm_out, SiLU, conv_out 3×3
//! ```
//! Conditioning: time_embedding(Timesteps(t)) + class_embedding(y) where the model has classes.

use candle_core::{DType, Module, Result, Tensor};
use candle_nn::{Embedding, VarBuilder};

use super::blocks::{Attention, Downsample, Resnet, ResnetShape, TimestepProjection};
use super::config::{LevelKind, UNet2DConfig};
use crate::model::kernels::with_warm_workers_on;
use crate::model::layers::{
    FastConv2d, FastGroupNorm, FastLinear, fast_conv, fast_linear, group_norm_with_eps,
};

/// A residual block, followed by attention on the attention levels.
#[derive(Clone, Debug)]
struct Layer {
    resnet: Resnet,
    attention: Option<Attention>,
}

impl Layer {
    fn forward(&self, x: &Tensor, emb_silu: &Tensor) -> Result<Tensor> {
        let h = self.resnet.forward(x, emb_silu)?;
        match &self.attention {
            Some(attention) => attention.forward(&h),
            None => Ok(h),
        }
    }
}

/// A level on the way down.
#[derive(Clone, Debug)]
struct DownLevel {
    layers: Vec<Layer>,
    downsample: Option<Downsample>,
}

/// A level on the way up.
#[derive(Clone, Debug)]
struct UpLevel {
    layers: Vec<Layer>,
    upsample: Option<FastConv2d>,
}

/// The mid block: a residual block, attention, a residual block.
#[derive(Clone, Debug)]
struct Mid {
    first: Resnet,
    attention: Option<Attention>,
    second: Resnet,
}

/// The time MLP: `linear_1`, SiLU, `linear_2`.
#[derive(Clone, Debug)]
struct TimeEmbedding {
    projection: TimestepProjection,
    linear_1: FastLinear,
    linear_2: FastLinear,
}

/// A diffusers `UNet2DModel`, ready to run.
#[derive(Clone, Debug)]
pub struct DiffusersUNet {
    config: UNet2DConfig,
    time: TimeEmbedding,
    class_embedding: Option<Embedding>,
    conv_in: FastConv2d,
    down: Vec<DownLevel>,
    mid: Option<Mid>,
    up: Vec<UpLevel>,
    conv_norm_out: FastGroupNorm,
    conv_out: FastConv2d,
}

/// What each level's blocks are built from.
struct Builder<'a> {
    config: &'a UNet2DConfig,
    shape: ResnetShape,
}

impl Builder<'_> {
    fn heads(&self, channels: usize) -> usize {
        self.config
            .attention_head_dim
            .map_or(1, |head| channels / head)
    }

    fn attention(&self, channels: usize, vb: VarBuilder) -> Result<Attention> {
        let norm = Some((self.config.norm_num_groups, self.config.norm_eps));
        Attention::new(channels, self.heads(channels), norm, 1.0, vb)
    }

    /// Layer `j` of a level of `kind` from `cin` to `cout` channels.
    fn layer(
        &self,
        kind: LevelKind,
        (cin, cout): (usize, usize),
        j: usize,
        vb: &VarBuilder,
    ) -> Result<Layer> {
        let j = j.to_string();
        Ok(Layer {
            resnet: Resnet::new(cin, cout, self.shape, vb.pp("resnets").pp(&j))?,
            attention: match kind {
                LevelKind::Attention => Some(self.attention(cout, vb.pp("attentions").pp(&j))?),
                LevelKind::Plain => None,
            },
        })
    }

    fn down(&self, vb: &VarBuilder) -> Result<Vec<DownLevel>> {
        let channels = &self.config.block_out_channels;
        let last = channels.len() - 1;
        (0..=last)
            .map(|i| {
                let vb = vb.pp("down_blocks").pp(i.to_string());
                let (cin, cout) = (channels[i.saturating_sub(1)], channels[i]);
                let layers = (0..self.config.layers_per_block)
                    .map(|j| {
                        let from = if j == 0 { cin } else { cout };
                        self.layer(self.config.down[i], (from, cout), j, &vb)
                    })
                    .collect::<Result<Vec<_>>>()?;
                let downsample = (i != last)
                    .then(|| {
                        Downsample::new(
                            cout,
                            self.config.downsample_padding,
                            vb.pp("downsamplers").pp("0"),
                        )
                    })
                    .transpose()?;
                Ok(DownLevel { layers, downsample })
            })
            .collect()
    }

    fn up(&self, vb: &VarBuilder) -> Result<Vec<UpLevel>> {
        let reversed: Vec<usize> = self
            .config
            .block_out_channels
            .iter()
            .rev()
            .copied()
            .collect();
        let last = reversed.len() - 1;
        (0..=last)
            .map(|i| {
                let vb = vb.pp("up_blocks").pp(i.to_string());
                let previous = reversed[i.saturating_sub(1)];
                let (cin, cout) = (reversed[(i + 1).min(last)], reversed[i]);
                let count = self.config.layers_per_block + 1;
                let layers = (0..count)
                    .map(|j| {
                        let skip = if j == count - 1 { cin } else { cout };
                        let from = if j == 0 { previous } else { cout };
                        self.layer(self.config.up[i], (from + skip, cout), j, &vb)
                    })
                    .collect::<Result<Vec<_>>>()?;
                let upsample = (i != last)
                    .then(|| fast_conv(cout, cout, 3, 1, vb.pp("upsamplers").pp("0").pp("conv")))
                    .transpose()?;
                Ok(UpLevel { layers, upsample })
            })
            .collect()
    }

    fn mid(&self, vb: &VarBuilder) -> Result<Option<Mid>> {
        let config = self.config;
        if !config.mid_block {
            return Ok(None);
        }
        let vb = vb.pp("mid_block");
        let channels = config.block_out_channels[config.levels() - 1];
        let shape = ResnetShape {
            output_scale: config.mid_block_scale_factor,
            ..self.shape
        };
        // diffusers: the mid attention's norm has attn_norm_num_groups, else the resnets' groups
        // with "default" conditioning and no norm at all with "scale_shift".
        let groups = config
            .attn_norm_num_groups
            .or((!config.scale_shift).then_some(config.norm_num_groups));
        let attention = config
            .add_attention
            .then(|| {
                Attention::new(
                    channels,
                    self.heads(channels),
                    groups.map(|g| (g, config.norm_eps)),
                    config.mid_block_scale_factor,
                    vb.pp("attentions").pp("0"),
                )
            })
            .transpose()?;
        Ok(Some(Mid {
            first: Resnet::new(channels, channels, shape, vb.pp("resnets").pp("0"))?,
            attention,
            second: Resnet::new(channels, channels, shape, vb.pp("resnets").pp("1"))?,
        }))
    }
}

impl DiffusersUNet {
    /// Builds the network of `config`, taking every tensor from `vb` under diffusers' names
    /// (`down_blocks.0.resnets.0.conv1.weight`, `mid_block.attentions.0.to_q.weight`, …); fails
    /// on a missing or misshapen tensor.
    #[expect(
        clippy::needless_pass_by_value,
        reason = "candle's convention: a layer takes its VarBuilder by value"
    )]
    pub fn new(config: &UNet2DConfig, vb: VarBuilder) -> Result<Self> {
        let c0 = config.block_out_channels[0];
        let emb_dim = config.time_embedding_dim;
        let builder = Builder {
            config,
            shape: ResnetShape {
                groups: config.norm_num_groups,
                eps: config.norm_eps,
                emb_dim,
                scale_shift: config.scale_shift,
                output_scale: 1.0,
            },
        };
        let time_vb = vb.pp("time_embedding");
        Ok(Self {
            time: TimeEmbedding {
                projection: TimestepProjection::new(
                    c0,
                    config.freq_shift,
                    config.flip_sin_to_cos,
                    vb.device(),
                )?,
                linear_1: fast_linear(c0, emb_dim, time_vb.pp("linear_1"))?,
                linear_2: fast_linear(emb_dim, emb_dim, time_vb.pp("linear_2"))?,
            },
            class_embedding: config
                .num_class_embeds
                .map(|rows| candle_nn::embedding(rows, emb_dim, vb.pp("class_embedding")))
                .transpose()?,
            conv_in: fast_conv(config.channels, c0, 3, 1, vb.pp("conv_in"))?,
            down: builder.down(&vb)?,
            mid: builder.mid(&vb)?,
            up: builder.up(&vb)?,
            conv_norm_out: group_norm_with_eps(
                config.norm_num_groups,
                c0,
                config.norm_eps,
                vb.pp("conv_norm_out"),
            )?,
            conv_out: fast_conv(c0, config.channels, 3, 1, vb.pp("conv_out"))?,
            config: config.clone(),
        })
    }

    /// What the network was built from.
    pub fn config(&self) -> &UNet2DConfig {
        &self.config
    }

    /// Whether this network runs on our CPU kernels.
    pub fn uses_our_kernels(&self) -> bool {
        self.conv_in.is_fast() && self.conv_norm_out.is_fast()
    }

    /// The conditioning vector: time_embedding(Timesteps(t)) (+ class_embedding(y)).
    pub fn conditioning(&self, t: &Tensor, y: &Tensor) -> Result<Tensor> {
        let projected = self.time.projection.forward(t)?;
        let time = self
            .time
            .linear_2
            .forward(&self.time.linear_1.forward(&projected)?.silu()?)?;
        match &self.class_embedding {
            Some(table) => time + table.forward(&y.to_dtype(DType::U32)?)?,
            None => Ok(time),
        }
    }

    /// The network's output for `x` `(B, C, H, W)` at diffusers' timesteps `t` `(B,)` (0..T−1,
    /// fractional allowed) with class ids `y` `(B,)` (ignored by a model without classes).
    pub fn forward(&self, x: &Tensor, t: &Tensor, y: &Tensor) -> Result<Tensor> {
        let (b, c, height, width) = x.dims4()?;
        let (h, w) = self.config.sample_size;
        if c != self.config.channels || (height, width) != (h, w) || t.dims() != [b] {
            candle_core::bail!(
                "this UNet2DModel takes x (B, {}, {h}, {w}) and t (B,); got x {:?}, t {:?}",
                self.config.channels,
                x.dims(),
                t.dims()
            );
        }
        if self.class_embedding.is_some() && y.dims() != [b] {
            candle_core::bail!("this UNet2DModel takes y (B,); got {:?}", y.dims());
        }
        with_warm_workers_on(x.device(), || self.layers(x, t, y))
    }

    /// [`Self::forward`] on checked inputs.
    fn layers(&self, x: &Tensor, t: &Tensor, y: &Tensor) -> Result<Tensor> {
        let emb_silu = self.conditioning(t, y)?.silu()?;
        let x = if self.config.center_input_sample {
            x.affine(2.0, -1.0)?
        } else {
            x.clone()
        };
        let mut h = self.conv_in.forward(&x)?;
        let mut skips = vec![h.clone()];
        for level in &self.down {
            for layer in &level.layers {
                h = layer.forward(&h, &emb_silu)?;
                skips.push(h.clone());
            }
            if let Some(downsample) = &level.downsample {
                h = downsample.forward(&h)?;
                skips.push(h.clone());
            }
        }
        if let Some(mid) = &self.mid {
            h = mid.first.forward(&h, &emb_silu)?;
            if let Some(attention) = &mid.attention {
                h = attention.forward(&h)?;
            }
            h = mid.second.forward(&h, &emb_silu)?;
        }
        for level in &self.up {
            for layer in &level.layers {
                let Some(skip) = skips.pop() else {
                    candle_core::bail!("UNet2DModel: fewer skips than up layers");
                };
                h = layer.forward(&Tensor::cat(&[&h, &skip], 1)?, &emb_silu)?;
            }
            if let Some(upsample) = &level.upsample {
                h = upsample.forward_with(&h, true, None, None)?;
            }
        }
        self.conv_out
            .forward_after_norm(&self.conv_norm_out, &h, None, None)
    }
}
