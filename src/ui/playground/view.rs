//! Drawing the Playground view: the data and the model's choices with Train / Stop (left), the
//! plane with the data, the samples, their paths and the field of arrows, and the loss curve
//! (centre), what the class is looking at (right).

use eframe::egui::{self, Color32, Key, Modifiers, RichText};
use egui_plot::{Arrows, Line, Plot, PlotPoints, Points};

use super::live::{PLANE_EXTENT, REALNESS_SIDE};
use super::{
    DataChoice, LEARNING_RATES, Lane, PlaygroundCommand, PlaygroundMode, PlaygroundView, TIMESTEPS,
};
use crate::diffusion::ScheduleKind;
use crate::diffusion::objectives::Objective;
use crate::i18n::Lang;
use crate::toy::diffusion::forward_coefficients;
use crate::toy::{Point, Shape, ToyKind};
use crate::ui::message::message_ui;
use crate::ui::presentation::{line_width, view_panels};
use crate::ui::tour;

/// The plane shown: −4…4 on both axes.
const EXTENT: f64 = 4.0;
/// Samples whose whole paths are drawn.
const TRACED: usize = 24;
/// Arrows per side of the field's grid.
const FIELD_SIDE: usize = 17;

const DATA_COLOUR: Color32 = Color32::from_rgb(150, 150, 150);
const SAMPLE_COLOUR: Color32 = Color32::from_rgb(0, 114, 178);
const PATH_COLOUR: Color32 = Color32::from_rgb(230, 159, 0);
const FIELD_COLOUR: Color32 = Color32::from_rgb(0, 158, 115);
const ANCESTRAL_COLOUR: Color32 = Color32::from_rgb(204, 121, 167);

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
                    PlaygroundMode::Diffusion => lang.pick(EXPLANATION_EN, EXPLANATION_ZH),
                    PlaygroundMode::Models => lang.pick(COMPARISON_EN, COMPARISON_ZH),
                    PlaygroundMode::Paths => lang.pick(PATHS_EN, PATHS_ZH),
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
    }
    let loss_height = 150.0;
    let side = (ui.available_height() - loss_height - 20.0)
        .min(ui.available_width())
        .max(200.0);
    plane_ui(view, ui, lang, side);
    loss_ui(view, ui, lang, loss_height);
}

/// The three models side by side: each one's samples over the data (the GAN's over its
/// discriminator's verdict), and its figures under it.
fn compare_ui(view: &mut PlaygroundView, ui: &mut egui::Ui, lang: Lang) {
    let data = view.data_and_noise().0.to_vec();
    update_realness_texture(view, ui.ctx());
    let width = (ui.available_width() / 3.0 - 8.0).max(150.0);
    let side = width.min(ui.available_height() - 190.0).max(150.0);
    ui.horizontal_top(|ui| {
        for kind in ToyKind::ALL {
            ui.vertical(|ui| {
                ui.set_width(width);
                ui.label(RichText::new(kind.label(lang)).size(18.0).strong());
                let lane = view.lanes.iter().find(|lane| lane.kind == kind);
                let samples = lane.and_then(|lane| lane.shown.paths.last());
                let heat = (kind == ToyKind::Gan)
                    .then(|| {
                        view.realness_texture
                            .as_ref()
                            .map(|(_, texture)| texture.id())
                    })
                    .flatten();
                small_plane(
                    ui,
                    (kind, side),
                    &data,
                    samples.map(Vec::as_slice),
                    heat,
                    lang,
                );
                ui.label(RichText::new(lane_figures(lane, kind, lang)).size(14.0));
            });
        }
    });
}

