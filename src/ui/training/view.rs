//! Drawing the Training view: the choices (left), one step's six pictures over the lines of the
//! training recipe, each lit in turn after "Next step", and the loss of each shipped model against
//! t (centre), why the curves look as they do (right).

use eframe::egui::{self, Color32, Key, Modifiers, RichText};

use super::textures::StepPart;
use super::{CURVE_MODELS, TrainingCommand, TrainingSection, TrainingView, live_view};
use crate::diffusion::objectives::Objective;
use crate::export::figure::{Curve, Figure, LegendCorner, Mark};
use crate::i18n::Lang;
use crate::model::shipped::shipped;
use crate::sample::colormap::OKABE_ITO;
use crate::train::loss_by_t::LevelLoss;
use crate::train::one_step::TrainingStep;
use crate::ui::figure_plot::figure_plot_ui;
use crate::ui::message::message_ui;
use crate::ui::presentation::view_panels;

/// Seconds each line of the recipe stays lit after "Next step".
const LINE_SECONDS: f64 = 0.6;
/// Lines of the recipe: x0, t, ε, x_t, the output, the target, the loss.
const LINES: usize = 7;
/// How much ← and → move t (a hundredth of the way).
const FRACTION_STEP: f64 = 0.01;
/// The largest side of a step's pictures on screen, in points.
const MAX_PICTURE_SIDE: f32 = 160.0;

/// Draws the whole view.
pub fn training_ui(view: &mut TrainingView, ui: &mut egui::Ui, lang: Lang) {
    if view.settings.section == TrainingSection::Live {
        return live_section_ui(view, ui, lang);
    }
    keys(view, ui);
    view_panels(
        ui,
        ("training", 290.0),
        view,
        |view, ui| {
            section_ui(view, ui, lang);
            controls_ui(view, ui, lang);
        },
        |ui| {
            ui.add_space(6.0);
            ui.heading(lang.pick("Why these curves?", "为什么是这样的曲线？"));
            egui::ScrollArea::vertical().show(ui, |ui| {
                ui.label(RichText::new(lang.pick(EXPLANATION_EN, EXPLANATION_ZH)).size(15.0));
            });
        },
        |view, ui| {
            message_ui(ui, lang, &mut view.message);
            egui::ScrollArea::vertical().show(ui, |ui| {
                step_ui(view, ui, lang);
                ui.add_space(12.0);
                curves_ui(view, ui, lang);
            });
        },
    );
}

/// The live section: its controls, the run, and what to watch for.
fn live_section_ui(view: &mut TrainingView, ui: &mut egui::Ui, lang: Lang) {
    live_keys(view, ui);
    view_panels(
        ui,
        ("training-live", 290.0),
        view,
        |view, ui| {
            section_ui(view, ui, lang);
            live_view::live_controls_ui(view, ui, lang);
        },
        |ui| {
            ui.add_space(6.0);
            ui.heading(lang.pick("What to watch for", "要注意什么"));
            egui::ScrollArea::vertical().show(ui, |ui| {
                ui.label(RichText::new(lang.pick(LIVE_EN, LIVE_ZH)).size(15.0));
            });
        },
        |view, ui| {
            message_ui(ui, lang, &mut view.message);
            egui::ScrollArea::vertical().show(ui, |ui| live_view::live_ui(view, ui, lang));
        },
    );
}

/// The choice between the view's two parts.
fn section_ui(view: &mut TrainingView, ui: &mut egui::Ui, lang: Lang) {
    ui.add_space(6.0);
    ui.horizontal_wrapped(|ui| {
        let section = &mut view.settings.section;
        let one = lang.pick("One step · which t", "一步 · 哪些 t");
        ui.selectable_value(section, TrainingSection::OneStep, one);
        let live = lang.pick("Learning live", "实时学习");
        ui.selectable_value(section, TrainingSection::Live, live);
    });
    ui.separator();
}

fn live_keys(view: &mut TrainingView, ui: &egui::Ui) {
    if ui.ctx().egui_wants_keyboard_input() {
        return;
    }
    let pressed = |modifiers, key| ui.input_mut(|i| i.consume_key(modifiers, key));
    if pressed(Modifiers::NONE, Key::T) {
        view.ask(TrainingCommand::StartLive);
    }
    if pressed(Modifiers::NONE, Key::Space) {
        view.ask(TrainingCommand::PauseLive);
    }
    if pressed(Modifiers::NONE, Key::Escape) {
        view.ask(TrainingCommand::StopLive);
    }
    if pressed(Modifiers::COMMAND, Key::S) {
        view.ask(TrainingCommand::SaveLive);
    }
}

