//! [`Ema`]: an exponential moving average of the weights, the weights that are saved.
//!
//! After optimiser step n (1-based), ema ← d·ema + (1 − d)·θ with d = [`decay_after`]`(n)` =
//! min(max_decay, 1 − n^(−2/3)): the warm-up of diffusers' `EMAModel` with `use_ema_warmup=True`
//! and its defaults `inv_gamma = 1`, `power = 2/3` (diffusers counts `step = n − 1` and computes
//! 1 − (1 + step)^(−power), the same number; its first update, d = 0, copies the weights).
//!
//! Why a warm-up: with a fixed decay of 0.999 the average still holds 0.999^300 ≈ 74 % of the
//! random initial weights after 300 steps, and a short run saves noise. With the warm-up the
//! average covers about the last n^(2/3) steps (45 after 300 steps, 208 after 3000) and reaches
//! the cap 0.999 only after 31,623 steps.
//!
//! The average is a set of plain tensors: the parameters are detached before mixing, so no
//! autograd graph reaches it. The decay depends only on the step number, so a resumed run
//! averages exactly as an uninterrupted one.

use candle_core::{Result, Tensor, Var};

/// The power of the warm-up (diffusers' default `power` for `use_ema_warmup`).
pub const WARMUP_POWER: f64 = 2.0 / 3.0;

/// The decay used after optimiser step `step` (1-based): min(`max_decay`, 1 − step^(−2/3)), never
/// below 0 (0 at step 1: the average becomes a copy of the weights).
pub fn decay_after(step: usize, max_decay: f64) -> f64 {
    if step == 0 {
        return 0.0;
    }
    let warm = 1.0 - (step as f64).powf(-WARMUP_POWER);
    warm.min(max_decay).max(0.0)
}

/// The averaged weights, in the order of the parameters they follow.
#[derive(Clone, Debug)]
pub struct Ema {
    max_decay: f64,
    names: Vec<String>,
    tensors: Vec<Tensor>,
}

