//! Seeded initial weights. candle draws the initial values of a `VarMap` from a generator that
//! cannot be seeded on the CPU, so a run would not be repeatable; this `VarBuilder` backend creates
//! the same variables with the same distributions (candle's `Init` hints: constants, normal,
//! uniform, Kaiming), drawn from a ChaCha generator seeded by (seed, tensor name). The values
//! therefore depend neither on the order in which layers are built nor on the number of threads.

use candle_core::{DType, Device, Result, Shape, Tensor, Var};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{Init, VarBuilder, VarMap};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use candle_nn::init::NormalOrUniform;

/// A `VarBuilder` whose new variables go into `varmap`, initialised from `seed`.
pub fn seeded_var_builder(varmap: &VarMap, seed: u64, device: &Device) -> VarBuilder<'static> {
    VarBuilder::from_backend(
        Box::new(SeededVarMap {
            varmap: varmap.clone(),
            seed,
        }),
        DType::F32,
        device.clone(),
    )
}

/// The parameters of `varmap` as (name, variable), sorted by name: a fixed order for the
/// optimiser, the EMA and the files.
pub fn sorted_params(varmap: &VarMap) -> Result<Vec<(String, Var)>> {
    let data = varmap
        .data()
        .lock()
        .map_err(|_| candle_core::Error::Msg("the parameter map is poisoned".to_owned()))?;
    let mut params: Vec<(String, Var)> = data
        .iter()
        .map(|(name, var)| (name.clone(), var.clone()))
        .collect();
    params.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(params)
}

struct SeededVarMap {
    /// Shares its storage with the caller's map (a `VarMap` is a handle).
    varmap: VarMap,
    seed: u64,
}

impl SimpleBackend for SeededVarMap {
    fn get(
        &self,
        shape: Shape,
        name: &str,
        init: Init,
        dtype: DType,
        dev: &Device,
    ) -> Result<Tensor> {
        let mut data = self
            .varmap
            .data()
            .lock()
            .map_err(|_| candle_core::Error::Msg("the parameter map is poisoned".to_owned()))?;
        if let Some(var) = data.get(name) {
            if var.shape() != &shape {
                candle_core::bail!("shape mismatch on {name}: {shape:?} <> {:?}", var.shape());
            }
            return Ok(var.as_tensor().clone());
        }
        let values = initial_values(&shape, init, name_seed(self.seed, name));
        let tensor = Tensor::from_vec(values, shape, dev)?.to_dtype(dtype)?;
        let var = Var::from_tensor(&tensor)?;
        let out = var.as_tensor().clone();
        data.insert(name.to_owned(), var);
        Ok(out)
    }

    fn get_unchecked(&self, name: &str, _dtype: DType, _dev: &Device) -> Result<Tensor> {
        candle_core::bail!("a fresh network cannot look up {name} without its shape")
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.varmap
            .data()
            .lock()
            .is_ok_and(|data| data.contains_key(name))
    }
}

/// Values for a new tensor of `shape` under `init`, exactly the distributions of candle's
/// `Init::var` (which follows `torch.nn.init`).
fn initial_values(shape: &Shape, init: Init, seed: u64) -> Vec<f32> {
    let n = shape.elem_count();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    match init {
        Init::Const(value) => vec![value as f32; n],
        Init::Randn { mean, stdev } => normal(&mut rng, n, mean, stdev),
        Init::Uniform { lo, up } => uniform(&mut rng, n, lo, up),
        Init::Kaiming {
            dist,
            fan,
            non_linearity,
        } => {
            let std = non_linearity.gain() / (fan.for_shape(shape) as f64).sqrt();
            match dist {
                NormalOrUniform::Normal => normal(&mut rng, n, 0.0, std),
                NormalOrUniform::Uniform => {
                    let bound = 3f64.sqrt() * std;
                    uniform(&mut rng, n, -bound, bound)
                }
            }
        }
    }
}

fn normal(rng: &mut ChaCha8Rng, n: usize, mean: f64, std: f64) -> Vec<f32> {
    (0..n)
        .map(|_| (mean + std * rng.sample::<f64, _>(StandardNormal)) as f32)
        .collect()
}

fn uniform(rng: &mut ChaCha8Rng, n: usize, lo: f64, up: f64) -> Vec<f32> {
    (0..n)
        .map(|_| (lo + (up - lo) * rng.random::<f64>()) as f32)
        .collect()
}

/// A generator seed for the tensor called `name` (FNV-1a of the name, mixed with the run's seed).
fn name_seed(seed: u64, name: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut z = (seed ^ hash).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device};
    use candle_nn::VarMap;

    use super::{seeded_var_builder, sorted_params};
    use crate::model::config::UNetConfig;
    use crate::model::unet::DigitUNet;

    fn weights(seed: u64) -> candle_core::Result<Vec<(String, Vec<f32>)>> {
        let varmap = VarMap::new();
        DigitUNet::new(
            &UNetConfig::tiny(),
            seeded_var_builder(&varmap, seed, &Device::Cpu),
        )?;
        sorted_params(&varmap)?
            .into_iter()
            .map(|(name, var)| {
                Ok((
                    name,
                    var.as_tensor()
                        .flatten_all()?
                        .to_dtype(DType::F32)?
                        .to_vec1()?,
                ))
            })
            .collect()
    }

    #[test]
    fn same_seed_same_weights_with_the_usual_spreads() -> candle_core::Result<()> {
        let a = weights(1)?;
        assert_eq!(a, weights(1)?);
        assert_ne!(a, weights(2)?);
        for (name, values) in &a {
            if name.contains("norm") && name.ends_with(".weight") {
                assert!(values.iter().all(|&v| v == 1.0), "{name}");
            }
            if name == "conv_in.weight" {
                // Kaiming normal with gain √2 and fan-in 9: standard deviation √(2/9) ≈ 0.47.
                let var = values.iter().map(|v| v * v).sum::<f32>() / values.len() as f32;
                assert!((0.1..0.4).contains(&var), "{name}: variance {var}");
            }
        }
        Ok(())
    }
}
