//! Drawing the Clock view: the choices (left); the sinusoid's heat map with t marked, the
//! similarity tables, and the digit shown to a model told t and to one that is not (centre);
//! why a denoiser needs t (right).

use eframe::egui::{self, Color32, Key, Modifiers, RichText, Stroke, TextureHandle, Vec2};

use super::coordinates::coordinates_ui;
use super::pictures::part_names;
use super::watch::WatchState;
use super::{
    BLIND_MODEL, ClockCommand, ClockSection, ClockView, HEAT_MAP_TIMES, TOLD_MODEL, TRAIN_STEPS,
};
use crate::clock::attention_run::MAX_WATCHED_STEPS;
use crate::i18n::Lang;
use crate::model::checkpoint::ModelKind;
use crate::model::shipped::shipped_diffusion_models;
use crate::ui::message::message_ui;
use crate::ui::presentation::view_panels;
use crate::ui::views::{View, key_line};

/// How much ← and → move t (a hundredth of the way).
const FRACTION_STEP: f64 = 0.01;
/// The side of a compared picture on screen, in points.
const PICTURE_SIDE: f32 = 112.0;
/// The side of a similarity table on screen, in points.
const TABLE_SIDE: f32 = 240.0;
/// The marker of the chosen t.
const MARK: Stroke = Stroke {
    width: 2.5,
    color: Color32::from_rgb(0, 114, 178),
};

/// Draws the whole view.
pub fn clock_ui(view: &mut ClockView, ui: &mut egui::Ui, lang: Lang) {
    keys(view, ui);
    let section = view.settings.section;
    view_panels(
        ui,
        ("clock", 280.0),
        view,
        |view, ui| controls_ui(view, ui, lang),
        |ui| {
            ui.add_space(6.0);
            let (heading, text) = match section {
                ClockSection::Clock => (
                    lang.pick("Why the network needs t", "为什么网络需要知道 t"),
                    lang.pick(EXPLANATION_EN, EXPLANATION_ZH),
                ),
                ClockSection::Coordinates => (
                    lang.pick(
                        "Why a transformer needs positions",
                        "为什么 Transformer 需要位置",
                    ),
                    lang.pick(COORDINATES_EN, COORDINATES_ZH),
                ),
            };
            ui.heading(heading);
            egui::ScrollArea::vertical().show(ui, |ui| {
                ui.label(RichText::new(text).size(15.0));
            });
        },
        |view, ui| {
            message_ui(ui, lang, &mut view.message);
            egui::ScrollArea::vertical().show(ui, |ui| match section {
                ClockSection::Clock => {
                    embedding_ui(view, ui, lang);
                    ui.add_space(12.0);
                    similarity_ui(view, ui, lang);
                    ui.add_space(12.0);
                    comparison_ui(view, ui, lang);
                }
                ClockSection::Coordinates => {
                    coordinates_ui(&mut view.coordinates, &mut view.settings, ui, lang);
                }
            });
        },
    );
}

fn keys(view: &mut ClockView, ui: &egui::Ui) {
    if ui.ctx().egui_wants_keyboard_input() {
        return;
    }
    let pressed = |key| ui.input_mut(|i| i.consume_key(Modifiers::NONE, key));
    if pressed(Key::N) {
        view.ask(ClockCommand::NextDigit);
    }
    let watching = view.settings.section == ClockSection::Coordinates && view.settings.watch;
    if watching {
        run_keys(view, ui);
        return;
    }
    let coordinates = view.settings.section == ClockSection::Coordinates;
    if coordinates && (pressed(Key::G) || pressed(Key::Enter)) {
        view.ask(ClockCommand::MakeDigit);
    }
    let fraction = &mut view.settings.fraction;
    if pressed(Key::ArrowLeft) {
        *fraction = (*fraction - FRACTION_STEP).max(0.0);
    }
    if pressed(Key::ArrowRight) {
        *fraction = (*fraction + FRACTION_STEP).min(1.0);
    }
}

