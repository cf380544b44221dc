//! A diffusers `UNet2DModel`'s `config.json`, read into [`UNet2DConfig`] — or refused with one
//! sentence naming the first field the program does not build (an unknown block type, Fourier time
//! embeddings, another activation) or a size that cannot work.
//!
//! What is built is what `tests/diffusers_unet_golden.rs` compares with diffusers to 1e-4: the
//! blocks `DownBlock2D`, `AttnDownBlock2D`, `UpBlock2D` and `AttnUpBlock2D` with convolutional
//! down- and upsampling, the mid block with or without attention (or none), positional (sinusoidal)
//! time embeddings with either order and any `freq_shift`, `default` and `scale_shift` time
//! conditioning, a class embedding table, and every size field.

use serde_json::{Map, Value};

use crate::i18n::Lang;

/// The largest `config.json` read: real ones are about 2 KB.
pub const CONFIG_LIMIT: usize = 64 * 1024;

/// The largest side of an image the program's grids show.
pub const MAX_SIDE: usize = 256;

/// The largest channel count of a level accepted (the big diffusers UNets use 896).
const MAX_CHANNELS: usize = 2048;

/// The most levels and residual blocks per level accepted.
const MAX_LEVELS: usize = 6;
const MAX_LAYERS: usize = 8;

/// Whether a level has attention after each residual block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LevelKind {
    /// `DownBlock2D` / `UpBlock2D`: residual blocks only.
    Plain,
    /// `AttnDownBlock2D` / `AttnUpBlock2D`: each residual block followed by self-attention.
    Attention,
}

/// The sizes and options of a `UNet2DModel`, as its `config.json` gives them.
#[derive(Clone, Debug, PartialEq)]
pub struct UNet2DConfig {
    /// (height, width) of the images.
    pub sample_size: (usize, usize),
    /// Channels of the images (1 grey, 3 RGB); the output has as many.
    pub channels: usize,
    /// Maps the input from [0, 1] to [−1, 1] first (`2·x − 1`).
    pub center_input_sample: bool,
    /// Width of the conditioning vector.
    pub time_embedding_dim: usize,
    /// diffusers' `downscale_freq_shift`: frequencies exp(−ln 10000 · i / (half − shift)).
    pub freq_shift: f32,
    /// [cos, sin] (true) or [sin, cos] (false).
    pub flip_sin_to_cos: bool,
    /// The levels on the way down, top first.
    pub down: Vec<LevelKind>,
    /// The levels on the way up, bottom first.
    pub up: Vec<LevelKind>,
    /// Channels of each level, top first.
    pub block_out_channels: Vec<usize>,
    /// Residual blocks per level on the way down (one more on the way up).
    pub layers_per_block: usize,
    /// Whether there is a mid block (residual, attention if `add_attention`, residual).
    pub mid_block: bool,
    /// The mid block's output scale (its residual sums are divided by it).
    pub mid_block_scale_factor: f64,
    /// 1: a 3×3 stride-2 convolution with padding 1; 0: padded on the right and bottom only.
    pub downsample_padding: usize,
    /// Channels per attention head (`None`: one head of all channels).
    pub attention_head_dim: Option<usize>,
    /// Groups of every GroupNorm of the residual blocks and the output.
    pub norm_num_groups: usize,
    /// Groups of the mid block's attention norm, when set.
    pub attn_norm_num_groups: Option<usize>,
    /// GroupNorm's ε.
    pub norm_eps: f64,
    /// `scale_shift`: the time embedding scales and shifts the second norm's output, else it is
    /// added before it.
    pub scale_shift: bool,
    /// Whether the mid block has attention.
    pub add_attention: bool,
    /// Rows of the class embedding table, when the model is class-conditional.
    pub num_class_embeds: Option<usize>,
}

/// Why a `config.json` cannot be built.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum UNetConfigError {
    /// Not JSON, or not an object of fields.
    #[error("not a JSON object of model fields: {0}")]
    NotJson(String),
    /// Larger than [`CONFIG_LIMIT`].
    #[error("{0} bytes, more than a model config holds")]
    TooLarge(usize),
    /// `_class_name` is not `UNet2DModel`.
    #[error("it describes a {0}, and the program opens UNet2DModel")]
    NotUNet2D(String),
    /// A field's value is not of the type diffusers gives it, or is missing.
    #[error("the field {field} should be {expected}")]
    WrongType {
        /// The field.
        field: String,
        /// What it should hold, in English.
        expected: &'static str,
    },
    /// A field's value asks for something the program does not build.
    #[error("{field} = {value} is not built by the program ({why})")]
    Unsupported {
        /// The field.
        field: String,
        /// Its value, as JSON.
        value: String,
        /// What the program builds instead.
        why: Why,
    },
    /// A field this version of the program does not know.
    #[error("the field {0} is unknown to UNet2DModel")]
    UnknownField(String),
}

