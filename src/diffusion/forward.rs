//! The forward process q: the closed-form jump x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε and the step-by-step
//! Markov chain x_t = √α_t·x_{t−1} + √β_t·z_t. Both act on flat slices of any shape.

use serde::{Deserialize, Serialize};

use super::NoiseSchedule;
use super::noise::{NoiseStream, fill_standard_normal};

/// How x_t is reached from x0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Noising {
    /// Straight to t in closed form, with one noise draw ε shared by every t.
    #[default]
    Jump,
    /// Through the Markov chain, one fresh noise draw per step.
    Chain,
}

impl Noising {
    /// Both ways, in menu order.
    pub const ALL: [Self; 2] = [Self::Jump, Self::Chain];

    /// The name used on the command line.
    pub fn cli_name(self) -> &'static str {
        match self {
            Self::Jump => "jump",
            Self::Chain => "chain",
        }
    }
}

/// Writes x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε into `out` (all three slices have the same length).
///
/// This is diffusers' `add_noise`, up to the timestep convention (our `t` is its index plus one).
pub fn jump_to(schedule: &NoiseSchedule, t: usize, x0: &[f32], eps: &[f32], out: &mut [f32]) {
    let signal = schedule.signal_scale(t) as f32;
    let noise = schedule.noise_scale(t) as f32;
    for ((o, &x), &e) in out.iter_mut().zip(x0).zip(eps) {
        *o = signal * x + noise * e;
    }
}

/// One step of the chain: x_t = √α_t·x_{t−1} + √β_t·z_t, in place (`x` holds x_{t−1} on entry).
pub fn chain_step(schedule: &NoiseSchedule, t: usize, x: &mut [f32], z: &[f32]) {
    let keep = schedule.alpha(t).sqrt() as f32;
    let add = schedule.beta(t).sqrt() as f32;
    for (value, &noise) in x.iter_mut().zip(z) {
        *value = keep * *value + add * noise;
    }
}

/// Walks the chain from x0, calling `visit(t, x_t)` for t = 0, 1, …, T in order, with a fresh noise
/// draw per step (stream `ChainStep(t)` under `seed`, so any walk can be repeated exactly).
/// Stops early, returning `false`, when `visit` returns `false`.
pub fn walk_chain(
    schedule: &NoiseSchedule,
    x0: &[f32],
    seed: u64,
    mut visit: impl FnMut(usize, &[f32]) -> bool,
) -> bool {
    let mut x = x0.to_vec();
    let mut z = vec![0.0; x0.len()];
    if !visit(0, &x) {
        return false;
    }
    for t in 1..=schedule.steps() {
        fill_standard_normal(&mut z, seed, NoiseStream::ChainStep(t));
        chain_step(schedule, t, &mut x, &z);
        if !visit(t, &x) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diffusion::{ScheduleConfig, ScheduleKind};

    #[test]
    fn jump_at_zero_is_x0_and_at_t_mixes() {
        let schedule = NoiseSchedule::new(ScheduleConfig::new(ScheduleKind::Linear, 1000));
        let x0 = [0.5_f32, -0.25];
        let eps = [1.0_f32, 2.0];
        let mut out = [0.0; 2];
        jump_to(&schedule, 0, &x0, &eps, &mut out);
        assert_eq!(out, x0);
        jump_to(&schedule, 500, &x0, &eps, &mut out);
        let (a, b) = (schedule.signal_scale(500), schedule.noise_scale(500));
        assert!((f64::from(out[0]) - (a * 0.5 + b)).abs() < 1e-6);
    }

    #[test]
    fn walk_visits_every_step_and_can_stop() {
        let schedule = NoiseSchedule::new(ScheduleConfig::new(ScheduleKind::Cosine, 20));
        let mut seen = Vec::new();
        assert!(walk_chain(&schedule, &[0.0; 4], 3, |t, _| {
            seen.push(t);
            true
        }));
        assert_eq!(seen, (0..=20).collect::<Vec<_>>());
        let mut count = 0;
        assert!(!walk_chain(&schedule, &[0.0; 4], 3, |_, _| {
            count += 1;
            count < 5
        }));
        assert_eq!(count, 5);
    }
}
