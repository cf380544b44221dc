//! Drawing "a model learning live": the run's choices and Start / Pause / Stop / Save (left); the
//! status, the latest grid beside the loss curve, and the strip of grids over training (centre).

use eframe::egui::{self, ColorImage, RichText, TextureHandle, TextureOptions};

use super::live::{LiveNews, LiveSize};
use super::{TrainingCommand, TrainingView};
use crate::diffusion::objectives::Objective;
use crate::export::figure::{Curve, Figure, LegendCorner, Mark};
use crate::i18n::Lang;
use crate::sample::colormap::OKABE_ITO;
use crate::sample::grid::tile;
use crate::sample::{GridSpec, ImageShape};
use crate::ui::figure_plot::figure_plot_ui;
use crate::ui::views::{WindowRequest, ask_window};

/// The grid's digits, 4 × 4.
const GRID: GridSpec = GridSpec {
    columns: 4,
    rows: 4,
};
/// Losses averaged for the smooth line.
const SMOOTHING: usize = 25;

/// The textures of the latest grid and of the strip, remade when a grid was drawn.
#[derive(Default)]
pub struct LiveTextures {
    grid_revision: Option<u64>,
    grid: Option<TextureHandle>,
    strip: Vec<(usize, TextureHandle)>,
}

impl LiveTextures {
    fn update(&mut self, ctx: &egui::Context, news: &LiveNews) {
        if self.grid_revision == Some(news.grid_revision) {
            return;
        }
        self.grid_revision = Some(news.grid_revision);
        let shape = ImageShape::grey(28, 28);
        let upload = |name: String, images: &[f32], scale| {
            let picture = tile(images, shape, GRID, scale);
            let dims = [picture.width() as usize, picture.height() as usize];
            ctx.load_texture(
                name,
                ColorImage::from_rgb(dims, picture.as_raw()),
                TextureOptions::NEAREST,
            )
        };
        self.grid = news
            .grid
            .as_ref()
            .map(|(_, images)| upload("live-grid".into(), images, 3));
        // A grid already in the strip keeps its texture: most new grids change only the latest.
        let mut kept = std::mem::take(&mut self.strip);
        self.strip = news
            .strip
            .iter()
            .map(|(step, images)| {
                let texture = match kept.iter().position(|(s, _)| s == step) {
                    Some(index) => kept.swap_remove(index).1,
                    None => upload(format!("live-strip-{step}"), images, 1),
                };
                (*step, texture)
            })
            .collect();
    }
}

/// The run's choices (fixed while it runs) and its buttons.
pub fn live_controls_ui(view: &mut TrainingView, ui: &mut egui::Ui, lang: Lang) {
    ui.add_space(6.0);
    ui.heading(lang.pick("A model learning live", "实时学习的模型"));
    let running = view.is_training();
    ui.add_enabled_ui(!running, |ui| choices_ui(view, ui, lang));
    ui.add_space(8.0);
    ui.horizontal_wrapped(|ui| {
        if !running {
            let start = RichText::new(lang.pick("Train (T)", "开始训练 (T)")).size(18.0);
            if ui.button(start).clicked() {
                view.ask(TrainingCommand::StartLive);
            }
            return;
        }
        let paused = view.is_paused();
        let pause = if paused {
            lang.pick("Resume (Space)", "继续 (Space)")
        } else {
            lang.pick("Pause (Space)", "暂停 (Space)")
        };
        if ui.button(RichText::new(pause).size(18.0)).clicked() {
            view.ask(TrainingCommand::PauseLive);
        }
        if ui.button(lang.pick("Stop (Esc)", "停止 (Esc)")).clicked() {
            view.ask(TrainingCommand::StopLive);
        }
    });
    let can_save = view.is_training() || view.live_news.checkpoint.is_some();
    if ui
        .add_enabled(
            can_save,
            egui::Button::new(lang.pick("Save as a model… (Ctrl+S)", "保存为模型… (Ctrl+S)")),
        )
        .clicked()
    {
        view.ask(TrainingCommand::SaveLive);
    }
    ui.label(
        RichText::new(lang.pick(
            "Saves the averaged weights as they are (after a run, as it ended).",
            "保存当前的平均权重（训练结束后保存结束时的权重）。",
        ))
        .small(),
    );
    if let Some(path) = &view.saved_model
        && ui
            .button(lang.pick("Open it in the Reverse view", "在“反向”视图中打开"))
            .clicked()
    {
        ask_window(ui.ctx(), WindowRequest::OpenModelInReverse(path.clone()));
    }
}

fn choices_ui(view: &mut TrainingView, ui: &mut egui::Ui, lang: Lang) {
    let live = &mut view.settings.live;
    let label = ui.label(RichText::new(lang.pick("Objective", "目标")).strong());
    ui.horizontal(|ui| {
        for (objective, name) in [
            (Objective::Eps, "ε"),
            (Objective::V, "v"),
            (Objective::Flow, lang.pick("flow", "流匹配")),
        ] {
            ui.selectable_value(&mut live.objective, objective, name);
        }
    })
    .response
    .labelled_by(label.id);
    let label = ui.label(RichText::new(lang.pick("Network", "网络")).strong());
    ui.horizontal(|ui| {
        let tiny = lang.pick("tiny (35 k weights)", "小（3.5 万个权重）");
        let full = lang.pick("full (537 k)", "完整（53.7 万）");
        ui.selectable_value(&mut live.size, LiveSize::Tiny, tiny);
        ui.selectable_value(&mut live.size, LiveSize::Full, full);
    })
    .response
    .labelled_by(label.id);
    choice_row(
        ui,
        lang.pick("Learning rate", "学习率"),
        &mut live.lr,
        &[1e-3, 2e-3, 5e-3, 1e-2],
    );
    choice_row(
        ui,
        lang.pick("Batch", "批大小"),
        &mut live.batch,
        &[16, 32, 64, 128],
    );
    choice_row(
        ui,
        lang.pick("Steps", "步数"),
        &mut live.steps,
        &[500, 1_000, 2_000, 5_000],
    );
    let label = ui.label(lang.pick("Label dropout", "标签丢弃率"));
    ui.add(egui::Slider::new(&mut live.label_dropout, 0.0..=0.5).step_by(0.05))
        .labelled_by(label.id);
}