/// The keys of a watched run: make, stop, export, and ← → over its steps.
fn run_keys(view: &mut ClockView, ui: &egui::Ui) {
    let pressed = |key| ui.input_mut(|i| i.consume_key(Modifiers::NONE, key));
    let command = |key| ui.input_mut(|i| i.consume_key(Modifiers::COMMAND, key));
    if pressed(Key::G) || pressed(Key::Enter) {
        view.ask(ClockCommand::MakeDigit);
    }
    if pressed(Key::Escape) {
        view.ask(ClockCommand::StopRun);
    }
    if pressed(Key::Space) {
        view.ask(ClockCommand::Play);
    }
    if command(Key::E) {
        view.ask(ClockCommand::ExportGif);
    }
    if command(Key::S) {
        view.ask(ClockCommand::SavePng);
    }
    let (back, on) = (pressed(Key::ArrowLeft), pressed(Key::ArrowRight));
    if let Some(watch) = &mut view.coordinates.watch
        && !watch.frames.is_empty()
    {
        let last = watch.frames.len() - 1;
        if back {
            watch.shown = watch.shown.saturating_sub(1);
        }
        if on {
            watch.shown = (watch.shown + 1).min(last);
        }
        if back || on {
            watch.follow = watch.shown == last;
            watch.pause();
        }
    }
}

fn controls_ui(view: &mut ClockView, ui: &mut egui::Ui, lang: Lang) {
    ui.add_space(6.0);
    ui.horizontal_wrapped(|ui| {
        let section = &mut view.settings.section;
        let clock = lang.pick("Clock: t", "时钟：t");
        ui.selectable_value(section, ClockSection::Clock, clock);
        let coordinates = lang.pick("Coordinates: patches", "坐标：图块");
        ui.selectable_value(section, ClockSection::Coordinates, coordinates);
    });
    ui.separator();
    if view.settings.section == ClockSection::Coordinates {
        transformer_controls_ui(view, ui, lang);
        if view.settings.watch {
            run_controls_ui(view, ui, lang);
            return;
        }
    } else {
        network_choice_ui(view, ui, lang);
    }
    let settings = &mut view.settings;
    let label = ui.label(RichText::new(format!("t = {}", settings.timestep())).size(18.0));
    ui.add(
        egui::Slider::new(&mut settings.fraction, 0.0..=1.0)
            .step_by(0.001)
            .show_value(false),
    )
    .labelled_by(label.id);
    ui.add_space(16.0);
    if settings.section == ClockSection::Clock {
        ui.heading(lang.pick("Told t, or not", "知道 t，还是不知道"));
    }
    ui.horizontal(|ui| {
        let label = ui.label(lang.pick("Digit no.", "数字编号"));
        ui.add(egui::DragValue::new(&mut settings.digit).range(0..=9_999))
            .labelled_by(label.id);
        let label = ui.label(lang.pick("Noise seed", "噪声种子"));
        ui.add(egui::DragValue::new(&mut settings.noise_seed))
            .labelled_by(label.id);
    });
    let next = RichText::new(lang.pick("Another digit (N)", "换一个数字 (N)")).size(18.0);
    if ui.button(next).clicked() {
        view.ask(ClockCommand::NextDigit);
    }
    if view.is_busy() {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(lang.pick("Running the networks…", "正在运行网络……"));
        });
    }
    ui.add_space(12.0);
    ui.label(RichText::new(key_line(&view.keys(lang), lang)).small());
}

/// The network whose clock is shown.
fn network_choice_ui(view: &mut ClockView, ui: &mut egui::Ui, lang: Lang) {
    ui.heading(lang.pick("The clock", "时钟"));
    let label = lang.pick("Network", "网络");
    let ours = |kind: ModelKind| kind != ModelKind::DiffusersUNet2D;
    model_choice_ui(
        ui,
        ("clock-model", label),
        &mut view.settings.model,
        ours,
        lang,
    );
}