/// A plane of `side` points with the data in grey, the samples in colour and, for the GAN, its
/// discriminator's verdict behind them.
fn small_plane(
    ui: &mut egui::Ui,
    (kind, side): (ToyKind, f32),
    data: &[Point],
    samples: Option<&[Point]>,
    heat: Option<egui::TextureId>,
    lang: Lang,
) {
    plane_plot(&format!("playground-compare-{}", kind.cli_name()), side).show(ui, |plot| {
        if let Some(texture) = heat {
            let size = 2.0 * PLANE_EXTENT;
            plot.image(egui_plot::PlotImage::new(
                lang.pick("discriminator: real?", "判别器：真实？"),
                texture,
                egui_plot::PlotPoint::new(0.0, 0.0),
                [size, size],
            ));
        }
        let radius = line_width(plot.ctx(), 1.2);
        plot.points(
            Points::new(lang.pick("data", "数据"), as_plot(data))
                .color(DATA_COLOUR)
                .radius(radius),
        );
        if let Some(samples) = samples {
            plot.points(
                Points::new(lang.pick("samples", "样本"), as_plot(samples))
                    .color(SAMPLE_COLOUR)
                    .radius(radius),
            );
        }
    });
}

/// One set of overlaid paths: its name, colour, line width and points' steps.
struct PathSet<'a> {
    name: String,
    colour: Color32,
    width: f32,
    steps: &'a [Vec<Point>],
}

/// The ε model's paths under DDPM and DDIM and the flow model's under Euler, from the same
/// noise, overlaid on one plane, with how straight each set is.
fn paths_ui(view: &mut PlaygroundView, ui: &mut egui::Ui, lang: Lang) {
    let data = view.data_and_noise().0.to_vec();
    let steps = view.settings.sample_steps;
    let lane = |objective| {
        view.lanes
            .iter()
            .find(|lane| lane.kind == ToyKind::Diffusion && lane.objective == objective)
    };
    let mut sets = Vec::new();
    if let Some(eps) = lane(Objective::Eps) {
        if let Some(ancestral) = &eps.shown.ancestral {
            // Faint and thin, under the others: DDPM's jumps would hide them.
            sets.push(PathSet {
                name: format!("ε · DDPM {steps}"),
                colour: ANCESTRAL_COLOUR.gamma_multiply(0.6),
                width: 0.8,
                steps: ancestral,
            });
        }
        sets.push(PathSet {
            name: format!("ε · DDIM {steps}"),
            colour: SAMPLE_COLOUR,
            width: 1.5,
            steps: &eps.shown.paths,
        });
    }
    if let Some(flow) = lane(Objective::Flow) {
        sets.push(PathSet {
            name: format!("{} · Euler {steps}", lang.pick("flow", "流")),
            colour: PATH_COLOUR,
            width: 1.5,
            steps: &flow.shown.paths,
        });
    }
    let side = (ui.available_height() - 120.0)
        .min(ui.available_width())
        .max(200.0);
    plane_plot("playground-paths", side)
        .legend(egui_plot::Legend::default())
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
        let ratio = crate::toy::measure::straightness(set.steps, TRACED);
        ui.label(
            RichText::new(lang.pick(
                format!(
                    "{}: path length ÷ start-to-end distance {ratio:.2} · {steps} network calls",
                    set.name
                ),
                format!(
                    "{}：路径长度 ÷ 起点到终点的距离 {ratio:.2} · 调用网络 {steps} 次",
                    set.name
                ),
            ))
            .color(set.colour)
            .size(16.0),
        );
    }
}

/// The figures under a model's plane.
fn lane_figures(lane: Option<&Lane>, kind: ToyKind, lang: Lang) -> String {
    let Some(lane) = lane else {
        return lang.pick("Press Train.", "按“训练”。").to_owned();
    };
    let shown = &lane.shown;
    let Some(figures) = &shown.figures else {
        return lang.pick("Starting…", "正在开始……").to_owned();
    };
    let coverage = figures.coverage.as_ref().map_or_else(String::new, |c| {
        lang.pick(
            format!(
                "\nmodes covered {}/{}, between modes {:.0} %",
                c.covered,
                c.shares.len(),
                100.0 * c.between
            ),
            format!(
                "\n覆盖的模式 {}/{}，落在模式之间 {:.0} %",
                c.covered,
                c.shares.len(),
                100.0 * c.between
            ),
        )
    });
    let calls = figures.calls;
    let unit = if kind == ToyKind::Diffusion {
        lang.pick("calls", "次调用")
    } else {
        lang.pick("call", "次调用")
    };
    lang.pick(
        format!(
            "{} steps · {} weights\ndistance to the data {:.3} (sliced W), MMD² {:.4}{coverage}\n{calls} network {unit} a sample",
            shown.steps, figures.weights, figures.sliced_wasserstein, figures.mmd
        ),
        format!(
            "{} 步 · {} 个权重\n与数据的距离 {:.3}（切片 W），MMD² {:.4}{coverage}\n每个样本 {calls} {unit}网络",
            shown.steps, figures.weights, figures.sliced_wasserstein, figures.mmd
        ),
    )
}

