//! Run files: a recorded run saved and opened again is the same run, the file is a valid
//! safetensors file, and damaged or hostile files give a sentence in both languages — never a
//! panic, and never an allocation larger than the file.
#![expect(
    clippy::expect_used,
    reason = "helpers of an integration test (clippy's allow-unwrap-in-tests covers only #[test] functions)"
)]

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use diffuscope::diffusion::objectives::Objective;
use diffuscope::diffusion::samplers::{
    DdimStep, DiffusersOptions, DpmSolverType, DynamicShift, FinalSigma, FlowShift, FlowSigmas,
    SamplerKind, SamplerSpec, SigmaRamp, X0Limit,
};
use diffuscope::diffusion::{NoiseSchedule, ScheduleConfig, ScheduleKind};
use diffuscope::export::ExportError;
use diffuscope::i18n::Lang;
use diffuscope::sample::{Denoiser, ImageShape, SampleError, SampleSettings, StepFrame, sample};
use diffuscope::worker::run_file::{RunFileError, open_run, save_run};
use diffuscope::worker::{Frame, RunRecord, RunSettings};

const SIDE: usize = 5;

/// A network of images of its shape whose answer is a fixed function of its input and class.
struct Fake(ImageShape);

impl Denoiser for Fake {
    fn image_shape(&self) -> ImageShape {
        self.0
    }

    fn predict(
        &self,
        x_t: &[f32],
        batch: usize,
        _timestep_input: &[f32],
        classes: &[u32],
    ) -> Result<Vec<f32>, SampleError> {
        let pixels = x_t.len() / batch;
        Ok(x_t
            .iter()
            .enumerate()
            .map(|(i, &x)| 0.6 * x + 0.03 * classes[i / pixels] as f32)
            .collect())
    }
}

/// A run recorded as the window records it: `steps` steps of `labels.len()` samples, stopped
/// after `keep` steps (or finished when `keep` is `None`).
fn recorded(
    kind: SamplerKind,
    steps: usize,
    labels: Vec<Option<u32>>,
    keep: Option<usize>,
) -> RunRecord {
    recorded_in(ImageShape::grey(SIDE, SIDE), kind, steps, labels, keep)
}

/// [`recorded`] with images of `shape`.
fn recorded_in(
    shape: ImageShape,
    kind: SamplerKind,
    steps: usize,
    labels: Vec<Option<u32>>,
    keep: Option<usize>,
) -> RunRecord {
    let objective = if kind.supports(Objective::Eps) {
        Objective::Eps
    } else {
        Objective::Flow
    };
    let settings = SampleSettings {
        objective,
        schedule: NoiseSchedule::new(ScheduleConfig::new(ScheduleKind::Linear, 100)),
        sampler: SamplerSpec::new(kind, steps),
        seed: 11,
        labels: labels.clone(),
        guidance: 2.5,
    };
    let run = RunSettings {
        sampler: settings.sampler.clone(),
        seed: settings.seed,
        labels,
        guidance: settings.guidance,
    };
    let batch = run.labels.len();
    let mut record = RunRecord::new("fake-model".into(), run, shape);
    record.start = diffuscope::sample::starting_noise(batch, shape.values(), settings.seed);
    let result = sample(&Fake(shape), &settings, &mut |frame: &StepFrame<'_>| {
        if keep.is_some_and(|keep| frame.step >= keep) {
            return ControlFlow::Break(());
        }
        record
            .frames
            .push(Arc::new(Frame::record(frame, batch, shape)));
        ControlFlow::Continue(())
    });
    match (result, keep) {
        (Ok(samples), None) => {
            record.samples = Some(samples);
            record.elapsed = Some(Duration::from_millis(1234));
        }
        (Err(SampleError::Cancelled { .. }), Some(_)) => {}
        (other, _) => panic!("unexpected end of the run: {other:?}"),
    }
    record.network_calls = record.frames.last().map_or(0, |f| f.network_calls);
    record
}

fn folder() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary folder")
}

fn save(record: &RunRecord, path: &Path) {
    save_run(path, record).unwrap_or_else(|e| panic!("saving {}: {e}", path.display()));
}

