//! Drawing the Reverse view: controls on the left, the explanation on the right, and in the middle
//! the grid of samples, the selected sample's panels (x_t, x̂0, ε̂, guidance) and the timeline.

use eframe::egui::{self, Color32, Key, Modifiers, RichText, Sense, Vec2};

use super::runs_view::runs_ui;
use super::scheduler_summary;
use super::state::{GRID_SIDES, REPLAY_SPEEDS, RunStatus};
use super::textures::{PanelPicture, SamplePanels};
use super::{ReverseCommand, ReverseView};
use crate::diffusion::samplers::{PathPoint, Position, SamplerKind};
use crate::i18n::{Lang, Text};
use crate::model::shipped::{shipped, shipped_diffusion_models};
use crate::sample::colormap::{DIVERGING_RANGE, diverging};
use crate::sample::grid::GAP_PX;
use crate::ui::figure_plot::picture_menu;
use crate::ui::message::message_ui;
use crate::ui::presentation::view_panels;
use crate::ui::tour;
use crate::worker::ModelSource;

/// Draws the whole view.
pub fn reverse_ui(view: &mut ReverseView, ui: &mut egui::Ui, lang: Lang) {
    keyboard_ui(view, ui);
    view_panels(
        ui,
        ("reverse", 290.0),
        view,
        |view, ui| controls_ui(view, ui, lang),
        |ui| explanation_ui(ui, lang),
        |view, ui| {
            message_ui(ui, lang, &mut view.message);
            egui::ScrollArea::vertical().show(ui, |ui| {
                images_ui(view, ui, lang);
                timeline_ui(view, ui, lang);
            });
        },
    );
}

/// Keys: G or Enter generate, Esc cancels, ←/→ (Shift: ten) scrub, Home/End, Space plays,
/// Ctrl+E exports a GIF, Ctrl+S saves a PNG.
fn keyboard_ui(view: &mut ReverseView, ui: &mut egui::Ui) {
    if ui.ctx().egui_wants_keyboard_input() {
        return;
    }
    let pressed = |modifiers, key| ui.input_mut(|i| i.consume_key(modifiers, key));
    if pressed(Modifiers::NONE, Key::G) || pressed(Modifiers::NONE, Key::Enter) {
        view.ask(ReverseCommand::Generate);
    }
    if pressed(Modifiers::NONE, Key::Escape) {
        view.ask(ReverseCommand::Cancel);
    }
    if pressed(Modifiers::SHIFT, Key::ArrowRight) {
        view.state.step_by(10);
    }
    if pressed(Modifiers::SHIFT, Key::ArrowLeft) {
        view.state.step_by(-10);
    }
    if pressed(Modifiers::NONE, Key::ArrowRight) {
        view.state.step_by(1);
    }
    if pressed(Modifiers::NONE, Key::ArrowLeft) {
        view.state.step_by(-1);
    }
    if pressed(Modifiers::NONE, Key::Home) {
        view.state.show(0);
    }
    if pressed(Modifiers::NONE, Key::End) {
        view.state.show(usize::MAX);
    }
    if pressed(Modifiers::NONE, Key::Space) {
        view.state.toggle_playing();
    }
    if pressed(Modifiers::COMMAND, Key::E) {
        view.ask(ReverseCommand::ExportGif);
    }
    if pressed(Modifiers::COMMAND, Key::S) {
        view.ask(ReverseCommand::SavePng);
    }
}

