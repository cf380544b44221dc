//! One line saying what a pipeline folder's own scheduler does beyond the sampler's defaults
//! ("leading spacing, timesteps + 1, x̂0 clipped to ±1, ends at t = 1"), shown under the sampler
//! when the view runs it: the config's fields made readable, so the class sees why the same
//! network walks another path.

use crate::diffusion::samplers::{
    DdimStep, DpmSolverType, FinalSigma, FlowShift, FlowSigmas, SamplerKind, SamplerSpec,
    SigmaRamp, X0Limit,
};
use crate::i18n::Lang;

/// "The folder's scheduler: …", listing what `own` sets; `None` when it sets nothing to say.
pub fn summary(own: &SamplerSpec, lang: Lang) -> Option<String> {
    let parts = parts(own, lang);
    (!parts.is_empty()).then(|| {
        let head = lang.pick("The folder's scheduler: ", "文件夹的调度器：");
        format!("{head}{}", parts.join(lang.pick(", ", "，")))
    })
}

/// Each setting of `own` worth a word, in the order a run meets them.
fn parts(own: &SamplerSpec, lang: Lang) -> Vec<String> {
    let options = &own.diffusers;
    let flow = matches!(own.kind, SamplerKind::FlowEuler | SamplerKind::FlowHeun);
    let mut parts = Vec::new();
    if !flow {
        let spacing = own.spacing.cli_name();
        parts.push(match lang {
            Lang::En => format!("{spacing} spacing"),
            Lang::Zh => format!("间距 {spacing}"),
        });
    }
    if options.steps_offset > 0 {
        parts.push(format!(
            "{} + {}",
            lang.pick("timesteps", "时间步"),
            options.steps_offset
        ));
    }
    parts.extend(sigma_parts(own, lang));
    if own.clip_x0 {
        parts.push(limit_part(options.x0_limit, lang));
    }
    let ddim_ends_early = own.kind == SamplerKind::Ddim
        && options.ddim_step == DdimStep::Diffusers
        && !options.set_alpha_to_one;
    if ddim_ends_early {
        parts.push(lang.pick("ends at t = 1", "止于 t = 1").to_owned());
    }
    if options.final_sigma == FinalSigma::SigmaMin {
        parts.push(
            lang.pick("ends at the smallest σ", "止于最小的 σ")
                .to_owned(),
        );
    }
    parts
}

/// The σ's: a ramp, DPM-Solver's order and rule, flow matching's shift.
fn sigma_parts(own: &SamplerSpec, lang: Lang) -> Vec<String> {
    let options = &own.diffusers;
    let mut parts = Vec::new();
    match options.sigma_ramp {
        SigmaRamp::Schedule => {}
        SigmaRamp::Karras => parts.push(lang.pick("Karras σ's", "Karras σ").to_owned()),
        SigmaRamp::Exponential => parts.push(lang.pick("exponential σ's", "指数 σ").to_owned()),
    }
    if own.kind == SamplerKind::DpmSolver2M {
        if options.dpm_order != 2 {
            parts.push(match lang {
                Lang::En => format!("order {}", options.dpm_order),
                Lang::Zh => format!("{} 阶", options.dpm_order),
            });
        }
        if options.dpm_solver_type == DpmSolverType::Heun {
            parts.push(lang.pick("Heun's second order", "Heun 二阶").to_owned());
        }
    }
    if let FlowSigmas::Diffusers { shift, terminal } = options.flow_sigmas {
        match shift {
            FlowShift::Fixed(1.0) => {}
            FlowShift::Fixed(s) => parts.push(format!("{} {s}", lang.pick("shift", "偏移"))),
            FlowShift::Dynamic(_) => {
                parts.push(
                    lang.pick("shift by image size", "按图像大小偏移")
                        .to_owned(),
                );
            }
        }
        if let Some(terminal) = terminal {
            parts.push(format!("{} σ = {terminal}", lang.pick("ends at", "止于")));
        }
    }
    parts
}

/// How x̂0 is held in range.
fn limit_part(limit: X0Limit, lang: Lang) -> String {
    match (limit, lang) {
        (X0Limit::Clip { range }, Lang::En) => format!("x̂0 clipped to ±{range}"),
        (X0Limit::Clip { range }, Lang::Zh) => format!("x̂0 截断到 ±{range}"),
        (X0Limit::Dynamic { ratio, ceiling }, Lang::En) => {
            format!("x̂0 thresholded at its {ratio} quantile (at most {ceiling})")
        }
        (X0Limit::Dynamic { ratio, ceiling }, Lang::Zh) => {
            format!("x̂0 按 {ratio} 分位数阈值化（至多 {ceiling}）")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diffusion::samplers::{DiffusersOptions, Spacing};

    #[test]
    fn the_latent_diffusion_ddim_reads_as_its_fields() {
        let own = SamplerSpec {
            spacing: Spacing::Leading,
            diffusers: DiffusersOptions {
                steps_offset: 1,
                ddim_step: DdimStep::Diffusers,
                set_alpha_to_one: false,
                ..DiffusersOptions::default()
            },
            ..SamplerSpec::new(SamplerKind::Ddim, 50)
        };
        assert_eq!(
            summary(&own, Lang::En).as_deref(),
            Some(
                "The folder's scheduler: leading spacing, timesteps + 1, x̂0 clipped to ±1, \
                 ends at t = 1"
            )
        );
        assert!(summary(&own, Lang::Zh).is_some_and(|s| s.contains("止于 t = 1")));
    }

    #[test]
    fn a_dpm_solver_config_names_its_ramp_order_and_threshold() {
        let mut own = SamplerSpec::new(SamplerKind::DpmSolver2M, 20);
        own.diffusers.sigma_ramp = SigmaRamp::Karras;
        own.diffusers.dpm_order = 3;
        own.diffusers.x0_limit = X0Limit::Dynamic {
            ratio: 0.995,
            ceiling: 1.5,
        };
        let line = summary(&own, Lang::En).unwrap_or_default();
        assert!(line.contains("Karras σ's, order 3"), "{line}");
        assert!(
            line.contains("x̂0 thresholded at its 0.995 quantile (at most 1.5)"),
            "{line}"
        );
    }

    #[test]
    fn a_plain_flow_run_has_nothing_to_say() {
        let mut own = SamplerSpec::new(SamplerKind::FlowEuler, 20);
        own.clip_x0 = false;
        own.diffusers.flow_sigmas = FlowSigmas::Diffusers {
            shift: FlowShift::Fixed(1.0),
            terminal: None,
        };
        assert_eq!(summary(&own, Lang::En), None);
    }
}
