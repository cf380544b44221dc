//! `UNetConfig`: the sizes of the digit UNet, as stored in a checkpoint's `architecture` metadata,
//! and what follows from them (parameter count, FLOPs per forward pass).

use serde::{Deserialize, Serialize};

/// The class id meaning "no class" (the unconditional branch of classifier-free guidance). It equals
/// the number of classes of the digit models: ids 0–9 are the digits, 10 is "no class".
pub const NULL_CLASS: u32 = 10;

/// The sizes of a [`DigitUNet`](super::DigitUNet); the same keys as `DEFAULT_CONFIG` in
/// `training/unet.py`, and the JSON stored under `architecture` in a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UNetConfig {
    /// Channels at 28×28, 14×14 and 7×7 (c0, c1, c2).
    pub channels: [usize; 3],
    /// Groups of every GroupNorm; divides each of the channel counts.
    pub groups: usize,
    /// Length of the sinusoidal timestep embedding (even).
    pub sinusoid_dim: usize,
    /// Width of the conditioning vector (time MLP output and class embedding).
    pub emb_dim: usize,
    /// Number of real classes; the class embedding has one more row, for "no class".
    pub classes: usize,
}

impl Default for UNetConfig {
    /// `DEFAULT_CONFIG` of `training/unet.py`: the shipped digit models.
    fn default() -> Self {
        Self {
            channels: [16, 32, 64],
            groups: 8,
            sinusoid_dim: 32,
            emb_dim: 128,
            classes: 10,
        }
    }
}

/// A config read from the JSON object `text` (an architecture's metadata), unchecked; the reason
/// in English if it is not an object of the config's keys and types.
pub(crate) fn json_object<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if !value.is_object() {
        return Err("not a JSON object".to_owned());
    }
    serde_json::from_value(value).map_err(|e| e.to_string())
}

/// Sizes that a forward pass visits, for counting work.
#[derive(Clone, Copy)]
struct Sizes {
    h: usize,
    w: usize,
}

impl Sizes {
    fn pixels(self) -> u64 {
        (self.h * self.w) as u64
    }

    /// After a 3×3 convolution with stride 2 and padding 1.
    fn halved(self) -> Self {
        Self {
            h: self.h.div_ceil(2),
            w: self.w.div_ceil(2),
        }
    }

    fn doubled(self) -> Self {
        Self {
            h: self.h * 2,
            w: self.w * 2,
        }
    }
}

impl UNetConfig {
    /// A very small network for tests of code that needs "a model" (the worker, samplers):
    /// channels 8/8/16, 4 groups, an 8-long sinusoid, a 16-wide embedding, 10 classes.
    pub fn tiny() -> Self {
        Self {
            channels: [8, 8, 16],
            groups: 4,
            sinusoid_dim: 8,
            emb_dim: 16,
            classes: 10,
        }
    }

    /// The class id that means "no class" for this network (= `classes`).
    pub fn null_class(&self) -> u32 {
        u32::try_from(self.classes).unwrap_or(u32::MAX)
    }

