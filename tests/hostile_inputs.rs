//! Hostile inputs that a plain error test cannot judge: decompression bombs (checked by the memory
//! they make us allocate), checkpoints whose schedule metadata is nonsense, and pipes given to the
//! command line in place of files.
//!
//! Memory is measured with a counting allocator that keeps one tally per thread, so tests running
//! side by side do not disturb each other's figures.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    unsafe_code,
    reason = "a counting global allocator must implement the unsafe GlobalAlloc trait"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use candle_core::Device;
use diffuscope::data::file::{FileKind, FileRefusal};
use diffuscope::data::load::{MAX_SIDE_DATA_BYTES, load_picture_from_bytes};
use diffuscope::data::mnist::{IMAGES_MAGIC, LABELS_MAGIC, MnistError, load_digits};
use diffuscope::i18n::Lang;
use diffuscope::model::checkpoint::{
    CheckpointError, MAX_TRAIN_STEPS, MetadataProblem, load_diffusion_model,
};
use diffuscope::worker::run_file::open_run;
use flate2::Compression;
use flate2::write::{GzEncoder, ZlibEncoder};
use safetensors::SafeTensors;

// ---------------------------------------------------------------- counting allocator

/// The system allocator, counting the bytes each thread holds and the most it held.
struct Counting;