impl Ema {
    /// An average that starts as a copy of `params` (name, variable), as in the reference
    /// trainer; `max_decay` caps the warm-up (see [`decay_after`]).
    pub fn new(params: &[(String, Var)], max_decay: f64) -> Result<Self> {
        let tensors = params
            .iter()
            .map(|(_, var)| var.as_tensor().detach().copy())
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            max_decay,
            names: params.iter().map(|(name, _)| name.clone()).collect(),
            tensors,
        })
    }

    /// The most the decay can reach.
    pub fn max_decay(&self) -> f64 {
        self.max_decay
    }

    /// Moves the average towards the current `params` (the same parameters, in the same order,
    /// as at [`Ema::new`]) after optimiser step `step` (1-based); returns the decay it used.
    pub fn update(&mut self, params: &[(String, Var)], step: usize) -> Result<f64> {
        if params.len() != self.tensors.len() {
            candle_core::bail!(
                "the EMA follows {} parameters, got {}",
                self.tensors.len(),
                params.len()
            );
        }
        let decay = decay_after(step, self.max_decay);
        for (average, (_, var)) in self.tensors.iter_mut().zip(params) {
            // `detach` shares the variable's storage; the arithmetic makes a new tensor.
            let current = var.as_tensor().detach();
            *average = (average.affine(decay, 0.0)? + current.affine(1.0 - decay, 0.0)?)?;
        }
        Ok(decay)
    }

    /// Replaces the average of the parameter called `name` (for resuming); `false` if there is
    /// no such parameter or the shape differs.
    pub fn set(&mut self, name: &str, tensor: &Tensor) -> bool {
        match self.names.iter().position(|n| n == name) {
            Some(i) if self.tensors[i].dims() == tensor.dims() => {
                self.tensors[i] = tensor.detach();
                true
            }
            _ => false,
        }
    }

    /// (name, averaged tensor) pairs, in parameter order.
    pub fn tensors(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.names.iter().map(String::as_str).zip(&self.tensors)
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor, Var};

    use super::{Ema, decay_after};

    fn first_values(ema: &Ema) -> candle_core::Result<Vec<f32>> {
        ema.tensors()
            .next()
            .map_or(Ok(vec![]), |(_, t)| t.to_vec1())
    }

    #[test]
    fn follows_the_parameters_slowly_and_owns_its_values() -> candle_core::Result<()> {
        let var = Var::from_tensor(&Tensor::new(&[0.0f32, 10.0], &Device::Cpu)?)?;
        let params = vec![("w".to_owned(), var.clone())];
        let mut ema = Ema::new(&params, 0.9)?;
        var.set(&Tensor::new(&[1.0f32, 0.0], &Device::Cpu)?)?;
        // The starting copy did not move with the variable.
        assert_eq!(first_values(&ema)?, [0.0, 10.0]);
        // At step 100 the warm-up (0.954) is above the cap, so the decay is 0.9.
        assert_eq!(ema.update(&params, 100)?, 0.9);
        let after = first_values(&ema)?;
        assert!((after[0] - 0.1).abs() < 1e-6 && (after[1] - 9.0).abs() < 1e-5);
        let (_, tensor) = ema
            .tensors()
            .next()
            .ok_or_else(|| candle_core::Error::Msg("empty".into()))?;
        assert!(!tensor.track_op(), "the average must not carry autograd");
        // The first step's decay is 0: the average becomes a copy of the weights.
        assert_eq!(ema.update(&params, 1)?, 0.0);
        assert_eq!(first_values(&ema)?, [1.0, 0.0]);
        Ok(())
    }

    #[test]
    fn the_decay_warms_up_as_diffusers_ema_model_does() {
        // diffusers' EMAModel(use_ema_warmup=True) at its `step` = n − 1, from Python:
        // [1 - (1 + s) ** (-2/3) for s in (0, 1, 10, 100, 1000)].
        let expected = [
            (0, 0.0),
            (1, 0.370_039_475_052_563_4),
            (10, 0.797_819_991_766_425_8),
            (100, 0.953_890_994_972_239_3),
            (1000, 0.990_006_661_116_044_9),
        ];
        for (diffusers_step, value) in expected {
            let decay = decay_after(diffusers_step + 1, 0.9999);
            assert!(
                (decay - value).abs() < 1e-12,
                "step {diffusers_step}: {decay}"
            );
        }
        // The cap: 1 − n^(−2/3) = 0.999 at n = 1000^1.5 ≈ 31,622.8 (diffusers' "0.999 at 31.6K").
        assert!(decay_after(31_622, 0.999) < 0.999);
        assert_eq!(decay_after(31_623, 0.999), 0.999);
        assert_eq!(decay_after(5, 0.0), 0.0);
        assert_eq!(decay_after(0, 0.999), 0.0);
        assert!((1..5000).all(|n| decay_after(n, 0.999) <= decay_after(n + 1, 0.999)));
    }

    /// The weight that the weights from before step `k` keep in the average after `n` steps:
    /// the product of the decays of steps k + 1 ..= n.
    fn share_before(k: usize, n: usize, decay: impl Fn(usize) -> f64) -> f64 {
        (k + 1..=n).map(decay).product()
    }

    #[test]
    fn after_300_steps_the_average_is_made_of_trained_weights() -> candle_core::Result<()> {
        let warm = |n| decay_after(n, 0.999);
        // The random start (before step 1) is gone after the first update.
        assert_eq!(share_before(0, 300, warm), 0.0);
        // The first 30 steps keep under 0.01 % (1.7e-5); with a fixed 0.999 they kept 76 % and
        // the random start alone 74 %.
        let early = share_before(30, 300, warm);
        assert!(early < 1e-4, "{early}");
        assert!(share_before(0, 300, |_| 0.999) > 0.74);

        // The same number from the tensors: a weight that is 0 for 30 steps and then 1.
        let var = Var::from_tensor(&Tensor::new(&[0.0f32], &Device::Cpu)?)?;
        let params = vec![("w".to_owned(), var.clone())];
        let mut ema = Ema::new(&params, 0.999)?;
        for n in 1..=300 {
            if n == 31 {
                var.set(&Tensor::new(&[1.0f32], &Device::Cpu)?)?;
            }
            ema.update(&params, n)?;
        }
        let value = f64::from(first_values(&ema)?[0]);
        assert!((value - (1.0 - early)).abs() < 1e-4, "{value}");
        Ok(())
    }
}
