//! Drawing the Playground view: the data and the model's choices with Train / Stop (left), the
//! tab's plane or planes and the loss curve (centre), what the class is looking at (right). The
//! tabs' planes are drawn by `plane` (one diffusion model), `compare` (GAN · VAE · diffusion) and
//! `paths` (ε and flow paths, reflow); their explanations are in `explain`.

use eframe::egui::{self, Color32, Key, Modifiers, RichText};
use egui_plot::{Line, Plot, PlotPoints};

use super::compare::compare_ui;
use super::explain;
use super::paths::paths_ui;
use super::plane::{plane_ui, trace_caption};
use super::{
    DataChoice, LEARNING_RATES, PlaygroundCommand, PlaygroundMode, PlaygroundView, TIMESTEPS,
};
use crate::diffusion::ScheduleKind;
use crate::diffusion::objectives::Objective;
use crate::i18n::Lang;
use crate::toy::{Point, Shape};
use crate::ui::message::message_ui;
use crate::ui::presentation::{line_width, view_panels};
use crate::ui::tour;

/// The plane shown: −4…4 on both axes.
pub(super) const EXTENT: f64 = 4.0;
/// Samples whose whole paths are drawn.
pub(super) const TRACED: usize = 24;

pub(super) const DATA_COLOUR: Color32 = Color32::from_rgb(150, 150, 150);
pub(super) const SAMPLE_COLOUR: Color32 = Color32::from_rgb(0, 114, 178);
pub(super) const PATH_COLOUR: Color32 = Color32::from_rgb(230, 159, 0);

/// Draws the whole view.
pub fn playground_ui(view: &mut PlaygroundView, ui: &mut egui::Ui, lang: Lang) {
    keys(view, ui);
    let mode = view.settings.mode;
    view_panels(
        ui,
        ("playground", 290.0),
        view,
        |view, ui| controls_ui(view, ui, lang),
        |ui| {
            ui.add_space(6.0);
            ui.heading(lang.pick("What are we looking at?", "我们在看什么？"));
            egui::ScrollArea::vertical().show(ui, |ui| {
                let text = match mode {
                    PlaygroundMode::Diffusion => {
                        lang.pick(explain::DIFFUSION_EN, explain::DIFFUSION_ZH)
                    }
                    PlaygroundMode::Models => {
                        lang.pick(explain::COMPARISON_EN, explain::COMPARISON_ZH)
                    }
                    PlaygroundMode::Paths => lang.pick(explain::PATHS_EN, explain::PATHS_ZH),
                };
                ui.label(RichText::new(text).size(15.0));
            });
        },
        |view, ui| centre_ui(view, ui, lang),
    );
}

fn keys(view: &mut PlaygroundView, ui: &egui::Ui) {
    if ui.ctx().egui_wants_keyboard_input() {
        return;
    }
    let pressed = |key| ui.input_mut(|i| i.consume_key(Modifiers::NONE, key));
    if pressed(Key::Space) {
        view.ask(if view.is_training() {
            PlaygroundCommand::Stop
        } else {
            PlaygroundCommand::Train
        });
    }
    let timesteps = view.settings.timesteps;
    if pressed(Key::ArrowRight) {
        view.t = (view.t + (timesteps / 50).max(1)).min(timesteps);
    }
    if pressed(Key::ArrowLeft) {
        view.t = view.t.saturating_sub((timesteps / 50).max(1));
    }
    let last = view.diffusion().paths.len().saturating_sub(1);
    let step = view.step.unwrap_or(last);
    if pressed(Key::OpenBracket) {
        view.step = Some(step.saturating_sub(1));
    }
    if pressed(Key::CloseBracket) {
        view.step = (step + 1 < last).then_some(step + 1);
    }
}

