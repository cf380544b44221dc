//! [`Ema`]: an exponential moving average of the weights, the weights that are saved.
//!
//! After every optimiser step, ema ← decay·ema + (1 − decay)·θ. The average forgets noise from single
//! steps, so its samples are cleaner than the raw weights'. It is a set of plain tensors: the
//! parameters are detached before mixing, so no autograd graph reaches the average.

use candle_core::{Result, Tensor, Var};

/// The averaged weights, in the order of the parameters they follow.
#[derive(Clone, Debug)]
pub struct Ema {
    decay: f64,
    names: Vec<String>,
    tensors: Vec<Tensor>,
}

impl Ema {
    /// An average that starts as a copy of `params` (name, variable), as in the reference trainer.
    pub fn new(params: &[(String, Var)], decay: f64) -> Result<Self> {
        let tensors = params
            .iter()
            .map(|(_, var)| var.as_tensor().detach().copy())
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            decay,
            names: params.iter().map(|(name, _)| name.clone()).collect(),
            tensors,
        })
    }

    /// The decay factor.
    pub fn decay(&self) -> f64 {
        self.decay
    }

    /// Moves the average towards the current `params` (the same parameters, in the same order,
    /// as at [`Ema::new`]).
    pub fn update(&mut self, params: &[(String, Var)]) -> Result<()> {
        if params.len() != self.tensors.len() {
            candle_core::bail!(
                "the EMA follows {} parameters, got {}",
                self.tensors.len(),
                params.len()
            );
        }
        for (average, (_, var)) in self.tensors.iter_mut().zip(params) {
            // `detach` shares the variable's storage; the arithmetic makes a new tensor.
            let current = var.as_tensor().detach();
            *average =
                (average.affine(self.decay, 0.0)? + current.affine(1.0 - self.decay, 0.0)?)?;
        }
        Ok(())
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

    use super::Ema;

    #[test]
    fn follows_the_parameters_slowly_and_owns_its_values() -> candle_core::Result<()> {
        let var = Var::from_tensor(&Tensor::new(&[0.0f32, 10.0], &Device::Cpu)?)?;
        let params = vec![("w".to_owned(), var.clone())];
        let mut ema = Ema::new(&params, 0.9)?;
        var.set(&Tensor::new(&[1.0f32, 0.0], &Device::Cpu)?)?;
        // The starting copy did not move with the variable.
        let start: Vec<f32> = ema
            .tensors()
            .next()
            .map_or(Ok(vec![]), |(_, t)| t.to_vec1())?;
        assert_eq!(start, [0.0, 10.0]);
        ema.update(&params)?;
        let after: Vec<f32> = ema
            .tensors()
            .next()
            .map_or(Ok(vec![]), |(_, t)| t.to_vec1())?;
        assert!((after[0] - 0.1).abs() < 1e-6 && (after[1] - 9.0).abs() < 1e-5);
        let (_, tensor) = ema
            .tensors()
            .next()
            .ok_or_else(|| candle_core::Error::Msg("empty".into()))?;
        assert!(!tensor.track_op(), "the average must not carry autograd");
        Ok(())
    }
}
