//! The sampling loop against fake networks (no model files, no GPU): it is deterministic, combines
//! guidance as promised in one batched call, recovers a known image when the network is an oracle,
//! stops on NaN naming the step, and tiles grids of the right size.
use std::cell::RefCell;
use std::ops::ControlFlow;

use diffuscope::diffusion::objectives::{Coefficients, Objective};
use diffuscope::diffusion::samplers::{PathPoint, SamplerKind, SamplerSpec};
use diffuscope::diffusion::{NoiseSchedule, ScheduleConfig, ScheduleKind};
use diffuscope::i18n::Lang;
use diffuscope::sample::grid::{GAP_PX, tile, tiled_size};
use diffuscope::sample::guidance::{combine, guided_output};
use diffuscope::sample::{
    Denoiser, GridSpec, ImageShape, NULL_CLASS, SampleError, SampleSettings, StepFrame, sample,
    starting_noise,
};

const SIDE: usize = 6;
const PIXELS: usize = SIDE * SIDE;

/// What a fake network was asked.
#[derive(Debug)]
struct Call {
    batch: usize,
    times: Vec<f32>,
    classes: Vec<u32>,
}

/// A network whose answer is a fixed, class-dependent function of its input; it records every call.
#[derive(Default)]
struct Scripted {
    /// Every call, in order.
    calls: RefCell<Vec<Call>>,
    /// Answer NaN on this call (0-based), if any.
    nan_on_call: Option<usize>,
}

impl Denoiser for Scripted {
    fn image_shape(&self) -> ImageShape {
        ImageShape::grey(SIDE, SIDE)
    }

    fn predict(
        &self,
        x_t: &[f32],
        batch: usize,
        timestep_input: &[f32],
        classes: &[u32],
    ) -> Result<Vec<f32>, SampleError> {
        let mut calls = self.calls.borrow_mut();
        let call = calls.len();
        calls.push(Call {
            batch,
            times: timestep_input.to_vec(),
            classes: classes.to_vec(),
        });
        assert_eq!(x_t.len(), batch * PIXELS);
        assert_eq!(timestep_input.len(), batch);
        assert_eq!(classes.len(), batch);
        Ok(x_t
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                if self.nan_on_call == Some(call) {
                    f32::NAN
                } else {
                    0.5 * x + 0.1 * classes[i / PIXELS] as f32 - 0.3
                }
            })
            .collect())
    }
}

/// A perfect network: it knows the clean image and answers with the exact ε, v or velocity.
struct Oracle {
    objective: Objective,
    schedule: NoiseSchedule,
    x0: Vec<f32>,
}

impl Denoiser for Oracle {
    fn image_shape(&self) -> ImageShape {
        ImageShape::grey(SIDE, SIDE)
    }

    fn predict(
        &self,
        x_t: &[f32],
        batch: usize,
        timestep_input: &[f32],
        _classes: &[u32],
    ) -> Result<Vec<f32>, SampleError> {
        let mut out = Vec::with_capacity(x_t.len());
        for (image, &time) in x_t.chunks(PIXELS).zip(timestep_input).take(batch) {
            let at = match self.objective {
                Objective::Flow => Coefficients::flow(f64::from(time) / 1000.0),
                Objective::Eps | Objective::V | Objective::X0 => {
                    Coefficients::discrete(&self.schedule, time as usize)
                }
            };
            // The ε that makes x_t from x0 at this noise level.
            let eps: Vec<f32> = image
                .iter()
                .zip(&self.x0)
                .map(|(&x, &x0)| ((f64::from(x) - at.signal * f64::from(x0)) / at.noise) as f32)
                .collect();
            out.extend(self.objective.training_target(&self.x0, &eps, at));
        }
        Ok(out)
    }
}

fn settings(objective: Objective, steps: usize, labels: Vec<Option<u32>>) -> SampleSettings {
    SampleSettings {
        objective,
        schedule: NoiseSchedule::new(ScheduleConfig::new(ScheduleKind::Linear, 1000)),
        sampler: SamplerSpec {
            clip_x0: false,
            ..SamplerSpec::new(SamplerKind::default_for(objective), steps)
        },
        seed: 7,
        labels,
        guidance: 3.0,
    }
}