fn controls_ui(view: &mut PlaygroundView, ui: &mut egui::Ui, lang: Lang) {
    ui.add_space(6.0);
    let mode = &mut view.settings.mode;
    ui.horizontal_wrapped(|ui| {
        ui.selectable_value(
            mode,
            PlaygroundMode::Diffusion,
            lang.pick("Diffusion", "扩散"),
        );
        let compare = ui.selectable_value(
            mode,
            PlaygroundMode::Models,
            lang.pick("GAN · VAE · diffusion", "GAN · VAE · 扩散"),
        );
        tour::mark(ui, "playground.compare", &compare);
        let paths = ui.selectable_value(
            mode,
            PlaygroundMode::Paths,
            lang.pick("Paths: ε · flow", "路径：ε · 流"),
        );
        tour::mark(ui, "playground.paths", &paths);
    });
    ui.separator();
    ui.heading(lang.pick("The data", "数据"));
    data_ui(view, ui, lang);
    ui.separator();
    ui.heading(lang.pick("The model", "模型"));
    model_ui(view, ui, lang);
    ui.add_space(8.0);
    let (label, command) = if view.is_training() {
        (
            lang.pick("■ Stop (Space)", "■ 停止（空格）"),
            PlaygroundCommand::Stop,
        )
    } else {
        (
            lang.pick("▶ Train (Space)", "▶ 训练（空格）"),
            PlaygroundCommand::Train,
        )
    };
    let button = ui.add_sized(
        [200.0, 36.0],
        egui::Button::new(RichText::new(label).size(18.0)),
    );
    tour::mark(ui, "playground.train", &button);
    if button.clicked() {
        view.ask(command);
    }
    let trained = view.diffusion().model.is_some();
    if ui
        .add_enabled(
            trained,
            egui::Button::new(lang.pick("Save the animation as GIF…", "把动画保存为 GIF…")),
        )
        .clicked()
    {
        view.ask(PlaygroundCommand::ExportGif);
    }
    ui.separator();
    ui.heading(lang.pick("Show", "显示"));
    let layers = &mut view.settings.layers;
    ui.checkbox(
        &mut layers.data,
        lang.pick("the data, at t", "数据（在 t 处）"),
    );
    ui.checkbox(
        &mut layers.samples,
        lang.pick("the samples, at the step", "样本（在当前步）"),
    );
    ui.checkbox(
        &mut layers.paths,
        lang.pick("the paths of 24 samples", "24 个样本的路径"),
    );
    let field = ui.checkbox(
        &mut layers.field,
        lang.pick("the field at t: x → x̂0", "t 处的场：x → x̂0"),
    );
    tour::mark(ui, "playground.field", &field);
    let mesh = ui.checkbox(
        &mut layers.mesh,
        lang.pick(
            "a grid in the noise, carried along",
            "噪声中的网格，随之变形",
        ),
    );
    tour::mark(ui, "playground.mesh", &mesh);
    ui.checkbox(
        &mut layers.density,
        lang.pick("the samples' density: contours", "样本的密度：等高线"),
    );
}

fn data_ui(view: &mut PlaygroundView, ui: &mut egui::Ui, lang: Lang) {
    let settings = &mut view.settings;
    let name = |choice: DataChoice| match choice {
        DataChoice::Shape(shape) => shape.label(lang),
        DataChoice::Drawn => lang.pick("Draw your own", "自己画"),
    };
    let label = ui.label(RichText::new(lang.pick("Data set", "数据集")).strong());
    egui::ComboBox::from_id_salt("playground-data")
        .selected_text(name(settings.data))
        .show_ui(ui, |ui| {
            for choice in Shape::ALL
                .into_iter()
                .map(DataChoice::Shape)
                .chain([DataChoice::Drawn])
            {
                ui.selectable_value(&mut settings.data, choice, name(choice));
            }
        })
        .response
        .labelled_by(label.id);
    ui.horizontal(|ui| {
        if ui.button(lang.pick("Open points…", "打开点集…")).clicked() {
            view.ask(PlaygroundCommand::OpenPoints);
        }
        if ui
            .button(lang.pick("Save as CSV…", "保存为 CSV…"))
            .clicked()
        {
            view.ask(PlaygroundCommand::SavePoints);
        }
    });
    let settings = &mut view.settings;
    match settings.data {
        DataChoice::Shape(_) => {
            ui.add(
                egui::Slider::new(&mut settings.count, 100..=20_000)
                    .logarithmic(true)
                    .text(lang.pick("points", "个点")),
            );
        }
        DataChoice::Drawn => {
            ui.label(lang.pick(
                "Hold the mouse button on the plane and move to draw.",
                "在平面上按住鼠标左键并移动即可绘制。",
            ));
            let drawn = settings.drawn.len();
            ui.horizontal(|ui| {
                ui.label(format!("{drawn} {}", lang.pick("points", "个点")));
                if ui.button(lang.pick("Clear", "清除")).clicked() {
                    view.ask(PlaygroundCommand::ClearDrawing);
                }
            });
        }
    }
}