impl UNetConfigError {
    /// The end of a sentence in `lang` (no capital, no full stop).
    pub fn explained(&self, lang: Lang) -> String {
        match (self, lang) {
            (_, Lang::En) => self.to_string(),
            (Self::NotJson(detail), Lang::Zh) => {
                format!("它不是由字段组成的 JSON 对象（{detail}）")
            }
            (Self::TooLarge(bytes), Lang::Zh) => format!("它有 {bytes} 字节，超出模型配置的大小"),
            (Self::NotUNet2D(class), Lang::Zh) => {
                format!("它描述的是 {class}，而本程序打开的是 UNet2DModel")
            }
            (Self::WrongType { field, expected }, Lang::Zh) => {
                format!(
                    "字段 {field} 的类型不对（应为{}）",
                    expected_in_chinese(expected)
                )
            }
            (Self::Unsupported { field, value, why }, Lang::Zh) => {
                format!("本程序不构建 {field} = {value}（{}）", why.zh)
            }
            (Self::UnknownField(field), Lang::Zh) => format!("UNet2DModel 没有字段 {field}"),
        }
    }
}

/// [`UNetConfigError::WrongType`]'s `expected`, in Chinese.
fn expected_in_chinese(expected: &str) -> &'static str {
    match expected {
        "a string" => "字符串",
        "true or false" => " true 或 false",
        "a number" => "数",
        "a whole number" => "整数",
        "a list of whole numbers" => "整数列表",
        "a list of block types" => "块类型列表",
        "a number or [height, width]" => "一个数或 [高, 宽]",
        _ => "图像尺寸（一个数或 [高, 宽]）",
    }
}

/// What the program builds instead of a refused value, in English and in Chinese.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Why {
    /// In English.
    pub en: String,
    /// In Chinese.
    pub zh: String,
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.en)
    }
}

fn why(en: impl Into<String>, zh: impl Into<String>) -> Why {
    Why {
        en: en.into(),
        zh: zh.into(),
    }
}

/// Every field of diffusers 0.42's `UNet2DModel.__init__`, and the bookkeeping ones.
const KNOWN_FIELDS: [&str; 32] = [
    "_class_name",
    "_diffusers_version",
    "_name_or_path",
    "sample_size",
    "in_channels",
    "out_channels",
    "center_input_sample",
    "time_embedding_type",
    "time_embedding_dim",
    "freq_shift",
    "flip_sin_to_cos",
    "down_block_types",
    "mid_block_type",
    "up_block_types",
    "block_out_channels",
    "layers_per_block",
    "mid_block_scale_factor",
    "downsample_padding",
    "downsample_type",
    "upsample_type",
    "dropout",
    "act_fn",
    "attention_head_dim",
    "norm_num_groups",
    "attn_norm_num_groups",
    "norm_eps",
    "resnet_time_scale_shift",
    "add_attention",
    "class_embed_type",
    "num_class_embeds",
    "num_train_timesteps",
    "_use_default_values",
];

