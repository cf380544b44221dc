//! DPM-Solver++(2M) (Lu et al. 2022), step for step as diffusers' `DPMSolverMultistepScheduler`
//! does it with its defaults (`algorithm_type="dpmsolver++"`, `solver_order=2`,
//! `solver_type="midpoint"`, `lower_order_final=True`) — and, as a scheduler config may ask,
//! first- or third-order (`solver_order` 1 or 3), Heun's second-order rule, and σ's along a
//! Karras or exponential ramp ([`super::SigmaRamp`]).
//!
//! Measure time by the log signal-to-noise ratio λ = ln(a/s), which grows from very negative (pure
//! noise) to +∞ (the image). Written in λ, the probability-flow ODE for x = a·x0 + s·ε can be solved
//! exactly except for one integral of the model's x̂0; DPM-Solver++ approximates only that integral.
//! With h = λ' − λ, the first-order step (which is exactly DDIM) is
//!
//! > x' = (s'/s)·x + a'·(1 − e^(−h))·x̂0,
//!
//! and the second-order "multistep" one replaces x̂0 by D = x̂0 + (x̂0 − x̂0_prev)/(2r), with
//! r = h_prev/h: a straight line through the x̂0 of this step and of the previous one, read at the
//! middle of the step. It reuses the previous evaluation, so it costs one model call per step;
//! the third order fits a parabola through three.
//! The first step has no previous x̂0 and the last one (to the image, λ' = +∞, where the step returns
//! x̂0 itself) is first-order, as in diffusers. diffusers' options for the end of the run are
//! followed too: with `final_sigmas_type = "sigma_min"` the last step lands on the first training
//! timestep instead of the image, and is second-order unless `euler_at_final`, or
//! `lower_order_final` in a run of fewer than 15 steps, makes it first-order.
//!
//! The sample stays in the model's own scale (diffusers' DPM-Solver works there too). Its spacings
//! differ slightly from the other schedulers': "linspace" takes n + 1 rounded points of 0..T−1 and
//! drops the 0, and "leading" uses multiples of ⌊T/(n + 1)⌋ (moved by `steps_offset`). x̂0 is held
//! in range if asked (diffusers' `thresholding`: [`super::X0Limit::Dynamic`]).

use super::euler::log_sigmas;
use super::sigma_ramp::sigma_to_index;
use super::{
    DpmSolverType, FinalSigma, MIN_ALPHA_BAR, PathPoint, Position, Sampler, SamplerSpec, SigmaRamp,
    Spacing, Stage, X0Guard, guesses,
};
use crate::diffusion::objectives::{Coefficients, Prediction};
use crate::diffusion::{NoiseSchedule, ScheduleKind};

/// The timesteps (our convention, 1..=T) diffusers' DPM-Solver visits in a run of `steps` steps.
/// `steps` is clamped to 1..=T (1..=T − 1 for "linspace" and "leading", so that no two coincide).
pub fn dpm_timesteps(spacing: Spacing, train_steps: usize, steps: usize) -> Vec<usize> {
    let train_steps = train_steps.max(1);
    let n = match spacing {
        Spacing::Trailing => steps.clamp(1, train_steps),
        Spacing::Linspace | Spacing::Leading => steps.clamp(1, (train_steps - 1).max(1)),
    };
    match spacing {
        Spacing::Trailing => spacing.timesteps(train_steps, n),
        // np.linspace(0, T − 1, n + 1).round()[::-1][:-1]
        Spacing::Linspace => (1..=n)
            .rev()
            .map(|k| {
                let value = (train_steps - 1) as f64 * k as f64 / n as f64;
                value.round_ties_even() as usize + 1
            })
            .collect(),
        // (np.arange(0, n + 1) * (T // (n + 1)))[::-1][:-1]
        Spacing::Leading => {
            let ratio = (train_steps / (n + 1)).max(1);
            (1..=n).rev().map(|k| k * ratio + 1).collect()
        }
    }
}

/// ln(a/s), +∞ at the image.
fn log_snr(at: Coefficients) -> f64 {
    at.signal.ln() - at.noise.ln()
}