fn model_ui(view: &mut PlaygroundView, ui: &mut egui::Ui, lang: Lang) {
    let settings = &mut view.settings;
    ui.horizontal(|ui| {
        for (objective, text) in [
            (Objective::Eps, lang.pick("predict ε", "预测 ε")),
            (Objective::V, lang.pick("predict v", "预测 v")),
            (Objective::Flow, lang.pick("flow", "流匹配")),
        ] {
            ui.radio_value(&mut settings.objective, objective, text);
        }
    });
    ui.add_enabled_ui(settings.objective != Objective::Flow, |ui| {
        egui::ComboBox::from_label(lang.pick("schedule", "噪声日程"))
            .selected_text(settings.schedule.cli_name())
            .show_ui(ui, |ui| {
                for kind in [ScheduleKind::Linear, ScheduleKind::Cosine] {
                    ui.selectable_value(&mut settings.schedule, kind, kind.cli_name());
                }
            });
    });
    let steps = egui::ComboBox::from_label(lang.pick("T, diffusion steps", "T，扩散步数"))
        .selected_text(settings.timesteps.to_string())
        .show_ui(ui, |ui| {
            for t in TIMESTEPS {
                ui.selectable_value(&mut settings.timesteps, t, t.to_string());
            }
        });
    tour::mark(ui, "playground.timesteps", &steps.response);
    egui::ComboBox::from_label(lang.pick("learning rate", "学习率"))
        .selected_text(format!("{}", settings.learning_rate))
        .show_ui(ui, |ui| {
            for rate in LEARNING_RATES {
                ui.selectable_value(&mut settings.learning_rate, rate, format!("{rate}"));
            }
        });
    ui.add(
        egui::Slider::new(&mut settings.sample_steps, 1..=200)
            .logarithmic(true)
            .text(lang.pick("sampler steps", "采样步数")),
    );
    ui.horizontal(|ui| {
        let label = ui.label(lang.pick("seed", "种子"));
        ui.add(egui::DragValue::new(&mut settings.seed))
            .labelled_by(label.id);
    });
    view.t = view.t.min(settings.timesteps);
}

fn centre_ui(view: &mut PlaygroundView, ui: &mut egui::Ui, lang: Lang) {
    message_ui(ui, lang, &mut view.message);
    ui.label(RichText::new(status(view, lang)).size(16.0));
    let timesteps = view.settings.timesteps;
    let slider = ui.add(
        egui::Slider::new(&mut view.t, 0..=timesteps)
            .text(lang.pick("forward: t (← →)", "前向：t（← →）")),
    );
    tour::mark(ui, "playground.t", &slider);
    match view.settings.mode {
        PlaygroundMode::Diffusion => {}
        PlaygroundMode::Models => return compare_ui(view, ui, lang),
        PlaygroundMode::Paths => return paths_ui(view, ui, lang),
    }
    let last = view.diffusion().paths.len().saturating_sub(1);
    if last > 0 {
        let mut step = view.step.unwrap_or(last);
        ui.add(
            egui::Slider::new(&mut step, 0..=last)
                .text(lang.pick("reverse: sampler step ([ ])", "反向：采样步（[ ]）")),
        );
        view.step = (step < last).then_some(step);
        ui.label(RichText::new(trace_caption(view, lang)).size(15.0));
    }
    let loss_height = 150.0;
    let side = (ui.available_height() - loss_height - 20.0)
        .min(ui.available_width())
        .max(200.0);
    plane_ui(view, ui, lang, side);
    loss_ui(view, ui, lang, loss_height);
}