/// A bold label over one button per value.
fn choice_row<T: Copy + PartialEq + std::fmt::Display>(
    ui: &mut egui::Ui,
    label: &str,
    value: &mut T,
    choices: &[T],
) {
    let label = ui.label(RichText::new(label).strong());
    ui.horizontal(|ui| {
        for &choice in choices {
            ui.selectable_value(value, choice, choice.to_string());
        }
    })
    .response
    .labelled_by(label.id);
}

/// The run's status, grid, loss curve and strip.
pub fn live_ui(view: &mut TrainingView, ui: &mut egui::Ui, lang: Lang) {
    let Some(last) = view.live_news.last else {
        ui.add_space(40.0);
        ui.label(RichText::new(lang.pick(
            "Train (T) starts a small digit model from random weights. Every few seconds its averaged weights draw the same sixteen starts again (0–9, then 0–5, guidance 3): watch noise become digits.",
            "点击“开始训练”(T)，从随机权重开始训练一个小的数字模型。每隔几秒，它的平均权重会从同样的十六个起点重新生成（0–9，再 0–5，引导强度 3）：看噪声如何变成数字。",
        )).size(18.0));
        return;
    };
    ui.label(RichText::new(status(view, last, lang)).size(18.0));
    view.live_textures.update(ui.ctx(), &view.live_news);
    let figure = loss_figure(&view.live_news, lang);
    ui.columns(2, |columns| {
        if let Some(grid) = &view.live_textures.grid {
            let side = columns[0].available_width().min(380.0);
            columns[0].add(egui::Image::new((grid.id(), egui::vec2(side, side))));
        }
        figure_plot_ui(&mut columns[1], (&figure, 2), 300.0, lang, |_| {});
    });
    ui.add_space(8.0);
    ui.label(RichText::new(lang.pick("Samples over training", "训练过程中的样本")).strong());
    egui::ScrollArea::horizontal().show(ui, |ui| {
        ui.horizontal(|ui| {
            for (step, texture) in &view.live_textures.strip {
                ui.vertical(|ui| {
                    ui.add(egui::Image::new((texture.id(), egui::vec2(118.0, 118.0))));
                    ui.label(step_label(*step, lang));
                });
            }
        });
    });
}

fn status(view: &TrainingView, last: crate::train::StepReport, lang: Lang) -> String {
    let state = if view.is_paused() {
        lang.pick("paused", "已暂停")
    } else if view.is_training() {
        lang.pick("training", "训练中")
    } else if last.step >= last.steps {
        lang.pick("finished", "已完成")
    } else {
        lang.pick("stopped", "已停止")
    };
    let shown = view.live_news.grid.as_ref().map_or(0, |(step, _)| *step);
    match lang {
        Lang::En => format!(
            "{state} · step {} of {} · loss {:.4} · {:.0} digits/s · {:.0} s · grid after step {shown}",
            last.step, last.steps, last.loss, last.images_per_sec, last.elapsed_secs
        ),
        Lang::Zh => format!(
            "{state} · 第 {} / {} 步 · 损失 {:.4} · 每秒 {:.0} 个数字 · {:.0} 秒 · 样本来自第 {shown} 步",
            last.step, last.steps, last.loss, last.images_per_sec, last.elapsed_secs
        ),
    }
}

fn step_label(step: usize, lang: Lang) -> String {
    match lang {
        Lang::En => format!("step {step}"),
        Lang::Zh => format!("第 {step} 步"),
    }
}

/// Every step's loss and its running mean against the step, on a log scale.
pub fn loss_figure(news: &LiveNews, lang: Lang) -> Figure {
    let points: Vec<(f64, f64)> = news
        .losses
        .iter()
        .enumerate()
        .map(|(i, &loss)| ((i + 1) as f64, f64::from(loss)))
        .collect();
    let smooth: Vec<(f64, f64)> = points
        .windows(SMOOTHING.min(points.len()).max(1))
        .map(|w| {
            let mean = w.iter().map(|p| p.1).sum::<f64>() / w.len() as f64;
            (w[w.len() - 1].0, mean)
        })
        .collect();
    Figure {
        title: lang.pick("Training loss", "训练损失").to_owned(),
        x_label: lang.pick("step", "步").to_owned(),
        log_x: false,
        log_y: true,
        curves: vec![
            Curve {
                name: lang.pick("each step", "每一步").to_owned(),
                points,
                colour: [190, 190, 190],
                mark: Mark::Line,
            },
            Curve {
                name: lang
                    .pick("mean of the last 25", "最近 25 步的平均")
                    .to_owned(),
                points: smooth,
                colour: OKABE_ITO[0],
                mark: Mark::Line,
            },
        ],
        reference: None,
        legend: LegendCorner::TopRight,
    }
}
