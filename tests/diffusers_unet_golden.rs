//! diffusers' `UNet2DModel` in candle against diffusers itself, on three randomly initialised
//! configurations that visit every option the program builds; a pipeline folder opened as a
//! diffusion model, grey or RGB; and broken folders, each refused with a sentence naming the file and the field
//! or tensor.
//!
//! The golden folders and the script that wrote them are in `tests/golden/diffusers_unet/`
//! (`python3 tests/golden/make_diffusers_unet.py`, with torch and diffusers 0.42.1).
#![expect(
    clippy::unwrap_used,
    reason = "helpers of an integration test (clippy's allow-unwrap-in-tests covers only #[test] functions)"
)]

#[path = "common/tensors.rs"]
mod tensors;

use std::fs;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use diffuscope::diffusion::samplers::{SamplerKind, SamplerSpec};
use diffuscope::i18n::Lang;
use diffuscope::model::diffusers::{LevelKind, load_unet};
use diffuscope::model::layers::with_candle_ops;
use diffuscope::model::{
    CheckpointError, DenoisingNetwork, Network, Objective, load_diffusion_model, shipped_model_path,
};
use diffuscope::sample::{Denoiser, ImageShape, ModelTraits, RunSettings, StepFrame, sample};
use tensors::max_abs_diff;

/// Largest |candle − diffusers| allowed on a network's output; measured at most 3.3e-6 with
/// `cargo test --test diffusers_unet_golden -- --nocapture`.
const TOLERANCE: f32 = 1e-5;

const CONFIGS: [&str; 3] = ["two-heads", "rgb-scale-shift", "pipeline/unet"];

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/diffusers_unet")
        .join(name)
}

/// The golden inputs `x`, `t`, `y` and diffusers' output in `file`.
fn io(file: &Path) -> (Tensor, Tensor, Tensor, Tensor) {
    let mut tensors = candle_core::safetensors::load(file, &Device::Cpu).unwrap();
    let mut take = |name: &str| tensors.remove(name).unwrap();
    let y = take("y").to_dtype(DType::U32).unwrap();
    (take("x"), take("t"), y, take("out"))
}

/// The largest difference between diffusers' output in the golden `file` and what `model` answers
/// through the program's [`Denoiser`], which counts timesteps from 1 (diffusers' t + 1).
fn error_through_the_denoiser(model: &impl Denoiser, file: &Path) -> f32 {
    let (x, t, y, expected) = io(file);
    let ours_t: Vec<f32> = t
        .to_vec1::<f32>()
        .unwrap()
        .iter()
        .map(|t| t + 1.0)
        .collect();
    let x = x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let classes = y.to_vec1::<u32>().unwrap();
    let out = model.predict(&x, ours_t.len(), &ours_t, &classes).unwrap();
    max_abs_diff(
        &Tensor::from_vec(out, expected.dims(), &Device::Cpu).unwrap(),
        &expected,
    )
}

#[test]
fn every_configuration_computes_what_diffusers_computes() {
    for name in CONFIGS {
        let folder = golden(name);
        let (x, t, y, expected) = io(&folder.join("io.safetensors"));
        let (_, ours) = load_unet(&folder, &Device::Cpu).unwrap();
        assert!(ours.uses_our_kernels(), "{name}");
        let (_, candle) = with_candle_ops(|| load_unet(&folder, &Device::Cpu)).unwrap();
        assert!(!candle.uses_our_kernels(), "{name}");
        for (what, net) in [("our kernels", &ours), ("candle's operations", &candle)] {
            let error = max_abs_diff(&net.forward(&x, &t, &y).unwrap(), &expected);
            println!("{name} ({what}): max |candle − diffusers| = {error:.2e}");
            assert!(error <= TOLERANCE, "{name} ({what}): {error:e}");
        }
    }
}