impl UNet2DConfig {
    /// Reads the text of a `UNet2DModel`'s `config.json`, with diffusers' default for each
    /// missing field.
    pub fn parse(text: &str) -> Result<Self, UNetConfigError> {
        if text.len() > CONFIG_LIMIT {
            return Err(UNetConfigError::TooLarge(text.len()));
        }
        let fields: Map<String, Value> =
            serde_json::from_str(text).map_err(|e| UNetConfigError::NotJson(e.to_string()))?;
        if let Some(unknown) = fields.keys().find(|k| !KNOWN_FIELDS.contains(&k.as_str())) {
            return Err(UNetConfigError::UnknownField(unknown.clone()));
        }
        let f = Fields(&fields);
        let class = f.string("_class_name")?.unwrap_or("UNet2DModel");
        if class != "UNet2DModel" {
            return Err(UNetConfigError::NotUNet2D(class.to_owned()));
        }
        f.refuse_unless(
            "time_embedding_type",
            "positional",
            ("sinusoidal time embeddings", "正弦时间嵌入"),
        )?;
        f.refuse_unless("act_fn", "silu", ("SiLU activations", " SiLU 激活"))?;
        f.refuse_unless(
            "downsample_type",
            "conv",
            ("stride-2 convolutions", "步长为 2 的卷积"),
        )?;
        f.refuse_unless(
            "upsample_type",
            "conv",
            ("nearest ×2 and a convolution", "最近邻放大 2 倍再卷积"),
        )?;
        f.refuse_unless(
            "class_embed_type",
            "null",
            (
                "a table of class embeddings or none",
                "类别嵌入表或不用类别",
            ),
        )?;
        let block_out_channels = f
            .sizes("block_out_channels")?
            .unwrap_or(vec![224, 448, 672, 896]);
        let config = Self {
            sample_size: f.sample_size()?,
            channels: f.channels()?,
            center_input_sample: f.flag("center_input_sample")?.unwrap_or(false),
            time_embedding_dim: f
                .size("time_embedding_dim")?
                .unwrap_or(block_out_channels[0] * 4),
            freq_shift: f.number("freq_shift")?.unwrap_or(0.0) as f32,
            flip_sin_to_cos: f.flag("flip_sin_to_cos")?.unwrap_or(true),
            down: f.levels("down_block_types", "DownBlock2D", "AttnDownBlock2D")?,
            up: f.levels("up_block_types", "UpBlock2D", "AttnUpBlock2D")?,
            layers_per_block: f.size("layers_per_block")?.unwrap_or(2),
            mid_block: f.mid_block()?,
            mid_block_scale_factor: f.number("mid_block_scale_factor")?.unwrap_or(1.0),
            downsample_padding: f.size("downsample_padding")?.unwrap_or(1),
            attention_head_dim: match fields.get("attention_head_dim") {
                None => Some(8),
                Some(_) => f.size("attention_head_dim")?,
            },
            norm_num_groups: f.size("norm_num_groups")?.unwrap_or(32),
            attn_norm_num_groups: f.size("attn_norm_num_groups")?,
            norm_eps: f.number("norm_eps")?.unwrap_or(1e-5),
            scale_shift: f.scale_shift()?,
            add_attention: f.flag("add_attention")?.unwrap_or(true),
            num_class_embeds: f.size("num_class_embeds")?,
            block_out_channels,
        };
        config.check_sizes()?;
        Ok(config)
    }

    /// The number of levels (down blocks).
    pub fn levels(&self) -> usize {
        self.block_out_channels.len()
    }

    /// Refuses sizes diffusers would fail on (or that no window shows), naming the field.
    fn check_sizes(&self) -> Result<(), UNetConfigError> {
        let refuse = |field: &str, value: String, why: Why| {
            Err(UNetConfigError::Unsupported {
                field: field.to_owned(),
                value,
                why,
            })
        };
        let levels = self.levels();
        if !(1..=MAX_LEVELS).contains(&levels) || self.down.len() != levels {
            return refuse(
                "down_block_types",
                self.down.len().to_string(),
                why(
                    format!("one block per entry of block_out_channels, 1 to {MAX_LEVELS}"),
                    format!("block_out_channels 的每一项对应一个块，1 到 {MAX_LEVELS} 个"),
                ),
            );
        }
        if self.up.len() != levels {
            return refuse(
                "up_block_types",
                self.up.len().to_string(),
                why(
                    "as many blocks as down_block_types",
                    "与 down_block_types 一样多的块",
                ),
            );
        }
        if !(1..=MAX_LAYERS).contains(&self.layers_per_block) {
            return refuse(
                "layers_per_block",
                self.layers_per_block.to_string(),
                why(format!("1 to {MAX_LAYERS}"), format!("1 到 {MAX_LAYERS}")),
            );
        }
        if self.downsample_padding > 1 {
            return refuse(
                "downsample_padding",
                self.downsample_padding.to_string(),
                why("0 or 1", "0 或 1"),
            );
        }
        if !(self.norm_eps > 0.0 && self.norm_eps < 1.0) {
            let reason = why("a positive number below 1", "小于 1 的正数");
            return refuse("norm_eps", self.norm_eps.to_string(), reason);
        }
        if !(self.mid_block_scale_factor > 0.0 && self.mid_block_scale_factor.is_finite()) {
            let value = self.mid_block_scale_factor.to_string();
            return refuse(
                "mid_block_scale_factor",
                value,
                why("a positive number", "一个正数"),
            );
        }
        self.check_channels()?;
        let (height, width) = self.sample_size;
        let step = 1usize << (levels - 1);
        let fits = |side: usize| (step..=MAX_SIDE).contains(&side) && side.is_multiple_of(step);
        if !fits(height) || !fits(width) {
            return refuse(
                "sample_size",
                format!("{height}×{width}"),
                why(
                    format!(
                        "sides from {step} to {MAX_SIDE} divisible by {step}, for {levels} levels"
                    ),
                    format!("{levels} 层时，边长为 {step} 到 {MAX_SIDE} 之间 {step} 的倍数"),
                ),
            );
        }
        Ok(())
    }