fn run(denoiser: &dyn Denoiser, settings: &SampleSettings) -> Result<Vec<f32>, SampleError> {
    sample(denoiser, settings, &mut |_| ControlFlow::Continue(()))
}

#[test]
fn same_seed_same_samples_other_seed_other_samples() {
    for objective in Objective::ALL {
        let mut s = settings(objective, 20, vec![Some(3), None]);
        let a = run(&Scripted::default(), &s).unwrap();
        let b = run(&Scripted::default(), &s).unwrap();
        assert_eq!(a, b, "{objective}");
        assert_eq!(a.len(), 2 * PIXELS);
        if objective != Objective::Flow {
            // Euler is deterministic after the start; DDPM also draws noise at every step.
            s.seed = 8;
            assert_ne!(run(&Scripted::default(), &s).unwrap(), a, "{objective}");
        }
    }
    // A flow run differs with the starting noise.
    let mut s = settings(Objective::Flow, 5, vec![None]);
    let a = run(&Scripted::default(), &s).unwrap();
    s.seed = 8;
    assert_ne!(run(&Scripted::default(), &s).unwrap(), a);
}

#[test]
fn sample_k_of_a_seed_is_the_same_picture_whatever_the_batch_size() {
    // Every objective's usual sampler; DDPM also draws fresh noise at every step. Guided, with a
    // different digit for each sample, so that a sample's class matters too.
    for objective in Objective::ALL {
        let labels: Vec<Option<u32>> = (0..16).map(|k| Some(k % 10)).collect();
        let batches: Vec<Vec<f32>> = [1, 4, 16]
            .into_iter()
            .map(|batch| {
                let s = settings(objective, 10, labels[..batch].to_vec());
                run(&Scripted::default(), &s).unwrap()
            })
            .collect();
        assert_eq!(batches[0][..], batches[1][..PIXELS], "{objective}: 1 and 4");
        assert_eq!(
            batches[0][..],
            batches[2][..PIXELS],
            "{objective}: 1 and 16"
        );
        assert_eq!(
            batches[1][..],
            batches[2][..4 * PIXELS],
            "{objective}: 4 and 16"
        );
        // And the samples are not copies of one another.
        assert_ne!(
            batches[2][..PIXELS],
            batches[2][PIXELS..2 * PIXELS],
            "{objective}"
        );
    }
}

#[test]
fn every_frame_of_sample_k_is_the_same_whatever_the_batch_size() {
    // x_t at every step, not only the end: each sample's fresh noise is its own too.
    let frames_of = |batch: usize| {
        let s = settings(Objective::Eps, 8, vec![None; batch]);
        let mut frames = Vec::new();
        sample(&Scripted::default(), &s, &mut |frame: &StepFrame<'_>| {
            frames.push(frame.x_t[PIXELS..2 * PIXELS].to_vec());
            ControlFlow::Continue(())
        })
        .unwrap();
        frames
    };
    assert_eq!(frames_of(2), frames_of(16));
}

#[test]
fn samples_do_not_depend_on_the_number_of_threads() {
    let on_threads = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let s = settings(Objective::Eps, 10, vec![Some(1); 16]);
            run(&Scripted::default(), &s).unwrap()
        })
    };
    assert_eq!(on_threads(1), on_threads(4));
}

#[test]
fn the_starting_noise_depends_on_the_seed_and_the_place_only() {
    let big = starting_noise(64, 28 * 28, 5);
    for batch in [1, 4, 16] {
        assert_eq!(
            starting_noise(batch, 28 * 28, 5)[..],
            big[..batch * 28 * 28]
        );
    }
    assert_ne!(starting_noise(1, 28 * 28, 6)[..], big[..28 * 28]);
    // Sample 1 of seed 5 is not sample 0 of seed 6 (seeds are not offsets).
    assert_ne!(starting_noise(1, 28 * 28, 6)[..], big[28 * 28..2 * 28 * 28]);
}