fn status(view: &PlaygroundView, lang: Lang) -> String {
    let shown = view
        .lanes
        .first()
        .map_or_else(|| view.diffusion(), |lane| &lane.shown);
    if shown.steps == 0 {
        return if view.is_training() {
            lang.pick("Starting…", "正在开始……").to_owned()
        } else {
            lang.pick(
                "Press Train: the model learns the data while you watch.",
                "按“训练”：模型在你眼前学习这些数据。",
            )
            .to_owned()
        };
    }
    let rate = shown.steps as f64 / shown.seconds.max(1e-9);
    let loss = shown.losses.last().copied().unwrap_or(f32::NAN);
    lang.pick(
        format!(
            "{} training steps in {:.1} s ({rate:.0} a second) · loss {loss:.3}{}",
            shown.steps,
            shown.seconds,
            if shown.running { "" } else { " · stopped" }
        ),
        format!(
            "已训练 {} 步，用时 {:.1} 秒（每秒 {rate:.0} 步）· 损失 {loss:.3}{}",
            shown.steps,
            shown.seconds,
            if shown.running { "" } else { " · 已停止" }
        ),
    )
}

/// A square plot `side` points wide of the plane −4…4, fixed: no dragging or zooming (a drag
/// draws points, and a slider's drag must not move it).
pub(super) fn plane_plot<'a>(id: &str, side: f32) -> Plot<'a> {
    Plot::new(id)
        .width(side)
        .height(side)
        .data_aspect(1.0)
        .include_x(-EXTENT)
        .include_x(EXTENT)
        .include_y(-EXTENT)
        .include_y(EXTENT)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
}

pub(super) fn as_plot(points: &[Point]) -> PlotPoints<'static> {
    PlotPoints::from(
        points
            .iter()
            .map(|p| [f64::from(p[0]), f64::from(p[1])])
            .collect::<Vec<_>>(),
    )
}

fn loss_ui(view: &PlaygroundView, ui: &mut egui::Ui, lang: Lang, height: f32) {
    let shown = view.diffusion();
    let stride = shown.loss_stride.max(1) as f64;
    let raw: Vec<[f64; 2]> = shown
        .losses
        .iter()
        .enumerate()
        .map(|(i, &l)| [i as f64 * stride, f64::from(l)])
        .collect();
    // A running mean over 50 kept losses: the trend through the noise of single batches. One
    // pass with a sliding sum, since the curve is drawn every frame.
    let window = 50;
    let mut sum = 0.0;
    let smooth: Vec<[f64; 2]> = shown
        .losses
        .iter()
        .enumerate()
        .filter_map(|(i, &loss)| {
            sum += f64::from(loss);
            if i >= window {
                sum -= f64::from(shown.losses[i - window]);
            }
            (i + 1 >= window).then(|| [i as f64 * stride, sum / window as f64])
        })
        .collect();
    Plot::new("playground-loss")
        .height(height)
        .include_y(0.0)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .x_axis_label(lang.pick("training step", "训练步"))
        .y_axis_label(lang.pick("loss", "损失"))
        .show(ui, |plot| {
            plot.line(
                Line::new(lang.pick("loss", "损失"), PlotPoints::from(raw)).color(DATA_COLOUR),
            );
            plot.line(
                Line::new(
                    lang.pick("mean of 50", "50 步均值"),
                    PlotPoints::from(smooth),
                )
                .color(SAMPLE_COLOUR)
                .width(line_width(plot.ctx(), 2.0)),
            );
        });
}