/// A labelled menu of the shipped diffusion models whose kind `offered` accepts.
fn model_choice_ui(
    ui: &mut egui::Ui,
    (id, label): (&str, &str),
    chosen: &mut String,
    offered: impl Fn(ModelKind) -> bool,
    lang: Lang,
) {
    let label = ui.label(RichText::new(label).strong());
    egui::ComboBox::from_id_salt(id)
        .selected_text(chosen.clone())
        .show_ui(ui, |ui| {
            for model in shipped_diffusion_models().filter(|m| offered(m.kind)) {
                ui.selectable_value(chosen, model.name.to_owned(), model.label(lang));
            }
        })
        .response
        .labelled_by(label.id);
}

/// The transformer, the block whose attention is shown.
fn transformer_controls_ui(view: &mut ClockView, ui: &mut egui::Ui, lang: Lang) {
    ui.heading(lang.pick("The coordinates", "坐标"));
    let transformers = |kind: ModelKind| kind == ModelKind::DigitDiT;
    let id = ("clock-transformer", "Transformer");
    model_choice_ui(ui, id, &mut view.settings.transformer, transformers, lang);
    let depth = view
        .coordinates
        .found()
        .map_or(4, |found| found.maps.blocks.len().max(1));
    let label = ui.label(lang.pick("Block", "模块"));
    ui.add(egui::Slider::new(&mut view.settings.block, 0..=depth - 1))
        .labelled_by(label.id);
    ui.horizontal_wrapped(|ui| {
        let watch = &mut view.settings.watch;
        ui.selectable_value(watch, false, lang.pick("One noisy digit", "一个加噪数字"));
        ui.selectable_value(
            watch,
            true,
            lang.pick("A run, step by step", "一次运行，逐步"),
        );
    });
}

/// The watched run: the digit to make, its steps, make and stop, the step shown, the exports.
fn run_controls_ui(view: &mut ClockView, ui: &mut egui::Ui, lang: Lang) {
    let settings = &mut view.settings;
    egui::Grid::new("clock-run").show(ui, |ui| {
        let label = ui.label(lang.pick("Digit to make", "要生成的数字"));
        ui.add(egui::DragValue::new(&mut settings.run_class).range(0..=9))
            .labelled_by(label.id);
        ui.end_row();
        let label = ui.label(lang.pick("DDIM steps", "DDIM 步数"));
        ui.add(egui::DragValue::new(&mut settings.run_steps).range(1..=MAX_WATCHED_STEPS))
            .labelled_by(label.id);
        ui.end_row();
        let label = ui.label(lang.pick("Noise seed", "噪声种子"));
        ui.add(egui::DragValue::new(&mut settings.noise_seed))
            .labelled_by(label.id);
        ui.end_row();
    });
    let running = view
        .coordinates
        .watch
        .as_ref()
        .is_some_and(WatchState::is_running);
    ui.horizontal_wrapped(|ui| {
        let make = RichText::new(lang.pick("Make a digit (G)", "生成一个数字 (G)")).size(18.0);
        if ui.button(make).clicked() {
            view.ask(ClockCommand::MakeDigit);
        }
        let stop = egui::Button::new(lang.pick("Stop (Esc)", "停止 (Esc)"));
        if ui.add_enabled(running, stop).clicked() {
            view.ask(ClockCommand::StopRun);
        }
    });
    let watch = view.coordinates.watch.as_ref();
    let (playing, has_steps) = (
        watch.is_some_and(WatchState::is_playing),
        watch.is_some_and(|w| !w.frames.is_empty()),
    );
    let play = if playing {
        lang.pick("Pause (Space)", "暂停 (Space)")
    } else {
        lang.pick("Play the steps (Space)", "回放各步 (Space)")
    };
    if ui.add_enabled(has_steps, egui::Button::new(play)).clicked() {
        view.ask(ClockCommand::Play);
    }
    step_slider_ui(view, ui, lang);
    let has_run = !view.run_frames().is_empty() && !view.is_exporting();
    ui.horizontal_wrapped(|ui| {
        let gif = egui::Button::new(lang.pick("Export GIF… (Ctrl+E)", "导出 GIF… (Ctrl+E)"));
        if ui.add_enabled(has_run, gif).clicked() {
            view.ask(ClockCommand::ExportGif);
        }
        let png = egui::Button::new(lang.pick("Save PNG… (Ctrl+S)", "保存 PNG… (Ctrl+S)"));
        if ui.add_enabled(has_run, png).clicked() {
            view.ask(ClockCommand::SavePng);
        }
    });
    if view.is_busy() || view.is_exporting() {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(lang.pick("Working…", "正在运行……"));
        });
    }
    ui.add_space(12.0);
    ui.label(RichText::new(key_line(&view.keys(lang), lang)).small());
}