fn keys(view: &mut TrainingView, ui: &egui::Ui) {
    if ui.ctx().egui_wants_keyboard_input() {
        return;
    }
    let pressed = |key| ui.input_mut(|i| i.consume_key(Modifiers::NONE, key));
    if pressed(Key::N) {
        view.ask(TrainingCommand::NextStep);
    }
    if pressed(Key::M) {
        view.ask(TrainingCommand::MeasureCurves);
    }
    if pressed(Key::Escape) {
        view.ask(TrainingCommand::Cancel);
    }
    let fraction = &mut view.settings.fraction;
    if pressed(Key::ArrowLeft) {
        *fraction = (*fraction - FRACTION_STEP).max(0.0);
    }
    if pressed(Key::ArrowRight) {
        *fraction = (*fraction + FRACTION_STEP).min(1.0);
    }
}

fn controls_ui(view: &mut TrainingView, ui: &mut egui::Ui, lang: Lang) {
    ui.add_space(6.0);
    ui.heading(lang.pick("One step of training", "一个训练步"));
    let settings = &mut view.settings;
    let label = ui.label(RichText::new(lang.pick("Model", "模型")).strong());
    egui::ComboBox::from_id_salt("training-model")
        .selected_text(settings.model.clone())
        .show_ui(ui, |ui| {
            for name in CURVE_MODELS {
                let text = shipped(name).map_or_else(|| name.to_owned(), |m| m.label(lang));
                ui.selectable_value(&mut settings.model, name.to_owned(), text);
            }
        })
        .response
        .labelled_by(label.id);
    let next = RichText::new(lang.pick("Next step (N)", "下一步 (N)")).size(18.0);
    if ui.button(next).clicked() {
        view.ask(TrainingCommand::NextStep);
    }
    ui.label(
        RichText::new(lang.pick(
            "Draws a digit, a t and ε at random, as training does.",
            "像训练时一样，随机抽取一个数字、一个 t 和 ε。",
        ))
        .small(),
    );
    let settings = &mut view.settings;
    let label = ui.label(lang.pick("t / T (σ for flow)", "t / T（流匹配为 σ）"));
    ui.add(egui::Slider::new(&mut settings.fraction, 0.0..=1.0).step_by(0.001))
        .labelled_by(label.id);
    ui.horizontal(|ui| {
        let label = ui.label(lang.pick("Digit no.", "数字编号"));
        ui.add(egui::DragValue::new(&mut settings.digit).range(0..=9_999))
            .labelled_by(label.id);
        let label = ui.label(lang.pick("Noise seed", "噪声种子"));
        ui.add(egui::DragValue::new(&mut settings.noise_seed))
            .labelled_by(label.id);
    });
    ui.add_space(16.0);
    curve_controls_ui(view, ui, lang);
}

/// The choices of the loss-against-t measurement, and Measure or its progress and Cancel.
fn curve_controls_ui(view: &mut TrainingView, ui: &mut egui::Ui, lang: Lang) {
    ui.heading(lang.pick("Which t are hard?", "哪些 t 更难？"));
    let settings = &mut view.settings;
    let label = ui.label(RichText::new(lang.pick("Noise levels", "噪声水平数")).strong());
    ui.horizontal(|ui| {
        for levels in [15, 30, 60] {
            ui.selectable_value(&mut settings.levels, levels, levels.to_string());
        }
    })
    .response
    .labelled_by(label.id);
    let label = ui.label(RichText::new(lang.pick("Digits per level", "每个水平的数字数")).strong());
    ui.horizontal(|ui| {
        for digits in [50, 200, 500] {
            ui.selectable_value(&mut settings.curve_digits, digits, digits.to_string());
        }
    })
    .response
    .labelled_by(label.id);
    match view.progress() {
        None => {
            let text = RichText::new(lang.pick("Measure (M)", "开始测量 (M)")).size(18.0);
            if ui.button(text).clicked() {
                view.ask(TrainingCommand::MeasureCurves);
            }
        }
        Some((done, total)) => {
            ui.add(
                egui::ProgressBar::new(done as f32 / total.max(1) as f32)
                    .text(format!("{done} / {total}")),
            );
            if ui.button(lang.pick("Cancel (Esc)", "取消 (Esc)")).clicked() {
                view.ask(TrainingCommand::Cancel);
            }
        }
    }
}

