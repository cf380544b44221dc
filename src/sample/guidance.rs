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

/// The network's output for the batch `x_t` under guidance of scale `scale`.
///
/// `labels` has one entry per image: its class, or `None` for an unconditional sample. When guidance
/// matters, the conditional and the unconditional halves go through the network together, as one
/// batch of 2B images, and are then combined with [`combine`]. When it does not (no image has a
/// class, or w = 1, or w = 0) one batch of B is enough, and the result is exactly the conditional
/// (or unconditional) output. Either way it is one network call.
pub fn guided_output(
    denoiser: &dyn Denoiser,
    x_t: &[f32],
    timestep_input: f32,
    labels: &[Option<u32>],
    scale: f32,
) -> Result<GuidedOutput, SampleError> {
    let batch = labels.len();
    let conditional: Vec<u32> = labels.iter().map(|l| l.unwrap_or(NULL_CLASS)).collect();
    let unconditional = vec![NULL_CLASS; batch];
    let any_class = labels.iter().any(Option::is_some);

    let single = |classes: &[u32]| -> Result<GuidedOutput, SampleError> {
        Ok(GuidedOutput {
            combined: checked_predict(denoiser, x_t, batch, timestep_input, classes)?,
            halves: None,
        })
    };
    if !any_class || scale == 1.0 {
        return single(&conditional);
    }
    if scale == 0.0 {
        return single(&unconditional);
    }
    // One call of 2B: the B images with their classes, then the same B images with "no class".
    let doubled = [x_t, x_t].concat();
    let classes = [conditional, unconditional].concat();
    let both = checked_predict(denoiser, &doubled, 2 * batch, timestep_input, &classes)?;
    let (cond, uncond) = both.split_at(x_t.len());
    Ok(GuidedOutput {
        combined: combine(uncond, cond, scale),
        halves: Some(Halves {
            conditional: cond.to_vec(),
            unconditional: uncond.to_vec(),
        }),
    })
}

/// One network call, every image at the same time input, with the output's size checked.
fn checked_predict(
    denoiser: &dyn Denoiser,
    x_t: &[f32],
    batch: usize,
    timestep_input: f32,
    classes: &[u32],
) -> Result<Vec<f32>, SampleError> {
    let output = denoiser.predict(x_t, batch, &vec![timestep_input; batch], classes)?;
    if output.len() == x_t.len() {
        Ok(output)
    } else {
        Err(SampleError::WrongOutputSize {
            expected: x_t.len(),
            found: output.len(),
        })
    }
}