fn controls_ui(view: &mut ReverseView, ui: &mut egui::Ui, lang: Lang) {
    ui.spacing_mut().item_spacing.y = 8.0;
    ui.add_space(6.0);

    model_ui(view, ui, lang);
    ui.separator();

    sampler_ui(view, ui, lang);

    // What to draw.
    ui.separator();
    subject_ui(view, ui, lang);

    // Run.
    ui.separator();
    ui.horizontal(|ui| {
        let ready = view.state.can_generate();
        let generate =
            egui::Button::new(RichText::new(lang.pick("Generate (G)", "生成 (G)")).size(18.0));
        let generate = ui.add_enabled(ready, generate);
        tour::mark(ui, "reverse.generate", &generate);
        if generate.clicked() {
            view.ask(ReverseCommand::Generate);
        }
        let cancel =
            egui::Button::new(RichText::new(lang.pick("Cancel (Esc)", "停止 (Esc)")).size(18.0));
        if ui.add_enabled(view.state.is_running(), cancel).clicked() {
            view.ask(ReverseCommand::Cancel);
        }
    });
    status_ui(view, ui, lang);
    ui.checkbox(
        &mut view.state.settings.side_by_side,
        lang.pick("Side by side with a real digit", "与真实数字对照"),
    );

    // Runs: the one on screen and the kept ones.
    ui.separator();
    runs_ui(view, ui, lang);

    // Export.
    ui.separator();
    export_ui(view, ui, lang);
    ui.separator();
    if ui
        .button(lang.pick("Reset to defaults", "恢复默认设置"))
        .on_hover_text(lang.pick(
            "Model, sampler, steps, digit, guidance, samples, seed, export and replay settings",
            "模型、采样器、步数、数字、引导强度、样本数、种子、导出和重放设置",
        ))
        .clicked()
    {
        view.ask(ReverseCommand::ResetSettings);
    }
}

/// The model: the shipped ones, a file of the user's, and what is loaded or loading.
fn model_ui(view: &mut ReverseView, ui: &mut egui::Ui, lang: Lang) {
    let heading = ui.label(RichText::new(lang.pick("Model", "模型")).strong());
    let current = view.state.settings.model.clone();
    let mut chosen = current.clone();
    let combo = egui::ComboBox::from_id_salt("reverse-model")
        .width(250.0)
        .selected_text(shown_model_label(view, &current, lang))
        .show_ui(ui, |ui| {
            for model in shipped_diffusion_models() {
                ui.selectable_value(&mut chosen, model.name.to_owned(), model.label(lang));
            }
        });
    combo.response.labelled_by(heading.id);
    if chosen != current {
        view.ask(ReverseCommand::LoadModel(ModelSource::Shipped(chosen)));
    }
    // One button, so the panel keeps its height: a file of ours, or a folder saved by diffusers.
    ui.menu_button(lang.pick("Open a model…", "打开模型…"), |ui| {
        if ui
            .button(lang.pick("Open a model file…", "打开模型文件…"))
            .clicked()
        {
            view.ask(ReverseCommand::ChooseModelFile);
        }
        if ui
            .button(lang.pick("Open a diffusers folder…", "打开 diffusers 文件夹…"))
            .on_hover_text(lang.pick(
                "A pipeline folder saved by diffusers: model_index.json, scheduler/, unet/ (a UNet2DModel)",
                "diffusers 保存的管线文件夹：model_index.json、scheduler/、unet/（UNet2DModel）",
            ))
            .clicked()
        {
            view.ask(ReverseCommand::ChooseModelFolder);
        }
    });
    match (&view.state.loading_model, &view.state.model) {
        (Some(source), _) => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!(
                    "{} {}",
                    lang.pick("Loading", "正在加载"),
                    source.label()
                ));
            });
        }
        (None, Some(model)) => {
            let entry = |key: &str| {
                model
                    .metadata
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.clone())
            };
            // A diffusers pipeline says what it is and where it came from.
            let imported = entry("scheduler")
                .map(|scheduler| format!(" · diffusers UNet2DModel + {scheduler}"))
                .unwrap_or_default();
            let line = ui.label(
                RichText::new(format!(
                    "{}{imported} · {} · {} · {}",
                    model.source.label(),
                    model.image_shape,
                    model.objective,
                    model.device.describe(lang)
                ))
                .small(),
            );
            if let Some(folder) = entry("folder") {
                line.on_hover_text(folder);
            }
        }
        (None, None) => {}
    }
}