    /// Every channel count positive, within bounds and divisible by its norm's groups and its
    /// attention's head size.
    fn check_channels(&self) -> Result<(), UNetConfigError> {
        let refuse = |field: &str, value: usize, why: Why| {
            Err(UNetConfigError::Unsupported {
                field: field.to_owned(),
                value: value.to_string(),
                why,
            })
        };
        let groups = self.norm_num_groups;
        let levels = self.levels();
        for (i, &channels) in self.block_out_channels.iter().enumerate() {
            // Attention splits a level's channels into heads: the levels with attention, and the
            // mid block's (the bottom level's channels).
            let attended = self.down[i] == LevelKind::Attention
                || self.up[levels - 1 - i] == LevelKind::Attention
                || (i == levels - 1 && self.mid_block && self.add_attention);
            if !(1..=MAX_CHANNELS).contains(&channels) {
                return refuse(
                    "block_out_channels",
                    channels,
                    why(
                        format!("1 to {MAX_CHANNELS} channels"),
                        format!("1 到 {MAX_CHANNELS} 个通道"),
                    ),
                );
            }
            if groups == 0 || !channels.is_multiple_of(groups) {
                return refuse(
                    "norm_num_groups",
                    groups,
                    why(
                        format!("a divisor of every channel count ({channels} is not a multiple)"),
                        format!("能整除每个通道数（{channels} 不是它的倍数）"),
                    ),
                );
            }
            if let Some(head) = self.attention_head_dim
                && attended
                && (head == 0 || !channels.is_multiple_of(head))
            {
                return refuse(
                    "attention_head_dim",
                    head,
                    why(
                        format!(
                            "a divisor of the channels of every level with attention ({channels} is not a multiple)"
                        ),
                        format!("能整除每个带注意力的层的通道数（{channels} 不是它的倍数）"),
                    ),
                );
            }
        }
        let bottom = self.block_out_channels[self.levels() - 1];
        if let Some(groups) = self.attn_norm_num_groups
            && (groups == 0 || !bottom.is_multiple_of(groups))
        {
            return refuse(
                "attn_norm_num_groups",
                groups,
                why(
                    format!("a divisor of the mid block's {bottom} channels"),
                    format!("能整除中间块的 {bottom} 个通道"),
                ),
            );
        }
        if !(1..=4 * MAX_CHANNELS).contains(&self.time_embedding_dim) {
            return refuse(
                "time_embedding_dim",
                self.time_embedding_dim,
                why(
                    format!("1 to {}", 4 * MAX_CHANNELS),
                    format!("1 到 {}", 4 * MAX_CHANNELS),
                ),
            );
        }
        if !self.block_out_channels[0].is_multiple_of(2) {
            return refuse(
                "block_out_channels",
                self.block_out_channels[0],
                why(
                    "an even first count (the sinusoid's length)",
                    "第一个通道数为偶数（正弦嵌入的长度）",
                ),
            );
        }
        if self.num_class_embeds.is_some_and(|n| n != 11) {
            return refuse(
                "num_class_embeds",
                self.num_class_embeds.unwrap_or_default(),
                why(
                    "11: the digits 0–9 and 10 for “no class”, as the program's own models",
                    "11：数字 0–9，以及表示“无类别”的 10，与本程序自己的模型相同",
                ),
            );
        }
        Ok(())
    }
}

