//! Opening a run file: the header is checked against the file's length, and every tensor against
//! the layout the header's sizes imply, before anything is allocated; then the values are read and
//! checked (labels, steps, points) before they become a [`RunRecord`].

use std::collections::BTreeMap;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::{
    Dims, FORMAT_VERSION, FRAME_TENSORS, GUIDANCE_TENSORS, KEY_FORMAT, KEY_KIND, KIND, LeValue,
    MAX_BATCH, MAX_FILE_BYTES, MAX_FRAMES, MAX_HEADER_BYTES, MAX_SIDE, RunFileError, TensorSpec,
    layout,
};
use crate::data::file::{FileRefusal, ReadError, open_regular_file};
use crate::diffusion::objectives::Coefficients;
use crate::diffusion::samplers::{
    DdimStep, DdpmVariance, DiffusersOptions, DpmSolverType, FinalSigma, FlowSigmas, PathPoint,
    Position, SamplerSpec, SigmaRamp,
};
use crate::sample::ImageShape;
use crate::worker::{Frame, GuidanceFrame, RunRecord, RunSettings};

/// A tensor as the header describes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    dtype: String,
    shape: Vec<u64>,
    data_offsets: [u64; 2],
}

/// What went wrong, before the path is added.
enum Problem {
    Read(std::io::Error),
    Refused(FileRefusal),
    NotARunFile(String),
    IsAModel,
    NewerFormat(u64),
    TooLarge(u64),
    Damaged(String),
}

impl From<std::io::Error> for Problem {
    fn from(error: std::io::Error) -> Self {
        // The sizes were checked against the file, so running out of bytes means it changed.
        if error.kind() == std::io::ErrorKind::UnexpectedEof {
            Self::Damaged("the file ended early".into())
        } else {
            Self::Read(error)
        }
    }
}

fn damaged(detail: impl Into<String>) -> Problem {
    Problem::Damaged(detail.into())
}

/// Opens the run file at `path`.
pub fn open_run(path: &Path) -> Result<RunRecord, RunFileError> {
    read_run(path).map_err(|problem| problem.at(path))
}

/// Reads a run file from its bytes, as [`open_run`] reads the file; `name` only names it in
/// errors and as the file the run was opened from.
pub fn read_run_bytes(name: &Path, bytes: &[u8]) -> Result<RunRecord, RunFileError> {
    read_run_from(std::io::Cursor::new(bytes), bytes.len() as u64, name)
        .map_err(|problem| problem.at(name))
}

impl Problem {
    /// The error for the file at `path`.
    fn at(self, path: &Path) -> RunFileError {
        let path_buf = path.to_path_buf();
        match self {
            Self::Read(source) => RunFileError::Read {
                path: path_buf,
                source,
            },
            Self::Refused(refusal) => RunFileError::Refused {
                path: path_buf,
                refusal,
            },
            Self::NotARunFile(detail) => RunFileError::NotARunFile {
                path: path_buf,
                detail,
            },
            Self::IsAModel => RunFileError::IsAModel { path: path_buf },
            Self::NewerFormat(found) => RunFileError::NewerFormat {
                path: path_buf,
                found,
                known: FORMAT_VERSION,
            },
            Self::TooLarge(bytes) => RunFileError::TooLarge {
                path: path_buf,
                bytes,
                limit: MAX_FILE_BYTES,
            },
            Self::Damaged(detail) => RunFileError::Damaged {
                path: path_buf,
                detail,
            },
        }
    }
}

fn read_run(path: &Path) -> Result<RunRecord, Problem> {
    // Only an ordinary file is opened: a named pipe would hang, a device never ends.
    let file = open_regular_file(path).map_err(|error| match error {
        ReadError::Io(error) => Problem::from(error),
        ReadError::Refused(refusal) => Problem::Refused(refusal),
    })?;
    let file_len = file.metadata()?.len();
    read_run_from(BufReader::new(file), file_len, path)
}