/// The sampler (those the model's objective allows) and its number of steps.
fn sampler_ui(view: &mut ReverseView, ui: &mut egui::Ui, lang: Lang) {
    let objective = view.state.model.as_ref().map(|m| m.objective);
    let label = ui.label(RichText::new(lang.pick("Sampler", "采样器")).strong());
    let current = objective.map_or_else(
        || {
            view.state
                .settings
                .sampler
                .parse()
                .unwrap_or(SamplerKind::Ddim)
        },
        |o| view.state.settings.sampler_for(o),
    );
    let mut kind = current;
    let combo = egui::ComboBox::from_id_salt("reverse-sampler")
        .width(250.0)
        .selected_text(kind.display_name())
        .show_ui(ui, |ui| {
            for option in SamplerKind::ALL {
                if objective.is_none_or(|o| option.supports(o)) {
                    ui.selectable_value(&mut kind, option, option.display_name());
                }
            }
        });
    combo.response.labelled_by(label.id);
    if kind != current {
        view.state.settings.sampler = kind.cli_name().to_owned();
        view.state.settings.steps = kind
            .default_steps(1000)
            .min(view.state.settings.steps.max(20));
    }
    let max_steps = view
        .state
        .model
        .as_ref()
        .map_or(1000, |m| m.schedule.steps());
    let steps = labelled_slider(
        ui,
        lang.pick("Steps", "步数"),
        egui::Slider::new(&mut view.state.settings.steps, 1..=max_steps).logarithmic(true),
    );
    tour::mark(ui, "reverse.steps", &steps);
    if kind.has_diffusers_rule() {
        rule_ui(&mut view.state.settings.diffusers_rule, kind, ui, lang);
    }
    // A pipeline folder's own scheduler, run as it is: what its config sets.
    let own = view.state.model.as_ref().and_then(|m| m.scheduler.as_ref());
    if let Some(own) = own.filter(|own| own.kind == kind && view.state.settings.diffusers_rule)
        && let Some(line) = scheduler_summary::summary(own, lang)
    {
        ui.label(RichText::new(line).size(13.0).weak());
    }
}

/// The switch between the formula's step rule and diffusers', with what differs.
fn rule_ui(diffusers_rule: &mut bool, kind: SamplerKind, ui: &mut egui::Ui, lang: Lang) {
    ui.checkbox(
        diffusers_rule,
        lang.pick("Step as diffusers does", "按 diffusers 的规则走"),
    );
    let text = if kind == SamplerKind::Ddim {
        lang.pick(
            "DDIM: the formula steps to the next listed timestep; diffusers steps ⌊T/n⌋ back, which lands elsewhere when n does not divide T (try 7 steps), and keeps the model's ε̂ when it clips x̂0.",
            "DDIM：公式走到列表中的下一个时间步；diffusers 往回走 ⌊T/n⌋ 步，当 n 不能整除 T 时会落在别处（试试 7 步），并且在截断 x̂0 时保留模型的 ε̂。",
        )
    } else {
        lang.pick(
            "Flow: the formula takes n equal steps of σ from 1 to 0; diffusers runs from 1 to 1/T, then jumps to 0.",
            "流：公式把 σ 从 1 到 0 等分为 n 步；diffusers 从 1 走到 1/T，再跳到 0。",
        )
    };
    ui.label(RichText::new(text).size(13.0).weak());
}

/// What to draw: the digit, the guidance, how many samples, the seed.
fn subject_ui(view: &mut ReverseView, ui: &mut egui::Ui, lang: Lang) {
    let label = ui.label(RichText::new(lang.pick("Digit", "数字")).strong());
    let digit_text = |digit: Option<u32>| {
        digit.map_or_else(|| lang.pick("any", "任意").to_owned(), |d| d.to_string())
    };
    let mut digit = view.state.settings.digit;
    let combo = egui::ComboBox::from_id_salt("reverse-digit")
        .selected_text(digit_text(digit))
        .show_ui(ui, |ui| {
            ui.selectable_value(&mut digit, None, digit_text(None));
            for d in 0..10 {
                ui.selectable_value(&mut digit, Some(d), d.to_string());
            }
        });
    combo.response.labelled_by(label.id);
    view.state.settings.digit = digit;
    ui.add_enabled_ui(digit.is_some(), |ui| {
        labelled_slider(
            ui,
            lang.pick("Guidance w", "引导强度 w"),
            egui::Slider::new(&mut view.state.settings.guidance, 0.0..=10.0).step_by(0.1),
        );
    });

    let label = ui.label(RichText::new(lang.pick("Samples", "样本数")).strong());
    let response = ui
        .horizontal(|ui| {
            for side in GRID_SIDES {
                let count = side * side;
                ui.selectable_value(&mut view.state.settings.grid_side, side, count.to_string());
            }
        })
        .response;
    response.labelled_by(label.id);
    ui.horizontal(|ui| {
        let label = ui.label(lang.pick("Seed", "种子"));
        ui.add(egui::DragValue::new(&mut view.state.settings.seed))
            .labelled_by(label.id);
        if ui.button(lang.pick("New seed", "换一个种子")).clicked() {
            view.state.settings.seed = view.state.settings.seed.wrapping_add(1);
        }
    });
}

