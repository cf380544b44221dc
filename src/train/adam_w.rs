//! AdamW in one parallel pass per weight: [`FusedAdamW`].
//!
//! candle's `AdamW` updates each weight with a dozen tensor operations (a multiplication by a
//! scalar, an addition, a square root…), each a pass over memory on the calling thread: about
//! 5 ms of a 200 ms training step at batch 64, while the pool's other thread waits. This one
//! makes the same operations, in the same order and in f32 as candle does (a tensor times a
//! scalar is candle's `affine`, `v · mul + add` with both cast to f32), element by element, the
//! weights spread over the pool: the weights and moments it leaves are bit for bit candle's (the
//! test below checks several steps). Weights that are not f32 on the CPU go to candle's `AdamW`.

use candle_core::{DType, Device, Result, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rayon::prelude::*;

/// AdamW with candle's arithmetic, fused per weight (see the module's documentation).
#[derive(Debug)]
pub struct FusedAdamW {
    weights: Vec<Moments>,
    /// candle's `AdamW` for the weights this one does not take (none, on the CPU).
    others: AdamW,
    params: ParamsAdamW,
    /// Steps taken (the bias corrections' exponent).
    step: i32,
}

/// One weight and its two moment estimates, zero at the start.
#[derive(Debug)]
struct Moments {
    var: Var,
    first: Vec<f32>,
    second: Vec<f32>,
}

/// The scalars of one step, each as candle casts it.
#[derive(Clone, Copy, Debug)]
struct Step {
    beta1: f32,
    one_minus_beta1: f32,
    beta2: f32,
    one_minus_beta2: f32,
    scale_m: f32,
    scale_v: f32,
    decay: f32,
    eps: f32,
    lr: f32,
}

impl Optimizer for FusedAdamW {
    type Config = ParamsAdamW;

    fn new(vars: Vec<Var>, params: ParamsAdamW) -> Result<Self> {
        let (ours, others): (Vec<Var>, Vec<Var>) = vars
            .into_iter()
            .filter(|var| var.dtype().is_float())
            .partition(|var| var.dtype() == DType::F32 && var.device().is_cpu());
        let weights = ours
            .into_iter()
            .map(|var| Moments {
                first: vec![0.0; var.elem_count()],
                second: vec![0.0; var.elem_count()],
                var,
            })
            .collect();
        Ok(Self {
            weights,
            others: AdamW::new(others, params.clone())?,
            params,
            step: 0,
        })
    }

    fn step(&mut self, grads: &candle_core::backprop::GradStore) -> Result<()> {
        self.step += 1;
        let step = self.scalars();
        self.weights
            .par_iter_mut()
            .try_for_each(|weight| match grads.get(&weight.var) {
                Some(grad) => weight.update(grad, step),
                None => Ok(()),
            })?;
        self.others.step(grads)
    }

    fn learning_rate(&self) -> f64 {
        self.params.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.params.lr = lr;
        self.others.set_learning_rate(lr);
    }
}

impl FusedAdamW {
    /// This step's scalars, computed in f64 as candle computes them, then cast.
    fn scalars(&self) -> Step {
        let p = &self.params;
        Step {
            beta1: p.beta1 as f32,
            one_minus_beta1: (1.0 - p.beta1) as f32,
            beta2: p.beta2 as f32,
            one_minus_beta2: (1.0 - p.beta2) as f32,
            scale_m: (1.0 / (1.0 - p.beta1.powi(self.step))) as f32,
            scale_v: (1.0 / (1.0 - p.beta2.powi(self.step))) as f32,
            decay: (1.0 - p.lr * p.weight_decay) as f32,
            eps: p.eps as f32,
            lr: p.lr as f32,
        }
    }
}

impl Moments {
    /// One step of this weight with its gradient `grad`.
    fn update(&mut self, grad: &Tensor, s: Step) -> Result<()> {
        let theta = self.var.as_tensor();
        if grad.shape() != theta.shape() {
            candle_core::bail!(
                "AdamW: gradient {:?} for a weight {:?}",
                grad.shape(),
                theta.shape()
            );
        }
        let g = grad.flatten_all()?.to_vec1::<f32>()?;
        let mut next = theta.flatten_all()?.to_vec1::<f32>()?;
        let values = next.iter_mut().zip(&g);
        for ((theta, &g), (m, v)) in values.zip(self.first.iter_mut().zip(&mut self.second)) {
            // candle: next_m = m·β1 + g·(1 − β1), each product an affine map (+ 0).
            *m = (*m * s.beta1 + 0.0) + (g * s.one_minus_beta1 + 0.0);
            *v = (*v * s.beta2 + 0.0) + ((g * g) * s.one_minus_beta2 + 0.0);
            let m_hat = *m * s.scale_m + 0.0;
            let v_hat = *v * s.scale_v + 0.0;
            let decayed = *theta * s.decay + 0.0;
            let adjusted = m_hat / (v_hat.sqrt() * 1.0 + s.eps);
            *theta = decayed - (adjusted * s.lr + 0.0);
        }
        self.var
            .set(&Tensor::from_vec(next, theta.shape(), &Device::Cpu)?)
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor, Var};
    use candle_nn::{AdamW, Optimizer, ParamsAdamW};

    use super::FusedAdamW;

    /// Weights of odd sizes with seeded values (a sine of the index, as candle's random numbers
    /// cannot be seeded on the CPU).
    fn weights(shift: f32) -> Vec<Var> {
        [vec![3usize], vec![5, 7], vec![4, 3, 3, 3], vec![1]]
            .into_iter()
            .enumerate()
            .map(|(k, dims)| {
                let count: usize = dims.iter().product();
                let values: Vec<f32> = (0..count)
                    .map(|i| ((i * 7 + k * 13) as f32 * 0.37 + shift).sin())
                    .collect();
                Var::from_tensor(&Tensor::from_vec(values, dims, &Device::Cpu).unwrap()).unwrap()
            })
            .collect()
    }

    /// A loss whose gradient differs from weight to weight and step to step.
    fn loss(vars: &[Var], step: usize) -> Tensor {
        let terms: Vec<Tensor> = vars
            .iter()
            .enumerate()
            .map(|(k, var)| {
                let scaled = (var.as_tensor() * (0.5 + k as f64 + step as f64 * 0.25)).unwrap();
                scaled.sqr().unwrap().sin().unwrap().sum_all().unwrap()
            })
            .collect();
        Tensor::stack(&terms, 0).unwrap().sum_all().unwrap()
    }

    #[test]
    fn fused_adam_w_leaves_the_weights_candles_adam_w_leaves_bit_for_bit() {
        let params = ParamsAdamW {
            lr: 3e-3,
            weight_decay: 0.01,
            ..ParamsAdamW::default()
        };
        let (ours, theirs, start) = (weights(0.1), weights(0.1), weights(0.1));
        let mut fused = FusedAdamW::new(ours.clone(), params.clone()).unwrap();
        let mut candle = AdamW::new(theirs.clone(), params).unwrap();
        for step in 0..5 {
            let lr = 3e-3 * (1.0 + step as f64) / 5.0;
            fused.set_learning_rate(lr);
            candle.set_learning_rate(lr);
            fused.backward_step(&loss(&ours, step)).unwrap();
            candle.backward_step(&loss(&theirs, step)).unwrap();
        }
        let values = |var: &Var| var.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let bits = |values: Vec<f32>| values.into_iter().map(f32::to_bits).collect::<Vec<_>>();
        for ((a, b), before) in ours.iter().zip(&theirs).zip(&start) {
            assert_eq!(bits(values(a)), bits(values(b)));
            assert!(values(a).iter().zip(values(before)).all(|(a, b)| *a != b));
        }
    }
}
