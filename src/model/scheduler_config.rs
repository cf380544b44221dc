//! diffusers' `scheduler_config.json`, read into the program's noise schedule, objective and
//! sampler — or refused with one sentence naming the first field whose value the program does not
//! reproduce — and written back out with every field as it came.
//!
//! What is accepted is what `tests/sampler_golden.rs` replays against diffusers to float32
//! rounding: the seven scheduler classes below with their default sigma rules; `leading` (with
//! `steps_offset`), `trailing` and `linspace` spacing; β schedules by name or listed
//! (`trained_betas`), zero-terminal-SNR rescaling; ε, v and x0 (`sample`) prediction; DDPM's two
//! fixed variances; clipping x̂0 to ±`clip_sample_range` and dynamic `thresholding` with its
//! ratio and ceiling; DDIM's `set_alpha_to_one`; Euler's and DPM-Solver's `final_sigmas_type`,
//! DPM-Solver's `lower_order_final` and `euler_at_final`; Karras and exponential σ ramps
//! (`use_karras_sigmas`, `use_exponential_sigmas`, and Euler's `sigma_min`, `sigma_max`) for
//! Euler, Heun and DPM-Solver; flow matching's `shift`,
//! `use_dynamic_shifting` (either `time_shift_type`, the image's length being its number of
//! values) and `shift_terminal`. A field that only matters when another is on
//! (`dynamic_thresholding_ratio` without `thresholding`) is accepted whatever its value; a field
//! of another scheduler (as `from_config` leaves them) is let be, as diffusers lets it be, and
//! one no scheduler has is refused. DDIM read
//! from a config steps by diffusers' rule (t − ⌊T/n⌋; the program's own rule steps to the next
//! listed timestep, and the two differ where n does not divide T). Not reproduced yet, and so
//! refused: β sigmas, Euler's log-linear interpolation and continuous timesteps, DPM-Solver other
//! than DPM-Solver++ (orders 1 to 3, midpoint or Heun), and flow matching's inverted or stochastic σ's. Flow matching read from a config runs over
//! diffusers' σ's, where the program's own flow samplers take n equal steps from 1 to 0.
//!
//! DDIM read from a config also keeps the model's ε̂ when it clips x̂0, as diffusers' pipelines
//! do (`use_clipped_model_output = False`, a `step` argument, not a config field); the program's
//! own rule works ε̂ out again from the clipped x̂0.

use serde_json::{Map, Value};

use crate::diffusion::objectives::Objective;
use crate::diffusion::samplers::{
    DdimStep, DdpmVariance, DiffusersOptions, DpmSolverType, DynamicShift, FinalSigma, FlowShift,
    FlowSigmas, SamplerKind, SamplerSpec, SigmaRamp, Spacing, X0Limit,
};
use crate::diffusion::{NoiseSchedule, ScheduleConfig, ScheduleKind};
use crate::i18n::Lang;

/// The largest scheduler config read: real ones are about 1 KB.
pub const CONFIG_LIMIT: usize = 64 * 1024;

/// A scheduler config the program reproduces, with the file's fields kept for writing back.
#[derive(Clone, Debug, PartialEq)]
pub struct SchedulerConfig {
    /// The fields as read, in the file's order of keys (sorted when written back).
    fields: Map<String, Value>,
    /// The noise schedule (unused by flow matching); see also `trained_betas`.
    pub schedule: ScheduleConfig,
    /// β_1…β_T listed one by one (`trained_betas`), in place of `schedule`'s formula.
    pub trained_betas: Option<Vec<f64>>,
    /// What the network predicts.
    pub objective: Objective,
    /// The sampler, with 50 steps until the run chooses.
    pub sampler: SamplerSpec,
}

/// Why a scheduler config was refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SchedulerConfigError {
    /// Not JSON, or not an object of fields.
    #[error("not a JSON object of scheduler fields: {0}")]
    NotJson(String),
    /// Larger than [`CONFIG_LIMIT`].
    #[error("{0} bytes, more than a scheduler config holds")]
    TooLarge(usize),
    /// `_class_name` names a scheduler the program does not have.
    #[error("the scheduler {0} is not one the program reproduces")]
    UnknownClass(String),
    /// A field's value is not of the type diffusers gives it.
    #[error("the field {field} should be {expected}")]
    WrongType {
        /// The field.
        field: String,
        /// What it should hold, in English.
        expected: &'static str,
    },
    /// A field's value changes the numbers in a way the program does not reproduce yet.
    #[error("{field} = {value} is not reproduced yet ({why})")]
    Unsupported {
        /// The field.
        field: String,
        /// Its value, as JSON.
        value: String,
        /// What the program does instead, in English.
        why: &'static str,
    },
    /// The config describes another model: its prediction type or noise schedule is not the
    /// model's.
    #[error("its {0} is not the one the model was trained with")]
    NotTheModels(&'static str),
    /// A field this version of the program does not know for that scheduler.
    #[error("the field {field} is unknown to {class}")]
    UnknownField {
        /// The field.
        field: String,
        /// The scheduler class.
        class: &'static str,
    },
}

impl SchedulerConfigError {
    /// The one sentence the window or the command line shows.
    pub fn sentence(&self, lang: Lang) -> String {
        let en = format!("The scheduler config cannot be used: {self}.");
        let zh = match self {
            Self::NotJson(detail) => {
                format!("无法使用该调度器配置：它不是由字段组成的 JSON 对象（{detail}）。")
            }
            Self::TooLarge(bytes) => {
                format!("无法使用该调度器配置：它有 {bytes} 字节，超出调度器配置的大小。")
            }
            Self::UnknownClass(class) => {
                format!("无法使用该调度器配置：本程序不能重现调度器 {class}。")
            }
            Self::WrongType { field, expected } => {
                format!("无法使用该调度器配置：字段 {field} 的类型不对（应为 {expected}）。")
            }
            Self::Unsupported { field, value, why } => {
                format!("无法使用该调度器配置：尚不能重现 {field} = {value}（{why}）。")
            }
            Self::NotTheModels(what) => {
                let what = if *what == "prediction type" {
                    "预测类型"
                } else {
                    "噪声日程"
                };
                format!("无法使用该调度器配置：它的{what}不是模型训练时所用的。")
            }
            Self::UnknownField { field, class } => {
                format!("无法使用该调度器配置：{class} 没有字段 {field}。")
            }
        };
        lang.pick(en, zh)
    }
}