/// A DPM-Solver++(2M) run.
pub struct DpmSolver2M {
    /// Where the model is asked, in order.
    points: Vec<PathPoint>,
    /// Where the last step lands: the image, or the first training timestep's level.
    end: Coefficients,
    guard: X0Guard,
    /// The highest order (diffusers' `solver_order`, 1 to 3) and the second-order rule.
    order: usize,
    solver_type: DpmSolverType,
    /// Whether the last step is first-order.
    first_order_last: bool,
    /// Whether the second-to-last step is at most second-order (`lower_order_final` in a short
    /// run).
    second_order_second_last: bool,
    next: usize,
    /// λ and x̂0 of the previous evaluations, the latest first (at most two).
    history: Vec<(f64, Vec<f64>)>,
}

impl DpmSolver2M {
    /// A run of `spec.steps` steps over `schedule`, spread by `spec.spacing` (or along a σ ramp)
    /// as DPM-Solver does.
    pub fn new(schedule: &NoiseSchedule, spec: &SamplerSpec, guard: X0Guard) -> Self {
        let options = &spec.diffusers;
        let points = match ramp_points(schedule, spec) {
            Some(points) => points,
            None => spaced_timesteps(schedule, spec)
                .into_iter()
                .map(|t| discrete_point(schedule, t))
                .collect(),
        };
        let lands_on_image = options.final_sigma == FinalSigma::Zero;
        let short = points.len() < 15;
        let first_order_last =
            lands_on_image || options.euler_at_final || (options.lower_order_final && short);
        Self {
            order: usize::from(options.dpm_order.clamp(1, 3)),
            solver_type: options.dpm_solver_type,
            second_order_second_last: options.lower_order_final && short,
            end: if lands_on_image {
                Coefficients {
                    signal: 1.0,
                    noise: 0.0,
                }
            } else {
                discrete_point(schedule, 1).coefficients
            },
            points,
            guard,
            first_order_last,
            next: 0,
            history: Vec::new(),
        }
    }

    /// The order of step `step`, as diffusers picks it: no higher than the evaluations made so
    /// far allow, first-order last and at most second-order second-to-last where asked.
    fn order_of(&self, step: usize) -> usize {
        let len = self.points.len();
        let available = step.min(self.order);
        if self.order == 1 || available < 1 || (step + 1 == len && self.first_order_last) {
            1
        } else if self.order == 2
            || available < 2
            || (step + 2 == len && self.second_order_second_last)
        {
            2
        } else {
            3
        }
    }
}

/// The timesteps of `spec`'s spacing, "leading" ones moved by `steps_offset`.
fn spaced_timesteps(schedule: &NoiseSchedule, spec: &SamplerSpec) -> Vec<usize> {
    let mut timesteps = dpm_timesteps(spec.spacing, schedule.steps(), spec.steps);
    if spec.spacing == Spacing::Leading {
        for t in &mut timesteps {
            *t = (*t + spec.diffusers.steps_offset).min(schedule.steps());
        }
    }
    timesteps
}

/// The point at timestep t; under a zero-terminal-SNR schedule ᾱ_T is taken as 2⁻²⁴, as
/// diffusers does, so that λ stays finite at pure noise.
fn discrete_point(schedule: &NoiseSchedule, t: usize) -> PathPoint {
    let at_zero_snr_end = schedule.config().zero_terminal_snr && t == schedule.steps();
    if !at_zero_snr_end {
        return PathPoint::discrete(schedule, t);
    }
    PathPoint {
        coefficients: Coefficients {
            signal: MIN_ALPHA_BAR.sqrt(),
            noise: (1.0 - MIN_ALPHA_BAR).sqrt(),
        },
        network_input: t as f32,
        position: Position::Timestep(t as f64),
    }
}

/// The points of a Karras or exponential σ ramp over the whole schedule, if `spec` asks for one:
/// x at each σ, the network told the timestep σ falls at — rounded for Karras (cut for the cosine
/// schedule) and cut for the exponential ramp, as diffusers' integer timesteps are.
fn ramp_points(schedule: &NoiseSchedule, spec: &SamplerSpec) -> Option<Vec<PathPoint>> {
    let ramp = spec.diffusers.sigma_ramp;
    if ramp == SigmaRamp::Schedule {
        return None;
    }
    let log_sigmas = log_sigmas(schedule);
    let (&smallest, &largest) = (log_sigmas.first()?, log_sigmas.last()?);
    let sigmas = ramp.sigmas(largest.exp(), smallest.exp(), spec.steps.max(1))?;
    let rounds = ramp == SigmaRamp::Karras && schedule.config().kind != ScheduleKind::Cosine;
    Some(
        sigmas
            .into_iter()
            .map(|sigma| {
                let index = sigma_to_index(sigma, &log_sigmas);
                let t = if rounds { index.round() } else { index.trunc() } + 1.0;
                let signal = 1.0 / sigma.mul_add(sigma, 1.0).sqrt();
                PathPoint {
                    coefficients: Coefficients {
                        signal,
                        noise: sigma * signal,
                    },
                    network_input: t as f32,
                    position: Position::Timestep(t),
                }
            })
            .collect(),
    )
}