/// The export options and buttons, and whether an export is being written.
fn export_ui(view: &mut ReverseView, ui: &mut egui::Ui, lang: Lang) {
    ui.collapsing(lang.pick("Export", "导出"), |ui| {
        super::export::gif_options_ui(view, ui, lang);
        // Wrapped: in Chinese or with large text the two buttons do not fit the panel side by side.
        ui.horizontal_wrapped(|ui| {
            let has_run = view.state.timeline_len() > 0 && !view.is_exporting();
            if ui
                .add_enabled(
                    has_run,
                    egui::Button::new(lang.pick("Export GIF… (Ctrl+E)", "导出 GIF… (Ctrl+E)")),
                )
                .clicked()
            {
                view.ask(ReverseCommand::ExportGif);
            }
            if ui
                .add_enabled(
                    has_run,
                    egui::Button::new(lang.pick("Save PNG… (Ctrl+S)", "保存 PNG… (Ctrl+S)")),
                )
                .clicked()
            {
                view.ask(ReverseCommand::SavePng);
            }
        });
        if view.is_exporting() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(lang.pick("Writing…", "正在写入…"));
            });
        }
    });
}

fn labelled_slider(ui: &mut egui::Ui, text: &str, slider: egui::Slider<'_>) -> egui::Response {
    let label = ui.label(text);
    ui.add(slider).labelled_by(label.id)
}

/// A shipped model's name and what it is; any other model's name.
fn model_label(name: &str, lang: Lang) -> String {
    shipped(name).map_or_else(|| name.to_owned(), |model| model.label(lang))
}

/// The menu's text: the model opened from a file or folder when one is loaded (or loading), else
/// the shipped model chosen.
fn shown_model_label(view: &ReverseView, chosen: &str, lang: Lang) -> String {
    let state = &view.state;
    match state
        .loading_model
        .as_ref()
        .or(state.model.as_ref().map(|m| &m.source))
    {
        Some(source @ ModelSource::File(_)) => source.label(),
        _ => model_label(chosen, lang),
    }
}

fn status_ui(view: &ReverseView, ui: &mut egui::Ui, lang: Lang) {
    let state = &view.state;
    match &state.status {
        RunStatus::Idle => {
            ui.label(lang.pick(
                "Press Generate to start from pure noise.",
                "点击“生成”，从纯噪声开始。",
            ));
        }
        RunStatus::Starting => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(lang.pick("Starting…", "正在开始…"));
            });
        }
        RunStatus::Running { done, total } => {
            let fraction = *done as f32 / (*total).max(1) as f32;
            ui.add(egui::ProgressBar::new(fraction).text(format!("{done} / {total}")));
        }
        RunStatus::Finished {
            elapsed,
            network_calls,
        } => {
            let seconds = elapsed.as_secs_f64();
            ui.label(match lang {
                Lang::En => format!(
                    "Done in {seconds:.1} s: {network_calls} network calls, {:.0} per second.",
                    *network_calls as f64 / seconds.max(1e-9)
                ),
                Lang::Zh => format!(
                    "用时 {seconds:.1} 秒完成：调用网络 {network_calls} 次，每秒 {:.0} 次。",
                    *network_calls as f64 / seconds.max(1e-9)
                ),
            });
        }
        RunStatus::Cancelled { .. } if state.timeline_len() == 0 => {
            ui.label(lang.pick("Stopped before the first step.", "在第一步之前停止。"));
        }
        RunStatus::Cancelled { step } => {
            ui.label(match lang {
                Lang::En => format!("Stopped after step {}.", step + 1),
                Lang::Zh => format!("在第 {} 步后停止。", step + 1),
            });
        }
        RunStatus::Failed => {
            ui.label(lang.pick(
                "The run failed (see the message above).",
                "运行失败（见上方消息）。",
            ));
        }
    }
}

