//! Training a playground model on a thread of its own while the window watches: the thread takes
//! training steps until told to stop, and every few hundred milliseconds samples the current model
//! (the paths of a set of points from fixed noise) and publishes what the window draws. Stopping
//! keeps the model: its last snapshot stays for the window to sample and scrub.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::toy::measure::{ModeCoverage, mmd_squared, mode_coverage, sliced_wasserstein};
use crate::toy::{Point, ToyModel, ToySampler};

/// The fewest milliseconds between two published snapshots.
const PUBLISH_EVERY: Duration = Duration::from_millis(300);
/// The most losses kept: past this, every other one is dropped (the curve keeps its shape).
const MAX_LOSSES: usize = 20_000;

/// What the training thread has published for the window.
#[derive(Clone, Default)]
pub struct Published {
    /// Losses, one per kept step (see `loss_stride`).
    pub losses: Vec<f32>,
    /// Training steps a kept loss stands for (doubles each time the list is thinned).
    pub loss_stride: usize,
    /// Losses received, kept or not.
    losses_seen: usize,
    /// Training steps taken.
    pub steps: usize,
    /// Seconds spent training.
    pub seconds: f64,
    /// The network at the last snapshot, as a diffusion sampler (diffusion models only).
    pub model: Option<ToySampler>,
    /// How close the last snapshot's samples are to the data.
    pub figures: Option<Figures>,
    /// For an ε- or v-model, the first [`ANCESTRAL_POINTS`] points' paths under DDPM from the same
    /// noise (the deterministic sampler's are `paths`).
    pub ancestral: Option<Vec<Vec<Point>>>,
    /// A GAN's discriminator on the [`REALNESS_SIDE`]² grid over the plane (row by row from the
    /// bottom), at the last snapshot.
    pub realness: Option<Vec<f32>>,
    /// Every step of the sampled points' paths at the last snapshot (x_T first, samples last).
    pub paths: Vec<Vec<Point>>,
    /// Counts snapshots, so the window knows when to redraw what depends on the model.
    pub revision: u64,
    /// Why training stopped early (English, Chinese).
    pub failed: Option<(String, String)>,
    /// Whether the thread is still training.
    pub running: bool,
}

impl Published {
    /// What a training run has published before its first snapshot: nothing, but running.
    pub fn starting() -> Self {
        Self {
            running: true,
            loss_stride: 1,
            ..Self::default()
        }
    }
}

/// Points whose DDPM paths are published beside the deterministic ones.
pub const ANCESTRAL_POINTS: usize = 24;

/// Cells per side of the grid a GAN's discriminator is asked about.
pub const REALNESS_SIDE: usize = 40;
/// The half-width of the plane the grid covers.
pub const PLANE_EXTENT: f32 = 4.0;

/// How close a snapshot's samples are to the data, and what they cost.
#[derive(Clone, Debug, PartialEq)]
pub struct Figures {
    /// Sliced Wasserstein distance to the data.
    pub sliced_wasserstein: f64,
    /// MMD² to the data (Gaussian kernel of width 0.5, 1000 points of each).
    pub mmd: f64,
    /// The share of samples at each mode, for data with separate modes.
    pub coverage: Option<ModeCoverage>,
    /// Network calls per sample.
    pub calls: usize,
    /// Weights of the model's networks.
    pub weights: usize,
}

/// What a snapshot is measured against.
#[derive(Clone, Debug, Default)]
pub struct Target {
    /// The data.
    pub data: Vec<Point>,
    /// The data's modes, where it has separate ones.
    pub modes: Vec<Point>,
}

/// How the window samples each snapshot.
#[derive(Clone, Copy, Debug)]
pub struct Preview {
    /// Points sampled.
    pub samples: usize,
    /// Sampler steps.
    pub steps: usize,
    /// Seed of the starting noise (fixed, so the class sees the same points sharpen).
    pub seed: u64,
}

/// A training run going on (or stopped, its last snapshot kept).
pub struct LiveTraining {
    shared: Arc<Mutex<Published>>,
    stop: Arc<AtomicBool>,
}

impl LiveTraining {
    /// Starts training `model` on a thread of its own; each snapshot is measured against
    /// `target`, and `wake` is called after it.
    pub fn start(
        model: Box<dyn ToyModel>,
        target: Target,
        preview: Preview,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Mutex::new(Published::starting()));
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_shared, thread_stop) = (Arc::clone(&shared), Arc::clone(&stop));
        std::thread::Builder::new()
            .name("playground-training".into())
            .spawn(move || {
                let work = Work {
                    target: &target,
                    preview,
                    shared: &thread_shared,
                };
                let failed = train(model, &work, &thread_stop, &*wake).err();
                let mut published = lock(&thread_shared);
                published.running = false;
                published.failed = failed;
                drop(published);
                wake();
            })?;
        Ok(Self { shared, stop })
    }

    /// Asks the thread to stop after its current step (the model is kept).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// A copy of what the thread has published, if it differs from `shown` (a new snapshot, or
    /// the run has ended): a frame with no news copies nothing.
    pub fn news(&self, shown: &Published) -> Option<Published> {
        let published = lock(&self.shared);
        let same = published.revision == shown.revision && published.running == shown.running;
        (!same).then(|| published.clone())
    }
}

impl Drop for LiveTraining {
    fn drop(&mut self) {
        self.stop();
    }
}

