//! Invariants of every schedule and of the forward chain, checked on random configurations (proptest).

use diffuscope::diffusion::forward::walk_chain;
use diffuscope::diffusion::{NoiseSchedule, ScheduleConfig, ScheduleKind};
use proptest::prelude::*;

fn any_config() -> impl Strategy<Value = ScheduleConfig> {
    (
        prop::sample::select(ScheduleKind::ALL.to_vec()),
        ScheduleConfig::STEPS_RANGE,
        any::<bool>(),
    )
        .prop_map(|(kind, steps, zero_terminal_snr)| ScheduleConfig {
            zero_terminal_snr,
            ..ScheduleConfig::new(kind, steps)
        })
}

proptest! {
    #[test]
    fn alpha_bar_decreases_and_stays_in_range(config in any_config()) {
        let schedule = NoiseSchedule::new(config);
        let steps = schedule.steps();
        prop_assert_eq!(schedule.alpha_bar(0), 1.0);
        for t in 1..=steps {
            let (previous, now) = (schedule.alpha_bar(t - 1), schedule.alpha_bar(t));
            prop_assert!(now < previous, "ᾱ not decreasing at t = {}", t);
            prop_assert!(now <= 1.0);
            if t < steps || !config.zero_terminal_snr {
                prop_assert!(now > 0.0, "ᾱ_{} = {} is not positive", t, now);
            }
            // With zero terminal SNR the last step removes what is left: β_T = 1.
            let beta_max = if t == steps && config.zero_terminal_snr { 1.0 + 1e-12 } else { 1.0 };
            prop_assert!(schedule.beta(t) > 0.0 && schedule.beta(t) < beta_max);
            let total = schedule.signal_scale(t).powi(2) + schedule.noise_scale(t).powi(2);
            prop_assert!((total - 1.0).abs() < 1e-12, "variance not preserved at t = {}", t);
        }
        if config.zero_terminal_snr {
            prop_assert!(schedule.alpha_bar(steps).abs() < 1e-12);
        }
    }

    #[test]
    fn log_snr_decreases(config in any_config()) {
        let schedule = NoiseSchedule::new(config);
        for t in 2..schedule.steps() {
            prop_assert!(schedule.log_snr(t) < schedule.log_snr(t - 1));
        }
    }
}

/// The step-by-step chain reaches the same distribution as the closed-form jump: for x0 = c (a constant
/// image), x_t has mean √ᾱ_t·c and variance 1 − ᾱ_t. With n = 40,000 values the standard error of
/// the variance is about √(2/n)·σ² ≈ 0.7 % of it, so 5 % is a loose bound that still catches a wrong
/// formula (a missing square root changes the variance by far more).
#[test]
fn chain_variance_matches_alpha_bar() {
    let n = 40_000;
    let c = 0.6_f32;
    for kind in ScheduleKind::ALL {
        let schedule = NoiseSchedule::new(ScheduleConfig::new(kind, 200));
        let x0 = vec![c; n];
        walk_chain(&schedule, &x0, 11, |t, x_t| {
            if t % 50 == 0 && t > 0 {
                let mean = x_t.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64;
                let var = x_t
                    .iter()
                    .map(|&v| (f64::from(v) - mean).powi(2))
                    .sum::<f64>()
                    / n as f64;
                let want_mean = schedule.signal_scale(t) * f64::from(c);
                let want_var = 1.0 - schedule.alpha_bar(t);
                assert!(
                    (mean - want_mean).abs() < 0.02,
                    "{kind:?} t={t}: mean {mean} vs {want_mean}"
                );
                assert!(
                    (var / want_var - 1.0).abs() < 0.05,
                    "{kind:?} t={t}: var {var} vs {want_var}"
                );
            }
            true
        });
    }
}