fn explanation_ui(ui: &mut egui::Ui, lang: Lang) {
    ui.add_space(6.0);
    ui.heading(lang.pick("What am I looking at?", "这是什么？"));
    egui::ScrollArea::vertical().show(ui, |ui| {
        ui.label(RichText::new(lang.pick(EXPLANATION_EN, EXPLANATION_ZH)).size(15.0));
    });
}

const EXPLANATION_EN: &str = "The model starts from pure noise and removes a little of it at every step.\n\n\
x_t is the picture at the current step. At each step the network looks at x_t and guesses the noise in it (purple for negative values, orange for positive ones). Subtracting that noise gives its current guess of the finished picture, x0: blurry at first, sharp near the end.\n\n\
The sampler decides how far to move towards that guess at each step. DDPM adds a little fresh noise each time and needs many steps; DDIM, Euler, Heun and DPM-Solver++ follow the same path without it, and get there in 20–50 steps.\n\n\
Guidance: the network is asked twice, with the digit and without. Their difference (right) is what makes a 7 a 7; w multiplies it.\n\n\
Drag the timeline or press ←/→ to replay any step.";

const EXPLANATION_ZH: &str = "模型从纯噪声出发，每一步去掉一点噪声。\n\n\
x_t 是当前这一步的图像。每一步，网络观察 x_t，猜测其中的噪声（紫色为负值，橙色为正值）。减去这部分噪声，就得到它对最终图像 x0 的当前猜测：开始时模糊，接近结束时清晰。\n\n\
采样器决定每一步朝这个猜测走多远。DDPM 每一步都加入少量新的噪声，需要很多步；DDIM、Euler、Heun 和 DPM-Solver++ 沿同一路径前进但不加噪声，20–50 步就能完成。\n\n\
引导：网络被问两次，一次告诉它数字，一次不告诉。两者之差（右侧）正是让 7 成为 7 的部分；w 把这个差放大。\n\n\
拖动时间轴或按 ←/→ 可以重放任意一步。";

fn images_ui(view: &mut ReverseView, ui: &mut egui::Ui, lang: Lang) {
    let ctx = ui.ctx().clone();
    let class = view.state.example_class();
    let real = if view.state.settings.side_by_side {
        view.state.example_digit(class).map(<[f32]>::to_vec)
    } else {
        None
    };
    let (grid, panels) = view.textures.update(&ctx, &view.state, real.as_deref());
    let Some(record) = view.state.record.as_ref() else {
        ui.add_space(40.0);
        ui.label(
            RichText::new(lang.pick(
                "No run yet. Choose a digit and press Generate.",
                "还没有运行。选择一个数字，然后点击“生成”。",
            ))
            .size(20.0),
        );
        return;
    };
    let grid_spec = record.grid();
    let batch = record.batch();
    // The grid is the main picture; the panels share what is left, three to a row.
    let width = ui.available_width();
    let side = (width * 0.42).clamp(220.0, 520.0);
    let panel = ((width - side - 40.0) / 3.0).clamp(90.0, 200.0);
    let mut clicked_sample = None;
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.label(
                RichText::new(
                    lang.pick("x_t, every sample (click one)", "x_t，全部样本（点击选择）"),
                )
                .strong(),
            );
            if let Some(texture) = grid {
                if let Some(begun) = view.state.run_begun
                    && view.state.noise_shown_latency.is_none()
                {
                    view.state.noise_shown_latency = Some(begun.elapsed());
                }
                let response = ui.add(
                    egui::Image::new(texture)
                        .fit_to_exact_size(Vec2::splat(side))
                        .sense(Sense::click()),
                );
                picture_menu(&response, 0, lang);
                // Outline the selected sample. Tiles are `pitch` image pixels apart (digit + gap).
                let columns = grid_spec.columns as usize;
                let tile_px = record.image_shape.width;
                let pitch = (tile_px as u32 + GAP_PX) as f32;
                let scale = side / (columns as f32 * pitch - GAP_PX as f32);
                let selected = view.state.selected;
                let corner = response.rect.min
                    + scale
                        * Vec2::new(
                            (selected % columns) as f32 * pitch,
                            (selected / columns) as f32 * pitch,
                        );
                ui.painter().rect_stroke(
                    egui::Rect::from_min_size(corner, Vec2::splat(scale * tile_px as f32)),
                    0.0,
                    egui::Stroke::new(3.0, Color32::from_rgb(255, 200, 0)),
                    egui::StrokeKind::Inside,
                );
                if let Some(pos) = response
                    .interact_pointer_pos()
                    .filter(|_| response.clicked())
                {
                    let local = (pos - response.rect.min) / (scale * pitch);
                    let column = (local.x as usize).min(columns - 1);
                    let row = local.y as usize;
                    clicked_sample = Some((row * columns + column).min(batch.saturating_sub(1)));
                }
            }
        });
        ui.add_space(16.0);
        if let Some(panels) = panels {
            ui.vertical(|ui| panels_ui(ui, panels, panel, class, lang));
        }
    });
    if let Some(sample) = clicked_sample {
        view.state.selected = sample;
    }
}

