//! Training a playground model on a thread of its own while the window watches: the thread takes
//! training steps until told to stop, and every few hundred milliseconds samples the current model
//! (the paths of a set of points from fixed noise) and publishes what the window draws. Stopping
//! keeps the model: its last snapshot stays for the window to sample and scrub.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::diffusion::objectives::Objective;
use crate::diffusion::samplers::SamplerKind;
use crate::toy::measure::{ModeCoverage, mmd_squared, mode_coverage, sliced_wasserstein};
use crate::toy::mesh::Mesh;
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
    /// A diffusion model's one big sampler step from each path's start: where each sample would
    /// land in one network call.
    pub one_step: Option<Vec<Point>>,
    /// Every step of [`Mesh::CLASSROOM`]'s points carried by the deterministic sampler, while the
    /// window shows the mesh and at the last snapshot (diffusion models in the Diffusion tab).
    pub mesh: Option<Vec<Vec<Point>>>,
    /// A VAE's reconstructions: [`RECONSTRUCTED`] data points, each with what the model makes
    /// of it.
    pub reconstructions: Option<Vec<(Point, Point)>>,
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

/// Data points a VAE's reconstructions are published for, spread evenly over the data.
pub const RECONSTRUCTED: usize = 300;

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
    /// A diffusion model's mean distance from one big sampler step to the many-step sample.
    pub one_step_error: Option<f64>,
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
    /// Whether [`Mesh::CLASSROOM`] may be carried through the sampler too: at every snapshot
    /// while the window shows it ([`LiveTraining::show_mesh`]), and at the last one.
    pub mesh: bool,
}

/// Makes the model to train, on the training thread (a reflowed model samples its teacher first).
pub type MakeModel = Box<dyn FnOnce() -> Result<Box<dyn ToyModel>, String> + Send>;

/// A training run going on (or stopped, its last snapshot kept).
pub struct LiveTraining {
    shared: Arc<Mutex<Published>>,
    stop: Arc<AtomicBool>,
    /// Whether the window shows the mesh now (682 more points to sample at each snapshot).
    mesh_shown: Arc<AtomicBool>,
}

impl LiveTraining {
    /// Starts training the model `make` makes, on a thread of its own; each snapshot is
    /// measured against `target`, and `wake` is called after it.
    pub fn start(
        make: MakeModel,
        target: Target,
        preview: Preview,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Mutex::new(Published::starting()));
        let stop = Arc::new(AtomicBool::new(false));
        let mesh_shown = Arc::new(AtomicBool::new(false));
        let (thread_shared, thread_stop) = (Arc::clone(&shared), Arc::clone(&stop));
        let thread_mesh_shown = Arc::clone(&mesh_shown);
        std::thread::Builder::new()
            .name("playground-training".into())
            .spawn(move || {
                let work = Work {
                    target: &target,
                    preview,
                    shared: &thread_shared,
                    mesh_shown: &thread_mesh_shown,
                };
                let failed = make()
                    .map_err(|e| {
                        (
                            format!("The model could not be made: {e}."),
                            format!("无法创建模型：{e}。"),
                        )
                    })
                    .and_then(|model| train(model, &work, &thread_stop, &*wake))
                    .err();
                let mut published = lock(&thread_shared);
                published.running = false;
                published.failed = failed;
                drop(published);
                wake();
            })?;
        Ok(Self {
            shared,
            stop,
            mesh_shown,
        })
    }

    /// Asks the thread to stop after its current step (the model is kept).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Tells the thread whether the window shows the mesh, so snapshots carry it only then
    /// (the last snapshot carries it anyway, for a layer ticked after training).
    pub fn show_mesh(&self, shown: bool) {
        self.mesh_shown.store(shown, Ordering::Relaxed);
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
    mesh_shown: &'a AtomicBool,
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
            let losses = std::mem::take(&mut fresh);
            publish(model.as_ref(), work, losses, (started, false))?;
            sampling_took = began.elapsed();
            last_publish = Instant::now();
            wake();
        }
    }
    publish(model.as_ref(), work, fresh, (started, true))
}

/// Samples the model's paths, measures them, and hands them with the new losses to the window;
/// `last` for the snapshot taken as training ends.
fn publish(
    model: &dyn ToyModel,
    work: &Work<'_>,
    losses: Vec<f32>,
    (started, last): (Instant, bool),
) -> Result<(), (String, String)> {
    let preview = work.preview;
    let mesh = preview.mesh && (last || work.mesh_shown.load(Ordering::Relaxed));
    let paths = model
        .paths(preview.samples, preview.seed, preview.steps)
        .map_err(|e| (e.clone(), e))?;
    let sampler = model.diffusion_sampler();
    let extras = sampler
        .as_ref()
        .map(|sampler| DiffusionExtras::of(sampler, (preview, mesh), &paths))
        .transpose()
        .map_err(|e| {
            (
                e.sentence(crate::i18n::Lang::En),
                e.sentence(crate::i18n::Lang::Zh),
            )
        })?
        .unwrap_or_default();
    let figures = paths.last().map(|samples| {
        let mut figures = measure(samples, work.target, model, preview.steps);
        figures.one_step_error = extras
            .one_step
            .as_ref()
            .map(|one_step| mean_distance(one_step, samples));
        figures
    });
    let realness = model.realness(&realness_grid());
    let reconstructions = reconstructions(model, &work.target.data);
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
    published.reconstructions = reconstructions;
    published.ancestral = extras.ancestral;
    published.one_step = extras.one_step;
    published.mesh = extras.mesh;
    published.revision += 1;
    Ok(())
}

/// What a diffusion model's snapshot shows besides its paths.
#[derive(Default)]
struct DiffusionExtras {
    ancestral: Option<Vec<Vec<Point>>>,
    one_step: Option<Vec<Point>>,
    mesh: Option<Vec<Vec<Point>>>,
}