/// The scheduler classes read, with the program's sampler for each.
const CLASSES: [(&str, SamplerKind); 7] = [
    ("DDPMScheduler", SamplerKind::Ddpm),
    ("DDIMScheduler", SamplerKind::Ddim),
    ("EulerDiscreteScheduler", SamplerKind::Euler),
    ("HeunDiscreteScheduler", SamplerKind::Heun),
    ("DPMSolverMultistepScheduler", SamplerKind::DpmSolver2M),
    ("FlowMatchEulerDiscreteScheduler", SamplerKind::FlowEuler),
    ("FlowMatchHeunDiscreteScheduler", SamplerKind::FlowHeun),
];

impl SchedulerConfig {
    /// Reads the text of a `scheduler_config.json`.
    pub fn parse(text: &str) -> Result<Self, SchedulerConfigError> {
        if text.len() > CONFIG_LIMIT {
            return Err(SchedulerConfigError::TooLarge(text.len()));
        }
        // Python's json writes −∞ (DPM-Solver's `lambda_min_clipped`) as -Infinity.
        let text = text.replace("-Infinity", "\"-Infinity\"");
        let fields: Map<String, Value> = serde_json::from_str(&text)
            .map_err(|e| SchedulerConfigError::NotJson(e.to_string()))?;
        let class_name = Fields::of(&fields, "")
            .string("_class_name")?
            .unwrap_or_default();
        let Some(&(class, kind)) = CLASSES.iter().find(|(name, _)| *name == class_name) else {
            return Err(SchedulerConfigError::UnknownClass(class_name));
        };
        let reader = Fields::of(&fields, class);
        reader.known_fields()?;
        let flow = matches!(kind, SamplerKind::FlowEuler | SamplerKind::FlowHeun);
        let (schedule, objective, sampler) = if flow {
            reader.flow(kind)?
        } else {
            (
                reader.schedule(kind)?,
                reader.objective()?,
                reader.sampler(kind)?,
            )
        };
        let trained_betas = if flow {
            None
        } else {
            reader.trained_betas(schedule.steps)?
        };
        Ok(Self {
            fields,
            schedule,
            trained_betas,
            objective,
            sampler,
        })
    }

    /// Refuses a config made for another model: what the network predicts and, for ε and v,
    /// every ᾱ_t of the schedule must be the model's (`objective`, `schedule`); flow matching
    /// needs only the same T.
    pub fn check_fits(
        &self,
        objective: Objective,
        schedule: &NoiseSchedule,
    ) -> Result<(), SchedulerConfigError> {
        if self.objective != objective {
            return Err(SchedulerConfigError::NotTheModels("prediction type"));
        }
        let ours = self.noise_schedule();
        let same = ours.steps() == schedule.steps()
            && (objective == Objective::Flow
                || (0..=ours.steps())
                    .all(|t| (ours.alpha_bar(t) - schedule.alpha_bar(t)).abs() <= 1e-9));
        if same {
            Ok(())
        } else {
            Err(SchedulerConfigError::NotTheModels("noise schedule"))
        }
    }

    /// The noise schedule the config describes: its listed β's, or its formula's.
    pub fn noise_schedule(&self) -> NoiseSchedule {
        match &self.trained_betas {
            Some(betas) => NoiseSchedule::from_betas(betas, self.schedule.zero_terminal_snr),
            None => NoiseSchedule::new(self.schedule),
        }
    }

    /// The diffusers class, as the file names it.
    pub fn class_name(&self) -> &str {
        self.fields
            .get("_class_name")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// The config as JSON text, every field as it was read.
    pub fn to_json(&self) -> String {
        let text = serde_json::to_string_pretty(&self.fields).unwrap_or_default();
        text.replace("\"-Infinity\"", "-Infinity")
    }
}

/// The fields each class may hold besides the shared ones (diffusers 0.42's signatures).
fn class_fields(class: &str) -> &'static [&'static str] {
    match class {
        "DDPMScheduler" => &[
            "variance_type",
            "clip_sample",
            "thresholding",
            "dynamic_thresholding_ratio",
            "clip_sample_range",
            "sample_max_value",
        ],
        "DDIMScheduler" => &[
            "clip_sample",
            "set_alpha_to_one",
            "thresholding",
            "dynamic_thresholding_ratio",
            "clip_sample_range",
            "sample_max_value",
        ],
        "EulerDiscreteScheduler" => &[
            "interpolation_type",
            "use_karras_sigmas",
            "use_exponential_sigmas",
            "use_beta_sigmas",
            "sigma_min",
            "sigma_max",
            "timestep_type",
            "final_sigmas_type",
        ],
        "FlowMatchEulerDiscreteScheduler" => &[
            "shift",
            "use_dynamic_shifting",
            "base_shift",
            "max_shift",
            "base_image_seq_len",
            "max_image_seq_len",
            "invert_sigmas",
            "shift_terminal",
            "use_karras_sigmas",
            "use_exponential_sigmas",
            "use_beta_sigmas",
            "time_shift_type",
            "stochastic_sampling",
        ],
        "FlowMatchHeunDiscreteScheduler" => &["shift"],
        "HeunDiscreteScheduler" => &[
            "use_karras_sigmas",
            "use_exponential_sigmas",
            "use_beta_sigmas",
            "clip_sample",
            "clip_sample_range",
        ],
        _ => &[
            "solver_order",
            "thresholding",
            "dynamic_thresholding_ratio",
            "sample_max_value",
            "algorithm_type",
            "solver_type",
            "lower_order_final",
            "euler_at_final",
            "use_karras_sigmas",
            "use_exponential_sigmas",
            "use_beta_sigmas",
            "use_lu_lambdas",
            "use_flow_sigmas",
            "flow_shift",
            "final_sigmas_type",
            "lambda_min_clipped",
            "variance_type",
            "use_dynamic_shifting",
            "time_shift_type",
        ],
    }
}