    /// Reads the `architecture` JSON of a checkpoint. Keys left out take their default (as
    /// `dict(DEFAULT_CONFIG, **config)` does in `training/unet.py`); unknown keys, wrong types and
    /// sizes the network cannot be built with are refused with a reason in English.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let config: Self = json_object(text)?;
        config.validate()?;
        Ok(config)
    }

    /// The config as the JSON that training writes under `architecture`.
    pub fn to_json(&self) -> String {
        // Serialising plain numbers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Checks that a network can be built with these sizes; the reason in English if not.
    pub fn validate(&self) -> Result<(), String> {
        const LIMIT: usize = 1 << 14;
        let all = [
            self.channels[0],
            self.channels[1],
            self.channels[2],
            self.groups,
            self.sinusoid_dim,
            self.emb_dim,
            self.classes,
        ];
        if all.iter().any(|&n| n == 0 || n > LIMIT) {
            return Err(format!("every size must be between 1 and {LIMIT}"));
        }
        if let Some(c) = self.channels.iter().find(|&&c| c % self.groups != 0) {
            return Err(format!("{} groups do not divide {c} channels", self.groups));
        }
        if !self.sinusoid_dim.is_multiple_of(2) {
            return Err("the sinusoid length must be even".to_owned());
        }
        Ok(())
    }

    /// Number of trainable parameters (weights and biases of every layer).
    pub fn parameter_count(&self) -> u64 {
        let [c0, c1, c2] = self.channels.map(|c| c as u64);
        let (e, s) = (self.emb_dim as u64, self.sinusoid_dim as u64);
        let conv = |cin: u64, cout: u64, k: u64| cout * cin * k * k + cout;
        let linear = |cin: u64, cout: u64| cout * cin + cout;
        let norm = |c: u64| 2 * c;
        let res = |cin: u64, cout: u64| {
            norm(cin)
                + conv(cin, cout, 3)
                + linear(e, cout)
                + norm(cout)
                + conv(cout, cout, 3)
                + if cin == cout { 0 } else { conv(cin, cout, 1) }
        };
        let time = linear(s, e) + linear(e, e);
        let class = (self.classes as u64 + 1) * e;
        let down = res(c0, c0) + conv(c0, c0, 3) + res(c0, c1) + conv(c1, c1, 3) + res(c1, c2);
        let mid = 2 * res(c2, c2) + norm(c2) + linear(c2, 3 * c2) + linear(c2, c2);
        let up = res(c2 + c2, c2)
            + conv(c2, c2, 3)
            + res(c2 + c1, c1)
            + conv(c1, c1, 3)
            + res(c1 + c0, c0);
        time + class + conv(1, c0, 3) + down + mid + up + norm(c0) + conv(c0, 1, 3)
    }

    /// Multiply-adds of one forward pass for one image of `height`×`width` pixels: every
    /// convolution, linear layer and the two matrix products of attention (normalisation,
    /// activations and softmax are not counted). FLOPs are twice this.
    pub fn forward_macs(&self, height: usize, width: usize) -> u64 {
        let [c0, c1, c2] = self.channels.map(|c| c as u64);
        let (e, s) = (self.emb_dim as u64, self.sinusoid_dim as u64);
        let conv = |size: Sizes, cin: u64, cout: u64, k: u64| size.pixels() * cout * cin * k * k;
        let res = |size: Sizes, cin: u64, cout: u64| {
            conv(size, cin, cout, 3)
                + e * cout
                + conv(size, cout, cout, 3)
                + if cin == cout {
                    0
                } else {
                    conv(size, cin, cout, 1)
                }
        };
        let s0 = Sizes {
            h: height,
            w: width,
        };
        let s1 = s0.halved();
        let s2 = s1.halved();
        let tokens = s2.pixels();
        let attention = tokens * c2 * 3 * c2 + 2 * tokens * tokens * c2 + tokens * c2 * c2;
        let time = s * e + e * e;
        let down = res(s0, c0, c0)
            + conv(s1, c0, c0, 3)
            + res(s1, c0, c1)
            + conv(s2, c1, c1, 3)
            + res(s2, c1, c2);
        let mid = 2 * res(s2, c2, c2) + attention;
        let up = res(s2, c2 + c2, c2)
            + conv(s2.doubled(), c2, c2, 3)
            + res(s1, c2 + c1, c1)
            + conv(s1.doubled(), c1, c1, 3)
            + res(s0, c1 + c0, c0);
        time + conv(s0, 1, c0, 3) + down + mid + up + conv(s0, c0, 1, 3)
    }
}

#[cfg(test)]
mod tests {
    use super::UNetConfig;

    #[test]
    fn json_round_trip_and_defaults() {
        let config = UNetConfig::default();
        assert_eq!(UNetConfig::from_json(&config.to_json()), Ok(config.clone()));
        assert_eq!(UNetConfig::from_json("{}"), Ok(config));
        let tiny = UNetConfig::tiny();
        assert_eq!(UNetConfig::from_json(&tiny.to_json()), Ok(tiny));
    }

    #[test]
    fn refuses_bad_architectures() {
        for text in [
            "[]",
            r#"{"channels": [16, 32]}"#,
            r#"{"channels": [16, 32, 60]}"#,
            r#"{"groups": 0}"#,
            r#"{"sinusoid_dim": 7}"#,
            r#"{"emb_dim": "big"}"#,
            r#"{"heads": 4}"#,
        ] {
            assert!(UNetConfig::from_json(text).is_err(), "{text}");
        }
    }

    #[test]
    fn counts_match_the_reference() {
        // From training/unet.py: sum(p.numel() for p in DigitUNet().parameters()).
        assert_eq!(UNetConfig::default().parameter_count(), 537_393);
        assert_eq!(UNetConfig::tiny().parameter_count(), 35_153);
        // torch.utils.flop_counter.FlopCounterMode on one 28×28 image, total FLOPs / 2.
        assert_eq!(UNetConfig::default().forward_macs(28, 28), 54_688_384);
        assert_eq!(UNetConfig::tiny().forward_macs(28, 28), 5_350_368);
    }
}
