//! A training step's six pictures (x0, ε, x_t, the output, the target, the squared error), made
//! once per step: as textures for the window and, captioned, for slides.

use eframe::egui::{self, ColorImage, TextureHandle, TextureOptions};
use image::RgbImage;

use crate::diffusion::objectives::Objective;
use crate::i18n::Lang;
use crate::sample::colormap::diverging;
use crate::sample::grid::{tile, tile_with};
use crate::sample::{GridSpec, ImageShape};
use crate::train::one_step::TrainingStep;

/// Enlargement of the uploaded pictures (drawn scaled; nearest-neighbour keeps pixels crisp).
const SCALE: u32 = 4;

/// The squared error drawn darkest (white is 0).
pub const ERROR_RANGE: f32 = 1.0;

/// The six parts of a step, in the order of the recipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepPart {
    /// The real digit.
    X0,
    /// The noise.
    Noise,
    /// The noisy digit.
    Noisy,
    /// What the network answered.
    Output,
    /// What it should have answered.
    Target,
    /// Their squared difference.
    Error,
}

impl StepPart {
    /// Every part, in the recipe's order.
    pub const ALL: [Self; 6] = [
        Self::X0,
        Self::Noise,
        Self::Noisy,
        Self::Output,
        Self::Target,
        Self::Error,
    ];

    /// The part's values in `step`.
    fn values(self, step: &TrainingStep) -> &[f32] {
        match self {
            Self::X0 => &step.x0,
            Self::Noise => &step.eps,
            Self::Noisy => &step.x_t,
            Self::Output => &step.output,
            Self::Target => &step.target,
            Self::Error => &step.squared_error,
        }
    }

    /// Its short name under the picture.
    pub fn name(self, objective: Objective, lang: Lang) -> &'static str {
        let (en, zh) = match (self, objective) {
            (Self::X0, _) => ("x0, a real digit", "x0，真实数字"),
            (Self::Noise, _) => ("ε, fresh noise", "ε，新的噪声"),
            (Self::Noisy, _) => ("x_t, the noisy digit", "x_t，加噪后的数字"),
            (Self::Output, Objective::Flow) => {
                ("u_θ, the network's velocity", "u_θ，网络给出的速度")
            }
            (Self::Output, Objective::V) => ("v_θ, the network's v", "v_θ，网络给出的 v"),
            (Self::Output, _) => ("ε_θ, the network's guess", "ε_θ，网络猜测的噪声"),
            (Self::Target, Objective::Flow) => ("u = ε − x0, the target", "u = ε − x0，目标"),
            (Self::Target, Objective::V) => ("v, the target", "v，目标"),
            (Self::Target, _) => ("ε, the target", "ε，目标"),
            (Self::Error, _) => ("squared error", "平方误差"),
        };
        lang.pick(en, zh)
    }

    /// The picture of this part of `step`.
    pub fn picture(self, step: &TrainingStep) -> RgbImage {
        let values = self.values(step);
        match self {
            Self::X0 | Self::Noisy => tile(values, DIGIT, SINGLE, SCALE),
            Self::Error => tile_with(values, DIGIT, SINGLE, SCALE, &error_colour),
            Self::Noise | Self::Output | Self::Target => {
                tile_with(values, DIGIT, SINGLE, SCALE, &diverging)
            }
        }
    }
}

const DIGIT: ImageShape = ImageShape::grey(28, 28);

const SINGLE: GridSpec = GridSpec {
    columns: 1,
    rows: 1,
};

/// 0 white, [`ERROR_RANGE`] and beyond dark red (NaN black).
pub fn error_colour(error: f32) -> [u8; 3] {
    if error.is_nan() {
        return [0, 0, 0];
    }
    let x = (error / ERROR_RANGE).clamp(0.0, 1.0);
    let (white, red) = ([250.0, 250.0, 250.0], [165.0, 15.0, 21.0]);
    std::array::from_fn(|i| (white[i] + (red[i] - white[i]) * x.sqrt()).round() as u8)
}

/// The textures of the step shown, remade when another step is shown.
#[derive(Default)]
pub struct StepTextures {
    shown: Option<TrainingStep>,
    textures: Vec<TextureHandle>,
}

impl StepTextures {
    /// The six textures of `step`, in [`StepPart::ALL`]'s order.
    pub fn update(&mut self, ctx: &egui::Context, step: &TrainingStep) -> &[TextureHandle] {
        if self.shown.as_ref() != Some(step) {
            self.textures = StepPart::ALL
                .iter()
                .enumerate()
                .map(|(index, part)| {
                    let picture = part.picture(step);
                    let dims = [picture.width() as usize, picture.height() as usize];
                    ctx.load_texture(
                        format!("training-step-{index}"),
                        ColorImage::from_rgb(dims, picture.as_raw()),
                        TextureOptions::NEAREST,
                    )
                })
                .collect();
            self.shown = Some(step.clone());
        }
        &self.textures
    }
}

/// The step's pictures for slides, each named by its part.
pub fn step_pictures(step: &TrainingStep, lang: Lang) -> Vec<(String, RgbImage)> {
    StepPart::ALL
        .iter()
        .map(|part| {
            (
                part.name(step.objective, lang).to_owned(),
                part.picture(step),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_error_is_white_and_large_errors_are_dark_red() {
        assert_eq!(error_colour(0.0), [250, 250, 250]);
        assert_eq!(error_colour(ERROR_RANGE), [165, 15, 21]);
        assert_eq!(error_colour(50.0), [165, 15, 21]);
        assert_eq!(error_colour(f32::NAN), [0, 0, 0]);
        assert!(error_colour(0.1)[1] > error_colour(0.5)[1]);
    }
}