impl DiffusionExtras {
    /// The DDPM paths of the first points (ε and v models), every path's one big step, and,
    /// with `mesh`, the mesh carried to the data.
    fn of(
        sampler: &ToySampler,
        (preview, mesh): (Preview, bool),
        paths: &[Vec<Point>],
    ) -> Result<Self, crate::sample::SampleError> {
        let ancestral = (sampler.objective != Objective::Flow)
            .then(|| {
                let ddpm = sampler.sampler(SamplerKind::Ddpm, preview.steps);
                sampler.paths(ddpm, ANCESTRAL_POINTS, preview.seed, true)
            })
            .transpose()?;
        let one_step = paths
            .first()
            .map(|start| sampler.one_step(start))
            .transpose()?;
        let mesh = mesh
            .then(|| {
                let deterministic = sampler.default_sampler(preview.steps);
                sampler.paths_from(deterministic, &Mesh::CLASSROOM.points(), preview.seed, true)
            })
            .transpose()?;
        Ok(Self {
            ancestral,
            one_step,
            mesh,
        })
    }
}

/// A VAE's reconstructions of [`RECONSTRUCTED`] points spread over `data`, with the points.
fn reconstructions(model: &dyn ToyModel, data: &[Point]) -> Option<Vec<(Point, Point)>> {
    let stride = (data.len() / RECONSTRUCTED).max(1);
    let originals: Vec<Point> = data
        .iter()
        .step_by(stride)
        .take(RECONSTRUCTED)
        .copied()
        .collect();
    let back = model.reconstructions(&originals)?;
    Some(originals.into_iter().zip(back).collect())
}

/// The mean distance between matching points of `a` and `b`.
fn mean_distance(a: &[Point], b: &[Point]) -> f64 {
    let total: f64 = a
        .iter()
        .zip(b)
        .map(|(p, q)| f64::from((p[0] - q[0]).hypot(p[1] - q[1])))
        .sum();
    total / a.len().min(b.len()).max(1) as f64
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
        one_step_error: None,
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
    /// Trains what `make` makes until its first snapshot, then stops; what it published last.
    fn first_snapshot(make: MakeModel, mesh: bool) -> Published {
        let data = crate::toy::Shape::EightGaussians.points(400, 1);
        let target = Target {
            data: data.clone(),
            modes: crate::toy::Shape::EightGaussians.modes(),
        };
        let preview = Preview {
            samples: 50,
            steps: 4,
            seed: 2,
            mesh,
        };
        let (woken, wait) = crossbeam_channel::bounded(1);
        let wake = Arc::new(move || {
            let _ = woken.try_send(());
        });
        let training = LiveTraining::start(make, target, preview, wake).unwrap_or_else(|e| {
            panic!("the thread did not start: {e}");
        });
        training.show_mesh(mesh);
        // What the window holds before the first news: running, no snapshot.
        let shown = Published::starting();
        loop {
            let _ = wait.recv_timeout(Duration::from_millis(100));
            if let Some(news) = training.news(&shown)
                && (news.revision > 0 || !news.running)
            {
                training.stop();
                return news;
            }
        }
    }

    fn model(kind: crate::toy::ToyKind) -> MakeModel {
        let data = crate::toy::Shape::EightGaussians.points(400, 1);
        let spec = crate::toy::ToyDiffusionSpec {
            objective: Objective::Eps,
            schedule: crate::diffusion::ScheduleConfig::new(
                crate::diffusion::ScheduleKind::Linear,
                100,
            ),
            batch: 64,
            learning_rate: 1e-2,
            size: crate::toy::ToyNetSize::default(),
            seed: 1,
        };
        Box::new(move || {
            crate::toy::models::fresh_model(kind, data, spec, 1e-3).map_err(|e| e.to_string())
        })
    }

    #[test]
    fn a_diffusion_snapshot_carries_the_mesh_and_one_big_step() {
        let published = first_snapshot(model(crate::toy::ToyKind::Diffusion), true);
        let mesh = published.mesh.unwrap_or_default();
        // x_T and one frame per step: the mesh's 682 points at each.
        assert_eq!(mesh.len(), 5);
        assert!(mesh.iter().all(|points| points.len() == 682));
        assert_eq!(mesh[0], Mesh::CLASSROOM.points());
        assert_eq!(published.one_step.map(|p| p.len()), Some(50));
        let figures = published.figures.unwrap_or_else(|| panic!("no figures"));
        assert!(figures.one_step_error.is_some_and(f64::is_finite));
        assert!(published.reconstructions.is_none());
    }

    #[test]
    fn a_vae_snapshot_carries_reconstructions_of_points_spread_over_the_data() {
        let published = first_snapshot(model(crate::toy::ToyKind::Vae), true);
        let pairs = published.reconstructions.unwrap_or_default();
        assert_eq!(pairs.len(), RECONSTRUCTED);
        assert!(published.mesh.is_none() && published.one_step.is_none());
        // 400 data points, fewer than twice RECONSTRUCTED: the first 300 of them.
        let data = crate::toy::Shape::EightGaussians.points(400, 1);
        assert!(pairs.iter().zip(&data).all(|((from, _), x)| from == x));
        assert!(
            pairs
                .iter()
                .all(|(_, back)| back.iter().all(|v| v.is_finite()))
        );
    }

    #[test]
    fn a_model_that_cannot_be_made_says_why() {
        let published = first_snapshot(Box::new(|| Err("no points to learn from".into())), false);
        assert!(!published.running);
        let (en, _) = published.failed.unwrap_or_default();
        assert_eq!(en, "The model could not be made: no points to learn from.");
    }
}