#[test]
fn the_configurations_visit_the_options_they_are_meant_to() {
    let (two_heads, _) = load_unet(&golden("two-heads"), &Device::Cpu).unwrap();
    assert_eq!(two_heads.attention_head_dim, Some(8));
    assert_eq!(two_heads.layers_per_block, 2);
    assert_eq!(two_heads.down, [LevelKind::Plain, LevelKind::Attention]);
    let (rgb, _) = load_unet(&golden("rgb-scale-shift"), &Device::Cpu).unwrap();
    assert_eq!((rgb.channels, rgb.sample_size), (3, (16, 8)));
    assert!(rgb.scale_shift && rgb.center_input_sample && !rgb.flip_sin_to_cos);
    assert_eq!((rgb.freq_shift, rgb.downsample_padding), (1.0, 0));
    assert!(rgb.mid_block_scale_factor > 1.4 && rgb.num_class_embeds == Some(11));
    let (pipeline, _) = load_unet(&golden("pipeline/unet"), &Device::Cpu).unwrap();
    assert!(!pipeline.add_attention && pipeline.attn_norm_num_groups == Some(2));
    assert_eq!(pipeline.time_embedding_dim, 24);
}

#[test]
fn a_pipeline_folder_opens_as_a_diffusion_model_in_the_programs_conventions() {
    let model = load_diffusion_model(&golden("pipeline"), &Device::Cpu).unwrap();
    assert!(matches!(model.info.network, Network::DiffusersUNet2D(_)));
    assert_eq!(model.info.objective, Objective::Eps);
    assert_eq!(
        (model.info.schedule.as_str(), model.info.train_steps_t),
        ("linear", 1000)
    );
    assert_eq!(
        model.scheduler.as_ref().unwrap().class_name(),
        "DDPMScheduler"
    );
    assert!(matches!(
        model.net,
        DenoisingNetwork::Diffusers {
            counts_from_zero: true,
            ..
        }
    ));
    assert_eq!(model.image_shape(), ImageShape::grey(28, 28));
    let error = error_through_the_denoiser(&model, &golden("pipeline/unet/io.safetensors"));
    assert!(error <= TOLERANCE, "{error:e}");
}

/// A copy of the golden pipeline folder in a temporary folder, changed by `change`; the sentence
/// its loading gives.
fn broken(change: impl FnOnce(&Path)) -> String {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("pipeline");
    copy_folder(&golden("pipeline"), &root);
    change(&root);
    match load_diffusion_model(&root, &Device::Cpu) {
        Ok(_) => panic!("the broken folder opened"),
        Err(error) => error.sentence(Lang::En),
    }
}

