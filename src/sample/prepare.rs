//! A run prepared in one place: the window's worker, the command line and the bench all turn a model
//! and the user's choices into [`SampleSettings`] here, with the same checks and the same sentences.

use super::SampleSettings;
use super::network::model_schedule;
use crate::diffusion::NoiseSchedule;
use crate::diffusion::objectives::Objective;
use crate::diffusion::samplers::{SamplerKind, SamplerSpec};
use crate::i18n::Lang;
use crate::model::DiffusionInfo;

/// What the user chose for a run, whatever the model: the window sends it to the worker, the
/// command line builds it from its options.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSettings {
    /// The sampler and its steps.
    pub sampler: SamplerSpec,
    /// The seed of every random draw.
    pub seed: u64,
    /// One entry per image: its class, or `None` for any digit.
    pub labels: Vec<Option<u32>>,
    /// Classifier-free guidance scale w.
    pub guidance: f32,
}

/// What a run needs to know of its model: what the network predicts and the schedule it was
/// trained with.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelTraits {
    /// What the network predicts.
    pub objective: Objective,
    /// The schedule it was trained with.
    pub schedule: NoiseSchedule,
}

impl ModelTraits {
    /// The traits a diffusion checkpoint declares.
    pub fn of(info: &DiffusionInfo) -> Result<Self, PrepareError> {
        let schedule = model_schedule(info).ok_or_else(|| PrepareError::UnknownSchedule {
            name: info.schedule.clone(),
        })?;
        Ok(Self {
            objective: info.objective,
            schedule,
        })
    }

    /// The settings of `run` on this model, or why this model cannot make it.
    pub fn prepare(&self, run: RunSettings) -> Result<SampleSettings, PrepareError> {
        let sampler = run.sampler.kind;
        if !sampler.supports(self.objective) {
            return Err(PrepareError::SamplerUnsupported {
                sampler,
                objective: self.objective,
            });
        }
        Ok(SampleSettings {
            objective: self.objective,
            schedule: self.schedule.clone(),
            sampler: run.sampler,
            seed: run.seed,
            labels: run.labels,
            guidance: run.guidance,
        })
    }
}

/// Why a model cannot make the run asked for.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PrepareError {
    /// The model was trained with a schedule this program does not know.
    #[error("unknown noise schedule “{name}”")]
    UnknownSchedule {
        /// The schedule's name in the checkpoint.
        name: String,
    },
    /// The sampler cannot drive this kind of model.
    #[error("the {sampler} sampler cannot drive a {objective} model")]
    SamplerUnsupported {
        /// The sampler asked for.
        sampler: SamplerKind,
        /// What the model predicts.
        objective: Objective,
    },
}

impl PrepareError {
    /// One clear sentence for the user.
    pub fn sentence(&self, lang: Lang) -> String {
        match (self, lang) {
            (Self::UnknownSchedule { name }, Lang::En) => format!(
                "The model was trained with a noise schedule this program does not know (“{name}”)."
            ),
            (Self::UnknownSchedule { name }, Lang::Zh) => {
                format!("模型使用了本程序不认识的噪声调度（“{name}”）。")
            }
            (Self::SamplerUnsupported { sampler, objective }, Lang::En) => format!(
                "The {sampler} sampler cannot drive a model trained for {objective}; choose another sampler."
            ),
            (Self::SamplerUnsupported { sampler, objective }, Lang::Zh) => {
                format!("{sampler} 采样器无法驱动训练目标为 {objective} 的模型，请另选采样器。")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diffusion::{ScheduleConfig, ScheduleKind};

    fn flow_model() -> ModelTraits {
        ModelTraits {
            objective: Objective::Flow,
            schedule: NoiseSchedule::new(ScheduleConfig::new(ScheduleKind::Linear, 1000)),
        }
    }

    fn run_with(kind: SamplerKind) -> RunSettings {
        RunSettings {
            sampler: SamplerSpec::new(kind, 10),
            seed: 3,
            labels: vec![Some(1), None],
            guidance: 2.0,
        }
    }

    #[test]
    fn a_sampler_the_model_cannot_use_is_refused_in_both_languages() {
        let error = flow_model()
            .prepare(run_with(SamplerKind::Ddpm))
            .unwrap_err();
        assert_eq!(
            error,
            PrepareError::SamplerUnsupported {
                sampler: SamplerKind::Ddpm,
                objective: Objective::Flow
            }
        );
        assert!(error.sentence(Lang::En).contains("choose another sampler"));
        assert!(error.sentence(Lang::Zh).contains("请另选采样器"));
    }

    #[test]
    fn a_supported_run_keeps_every_choice_and_takes_the_models_traits() {
        let kind = SamplerKind::ALL
            .into_iter()
            .find(|k| k.supports(Objective::Flow))
            .unwrap();
        let settings = flow_model().prepare(run_with(kind)).unwrap();
        assert_eq!(settings.objective, Objective::Flow);
        assert_eq!(settings.sampler, SamplerSpec::new(kind, 10));
        assert_eq!((settings.seed, settings.guidance), (3, 2.0));
        assert_eq!(settings.labels, vec![Some(1), None]);
        assert_eq!(settings.schedule.steps(), 1000);
    }
}