impl Sampler for DpmSolver2M {
    fn steps(&self) -> usize {
        self.points.len()
    }

    fn stage(&self) -> Option<Stage> {
        Some(Stage {
            step: self.next,
            point: *self.points.get(self.next)?,
            begins_step: true,
            needs_noise: false,
        })
    }

    fn advance(&mut self, x: &[f32], prediction: &Prediction, _noise: Option<&[f32]>) -> Vec<f32> {
        let here = self.points[self.next].coefficients;
        let there = self
            .points
            .get(self.next + 1)
            .map_or(self.end, |point| point.coefficients);
        self.next += 1;

        let (x0, _) = guesses(x, prediction, here, self.guard);
        let lambda = log_snr(here);
        let h = log_snr(there) - lambda;
        let order = self.order_of(self.next - 1);
        // e^(−h) − 1; e^(−h) = 0 at the image, where s' = 0 too and x' = x̂0.
        let em = (-h).exp_m1();
        let x_weight = there.noise / here.noise;
        let terms = self.slope_terms(order, lambda, h, &x0);
        let moved = (0..x.len())
            .map(|i| {
                let mut value = x_weight * f64::from(x[i]) - there.signal * em * x0[i];
                for (weight, slope) in &terms {
                    value += weight * there.signal * slope[i];
                }
                value as f32
            })
            .collect();
        self.history.insert(0, (lambda, x0));
        self.history.truncate(2);
        moved
    }
}

impl DpmSolver2M {
    /// The higher-order terms of a step of `order` from λ by h, each (weight / a', values):
    /// none for the first order; D1 for the second (midpoint: −(e^(−h) − 1)/2, Heun:
    /// (e^(−h) − 1)/h + 1); D1 and D2 for the third (diffusers' `multistep_dpm_solver_*_update`).
    fn slope_terms(&self, order: usize, lambda: f64, h: f64, x0: &[f64]) -> Vec<(f64, Vec<f64>)> {
        let em = (-h).exp_m1();
        let difference = |a: &[f64], b: &[f64], r: f64| -> Vec<f64> {
            a.iter().zip(b).map(|(a, b)| (a - b) / r).collect()
        };
        match (order, self.history.as_slice()) {
            (2, [(lambda_1, x0_1), ..]) => {
                let d1 = difference(x0, x0_1, (lambda - lambda_1) / h);
                let weight = match self.solver_type {
                    DpmSolverType::Midpoint => -0.5 * em,
                    DpmSolverType::Heun => em / h + 1.0,
                };
                vec![(weight, d1)]
            }
            (3, [(lambda_1, x0_1), (lambda_2, x0_2), ..]) => {
                let (r0, r1) = ((lambda - lambda_1) / h, (lambda_1 - lambda_2) / h);
                let d1_0 = difference(x0, x0_1, r0);
                let d1_1 = difference(x0_1, x0_2, r1);
                let d2 = difference(&d1_0, &d1_1, r0 + r1);
                let d1: Vec<f64> = d1_0
                    .iter()
                    .zip(&d2)
                    .map(|(d1_0, d2)| d1_0 + r0 * d2)
                    .collect();
                vec![(em / h + 1.0, d1), (-((em + h) / (h * h) - 0.5), d2)]
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spacings_match_diffusers() {
        // DPMSolverMultistepScheduler(timestep_spacing=...).set_timesteps(10).timesteps + 1
        assert_eq!(
            dpm_timesteps(Spacing::Linspace, 1000, 10),
            [1000, 900, 800, 700, 600, 501, 401, 301, 201, 101]
        );
        assert_eq!(
            dpm_timesteps(Spacing::Leading, 1000, 10),
            [901, 811, 721, 631, 541, 451, 361, 271, 181, 91]
        );
        assert_eq!(
            dpm_timesteps(Spacing::Trailing, 1000, 10),
            [1000, 900, 800, 700, 600, 500, 400, 300, 200, 100]
        );
    }
}