#[test]
fn guidance_zero_is_unconditional_and_one_is_conditional() {
    let x: Vec<f32> = (0..2 * PIXELS).map(|i| i as f32 / 50.0 - 1.0).collect();
    let labels = [Some(4), Some(9)];
    let net = Scripted::default();
    let cond = net.predict(&x, 2, &[500.0; 2], &[4, 9]).unwrap();
    let uncond = net.predict(&x, 2, &[500.0; 2], &[NULL_CLASS; 2]).unwrap();
    assert_ne!(cond, uncond);

    let net = Scripted::default();
    assert_eq!(
        guided_output(&net, &x, 500.0, &labels, 0.0)
            .unwrap()
            .combined,
        uncond
    );
    let plain = guided_output(&net, &x, 500.0, &labels, 1.0).unwrap();
    assert_eq!((plain.combined, plain.halves), (cond.clone(), None));
    // w = 0 and w = 1 each need only one half: two calls of batch 2.
    assert!(net.calls.borrow().iter().all(|call| call.batch == 2));

    // Any other w: ONE call of 2B, conditional half first, then "no class".
    let net = Scripted::default();
    let guided = guided_output(&net, &x, 500.0, &labels, 3.0).unwrap();
    let calls = net.calls.borrow();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].batch, 4);
    assert_eq!(calls[0].times, [500.0; 4]);
    assert_eq!(calls[0].classes, [4, 9, NULL_CLASS, NULL_CLASS]);
    assert_eq!(guided.combined, combine(&uncond, &cond, 3.0));
    let halves = guided.halves.as_ref().unwrap();
    assert_eq!(
        (&halves.conditional, &halves.unconditional),
        (&cond, &uncond)
    );
    for ((g, u), c) in guided.combined.iter().zip(&uncond).zip(&cond) {
        assert!((g - (u + 3.0 * (c - u))).abs() < 1e-6);
    }
}

#[test]
fn unconditional_runs_make_one_call_per_step() {
    let net = Scripted::default();
    let s = settings(Objective::V, 12, vec![None; 3]);
    run(&net, &s).unwrap();
    let calls = net.calls.borrow();
    assert_eq!(calls.len(), 12);
    assert!(
        calls
            .iter()
            .all(|call| call.batch == 3 && call.classes == [NULL_CLASS; 3])
    );
    // The time input is t itself, from T down.
    assert_eq!(calls[0].times, [1000.0; 3]);
    assert!(calls.windows(2).all(|w| w[0].times[0] > w[1].times[0]));
}

#[test]
fn a_perfect_network_leads_every_sampler_back_to_the_image() {
    let x0: Vec<f32> = (0..PIXELS)
        .map(|i| (i as f32 * 0.37).sin().clamp(-0.9, 0.9))
        .collect();
    for (objective, steps) in [
        (Objective::Eps, 1000),
        (Objective::Eps, 25),
        (Objective::V, 1000),
        (Objective::V, 25),
        (Objective::Flow, 10),
    ] {
        let s = settings(objective, steps, vec![None]);
        let oracle = Oracle {
            objective,
            schedule: s.schedule.clone(),
            x0: x0.clone(),
        };
        let mut guesses = Vec::new();
        let out = sample(&oracle, &s, &mut |frame: &StepFrame<'_>| {
            guesses.push(frame.prediction.x0.clone());
            ControlFlow::Continue(())
        })
        .unwrap();
        let error = out
            .iter()
            .zip(&x0)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(
            error < 1e-3,
            "{objective} with {steps} steps: off by {error}"
        );
        // Its guess x̂0 is right from the start (up to rounding, which 1/√ᾱ_T magnifies for ε).
        let first = guesses[0]
            .iter()
            .zip(&x0)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(first < 1e-2, "{objective}: first guess off by {first}");
    }
}

#[test]
fn every_step_is_reported_in_order() {
    let s = settings(Objective::Eps, 4, vec![Some(2)]);
    let mut seen = Vec::new();
    sample(&Scripted::default(), &s, &mut |frame: &StepFrame<'_>| {
        assert_eq!(frame.x_t.len(), PIXELS);
        assert_eq!(frame.prediction.x0.len(), PIXELS);
        seen.push((frame.step, frame.steps, frame.point));
        ControlFlow::Continue(())
    })
    .unwrap();
    let expected: Vec<_> = [1000, 750, 500, 250]
        .into_iter()
        .enumerate()
        .map(|(step, t)| (step, 4, PathPoint::discrete(&s.schedule, t)))
        .collect();
    assert_eq!(seen, expected);
}

