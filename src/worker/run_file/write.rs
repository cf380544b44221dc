//! Writing a [`RunRecord`] as a run file, atomically, one frame at a time (no copy of the run is
//! made in memory).

use std::io::Write;
use std::path::Path;

use half::f16;
use serde_json::{Map, Value, json};

use super::{Dims, FORMAT_VERSION, KEY_FORMAT, KEY_KIND, KIND, LeValue, TensorSpec, layout};
use crate::diffusion::samplers::{DdimStep, DdpmVariance, FlowSigmas, Position};
use crate::export::ExportError;
use crate::export::atomic::{WriteFailure, write_atomically};
use crate::worker::{Frame, RunRecord};

/// Bytes converted at a time before a write.
const BLOCK_BYTES: usize = 1 << 20;

/// Saves `record` to `path` as a run file (see the module documentation), replacing any file
/// there only once the whole file is written.
pub fn save_run(path: &Path, record: &RunRecord) -> Result<(), ExportError> {
    let encode = |detail: String| ExportError::Encode {
        path: path.to_path_buf(),
        detail,
    };
    let dims = dims_of(record).map_err(encode)?;
    let specs = layout(dims);
    let header = header(record, &specs);
    write_atomically(path, |out| -> Result<(), WriteFailure> {
        out.write_all(&(header.len() as u64).to_le_bytes())?;
        out.write_all(&header)?;
        write_tensors(out, record, &specs)?;
        Ok(())
    })
}

/// The record's sizes, after checking that every buffer has them.
fn dims_of(record: &RunRecord) -> Result<Dims, String> {
    let image = record.image_shape;
    let batch = record.batch();
    let values = batch * image.values();
    let guided = record.frames.first().is_some_and(|f| f.guidance.is_some());
    if values == 0 {
        return Err("the run has no images".into());
    }
    if record.start.len() != values {
        return Err(format!(
            "the starting noise has {} values, not {values}",
            record.start.len()
        ));
    }
    if let Some(samples) = &record.samples
        && samples.len() != values
    {
        return Err(format!(
            "the finished images have {} values, not {values}",
            samples.len()
        ));
    }
    for frame in &record.frames {
        let sizes_fit = [&frame.x_t, &frame.x0, &frame.eps]
            .iter()
            .all(|buffer| buffer.len() == values);
        let guidance_fits = frame.guidance.as_ref().map_or(!guided, |g| {
            guided && g.eps_conditional.len() == values && g.eps_unconditional.len() == values
        });
        if !sizes_fit || !guidance_fits {
            return Err(format!("step {} does not fit the run's size", frame.step));
        }
    }
    Ok(Dims {
        frames: record.frames.len(),
        batch,
        image,
        guided,
        finished: record.samples.is_some(),
    })
}

/// The JSON header with the tensors' offsets, padded with spaces to a multiple of 8 bytes.
fn header(record: &RunRecord, specs: &[TensorSpec]) -> Vec<u8> {
    let mut map = Map::new();
    map.insert("__metadata__".into(), Value::Object(metadata(record)));
    let mut offset = 0;
    for spec in specs {
        let end = offset + spec.bytes();
        map.insert(
            spec.name.into(),
            json!({
                "dtype": spec.dtype.name(),
                "shape": spec.shape,
                "data_offsets": [offset, end],
            }),
        );
        offset = end;
    }
    let mut bytes = Value::Object(map).to_string().into_bytes();
    bytes.resize(bytes.len().next_multiple_of(8), b' ');
    bytes
}

