//! The WGSL shaders: every file in `shaders/` validates with naga, each uniform struct has the
//! layout of its Rust twin, and off-screen renders match the CPU reference within one level.
//!
//! The renders need a graphics adapter; Mesa's lavapipe (package mesa-vulkan-drivers) serves on a
//! machine without a GPU. Where none can be opened the render tests print why and pass, unless
//! `DIFFUSCOPE_REQUIRE_ADAPTER=1` (set by `.ci/run`, which installs lavapipe) makes that a failure.

use std::path::Path;

use diffuscope::data::picture::values_to_rgb8;
use diffuscope::diffusion::forward::jump_to;
use diffuscope::diffusion::noise::{NoiseStream, standard_normal};
use diffuscope::diffusion::{NoiseSchedule, ScheduleConfig, ScheduleKind};
use diffuscope::render::forward::{ForwardInputs, ForwardPipeline, ForwardUniforms};
use diffuscope::render::offscreen::{Headless, TARGET_FORMAT};
use diffuscope::render::signed::{SignedPipeline, SignedUniforms, SignedValues};
use diffuscope::render::{FORWARD_WGSL, SHADERS, SIGNED_WGSL};
use diffuscope::sample::colormap::{DIVERGING_RANGE, diverging};

fn parse(name: &str, source: &str) -> naga::Module {
    let module = naga::front::wgsl::parse_str(source)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(source)));
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::default(),
    )
    .validate(&module)
    .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(source)));
    module
}

#[test]
fn every_shader_file_validates_and_is_built_into_the_program() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut files: Vec<String> = std::fs::read_dir(&folder)
        .expect("shaders/")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".wgsl"))
        .collect();
    files.sort();
    for name in &files {
        let source = std::fs::read_to_string(folder.join(name)).expect("readable");
        parse(name, &source);
        let built_in = SHADERS.iter().find(|(n, _)| n == name).map(|(_, s)| *s);
        assert_eq!(
            built_in,
            Some(source.as_str()),
            "{name} is not the file in SHADERS"
        );
    }
    assert_eq!(
        files.len(),
        SHADERS.len(),
        "SHADERS lists a file that is not in shaders/"
    );
}

/// (name, byte offset, size) of each member of the WGSL struct `name`, and its whole size.
fn wgsl_layout(module: &naga::Module, name: &str) -> (Vec<(String, u32)>, u32) {
    let (_, ty) = module
        .types
        .iter()
        .find(|(_, ty)| ty.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no struct {name}"));
    match &ty.inner {
        naga::TypeInner::Struct { members, span } => (
            members
                .iter()
                .map(|m| (m.name.clone().unwrap_or_default(), m.offset))
                .collect(),
            *span,
        ),
        other => panic!("{name} is {other:?}"),
    }
}

#[test]
fn uniform_structs_match_their_rust_twins() {
    let forward = parse("forward.wgsl", FORWARD_WGSL);
    let (members, span) = wgsl_layout(&forward, "ForwardUniforms");
    assert_eq!(span as usize, size_of::<ForwardUniforms>());
    let offsets: Vec<u32> = members.iter().map(|(_, o)| *o).collect();
    assert_eq!(
        offsets,
        [
            std::mem::offset_of!(ForwardUniforms, signal_scale),
            std::mem::offset_of!(ForwardUniforms, noise_scale),
            std::mem::offset_of!(ForwardUniforms, encode_srgb),
            std::mem::offset_of!(ForwardUniforms, padding),
        ]
        .map(|o| o as u32)
    );

    let signed = parse("signed.wgsl", SIGNED_WGSL);
    let (members, span) = wgsl_layout(&signed, "SignedUniforms");
    assert_eq!(span as usize, size_of::<SignedUniforms>());
    let names: Vec<&str> = members.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["range", "width", "height", "encode_srgb"]);
    let offsets: Vec<u32> = members.iter().map(|(_, o)| *o).collect();
    assert_eq!(
        offsets,
        [
            std::mem::offset_of!(SignedUniforms, range),
            std::mem::offset_of!(SignedUniforms, width),
            std::mem::offset_of!(SignedUniforms, height),
            std::mem::offset_of!(SignedUniforms, encode_srgb),
        ]
        .map(|o| o as u32)
    );
}

/// The off-screen device, or `None` (after saying why) where no adapter exists and none is required.
fn headless() -> Option<Headless> {
    match Headless::open() {
        Ok(headless) => {
            println!("adapter: {}", headless.adapter);
            Some(headless)
        }
        Err(why) if std::env::var("DIFFUSCOPE_REQUIRE_ADAPTER").as_deref() != Ok("1") => {
            println!("skipped: {why}");
            None
        }
        Err(why) => panic!("{why}"),
    }
}