/// The step shown of the watched run; the newest is followed while it is chosen.
fn step_slider_ui(view: &mut ClockView, ui: &mut egui::Ui, lang: Lang) {
    let Some(watch) = &mut view.coordinates.watch else {
        return;
    };
    let Some(last) = watch.frames.len().checked_sub(1) else {
        return;
    };
    let label = ui.label(lang.pick("Step shown", "显示的步"));
    let slider = egui::Slider::new(&mut watch.shown, 0..=last)
        .custom_formatter(|v, _| format!("{}", v as usize + 1));
    if ui.add(slider).labelled_by(label.id).changed() {
        watch.follow = watch.shown == last;
        watch.pause();
    }
}

/// Where the chosen t falls across `width` points that span t = 1..=T.
fn t_position(view: &ClockView, left: f32, width: f32) -> f32 {
    let t = view.settings.timestep() as f32;
    left + width * (t - 1.0) / (TRAIN_STEPS - 1) as f32
}

fn embedding_ui(view: &mut ClockView, ui: &mut egui::Ui, lang: Lang) {
    let dim = view.sinusoid_dim();
    ui.heading(lang.pick("The sinusoidal embedding of t", "t 的正弦嵌入"));
    ui.label(format!(
        "{} {dim} {} · {HEAT_MAP_TIMES} {}",
        lang.pick("rows: the", "行："),
        lang.pick(
            "numbers the network is given (cosines, then sines)",
            "个输入网络的数（先余弦，后正弦）"
        ),
        lang.pick("columns: t from 1 to 1000", "列：t 从 1 到 1000"),
    ));
    let (heat, _) = view.textures.sinusoid(ui.ctx(), dim);
    let width = ui.available_width().clamp(200.0, 900.0);
    let height = (dim as f32 * 4.0).clamp(96.0, 260.0);
    let rect = picture(ui, &heat, Vec2::new(width, height));
    let x = t_position(view, rect.left(), rect.width());
    ui.painter().vline(x, rect.y_range(), MARK);
    ui.horizontal(|ui| {
        ui.label("t = 1");
        ui.add_space((width - 130.0).max(0.0));
        ui.label(format!("t = {TRAIN_STEPS}"));
    });
}

fn picture(ui: &mut egui::Ui, texture: &TextureHandle, size: Vec2) -> egui::Rect {
    ui.add(egui::Image::new(texture).fit_to_exact_size(size))
        .rect
}

/// Marks the chosen t on a similarity table: its row and its column.
fn mark_table(view: &ClockView, ui: &egui::Ui, rect: egui::Rect) {
    let x = t_position(view, rect.left(), rect.width());
    let y = t_position(view, rect.top(), rect.height());
    ui.painter().vline(x, rect.y_range(), MARK);
    ui.painter().hline(rect.x_range(), y, MARK);
}

