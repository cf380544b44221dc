//! `DiTConfig`: the sizes of the digit transformer, as stored in a checkpoint's `architecture`
//! metadata (the keys of `DEFAULT_CONFIG` in `training/dit.py`), and what follows from them.

use serde::{Deserialize, Serialize};

/// How the transformer knows where each patch is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Positions {
    /// A learned vector per patch, added to its token (`pos_embed`).
    Learned,
    /// 2D rotary embeddings: each head's queries and keys turned by the patch's row and column.
    Rope,
    /// Nothing: the tokens are a set, the network cannot tell where a patch is.
    None,
}

impl Positions {
    /// Every variant, in the order the window lists them.
    pub const ALL: [Self; 3] = [Self::Learned, Self::Rope, Self::None];
}

/// The sizes of a [`DigitDiT`](super::DigitDiT).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiTConfig {
    /// Height and width of the (square) pictures.
    pub image_size: usize,
    /// Channels of the pictures.
    pub in_channels: usize,
    /// Side of a square patch; divides `image_size`.
    pub patch: usize,
    /// Width of each token.
    pub dim: usize,
    /// Number of transformer blocks.
    pub depth: usize,
    /// Attention heads; each gets `dim / heads` values, a multiple of 4 (2D RoPE turns pairs in
    /// two halves).
    pub heads: usize,
    /// Width of the MLP relative to `dim`.
    pub mlp_ratio: usize,
    /// Length of the sinusoidal timestep embedding (even).
    pub sinusoid_dim: usize,
    /// Number of real classes; the class embedding has one more row, for "no class".
    pub classes: usize,
    /// How positions are given.
    pub positions: Positions,
    /// Whether the network is told t (false: the model that must guess the noise level).
    pub time_input: bool,
}

impl Default for DiTConfig {
    /// `DEFAULT_CONFIG` of `training/dit.py`.
    fn default() -> Self {
        Self {
            image_size: 28,
            in_channels: 1,
            patch: 4,
            dim: 128,
            depth: 4,
            heads: 4,
            mlp_ratio: 4,
            sinusoid_dim: 64,
            classes: 10,
            positions: Positions::Learned,
            time_input: true,
        }
    }
}

impl DiTConfig {
    /// Patches along each side.
    pub fn grid(&self) -> usize {
        self.image_size / self.patch.max(1)
    }

    /// Number of tokens (patches).
    pub fn tokens(&self) -> usize {
        self.grid() * self.grid()
    }

    /// Values per attention head.
    pub fn head_dim(&self) -> usize {
        self.dim / self.heads.max(1)
    }

    /// Values in one patch (a token before `patch_embed`).
    pub fn patch_values(&self) -> usize {
        self.in_channels * self.patch * self.patch
    }

    /// The class id that means "no class" for this network (= `classes`).
    pub fn null_class(&self) -> u32 {
        u32::try_from(self.classes).unwrap_or(u32::MAX)
    }

    /// Reads the `architecture` JSON of a checkpoint; keys left out take their default, unknown
    /// keys, wrong types and sizes that cannot be built are refused with a reason in English.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let config: Self = crate::model::config::json_object(text)?;
        config.validate()?;
        Ok(config)
    }

    /// The config as the JSON that training writes under `architecture`.
    pub fn to_json(&self) -> String {
        // Serialising plain numbers and names cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Checks that a network can be built with these sizes; the reason in English if not.
    pub fn validate(&self) -> Result<(), String> {
        const LIMIT: usize = 1 << 14;
        let all = [
            self.image_size,
            self.in_channels,
            self.patch,
            self.dim,
            self.depth,
            self.heads,
            self.mlp_ratio,
            self.sinusoid_dim,
            self.classes,
        ];
        if all.iter().any(|&n| n == 0 || n > LIMIT) {
            return Err(format!("every size must be between 1 and {LIMIT}"));
        }
        if !self.image_size.is_multiple_of(self.patch) {
            return Err(format!(
                "patches of {} do not tile {} pixels",
                self.patch, self.image_size
            ));
        }
        if self.tokens() > 4096 {
            return Err("more than 4096 patches".to_owned());
        }
        if !self.dim.is_multiple_of(self.heads) || !self.head_dim().is_multiple_of(4) {
            return Err(format!(
                "{} heads must split {} values into multiples of 4",
                self.heads, self.dim
            ));
        }
        if !self.sinusoid_dim.is_multiple_of(2) {
            return Err("the sinusoid length must be even".to_owned());
        }
        Ok(())
    }

    /// Number of trainable parameters.
    pub fn parameter_count(&self) -> u64 {
        let linear = |cin: usize, cout: usize| (cout * cin + cout) as u64;
        let d = self.dim;
        let block = linear(d, 3 * d)
            + linear(d, d)
            + linear(d, self.mlp_ratio * d)
            + linear(self.mlp_ratio * d, d)
            + linear(d, 6 * d);
        let positions = match self.positions {
            Positions::Learned => (self.tokens() * d) as u64,
            Positions::Rope | Positions::None => 0,
        };
        let time = if self.time_input {
            linear(self.sinusoid_dim, d) + linear(d, d)
        } else {
            0
        };
        linear(self.patch_values(), d)
            + positions
            + time
            + ((self.classes + 1) * d) as u64
            + self.depth as u64 * block
            + linear(d, 2 * d)
            + linear(d, self.patch_values())
    }

    /// Multiply-adds of one forward pass for one picture.
    pub fn forward_macs(&self) -> u64 {
        let (n, d) = (self.tokens() as u64, self.dim as u64);
        let hidden = (self.mlp_ratio * self.dim) as u64;
        let per_block = n * (3 * d * d + d * d + 2 * d * hidden) + 2 * n * n * d + 6 * d * d;
        n * self.patch_values() as u64 * d
            + self.depth as u64 * per_block
            + 2 * d * d
            + n * d * self.patch_values() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::{DiTConfig, Positions};

    #[test]
    fn reads_the_reference_json_and_refuses_what_cannot_be_built() {
        let config = DiTConfig::from_json(r#"{"positions": "rope", "time_input": false}"#).unwrap();
        assert_eq!(config.positions, Positions::Rope);
        assert!(!config.time_input);
        assert_eq!(
            (config.grid(), config.tokens(), config.head_dim()),
            (7, 49, 32)
        );
        assert!(DiTConfig::from_json(r#"{"patch": 5}"#).is_err());
        assert!(DiTConfig::from_json(r#"{"heads": 3}"#).is_err());
        assert!(DiTConfig::from_json(r#"{"positions": "sinusoid"}"#).is_err());
        assert!(DiTConfig::from_json(r#"{"depth": 0}"#).is_err());
        assert!(DiTConfig::from_json(r#"{"width": 3}"#).is_err());
        assert!(DiTConfig::from_json("[1]").is_err());
    }
}