thread_local! {
    static HELD: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

/// Adds `bytes` (negative when freed) to this thread's tally.
fn note(bytes: isize) {
    // `try_with`: a thread being torn down may still free memory.
    let _ = HELD.try_with(|held| {
        let now = held.get() + bytes;
        held.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

fn signed(size: usize) -> isize {
    isize::try_from(size).unwrap_or(isize::MAX)
}

// SAFETY: every call is passed on unchanged to the system allocator; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract, which `System.alloc` shares.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            note(signed(layout.size()));
        }
        pointer
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if !pointer.is_null() {
            note(signed(layout.size()));
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: the caller passes a block this allocator (that is, `System`) gave out.
        unsafe { System.dealloc(pointer, layout) };
        note(-signed(layout.size()));
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`, and `new_size` is valid by the caller's contract.
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            note(signed(new_size) - signed(layout.size()));
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `work` and returns its result with the most bytes this thread held meanwhile, above what
/// it held before.
fn peak_bytes<T>(work: impl FnOnce() -> T) -> (T, u64) {
    HELD.with(|held| held.set(0));
    PEAK.with(|peak| peak.set(0));
    let result = work();
    let peak = PEAK.with(Cell::get);
    (result, u64::try_from(peak).unwrap_or(0))
}

const MB: u64 = 1 << 20;

/// `megabytes` MB of zeros through `encoder`, one megabyte at a time.
fn zeros_into<W: Write>(encoder: &mut W, megabytes: u64) {
    let block = vec![0_u8; 1 << 20];
    for _ in 0..megabytes {
        encoder.write_all(&block).unwrap();
    }
}

// ---------------------------------------------------------------- decompression bombs

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let length = u32::try_from(data.len()).unwrap();
    out.extend_from_slice(&length.to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

fn zlib(write: impl FnOnce(&mut ZlibEncoder<Vec<u8>>)) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::best());
    write(&mut encoder);
    encoder.finish().unwrap()
}

/// An 8×8 grey PNG whose colour profile (iCCP) decompresses to `profile_mb` MB of zeros.
fn png_with_profile(profile_mb: u64) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&8_u32.to_be_bytes());
    ihdr.extend_from_slice(&8_u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    png_chunk(&mut png, b"IHDR", &ihdr);
    let mut iccp = b"bomb\0\0".to_vec(); // profile name, compression method 0
    iccp.extend(zlib(|z| zeros_into(z, profile_mb)));
    png_chunk(&mut png, b"iCCP", &iccp);
    // Eight rows: filter byte 0 and 8 grey RGB pixels each.
    let row: Vec<u8> = std::iter::once(0).chain([128; 24]).collect();
    let rows = row.repeat(8);
    let idat = zlib(|z| z.write_all(&rows).unwrap());
    png_chunk(&mut png, b"IDAT", &idat);
    png_chunk(&mut png, b"IEND", &[]);
    png
}

#[test]
fn a_png_with_a_huge_colour_profile_loads_in_bounded_memory() {
    // 256 MB of profile in about 250 kB of file.
    let png = png_with_profile(256);
    assert!(png.len() < 1 << 20, "{} bytes", png.len());
    let (loaded, peak) = peak_bytes(|| load_picture_from_bytes(&png));
    let loaded = loaded.unwrap();
    assert_eq!((loaded.picture.width, loaded.picture.height), (8, 8));
    println!("peak while loading: {} MB", peak / MB);
    assert!(
        peak < MAX_SIDE_DATA_BYTES + 32 * MB,
        "loading held {} MB",
        peak / MB
    );
}

fn idx_header(magic: u32, count: u32) -> Vec<u8> {
    let mut words = vec![magic, count];
    if magic == IMAGES_MAGIC {
        words.extend([28, 28]);
    }
    words.iter().flat_map(|w| w.to_be_bytes()).collect()
}

/// A gzip stream of `header` followed by `zeros_mb` MB of zeros.
fn gzip_bomb(header: &[u8], zeros_mb: u64) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(header).unwrap();
    zeros_into(&mut encoder, zeros_mb);
    encoder.finish().unwrap()
}

#[test]
fn gzip_bombs_given_as_training_digits_stay_small_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let labels = dir.path().join("labels.gz");
    std::fs::write(&labels, gzip_bomb(&idx_header(LABELS_MAGIC, 1), 0)).unwrap();
    // A header announcing four billion digits, and one announcing one digit; each followed by
    // 128 MB of zeros in about 130 kB.
    for (count, refused_at_once) in [(u32::MAX, true), (1, false)] {
        let images = dir.path().join(format!("images-{count}.gz"));
        let bomb = gzip_bomb(&idx_header(IMAGES_MAGIC, count), 128);
        std::fs::write(&images, &bomb).unwrap();
        let (result, peak) = peak_bytes(|| load_digits(&images, &labels));
        let error = result.expect_err("the bomb loaded");
        println!("count {count}: {error}; peak {} kB", peak >> 10);
        if refused_at_once {
            assert!(
                matches!(error, MnistError::TooManyDigits { .. }),
                "{error:?}"
            );
        } else {
            assert!(
                matches!(error, MnistError::TrailingData { .. }),
                "{error:?}"
            );
        }
        assert!(
            peak < bomb.len() as u64 + 4 * MB,
            "reading a {} kB bomb held {} MB",
            bomb.len() >> 10,
            peak / MB
        );
    }
}

// ---------------------------------------------------------------- schedule metadata

fn tiny_checkpoint() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/unet-tiny-golden.safetensors")
}

/// The tiny golden checkpoint with metadata entries replaced, written into `dir` as `name`.
fn with_metadata(dir: &Path, name: &str, entries: &[(&str, &str)]) -> PathBuf {
    let bytes = std::fs::read(tiny_checkpoint()).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let mut metadata: HashMap<String, String> = header.metadata().clone().unwrap_or_default();
    for (key, value) in entries {
        metadata.insert((*key).to_owned(), (*value).to_owned());
    }
    let out = safetensors::serialize(file.tensors(), Some(metadata)).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, out).unwrap();
    path
}

#[test]
fn nonsense_schedules_are_refused_on_load_naming_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, MetadataProblem); 12] = [
        ("beta_start", "-1", MetadataProblem::BetaOutOfRange),
        ("beta_start", "0", MetadataProblem::BetaOutOfRange),
        ("beta_end", "1", MetadataProblem::BetaOutOfRange),
        ("beta_end", "1.5", MetadataProblem::BetaOutOfRange),
        ("beta_start", "NaN", MetadataProblem::NotANumber),
        ("beta_end", "inf", MetadataProblem::NotANumber),
        ("beta_end", "a little", MetadataProblem::NotANumber),
        ("beta_start", "0.5", MetadataProblem::BetasOutOfOrder),
        (
            "train_steps_T",
            "1000000",
            MetadataProblem::TrainStepsOutOfRange,
        ),
        ("train_steps_T", "0", MetadataProblem::TrainStepsOutOfRange),
        ("train_steps_T", "-3", MetadataProblem::TrainStepsOutOfRange),
        ("schedule", "quadratic", MetadataProblem::UnknownSchedule),
    ];
    for (i, (key, value, problem)) in cases.into_iter().enumerate() {
        let path = with_metadata(dir.path(), &format!("bad-{i}.safetensors"), &[(key, value)]);
        let error = load_diffusion_model(&path, &Device::Cpu)
            .err()
            .unwrap_or_else(|| panic!("{key} = {value} loaded"));
        match &error {
            CheckpointError::BadMetadata {
                key: k, problem: p, ..
            } => assert_eq!((k.as_str(), p), (key, &problem), "{key} = {value}"),
            other => panic!("{key} = {value}: {other:?}"),
        }
        for lang in Lang::ALL {
            let sentence = error.sentence(lang);
            assert!(sentence.contains(key), "{sentence}");
            assert!(
                sentence.contains(&format!("bad-{i}.safetensors")),
                "{sentence}"
            );
        }
        assert!(error.sentence(Lang::Zh).ends_with('。'));
    }
    let error = load_diffusion_model(
        &with_metadata(
            dir.path(),
            "huge-t.safetensors",
            &[("train_steps_T", "20000")],
        ),
        &Device::Cpu,
    )
    .expect_err("T = 20000 loaded");
    assert!(
        error
            .sentence(Lang::En)
            .contains(&MAX_TRAIN_STEPS.to_string())
    );
}

#[test]
fn sensible_schedules_at_the_edges_load() {
    let dir = tempfile::tempdir().unwrap();
    let limit = MAX_TRAIN_STEPS.to_string();
    for (i, entries) in [
        vec![("train_steps_T", "1")],
        vec![("train_steps_T", limit.as_str())],
        vec![("beta_start", "0.02"), ("beta_end", "0.02")],
        vec![("schedule", "cosine")],
        vec![("schedule", "rectified-flow"), ("objective", "flow")],
    ]
    .into_iter()
    .enumerate()
    {
        let path = with_metadata(dir.path(), &format!("ok-{i}.safetensors"), &entries);
        if let Err(error) = load_diffusion_model(&path, &Device::Cpu) {
            panic!("{entries:?}: {error}");
        }
    }
}

// ---------------------------------------------------------------- the command line

fn diffuscope(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_diffuscope"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("could not run diffuscope")
}

/// Waits for the command to end; kills it and fails if it takes longer than `limit`.
fn finished_within(mut child: Child, limit: Duration) -> Output {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("the command was still running after {limit:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn with_t_1_the_command_line_says_it_runs_fewer_steps() {
    let dir = tempfile::tempdir().unwrap();
    let model = with_metadata(dir.path(), "t1.safetensors", &[("train_steps_T", "1")]);
    let png = dir.path().join("out.png");
    let (model, png) = (model.to_string_lossy(), png.to_string_lossy());
    for (steps, lang, expected) in [
        (
            "5",
            "en",
            Some("T = 1 timesteps, so the run takes 1 instead of the 5 steps"),
        ),
        ("5", "zh", Some("T = 1 个时间步")),
        ("1", "en", None),
    ] {
        let args = [
            "sample",
            "--model",
            &model,
            "--grid",
            "1x1",
            "--sampler",
            "ddim",
            "--steps",
            steps,
            "--device",
            "cpu",
            "--png",
            &png,
            "--lang",
            lang,
        ];
        let output = finished_within(diffuscope(&args), Duration::from_secs(120));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        match expected {
            Some(note) => assert!(stderr.contains(note), "{stderr}"),
            None => assert!(!stderr.contains("timesteps"), "{stderr}"),
        }
    }
}

#[cfg(unix)]
#[test]
fn pipes_given_as_inputs_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("input.fifo");
    let status = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(status.success(), "mkfifo failed");
    // A training state beside the model that is a pipe too.
    let model = dir.path().join("model.safetensors");
    let state = Command::new("mkfifo")
        .arg(dir.path().join("model.resume.safetensors"))
        .status()
        .unwrap();
    assert!(state.success(), "mkfifo failed");
    let (fifo, out, model) = (
        fifo.to_string_lossy().into_owned(),
        dir.path().join("out.gif").to_string_lossy().into_owned(),
        model.to_string_lossy().into_owned(),
    );
    let commands: [&[&str]; 4] = [
        &[
            "export", "forward", "--image", &fifo, "--frames", "2", "--out", &out,
        ],
        &[
            "train", "--tiny", "--steps", "1", "--images", &fifo, "--labels", &fifo, "--out", &out,
        ],
        &["sample", "--model", &fifo, "--device", "cpu", "--png", &out],
        &[
            "train", "--tiny", "--steps", "1", "--resume", "--out", &model,
        ],
    ];
    for args in commands {
        let output = finished_within(diffuscope(args), Duration::from_secs(60));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?}: {stderr}");
        assert!(stderr.contains("named pipe"), "{args:?}: {stderr}");
        assert!(
            stderr.contains("input.fifo") || stderr.contains("model.resume.safetensors"),
            "{args:?}: {stderr}"
        );
    }
    // A run file that is a pipe, opened as the window opens one.
    let (sender, receiver) = crossbeam_channel::bounded(1);
    let path = PathBuf::from(&fifo);
    std::thread::Builder::new()
        .name("open-run-under-test".to_owned())
        .spawn(move || sender.send(open_run(&path).err().map(|e| e.to_string())))
        .unwrap();
    let error = receiver
        .recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("opening a run file from a pipe hangs"));
    assert!(
        error.as_deref().is_some_and(|e| e.contains("named pipe")),
        "{error:?}"
    );

    // The library's loaders, each on a thread of its own.
    let (sender, receiver) = crossbeam_channel::bounded(1);
    let path = PathBuf::from(&fifo);
    std::thread::Builder::new()
        .name("load-under-test".to_owned())
        .spawn(move || sender.send(load_diffusion_model(&path, &Device::Cpu).err()))
        .unwrap();
    let error = receiver
        .recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("loading a checkpoint from a pipe hangs"));
    assert!(
        matches!(
            error,
            Some(CheckpointError::Refused {
                refusal: FileRefusal::NotAFile {
                    kind: FileKind::NamedPipe
                },
                ..
            })
        ),
        "{error:?}"
    );
}