/// The step shown: its pictures, then the recipe's lines.
fn step_ui(view: &mut TrainingView, ui: &mut egui::Ui, lang: Lang) {
    let Some((_, step)) = &view.step else {
        ui.add_space(40.0);
        ui.label(
            RichText::new(lang.pick("Taking a training step…", "正在执行一个训练步……")).size(18.0),
        );
        return;
    };
    let lit = lit_line(view.reveal_from, ui);
    let textures = view.textures.update(ui.ctx(), step).to_vec();
    // Six across, as large as the panel allows.
    let across = StepPart::ALL.len() as f32;
    let side = (ui.available_width() / across - 14.0).clamp(48.0, MAX_PICTURE_SIDE);
    ui.horizontal(|ui| {
        for (part, texture) in StepPart::ALL.iter().zip(&textures) {
            let reached = lit.is_none_or(|line| line >= line_of(*part));
            let highlighted = lit == Some(line_of(*part));
            let name = part.name(step.objective, lang);
            picture_ui(ui, (texture, side), (reached, highlighted), name);
        }
    });
    ui.label(
        RichText::new(lang.pick(
            "ε, outputs and targets: purple below 0, white 0, orange above (±3 the strongest). Squared error: white 0, dark red 1 or more.",
            "ε、输出和目标：紫色小于 0，白色为 0，橙色大于 0（±3 最深）。平方误差：白色为 0，深红为 1 及以上。",
        ))
        .small(),
    );
    ui.add_space(6.0);
    egui::Grid::new("training-recipe")
        .num_columns(2)
        .spacing([12.0, 6.0])
        .show(ui, |ui| {
            for (index, line) in recipe(step, lang).into_iter().enumerate() {
                let reached = lit.is_none_or(|l| l >= index);
                let mut text = RichText::new(if reached { line } else { String::new() }).size(20.0);
                if lit == Some(index) {
                    text = text
                        .strong()
                        .color(Color32::BLACK)
                        .background_color(Color32::from_rgb(255, 236, 179));
                }
                ui.label(RichText::new(format!("{}.", index + 1)).size(19.0));
                ui.label(text);
                ui.end_row();
            }
        });
}

/// One picture with its name under it; not yet reached while the recipe is lit, a frame around
/// it while its line is.
fn picture_ui(
    ui: &mut egui::Ui,
    (texture, side): (&egui::TextureHandle, f32),
    (reached, highlighted): (bool, bool),
    name: &str,
) {
    ui.vertical(|ui| {
        ui.set_width(side + 8.0);
        let stroke = if highlighted {
            egui::Stroke::new(4.0, Color32::from_rgb(230, 159, 0))
        } else {
            egui::Stroke::new(1.0, Color32::GRAY)
        };
        egui::Frame::new()
            .stroke(stroke)
            .inner_margin(2.0)
            .show(ui, |ui| {
                let size = egui::vec2(side, side);
                if reached {
                    ui.add(egui::Image::new((texture.id(), size)));
                } else {
                    ui.allocate_space(size);
                }
            });
        ui.label(RichText::new(name).size(14.0));
    });
}

/// The recipe line that shows `part`.
fn line_of(part: StepPart) -> usize {
    match part {
        StepPart::X0 => 0,
        StepPart::Noise => 2,
        StepPart::Noisy => 3,
        StepPart::Output => 4,
        StepPart::Target => 5,
        StepPart::Error => 6,
    }
}

/// The line lit now, while the recipe is being lit in turn after "Next step".
fn lit_line(reveal_from: Option<f64>, ui: &egui::Ui) -> Option<usize> {
    let elapsed = ui.input(|i| i.time) - reveal_from?;
    let line = (elapsed.max(0.0) / LINE_SECONDS) as usize;
    if line < LINES {
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_millis(100));
        Some(line)
    } else {
        None
    }
}

/// The seven lines of the recipe with this step's numbers.
fn recipe(step: &TrainingStep, lang: Lang) -> [String; LINES] {
    let (a, s) = (
        step.level.coefficients.signal,
        step.level.coefficients.noise,
    );
    let digit = step.choice.digit;
    let x0 = match lang {
        Lang::En => format!("x0 ~ data: digit no. {digit}, a {}", step.label),
        Lang::Zh => format!("x0 ~ 数据：第 {digit} 个数字，是 {}", step.label),
    };
    let y = step.label;
    let guess = lang.pick(": the network's guess", "：网络的猜测");
    let (level, x_t, output, target, loss) = match (step.objective, step.level.timestep) {
        (Objective::Flow, _) | (_, None) => (
            format!("σ ~ U[0, 1]: σ = {:.3}", step.level.fraction),
            format!("x_σ = (1−σ)·x0 + σ·ε = {a:.3}·x0 + {s:.3}·ε"),
            format!("u_θ(x_σ, σ, y = {y}){guess}"),
            "u = ε − x0".to_owned(),
            "mean (u_θ − u)²",
        ),
        (objective, Some(t)) => {
            let level = format!("t ~ U{{1, …, T}}: t = {t}");
            let x_t = format!("x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε = {a:.3}·x0 + {s:.3}·ε");
            if objective == Objective::V {
                let target = format!("v = √ᾱ_t·ε − √(1−ᾱ_t)·x0 = {a:.3}·ε − {s:.3}·x0");
                (
                    level,
                    x_t,
                    format!("v_θ(x_t, t, y = {y}){guess}"),
                    target,
                    "mean (v_θ − v)²",
                )
            } else {
                let target = lang.pick("target: ε itself", "目标：ε 本身").to_owned();
                (
                    level,
                    x_t,
                    format!("ε_θ(x_t, t, y = {y}){guess}"),
                    target,
                    "mean (ε_θ − ε)²",
                )
            }
        }
    };
    let noise = "ε ~ N(0, I)".to_owned();
    let loss = format!(
        "{} {loss} = {:.4}",
        lang.pick("loss =", "损失 ="),
        step.loss
    );
    [x0, level, noise, x_t, output, target, loss]
}