fn open(path: &Path) -> RunRecord {
    open_run(path).unwrap_or_else(|e| panic!("opening {}: {e}", path.display()))
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// The error opening `bytes` as a run file gives; its sentences must exist in both languages.
fn open_error(folder: &Path, bytes: &[u8]) -> RunFileError {
    let path = folder.join("bad.dsrun");
    write(&path, bytes);
    let Err(error) = open_run(&path) else {
        panic!("a bad file was opened")
    };
    let (en, zh) = (error.sentence(Lang::En), error.sentence(Lang::Zh));
    assert!(
        en.contains("bad.dsrun") && zh.contains("bad.dsrun"),
        "{en} / {zh}"
    );
    assert_ne!(en, zh);
    assert!(
        !en.contains('\n') && en.ends_with('.'),
        "one sentence: {en}"
    );
    error
}

#[test]
fn a_saved_run_opens_as_the_same_run() {
    let dir = folder();
    let runs = [
        // Guided and finished (DDPM: fresh noise at every step).
        recorded(
            SamplerKind::Ddpm,
            12,
            vec![Some(3), Some(7), Some(0), Some(9)],
            None,
        ),
        // Unconditional, stopped after 4 of 10 steps.
        recorded(SamplerKind::Ddim, 10, vec![None; 2], Some(4)),
        // A flow model: points are σ, not t.
        recorded(SamplerKind::FlowHeun, 6, vec![Some(1)], None),
        // Flow Heun over diffusers' shifted σ's.
        {
            let mut record = recorded(SamplerKind::FlowHeun, 4, vec![None], None);
            record.settings.sampler.diffusers.flow_sigmas = FlowSigmas::Diffusers {
                shift: FlowShift::Fixed(3.0),
                terminal: None,
            };
            record
        },
        // Colour images, finished.
        recorded_in(
            ImageShape::rgb(4, 3),
            SamplerKind::Ddim,
            3,
            vec![Some(1), None],
            None,
        ),
        // Flow Euler with dynamic shifting stretched to a terminal σ.
        {
            let mut record = recorded(SamplerKind::FlowEuler, 4, vec![None], None);
            record.settings.sampler.diffusers.flow_sigmas = FlowSigmas::Diffusers {
                shift: FlowShift::Dynamic(DynamicShift {
                    base_shift: 0.5,
                    max_shift: 1.15,
                    base_seq_len: 256.0,
                    max_seq_len: 4096.0,
                    linear: true,
                }),
                terminal: Some(0.1),
            };
            record
        },
        // DPM-Solver thresholding x̂0 and ending on the smallest σ with a second-order step.
        {
            let mut record = recorded(SamplerKind::DpmSolver2M, 5, vec![Some(4)], None);
            let options = &mut record.settings.sampler.diffusers;
            options.x0_limit = X0Limit::Dynamic {
                ratio: 0.9,
                ceiling: 1.5,
            };
            options.final_sigma = FinalSigma::SigmaMin;
            options.lower_order_final = false;
            options.sigma_ramp = SigmaRamp::Karras;
            options.dpm_order = 3;
            options.dpm_solver_type = DpmSolverType::Heun;
            record
        },
        // Euler along an exponential ramp between its own ends.
        {
            let mut record = recorded(SamplerKind::Euler, 4, vec![None], None);
            let options = &mut record.settings.sampler.diffusers;
            options.sigma_ramp = SigmaRamp::Exponential;
            options.sigma_bounds = (Some(0.05), Some(20.0));
            record
        },
        // DDIM under diffusers' rule, as a diffusers scheduler config asks.
        {
            let mut record = recorded(SamplerKind::Ddim, 5, vec![Some(2)], None);
            record.settings.sampler.diffusers = DiffusersOptions {
                steps_offset: 1,
                ddim_step: DdimStep::Diffusers,
                set_alpha_to_one: false,
                ..DiffusersOptions::default()
            };
            record
        },
    ];
    for (i, record) in runs.iter().enumerate() {
        let path = dir.path().join(format!("run-{i}.dsrun"));
        save(record, &path);
        let mut opened = open(&path);
        assert_eq!(
            opened.opened_from.as_deref(),
            Some(format!("run-{i}.dsrun").as_str())
        );
        opened.opened_from = None;
        assert_eq!(&opened, record, "run {i}");
        // Saving what was opened writes the same bytes.
        let again = dir.path().join(format!("again-{i}.dsrun"));
        save(&opened, &again);
        assert_eq!(read(&path), read(&again), "run {i}");
    }
    assert!(runs[0].frames[0].guidance.is_some() && runs[1].frames[0].guidance.is_none());
    // Nothing but the files asked for is left in the folder.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .map(|entry| entry.file_name())
        .collect();
    assert_eq!(names.len(), 2 * runs.len(), "{names:?}");
}

#[test]
fn a_run_file_is_a_safetensors_file_with_the_documented_tensors() {
    let dir = folder();
    let record = recorded(SamplerKind::Ddpm, 8, vec![Some(2); 4], None);
    let path = dir.path().join("run.dsrun");
    save(&record, &path);
    let bytes = read(&path);
    let tensors = safetensors::SafeTensors::deserialize(&bytes).expect("not a safetensors file");
    let mut names = tensors.names();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "eps",
            "eps_conditional",
            "eps_unconditional",
            "labels",
            "path_point",
            "samples",
            "start",
            "step_index",
            "x0",
            "x_t"
        ]
    );
    let x_t = tensors.tensor("x_t").unwrap();
    assert_eq!(x_t.dtype(), safetensors::Dtype::F16);
    assert_eq!(x_t.shape(), [8, 4, SIDE, SIDE]);
    // Step 3's first value, as Python would read it.
    let at = (3 * 4 * SIDE * SIDE) * 2;
    let value = half::f16::from_le_bytes([x_t.data()[at], x_t.data()[at + 1]]);
    assert_eq!(value, record.frames[3].x_t[0]);
    let (_, metadata) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let metadata = metadata.metadata().clone().unwrap_or_default();
    assert_eq!(
        metadata.get("diffuscope.kind").map(String::as_str),
        Some("run")
    );
    assert_eq!(
        metadata.get("diffuscope.format").map(String::as_str),
        Some("1")
    );
    assert_eq!(metadata.get("sampler").map(String::as_str), Some("ddpm"));
    assert_eq!(metadata.get("seed").map(String::as_str), Some("11"));
}

