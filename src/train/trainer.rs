//! [`train`]: the training loop of `diffuscope train`, written to be read beside
//! `training/train_diffusion.py`.
//!
//! Each step: draw a batch (digits, labels with some dropped to "no class", a noise level per
//! digit, the noise), make the noisy images and the targets, run the network, take the mean
//! squared error, let AdamW update the weights at this step's learning rate, and move the EMA
//! towards the new weights (with the warm-up of [`super::ema::decay_after`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use candle_core::{Device, Tensor, Var};
use candle_nn::{Optimizer, ParamsAdamW, VarMap};

use super::adam_w::FusedAdamW;
use super::batch::{Batch, BatchSpec, draw_batch};
use super::config::{StepReport, TRAIN_STEPS_T, TrainConfig, TrainSummary};
use super::ema::Ema;
use super::error::TrainError;
use super::files::{
    ResumeSnapshot, ResumeState, loss_log_path, read_resume_state, resume_path, write_loss_log,
    write_resume_state, write_safetensors,
};
use super::init::{seeded_var_builder, sorted_params};
use super::lr::learning_rate;
use super::watch::Averaged;
use crate::data::mnist::{CLASSES, Digits, SIDE};
use crate::diffusion::objectives::Objective;
use crate::diffusion::{NoiseSchedule, ScheduleConfig, ScheduleKind};
use crate::export::atomic::check_folder;
use crate::model::checkpoint::{
    FORMAT_VERSION, KEY_ARCHITECTURE, KEY_FORMAT, KEY_KIND, KEY_OBJECTIVE, KEY_SCHEDULE,
    KEY_TRAIN_STEPS, ModelKind,
};
use crate::model::unet::DigitUNet;

/// Losses averaged for `final_loss`, as in the reference trainer.
const FINAL_LOSS_WINDOW: usize = 100;

/// Trains a digit UNet on `data` and writes its EMA weights to `out` (a safetensors file with the
/// metadata [`crate::model::checkpoint`] reads), with the loss log and, while the run is in
/// progress, the resume state beside it (see [`super::files`]).
///
/// With `resume`, the run continues from the resume state beside `out` (saved every
/// `config.save_every` steps and when stopped); its settings must match `config`.
/// `on_step` is called after every step; returning `false` stops the run after saving the resume
/// state (no checkpoint is written then; after the last step the run simply finishes). Everything is seeded: the same config and data give the
/// same weights on the same machine.
pub fn train(
    config: &TrainConfig,
    data: &Digits,
    out: &Path,
    resume: bool,
    on_step: &mut dyn FnMut(StepReport) -> bool,
) -> Result<TrainSummary, TrainError> {
    train_watched(config, data, out, resume, &mut |report, _| on_step(report))
}