/// The fields of a config, each read with the type diffusers gives it.
struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    fn wrong(field: &str, expected: &'static str) -> UNetConfigError {
        UNetConfigError::WrongType {
            field: field.to_owned(),
            expected,
        }
    }

    /// The field's value; `None` when absent or JSON null.
    fn get(&self, field: &str) -> Option<&Value> {
        self.0.get(field).filter(|v| !v.is_null())
    }

    fn string(&self, field: &str) -> Result<Option<&str>, UNetConfigError> {
        self.get(field)
            .map(|v| v.as_str().ok_or_else(|| Self::wrong(field, "a string")))
            .transpose()
    }

    fn flag(&self, field: &str) -> Result<Option<bool>, UNetConfigError> {
        self.get(field)
            .map(|v| {
                v.as_bool()
                    .ok_or_else(|| Self::wrong(field, "true or false"))
            })
            .transpose()
    }

    fn number(&self, field: &str) -> Result<Option<f64>, UNetConfigError> {
        self.get(field)
            .map(|v| {
                v.as_f64()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| Self::wrong(field, "a number"))
            })
            .transpose()
    }

    fn size(&self, field: &str) -> Result<Option<usize>, UNetConfigError> {
        self.get(field)
            .map(|v| {
                v.as_u64()
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| Self::wrong(field, "a whole number"))
            })
            .transpose()
    }

    fn sizes(&self, field: &str) -> Result<Option<Vec<usize>>, UNetConfigError> {
        let Some(value) = self.get(field) else {
            return Ok(None);
        };
        let list = value
            .as_array()
            .ok_or_else(|| Self::wrong(field, "a list of whole numbers"))?;
        list.iter()
            .map(|v| {
                v.as_u64()
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| Self::wrong(field, "a list of whole numbers"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// Refuses the field unless it is absent or `expected` (`"null"`: absent or null).
    fn refuse_unless(
        &self,
        field: &str,
        expected: &str,
        builds: (&str, &str),
    ) -> Result<(), UNetConfigError> {
        let Some(value) = self.get(field) else {
            return Ok(());
        };
        if value.as_str() == Some(expected) {
            return Ok(());
        }
        Err(UNetConfigError::Unsupported {
            field: field.to_owned(),
            value: value.to_string(),
            why: why(
                format!("it builds {}", builds.0),
                format!("它构建{}", builds.1),
            ),
        })
    }

    fn sample_size(&self) -> Result<(usize, usize), UNetConfigError> {
        const FIELD: &str = "sample_size";
        match self.get(FIELD) {
            None => Err(Self::wrong(
                FIELD,
                "the image size (a number or [height, width])",
            )),
            Some(Value::Array(_)) => match self.sizes(FIELD)?.as_deref() {
                Some(&[height, width]) => Ok((height, width)),
                _ => Err(Self::wrong(FIELD, "a number or [height, width]")),
            },
            Some(_) => {
                let side = self.size(FIELD)?.unwrap_or_default();
                Ok((side, side))
            }
        }
    }

    /// `in_channels` (1 or 3, diffusers' default 3), and `out_channels` the same.
    fn channels(&self) -> Result<usize, UNetConfigError> {
        let channels = self.size("in_channels")?.unwrap_or(3);
        let out = self.size("out_channels")?.unwrap_or(3);
        let refuse = |field: &str, value: usize, reason: Why| UNetConfigError::Unsupported {
            field: field.to_owned(),
            value: value.to_string(),
            why: reason,
        };
        if channels != 1 && channels != 3 {
            return Err(refuse(
                "in_channels",
                channels,
                why("grey (1) or RGB (3) images", "灰度（1）或 RGB（3）图像"),
            ));
        }
        if out != channels {
            return Err(refuse(
                "out_channels",
                out,
                why(
                    "a prediction of the image's own channels",
                    "对图像自身各通道的预测",
                ),
            ));
        }
        Ok(channels)
    }

    fn levels(
        &self,
        field: &str,
        plain: &str,
        attention: &str,
    ) -> Result<Vec<LevelKind>, UNetConfigError> {
        let Some(value) = self.get(field) else {
            return Err(Self::wrong(field, "a list of block types"));
        };
        let list = value
            .as_array()
            .ok_or_else(|| Self::wrong(field, "a list of block types"))?;
        list.iter()
            .map(|v| match v.as_str() {
                Some(name) if name == plain => Ok(LevelKind::Plain),
                Some(name) if name == attention => Ok(LevelKind::Attention),
                Some(name) => Err(UNetConfigError::Unsupported {
                    field: field.to_owned(),
                    value: format!("\"{name}\""),
                    why: why(
                        format!("it builds {plain} and {attention}"),
                        format!("它构建 {plain} 和 {attention}"),
                    ),
                }),
                None => Err(Self::wrong(field, "a list of block types")),
            })
            .collect()
    }

    fn mid_block(&self) -> Result<bool, UNetConfigError> {
        match self.0.get("mid_block_type") {
            None => Ok(true),
            Some(Value::Null) => Ok(false),
            Some(_) => {
                self.refuse_unless(
                    "mid_block_type",
                    "UNetMidBlock2D",
                    ("UNetMidBlock2D", " UNetMidBlock2D"),
                )?;
                Ok(true)
            }
        }
    }

    fn scale_shift(&self) -> Result<bool, UNetConfigError> {
        match self.string("resnet_time_scale_shift")? {
            None | Some("default") => Ok(false),
            Some("scale_shift") => Ok(true),
            Some(other) => Err(UNetConfigError::Unsupported {
                field: "resnet_time_scale_shift".to_owned(),
                value: format!("\"{other}\""),
                why: why(
                    "it builds \"default\" and \"scale_shift\"",
                    "它构建 \"default\" 和 \"scale_shift\"",
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{LevelKind, UNet2DConfig, UNetConfigError};

    const SMALL: &str = r#"{
        "_class_name": "UNet2DModel", "sample_size": 28, "in_channels": 1, "out_channels": 1,
        "block_out_channels": [16, 32, 64], "norm_num_groups": 8, "layers_per_block": 1,
        "down_block_types": ["DownBlock2D", "DownBlock2D", "AttnDownBlock2D"],
        "up_block_types": ["AttnUpBlock2D", "UpBlock2D", "UpBlock2D"],
        "attention_head_dim": 32, "num_class_embeds": 11
    }"#;

    fn with(field: &str, value: &str) -> Result<UNet2DConfig, UNetConfigError> {
        let mut fields: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(SMALL).unwrap();
        fields.insert(field.to_owned(), serde_json::from_str(value).unwrap());
        UNet2DConfig::parse(&serde_json::to_string(&fields).unwrap())
    }

    fn refused_field(result: Result<UNet2DConfig, UNetConfigError>) -> String {
        match result {
            Err(UNetConfigError::Unsupported { field, .. })
            | Err(UNetConfigError::WrongType { field, .. })
            | Err(UNetConfigError::UnknownField(field)) => field,
            other => panic!("expected a refusal naming a field, got {other:?}"),
        }
    }

    #[test]
    fn reads_a_config_with_diffusers_defaults_for_what_it_leaves_out() {
        let config = UNet2DConfig::parse(SMALL).unwrap();
        assert_eq!(config.sample_size, (28, 28));
        assert_eq!(config.channels, 1);
        assert_eq!(config.time_embedding_dim, 64);
        assert!(config.flip_sin_to_cos && config.mid_block && config.add_attention);
        assert_eq!(config.down[2], LevelKind::Attention);
        assert_eq!(config.up[0], LevelKind::Attention);
        assert_eq!(config.norm_eps, 1e-5);
        assert_eq!(config.attention_head_dim, Some(32));
        assert!(!config.scale_shift);
    }

    #[test]
    fn refuses_what_it_does_not_build_by_the_fields_name() {
        for (field, value) in [
            (
                "down_block_types",
                r#"["DownBlock2D", "SkipDownBlock2D", "DownBlock2D"]"#,
            ),
            ("up_block_types", r#"["AttnUpBlock2D", "UpBlock2D"]"#),
            ("time_embedding_type", r#""fourier""#),
            ("act_fn", r#""mish""#),
            ("resnet_time_scale_shift", r#""spatial""#),
            ("class_embed_type", r#""timestep""#),
            ("sample_size", "30"),
            ("sample_size", "1024"),
            ("in_channels", "4"),
            ("out_channels", "3"),
            ("norm_num_groups", "5"),
            ("attention_head_dim", "24"),
            ("num_class_embeds", "1000"),
            ("layers_per_block", "0"),
            ("block_out_channels", "[16, 32, 4096]"),
            ("down_block_types", r#"["DownBlock2D", "DownBlock2D"]"#),
            ("norm_eps", "-1"),
            ("flip_sin_to_cos", "1"),
            ("cross_attention_dim", "768"),
        ] {
            assert_eq!(
                refused_field(with(field, value)),
                field,
                "{field} = {value}"
            );
        }
        assert!(matches!(
            with("_class_name", r#""UNet2DConditionModel""#),
            Err(UNetConfigError::NotUNet2D(_))
        ));
        assert!(matches!(
            UNet2DConfig::parse("[1, 2]"),
            Err(UNetConfigError::NotJson(_))
        ));
    }

    #[test]
    fn a_null_mid_block_and_a_single_head_are_read_as_such() {
        let config = with("mid_block_type", "null").unwrap();
        assert!(!config.mid_block);
        assert_eq!(
            with("attention_head_dim", "null")
                .unwrap()
                .attention_head_dim,
            None
        );
    }
}
