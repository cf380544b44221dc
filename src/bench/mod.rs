//! `diffuscope bench`: measures the program on this machine and prints figures (not verdicts;
//! except `bench soak`, whose verdict is its exit status).
//! Each figure is the median of repeated runs after one warm-up run.

pub mod kernels;
pub mod model;
pub mod race;
pub mod render;
pub mod sample;
pub mod soak;
pub mod train;
mod train_kernels;

use std::time::{Duration, Instant};

use crate::data::Picture;
use crate::data::bundled::BundledPhoto;
use crate::data::picture::values_to_rgb8;
use crate::diffusion::forward::{Noising, chain_step, jump_to};
use crate::diffusion::noise::{NoiseStream, fill_standard_normal, standard_normal};
use crate::diffusion::stats::Histogram;
use crate::diffusion::{NoiseSchedule, ScheduleConfig};
use crate::export::forward::{Sweep, caption, sweep_frames};
use crate::export::{GifSettings, write_gif};

/// Median wall time of `runs` calls of `f`, after one warm-up call.
pub fn median_time(runs: usize, mut f: impl FnMut()) -> Duration {
    f();
    let mut times: Vec<Duration> = (0..runs.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// Runs `f` on a thread of a fresh rayon pool of [`rayon::current_num_threads`] threads and waits
/// for it, as the worker runs the network on its own pool: the kernels' parallel loops are then
/// shared among that pool's threads, instead of being handed from the calling thread to the global
/// pool and back on every operation (about 10 % of a forward pass at batch 16).
pub fn on_model_pool<R: Send>(
    f: impl FnOnce() -> candle_core::Result<R> + Send,
) -> candle_core::Result<R> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(rayon::current_num_threads())
        .thread_name(|i| format!("diffuscope-bench-{i}"))
        .build()
        .map_err(|e| candle_core::Error::Msg(format!("no thread pool: {e}")))?
        .install(f)
}

fn ms(d: Duration) -> String {
    format!("{:>9.3} ms", d.as_secs_f64() * 1e3)
}

/// Figures for the Forward view; prints a table.
pub fn forward() {
    let threads = rayon::current_num_threads();
    println!("diffuscope bench forward — {threads} threads, median of repeated runs\n");
    let schedule = NoiseSchedule::new(ScheduleConfig::default());
    let t = 250;

    let square = Picture::filled(512, 512, 0.25);
    let n = square.values.len();
    let eps = standard_normal(n, 0, NoiseStream::Jump);
    let mut x_t = vec![0.0; n];
    let mut rgb = vec![0u8; n];
    let jump = median_time(200, || {
        jump_to(&schedule, t, &square.values, &eps, &mut x_t);
    });
    println!("x_t = √ᾱ·x0 + √(1−ᾱ)·ε, 512×512 RGB          {}", ms(jump));
    let display = median_time(100, || {
        jump_to(&schedule, t, &square.values, &eps, &mut x_t);
        values_to_rgb8(&x_t, &mut rgb);
        std::hint::black_box(Histogram::of_pixels(&x_t));
    });
    println!(
        "  … plus display bytes and histogram          {}",
        ms(display)
    );
    let mut noise = vec![0.0; n];
    let draw = median_time(20, || {
        fill_standard_normal(&mut noise, 1, NoiseStream::Jump);
    });
    println!("new noise ε (new seed), 512×512 RGB           {}", ms(draw));
    let step = median_time(50, || {
        fill_standard_normal(&mut noise, 1, NoiseStream::ChainStep(7));
        chain_step(&schedule, 7, &mut x_t, &noise);
    });
    println!("one chain step (fresh z_t), 512×512 RGB       {}", ms(step));

    let cat = match BundledPhoto::Cat.load() {
        Ok(loaded) => loaded.picture,
        Err(e) => {
            println!("the bundled cat did not load: {e}");
            return;
        }
    };
    let dir = std::env::temp_dir().join(format!("diffuscope-bench-{}", std::process::id()));
    let path = dir.join("forward.gif");
    if let Err(e) = std::fs::create_dir_all(&dir) {
        println!("cannot create {}: {e}", dir.display());
        return;
    }
    for noising in Noising::ALL {
        let sweep = Sweep {
            picture: &cat,
            schedule: &schedule,
            noising,
            seed: 0,
            frames: 60,
            width: cat.width,
        };
        let mut bytes = 0;
        let mut frames_secs = Duration::ZERO;
        let total = median_time(3, || {
            let start = Instant::now();
            let frames = sweep_frames(&sweep, &|t| caption(t, &schedule, noising), &|| {});
            frames_secs = start.elapsed();
            let settings = GifSettings {
                fps: 12.0,
                ..GifSettings::default()
            };
            if let Err(e) = write_gif(&path, &frames, &settings, &|_| {}) {
                println!("export failed: {e}");
            }
            bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
        });
        println!(
            "export 60 frames of the {}×{} cat ({:5}), GIF {:>5} KiB {}   (frames {})",
            cat.width,
            cat.height,
            noising.cli_name(),
            bytes / 1024,
            ms(total),
            ms(frames_secs).trim()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