fn copy_folder(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_folder(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn edit_json(path: &Path, edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>)) {
    let mut fields = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    edit(&mut fields);
    fs::write(path, serde_json::to_string(&fields).unwrap()).unwrap();
}

#[test]
fn a_broken_folder_is_one_sentence_naming_the_file_and_the_field_or_tensor() {
    let no_weights = broken(|root| {
        fs::remove_file(root.join("unet/diffusion_pytorch_model.safetensors")).unwrap();
    });
    assert!(
        no_weights.contains("diffusion_pytorch_model.safetensors"),
        "{no_weights}"
    );

    let pickle = broken(|root| {
        let unet = root.join("unet");
        fs::rename(
            unet.join("diffusion_pytorch_model.safetensors"),
            unet.join("diffusion_pytorch_model.bin"),
        )
        .unwrap();
    });
    assert!(
        pickle.contains("pickle") && pickle.contains(".bin"),
        "{pickle}"
    );

    let block = broken(|root| {
        edit_json(&root.join("unet/config.json"), |f| {
            f.insert(
                "down_block_types".into(),
                serde_json::json!(["DownBlock2D", "CrossAttnDownBlock2D", "AttnDownBlock2D"]),
            );
        });
    });
    assert!(
        block.contains("config.json") && block.contains("down_block_types"),
        "{block}"
    );
    assert!(block.contains("CrossAttnDownBlock2D"), "{block}");

    let tensor = broken(|root| {
        edit_json(&root.join("unet/config.json"), |f| {
            f.insert("block_out_channels".into(), serde_json::json!([8, 16, 32]));
            f.insert("attention_head_dim".into(), serde_json::json!(8));
        });
    });
    assert!(
        tensor.contains("diffusion_pytorch_model.safetensors") && tensor.contains("tensor"),
        "{tensor}"
    );

    let scheduler = broken(|root| {
        edit_json(&root.join("scheduler/scheduler_config.json"), |f| {
            f.insert("trained_betas".into(), serde_json::json!([0.001, 0.002]));
        });
    });
    assert!(
        scheduler.contains("scheduler_config.json") && scheduler.contains("trained_betas"),
        "{scheduler}"
    );

    let index = broken(|root| fs::remove_file(root.join("model_index.json")).unwrap());
    assert!(index.contains("model_index.json"), "{index}");

    let class = broken(|root| {
        edit_json(&root.join("model_index.json"), |f| {
            f.insert(
                "unet".into(),
                serde_json::json!(["diffusers", "UNet2DConditionModel"]),
            );
        });
    });
    assert!(
        class.contains("model_index.json") && class.contains("unet"),
        "{class}"
    );
}

/// The golden pipeline with the RGB network (16×8, three channels) in place of its own.
fn rgb_pipeline(root: &Path) {
    copy_folder(&golden("pipeline"), root);
    let unet = root.join("unet");
    fs::remove_dir_all(&unet).unwrap();
    copy_folder(&golden("rgb-scale-shift"), &unet);
}

#[test]
fn an_rgb_pipeline_samples_colour_images_through_the_programs_own_loop() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("rgb");
    rgb_pipeline(&root);
    let model = load_diffusion_model(&root, &Device::Cpu).unwrap();
    assert_eq!(model.image_shape(), ImageShape::rgb(16, 8));
    let error = error_through_the_denoiser(&model, &golden("rgb-scale-shift/io.safetensors"));
    assert!(error <= TOLERANCE, "{error:e}");
    let traits = ModelTraits::of(&model.info).unwrap();
    let settings = traits
        .prepare(RunSettings {
            sampler: SamplerSpec::new(SamplerKind::Ddim, 4),
            seed: 3,
            labels: vec![Some(2), None],
            guidance: 2.0,
        })
        .unwrap();
    let mut shown = 0;
    let images = sample(&model, &settings, &mut |frame: &StepFrame<'_>| {
        assert_eq!(frame.x_t.len(), 2 * 3 * 16 * 8);
        shown += 1;
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!((shown, images.len()), (4, 2 * 3 * 16 * 8));
    assert!(images.iter().all(|v| v.is_finite()));
}

#[test]
fn the_folders_sentences_are_said_in_chinese_too() {
    let dir = tempfile::tempdir().unwrap();
    match load_diffusion_model(dir.path(), &Device::Cpu) {
        Err(error @ CheckpointError::Diffusers(_)) => {
            let sentence = error.sentence(Lang::Zh);
            assert!(
                sentence.contains("model_index.json") && sentence.contains("缺少"),
                "{sentence}"
            );
        }
        other => panic!(
            "an empty folder should lack model_index.json, got {:?}",
            other.err()
        ),
    }
}

/// The shipped example, trained with diffusers (`training/train_diffusers_unet.py`), opens by its
/// name with the scheduler it was trained with and computes what diffusers computes.
#[test]
fn the_shipped_example_opens_by_name_and_agrees_with_diffusers() {
    let path = shipped_model_path("digits-diffusers")
        .unwrap_or_else(|| panic!("digits-diffusers is shipped in assets/models/"));
    let model = load_diffusion_model(&path, &Device::Cpu).unwrap();
    let scheduler = model.scheduler.as_ref().unwrap();
    assert_eq!(scheduler.class_name(), "DDPMScheduler");
    assert_eq!(scheduler.sampler.kind, SamplerKind::Ddpm);
    assert_eq!(
        (model.info.objective, model.info.train_steps_t),
        (Objective::Eps, 1000)
    );
    assert_eq!(model.image_shape(), ImageShape::grey(28, 28));
    let error = error_through_the_denoiser(&model, &golden("shipped-io.safetensors"));
    println!("shipped digits-diffusers: max |candle − diffusers| = {error:.2e}");
    assert!(error <= TOLERANCE, "{error:e}");
}
