//! Run files (`.dsrun`): a recorded run saved to disk and opened again, in this program or in
//! Python.
//!
//! A run file is a [safetensors](https://huggingface.co/docs/safetensors) file: 8 bytes giving
//! the header's length N (little-endian), N bytes of JSON header (padded with spaces to a multiple
//! of 8), then the tensors' bytes, row-major and little-endian, without gaps.
//! `safetensors.numpy.load_file("run.dsrun")` reads it as it is.
//!
//! Metadata (`__metadata__`, every value a string): `diffuscope.kind` = `run`,
//! `diffuscope.format` = `1` (this version), `model` (the model's name), `sampler` (its
//! command-line name), `sampler_steps`, `spacing`, `variance` (`fixed-small` | `fixed-large`),
//! `clip_x0` (`true` | `false`), `eta`, `seed`, `guidance`, `network_calls`, and `elapsed_secs`
//! when the run's wall time is known; diffusers' options of the sampler: `steps_offset`,
//! `ddim_step`, `set_alpha_to_one`, `flow_sigmas` (`even` | `diffusers`, with `flow_shift` and
//! `flow_shift_terminal`), `eps_from_clipped_x0`, `x0_limit` (`clip R` | `dynamic RATIO MAX`),
//! `final_sigmas_type`, `lower_order_final`, `euler_at_final`, `sigma_ramp` (`schedule` |
//! `karras` | `exponential`) with `sigma_min` and `sigma_max` where set, `solver_order` and
//! `solver_type` (DPM-Solver's; files written before
//! one was recorded read as its default).
//!
//! Tensors (F recorded steps, B samples of H×W pixels; colour runs have a channel axis of 3
//! after B, so `start` is B, 3, H, W):
//!
//! | name | dtype | shape | what |
//! |---|---|---|---|
//! | `labels` | I64 | B | each sample's class, −1 for any digit |
//! | `start` | F32 | B, H, W | the pure noise x_T |
//! | `step_index` | I64 | F, 3 | step (0..steps), steps, network calls so far |
//! | `path_point` | F64 | F, 5 | kind (0 timestep t, 1 flow σ), t or σ, a, s, the network's time input |
//! | `x_t`, `x0`, `eps` | F16 | F, B, H, W | what the model saw, its guess of x0, its guess of ε |
//! | `eps_conditional`, `eps_unconditional` | F16 | F, B, H, W | ε̂ with and without the class (guided runs only) |
//! | `samples` | F32 | B, H, W | the finished images (finished runs only) |
//!
//! Reading checks every size against the header and the header against the file's length before
//! allocating anything, so a damaged or hostile file gives a [`RunFileError`] (one sentence in
//! either language), never a panic or an allocation larger than the file. Writing goes through
//! [`crate::export::atomic`]: a failure leaves no half-written file.

mod error;
mod read;
mod write;

use crate::sample::ImageShape;

pub use error::RunFileError;
pub use read::{open_run, read_run_bytes};
pub use write::save_run;

/// The file name extension of run files.
pub const EXTENSION: &str = "dsrun";
/// `diffuscope.kind` of a run file.
const KIND: &str = "run";
/// The format version this program writes, and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;
/// Metadata key naming what a file holds (as in model checkpoints).
const KEY_KIND: &str = "diffuscope.kind";
/// Metadata key of the format version.
const KEY_FORMAT: &str = "diffuscope.format";

/// The largest header read (a run file's header is a few kilobytes).
const MAX_HEADER_BYTES: u64 = 1 << 20;
/// The largest run file opened: 2 GiB, four times the largest run the window makes (1000 guided
/// steps of 64 digits, about 0.5 GB); opening a run keeps all of it in memory.
pub const MAX_FILE_BYTES: u64 = 2 << 30;
/// The most samples a run file may hold.
const MAX_BATCH: usize = 4096;
/// The largest image side a run file may hold.
const MAX_SIDE: usize = 1024;
/// The most recorded steps a run file may hold.
const MAX_FRAMES: usize = 100_000;

/// The element types of run files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dtype {
    F16,
    F32,
    F64,
    I64,
}

impl Dtype {
    /// The name in the safetensors header.
    fn name(self) -> &'static str {
        match self {
            Self::F16 => "F16",
            Self::F32 => "F32",
            Self::F64 => "F64",
            Self::I64 => "I64",
        }
    }

    fn bytes(self) -> usize {
        match self {
            Self::F16 => 2,
            Self::F32 => 4,
            Self::F64 | Self::I64 => 8,
        }
    }
}

/// The sizes that decide a run file's layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Dims {
    frames: usize,
    batch: usize,
    image: ImageShape,
    guided: bool,
    finished: bool,
}

/// One tensor of the layout.
#[derive(Clone, Debug, PartialEq, Eq)]
struct TensorSpec {
    name: &'static str,
    dtype: Dtype,
    shape: Vec<usize>,
}

impl TensorSpec {
    fn new(name: &'static str, dtype: Dtype, shape: &[usize]) -> Self {
        Self {
            name,
            dtype,
            shape: shape.to_vec(),
        }
    }

    /// Values in the tensor (sizes were bounded before, so this cannot overflow).
    fn values(&self) -> usize {
        self.shape.iter().product()
    }

    /// Bytes of the tensor.
    fn bytes(&self) -> usize {
        self.values() * self.dtype.bytes()
    }
}

/// The frame buffers, in file order, beside their tensor names.
const FRAME_TENSORS: [&str; 3] = ["x_t", "x0", "eps"];
/// The guidance buffers, in file order.
const GUIDANCE_TENSORS: [&str; 2] = ["eps_conditional", "eps_unconditional"];

/// Every tensor of a run file with `dims`, in the order they are written.
fn layout(dims: Dims) -> Vec<TensorSpec> {
    let Dims {
        frames: f,
        batch: b,
        image,
        ..
    } = dims;
    // Grey images are B × H × W (as the format began), colour ones B × 3 × H × W.
    let image_dims = match image.channels {
        1 => vec![image.height, image.width],
        c => vec![c, image.height, image.width],
    };
    let batch_of = |leading: &[usize]| [leading, &image_dims].concat();
    let mut specs = vec![
        TensorSpec::new("labels", Dtype::I64, &[b]),
        TensorSpec::new("start", Dtype::F32, &batch_of(&[b])),
        TensorSpec::new("step_index", Dtype::I64, &[f, 3]),
        TensorSpec::new("path_point", Dtype::F64, &[f, 5]),
    ];
    let guidance = if dims.guided {
        &GUIDANCE_TENSORS[..]
    } else {
        &[]
    };
    for &name in FRAME_TENSORS.iter().chain(guidance) {
        specs.push(TensorSpec::new(name, Dtype::F16, &batch_of(&[f, b])));
    }
    if dims.finished {
        specs.push(TensorSpec::new("samples", Dtype::F32, &batch_of(&[b])));
    }
    specs
}

/// Numbers as stored in the file: little-endian, plain data (so on a little-endian machine the
/// bytes are copied as they are, and only a big-endian one converts them).
trait LeValue: bytemuck::Pod {
    const BYTES: usize = size_of::<Self>();
    fn from_le(bytes: &[u8]) -> Self;
    fn extend_le(self, out: &mut Vec<u8>);
}

macro_rules! le_value {
    ($t:ty) => {
        impl LeValue for $t {
            fn from_le(bytes: &[u8]) -> Self {
                let mut array = [0; size_of::<$t>()];
                array.copy_from_slice(bytes);
                <$t>::from_le_bytes(array)
            }
            fn extend_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    };
}

le_value!(half::f16);
le_value!(f32);
le_value!(f64);
le_value!(i64);