#[test]
fn a_failed_save_leaves_no_file() {
    let dir = folder();
    let record = recorded(SamplerKind::Ddim, 3, vec![None], None);
    let missing = dir.path().join("no such folder").join("run.dsrun");
    match save_run(&missing, &record) {
        Err(ExportError::FolderMissing { .. }) => {}
        other => panic!("expected FolderMissing, got {other:?}"),
    }
    // A run whose buffers do not fit its size is refused before anything is written.
    let mut broken = record.clone();
    broken.start.pop();
    let path = dir.path().join("broken.dsrun");
    assert!(matches!(
        save_run(&path, &broken),
        Err(ExportError::Encode { .. })
    ));
    assert!(!path.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).map(Iterator::count).ok(),
        Some(0)
    );
}

#[test]
fn every_cut_of_a_run_file_is_refused_with_a_sentence() {
    let dir = folder();
    let record = recorded(SamplerKind::Ddpm, 5, vec![Some(4); 2], None);
    let path = dir.path().join("run.dsrun");
    save(&record, &path);
    let bytes = read(&path);
    for len in (0..bytes.len()).step_by(7).chain([bytes.len() - 1]) {
        let error = open_error(dir.path(), &bytes[..len]);
        assert!(
            matches!(
                error,
                RunFileError::NotARunFile { .. } | RunFileError::Damaged { .. }
            ),
            "cut at {len}: {error:?}"
        );
    }
    // One byte too many is damage too.
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(
        open_error(dir.path(), &longer),
        RunFileError::Damaged { .. }
    ));
}