/// The two charts, or a line saying how to get them.
fn curves_ui(view: &TrainingView, ui: &mut egui::Ui, lang: Lang) {
    if CURVE_MODELS.iter().all(|m| view.curve(m).is_none()) {
        ui.label(RichText::new(lang.pick(
            "Measure (M) draws each shipped model's loss against t, over real digits with fixed noise.",
            "点击“开始测量”(M)：在固定噪声的真实数字上，画出每个自带模型的损失随 t 的变化。",
        )).size(16.0));
        return;
    }
    let figures = loss_figures(view, lang);
    ui.columns(2, |columns| {
        for (index, (column, figure)) in columns.iter_mut().zip(&figures).enumerate() {
            figure_plot_ui(column, (figure, index), 260.0, lang, |_| {});
        }
    });
}

/// Each model's own loss, and the error of the x̂0 it implies, against t/T on a log scale.
pub fn loss_figures(view: &TrainingView, lang: Lang) -> [Figure; 2] {
    let curves = |metric: fn(&LevelLoss) -> f64| -> Vec<Curve> {
        CURVE_MODELS
            .iter()
            .enumerate()
            .filter_map(|(index, model)| {
                let levels = view.curve(model)?;
                Some(Curve {
                    name: shipped(model).map_or_else(|| (*model).to_owned(), |m| m.label(lang)),
                    points: levels
                        .iter()
                        .map(|l| (l.level.fraction, metric(l)))
                        .collect(),
                    colour: OKABE_ITO[index % OKABE_ITO.len()],
                    mark: Mark::Line,
                })
            })
            .collect()
    };
    let figure = |title: &str, curves, legend| Figure {
        title: title.to_owned(),
        x_label: lang
            .pick(
                "t / T (σ for flow), log scale",
                "t / T（流匹配为 σ），对数刻度",
            )
            .to_owned(),
        log_x: true,
        log_y: true,
        curves,
        reference: None,
        legend,
    };
    [
        figure(
            lang.pick(
                "Training loss: mean (output − target)²",
                "训练损失：mean (输出 − 目标)²",
            ),
            curves(|l| l.loss),
            LegendCorner::BottomLeft,
        ),
        figure(
            lang.pick(
                "Error of the x0 it implies: mean (x0_θ − x0)²",
                "由输出推出的 x0 的误差：mean (x0_θ − x0)²",
            ),
            curves(|l| l.x0_error),
            LegendCorner::BottomRight,
        ),
    ]
}

const EXPLANATION_EN: &str = "Training is five lines, repeated a few hundred thousand times: take a real digit x0, a random t, random noise ε; mix them into x_t; ask the network what it sees; compare its answer with the target; nudge its weights to shrink the squared error. Next step (N) draws a new example and lights the lines in turn.\n\n\
Which t are hard depends on what the network is asked to say. Near t = 0 there is almost no noise, mixed into a sharp digit: telling such faint noise from the digit's own edges is hard, and there every target is almost ε itself, so every model's loss is high. Near t = T, x_t is almost pure noise: ε can be read straight off it, so the ε-model's loss falls a thousandfold, while the targets of v and flow matching are there mostly the digit, which the network can only guess, and their losses rise again.\n\n\
The right chart puts all three on one footing: the error of the clean digit each answer implies. There every model is worst in the noise, where the digit is a guess. The two charts differ only by a weight that depends on t: ε's loss is the x0 error times the signal-to-noise ratio (SNR), v's is it times SNR + 1, a flow model's is it divided by σ².\n\n\
So the choice of target is also a choice of which t training cares most about. Min-SNR weighting (Hang et al., 2023) caps that weight, min(SNR, 5)/SNR for ε, so that the nearly clean steps no longer take most of the effort; it trains faster to the same quality.\n\n\
The curves use the last bundled digits, the same noise at every level. The shipped models were trained on all 10,000 bundled digits, so these are digits they have seen.";