/// The selected sample's panels: x_t and the model's guesses of x0 and ε, the real digit beside
/// it, and the guidance's two guesses and their difference; each `panel` points wide.
fn panels_ui(ui: &mut egui::Ui, panels: &SamplePanels, panel: f32, class: u32, lang: Lang) {
    ui.horizontal_top(|ui| {
        // A right click saves each panel alone (pictures 1–3 of the view, after the grid).
        let x_t = panel_ui(
            ui,
            panel,
            &panels.x_t,
            lang.pick("x_t: what the model sees", "x_t：模型看到的"),
        );
        picture_menu(&x_t, 1, lang);
        let x0 = panel_ui(
            ui,
            panel,
            &panels.x0,
            lang.pick("guess of x0: the finished picture", "x0 的猜测：最终的图像"),
        );
        picture_menu(&x0, 2, lang);
        let eps = signed_panel_ui(
            ui,
            panel,
            &panels.eps,
            lang.pick("guess of ε: the noise it sees", "ε 的猜测：它看到的噪声"),
        );
        picture_menu(&eps, 3, lang);
    });
    legend_ui(ui, panel);
    if panels.colour {
        ui.label(lang.pick(
            "Colour images: the signed panels show the mean of the three channels.",
            "彩色图像：带符号的面板显示三个通道的平均值。",
        ));
    }
    if let Some(real) = &panels.real {
        ui.add_space(8.0);
        ui.label(
            RichText::new(lang.pick("Side by side: the forward process", "对照：前向过程"))
                .strong(),
        );
        let caption = match lang {
            Lang::En => format!("a real {class}, noised to the same point"),
            Lang::Zh => format!("一个真实的 {class}，加噪到同一位置"),
        };
        panel_ui(ui, panel, real, &caption);
    }
    if let Some([uncond, cond, difference]) = &panels.guidance {
        ui.add_space(8.0);
        ui.label(RichText::new(lang.pick("Guidance", "引导")).strong());
        ui.horizontal_top(|ui| {
            signed_panel_ui(
                ui,
                panel,
                uncond,
                lang.pick("ε guessed without the digit", "不给数字时猜测的 ε"),
            );
            signed_panel_ui(
                ui,
                panel,
                cond,
                lang.pick("ε guessed with the digit", "给出数字时猜测的 ε"),
            );
            signed_panel_ui(
                ui,
                panel,
                difference,
                lang.pick("their difference (enlarged)", "两者之差（已放大）"),
            );
        });
    }
}

fn panel_ui(
    ui: &mut egui::Ui,
    panel: f32,
    texture: &egui::TextureHandle,
    caption: &str,
) -> egui::Response {
    ui.vertical(|ui| {
        ui.set_width(panel);
        ui.add(egui::Image::new(texture).fit_to_exact_size(Vec2::splat(panel)));
        ui.label(RichText::new(caption).size(14.0));
    })
    .response
    .interact(Sense::click())
}

/// A panel of signed values: drawn by the colour-map shader, or an uploaded texture.
fn signed_panel_ui(
    ui: &mut egui::Ui,
    panel: f32,
    picture: &PanelPicture,
    caption: &str,
) -> egui::Response {
    match picture {
        PanelPicture::Texture(texture) => panel_ui(ui, panel, texture, caption),
        PanelPicture::Signed { .. } => ui
            .vertical(|ui| {
                ui.set_width(panel);
                let (rect, _) = ui.allocate_exact_size(Vec2::splat(panel), Sense::hover());
                if let Some(callback) = picture.shader_callback() {
                    ui.painter()
                        .add(egui_wgpu::Callback::new_paint_callback(rect, callback));
                }
                ui.label(RichText::new(caption).size(14.0));
            })
            .response
            .interact(Sense::click()),
    }
}

