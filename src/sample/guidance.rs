//! Classifier-free guidance (Ho & Salimans 2022): ask the network twice, once with the class and once
//! with "no class", and push the answer further in the direction the class points:
//!
//! > out = out_uncond + w·(out_cond − out_uncond).
//!
//! w = 0 is the unconditional model, w = 1 the plain conditional one, and w > 1 exaggerates what makes
//! the sample look like its class. The mix is applied to the network's raw output, which is right for
//! ε-, v- and flow models alike: each turns into x̂0 and ε̂ linearly (see
//! [`crate::diffusion::objectives`]), so mixing outputs mixes the predictions the same way.

use super::{Denoiser, NULL_CLASS, SampleError};

/// out_uncond + w·(out_cond − out_uncond), value by value.
pub fn combine(uncond: &[f32], cond: &[f32], scale: f32) -> Vec<f32> {
    assert_eq!(uncond.len(), cond.len(), "halves differ in length");
    uncond
        .iter()
        .zip(cond)
        .map(|(&u, &c)| u + scale * (c - u))
        .collect()
}

/// The network's answer under guidance, and the two answers it was mixed from.
#[derive(Clone, Debug, PartialEq)]
pub struct GuidedOutput {
    /// The output the sampler uses.
    pub combined: Vec<f32>,
    /// The conditional and unconditional outputs, when guidance mixed two of them.
    pub halves: Option<Halves>,
}

/// The two network outputs classifier-free guidance mixes.
#[derive(Clone, Debug, PartialEq)]
pub struct Halves {
    /// The output given each image's class.
    pub conditional: Vec<f32>,
    /// The output given "no class".
    pub unconditional: Vec<f32>,
}

/// The network's output for the batch `x_t` under guidance of scale `scale`: one [`GuidedCall`],
/// asked of `denoiser` and read back.
pub fn guided_output(
    denoiser: &dyn Denoiser,
    x_t: &[f32],
    timestep_input: f32,
    labels: &[Option<u32>],
    scale: f32,
) -> Result<GuidedOutput, SampleError> {
    let call = GuidedCall::new(x_t, timestep_input, labels, scale);
    let output = denoiser.predict(&call.x, call.batch, &call.timestep_inputs, &call.classes)?;
    call.answer(output)
}

/// The one network call guidance needs for a batch, and how to read its answer.
///
/// `labels` has one entry per image: its class, or `None` for an unconditional sample. When guidance
/// matters, the conditional and the unconditional halves go through the network together, as one
/// batch of 2B images, and are then combined with [`combine`]. When it does not (no image has a
/// class, or w = 1, or w = 0) one batch of B is enough, and the result is exactly the conditional
/// (or unconditional) output. Either way it is one network call; calls of several runs can be
/// joined into one (each image's answer depends on that image only).
#[derive(Clone, Debug, PartialEq)]
pub struct GuidedCall {
    /// The images the network looks at (`batch` × height × width values).
    pub x: Vec<f32>,
    /// The number of images.
    pub batch: usize,
    /// Each image's time input.
    pub timestep_inputs: Vec<f32>,
    /// Each image's class id (0–9 or [`NULL_CLASS`]).
    pub classes: Vec<u32>,
    /// The guidance scale, when the answer is two halves to mix.
    mix: Option<f32>,
}

impl GuidedCall {
    /// The call for the images `x_t`, all at `timestep_input`, with `labels` and scale `scale`.
    pub fn new(x_t: &[f32], timestep_input: f32, labels: &[Option<u32>], scale: f32) -> Self {
        let batch = labels.len();
        let conditional: Vec<u32> = labels.iter().map(|l| l.unwrap_or(NULL_CLASS)).collect();
        let unconditional = vec![NULL_CLASS; batch];
        let single = |classes: Vec<u32>| Self {
            x: x_t.to_vec(),
            batch,
            timestep_inputs: vec![timestep_input; batch],
            classes,
            mix: None,
        };
        if !Self::mixes(labels, scale) {
            return single(if scale == 0.0 {
                unconditional
            } else {
                conditional
            });
        }
        // One call of 2B: the B images with their classes, then the same B images with "no class".
        Self {
            x: [x_t, x_t].concat(),
            batch: 2 * batch,
            timestep_inputs: vec![timestep_input; 2 * batch],
            classes: [conditional, unconditional].concat(),
            mix: Some(scale),
        }
    }

    /// Whether the call for `labels` at scale `scale` asks with and without the class (2B images):
    /// some image has a class, and w is neither 0 nor 1.
    fn mixes(labels: &[Option<u32>], scale: f32) -> bool {
        labels.iter().any(Option::is_some) && scale != 0.0 && scale != 1.0
    }

    /// The number of images the call for `labels` at scale `scale` holds, without making it.
    pub fn images(labels: &[Option<u32>], scale: f32) -> usize {
        labels.len() * if Self::mixes(labels, scale) { 2 } else { 1 }
    }

    /// Reads the network's answer to this call: checks its size and mixes the halves.
    pub fn answer(&self, output: Vec<f32>) -> Result<GuidedOutput, SampleError> {
        if output.len() != self.x.len() {
            return Err(SampleError::WrongOutputSize {
                expected: self.x.len(),
                found: output.len(),
            });
        }
        let Some(scale) = self.mix else {
            return Ok(GuidedOutput {
                combined: output,
                halves: None,
            });
        };
        let (cond, uncond) = output.split_at(output.len() / 2);
        Ok(GuidedOutput {
            combined: combine(uncond, cond, scale),
            halves: Some(Halves {
                conditional: cond.to_vec(),
                unconditional: uncond.to_vec(),
            }),
        })
    }
}