fn lock(shared: &Mutex<Published>) -> std::sync::MutexGuard<'_, Published> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the training thread works towards and where it publishes.
struct Work<'a> {
    target: &'a Target,
    preview: Preview,
    shared: &'a Mutex<Published>,
}

/// The thread's loop: steps until stopped, snapshots on the way and at the end.
fn train(
    mut model: Box<dyn ToyModel>,
    work: &Work<'_>,
    stop: &AtomicBool,
    wake: &(dyn Fn() + Send + Sync),
) -> Result<(), (String, String)> {
    let failure = |e: &dyn std::fmt::Display| {
        (
            format!("Training stopped: {e}."),
            format!("训练已停止：{e}。"),
        )
    };
    let started = Instant::now();
    let mut last_publish = Instant::now();
    let mut sampling_took = Duration::ZERO;
    let mut fresh = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let loss = model.train_step().map_err(|e| failure(&e))?;
        if !loss.is_finite() {
            return Err((
                "Training diverged (the loss is no longer a number): choose a smaller learning rate.".into(),
                "训练发散（损失已不是有限数）：请选择更小的学习率。".into(),
            ));
        }
        fresh.push(loss);
        // Sampling a snapshot takes time from training: at most a third of it.
        if last_publish.elapsed() >= PUBLISH_EVERY.max(2 * sampling_took) {
            let began = Instant::now();
            publish(model.as_ref(), work, std::mem::take(&mut fresh), started)?;
            sampling_took = began.elapsed();
            last_publish = Instant::now();
            wake();
        }
    }
    publish(model.as_ref(), work, fresh, started)
}

/// Samples the model's paths, measures them, and hands them with the new losses to the window.
fn publish(
    model: &dyn ToyModel,
    work: &Work<'_>,
    losses: Vec<f32>,
    started: Instant,
) -> Result<(), (String, String)> {
    let preview = work.preview;
    let paths = model
        .paths(preview.samples, preview.seed, preview.steps)
        .map_err(|e| (e.clone(), e))?;
    let figures = paths
        .last()
        .map(|samples| measure(samples, work.target, model, preview.steps));
    let realness = model.realness(&realness_grid());
    let sampler = model.diffusion_sampler();
    let ancestral = sampler
        .as_ref()
        .filter(|s| s.objective != crate::diffusion::objectives::Objective::Flow)
        .map(|s| {
            let ddpm = s.sampler(crate::diffusion::samplers::SamplerKind::Ddpm, preview.steps);
            s.paths(ddpm, ANCESTRAL_POINTS, preview.seed, true)
        })
        .transpose()
        .map_err(|e| {
            (
                e.sentence(crate::i18n::Lang::En),
                e.sentence(crate::i18n::Lang::Zh),
            )
        })?;
    let mut published = lock(work.shared);
    for loss in losses {
        add_loss(&mut published, loss);
    }
    published.steps = model.steps_done();
    published.seconds = started.elapsed().as_secs_f64();
    published.model = sampler;
    published.paths = paths;
    published.figures = figures;
    published.realness = realness;
    published.ancestral = ancestral;
    published.revision += 1;
    Ok(())
}

/// The figures of `samples` against the target.
fn measure(samples: &[Point], target: &Target, model: &dyn ToyModel, steps: usize) -> Figures {
    let (some_samples, some_data) = (
        &samples[..samples.len().min(1000)],
        &target.data[..target.data.len().min(1000)],
    );
    Figures {
        sliced_wasserstein: sliced_wasserstein(samples, &target.data),
        mmd: mmd_squared(some_samples, some_data, 0.5),
        coverage: (!target.modes.is_empty()).then(|| mode_coverage(samples, &target.modes, 0.5)),
        calls: model.network_calls(steps),
        weights: model.parameters(),
    }
}

/// The centres of the [`REALNESS_SIDE`]² cells over −[`PLANE_EXTENT`]…[`PLANE_EXTENT`], row by
/// row from the bottom.
pub fn realness_grid() -> Vec<Point> {
    let cell = 2.0 * PLANE_EXTENT / REALNESS_SIDE as f32;
    (0..REALNESS_SIDE * REALNESS_SIDE)
        .map(|i| {
            let centre = |k: usize| -PLANE_EXTENT + (k as f32 + 0.5) * cell;
            [centre(i % REALNESS_SIDE), centre(i / REALNESS_SIDE)]
        })
        .collect()
}

/// Keeps one loss per `loss_stride` steps, thinning the list when it grows past [`MAX_LOSSES`].
fn add_loss(published: &mut Published, loss: f32) {
    let stride = published.loss_stride.max(1);
    if published.losses_seen.is_multiple_of(stride) {
        published.losses.push(loss);
    }
    published.losses_seen += 1;
    if published.losses.len() > MAX_LOSSES {
        published.losses = published.losses.iter().step_by(2).copied().collect();
        published.loss_stride = 2 * stride;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_loss_curve_is_thinned_not_grown() {
        let mut published = Published {
            loss_stride: 1,
            ..Published::default()
        };
        for step in 0..3 * MAX_LOSSES {
            add_loss(&mut published, step as f32);
        }
        assert!(published.losses.len() <= MAX_LOSSES);
        assert_eq!(published.loss_stride, 4);
        // Each kept loss is that of step (index × stride).
        for (index, &loss) in published.losses.iter().enumerate() {
            assert_eq!(loss as usize, index * published.loss_stride);
        }
    }
}