/// Reads a run file of `file_len` bytes from `reader`; `path` names the file it came from.
fn read_run_from(
    mut reader: impl Read + Seek,
    file_len: u64,
    path: &Path,
) -> Result<RunRecord, Problem> {
    if file_len > MAX_FILE_BYTES {
        return Err(Problem::TooLarge(file_len));
    }
    let (header_len, map) = read_header(&mut reader, file_len)?;
    let metadata = check_kind(&map)?;
    let entries = entries(&map)?;
    let dims = dims(&entries)?;
    let specs = layout(dims);
    let data_start = 8 + header_len;
    let offsets = check_layout(&entries, &specs, file_len - data_start)?;

    let mut tensors = Tensors {
        reader,
        data_start,
        offsets,
    };
    let settings = settings(&metadata, tensors.read(&specs, "labels")?)?;
    let start = tensors.read::<f32>(&specs, "start")?;
    let frames = frames(&mut tensors, &specs, dims)?;
    let samples = if dims.finished {
        Some(tensors.read::<f32>(&specs, "samples")?)
    } else {
        None
    };
    let mut record = RunRecord::new(text(&metadata, "model")?.to_owned(), settings, dims.image);
    record.frames = frames;
    record.samples = samples;
    record.start = start;
    record.network_calls = parsed(&metadata, "network_calls")?;
    record.elapsed = match metadata.get("elapsed_secs") {
        None => None,
        Some(text) => Some(
            text.parse::<f64>()
                .ok()
                .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
                .ok_or_else(|| damaged("elapsed_secs is not a duration"))?,
        ),
    };
    record.opened_from = path.file_name().map(|n| n.to_string_lossy().into_owned());
    Ok(record)
}

/// The header's length and its JSON object, after checking both against the file's length.
fn read_header(
    reader: &mut impl Read,
    file_len: u64,
) -> Result<(u64, serde_json::Map<String, Value>), Problem> {
    let not_run = |detail: &str| Problem::NotARunFile(detail.to_owned());
    if file_len < 8 {
        return Err(not_run("shorter than a header"));
    }
    let mut length = [0; 8];
    reader.read_exact(&mut length)?;
    let header_len = u64::from_le_bytes(length);
    if header_len > MAX_HEADER_BYTES || header_len > file_len - 8 {
        return Err(not_run("the first 8 bytes are not a header length"));
    }
    let mut header = vec![0; header_len as usize];
    reader.read_exact(&mut header)?;
    match serde_json::from_slice(&header) {
        Ok(Value::Object(map)) => Ok((header_len, map)),
        Ok(_) => Err(not_run("the header is not a JSON object")),
        Err(_)
            if header
                .windows(KEY_KIND.len())
                .any(|w| w == KEY_KIND.as_bytes()) =>
        {
            Err(damaged("the header is not valid JSON"))
        }
        Err(_) => Err(not_run("the header is not JSON")),
    }
}

/// The metadata, once it says this is a run file of a version this program reads.
fn check_kind(map: &serde_json::Map<String, Value>) -> Result<BTreeMap<String, String>, Problem> {
    let metadata: BTreeMap<String, String> = map
        .get("__metadata__")
        .and_then(|m| serde_json::from_value(m.clone()).ok())
        .ok_or_else(|| Problem::NotARunFile("no metadata".into()))?;
    match metadata.get(KEY_KIND).map(String::as_str) {
        Some(KIND) => {}
        Some("digit-unet" | "digit-classifier") => return Err(Problem::IsAModel),
        Some(other) => return Err(Problem::NotARunFile(format!("it holds “{other}”"))),
        None if map.contains_key("x_t") => return Err(damaged("diffuscope.kind is missing")),
        None => return Err(Problem::NotARunFile("no diffuscope.kind".into())),
    }
    let version = metadata
        .get(KEY_FORMAT)
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| damaged("the format version is missing"))?;
    if version > u64::from(FORMAT_VERSION) {
        return Err(Problem::NewerFormat(version));
    }
    if version == 0 {
        return Err(damaged("format version 0"));
    }
    Ok(metadata)
}

fn entries(map: &serde_json::Map<String, Value>) -> Result<BTreeMap<String, Entry>, Problem> {
    map.iter()
        .filter(|(name, _)| *name != "__metadata__")
        .map(|(name, value)| {
            serde_json::from_value::<Entry>(value.clone())
                .map(|entry| (name.clone(), entry))
                .map_err(|e| damaged(format!("tensor {name}: {e}")))
        })
        .collect()
}