/// The fields every class shares (the schedule, the objective, the spacing) and the file's own
/// bookkeeping.
const SHARED_FIELDS: [&str; 11] = [
    "_class_name",
    "_diffusers_version",
    "num_train_timesteps",
    "beta_start",
    "beta_end",
    "beta_schedule",
    "trained_betas",
    "prediction_type",
    "timestep_spacing",
    "steps_offset",
    "rescale_betas_zero_snr",
];

fn unsupported(field: &str, value: &Value, why: &'static str) -> SchedulerConfigError {
    SchedulerConfigError::Unsupported {
        field: field.to_owned(),
        value: value.to_string(),
        why,
    }
}

/// Typed reads of the fields, each missing field taking diffusers' default.
///
/// A field of another diffusers scheduler (left in a config made by `from_config`, say) reads as
/// absent, as diffusers ignores it; a field no scheduler has is refused ([`Self::known_fields`]).
struct Fields<'a> {
    fields: &'a Map<String, Value>,
    /// The class whose fields are read.
    class: &'static str,
}

impl<'a> Fields<'a> {
    fn of(fields: &'a Map<String, Value>, class: &'static str) -> Self {
        Self { fields, class }
    }

    /// Whether `field` is the class's (or the file's own bookkeeping, `_…`).
    fn has(&self, field: &str) -> bool {
        field.starts_with('_')
            || SHARED_FIELDS.contains(&field)
            || class_fields(self.class).contains(&field)
    }

    fn wrong(field: &str, expected: &'static str) -> SchedulerConfigError {
        SchedulerConfigError::WrongType {
            field: field.to_owned(),
            expected,
        }
    }

    /// A field that is absent or null reads as `None`.
    fn get(&self, field: &str) -> Option<&Value> {
        self.fields
            .get(field)
            .filter(|value| !value.is_null() && self.has(field))
    }

