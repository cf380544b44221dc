//! `diffuscope bench render`: the cost of one scrub frame of the Forward view on a 12-megapixel
//! photo (4000 × 3000), drawn into a 1600 × 1200 viewport, by the two paths the window has:
//!
//! - shader: x0 and ε were uploaded once; a frame writes two numbers and runs `forward.wgsl`;
//! - CPU: a frame computes x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε for all 36 M values, turns it into bytes
//!   and uploads the 48 MB texture (what the window would do without the shader), drawing not
//!   counted.
//!
//! Both run on the off-screen device of [`crate::render::offscreen`] (a real GPU where there is
//! one, else Mesa's software rasteriser) and wait for the GPU to finish, so each figure is a whole
//! frame's wall time.

use std::time::Duration;

use crate::data::picture::values_to_rgb8;
use crate::diffusion::forward::jump_to;
use crate::diffusion::noise::{NoiseStream, standard_normal};
use crate::diffusion::{NoiseSchedule, ScheduleConfig};
use crate::render::forward::{ForwardInputs, ForwardPipeline};
use crate::render::offscreen::{Headless, TARGET_FORMAT};
use crate::render::{new_texture, write_texture};

/// The photo's size: 12 megapixels.
pub const PHOTO: (usize, usize) = (4000, 3000);
/// The viewport the frame is drawn into.
pub const VIEWPORT: (u32, u32) = (1600, 1200);

/// The figures of one run.
#[derive(Clone, Debug)]
pub struct RenderTimings {
    /// The adapter, in words.
    pub adapter: String,
    /// One scrub frame with the shader (median).
    pub shader_frame: Duration,
    /// One scrub frame computed on the CPU and uploaded (median).
    pub cpu_frame: Duration,
    /// Uploading x0 and ε once, when a photo is opened.
    pub shader_upload: Duration,
}

/// Measures and prints the figures; fails with a sentence where no graphics adapter exists.
pub fn render_bench() -> Result<RenderTimings, String> {
    let gpu = Headless::open()?;
    let (width, height) = PHOTO;
    println!(
        "diffuscope bench render — one scrub frame of a {width}×{height} photo into a {}×{} viewport, on {}",
        VIEWPORT.0, VIEWPORT.1, gpu.adapter
    );
    let values = width * height * 3;
    let x0_rgb: Vec<u8> = (0..values)
        .map(|i| ((i * 31 + i / 4001) % 256) as u8)
        .collect();
    let x0: Vec<f32> = x0_rgb.iter().map(|&b| f32::from(b) / 127.5 - 1.0).collect();
    let eps = standard_normal(values, 1, NoiseStream::Jump);
    let schedule = NoiseSchedule::new(ScheduleConfig::default());
    let inputs = ForwardInputs {
        width,
        height,
        x0_rgb,
        eps,
    };

    let pipeline = ForwardPipeline::new(&gpu.device, TARGET_FORMAT);
    let started = std::time::Instant::now();
    let textures = pipeline.upload(&gpu.device, &gpu.queue, &inputs)?;
    gpu.wait()?;
    let shader_upload = started.elapsed();

    let mut t = 0;
    let mut shader_times = Vec::new();
    for _ in 0..60 {
        t = (t + 17) % 1000;
        let (a, s) = (schedule.signal_scale(t), schedule.noise_scale(t));
        shader_times.push(gpu.time_render(VIEWPORT, |pass| {
            pipeline.set_scales(&gpu.queue, a as f32, s as f32);
            pipeline.draw(pass, &textures);
        })?);
    }
    let shader_frame = median(&mut shader_times);

    // The CPU path: compute, convert and upload into a texture of the photo's size (drawing that
    // texture then costs about what the shader's frame does).
    let target = new_texture(
        &gpu.device,
        "CPU-path x_t",
        (width as u32, height as u32),
        wgpu::TextureFormat::Rgba8Unorm,
    );
    let mut x_t = vec![0.0; values];
    let mut rgb = vec![0u8; values];
    let mut rgba = vec![255u8; width * height * 4];
    let mut cpu_times = Vec::new();
    for _ in 0..8 {
        t = (t + 17) % 1000;
        let started = std::time::Instant::now();
        jump_to(&schedule, t, &x0, &inputs.eps, &mut x_t);
        values_to_rgb8(&x_t, &mut rgb);
        for (out, pixel) in rgba.chunks_exact_mut(4).zip(rgb.chunks_exact(3)) {
            out[..3].copy_from_slice(pixel);
        }
        write_texture(&gpu.queue, &target, &rgba);
        gpu.wait()?;
        cpu_times.push(started.elapsed());
    }
    let cpu_frame = median(&mut cpu_times);

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "shader path: {:>9.2} ms per frame (median of 60)",
        ms(shader_frame)
    );
    println!(
        "CPU path:    {:>9.2} ms per frame (median of 8)",
        ms(cpu_frame)
    );
    println!(
        "uploading x0 and ε once (when a photo is opened): {:.1} ms",
        ms(shader_upload)
    );
    Ok(RenderTimings {
        adapter: gpu.adapter.clone(),
        shader_frame,
        cpu_frame,
        shader_upload,
    })
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}