/// Makes the GAN's discriminator a picture when it has published a new verdict: green where it
/// says "real", red where it says "generated".
fn update_realness_texture(view: &mut PlaygroundView, ctx: &egui::Context) {
    let Some(lane) = view.lanes.iter().find(|lane| lane.kind == ToyKind::Gan) else {
        return;
    };
    let Some(realness) = &lane.shown.realness else {
        return;
    };
    let revision = lane.shown.revision;
    if view
        .realness_texture
        .as_ref()
        .is_some_and(|(shown, _)| *shown == revision)
    {
        return;
    }
    let side = REALNESS_SIDE;
    // The grid runs from the bottom row up; a picture from the top row down.
    let pixels = (0..side * side)
        .map(|i| {
            let (row, column) = (side - 1 - i / side, i % side);
            let p = realness[row * side + column].clamp(0.0, 1.0);
            let mix = |fake: f32, real: f32| (fake + (real - fake) * p) as u8;
            Color32::from_rgb(mix(90.0, 20.0), mix(25.0, 80.0), mix(25.0, 45.0))
        })
        .collect();
    let image = egui::ColorImage::new([side, side], pixels);
    let texture = ctx.load_texture("playground-realness", image, egui::TextureOptions::LINEAR);
    view.realness_texture = Some((revision, texture));
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
fn plane_plot<'a>(id: &str, side: f32) -> Plot<'a> {
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

fn as_plot(points: &[Point]) -> PlotPoints<'static> {
    PlotPoints::from(
        points
            .iter()
            .map(|p| [f64::from(p[0]), f64::from(p[1])])
            .collect::<Vec<_>>(),
    )
}

fn plane_ui(view: &mut PlaygroundView, ui: &mut egui::Ui, lang: Lang, side: f32) {
    let drawing = view.settings.data == DataChoice::Drawn;
    let data = if view.settings.layers.data {
        view.noised_data()
    } else {
        Vec::new()
    };
    let field = if view.settings.layers.field {
        field_arrows(view)
    } else {
        None
    };
    let last = view.diffusion().paths.len().saturating_sub(1);
    let step = view.step.unwrap_or(last);
    let layers = view.settings.layers;
    let paths = &view.diffusion().paths;
    let response = plane_plot("playground-plane", side).show(ui, |plot| {
        let radius = line_width(plot.ctx(), 1.5);
        if !data.is_empty() {
            plot.points(
                Points::new(lang.pick("data", "数据"), as_plot(&data))
                    .color(DATA_COLOUR)
                    .radius(radius),
            );
        }
        if let Some((origins, tips)) = field {
            plot.arrows(
                Arrows::new(
                    lang.pick("x → x̂0", "x → x̂0"),
                    as_plot(&origins),
                    as_plot(&tips),
                )
                .color(FIELD_COLOUR),
            );
        }
        if layers.paths && step > 0 {
            for k in 0..TRACED.min(paths.first().map_or(0, Vec::len)) {
                let path: Vec<Point> = paths[..=step].iter().map(|points| points[k]).collect();
                plot.line(
                    Line::new("", as_plot(&path))
                        .color(PATH_COLOUR)
                        .width(line_width(plot.ctx(), 1.5)),
                );
            }
        }
        if layers.samples
            && let Some(points) = paths.get(step)
        {
            plot.points(
                Points::new(lang.pick("samples", "样本"), as_plot(points))
                    .color(SAMPLE_COLOUR)
                    .radius(radius),
            );
        }
        plot.pointer_coordinate()
            .filter(|_| drawing && plot.response().is_pointer_button_down_on())
    });
    if let Some(at) = response.inner {
        view.draw_at([at.x as f32, at.y as f32]);
    }
}

/// The field of arrows at the forward slider's t: from each grid point x towards the model's
/// guess of x0, a third of the way; `None` before there is a model. Kept until the model or t
/// changes, so the network runs on this thread only when they do.
fn field_arrows(view: &mut PlaygroundView) -> Option<(Vec<Point>, Vec<Point>)> {
    let revision = view.diffusion().revision;
    let model = view.diffusion().model.as_ref()?;
    // The model's own schedule and objective: the settings may have changed since it trained.
    let t = view.t.clamp(1, model.schedule.steps());
    if let Some(((shown, at), arrows)) = &view.field_cache
        && (*shown, *at) == (revision, t)
    {
        return Some(arrows.clone());
    }
    let grid: Vec<Point> = (0..FIELD_SIDE * FIELD_SIDE)
        .map(|i| {
            let at =
                |k: usize| (-EXTENT + 2.0 * EXTENT * k as f64 / (FIELD_SIDE - 1) as f64) as f32;
            [at(i % FIELD_SIDE), at(i / FIELD_SIDE)]
        })
        .collect();
    let flat = grid.as_flattened();
    // The network's time input is t for every objective (flow: σ·T with σ = t/T).
    let output = model
        .net
        .predict_points(flat, &vec![t as f32; grid.len()])
        .ok()?;
    let coefficients = forward_coefficients(model.objective, &model.schedule, t);
    let prediction = model.objective.predict(&output, flat, coefficients);
    let tips: Vec<Point> = grid
        .iter()
        .zip(prediction.x0.chunks_exact(2))
        .map(|(x, x0)| [x[0] + (x0[0] - x[0]) / 3.0, x[1] + (x0[1] - x[1]) / 3.0])
        .collect();
    view.field_cache = Some(((revision, t), (grid.clone(), tips.clone())));
    Some((grid, tips))
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

const EXPLANATION_EN: &str = "Each grey dot is one data point: a 2-D \"image\" with two pixels. \
Drag t to the right: every point moves a little towards the origin and a little along its own \
fixed noise, x_t = a·x0 + s·ε, until at t = T the data is a round Gaussian cloud. With T = 10 or \
50 the end is not yet a Gaussian: the reverse process then starts from noise that is not what it \
saw in training.\n\n\
Train teaches a small network (three residual layers of 64 units) to undo one noise level at a \
time, with the same objectives as the digit models: predict the noise ε, predict v, or predict \
the flow velocity ε − x0. Blue dots are samples drawn from fixed noise by the model as it is now, \
redrawn as it learns; orange lines are the paths of 24 of them, from noise (step 0) to the end. \
Drag the reverse scrubber to watch the cloud fold onto the data.\n\n\
The loss does not go to zero: from a noisy point the network can only guess the average of the \
clean points that could have made it. That average, x̂0, is what the arrows of the field point \
at: near t = T they all point to the middle of the data, near t = 0 to the nearest data point.";

const EXPLANATION_ZH: &str = "每个灰点是一个数据点：一张只有两个像素的二维“图像”。\
向右拖动 t：每个点都向原点靠近一点，并沿着它自己固定的噪声方向移动一点，x_t = a·x0 + s·ε，\
直到 t = T 时数据变成一团圆形的高斯云。若 T = 10 或 50，终点还不是高斯分布：\
反向过程就要从训练时没见过的噪声出发。\n\n\
“训练”教一个小网络（三层 64 单元的残差层）一次去掉一个噪声等级，目标与数字模型相同：\
预测噪声 ε、预测 v，或预测流速度 ε − x0。蓝点是模型以当前状态从固定噪声采样得到的样本，\
随着学习不断重画；橙线是其中 24 个样本从噪声（第 0 步）到终点的路径。\
拖动反向滑块，看噪声云如何折叠到数据上。\n\n\
损失不会降到零：从一个带噪的点出发，网络只能猜测可能产生它的所有干净点的平均值。\
这个平均值 x̂0 就是场中箭头所指之处：接近 t = T 时它们都指向数据的中心，接近 t = 0 时指向最近的数据点。";

const COMPARISON_EN: &str = "Three ways to learn the same points, trained at once on the same data \
with about the same number of weights.\n\n\
GAN: a generator turns 2-D noise into points in one network call; a discriminator (the \
background: green where it says \"real\", red where it says \"made up\") learns to tell them \
from the data, and the generator learns to fool it. Nothing rewards covering every mode: on the \
eight Gaussians it often settles on a few, with strings of points between them (mode collapse). \
Try other seeds.\n\n\
VAE: an encoder squeezes each point into a 2-D Gaussian code, a decoder turns codes back into \
points. Sampling decodes random codes in one call, but codes between two modes decode to points \
between them: the VAE smears the modes together.\n\n\
Diffusion: one network asked many times (here 50 calls a sample) removes noise a little at a \
time. It is slower to sample but covers every mode: the slow, careful way is why diffusion won.";

const COMPARISON_ZH: &str = "用三种方法学习同一组点：在同一份数据上同时训练，权重数量大致相同。\n\n\
GAN：生成器用一次网络调用把二维噪声变成点；判别器（背景：绿色表示它认为“真实”，红色表示“伪造”）\
学习把它们和数据区分开，生成器则学习骗过判别器。没有任何东西奖励覆盖所有模式：在八个高斯上，\
它常常只停在其中几个，中间拖着一串点（模式坍塌）。换几个种子试试。\n\n\
VAE：编码器把每个点压缩成二维高斯编码，解码器再把编码变回点。采样时一次调用解码随机编码，\
但位于两个模式之间的编码会被解码成两者之间的点：VAE 把各个模式抹在了一起。\n\n\
扩散：同一个网络被反复调用（这里每个样本 50 次），每次去掉一点噪声。采样更慢，\
但能覆盖每一个模式：这种缓慢而细致的方式正是扩散模型胜出的原因。";

const PATHS_EN: &str = "Two models learn the same data: one predicts the noise ε, one the flow \
velocity ε − x0. Both start their samples from the same noise; the lines are the paths of 24 of \
them.\n\n\
Pink: the ε model under DDPM, which adds fresh noise at every step: the paths wander. Blue: the \
same model under DDIM, which adds none: smooth curves, and the same noise lands near the same \
place. Orange: the flow model under Euler. Flow matching is trained on straight lines from each \
noise to a data point, but the lines of different pairs cross, and where they cross the model \
can only learn their average direction: its paths bend too. Making them straight takes one more \
idea, \"reflow\": train again on the model's own (noise, sample) pairs, whose lines no longer \
cross.\n\n\
The figure under each set is the length of a path divided by the distance from its start to its \
end: 1 is a straight line. The straighter the paths, the fewer big steps a sampler needs.";

const PATHS_ZH: &str = "两个模型学习同一份数据：一个预测噪声 ε，一个预测流速度 ε − x0。\
它们从同一份噪声出发采样；这些线是其中 24 个样本的路径。\n\n\
粉色：ε 模型配 DDPM，每一步都加入新的噪声，路径弯弯绕绕。蓝色：同一个模型配 DDIM，不加噪声，\
是平滑的曲线，同样的噪声会落到相近的地方。橙色：流模型配 Euler。流匹配是在从每个噪声到一个数据点的\
直线上训练的，但不同配对的直线会相交，在相交处模型只能学到它们的平均方向：所以它的路径也会弯曲。\
要让路径变直还需要一个想法——“重流”：用模型自己生成的（噪声，样本）配对再训练一次，这些直线就不再相交。\n\n\
每组下面的数字是路径长度除以起点到终点的距离：1 表示直线。路径越直，采样器需要的大步就越少。";