    fn string(&self, field: &str) -> Result<Option<String>, SchedulerConfigError> {
        self.get(field)
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| Self::wrong(field, "a string"))
            })
            .transpose()
    }

    fn number(&self, field: &str) -> Result<Option<f64>, SchedulerConfigError> {
        self.get(field)
            .map(|v| v.as_f64().ok_or_else(|| Self::wrong(field, "a number")))
            .transpose()
    }

    fn flag(&self, field: &str) -> Result<Option<bool>, SchedulerConfigError> {
        self.get(field)
            .map(|v| {
                v.as_bool()
                    .ok_or_else(|| Self::wrong(field, "true or false"))
            })
            .transpose()
    }

    /// Refuses a field no scheduler the program reads has (a typo, or a newer diffusers'
    /// option); another scheduler's field is let be, as diffusers lets it be.
    fn known_fields(&self) -> Result<(), SchedulerConfigError> {
        let anyones = |field: &str| {
            self.has(field)
                || CLASSES
                    .iter()
                    .any(|(class, _)| class_fields(class).contains(&field))
        };
        match self.fields.keys().find(|key| !anyones(key)) {
            Some(field) => Err(SchedulerConfigError::UnknownField {
                field: field.clone(),
                class: self.class,
            }),
            None => Ok(()),
        }
    }

    /// Refuses `field` unless it is absent, null or `expected`.
    fn only(
        &self,
        field: &str,
        expected: &Value,
        why: &'static str,
    ) -> Result<(), SchedulerConfigError> {
        match self.get(field) {
            Some(value) if value != expected => Err(unsupported(field, value, why)),
            _ => Ok(()),
        }
    }

    /// The schedule; `sampler`'s class decides the β range a file leaves out.
    fn schedule(&self, sampler: SamplerKind) -> Result<ScheduleConfig, SchedulerConfigError> {
        let name = self
            .string("beta_schedule")?
            .unwrap_or_else(|| "linear".into());
        let shape = match name.as_str() {
            "linear" => ScheduleKind::Linear,
            "scaled_linear" => ScheduleKind::ScaledLinear,
            "squaredcos_cap_v2" => ScheduleKind::Cosine,
            "sigmoid" => ScheduleKind::Sigmoid,
            _ => {
                return Err(unsupported(
                    "beta_schedule",
                    &Value::String(name),
                    "the program has linear, scaled_linear, squaredcos_cap_v2 and sigmoid",
                ));
            }
        };
        let steps = self.train_steps()?;
        let mut schedule = ScheduleConfig::new(shape, steps);
        // diffusers' own defaults (not the program's per-shape ones) where the file says nothing.
        let (start, end) = if sampler == SamplerKind::Heun {
            (0.00085, 0.012)
        } else {
            (1e-4, 0.02)
        };
        schedule.beta_start = self.number("beta_start")?.unwrap_or(start);
        schedule.beta_end = self.number("beta_end")?.unwrap_or(end);
        schedule.zero_terminal_snr = self.flag("rescale_betas_zero_snr")?.unwrap_or(false);
        Ok(schedule)
    }

    /// `trained_betas`: `steps` numbers in (0, 1), or nothing.
    fn trained_betas(&self, steps: usize) -> Result<Option<Vec<f64>>, SchedulerConfigError> {
        let Some(list) = self.get("trained_betas") else {
            return Ok(None);
        };
        let betas: Option<Vec<f64>> =
            list.as_array()
                .filter(|list| list.len() == steps)
                .and_then(|list| {
                    list.iter()
                        .map(|v| v.as_f64().filter(|b| *b > 0.0 && *b < 1.0))
                        .collect()
                });
        betas.map(Some).ok_or_else(|| {
            Self::wrong(
                "trained_betas",
                "a list of num_train_timesteps numbers between 0 and 1",
            )
        })
    }

    fn objective(&self) -> Result<Objective, SchedulerConfigError> {
        match self.string("prediction_type")?.as_deref() {
            None | Some("epsilon") => Ok(Objective::Eps),
            Some("v_prediction") => Ok(Objective::V),
            Some("sample") => Ok(Objective::X0),
            Some(other) => Err(unsupported(
                "prediction_type",
                &Value::String(other.to_owned()),
                "the program's networks predict epsilon, v_prediction or sample",
            )),
        }
    }

    fn spacing(&self, default: Spacing) -> Result<Spacing, SchedulerConfigError> {
        let Some(name) = self.string("timestep_spacing")? else {
            return Ok(default);
        };
        name.parse().map_err(|_| {
            unsupported(
                "timestep_spacing",
                &Value::String(name.clone()),
                "the program spaces timesteps as leading, trailing or linspace",
            )
        })
    }

    /// The sampler of `kind` as the fields set it, refusing what it does not reproduce.
    fn sampler(&self, kind: SamplerKind) -> Result<SamplerSpec, SchedulerConfigError> {
        let no = Value::Bool(false);
        let mut spec = SamplerSpec::new(kind, 50);
        // diffusers' spacing defaults: leading for DDPM and DDIM, linspace for the others.
        let discrete = matches!(kind, SamplerKind::Ddpm | SamplerKind::Ddim);
        spec.spacing = self.spacing(if discrete {
            Spacing::Leading
        } else {
            Spacing::Linspace
        })?;
        self.only(
            "use_beta_sigmas",
            &no,
            "the program's σ's are the schedule's own, or a Karras or exponential ramp",
        )?;
        spec.diffusers = self.diffusers_options(kind)?;
        spec.diffusers.sigma_ramp = self.sigma_ramp()?;
        match kind {
            SamplerKind::Ddpm | SamplerKind::Ddim => {
                (spec.clip_x0, spec.diffusers.x0_limit) = self.x0_limit(true)?;
                spec.variance = match self.string("variance_type")?.as_deref() {
                    None | Some("fixed_small") => DdpmVariance::FixedSmall,
                    Some("fixed_large") => DdpmVariance::FixedLarge,
                    Some(other) => {
                        return Err(unsupported(
                            "variance_type",
                            &Value::String(other.to_owned()),
                            "the program's DDPM variance is fixed_small or fixed_large",
                        ));
                    }
                };
            }
            SamplerKind::Euler => {
                spec.clip_x0 = false;
                self.euler_only_defaults()?;
                spec.diffusers.final_sigma = self.final_sigma()?;
                spec.diffusers.sigma_bounds = self.sigma_bounds()?;
            }
            SamplerKind::Heun => {
                (spec.clip_x0, spec.diffusers.x0_limit) = self.x0_limit(false)?;
            }
            _ => self.dpm_solver(&mut spec)?,
        }
        Ok(spec)
    }

    /// `use_karras_sigmas` or `use_exponential_sigmas` (not both, as diffusers says).
    fn sigma_ramp(&self) -> Result<SigmaRamp, SchedulerConfigError> {
        let karras = self.flag("use_karras_sigmas")?.unwrap_or(false);
        let exponential = self.flag("use_exponential_sigmas")?.unwrap_or(false);
        match (karras, exponential) {
            (false, false) => Ok(SigmaRamp::Schedule),
            (true, false) => Ok(SigmaRamp::Karras),
            (false, true) => Ok(SigmaRamp::Exponential),
            (true, true) => Err(Self::wrong(
                "use_exponential_sigmas",
                "false when use_karras_sigmas is true",
            )),
        }
    }

    /// Euler's `sigma_min` and `sigma_max`: positive numbers, or nothing.
    fn sigma_bounds(&self) -> Result<(Option<f64>, Option<f64>), SchedulerConfigError> {
        let bound = |field: &str| {
            self.number(field)?
                .map(|v| {
                    (v.is_finite() && v > 0.0)
                        .then_some(v)
                        .ok_or_else(|| Self::wrong(field, "a number above 0"))
                })
                .transpose()
        };
        Ok((bound("sigma_min")?, bound("sigma_max")?))
    }

    /// Refuses Euler's options that move its σ's away from the schedule's own or a ramp.
    fn euler_only_defaults(&self) -> Result<(), SchedulerConfigError> {
        self.only(
            "interpolation_type",
            &Value::from("linear"),
            "the program interpolates σ linearly",
        )?;
        self.only(
            "timestep_type",
            &Value::from("discrete"),
            "the program's Euler asks at discrete timesteps",
        )
    }

    /// `final_sigmas_type`: "zero" (the default) or "sigma_min".
    fn final_sigma(&self) -> Result<FinalSigma, SchedulerConfigError> {
        match self.string("final_sigmas_type")? {
            None => Ok(FinalSigma::Zero),
            Some(name) => FinalSigma::from_diffusers_name(&name)
                .ok_or_else(|| Self::wrong("final_sigmas_type", "\"zero\" or \"sigma_min\"")),
        }
    }

    /// Whether x̂0 is held in range, and how: `thresholding` (dynamic, with its ratio and
    /// ceiling) wins over `clip_sample` (default `clip_default`) with `clip_sample_range`, as in
    /// diffusers' steps.
    fn x0_limit(&self, clip_default: bool) -> Result<(bool, X0Limit), SchedulerConfigError> {
        if self.flag("thresholding")?.unwrap_or(false) {
            let ratio = self.number("dynamic_thresholding_ratio")?.unwrap_or(0.995);
            if !(ratio > 0.0 && ratio <= 1.0) {
                return Err(Self::wrong(
                    "dynamic_thresholding_ratio",
                    "a number in (0, 1]",
                ));
            }
            let ceiling = self.number("sample_max_value")?.unwrap_or(1.0);
            if !(ceiling.is_finite() && ceiling >= 1.0) {
                return Err(Self::wrong("sample_max_value", "a number of at least 1"));
            }
            return Ok((true, X0Limit::Dynamic { ratio, ceiling }));
        }
        let range = self.number("clip_sample_range")?.unwrap_or(1.0);
        if !(range.is_finite() && range > 0.0) {
            return Err(Self::wrong("clip_sample_range", "a number above 0"));
        }
        let clip = self.flag("clip_sample")?.unwrap_or(clip_default);
        Ok((clip, X0Limit::Clip { range }))
    }

    /// A flow-matching scheduler: T (the network's time input is σ·T), the flow objective, and
    /// flow Euler or Heun over diffusers' σ's, shifted as the file says.
    fn flow(
        &self,
        kind: SamplerKind,
    ) -> Result<(ScheduleConfig, Objective, SamplerSpec), SchedulerConfigError> {
        let steps = self.train_steps()?;
        let no = Value::Bool(false);
        let why = "the program's flow σ's are diffusers' default ones, shifted";
        for field in [
            "invert_sigmas",
            "use_karras_sigmas",
            "use_exponential_sigmas",
            "use_beta_sigmas",
            "stochastic_sampling",
        ] {
            self.only(field, &no, why)?;
        }
        let flow_sigmas = FlowSigmas::Diffusers {
            shift: self.flow_shift()?,
            // diffusers stretches only to a terminal σ that is set and not 0.
            terminal: self.number("shift_terminal")?.filter(|&t| t != 0.0),
        };
        if !flow_sigmas.is_valid() {
            return Err(Self::wrong("shift_terminal", "a number in [0, 1)"));
        }
        let mut sampler = SamplerSpec::new(kind, 50);
        sampler.clip_x0 = false;
        sampler.diffusers.flow_sigmas = flow_sigmas;
        Ok((
            ScheduleConfig::new(ScheduleKind::Linear, steps),
            Objective::Flow,
            sampler,
        ))
    }

    /// `shift`, or with `use_dynamic_shifting` the line that gives it from the image's length.
    fn flow_shift(&self) -> Result<FlowShift, SchedulerConfigError> {
        if !self.flag("use_dynamic_shifting")?.unwrap_or(false) {
            let shift = self.number("shift")?.unwrap_or(1.0);
            if !(shift.is_finite() && shift > 0.0) {
                return Err(Self::wrong("shift", "a number above 0"));
            }
            return Ok(FlowShift::Fixed(shift));
        }
        let linear = match self.string("time_shift_type")?.as_deref() {
            None | Some("exponential") => false,
            Some("linear") => true,
            Some(_) => {
                return Err(Self::wrong(
                    "time_shift_type",
                    "\"exponential\" or \"linear\"",
                ));
            }
        };
        let line = DynamicShift {
            base_shift: self.number("base_shift")?.unwrap_or(0.5),
            max_shift: self.number("max_shift")?.unwrap_or(1.15),
            base_seq_len: self.number("base_image_seq_len")?.unwrap_or(256.0),
            max_seq_len: self.number("max_image_seq_len")?.unwrap_or(4096.0),
            linear,
        };
        if !line.is_valid() {
            return Err(Self::wrong(
                "max_image_seq_len",
                "a length other than base_image_seq_len",
            ));
        }
        Ok(FlowShift::Dynamic(line))
    }

    /// `num_train_timesteps`, 1000 when absent.
    fn train_steps(&self) -> Result<usize, SchedulerConfigError> {
        match self.get("num_train_timesteps") {
            None => Ok(1000),
            Some(value) => value
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .filter(|n| ScheduleConfig::STEPS_RANGE.contains(n))
                .ok_or_else(|| {
                    Self::wrong("num_train_timesteps", "a whole number from 10 to 1000")
                }),
        }
    }

    /// The timestep offset of "leading" spacing, and DDIM's step rule and last step.
    fn diffusers_options(
        &self,
        kind: SamplerKind,
    ) -> Result<DiffusersOptions, SchedulerConfigError> {
        let steps_offset = match self.get("steps_offset") {
            None => 0,
            Some(value) => value
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .filter(|&n| n <= 1000)
                .ok_or_else(|| Self::wrong("steps_offset", "a whole number from 0 to 1000"))?,
        };
        Ok(DiffusersOptions {
            steps_offset,
            ddim_step: if kind == SamplerKind::Ddim {
                DdimStep::Diffusers
            } else {
                DdimStep::NextListed
            },
            set_alpha_to_one: self.flag("set_alpha_to_one")?.unwrap_or(true),
            // diffusers' pipelines call DDIM's step with `use_clipped_model_output = False`.
            eps_from_clipped_x0: kind != SamplerKind::Ddim,
            ..DiffusersOptions::default()
        })
    }

    /// DPM-Solver++ of order 1 to 3 (midpoint or Heun second-order steps), with diffusers'
    /// options for its last steps and its `thresholding`.
    fn dpm_solver(&self, spec: &mut SamplerSpec) -> Result<(), SchedulerConfigError> {
        let no = Value::Bool(false);
        self.only(
            "algorithm_type",
            &Value::from("dpmsolver++"),
            "the program's DPM-Solver is DPM-Solver++",
        )?;
        spec.diffusers.dpm_order = match self.get("solver_order").map(Value::as_u64) {
            None => 2,
            Some(Some(order @ 1..=3)) => order as u8,
            Some(_) => return Err(Self::wrong("solver_order", "1, 2 or 3")),
        };
        spec.diffusers.dpm_solver_type = match self.string("solver_type")? {
            None => DpmSolverType::Midpoint,
            Some(name) => DpmSolverType::from_diffusers_name(&name)
                .ok_or_else(|| Self::wrong("solver_type", "\"midpoint\" or \"heun\""))?,
        };
        for field in ["use_lu_lambdas", "use_flow_sigmas", "use_dynamic_shifting"] {
            self.only(field, &no, "the program's σ's are the schedule's own")?;
        }
        self.only(
            "variance_type",
            &Value::Null,
            "the program's networks predict no variance",
        )?;
        self.only(
            "lambda_min_clipped",
            &Value::from("-Infinity"),
            "the program does not clip λ",
        )?;
        spec.diffusers.final_sigma = self.final_sigma()?;
        spec.diffusers.lower_order_final = self.flag("lower_order_final")?.unwrap_or(true);
        spec.diffusers.euler_at_final = self.flag("euler_at_final")?.unwrap_or(false);
        (spec.clip_x0, spec.diffusers.x0_limit) = self.x0_limit(false)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// google/ddpm-cifar10-32's scheduler, as diffusers writes it.
    const DDPM_CIFAR: &str = r#"{
      "_class_name": "DDPMScheduler",
      "_diffusers_version": "0.1.1",
      "beta_end": 0.02,
      "beta_schedule": "linear",
      "beta_start": 0.0001,
      "clip_sample": true,
      "num_train_timesteps": 1000,
      "trained_betas": null,
      "variance_type": "fixed_large"
    }"#;

    /// The latent-diffusion style DDIM config: offset timesteps, ᾱ at the end not 1.
    const DDIM_LDM: &str = r#"{
      "_class_name": "DDIMScheduler",
      "beta_end": 0.012,
      "beta_schedule": "scaled_linear",
      "beta_start": 0.00085,
      "clip_sample": false,
      "num_train_timesteps": 1000,
      "set_alpha_to_one": false,
      "steps_offset": 1
    }"#;

    #[test]
    fn a_ddpm_config_becomes_the_programs_schedule_and_sampler() {
        let config = SchedulerConfig::parse(DDPM_CIFAR).unwrap();
        assert_eq!(config.class_name(), "DDPMScheduler");
        assert_eq!(config.objective, Objective::Eps);
        assert_eq!(config.schedule.kind, ScheduleKind::Linear);
        assert_eq!(
            (config.schedule.steps, config.schedule.beta_end),
            (1000, 0.02)
        );
        assert_eq!(config.sampler.kind, SamplerKind::Ddpm);
        assert_eq!(config.sampler.variance, DdpmVariance::FixedLarge);
        assert_eq!(config.sampler.spacing, Spacing::Leading);
        assert!(config.sampler.clip_x0);
    }

    #[test]
    fn what_the_program_does_not_reproduce_is_named() {
        let euler = r#"{"_class_name": "EulerDiscreteScheduler", "use_beta_sigmas": true}"#;
        assert_eq!(
            SchedulerConfig::parse(euler)
                .unwrap_err()
                .sentence(Lang::En),
            "The scheduler config cannot be used: use_beta_sigmas = true is not reproduced yet \
             (the program's σ's are the schedule's own, or a Karras or exponential ramp)."
        );
        let flow = r#"{"_class_name": "FlowMatchEulerDiscreteScheduler", "invert_sigmas": true}"#;
        assert!(matches!(
            SchedulerConfig::parse(flow),
            Err(SchedulerConfigError::Unsupported { field, .. }) if field == "invert_sigmas"
        ));
        for (text, expected) in [
            (
                r#"{"_class_name": "PNDMScheduler"}"#,
                "the scheduler PNDMScheduler is not one the program reproduces",
            ),
            (
                r#"{"_class_name": "DDPMScheduler", "clip_samples": true}"#,
                "the field clip_samples is unknown to DDPMScheduler",
            ),
            (
                r#"{"_class_name": "DDPMScheduler", "clip_sample": "yes"}"#,
                "the field clip_sample should be true or false",
            ),
            (
                r#"{"_class_name": "DDPMScheduler", "num_train_timesteps": 5}"#,
                "the field num_train_timesteps should be a whole number from 10 to 1000",
            ),
            (
                r#"{"_class_name": "DDPMScheduler", "prediction_type": "flow_prediction"}"#,
                "prediction_type = \"flow_prediction\" is not reproduced yet (the program's networks predict epsilon, v_prediction or sample)",
            ),
            (
                "[1, 2]",
                "not a JSON object of scheduler fields: invalid type: sequence, expected a map at line 1 column 0",
            ),
        ] {
            let error = SchedulerConfig::parse(text).unwrap_err();
            assert_eq!(error.to_string(), expected);
            assert!(!error.sentence(Lang::Zh).is_empty());
        }
    }

    #[test]
    fn the_latent_diffusion_ddim_config_steps_by_diffusers_rule() {
        let config = SchedulerConfig::parse(DDIM_LDM).unwrap();
        assert_eq!(config.schedule.kind, ScheduleKind::ScaledLinear);
        assert_eq!(config.sampler.kind, SamplerKind::Ddim);
        assert_eq!(
            config.sampler.diffusers,
            DiffusersOptions {
                steps_offset: 1,
                ddim_step: DdimStep::Diffusers,
                set_alpha_to_one: false,
                eps_from_clipped_x0: false,
                ..DiffusersOptions::default()
            }
        );
        assert!(!config.sampler.clip_x0);
        // diffusers' leading timesteps for 50 steps: 981, 961, …, 1, then + 1 in our count.
        let timesteps = config.sampler.discrete_timesteps(1000);
        assert_eq!((timesteps[0], timesteps[49]), (982, 2));
    }

    #[test]
    fn a_config_for_another_model_is_refused() {
        let config = SchedulerConfig::parse(DDPM_CIFAR).unwrap();
        let linear = NoiseSchedule::new(ScheduleConfig::new(ScheduleKind::Linear, 1000));
        assert_eq!(config.check_fits(Objective::Eps, &linear), Ok(()));
        assert_eq!(
            config.check_fits(Objective::V, &linear),
            Err(SchedulerConfigError::NotTheModels("prediction type"))
        );
        let cosine = NoiseSchedule::new(ScheduleConfig::new(ScheduleKind::Cosine, 1000));
        let error = config.check_fits(Objective::Eps, &cosine).unwrap_err();
        assert_eq!(
            error.sentence(Lang::En),
            "The scheduler config cannot be used: its noise schedule is not the one the model \
             was trained with."
        );
    }

    #[test]
    fn a_flow_matching_config_runs_over_diffusers_shifted_sigmas() {
        // Stable Diffusion 3's scheduler_config.json.
        let text = r#"{
          "_class_name": "FlowMatchEulerDiscreteScheduler",
          "_diffusers_version": "0.29.0.dev0",
          "num_train_timesteps": 1000,
          "shift": 3.0
        }"#;
        let config = SchedulerConfig::parse(text).unwrap();
        assert_eq!(config.objective, Objective::Flow);
        assert_eq!(config.sampler.kind, SamplerKind::FlowEuler);
        assert_eq!(
            config.sampler.diffusers.flow_sigmas,
            FlowSigmas::Diffusers {
                shift: FlowShift::Fixed(3.0),
                terminal: None
            }
        );
        let sigmas = SamplerSpec {
            steps: 4,
            ..config.sampler.clone()
        }
        .flow_sigmas(1000, 784);
        // From 1 to the twice-shifted 1/T, then 0: shifting keeps more steps at high noise.
        assert_eq!((sigmas.len(), sigmas[0], sigmas[4]), (5, 1.0, 0.0));
        assert!(sigmas[1] > 0.75 && sigmas[3] < 0.01, "{sigmas:?}");
        let heun = r#"{"_class_name": "FlowMatchHeunDiscreteScheduler", "shift": 0}"#;
        assert_eq!(
            SchedulerConfig::parse(heun).unwrap_err().to_string(),
            "the field shift should be a number above 0"
        );
    }

    #[test]
    fn clipping_thresholding_and_the_end_of_the_run_are_read() {
        let ddpm = r#"{"_class_name": "DDPMScheduler", "clip_sample": false,
            "thresholding": true, "sample_max_value": 2.5}"#;
        let sampler = SchedulerConfig::parse(ddpm).unwrap().sampler;
        // Thresholding wins over clip_sample = false, as in diffusers' step.
        assert!(sampler.clip_x0);
        assert_eq!(
            sampler.diffusers.x0_limit,
            X0Limit::Dynamic {
                ratio: 0.995,
                ceiling: 2.5
            }
        );
        let heun = r#"{"_class_name": "HeunDiscreteScheduler", "clip_sample": true,
            "clip_sample_range": 0.5, "steps_offset": 1}"#;
        let sampler = SchedulerConfig::parse(heun).unwrap().sampler;
        assert_eq!(
            (sampler.clip_x0, sampler.diffusers.x0_limit),
            (true, X0Limit::Clip { range: 0.5 })
        );
        assert_eq!(sampler.diffusers.steps_offset, 1);
        let dpm = r#"{"_class_name": "DPMSolverMultistepScheduler",
            "final_sigmas_type": "sigma_min", "lower_order_final": false}"#;
        let options = SchedulerConfig::parse(dpm).unwrap().sampler.diffusers;
        assert_eq!(options.final_sigma, FinalSigma::SigmaMin);
        assert!(!options.lower_order_final && !options.euler_at_final);
        for (text, expected) in [
            (
                r#"{"_class_name": "DDIMScheduler", "clip_sample_range": -1}"#,
                "the field clip_sample_range should be a number above 0",
            ),
            (
                r#"{"_class_name": "DDIMScheduler", "thresholding": true, "sample_max_value": 0.5}"#,
                "the field sample_max_value should be a number of at least 1",
            ),
            (
                r#"{"_class_name": "EulerDiscreteScheduler", "final_sigmas_type": "one"}"#,
                "the field final_sigmas_type should be \"zero\" or \"sigma_min\"",
            ),
        ] {
            assert_eq!(
                SchedulerConfig::parse(text).unwrap_err().to_string(),
                expected
            );
        }
    }

    #[test]
    fn another_schedulers_fields_are_let_be_as_diffusers_lets_them_be() {
        // DPMSolverMultistepScheduler.from_config(a DDPM config) keeps DDPM's clip_sample.
        let dpm = r#"{"_class_name": "DPMSolverMultistepScheduler", "clip_sample": true,
            "variance_type": null, "_use_default_values": ["solver_order"]}"#;
        let config = SchedulerConfig::parse(dpm).unwrap();
        assert!(!config.sampler.clip_x0);
        // Written back as it came.
        assert!(config.to_json().contains("\"clip_sample\": true"));
    }

    #[test]
    fn sigma_ramps_are_read_one_at_a_time() {
        let euler = r#"{"_class_name": "EulerDiscreteScheduler", "use_karras_sigmas": true,
            "sigma_min": 0.1, "sigma_max": 10}"#;
        let options = SchedulerConfig::parse(euler).unwrap().sampler.diffusers;
        assert_eq!(options.sigma_ramp, SigmaRamp::Karras);
        assert_eq!(options.sigma_bounds, (Some(0.1), Some(10.0)));
        let dpm =
            r#"{"_class_name": "DPMSolverMultistepScheduler", "use_exponential_sigmas": true}"#;
        let options = SchedulerConfig::parse(dpm).unwrap().sampler.diffusers;
        assert_eq!(options.sigma_ramp, SigmaRamp::Exponential);
        let both = r#"{"_class_name": "HeunDiscreteScheduler", "use_karras_sigmas": true,
            "use_exponential_sigmas": true}"#;
        assert_eq!(
            SchedulerConfig::parse(both).unwrap_err().to_string(),
            "the field use_exponential_sigmas should be false when use_karras_sigmas is true"
        );
    }

    #[test]
    fn listed_betas_replace_the_named_schedule() {
        let betas: Vec<f64> = (1..=10).map(|i| f64::from(i) * 0.01).collect();
        let text = serde_json::json!({
            "_class_name": "DDIMScheduler",
            "num_train_timesteps": 10,
            "beta_schedule": "linear",
            "trained_betas": betas,
        })
        .to_string();
        let config = SchedulerConfig::parse(&text).unwrap();
        let schedule = config.noise_schedule();
        assert!(schedule.is_listed());
        assert_eq!(schedule.betas(), betas.as_slice());
        assert_eq!(config.check_fits(Objective::Eps, &schedule), Ok(()));
        let linear = NoiseSchedule::new(ScheduleConfig::new(ScheduleKind::Linear, 10));
        assert!(config.check_fits(Objective::Eps, &linear).is_err());
        let short = text.replace("\"num_train_timesteps\":10", "\"num_train_timesteps\":11");
        assert_eq!(
            SchedulerConfig::parse(&short).unwrap_err().to_string(),
            "the field trained_betas should be a list of num_train_timesteps numbers between 0 and 1"
        );
    }

    #[test]
    fn flow_matchings_dynamic_shifting_and_terminal_sigma_are_read() {
        // FLUX.1's scheduler_config.json.
        let flux = r#"{
          "_class_name": "FlowMatchEulerDiscreteScheduler",
          "_diffusers_version": "0.30.0.dev0",
          "base_image_seq_len": 256,
          "base_shift": 0.5,
          "max_image_seq_len": 4096,
          "max_shift": 1.15,
          "num_train_timesteps": 1000,
          "shift": 3.0,
          "use_dynamic_shifting": true
        }"#;
        let config = SchedulerConfig::parse(flux).unwrap();
        let FlowSigmas::Diffusers {
            shift: FlowShift::Dynamic(line),
            terminal: None,
        } = config.sampler.diffusers.flow_sigmas
        else {
            panic!("{:?}", config.sampler.diffusers.flow_sigmas);
        };
        assert!(!line.linear);
        // A 64×64 image (4096 values) is shifted by e^1.15, a 16×16 one by e^0.5.
        assert!((line.shift_for(4096) - 1.15f64.exp()).abs() < 1e-12);
        assert!((line.shift_for(256) - 0.5f64.exp()).abs() < 1e-12);
        let ltx = r#"{"_class_name": "FlowMatchEulerDiscreteScheduler", "shift_terminal": 0.1}"#;
        let sigmas = SamplerSpec {
            steps: 5,
            ..SchedulerConfig::parse(ltx).unwrap().sampler
        }
        .flow_sigmas(1000, 784);
        assert!(
            (sigmas[4] - 0.1).abs() < 1e-12 && sigmas[5] == 0.0,
            "{sigmas:?}"
        );
        let bad = r#"{"_class_name": "FlowMatchEulerDiscreteScheduler", "shift_terminal": 1.5}"#;
        assert_eq!(
            SchedulerConfig::parse(bad).unwrap_err().to_string(),
            "the field shift_terminal should be a number in [0, 1)"
        );
    }

    #[test]
    fn dpm_solver_reads_diffusers_own_file_with_its_infinity() {
        let text = r#"{
          "_class_name": "DPMSolverMultistepScheduler",
          "algorithm_type": "dpmsolver++",
          "lambda_min_clipped": -Infinity,
          "lower_order_final": true,
          "prediction_type": "v_prediction",
          "rescale_betas_zero_snr": true,
          "sample_max_value": 1.0,
          "solver_order": 2,
          "thresholding": true,
          "timestep_spacing": "trailing"
        }"#;
        let config = SchedulerConfig::parse(text).unwrap();
        assert_eq!(config.objective, Objective::V);
        assert!(config.schedule.zero_terminal_snr);
        assert_eq!(config.sampler.kind, SamplerKind::DpmSolver2M);
        assert_eq!(config.sampler.spacing, Spacing::Trailing);
        assert!(config.sampler.clip_x0);
        // Written back: the same fields and values, −∞ as Python writes it.
        let again = SchedulerConfig::parse(&config.to_json()).unwrap();
        assert_eq!(again, config);
        assert!(
            config
                .to_json()
                .contains("\"lambda_min_clipped\": -Infinity")
        );
        let order3 = text.replace("\"solver_order\": 2", "\"solver_order\": 3");
        assert_eq!(
            SchedulerConfig::parse(&order3)
                .unwrap()
                .sampler
                .diffusers
                .dpm_order,
            3
        );
        let order4 = text.replace("\"solver_order\": 2", "\"solver_order\": 4");
        assert_eq!(
            SchedulerConfig::parse(&order4).unwrap_err().to_string(),
            "the field solver_order should be 1, 2 or 3"
        );
        let sde = text.replace("\"dpmsolver++\"", "\"sde-dpmsolver++\"");
        assert!(SchedulerConfig::parse(&sde).is_err());
    }
}