fn similarity_ui(view: &mut ClockView, ui: &mut egui::Ui, lang: Lang) {
    ui.heading(lang.pick("Nearby times look alike", "相近的时刻看起来相似"));
    ui.label(lang.pick(
        "Cosine similarity of the embeddings of two times (t across and down, 1 to 1000): orange alike, white unrelated, purple opposite.",
        "两个时刻嵌入的余弦相似度（横竖都是 t，从 1 到 1000）：橙色相似，白色无关，紫色相反。",
    ));
    let dim = view.sinusoid_dim();
    let (_, sinusoid) = view.textures.sinusoid(ui.ctx(), dim);
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.label(RichText::new(lang.pick("the sinusoid", "正弦向量")).strong());
            let rect = picture(ui, &sinusoid, Vec2::splat(TABLE_SIDE));
            mark_table(view, ui, rect);
        });
        ui.add_space(16.0);
        ui.vertical(|ui| {
            let model = view.settings.model.clone();
            ui.label(
                RichText::new(format!(
                    "{model}: {}",
                    lang.pick("after its time MLP", "经过它的时间 MLP")
                ))
                .strong(),
            );
            match view.clock().cloned() {
                Some(Some((table, _))) => {
                    let texture = view.textures.network(ui.ctx(), &model, &table);
                    let rect = picture(ui, &texture, Vec2::splat(TABLE_SIDE));
                    mark_table(view, ui, rect);
                }
                Some(None) => {
                    ui.label(lang.pick("This network is not told t.", "这个网络不知道 t。"));
                }
                None => {
                    ui.spinner();
                }
            }
        });
    });
}

fn comparison_ui(view: &mut ClockView, ui: &mut egui::Ui, lang: Lang) {
    ui.heading(lang.pick(
        "The same noisy digit, to a model told t and to one that is not",
        "同一个加噪数字，给知道 t 的模型和不知道 t 的模型",
    ));
    ui.label(format!(
        "{TOLD_MODEL} {} · {BLIND_MODEL} {}",
        lang.pick("is told t", "知道 t"),
        lang.pick(
            "must guess the noise level from the picture",
            "必须从图中猜出噪声有多大"
        ),
    ));
    let Some((key, levels)) = view.comparison.clone() else {
        ui.add_space(20.0);
        ui.label(
            RichText::new(lang.pick(
                "Showing the digit to both models…",
                "正在把数字给两个模型看……",
            ))
            .size(18.0),
        );
        return;
    };
    let textures = view.textures.comparison(ui.ctx(), key, &levels).to_vec();
    let names = part_names(lang);
    egui::Grid::new("clock-comparison")
        .spacing(Vec2::new(10.0, 6.0))
        .show(ui, |ui| {
            ui.label("");
            for name in names {
                ui.label(RichText::new(name).strong());
            }
            ui.end_row();
            for (level, row) in levels.iter().zip(&textures) {
                let t = level.timestep.unwrap_or_default();
                ui.label(RichText::new(format!("t = {t}")).size(18.0));
                for texture in row {
                    picture(ui, texture, Vec2::splat(PICTURE_SIDE));
                }
                ui.end_row();
                ui.label("");
                ui.label("");
                let error =
                    |value: f64| format!("{} {}", lang.pick("error", "误差"), two_figures(value));
                ui.label(error(level.told.x0_error));
                ui.label(error(level.blind.x0_error));
                ui.label(error(level.told.eps_error));
                ui.label(error(level.blind.eps_error));
                ui.end_row();
            }
        });
}

/// `value` with two significant figures and at least three decimals ("0.102", "0.0091",
/// "0.00044"), so the small errors near the data still differ on screen.
fn two_figures(value: f64) -> String {
    if !value.is_finite() || value <= 0.0 {
        return format!("{value:.3}");
    }
    let decimals = (1 - value.log10().floor() as i32).clamp(3, 8) as usize;
    format!("{value:.decimals$}")
}

const EXPLANATION_EN: &str = "The same network denoises at every t, so it must be told how noisy its input is. \
t is a single number; the network gets it as a vector of sines and cosines of t at many speeds \
(top: fast, bottom: slow). Each row is one of those numbers, each column one t — the vertical line is the t you chose.\n\n\
Fast rows tell neighbouring times apart, slow rows tell early from late: together they give every t its own pattern, \
the way the hands of a clock do. That is why nearby times look alike in the table below and distant times do not.\n\n\
The network then passes the sinusoid through a small MLP (its time MLP) and adds the result to every block. \
Its table shows what it learned: times where the task is alike are grouped, the ones where it changes are told apart.\n\n\
Without t, a model must guess the noise level from the picture — and it can: noise is visible, and so is how much of it \
there is. Trained the same way, the blind twin is nearly as good in the middle and in the noise; it loses most near the \
data (t = 20 below), where a faint noise is hard to tell from the digit itself: compare the errors under the pictures.";