fn metadata(record: &RunRecord) -> Map<String, Value> {
    let settings = &record.settings;
    let sampler = &settings.sampler;
    let variance = match sampler.variance {
        DdpmVariance::FixedSmall => "fixed-small",
        DdpmVariance::FixedLarge => "fixed-large",
    };
    let mut entries = vec![
        (KEY_KIND, KIND.to_owned()),
        (KEY_FORMAT, FORMAT_VERSION.to_string()),
        ("model", record.model.clone()),
        ("sampler", sampler.kind.cli_name().to_owned()),
        ("sampler_steps", sampler.steps.to_string()),
        ("spacing", sampler.spacing.cli_name().to_owned()),
        ("variance", variance.to_owned()),
        ("clip_x0", sampler.clip_x0.to_string()),
        ("eta", sampler.eta.to_string()),
        ("steps_offset", sampler.diffusers.steps_offset.to_string()),
        (
            "ddim_step",
            match sampler.diffusers.ddim_step {
                DdimStep::NextListed => "next-listed",
                DdimStep::Diffusers => "diffusers",
            }
            .to_owned(),
        ),
        (
            "set_alpha_to_one",
            sampler.diffusers.set_alpha_to_one.to_string(),
        ),
        (
            "flow_sigmas",
            match sampler.diffusers.flow_sigmas {
                FlowSigmas::Even => "even",
                FlowSigmas::Diffusers { .. } => "diffusers",
            }
            .to_owned(),
        ),
        ("seed", settings.seed.to_string()),
        ("guidance", settings.guidance.to_string()),
        ("network_calls", record.network_calls.to_string()),
    ];
    entries.push((
        "eps_from_clipped_x0",
        sampler.diffusers.eps_from_clipped_x0.to_string(),
    ));
    if let FlowSigmas::Diffusers { shift, terminal } = sampler.diffusers.flow_sigmas {
        entries.push(("flow_shift", shift.to_string()));
        if let Some(terminal) = terminal {
            entries.push(("flow_shift_terminal", terminal.to_string()));
        }
    }
    let options = &sampler.diffusers;
    entries.push(("x0_limit", options.x0_limit.to_string()));
    entries.push((
        "final_sigmas_type",
        options.final_sigma.diffusers_name().to_owned(),
    ));
    entries.push(("lower_order_final", options.lower_order_final.to_string()));
    entries.push(("euler_at_final", options.euler_at_final.to_string()));
    entries.push(("sigma_ramp", options.sigma_ramp.name().to_owned()));
    entries.push(("solver_order", options.dpm_order.to_string()));
    entries.push((
        "solver_type",
        options.dpm_solver_type.diffusers_name().to_owned(),
    ));
    let (sigma_min, sigma_max) = options.sigma_bounds;
    for (key, bound) in [("sigma_min", sigma_min), ("sigma_max", sigma_max)] {
        if let Some(bound) = bound {
            entries.push((key, bound.to_string()));
        }
    }
    if let Some(elapsed) = record.elapsed {
        entries.push(("elapsed_secs", elapsed.as_secs_f64().to_string()));
    }
    entries
        .into_iter()
        .map(|(key, value)| (key.to_owned(), Value::String(value)))
        .collect()
}

/// Every tensor's bytes, in the layout's order.
fn write_tensors(
    out: &mut impl Write,
    record: &RunRecord,
    specs: &[TensorSpec],
) -> std::io::Result<()> {
    for spec in specs {
        match spec.name {
            "labels" => {
                let labels: Vec<i64> = record
                    .settings
                    .labels
                    .iter()
                    .map(|l| l.map_or(-1, i64::from))
                    .collect();
                write_values(out, &labels)?;
            }
            "start" => write_values(out, &record.start)?,
            "samples" => write_values(out, record.samples.as_deref().unwrap_or_default())?,
            "step_index" => {
                let index: Vec<i64> = record
                    .frames
                    .iter()
                    .flat_map(|f| [f.step, f.steps, f.network_calls])
                    .map(|n| n as i64)
                    .collect();
                write_values(out, &index)?;
            }
            "path_point" => {
                let points: Vec<f64> = record.frames.iter().flat_map(|f| point_row(f)).collect();
                write_values(out, &points)?;
            }
            name => {
                for frame in &record.frames {
                    write_values(out, frame_buffer(frame, name))?;
                }
            }
        }
    }
    Ok(())
}

/// A frame's place on the path as a row of `path_point`.
fn point_row(frame: &Frame) -> [f64; 5] {
    let point = &frame.point;
    let (kind, value) = match point.position {
        Position::Timestep(t) => (0.0, t),
        Position::Sigma(sigma) => (1.0, sigma),
    };
    [
        kind,
        value,
        point.coefficients.signal,
        point.coefficients.noise,
        f64::from(point.network_input),
    ]
}

/// The frame's buffer stored under tensor `name` (empty for a name that is not a frame buffer).
fn frame_buffer<'a>(frame: &'a Frame, name: &str) -> &'a [f16] {
    let guidance = frame.guidance.as_ref();
    match name {
        "x_t" => &frame.x_t,
        "x0" => &frame.x0,
        "eps" => &frame.eps,
        "eps_conditional" => guidance.map_or(&[], |g| &g.eps_conditional),
        "eps_unconditional" => guidance.map_or(&[], |g| &g.eps_unconditional),
        _ => &[],
    }
}

/// Writes `values` little-endian: their bytes as they are on a little-endian machine, converted a
/// block at a time on a big-endian one.
fn write_values<T: LeValue>(out: &mut impl Write, values: &[T]) -> std::io::Result<()> {
    if cfg!(target_endian = "little") {
        return out.write_all(bytemuck::cast_slice(values));
    }
    let mut bytes = Vec::with_capacity(BLOCK_BYTES);
    for block in values.chunks(BLOCK_BYTES / T::BYTES) {
        bytes.clear();
        for &value in block {
            value.extend_le(&mut bytes);
        }
        out.write_all(&bytes)?;
    }
    Ok(())
}