/// The sizes the header declares, bounded.
fn dims(entries: &BTreeMap<String, Entry>) -> Result<Dims, Problem> {
    let shape = |name: &str| {
        entries
            .get(name)
            .map(|e| e.shape.as_slice())
            .ok_or_else(|| damaged(format!("no tensor {name}")))
    };
    let within = |value: u64, low: u64, high: usize, what: &str| {
        usize::try_from(value)
            .ok()
            .filter(|&v| v as u64 >= low && v <= high)
            .ok_or_else(|| damaged(format!("{what} {value} is out of range")))
    };
    let (batch, channels, height, width) = match *shape("start")? {
        [batch, height, width] => (batch, 1, height, width),
        [batch, 3, height, width] => (batch, 3, height, width),
        _ => return Err(damaged("start is not batch × height × width")),
    };
    let &[frames, 3] = shape("step_index")? else {
        return Err(damaged("step_index is not frames × 3"));
    };
    Ok(Dims {
        frames: within(frames, 0, MAX_FRAMES, "frames")?,
        batch: within(batch, 1, MAX_BATCH, "batch")?,
        image: ImageShape {
            channels,
            height: within(height, 1, MAX_SIDE, "height")?,
            width: within(width, 1, MAX_SIDE, "width")?,
        },
        guided: entries.contains_key(GUIDANCE_TENSORS[0]),
        finished: entries.contains_key("samples"),
    })
}

/// Checks every tensor against `specs` and the data's length; returns each tensor's offset.
fn check_layout(
    entries: &BTreeMap<String, Entry>,
    specs: &[TensorSpec],
    data_len: u64,
) -> Result<BTreeMap<&'static str, u64>, Problem> {
    if entries.len() != specs.len() {
        return Err(damaged(format!(
            "{} tensors instead of {}",
            entries.len(),
            specs.len()
        )));
    }
    let mut spans = Vec::with_capacity(specs.len());
    for spec in specs {
        let entry = entries
            .get(spec.name)
            .ok_or_else(|| damaged(format!("no tensor {}", spec.name)))?;
        let shape: Vec<u64> = spec.shape.iter().map(|&n| n as u64).collect();
        if entry.dtype != spec.dtype.name() || entry.shape != shape {
            return Err(damaged(format!(
                "tensor {} is {} {:?}, expected {} {:?}",
                spec.name,
                entry.dtype,
                entry.shape,
                spec.dtype.name(),
                shape
            )));
        }
        let bytes = shape
            .iter()
            .try_fold(spec.dtype.bytes() as u64, |acc, &n| acc.checked_mul(n))
            .ok_or_else(|| damaged(format!("tensor {} is too large", spec.name)))?;
        let [begin, end] = entry.data_offsets;
        if end.checked_sub(begin) != Some(bytes) {
            return Err(damaged(format!("tensor {}'s offsets", spec.name)));
        }
        spans.push((begin, end, spec.name));
    }
    spans.sort_unstable();
    let mut expected_begin = 0;
    for &(begin, end, name) in &spans {
        if begin != expected_begin {
            return Err(damaged(format!("tensor {name} is not where it should be")));
        }
        expected_begin = end;
    }
    if expected_begin != data_len {
        return Err(damaged(format!(
            "the header describes {expected_begin} bytes of data, the file has {data_len}"
        )));
    }
    Ok(spans
        .into_iter()
        .map(|(begin, _, name)| (name, begin))
        .collect())
}

/// The tensors' bytes, read where the (checked) header puts them.
struct Tensors<R> {
    reader: R,
    data_start: u64,
    offsets: BTreeMap<&'static str, u64>,
}

impl<R: Read + Seek> Tensors<R> {
    /// All values of tensor `name`.
    fn read<T: LeValue>(&mut self, specs: &[TensorSpec], name: &str) -> Result<Vec<T>, Problem> {
        let count = specs
            .iter()
            .find(|s| s.name == name)
            .map_or(0, TensorSpec::values);
        self.seek(name)?;
        read_values(&mut self.reader, count)
    }

    /// Tensor `name` cut into `frames` pieces of `per_frame` values.
    fn read_frames<T: LeValue>(
        &mut self,
        name: &str,
        frames: usize,
        per_frame: usize,
    ) -> Result<Vec<Vec<T>>, Problem> {
        self.seek(name)?;
        (0..frames)
            .map(|_| read_values(&mut self.reader, per_frame))
            .collect()
    }

    fn seek(&mut self, name: &str) -> Result<(), Problem> {
        let offset = self
            .offsets
            .get(name)
            .ok_or_else(|| damaged(format!("no tensor {name}")))?;
        self.reader
            .seek(SeekFrom::Start(self.data_start + offset))?;
        Ok(())
    }
}

/// `count` little-endian values (their bytes were checked to be in the file), read straight into
/// place (and converted afterwards on a big-endian machine).
fn read_values<T: LeValue>(reader: &mut impl Read, count: usize) -> Result<Vec<T>, Problem> {
    let mut values = vec![T::zeroed(); count];
    reader.read_exact(bytemuck::cast_slice_mut(&mut values))?;
    if cfg!(target_endian = "big") {
        for value in &mut values {
            *value = T::from_le(bytemuck::bytes_of(value));
        }
    }
    Ok(values)
}

