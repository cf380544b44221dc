//! The one table of the models that ship with the program (`assets/models/<name>.safetensors`, or
//! the folder `assets/models/<name>/` for a diffusers pipeline):
//! the window's model menu and its labels, the command line's `--model` names and default run, the
//! soak bench's choices and the docs' tables (checked by `tests/model_golden.rs`) all read it.

use super::checkpoint::ModelKind;
use crate::diffusion::samplers::SamplerKind;
use crate::i18n::Lang;

/// A model shipped with the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShippedModel {
    /// Its name (`--model`'s value) and its file's stem.
    pub name: &'static str,
    /// What the file holds.
    pub kind: ModelKind,
    /// What it is, in a few words, in English and in Chinese.
    pub about: (&'static str, &'static str),
    /// The sampler and steps of a run when none are asked for (diffusion models only).
    pub default_run: Option<(SamplerKind, usize)>,
}

impl ShippedModel {
    /// Its name and what it is ("digits-eps (predicts the noise ε)").
    pub fn label(&self, lang: Lang) -> String {
        format!("{} ({})", self.name, lang.pick(self.about.0, self.about.1))
    }

    /// Its file's name (a diffusers model is a folder of that name).
    pub fn file_name(&self) -> String {
        match self.kind {
            ModelKind::DiffusersUNet2D => self.name.to_owned(),
            ModelKind::DigitUNet | ModelKind::DigitDiT | ModelKind::DigitClassifier => {
                format!("{}.safetensors", self.name)
            }
        }
    }
}

/// Every shipped model; the first is the window's default.
pub const SHIPPED_MODELS: [ShippedModel; 9] = [
    ShippedModel {
        name: "digits-eps",
        kind: ModelKind::DigitUNet,
        about: ("predicts the noise ε", "预测噪声 ε"),
        default_run: Some((SamplerKind::Ddpm, 1000)),
    },
    ShippedModel {
        name: "digits-v",
        kind: ModelKind::DigitUNet,
        about: ("predicts v", "预测 v"),
        default_run: Some((SamplerKind::Ddpm, 1000)),
    },
    ShippedModel {
        name: "digits-flow",
        kind: ModelKind::DigitUNet,
        about: ("flow matching", "流匹配"),
        default_run: Some((SamplerKind::FlowEuler, 50)),
    },
    ShippedModel {
        name: "digits-dit",
        kind: ModelKind::DigitDiT,
        about: (
            "a transformer (DiT), learned positions",
            "Transformer（DiT），可学习的位置",
        ),
        default_run: Some((SamplerKind::Ddpm, 1000)),
    },
    ShippedModel {
        name: "digits-dit-blind",
        kind: ModelKind::DigitDiT,
        about: (
            "the same transformer, not told t",
            "同一个 Transformer，不知道 t",
        ),
        default_run: Some((SamplerKind::Ddpm, 1000)),
    },
    ShippedModel {
        name: "digits-dit-rope",
        kind: ModelKind::DigitDiT,
        about: (
            "the same transformer, 2D RoPE positions",
            "同一个 Transformer，二维 RoPE 位置编码",
        ),
        default_run: Some((SamplerKind::Ddpm, 1000)),
    },
    ShippedModel {
        name: "digits-dit-none",
        kind: ModelKind::DigitDiT,
        about: (
            "the same transformer, no positions",
            "同一个 Transformer，没有位置编码",
        ),
        default_run: Some((SamplerKind::Ddpm, 1000)),
    },
    ShippedModel {
        name: "digits-diffusers",
        kind: ModelKind::DiffusersUNet2D,
        about: (
            "a diffusers UNet2DModel, imported",
            "diffusers 的 UNet2DModel（导入）",
        ),
        default_run: None,
    },
    ShippedModel {
        name: "digits-classifier",
        kind: ModelKind::DigitClassifier,
        about: ("a digit classifier", "数字分类器"),
        default_run: None,
    },
];

/// The shipped model called `name`, if there is one.
pub fn shipped(name: &str) -> Option<&'static ShippedModel> {
    SHIPPED_MODELS.iter().find(|model| model.name == name)
}

/// The shipped diffusion models, in the table's order (the window's model menu).
pub fn shipped_diffusion_models() -> impl Iterator<Item = &'static ShippedModel> {
    SHIPPED_MODELS
        .iter()
        .filter(|model| model.kind.is_diffusion())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_only_diffusion_models_have_a_default_run() {
        for (index, model) in SHIPPED_MODELS.iter().enumerate() {
            assert_eq!(shipped(model.name), Some(&SHIPPED_MODELS[index]));
            assert_eq!(
                model.default_run.is_some(),
                matches!(model.kind, ModelKind::DigitUNet | ModelKind::DigitDiT)
            );
        }
        assert_eq!(
            shipped("digits-flow").map(|m| m.label(Lang::En)).as_deref(),
            Some("digits-flow (flow matching)")
        );
        assert_eq!(shipped_diffusion_models().count(), 8);
    }
}