#[test]
fn nan_stops_the_run_and_names_the_step() {
    let net = Scripted {
        nan_on_call: Some(2),
        ..Scripted::default()
    };
    let s = settings(Objective::Eps, 10, vec![None]);
    let mut reported = 0;
    let error = sample(&net, &s, &mut |_| {
        reported += 1;
        ControlFlow::Continue(())
    })
    .unwrap_err();
    assert_eq!(reported, 2, "steps 0 and 1 ran");
    match &error {
        SampleError::NotFinite { step, steps, point } => {
            assert_eq!((*step, *steps), (2, 10));
            assert_eq!(*point, PathPoint::discrete(&s.schedule, 800));
        }
        other => panic!("expected NotFinite, got {other:?}"),
    }
    // Sentences count steps from 1, as the captions do: index 2 is the third step.
    let sentence = error.sentence(Lang::En);
    assert!(
        sentence.contains("step 3 of 10") && sentence.contains("t = 800"),
        "{sentence}"
    );
    assert!(error.sentence(Lang::Zh).contains("第 3 步"));
    assert!(error.to_string().contains("step 3 of 10"), "{error}");
}

#[test]
fn breaking_from_the_callback_cancels() {
    let s = settings(Objective::Flow, 10, vec![None]);
    let error = sample(&Scripted::default(), &s, &mut |frame| {
        if frame.step == 3 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .unwrap_err();
    assert!(
        matches!(error, SampleError::Cancelled { step: 3 }),
        "{error:?}"
    );
}

#[test]
fn grids_parse_and_tile_to_the_right_size() {
    let grid: GridSpec = "4x4".parse().unwrap();
    assert_eq!((grid.columns, grid.rows, grid.count()), (4, 4, 16));
    assert_eq!("8X2".parse::<GridSpec>().unwrap().count(), 16);
    for bad in ["4", "0x3", "4x", "x4", "17x1", "4x4x4", "-1x2"] {
        assert!(bad.parse::<GridSpec>().is_err(), "{bad}");
    }

    // Three columns, two rows of 28×28 digits, 2-px gaps, doubled.
    let grid = GridSpec {
        columns: 3,
        rows: 2,
    };
    let images: Vec<f32> = (0..6)
        .flat_map(|i| vec![if i == 4 { 1.0 } else { -1.0 }; 28 * 28])
        .collect();
    let picture = tile(&images, ImageShape::grey(28, 28), grid, 2);
    let width = (3 * 28 + 2 * GAP_PX) * 2;
    let height = (2 * 28 + GAP_PX) * 2;
    assert_eq!((picture.width(), picture.height()), (width, height));
    assert_eq!(
        tiled_size(grid, ImageShape::grey(28, 28), 2),
        (width, height)
    );
    // Image 4 (row 1, column 1) is white, the others black, the gaps grey.
    assert_eq!(picture.get_pixel(0, 0).0, [0, 0, 0]);
    let (x4, y4) = ((28 + GAP_PX) * 2, (28 + GAP_PX) * 2);
    assert_eq!(picture.get_pixel(x4, y4).0, [255; 3]);
    assert_eq!(picture.get_pixel(x4 + 55, y4 + 55).0, [255; 3]);
    assert_eq!(picture.get_pixel(x4 + 56, y4).0, [128; 3]);
    assert_eq!(picture.get_pixel(28 * 2, 0).0, [128; 3]);
}

/// The worker sizes its joined calls without making them: the count agrees with the call made.
#[test]
fn a_calls_image_count_is_known_without_making_it() {
    use diffuscope::sample::guidance::GuidedCall;
    let x = vec![0.5; 3 * 4];
    for labels in [vec![None; 3], vec![Some(1), None, Some(2)]] {
        for scale in [0.0, 1.0, 3.0] {
            let made = GuidedCall::new(&x, 10.0, &labels, scale);
            assert_eq!(GuidedCall::images(&labels, scale), made.batch);
            assert_eq!(made.x.len(), made.batch * 4);
        }
    }
}
