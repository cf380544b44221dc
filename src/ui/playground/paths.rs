//! The Paths tab: an ε model and a flow model learn the same data, and their samples' paths from
//! the same noise are overlaid (ε under DDPM and DDIM, flow under Euler), with how straight each
//! set is and how far one big step lands from the many-step sample. Reflow trains a third model
//! on the flow model's own (noise, sample) pairs, and its straighter paths join the others.

use eframe::egui::{self, Color32, RichText};
use egui_plot::{Legend, Line, Points};

use super::live::Published;
use super::view::{DATA_COLOUR, PATH_COLOUR, SAMPLE_COLOUR, TRACED, as_plot, plane_plot};
use super::{PlaygroundCommand, PlaygroundView};
use crate::diffusion::objectives::Objective;
use crate::i18n::Lang;
use crate::toy::measure::straightness;
use crate::toy::{Point, ToyKind};
use crate::ui::presentation::line_width;
use crate::ui::tour;

const ANCESTRAL_COLOUR: Color32 = Color32::from_rgb(204, 121, 167);
const REFLOW_COLOUR: Color32 = Color32::from_rgb(0, 158, 115);

/// One set of overlaid paths: its name, colour, line width and points' steps, and the mean gap
/// between one big step and the many-step samples (deterministic samplers only).
struct PathSet<'a> {
    name: String,
    colour: Color32,
    width: f32,
    steps: &'a [Vec<Point>],
    one_step_error: Option<f64>,
}

/// The overlaid paths, the Reflow button, and each set's figures.
pub(super) fn paths_ui(view: &mut PlaygroundView, ui: &mut egui::Ui, lang: Lang) {
    let data = view.data_and_noise().0.to_vec();
    let steps = view.settings.sample_steps;
    reflow_ui(view, ui, lang);
    let sets = path_sets(view, steps, lang);
    let side = (ui.available_height() - 150.0)
        .min(ui.available_width())
        .max(200.0);
    plane_plot("playground-paths", side)
        .legend(Legend::default())
        .show(ui, |plot| {
            plot.points(
                Points::new(lang.pick("data", "数据"), as_plot(&data))
                    .color(DATA_COLOUR)
                    .radius(line_width(plot.ctx(), 1.0)),
            );
            for set in &sets {
                let traced = TRACED.min(set.steps.first().map_or(0, Vec::len));
                for k in 0..traced {
                    let path: Vec<Point> = set.steps.iter().map(|points| points[k]).collect();
                    plot.line(
                        Line::new(set.name.as_str(), as_plot(&path))
                            .color(set.colour)
                            .width(line_width(plot.ctx(), set.width)),
                    );
                }
            }
        });
    for set in &sets {
        ui.label(
            RichText::new(set_figures(set, steps, lang))
                .color(set.colour)
                .size(16.0),
        );
    }
}

/// The sets of paths the trained lanes have published: ε under DDPM (faint, under the others)
/// and DDIM, flow under Euler, and the reflowed flow model under Euler.
fn path_sets<'a>(view: &'a PlaygroundView, steps: usize, lang: Lang) -> Vec<PathSet<'a>> {
    let lane = |objective, reflowed| {
        view.lanes
            .iter()
            .find(|lane| {
                lane.kind == ToyKind::Diffusion
                    && lane.objective == objective
                    && lane.reflowed == reflowed
            })
            .map(|lane| &lane.shown)
    };
    let one_step = |shown: &Published| shown.figures.as_ref().and_then(|f| f.one_step_error);
    let mut sets = Vec::new();
    if let Some(eps) = lane(Objective::Eps, false) {
        if let Some(ancestral) = &eps.ancestral {
            // Faint and thin, under the others: DDPM's jumps would hide them.
            sets.push(PathSet {
                name: format!("ε · DDPM {steps}"),
                colour: ANCESTRAL_COLOUR.gamma_multiply(0.6),
                width: 0.8,
                steps: ancestral,
                one_step_error: None,
            });
        }
        sets.push(PathSet {
            name: format!("ε · DDIM {steps}"),
            colour: SAMPLE_COLOUR,
            width: 1.5,
            steps: &eps.paths,
            one_step_error: one_step(eps),
        });
    }
    for (reflowed, colour, name) in [
        (false, PATH_COLOUR, lang.pick("flow", "流")),
        (true, REFLOW_COLOUR, lang.pick("reflow", "重流")),
    ] {
        if let Some(flow) = lane(Objective::Flow, reflowed) {
            sets.push(PathSet {
                name: format!("{name} · Euler {steps}"),
                colour,
                width: 1.5,
                steps: &flow.paths,
                one_step_error: one_step(flow),
            });
        }
    }
    sets
}

/// The Reflow button (once the flow model has samples) and how far the reflowed model is.
fn reflow_ui(view: &mut PlaygroundView, ui: &mut egui::Ui, lang: Lang) {
    let teacher_ready = view
        .lanes
        .iter()
        .any(|lane| lane.is_flow_teacher() && lane.shown.model.is_some());
    let reflowed_steps = view
        .lanes
        .iter()
        .find(|lane| lane.reflowed)
        .map(|lane| lane.shown.steps);
    ui.horizontal(|ui| {
        let button = ui
            .add_enabled(
                teacher_ready,
                egui::Button::new(
                    RichText::new(lang.pick("Reflow the flow model", "对流模型做重流")).size(16.0),
                ),
            )
            .on_hover_text(lang.pick(
                "Train a new flow model on the flow model's own (noise, sample) pairs.",
                "用流模型自己生成的（噪声，样本）配对训练一个新的流模型。",
            ));
        tour::mark(ui, "playground.reflow", &button);
        if button.clicked() {
            view.ask(PlaygroundCommand::Reflow);
        }
        if let Some(steps) = reflowed_steps {
            ui.label(lang.pick(
                format!("reflow: {steps} training steps on the flow model's pairs"),
                format!("重流：已在流模型的配对上训练 {steps} 步"),
            ));
        }
    });
}

/// How straight a set's paths are, what they cost, and how far one big step misses.
fn set_figures(set: &PathSet<'_>, steps: usize, lang: Lang) -> String {
    let ratio = straightness(set.steps, TRACED);
    let miss = set.one_step_error.map_or_else(String::new, |miss| {
        lang.pick(
            format!(" · one big step misses by {miss:.2}"),
            format!(" · 一大步偏差 {miss:.2}"),
        )
    });
    lang.pick(
        format!(
            "{}: path length ÷ start-to-end distance {ratio:.2} · {steps} network calls{miss}",
            set.name
        ),
        format!(
            "{}：路径长度 ÷ 起点到终点的距离 {ratio:.2} · 调用网络 {steps} 次{miss}",
            set.name
        ),
    )
}