/// [`train`], whose `on_step` also sees the averaged weights as they are after the step (to draw
/// samples from them, or save them, while the run goes on).
pub fn train_watched(
    config: &TrainConfig,
    data: &Digits,
    out: &Path,
    resume: bool,
    on_step: &mut dyn FnMut(StepReport, &Averaged<'_>) -> bool,
) -> Result<TrainSummary, TrainError> {
    check_request(config, data, out)?;
    let resume_file = resume_path(out);
    let log_file = loss_log_path(out);

    let device = &config.device;
    let varmap = VarMap::new();
    let model = DigitUNet::new(
        &config.unet,
        seeded_var_builder(&varmap, config.seed, device),
    )?;
    let params = sorted_params(&varmap)?;
    let mut ema = Ema::new(&params, config.ema_decay)?;
    let settings = settings_of(config);

    let (start, elapsed_before, mut losses, mut rates) = if resume {
        resume_from(&resume_file, (&settings, device), &params, &mut ema)?
    } else {
        (0, 0.0, Vec::new(), Vec::new())
    };
    let mut optimiser = adam_w(&params, config.lr)?;
    let schedule = NoiseSchedule::new(ScheduleConfig::new(ScheduleKind::Linear, TRAIN_STEPS_T));
    let spec = BatchSpec {
        objective: config.objective,
        schedule: &schedule,
        batch: config.batch,
        label_dropout: config.label_dropout,
        null_class: config.unet.null_class(),
        seed: config.seed,
    };
    let session = Instant::now();
    let elapsed = || elapsed_before + session.elapsed().as_secs_f64();
    let save_progress = |done: usize, ema: &Ema, losses: &[f32], rates: &[f32]| {
        write_resume_state(
            &resume_file,
            &ResumeSnapshot {
                step: done,
                elapsed_secs: elapsed(),
                settings: &settings,
                params: &params,
                ema,
                losses,
                rates,
            },
        )?;
        write_loss_log(&log_file, losses, rates)
    };

    for step in start..config.steps {
        let began = Instant::now();
        let lr = learning_rate(config.lr, step, config.warmup, config.steps);
        optimiser.set_learning_rate(lr);
        let batch = draw_batch(data, &spec, step);
        let loss_value = learn(&model, &mut optimiser, &batch, device, step + 1)?;
        ema.update(&params, step + 1)?;

        let images_per_sec = config.batch as f64 / began.elapsed().as_secs_f64().max(1e-9);
        losses.push(loss_value);
        rates.push(images_per_sec as f32);
        let done = step + 1;
        let report = StepReport {
            step: done,
            steps: config.steps,
            loss: loss_value,
            lr,
            images_per_sec,
            elapsed_secs: elapsed(),
        };
        let averaged = Averaged {
            config,
            ema: &ema,
            losses: &losses,
            elapsed_secs: report.elapsed_secs,
        };
        let go_on = on_step(report, &averaged);
        if done == config.steps {
            break;
        }
        if !go_on {
            save_progress(done, &ema, &losses, &rates)?;
            let ending = Ending::Stopped(resume_file);
            return Ok(summary((start, done), &losses, elapsed(), log_file, ending));
        }
        if done % config.save_every == 0 {
            save_progress(done, &ema, &losses, &rates)?;
        }
    }

    let wall_time_secs = elapsed();
    let loss = final_loss(&losses);
    let metadata = checkpoint_metadata(config, loss, wall_time_secs);
    let weights = ema
        .tensors()
        .map(|(name, tensor)| (name.to_owned(), tensor));
    write_safetensors(out, weights, metadata)?;
    write_loss_log(&log_file, &losses, &rates)?;
    // The finished checkpoint supersedes the resume state; a leftover one is harmless.
    let _ = std::fs::remove_file(&resume_file);
    let ending = Ending::Finished(out.to_owned());
    Ok(summary(
        (start, config.steps),
        &losses,
        wall_time_secs,
        log_file,
        ending,
    ))
}

/// Where a resumed run starts: the weights and average put back from `resume_file`, and (step
/// reached, wall time so far, losses, throughputs).
fn resume_from(
    resume_file: &Path,
    (settings, device): (&[(&'static str, String)], &Device),
    params: &[(String, Var)],
    ema: &mut Ema,
) -> Result<(usize, f64, Vec<f32>, Vec<f32>), TrainError> {
    let state = read_resume_state(resume_file, device)?;
    check_settings(resume_file, &state, settings)?;
    restore(resume_file, &state, params, ema)?;
    Ok((state.step, state.elapsed_secs, state.losses, state.rates))
}

/// How a run ended: stopped, with its resume state, or finished, with its checkpoint.
enum Ending {
    Stopped(PathBuf),
    Finished(PathBuf),
}

/// What a run that went from step `started_at` to `done` tells its caller.
fn summary(
    (started_at, done): (usize, usize),
    losses: &[f32],
    wall_time_secs: f64,
    loss_log: PathBuf,
    ending: Ending,
) -> TrainSummary {
    let (stopped, checkpoint, resume_state) = match ending {
        Ending::Stopped(state) => (true, None, Some(state)),
        Ending::Finished(model) => (false, Some(model), None),
    };
    TrainSummary {
        steps_done: done,
        started_at,
        final_loss: final_loss(losses),
        wall_time_secs,
        stopped,
        checkpoint,
        loss_log,
        resume_state,
    }
}

/// One optimiser step on `batch`, the `step`-th (from 1); returns the batch's loss (a loss that is
/// not a number stops the run, naming the step).
///
/// The step runs on one of rayon's threads (`rayon::scope` runs its body there when called from
/// outside the pool), so that the thread running candle's operations between our kernels'
/// parallel loops is one of the pool's own rather than a third beside them, waking and waiting.
fn learn(
    model: &DigitUNet,
    optimiser: &mut FusedAdamW,
    batch: &Batch,
    device: &Device,
    step: usize,
) -> Result<f32, TrainError> {
    rayon::scope(|_| learn_here(model, optimiser, batch, device, step))
}

/// [`learn`] on the calling thread.
fn learn_here(
    model: &DigitUNet,
    optimiser: &mut FusedAdamW,
    batch: &Batch,
    device: &Device,
    step: usize,
) -> Result<f32, TrainError> {
    let loss = batch_loss(model, batch, device)?;
    let value = loss.to_dtype(candle_core::DType::F32)?.to_scalar::<f32>()?;
    if !value.is_finite() {
        return Err(TrainError::Diverged { step, loss: value });
    }
    optimiser.backward_step(&loss)?;
    Ok(value)
}

/// Refuses, before any work, settings out of range, no digits, or an output that is a folder or
/// in a folder that cannot be written (rather than after hours of training).
fn check_request(config: &TrainConfig, data: &Digits, out: &Path) -> Result<(), TrainError> {
    validate(config)?;
    if data.is_empty() {
        return Err(TrainError::NoDigits);
    }
    if out.is_dir() {
        return Err(TrainError::OutputIsAFolder {
            path: out.to_owned(),
        });
    }
    check_folder(out)?;
    Ok(())
}

/// PyTorch's AdamW with weight_decay = 0, as in the reference, with candle's arithmetic in one
/// parallel pass per weight ([`FusedAdamW`]). The moments start at zero, also on resume (they are
/// not saved).
fn adam_w(params: &[(String, Var)], lr: f64) -> Result<FusedAdamW, TrainError> {
    Ok(FusedAdamW::new(
        params.iter().map(|(_, var)| var.clone()).collect(),
        ParamsAdamW {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        },
    )?)
}

/// The mean squared error between the network's output on the batch and its targets.
fn batch_loss(model: &DigitUNet, batch: &Batch, device: &Device) -> Result<Tensor, TrainError> {
    let n = batch.labels.len();
    let x_t = Tensor::from_slice(&batch.x_t, (n, 1, SIDE, SIDE), device)?;
    let target = Tensor::from_slice(&batch.target, (n, 1, SIDE, SIDE), device)?;
    let t = Tensor::from_slice(&batch.t_input, n, device)?;
    let y = Tensor::from_slice(&batch.labels, n, device)?;
    let prediction = model.forward(&x_t, &t, &y)?;
    Ok(candle_nn::loss::mse(&prediction, &target)?)
}

/// Mean of the last [`FINAL_LOSS_WINDOW`] losses (NaN if there are none).
pub(super) fn final_loss(losses: &[f32]) -> f32 {
    let tail = &losses[losses.len().saturating_sub(FINAL_LOSS_WINDOW)..];
    (tail.iter().map(|&l| f64::from(l)).sum::<f64>() / tail.len() as f64) as f32
}

fn validate(config: &TrainConfig) -> Result<(), TrainError> {
    let bad = |setting, value: String, allowed| TrainError::BadSetting {
        setting,
        value,
        allowed,
    };
    if config.steps == 0 {
        return Err(bad("--steps", "0".to_owned(), "≥ 1"));
    }
    if config.batch == 0 {
        return Err(bad("--batch", "0".to_owned(), "≥ 1"));
    }
    if !(config.lr.is_finite() && config.lr > 0.0) {
        return Err(bad("--lr", config.lr.to_string(), "> 0"));
    }
    if !(0.0..1.0).contains(&config.ema_decay) {
        return Err(bad("--ema", config.ema_decay.to_string(), "in [0, 1)"));
    }
    if !(0.0..=1.0).contains(&config.label_dropout) {
        return Err(bad(
            "--label-dropout",
            config.label_dropout.to_string(),
            "in [0, 1]",
        ));
    }
    if config.save_every == 0 {
        return Err(bad("--save-every", "0".to_owned(), "≥ 1"));
    }
    config
        .unet
        .validate()
        .map_err(|reason| TrainError::BadArchitecture { reason })?;
    if config.unet.classes < CLASSES {
        return Err(TrainError::BadArchitecture {
            reason: format!(
                "the digits have {CLASSES} classes but the network only {}",
                config.unet.classes
            ),
        });
    }
    Ok(())
}

/// The settings a resumed run must share with the saved one, named as on the command line.
fn settings_of(config: &TrainConfig) -> Vec<(&'static str, String)> {
    vec![
        ("--objective", config.objective.cli_name().to_owned()),
        ("--steps", config.steps.to_string()),
        ("--batch", config.batch.to_string()),
        ("--lr", config.lr.to_string()),
        ("--warmup", config.warmup.to_string()),
        ("--ema", ema_description(config.ema_decay)),
        ("--label-dropout", config.label_dropout.to_string()),
        ("--seed", config.seed.to_string()),
        ("architecture", config.unet.to_json()),
    ]
}

fn check_settings(
    path: &Path,
    state: &ResumeState,
    settings: &[(&'static str, String)],
) -> Result<(), TrainError> {
    for (name, requested) in settings {
        let saved = state.settings.get(*name).map_or("?", String::as_str);
        if saved != requested {
            return Err(TrainError::ResumeMismatch {
                path: path.to_owned(),
                setting: (*name).to_owned(),
                saved: saved.to_owned(),
                requested: requested.clone(),
            });
        }
    }
    Ok(())
}

/// Puts the saved weights and EMA back; every parameter must be there with its shape.
fn restore(
    path: &Path,
    state: &ResumeState,
    params: &[(String, Var)],
    ema: &mut Ema,
) -> Result<(), TrainError> {
    let missing = |what: &str, name: &str| TrainError::ResumeUnreadable {
        path: path.to_owned(),
        detail: format!("its {what} of “{name}” is missing or has the wrong shape"),
    };
    for (name, var) in params {
        let saved = state
            .params
            .get(name)
            .filter(|t| t.dims() == var.dims())
            .ok_or_else(|| missing("weight", name))?;
        var.set(&saved.to_dtype(var.dtype())?)?;
        let average = state
            .ema
            .get(name)
            .ok_or_else(|| missing("average", name))?
            .to_dtype(var.dtype())?;
        if !ema.set(name, &average) {
            return Err(missing("average", name));
        }
    }
    if state.step > 0 && state.params.len() != params.len() {
        return Err(TrainError::ResumeUnreadable {
            path: path.to_owned(),
            detail: "it holds weights this network does not have".to_owned(),
        });
    }
    Ok(())
}

/// The metadata of the finished checkpoint: the keys `training/train_diffusion.py` writes.
pub(super) fn checkpoint_metadata(
    config: &TrainConfig,
    final_loss: f32,
    wall_time_secs: f64,
) -> HashMap<String, String> {
    let flow = config.objective == Objective::Flow;
    let linear = ScheduleConfig::new(ScheduleKind::Linear, TRAIN_STEPS_T);
    let entries = [
        (KEY_KIND, ModelKind::DigitUNet.metadata_name().to_owned()),
        (KEY_FORMAT, FORMAT_VERSION.to_owned()),
        (KEY_ARCHITECTURE, config.unet.to_json()),
        (KEY_OBJECTIVE, config.objective.cli_name().to_owned()),
        (
            KEY_SCHEDULE,
            if flow { "rectified-flow" } else { "linear" }.to_owned(),
        ),
        (KEY_TRAIN_STEPS, TRAIN_STEPS_T.to_string()),
        ("beta_start", linear.beta_start.to_string()),
        ("beta_end", linear.beta_end.to_string()),
        (
            "timestep_input",
            if flow {
                "1000·s, s in [0, 1]"
            } else {
                "t (1..1000)"
            }
            .to_owned(),
        ),
        ("training_data", config.training_data.clone()),
        ("steps", config.steps.to_string()),
        ("batch", config.batch.to_string()),
        ("final_loss", format!("{final_loss:.5}")),
        ("ema", config.ema_decay.to_string()),
        ("ema_warmup", ema_description(config.ema_decay)),
        ("label_dropout", config.label_dropout.to_string()),
        ("seed", config.seed.to_string()),
        ("wall_time_secs", format!("{wall_time_secs:.0}")),
        ("date", today_utc()),
        (
            "command",
            if config.command.is_empty() {
                "diffuscope (library call)".to_owned()
            } else {
                config.command.clone()
            },
        ),
        ("trainer", trainer_description(&config.device)),
    ];
    entries
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect()
}

/// How the saved average was made: the cap and the warm-up, e.g. "min(0.999, 1 − n^(−2/3)) after
/// step n". Runs saved by a trainer without the warm-up recorded only the decay, so they are not
/// resumed with it.
fn ema_description(max_decay: f64) -> String {
    format!("min({max_decay}, 1 − n^(−2/3)) after step n")
}

/// "Diffuscope 0.1.0 (candle, 2 CPU threads)" or "… (candle, GPU)".
fn trainer_description(device: &Device) -> String {
    let place = if device.is_cpu() {
        format!("{} CPU threads", candle_core::utils::get_num_threads())
    } else {
        "GPU".to_owned()
    };
    format!("Diffuscope {} (candle, {place})", env!("CARGO_PKG_VERSION"))
}

/// Today's date (UTC) as YYYY-MM-DD.
fn today_utc() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::{civil_from_days, final_loss};

    #[test]
    fn dates_from_day_counts() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(20_788), (2026, 12, 1));
    }

    #[test]
    fn final_loss_averages_the_last_hundred() {
        let losses: Vec<f32> = (0..150).map(|i| if i < 50 { 9.0 } else { 1.0 }).collect();
        assert_eq!(final_loss(&losses), 1.0);
        assert_eq!(final_loss(&[2.0, 4.0]), 3.0);
        assert!(final_loss(&[]).is_nan());
    }
}