/// The recorded steps, after checking their indices and points.
fn frames(
    tensors: &mut Tensors<impl Read + Seek>,
    specs: &[TensorSpec],
    dims: Dims,
) -> Result<Vec<Arc<Frame>>, Problem> {
    let index: Vec<i64> = tensors.read(specs, "step_index")?;
    let points: Vec<f64> = tensors.read(specs, "path_point")?;
    let per_frame = dims.batch * dims.image.values();
    let mut buffers = Vec::new();
    for name in FRAME_TENSORS {
        buffers.push(tensors.read_frames(name, dims.frames, per_frame)?);
    }
    let mut guidance = Vec::new();
    if dims.guided {
        for name in GUIDANCE_TENSORS {
            guidance.push(tensors.read_frames(name, dims.frames, per_frame)?);
        }
    }
    let mut frames = Vec::with_capacity(dims.frames);
    for (i, (index, point)) in index
        .chunks_exact(3)
        .zip(points.chunks_exact(5))
        .enumerate()
    {
        let count = |n: i64| usize::try_from(n).map_err(|_| damaged(format!("step {i}'s index")));
        let (step, steps, network_calls) = (count(index[0])?, count(index[1])?, count(index[2])?);
        if step >= steps {
            return Err(damaged(format!("step {step} of {steps}")));
        }
        let take =
            |buffers: &mut Vec<Vec<Vec<half::f16>>>, k: usize| std::mem::take(&mut buffers[k][i]);
        let guidance = dims.guided.then(|| GuidanceFrame {
            eps_conditional: take(&mut guidance, 0),
            eps_unconditional: take(&mut guidance, 1),
        });
        frames.push(Arc::new(Frame {
            step,
            steps,
            point: path_point(point).ok_or_else(|| damaged(format!("step {step}'s point")))?,
            network_calls,
            batch: dims.batch,
            image_shape: dims.image,
            x_t: take(&mut buffers, 0),
            x0: take(&mut buffers, 1),
            eps: take(&mut buffers, 2),
            guidance,
        }));
    }
    Ok(frames)
}

/// A row of `path_point` as a [`PathPoint`], if its numbers make sense.
fn path_point(row: &[f64]) -> Option<PathPoint> {
    let &[kind, value, signal, noise, input] = row else {
        return None;
    };
    if !row.iter().all(|v| v.is_finite()) || input.abs() > f64::from(f32::MAX) {
        return None;
    }
    let position = if kind == 0.0 {
        Position::Timestep(value)
    } else if kind == 1.0 {
        Position::Sigma(value)
    } else {
        return None;
    };
    Some(PathPoint {
        coefficients: Coefficients { signal, noise },
        network_input: input as f32,
        position,
    })
}

/// The run's settings from the metadata and the `labels` tensor.
fn settings(metadata: &BTreeMap<String, String>, labels: Vec<i64>) -> Result<RunSettings, Problem> {
    let labels = labels
        .into_iter()
        .map(|label| match label {
            -1 => Ok(None),
            0..=9 => Ok(Some(label as u32)),
            other => Err(damaged(format!("label {other}"))),
        })
        .collect::<Result<_, _>>()?;
    let variance = match text(metadata, "variance")? {
        "fixed-small" => DdpmVariance::FixedSmall,
        "fixed-large" => DdpmVariance::FixedLarge,
        other => return Err(damaged(format!("variance “{other}”"))),
    };
    let steps: usize = parsed(metadata, "sampler_steps")?;
    let eta: f64 = parsed(metadata, "eta")?;
    let guidance: f32 = parsed(metadata, "guidance")?;
    if steps == 0 || !(0.0..=1.0).contains(&eta) || !guidance.is_finite() {
        return Err(damaged("the sampler's settings are out of range"));
    }
    Ok(RunSettings {
        sampler: SamplerSpec {
            kind: parsed(metadata, "sampler")?,
            steps,
            spacing: parsed(metadata, "spacing")?,
            variance,
            clip_x0: parsed(metadata, "clip_x0")?,
            eta,
            diffusers: diffusers_options(metadata)?,
        },
        seed: parsed(metadata, "seed")?,
        labels,
        guidance,
    })
}