#[test]
fn forward_shader_matches_the_cpu_within_one_grey_level() {
    let Some(gpu) = headless() else { return };
    // An odd-sized picture with every byte value, and a real draw of ε.
    let (width, height) = (61usize, 37usize);
    let x0_rgb: Vec<u8> = (0..width * height * 3)
        .map(|i| ((i * 89 + i / 7) % 256) as u8)
        .collect();
    let eps = standard_normal(width * height * 3, 5, NoiseStream::Jump);
    let x0: Vec<f32> = x0_rgb.iter().map(|&b| f32::from(b) / 127.5 - 1.0).collect();
    let inputs = ForwardInputs {
        width,
        height,
        x0_rgb,
        eps: eps.clone(),
    };
    let pipeline = ForwardPipeline::new(&gpu.device, TARGET_FORMAT);
    let textures = pipeline
        .upload(&gpu.device, &gpu.queue, &inputs)
        .expect("uploads");
    let mut worst = 0;
    for kind in [ScheduleKind::Linear, ScheduleKind::Cosine] {
        let schedule = NoiseSchedule::new(ScheduleConfig::new(kind, 1000));
        for t in [0, 1, 100, 500, 999, 1000] {
            let mut values = vec![0.0; x0.len()];
            jump_to(&schedule, t, &x0, &eps, &mut values);
            let mut expected = vec![0; values.len()];
            values_to_rgb8(&values, &mut expected);

            pipeline.set_scales(
                &gpu.queue,
                schedule.signal_scale(t) as f32,
                schedule.noise_scale(t) as f32,
            );
            let rgba = gpu
                .render((width as u32, height as u32), |pass| {
                    pipeline.draw(pass, &textures);
                })
                .expect("renders");
            for (pixel, rgb) in rgba.chunks_exact(4).zip(expected.chunks_exact(3)) {
                for c in 0..3 {
                    let difference = pixel[c].abs_diff(rgb[c]);
                    worst = worst.max(difference);
                    assert!(difference <= 1, "{kind:?} t = {t}: {pixel:?} vs {rgb:?}");
                }
                assert_eq!(pixel[3], 255);
            }
        }
    }
    println!("forward shader vs CPU: largest difference {worst} grey level(s)");
}

#[test]
fn colour_map_shader_matches_the_cpu_within_one_level() {
    let Some(gpu) = headless() else { return };
    let (width, height) = (29usize, 13usize);
    // Values sweeping past both ends of the map, a NaN among them.
    let mut values: Vec<f32> = (0..width * height)
        .map(|i| (i as f32 / (width * height) as f32 - 0.5) * 2.5 * DIVERGING_RANGE)
        .collect();
    values[17] = f32::NAN;
    let pipeline = SignedPipeline::new(&gpu.device, TARGET_FORMAT);
    let signed = SignedValues {
        width,
        height,
        values: values.clone(),
    };
    let slot = pipeline
        .slot(&gpu.device, &gpu.queue, &signed, DIVERGING_RANGE)
        .expect("uploads");
    // Each value drawn as a 3×3 block, as the view enlarges digits.
    let rgba = gpu
        .render((3 * width as u32, 3 * height as u32), |pass| {
            pipeline.draw(pass, &slot);
        })
        .expect("renders");
    let mut worst = 0;
    for y in 0..3 * height {
        for x in 0..3 * width {
            let expected = diverging(values[(y / 3) * width + x / 3]);
            let pixel = &rgba[(y * 3 * width + x) * 4..][..3];
            for c in 0..3 {
                let difference = pixel[c].abs_diff(expected[c]);
                worst = worst.max(difference);
                assert!(difference <= 1, "({x}, {y}): {pixel:?} vs {expected:?}");
            }
        }
    }
    println!("colour-map shader vs CPU: largest difference {worst} level(s)");
}

/// A panel larger than the GPU's textures is refused in the paint callback; the refusal reaches the
/// panel's lane, so the view can say it in a sentence and draw on the CPU instead.
#[test]
fn a_panel_the_gpu_refuses_is_reported_to_its_lane() {
    use diffuscope::i18n::Lang;
    use diffuscope::render::lane::{GpuLane, upload_failed_sentence};
    use diffuscope::render::signed::{SignedCallback, SignedResources};
    use egui_wgpu::CallbackTrait;

    let Some(gpu) = headless() else { return };
    let mut resources = egui_wgpu::CallbackResources::default();
    resources.insert(SignedResources::new(SignedPipeline::new(
        &gpu.device,
        TARGET_FORMAT,
    )));
    let too_wide = gpu.device.limits().max_texture_dimension_2d as usize + 1;
    let lane = GpuLane::new();
    let callback = SignedCallback {
        lane: lane.clone(),
        panel: 1,
        revision: 1,
        values: std::sync::Arc::new(SignedValues {
            width: too_wide,
            height: 1,
            values: vec![0.0; too_wide],
        }),
        range: DIVERGING_RANGE,
    };
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    let screen = egui_wgpu::ScreenDescriptor {
        size_in_pixels: [1, 1],
        pixels_per_point: 1.0,
    };
    callback.prepare(
        &gpu.device,
        &gpu.queue,
        &screen,
        &mut encoder,
        &mut resources,
    );
    let why = lane
        .take_failure()
        .unwrap_or_else(|| panic!("the refusal reaches the lane"));
    assert!(why.contains("larger than this GPU's textures"), "{why}");
    for lang in Lang::ALL {
        assert!(upload_failed_sentence(&why, lang).contains("CPU"));
    }
}