/// The diverging colour map's legend: −3 … 0 … +3.
fn legend_ui(ui: &mut egui::Ui, panel: f32) {
    let width = 3.0 * panel + 2.0 * ui.spacing().item_spacing.x;
    let (rect, _) = ui.allocate_exact_size(Vec2::new(width, 14.0), Sense::hover());
    let steps = 60;
    for i in 0..steps {
        let value = -DIVERGING_RANGE + 2.0 * DIVERGING_RANGE * (i as f32 + 0.5) / steps as f32;
        let [r, g, b] = diverging(value);
        let x0 = rect.left() + width * i as f32 / steps as f32;
        let x1 = rect.left() + width * (i + 1) as f32 / steps as f32;
        ui.painter().rect_filled(
            egui::Rect::from_min_max(egui::pos2(x0, rect.top()), egui::pos2(x1, rect.bottom())),
            0.0,
            Color32::from_rgb(r, g, b),
        );
    }
    ui.horizontal(|ui| {
        ui.set_width(width);
        ui.label(format!("−{DIVERGING_RANGE}"));
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            ui.label(format!("+{DIVERGING_RANGE}"));
            ui.add_space(width / 2.0 - 40.0);
            ui.label("0");
        });
    });
}

fn timeline_ui(view: &mut ReverseView, ui: &mut egui::Ui, lang: Lang) {
    let len = view.state.timeline_len();
    if len == 0 {
        return;
    }
    ui.add_space(12.0);
    let mut index = view.state.shown_index().unwrap_or(0);
    ui.horizontal(|ui| {
        let play = if view.state.playing {
            Text::Pause
        } else {
            Text::Play
        };
        if ui
            .button(RichText::new(lang.tr(play)).size(18.0))
            .on_hover_text(lang.pick("Play / pause (Space)", "播放/暂停（空格）"))
            .clicked()
        {
            view.state.toggle_playing();
        }
        replay_speed_ui(ui, &mut view.state.settings.replay_speed, lang);
        let label = ui.label(RichText::new(lang.pick("Step", "步")).size(18.0).strong());
        ui.spacing_mut().slider_width = (ui.available_width() - 20.0).max(100.0);
        let response = ui
            .add(egui::Slider::new(&mut index, 0..=len - 1).show_value(false))
            .labelled_by(label.id);
        if response.changed() {
            view.state.playing = false;
            view.state.show(index);
        }
    });
    let Some(record) = view.state.record.as_ref() else {
        return;
    };
    let text = match record.frames.get(index) {
        Some(frame) => format!(
            "{} {} / {} · {} · σ = {:.3} · {} {}",
            lang.pick("step", "第"),
            frame.step + 1,
            frame.steps,
            frame.point,
            noise_level(&frame.point),
            lang.pick("network calls:", "网络调用次数："),
            frame.network_calls
        ),
        None => format!(
            "{} · {}",
            lang.pick("finished", "完成"),
            record.describe_in(lang)
        ),
    };
    ui.label(RichText::new(text).size(18.0).monospace());
}

/// The replay speed menu: 0.25× to 4× the usual speed (a long run plays in 8 s at 1×).
fn replay_speed_ui(ui: &mut egui::Ui, speed: &mut f32, lang: Lang) {
    let label = ui.label(lang.pick("Speed", "速度"));
    let text = |s: f32| format!("{s}×");
    egui::ComboBox::from_id_salt("reverse-replay-speed")
        .width(64.0)
        .selected_text(text(*speed))
        .show_ui(ui, |ui| {
            for option in REPLAY_SPEEDS {
                ui.selectable_value(speed, option, text(option));
            }
        })
        .response
        .labelled_by(label.id)
        .on_hover_text(lang.pick(
            "Replay speed (by the clock: the same on a slow computer)",
            "重放速度（按实际时间计：慢的电脑上也一样快）",
        ));
}

/// The σ shown beside a step: √(1−ᾱ_t) on a discrete schedule, σ itself on the flow path.
fn noise_level(point: &PathPoint) -> f64 {
    match point.position {
        Position::Sigma(sigma) => sigma,
        Position::Timestep(_) => point.coefficients.noise,
    }
}