fn text<'a>(metadata: &'a BTreeMap<String, String>, key: &str) -> Result<&'a str, Problem> {
    metadata
        .get(key)
        .map(String::as_str)
        .ok_or_else(|| damaged(format!("no {key} in the metadata")))
}

/// diffusers' options of the run; a file written before they were recorded has the defaults.
fn diffusers_options(metadata: &BTreeMap<String, String>) -> Result<DiffusersOptions, Problem> {
    let defaults = DiffusersOptions::default();
    let steps_offset: usize = parsed_or(metadata, "steps_offset", defaults.steps_offset)?;
    if steps_offset > 1000 {
        return Err(damaged(format!("steps_offset {steps_offset}")));
    }
    Ok(DiffusersOptions {
        steps_offset,
        ddim_step: match metadata.get("ddim_step").map(String::as_str) {
            None | Some("next-listed") => DdimStep::NextListed,
            Some("diffusers") => DdimStep::Diffusers,
            Some(other) => return Err(damaged(format!("ddim_step “{other}”"))),
        },
        set_alpha_to_one: parsed_or(metadata, "set_alpha_to_one", defaults.set_alpha_to_one)?,
        flow_sigmas: match metadata.get("flow_sigmas").map(String::as_str) {
            None | Some("even") => FlowSigmas::Even,
            Some("diffusers") => {
                let sigmas = FlowSigmas::Diffusers {
                    shift: parsed(metadata, "flow_shift")?,
                    terminal: metadata
                        .get("flow_shift_terminal")
                        .map(|_| parsed(metadata, "flow_shift_terminal"))
                        .transpose()?,
                };
                if !sigmas.is_valid() {
                    return Err(damaged("the flow σ's are out of range"));
                }
                sigmas
            }
            Some(other) => return Err(damaged(format!("flow_sigmas “{other}”"))),
        },
        eps_from_clipped_x0: parsed_or(
            metadata,
            "eps_from_clipped_x0",
            defaults.eps_from_clipped_x0,
        )?,
        x0_limit: parsed_or(metadata, "x0_limit", defaults.x0_limit)?,
        final_sigma: match metadata.get("final_sigmas_type") {
            None => defaults.final_sigma,
            Some(name) => FinalSigma::from_diffusers_name(name)
                .ok_or_else(|| damaged(format!("final_sigmas_type “{name}”")))?,
        },
        lower_order_final: parsed_or(metadata, "lower_order_final", defaults.lower_order_final)?,
        euler_at_final: parsed_or(metadata, "euler_at_final", defaults.euler_at_final)?,
        sigma_ramp: match metadata.get("sigma_ramp") {
            None => defaults.sigma_ramp,
            Some(name) => {
                SigmaRamp::from_name(name).ok_or_else(|| damaged(format!("sigma_ramp “{name}”")))?
            }
        },
        sigma_bounds: (
            positive_or_none(metadata, "sigma_min")?,
            positive_or_none(metadata, "sigma_max")?,
        ),
        dpm_order: match parsed_or(metadata, "solver_order", defaults.dpm_order)? {
            order @ 1..=3 => order,
            order => return Err(damaged(format!("solver_order {order}"))),
        },
        dpm_solver_type: match metadata.get("solver_type") {
            None => defaults.dpm_solver_type,
            Some(name) => DpmSolverType::from_diffusers_name(name)
                .ok_or_else(|| damaged(format!("solver_type “{name}”")))?,
        },
    })
}

/// The positive finite number under `key`, or `None` where there is none.
fn positive_or_none(
    metadata: &BTreeMap<String, String>,
    key: &str,
) -> Result<Option<f64>, Problem> {
    let Some(text) = metadata.get(key) else {
        return Ok(None);
    };
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0)
        .map(Some)
        .ok_or_else(|| damaged(format!("{key} “{text}” cannot be read")))
}

/// [`parsed`], or `default` where a file written before `key` was recorded lacks it.
fn parsed_or<T: FromStr>(
    metadata: &BTreeMap<String, String>,
    key: &str,
    default: T,
) -> Result<T, Problem> {
    if metadata.contains_key(key) {
        parsed(metadata, key)
    } else {
        Ok(default)
    }
}

/// Metadata entry `key` parsed as a `T` (a number, a boolean, a sampler or a spacing name).
fn parsed<T: FromStr>(metadata: &BTreeMap<String, String>, key: &str) -> Result<T, Problem> {
    let text = text(metadata, key)?;
    text.parse()
        .map_err(|_| damaged(format!("{key} “{text}” cannot be read")))
}
