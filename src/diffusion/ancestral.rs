//! The two simplest ways to walk back from noise to an image, one step at a time.
//!
//! - **DDPM ancestral sampling** (Ho et al. 2020) for ε- and v-models: from x_t, the model's guess x̂0
//!   defines a Gaussian q(x_{t'} | x_t, x̂0) over the earlier image x_{t'}; draw from it.
//! - **Euler** for flow-matching models: follow the predicted velocity u in a straight line,
//!   x ← x + (σ_next − σ)·u, from σ = 1 (pure noise) to σ = 0.
//!
//! Each step is a small function of numbers; the samplers in [`super::samplers`] use them, and the
//! loop that calls the network lives in `crate::sample`.
//! Timesteps use the program's convention: t ∈ 0..=T, and t = 0 is the clean image.

use super::NoiseSchedule;

/// The posterior q(x_{t'} | x_t, x0) = N(c_x0·x0 + c_xt·x_t, std²), for an earlier timestep t' < t.
///
/// Write ᾱ' = ᾱ_{t'} and let β = 1 − ᾱ_t/ᾱ' be the noise variance added between t' and t (β_t itself
/// when t' = t − 1). Then (Ho et al. 2020, eq. 7)
///
/// - c_x0 = √ᾱ'·β / (1 − ᾱ_t),
/// - c_xt = √(1−β)·(1 − ᾱ') / (1 − ᾱ_t),
/// - std² = β̃ = (1 − ᾱ')/(1 − ᾱ_t)·β, the "fixed_small" variance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Posterior {
    /// c_x0, the weight of the model's guess x̂0 in the mean.
    pub x0_weight: f64,
    /// c_xt, the weight of the current image x_t in the mean.
    pub xt_weight: f64,
    /// √β̃, the standard deviation of the fresh noise.
    pub std: f64,
}

impl Posterior {
    /// The posterior for the step from `t` to `t_prev` (0 ≤ t_prev < t ≤ T) of `schedule`.
    pub fn new(schedule: &NoiseSchedule, t: usize, t_prev: usize) -> Self {
        let alpha_bar = schedule.alpha_bar(t);
        let alpha_bar_prev = schedule.alpha_bar(t_prev);
        let beta = 1.0 - alpha_bar / alpha_bar_prev;
        Self {
            x0_weight: alpha_bar_prev.sqrt() * beta / (1.0 - alpha_bar),
            xt_weight: (1.0 - beta).sqrt() * (1.0 - alpha_bar_prev) / (1.0 - alpha_bar),
            std: ((1.0 - alpha_bar_prev) / (1.0 - alpha_bar) * beta).sqrt(),
        }
    }

    /// One draw from the posterior: x_{t'} = c_x0·x̂0 + c_xt·x_t + `std`·z, where `x0_hat` is the
    /// model's guess of x0 at t and `z` fresh N(0, 1) noise (none: the mean). `std` is the
    /// sampler's choice ([`Self::std`] for DDPM's fixed-small variance).
    pub fn sample(&self, std: f64, x_t: &[f32], x0_hat: &[f32], z: Option<&[f32]>) -> Vec<f32> {
        assert_eq!(x_t.len(), x0_hat.len(), "lengths differ");
        assert!(z.is_none_or(|z| z.len() == x_t.len()), "lengths differ");
        x_t.iter()
            .zip(x0_hat)
            .enumerate()
            .map(|(i, (&x, &x0))| {
                let mean = self.x0_weight * f64::from(x0) + self.xt_weight * f64::from(x);
                let noise = z.map_or(0.0, |z| std * f64::from(z[i]));
                (mean + noise) as f32
            })
            .collect()
    }
}

/// The noise levels of a flow-matching Euler run: σ_k = 1 − k/steps for k = 0..=steps, so 1 … 0
/// (`steps + 1` values; `steps` is at least 1).
pub fn flow_sigmas(steps: usize) -> Vec<f64> {
    let steps = steps.max(1);
    (0..=steps).map(|k| 1.0 - k as f64 / steps as f64).collect()
}

/// One Euler step along the predicted velocity u: x_{σ_next} = x_σ + (σ_next − σ)·u.
///
/// σ decreases, so this moves against u = ε − x0: away from the noise, towards the image.
pub fn euler_step(x: &[f32], velocity: &[f32], sigma: f64, sigma_next: f64) -> Vec<f32> {
    assert_eq!(x.len(), velocity.len(), "lengths differ");
    let dt = sigma_next - sigma;
    x.iter()
        .zip(velocity)
        .map(|(&x, &u)| (f64::from(x) + dt * f64::from(u)) as f32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diffusion::{ScheduleConfig, ScheduleKind};

    #[test]
    fn a_single_step_posterior_is_the_textbook_one() {
        let schedule = NoiseSchedule::new(ScheduleConfig::new(ScheduleKind::Linear, 1000));
        let t = 500;
        let p = Posterior::new(&schedule, t, t - 1);
        let (beta, alpha_bar, alpha_bar_prev) = (
            schedule.beta(t),
            schedule.alpha_bar(t),
            schedule.alpha_bar(t - 1),
        );
        assert!((p.x0_weight - alpha_bar_prev.sqrt() * beta / (1.0 - alpha_bar)).abs() < 1e-12);
        let xt = schedule.alpha(t).sqrt() * (1.0 - alpha_bar_prev) / (1.0 - alpha_bar);
        assert!((p.xt_weight - xt).abs() < 1e-12);
        let variance = (1.0 - alpha_bar_prev) / (1.0 - alpha_bar) * beta;
        assert!((p.std.powi(2) - variance).abs() < 1e-12);
        // The last step puts all weight on x̂0.
        let last = Posterior::new(&schedule, 1, 0);
        assert!((last.x0_weight - 1.0).abs() < 1e-12 && last.xt_weight.abs() < 1e-12);
    }

    #[test]
    fn euler_follows_a_straight_path_exactly() {
        // With the true velocity u = ε − x0, Euler lands on x0 in any number of steps.
        let x0 = [0.5_f32, -0.25];
        let eps = [1.0_f32, -2.0];
        let u: Vec<f32> = eps.iter().zip(&x0).map(|(e, x)| e - x).collect();
        let sigmas = flow_sigmas(4);
        assert_eq!(sigmas, [1.0, 0.75, 0.5, 0.25, 0.0]);
        let mut x = eps.to_vec();
        for pair in sigmas.windows(2) {
            x = euler_step(&x, &u, pair[0], pair[1]);
        }
        assert!(x.iter().zip(&x0).all(|(a, b)| (a - b).abs() < 1e-6));
    }
}