#[test]
fn altered_bytes_never_panic() {
    let dir = folder();
    let record = recorded(SamplerKind::Ddpm, 4, vec![Some(4), None], None);
    let path = dir.path().join("run.dsrun");
    save(&record, &path);
    let bytes = read(&path);
    let header_end = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap_or_default()) as usize;
    let target = dir.path().join("altered.dsrun");
    // Every byte of the header, and a sample of the data, set to a few values in turn.
    let positions = (0..header_end).chain((header_end..bytes.len()).step_by(13));
    let mut refused = 0;
    for position in positions {
        for value in [0u8, b'9', b'"', 0xff] {
            if bytes[position] == value {
                continue;
            }
            let mut altered = bytes.clone();
            altered[position] = value;
            write(&target, &altered);
            match open_run(&target) {
                Ok(opened) => assert_eq!(opened.batch(), 2),
                Err(error) => {
                    refused += 1;
                    assert!(!error.sentence(Lang::Zh).is_empty());
                }
            }
        }
    }
    assert!(refused > 100, "only {refused} altered files were refused");
}

/// A header that declares `tensors` (JSON) with `metadata`, followed by `data_len` zero bytes.
fn crafted(metadata: &str, tensors: &str, data_len: usize) -> Vec<u8> {
    let header = format!("{{\"__metadata__\":{metadata},{tensors}}}");
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.resize(bytes.len() + data_len, 0);
    bytes
}

#[test]
fn hostile_sizes_are_refused_before_anything_is_allocated() {
    let dir = folder();
    let run_meta = r#"{"diffuscope.kind":"run","diffuscope.format":"1"}"#;
    // Huge shapes whose offsets claim the data is there.
    let huge = crafted(
        run_meta,
        r#""start":{"dtype":"F32","shape":[4096,1024,1024],"data_offsets":[0,17179869184]},
           "step_index":{"dtype":"I64","shape":[100000,3],"data_offsets":[0,2400000]}"#,
        64,
    );
    assert!(matches!(
        open_error(dir.path(), &huge),
        RunFileError::Damaged { .. }
    ));
    // Shapes past the limits, and shapes whose product overflows.
    for shape in [
        "[4097,28,28]",
        "[1,1025,28]",
        "[18446744073709551615,2,2]",
        "[0,28,28]",
    ] {
        let tensors = format!(
            r#""start":{{"dtype":"F32","shape":{shape},"data_offsets":[0,16]}},
               "step_index":{{"dtype":"I64","shape":[1,3],"data_offsets":[16,40]}}"#
        );
        let bytes = crafted(run_meta, &tensors, 40);
        assert!(
            matches!(open_error(dir.path(), &bytes), RunFileError::Damaged { .. }),
            "{shape}"
        );
    }
    // A header length far beyond the file.
    let mut bytes = u64::MAX.to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{}");
    assert!(matches!(
        open_error(dir.path(), &bytes),
        RunFileError::NotARunFile { .. }
    ));
    // Deeply nested JSON.
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let bytes = crafted(run_meta, &format!("\"x\":{nested}"), 0);
    assert!(matches!(
        open_error(dir.path(), &bytes),
        RunFileError::Damaged { .. }
    ));
}

#[test]
fn other_files_are_named_for_what_they_are() {
    let dir = folder();
    assert!(matches!(
        open_error(dir.path(), b""),
        RunFileError::NotARunFile { .. }
    ));
    let png = read(Path::new("assets/images/chelsea.png"));
    assert!(matches!(
        open_error(dir.path(), &png),
        RunFileError::NotARunFile { .. }
    ));
    let model = read(Path::new("assets/models/digits-eps.safetensors"));
    assert!(matches!(
        open_error(dir.path(), &model),
        RunFileError::IsAModel { .. }
    ));
    let newer = crafted(
        r#"{"diffuscope.kind":"run","diffuscope.format":"7"}"#,
        r#""a":1"#,
        0,
    );
    let error = open_error(dir.path(), &newer);
    assert!(
        matches!(error, RunFileError::NewerFormat { found: 7, .. }),
        "{error:?}"
    );
    assert!(error.sentence(Lang::En).contains("newer"));
    let missing = PathBuf::from(dir.path()).join("missing.dsrun");
    match open_run(&missing) {
        Err(error @ RunFileError::Read { .. }) => {
            assert!(error.sentence(Lang::En).contains("does not exist"));
            assert!(error.sentence(Lang::Zh).contains("不存在"));
        }
        other => panic!("expected Read, got {other:?}"),
    }
}