const EXPLANATION_ZH: &str = "同一个网络要在每个 t 去噪，所以必须告诉它输入有多嘈杂。\
t 只是一个数；网络得到的是 t 在许多不同频率下的正弦和余弦组成的向量（上面快，下面慢）。\
每一行是其中一个数，每一列是一个 t——竖线是你选的 t。\n\n\
快的行区分相邻的时刻，慢的行区分早晚：合在一起，每个 t 都有自己独特的图案，就像钟表的指针。\
所以在下面的表中，相近的时刻看起来相似，相距远的时刻则不然。\n\n\
网络再把正弦向量送进一个小的 MLP（时间 MLP），把结果加到每个模块里。\
它的表显示了它学到的东西：任务相似的时刻被归在一起，任务变化的时刻被区分开。\n\n\
没有 t，模型只能从图中猜噪声有多大——它也猜得到：噪声是看得见的，噪声有多少也看得见。\
用同样方法训练的“盲”模型在中间和噪声很大时几乎一样好；它在接近数据时（下面的 t = 20）损失最多，\
因为微弱的噪声很难和数字本身区分：比较图片下面的误差。";

const COORDINATES_EN: &str = "A transformer cuts the picture into patches — here 7 × 7 patches of 4 × 4 pixels, 49 tokens — \
and lets every patch look at every other (attention). Attention itself does not care about order: shuffle the patches and \
each one sees the same set. So the model must be told where each patch is.\n\n\
Learned positions add a trained vector to each patch; 2D RoPE turns each head's queries and keys by the patch's row and \
column, so a query and a key meet with a factor that depends only on how far apart they are. The lower maps show how alike \
the chosen patch's position is to every other under each: a neighbourhood for RoPE by construction, and whatever training \
found for the learned ones.\n\n\
Click a patch of x_t to see where it looks: the heads' mean and each head (dark blue: most weight). Early blocks look \
near, later ones gather the strokes; at large t there is little to look at. A model without positions cannot tell its \
patches apart by place: its digits come out with strokes in the wrong places.\n\n\
A run, step by step: the transformer makes a digit from pure noise while you watch where the chosen patch looks at every \
step — the weights of the very call that moved the run. Even in pure noise the asked digit shapes the attention; as the \
strokes appear, the patches look at them or away from them.";

const COORDINATES_ZH: &str = "Transformer 把图片切成图块——这里是 7 × 7 个 4 × 4 像素的图块，共 49 个词元——\
并让每个图块去看所有其他图块（注意力）。注意力本身不在乎顺序：把图块打乱，每个图块看到的仍是同一组。\
所以必须告诉模型每个图块在哪里。\n\n\
可学习的位置编码给每个图块加上一个训练得到的向量；二维 RoPE 按图块的行和列旋转每个头的查询和键，\
使查询和键相遇时的因子只取决于它们相距多远。下面两张图分别显示在这两种编码下所选图块的位置与其他图块有多相似：\
RoPE 天生是一片邻域，可学习的编码则是训练找到的样子。\n\n\
点击 x_t 的一个图块，看它看向哪里：各头的平均和每个头（深蓝：权重最大）。前面的模块看得近，\
后面的模块聚集笔画；t 很大时没有多少可看的。没有位置编码的模型无法按位置区分图块：它画出的数字笔画位置错乱。\n\n\
一次运行，逐步：Transformer 从纯噪声生成一个数字，你看着所选图块在每一步看向哪里——正是推动这次运行的那次调用的权重。\
即使在纯噪声中，要求的数字也会塑造注意力；笔画出现后，图块会看向它们或避开它们。";

#[cfg(test)]
mod tests {
    use super::two_figures;

    #[test]
    fn errors_keep_two_significant_figures() {
        assert_eq!(two_figures(0.102), "0.102");
        assert_eq!(two_figures(0.0091), "0.0091");
        assert_eq!(two_figures(0.000_44), "0.00044");
        assert_eq!(two_figures(1.5), "1.500");
        assert_eq!(two_figures(0.0), "0.000");
    }
}