const EXPLANATION_ZH: &str = "训练就是这五行，重复几十万次：取一个真实数字 x0、一个随机的 t 和随机噪声 ε；把它们混合成 x_t；问网络看到了什么；把它的回答和目标比较；微调权重，让平方误差变小。点击“下一步”(N) 会抽取一个新的样本，并依次点亮每一行。\n\n\
哪些 t 更难，取决于网络被要求回答什么。在 t = 0 附近几乎没有噪声，它混在清晰的数字里：很难把如此微弱的噪声和数字自己的边缘区分开，而且那里每种目标都几乎就是 ε 本身，所以每个模型的损失都很高。在 t = T 附近，x_t 几乎是纯噪声：ε 可以直接读出来，所以 ε 模型的损失下降到千分之一；而 v 和流匹配的目标在那里主要是数字本身，网络只能去猜，它们的损失又升高了。\n\n\
右边的图把三者放在同一个标准下比较：每个回答所推出的干净数字的误差。在那里，每个模型都在噪声最大时最差，因为那时数字只能靠猜。两张图只相差一个随 t 变化的权重：ε 的损失等于 x0 误差乘以信噪比（SNR），v 的损失等于它乘以 SNR + 1，流匹配模型的损失等于它除以 σ²。\n\n\
所以选择目标，也就是选择训练最看重哪些 t。Min-SNR 加权（Hang 等，2023）给这个权重设了上限，对 ε 是 min(SNR, 5)/SNR，让几乎干净的步骤不再占去大部分精力；这样训练更快达到同样的质量。\n\n\
曲线使用自带数据集中最后的那些数字，每个水平用相同的噪声。自带模型是在全部 10,000 个自带数字上训练的，所以这些数字它们都见过。";

const LIVE_EN: &str = "A small UNet starts from random weights and learns the bundled digits, one batch a step, on a thread of its own; the window stays free.\n\n\
The grid is drawn every few seconds by the run's averaged weights (an exponential moving average of every step's weights, what a checkpoint saves) from the same sixteen starts of noise, asking for 0–9 then 0–5. First it returns grey fog, then blobs where strokes go, then digits that sharpen: the strip keeps those pictures over the run.\n\n\
The loss falls fast, then slowly: most of what is left is the noise no network can predict. A loss that is still falling does not say the digits are good; the grid does.\n\n\
Flow matching learns fastest here; ε-prediction with the tiny network stays noisy for long (its guess of x0 divides its error by √ᾱ_t, 156× at t = T). Try a larger learning rate (faster, until it diverges) or more label dropout (better unguided digits, worse guided ones).\n\n\
Save writes the averaged weights as a model file the Reverse view opens (Model → Open model file…). On two cores the tiny network learns from 500–1,400 digits a second, depending on the CPU: its first recognisable flow digits come after about 500 steps, clear 0–9 by about 1,400 (one to three minutes). Every convolution and GroupNorm learns through our own kernels, forward and backward.";

const LIVE_ZH: &str = "一个小的 UNet 从随机权重开始，在自己的线程上一批一批地学习自带的数字；窗口始终可以操作。\n\n\
网格每隔几秒由训练的平均权重（每一步权重的指数滑动平均，也就是检查点保存的内容）从同样的十六个噪声起点生成，依次要求 0–9，再 0–5。起初它只返回灰雾，然后在笔画的位置出现团块，再变成越来越清晰的数字：下面的条带保存了整个过程中的这些图像。\n\n\
损失先快后慢地下降：剩下的大部分是任何网络都无法预测的噪声。损失还在下降并不说明数字已经好了；要看网格。\n\n\
在这里流匹配学得最快；小网络的 ε 预测会长时间保持噪声（它对 x0 的猜测把误差除以 √ᾱ_t，在 t = T 时放大 156 倍）。试试更大的学习率（更快，直到发散）或更多的标签丢弃（无引导的数字更好，有引导的更差）。\n\n\
“保存”把平均权重写成一个模型文件，“反向”视图可以打开它（模型 → 打开模型文件…）。小网络在两个核心上每秒学习 500–1,400 个数字（视处理器而定）：约 500 步后画出第一批认得出的流匹配数字，约 1,400 步时 0–9 已经清晰（一到三分钟）。每个卷积和 GroupNorm 的前向和反向都通过我们自己的内核计算。";
