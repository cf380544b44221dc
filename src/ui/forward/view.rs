//! Drawing the Forward view: controls on the left, the explanation on the right, the three images,
//! the t slider and the plots in the middle. Functions here read state and change settings; the
//! computations live in `state`.

use eframe::egui::{self, Color32, Key, Modifiers, RichText, Vec2};
use egui_plot::{
    Bar, BarChart, Corner, Legend, Line, LineStyle, Plot, PlotBounds, PlotPoints, VLine,
};

use super::export::export_dialog_ui;
use super::state::{ForwardSettings, PLAY_SPEEDS};
use super::{ForwardCommand, ForwardView};
use crate::data::bundled::BundledPhoto;
use crate::diffusion::forward::Noising;
use crate::diffusion::stats::standard_normal_pdf;
use crate::diffusion::{NoiseSchedule, ScheduleConfig, ScheduleKind};
use crate::i18n::{Lang, Text};
use crate::render::forward::ForwardCallback;
use crate::ui::figure_plot::{picture_menu, save_menu};
use crate::ui::message::message_ui;
use crate::ui::presentation::{line_width, view_panels};
use crate::ui::tour;
use crate::ui::views::{View as _, key_line};

/// Colour of √ᾱ_t (the photo) in plots and labels.
pub(super) const SIGNAL_COLOR: Color32 = Color32::from_rgb(86, 180, 233);
/// Colour of √(1−ᾱ_t) (the noise); blue/orange stay distinct for colour-blind viewers.
pub(super) const NOISE_COLOR: Color32 = Color32::from_rgb(230, 159, 0);
/// Colour of the log-SNR curve.
pub(super) const LOG_SNR_COLOR: Color32 = Color32::from_rgb(0, 158, 115);
/// Smallest and largest height of the plots, which otherwise fill the height left under the images.
const PLOT_HEIGHTS: (f32, f32) = (170.0, 340.0);

/// The localised name of a schedule shape.
pub fn schedule_name(lang: Lang, kind: ScheduleKind) -> &'static str {
    lang.tr(match kind {
        ScheduleKind::Linear => Text::ScheduleLinear,
        ScheduleKind::Cosine => Text::ScheduleCosine,
        ScheduleKind::Sigmoid => Text::ScheduleSigmoid,
        ScheduleKind::ScaledLinear => Text::ScheduleScaledLinear,
    })
}

/// Draws the whole view.
pub fn forward_ui(view: &mut ForwardView, ui: &mut egui::Ui, lang: Lang) {
    keyboard_ui(view, ui);
    view_panels(
        ui,
        ("forward", 270.0),
        view,
        |view, ui| controls_ui(view, ui, lang),
        |ui| explanation_ui(ui, lang),
        |view, ui| {
            message_ui(ui, lang, &mut view.message);
            egui::ScrollArea::vertical().show(ui, |ui| {
                images_ui(view, ui, lang);
                timestep_ui(view, ui, lang);
                plots_ui(view, ui, lang);
            });
        },
    );
    let picture_width = view.state.picture().width;
    if export_dialog_ui(
        ui.ctx(),
        lang,
        &mut view.export,
        &mut view.state.settings.export,
        picture_width,
    ) {
        view.ask(ForwardCommand::ExportGif);
    }
    drop_hint_ui(ui, lang);
}

/// Keys: ←/→ (Shift: big steps), Home/End, Space, Ctrl+O, Ctrl+E, Ctrl+S. Consumed before widgets
/// see them, so a focused slider does not also move.
fn keyboard_ui(view: &mut ForwardView, ui: &mut egui::Ui) {
    let big = (view.state.schedule().steps() / 20).max(1) as isize;
    let typing = ui.ctx().egui_wants_keyboard_input();
    let pressed = |modifiers, key| ui.input_mut(|i| i.consume_key(modifiers, key));
    if !typing {
        if pressed(Modifiers::SHIFT, Key::ArrowRight) {
            view.state.step_by(big);
        }
        if pressed(Modifiers::SHIFT, Key::ArrowLeft) {
            view.state.step_by(-big);
        }
        if pressed(Modifiers::NONE, Key::ArrowRight) {
            view.state.step_by(1);
        }
        if pressed(Modifiers::NONE, Key::ArrowLeft) {
            view.state.step_by(-1);
        }
        if pressed(Modifiers::NONE, Key::Home) {
            view.state.t = 0;
        }
        if pressed(Modifiers::NONE, Key::End) {
            view.state.t = view.state.schedule().steps();
        }
        if pressed(Modifiers::NONE, Key::Space) {
            view.state.toggle_play();
        }
    }
    if pressed(Modifiers::COMMAND, Key::O) {
        view.ask(ForwardCommand::ChoosePhoto);
    }
    if pressed(Modifiers::COMMAND, Key::E) {
        view.ask(ForwardCommand::OpenExportDialog);
    }
    if pressed(Modifiers::COMMAND, Key::S) {
        view.ask(ForwardCommand::SavePng);
    }
}

fn controls_ui(view: &mut ForwardView, ui: &mut egui::Ui, lang: Lang) {
    ui.add_space(6.0);
    photo_ui(view, ui, lang);
    ui.separator();
    let settings = &mut view.state.settings;
    schedule_ui(settings, ui, lang);
    ui.separator();
    ui.heading(lang.tr(Text::HowToReachT));
    ui.radio_value(&mut settings.noising, Noising::Jump, lang.tr(Text::Jump))
        .on_hover_text(lang.tr(Text::JumpHint));
    ui.radio_value(&mut settings.noising, Noising::Chain, lang.tr(Text::Chain))
        .on_hover_text(lang.tr(Text::ChainHint));

    ui.separator();
    ui.horizontal(|ui| {
        let label = ui.label(lang.tr(Text::Seed));
        ui.add(egui::DragValue::new(&mut settings.seed))
            .labelled_by(label.id);
        if ui.button(lang.tr(Text::NewSeed)).clicked() {
            settings.seed = settings.seed.wrapping_add(1);
        }
    });

    ui.separator();
    let play = if view.state.playing {
        Text::Pause
    } else {
        Text::Play
    };
    ui.horizontal(|ui| {
        if ui.button(RichText::new(lang.tr(play)).size(18.0)).clicked() {
            view.state.toggle_play();
        }
        play_speed_ui(ui, lang, &mut view.state.settings.play_speed);
    });
    ui.add_space(6.0);
    if ui.button(lang.tr(Text::ExportGif)).clicked() {
        view.ask(ForwardCommand::OpenExportDialog);
    }
    if ui.button(lang.tr(Text::SavePng)).clicked() {
        view.ask(ForwardCommand::SavePng);
    }
    if let Some((done, total)) = view.export.progress() {
        ui.add(
            egui::ProgressBar::new(done as f32 / total.max(1) as f32)
                .text(format!("{} {done} / {total}", lang.tr(Text::Exporting))),
        );
    }
    ui.add_space(6.0);
    if ui
        .button(lang.tr(Text::ResetToDefaults))
        .on_hover_text(lang.tr(Text::ResetToDefaultsHint))
        .clicked()
    {
        view.state.reset_to_defaults();
    }
    ui.add_space(10.0);
    ui.label(
        RichText::new(key_line(&view.keys(lang), lang))
            .small()
            .weak(),
    );
}

/// The photo: the bundled ones, a file of the user's, and whether one is loading.
fn photo_ui(view: &mut ForwardView, ui: &mut egui::Ui, lang: Lang) {
    let photo_heading = ui.heading(lang.tr(Text::Photo));
    let current = match &view.state.source {
        super::state::PictureSource::Bundled(photo) => photo.name(lang).to_owned(),
        super::state::PictureSource::File(name) => name.clone(),
    };
    egui::ComboBox::from_id_salt("photo")
        .selected_text(current)
        .width(240.0)
        .show_ui(ui, |ui| {
            for photo in BundledPhoto::ALL {
                if ui.selectable_label(false, photo.name(lang)).clicked() {
                    view.ask(ForwardCommand::OpenBundled(photo));
                }
            }
        })
        .response
        .labelled_by(photo_heading.id);
    if ui
        .button(lang.tr(Text::OpenImage))
        .on_hover_text(lang.tr(Text::OpenImageHint))
        .clicked()
    {
        view.ask(ForwardCommand::ChoosePhoto);
    }
    if view.is_loading() {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(lang.tr(Text::Loading));
        });
    }
}

/// The noise schedule: its shape, T, zero terminal SNR, and the comparison of shapes.
fn schedule_ui(settings: &mut ForwardSettings, ui: &mut egui::Ui, lang: Lang) {
    let schedule_heading = ui.heading(lang.tr(Text::Schedule));
    let combo = egui::ComboBox::from_id_salt("schedule")
        .selected_text(schedule_name(lang, settings.schedule.kind))
        .width(240.0)
        .show_ui(ui, |ui| {
            for kind in ScheduleKind::ALL {
                if ui
                    .selectable_value(&mut settings.schedule.kind, kind, schedule_name(lang, kind))
                    .changed()
                {
                    let (start, end) = kind.default_beta_range();
                    settings.schedule.beta_start = start;
                    settings.schedule.beta_end = end;
                }
            }
        })
        .response
        .labelled_by(schedule_heading.id);
    tour::mark(ui, "forward.schedule", &combo);
    let steps = ui.add(
        egui::Slider::new(&mut settings.schedule.steps, ScheduleConfig::STEPS_RANGE)
            .logarithmic(true)
            .text(lang.tr(Text::Steps)),
    );
    tour::mark(ui, "forward.steps", &steps);
    ui.checkbox(
        &mut settings.schedule.zero_terminal_snr,
        lang.tr(Text::ZeroTerminalSnr),
    )
    .on_hover_text(lang.tr(Text::ZeroTerminalSnrHint));
    ui.checkbox(
        &mut settings.compare_schedules,
        lang.tr(Text::CompareSchedules),
    )
    .on_hover_text(lang.tr(Text::CompareSchedulesHint));
}

/// The replay speed as a choice of [`PLAY_SPEEDS`], shown as "1×", "2×", …
pub fn play_speed_ui(ui: &mut egui::Ui, lang: Lang, speed: &mut f32) {
    let label = |s: f32| format!("{s}×");
    egui::ComboBox::from_id_salt("play-speed")
        .selected_text(label(*speed))
        .width(64.0)
        .show_ui(ui, |ui| {
            for s in PLAY_SPEEDS {
                ui.selectable_value(speed, s, label(s));
            }
        })
        .response
        .on_hover_text(lang.tr(Text::PlaySpeedHint));
}

fn explanation_ui(ui: &mut egui::Ui, lang: Lang) {
    ui.add_space(6.0);
    ui.heading(lang.tr(Text::WhatAmILookingAt));
    egui::ScrollArea::vertical().show(ui, |ui| {
        ui.label(RichText::new(lang.tr(Text::ForwardExplanation)).size(15.0));
    });
}

fn images_ui(view: &mut ForwardView, ui: &mut egui::Ui, lang: Lang) {
    let ctx = ui.ctx().clone();
    let picture = view.state.picture();
    let aspect = picture.height as f32 / picture.width as f32;
    let picture_side = picture.width.max(picture.height);
    let gap = 12.0;
    let width = ((ui.available_width() - 2.0 * gap) / 3.0).max(60.0);
    let size = Vec2::new(width, width * aspect).min(Vec2::new(width, 360.0));
    let size = Vec2::new(size.y / aspect, size.y);

    let (x0, eps) = view.textures.inputs(&ctx, &view.state);
    let (x0, eps) = (x0.id(), eps.id());
    let x_t = view.state.x_t_image().cloned();
    // Jumping to t is what the shader computes; the chain's steps are walked on the CPU.
    let fits = |limit: usize| picture_side <= limit;
    let on_gpu =
        view.gpu_texture_limit.is_some_and(fits) && view.state.settings.noising == Noising::Jump;
    let x_t_picture = if on_gpu {
        let (revision, inputs) = view.gpu_inputs();
        let schedule = view.state.schedule();
        Some(CardPicture::Shader(ForwardCallback {
            lane: view.gpu_lane.clone(),
            revision,
            inputs,
            signal_scale: schedule.signal_scale(view.state.t) as f32,
            noise_scale: schedule.noise_scale(view.state.t) as f32,
        }))
    } else {
        x_t.as_ref()
            .map(|image| CardPicture::Texture(view.textures.x_t(&ctx, image).id()))
    };

    ui.horizontal_top(|ui| {
        ui.spacing_mut().item_spacing.x = gap;
        let x0_card = image_card_ui(
            ui,
            lang.tr(Text::CleanImage),
            Some(CardPicture::Texture(x0)),
            size,
            "t = 0".to_owned(),
        );
        picture_menu(&x0_card, 0, lang);
        let note = x_t.as_ref().map_or_else(String::new, |image| {
            format!("t = {} / {}", image.t, view.state.schedule().steps())
        });
        let x_t_card = image_card_ui(ui, lang.tr(Text::NoisyImage), x_t_picture, size, note);
        tour::mark(ui, "forward.x_t", &x_t_card);
        picture_menu(&x_t_card, 1, lang);
        let eps_card = image_card_ui(
            ui,
            lang.tr(Text::Noise),
            Some(CardPicture::Texture(eps)),
            size,
            "N(0, 1)".to_owned(),
        );
        picture_menu(&eps_card, 2, lang);
    });

    if view.state.settings.noising == Noising::Chain {
        chain_status_ui(view, ui, lang);
    }
}

/// What an image card shows: an uploaded texture, or x_t drawn by the forward shader.
enum CardPicture {
    Texture(egui::TextureId),
    Shader(ForwardCallback),
}

fn image_card_ui(
    ui: &mut egui::Ui,
    title: &str,
    picture: Option<CardPicture>,
    size: Vec2,
    note: String,
) -> egui::Response {
    ui.vertical(|ui| {
        ui.set_width(size.x);
        ui.label(RichText::new(title).size(16.0).strong());
        match picture {
            Some(CardPicture::Texture(id)) => {
                ui.add(egui::Image::new((id, size)).corner_radius(2.0));
            }
            Some(CardPicture::Shader(callback)) => {
                let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
                ui.painter()
                    .add(egui_wgpu::Callback::new_paint_callback(rect, callback));
            }
            None => {
                let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
                ui.painter()
                    .rect_filled(rect, 2.0, ui.visuals().extreme_bg_color);
                ui.put(rect, egui::Spinner::new());
            }
        }
        ui.label(RichText::new(note).monospace());
    })
    .response
    // A right click offers the picture as a PNG.
    .interact(egui::Sense::click())
}

fn chain_status_ui(view: &ForwardView, ui: &mut egui::Ui, lang: Lang) {
    if let Some(error) = view.state.chain_error() {
        // The sentence in the view's language; the system's words on hover.
        ui.colored_label(ui.visuals().error_fg_color, lang.tr(Text::JobNotStarted))
            .on_hover_text(error);
        return;
    }
    let Some((done, total)) = view.state.chain_progress() else {
        return;
    };
    if done < total {
        ui.add(
            egui::ProgressBar::new(done as f32 / total as f32)
                .text(format!("{} {done} / {total}", lang.tr(Text::WalkingChain))),
        );
    }
    if let Some(image) = view.state.x_t_image_cached() {
        ui.label(
            RichText::new(format!(
                "{} {} × {}.",
                lang.tr(Text::WalkResolution),
                image.width,
                image.height
            ))
            .small()
            .weak(),
        );
    }
}

fn timestep_ui(view: &mut ForwardView, ui: &mut egui::Ui, lang: Lang) {
    ui.add_space(8.0);
    let steps = view.state.schedule().steps();
    ui.horizontal(|ui| {
        let label = ui.label(RichText::new(lang.tr(Text::Timestep)).size(18.0).strong());
        ui.spacing_mut().slider_width = (ui.available_width() - 90.0).max(100.0);
        let slider = ui
            .add(egui::Slider::new(&mut view.state.t, 0..=steps).integer())
            .labelled_by(label.id);
        tour::mark(ui, "forward.t", &slider);
    });
    let schedule = view.state.schedule();
    let t = view.state.t;
    ui.horizontal_wrapped(|ui| {
        ui.label(
            RichText::new(format!("t = {t} / {steps}"))
                .size(22.0)
                .monospace()
                .strong(),
        );
        ui.add_space(16.0);
        ui.label(
            RichText::new(format!("√ᾱ_t = {:.3}", schedule.signal_scale(t)))
                .size(20.0)
                .color(SIGNAL_COLOR),
        );
        ui.label(
            RichText::new(format!("√(1−ᾱ_t) = {:.3}", schedule.noise_scale(t)))
                .size(20.0)
                .color(NOISE_COLOR),
        );
        ui.label(
            RichText::new(format!("log-SNR = {}", format_log_snr(schedule.log_snr(t)))).size(20.0),
        );
    });
    if schedule.signal_scale(steps) > 0.05 {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            format!(
                "{} (√ᾱ_T = {:.2})",
                lang.tr(Text::SignalLeftWarning),
                schedule.signal_scale(steps)
            ),
        );
    }
    if let Some(image) = view.state.x_t_image_cached() {
        ui.label(format!(
            "{}: {} {:.3} · {} {:.3}",
            lang.tr(Text::NoisePartStd),
            lang.tr(Text::Measured),
            image.noise_std,
            lang.tr(Text::Expected),
            view.state.expected_noise_std(),
        ));
    }
}

fn format_log_snr(value: f64) -> String {
    if value.is_infinite() {
        if value > 0.0 {
            "+∞".into()
        } else {
            "−∞".into()
        }
    } else {
        format!("{value:.2}")
    }
}

/// The other schedule shapes with the same T and terminal-SNR choice, each with its plot colour,
/// drawn faintly behind the current one when comparing.
pub(super) fn other_schedules(view: &ForwardView) -> Vec<(ScheduleKind, NoiseSchedule)> {
    let current = view.state.settings.schedule;
    if !view.state.settings.compare_schedules {
        return Vec::new();
    }
    ScheduleKind::ALL
        .into_iter()
        .filter(|&kind| kind != current.kind)
        .map(|kind| {
            let config = ScheduleConfig {
                zero_terminal_snr: current.zero_terminal_snr,
                ..ScheduleConfig::new(kind, current.steps)
            };
            (kind, NoiseSchedule::new(config))
        })
        .collect()
}

/// A colour per schedule shape for the comparison curves (Okabe–Ito, distinct for colour-blind
/// viewers and from the signal, noise and log-SNR colours).
pub(super) fn compare_color(kind: ScheduleKind) -> Color32 {
    match kind {
        ScheduleKind::Linear => Color32::from_rgb(0, 114, 178),
        ScheduleKind::Cosine => Color32::from_rgb(204, 121, 167),
        ScheduleKind::Sigmoid => Color32::from_rgb(213, 94, 0),
        ScheduleKind::ScaledLinear => Color32::from_rgb(150, 150, 150),
    }
}

/// Faint dashed curves `f(schedule, t)` of the other schedules, `width` wide, named for the
/// legend.
fn comparison_lines<'a>(
    (lang, width): (Lang, f32),
    others: &'a [(ScheduleKind, NoiseSchedule)],
    f: impl Fn(&NoiseSchedule, usize) -> f64 + Copy + 'a,
) -> impl Iterator<Item = Line<'static>> + 'a {
    others.iter().map(move |(kind, schedule)| {
        Line::new(
            schedule_name(lang, *kind),
            curve(schedule, |t| f(schedule, t)),
        )
        .color(compare_color(*kind).gamma_multiply(0.8))
        .style(LineStyle::dashed_loose())
        .width(width)
    })
}

fn plots_ui(view: &mut ForwardView, ui: &mut egui::Ui, lang: Lang) {
    ui.add_space(8.0);
    let width = ((ui.available_width() - 24.0) / 3.0).max(120.0);
    let schedule = view.state.schedule().clone();
    let others = other_schedules(view);
    let t = view.state.t as f64;
    let height = (ui.available_height() - 36.0).clamp(PLOT_HEIGHTS.0, PLOT_HEIGHTS.1);
    comparison_key_ui(ui, lang, &others);
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.set_width(width);
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(lang.tr(Text::SignalAndNoise)).strong());
                ui.label(RichText::new(lang.tr(Text::SignalWeight)).color(SIGNAL_COLOR));
                ui.label(RichText::new(lang.tr(Text::NoiseWeight)).color(NOISE_COLOR));
            });
            weights_plot_ui(ui, lang, &schedule, &others, t, height);
        });
        ui.vertical(|ui| {
            ui.set_width(width);
            ui.label(RichText::new(lang.tr(Text::LogSnr)).strong());
            log_snr_plot_ui(ui, lang, &schedule, &others, t, height);
        });
        ui.vertical(|ui| {
            ui.set_width(width);
            ui.label(RichText::new(lang.tr(Text::Histogram)).strong());
            histogram_ui(view, ui, lang, height);
        });
    });
}

fn curve(schedule: &NoiseSchedule, f: impl Fn(usize) -> f64) -> PlotPoints<'static> {
    (0..=schedule.steps())
        .map(|t| [t as f64, f(t)])
        .filter(|[_, y]| y.is_finite())
        .collect()
}

/// The key to the comparison curves, one line above the plots (a legend inside them would hide
/// the curves): "Dashed, for comparison: linear (DDPM) · sigmoid · …" in their colours.
fn comparison_key_ui(ui: &mut egui::Ui, lang: Lang, others: &[(ScheduleKind, NoiseSchedule)]) {
    if others.is_empty() {
        return;
    }
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new(lang.tr(Text::ComparedDashed)).weak());
        for (kind, _) in others {
            ui.label(
                RichText::new(format!("- - {}", schedule_name(lang, *kind)))
                    .color(compare_color(*kind)),
            );
        }
    });
}

/// A fixed plot of curves over t (no dragging or zooming: a slider drag must not pan it).
fn schedule_plot(id: &str, height: f32) -> Plot<'_> {
    Plot::new(id)
        .height(height)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
}

fn weights_plot_ui(
    ui: &mut egui::Ui,
    lang: Lang,
    schedule: &NoiseSchedule,
    others: &[(ScheduleKind, NoiseSchedule)],
    t: f64,
    height: f32,
) {
    let plot = schedule_plot("forward-weights", height)
        .include_y(0.0)
        .include_y(1.0)
        .show(ui, |plot| {
            // The others' √ᾱ_t only: their √(1−ᾱ_t) mirrors it and would double the clutter.
            for line in comparison_lines(
                (lang, line_width(plot.ctx(), 1.5)),
                others,
                NoiseSchedule::signal_scale,
            ) {
                plot.line(line);
            }
            plot.line(
                Line::new(
                    lang.tr(Text::SignalWeight),
                    curve(schedule, |s| schedule.signal_scale(s)),
                )
                .color(SIGNAL_COLOR)
                .width(line_width(plot.ctx(), 2.5)),
            );
            plot.line(
                Line::new(
                    lang.tr(Text::NoiseWeight),
                    curve(schedule, |s| schedule.noise_scale(s)),
                )
                .color(NOISE_COLOR)
                .width(line_width(plot.ctx(), 2.5)),
            );
            plot.vline(VLine::new("t", t).color(Color32::GRAY));
        });
    save_menu(&plot.response, 0, lang);
}

fn log_snr_plot_ui(
    ui: &mut egui::Ui,
    lang: Lang,
    schedule: &NoiseSchedule,
    others: &[(ScheduleKind, NoiseSchedule)],
    t: f64,
    height: f32,
) {
    let plot = schedule_plot("forward-log-snr", height).show(ui, |plot| {
        for line in comparison_lines(
            (lang, line_width(plot.ctx(), 1.5)),
            others,
            NoiseSchedule::log_snr,
        ) {
            plot.line(line);
        }
        plot.line(
            Line::new(
                lang.tr(Text::LogSnr),
                curve(schedule, |s| schedule.log_snr(s)),
            )
            .color(LOG_SNR_COLOR)
            .width(line_width(plot.ctx(), 2.5)),
        );
        plot.vline(VLine::new("t", t).color(Color32::GRAY));
    });
    save_menu(&plot.response, 1, lang);
}

fn histogram_ui(view: &mut ForwardView, ui: &mut egui::Ui, lang: Lang, height: f32) {
    let Some(image) = view.state.x_t_image_cached() else {
        return;
    };
    let width = f64::from(image.histogram.bin_width());
    let bars: Vec<Bar> = image
        .histogram
        .densities()
        .map(|(x, density)| Bar::new(x, density).width(width))
        .collect();
    let top = bars.iter().map(|bar| bar.value).fold(0.5, f64::max) * 1.05;
    let (min, max) = image.histogram.range();
    let normal: PlotPoints<'_> = (-400..=400)
        .map(|i| {
            let x = f64::from(i) / 100.0;
            [x, standard_normal_pdf(x)]
        })
        .collect();
    let plot = Plot::new("forward-histogram")
        .height(height)
        .legend(Legend::default().position(Corner::LeftTop))
        .auto_bounds(false)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .show(ui, |plot| {
            plot.set_plot_bounds(PlotBounds::from_min_max([min, 0.0], [max, top]));
            plot.bar_chart(
                BarChart::new(lang.tr(Text::HistogramOfXt), bars)
                    .color(SIGNAL_COLOR.gamma_multiply(0.7)),
            );
            plot.line(
                Line::new(lang.tr(Text::StandardNormal), normal)
                    .color(NOISE_COLOR)
                    .width(line_width(plot.ctx(), 2.0)),
            );
        });
    save_menu(&plot.response, 2, lang);
}

fn drop_hint_ui(ui: &mut egui::Ui, lang: Lang) {
    let hovering = ui.ctx().input(|i| !i.raw.hovered_files.is_empty());
    if !hovering {
        return;
    }
    let screen = ui.ctx().content_rect();
    let painter = ui.ctx().layer_painter(egui::LayerId::new(
        egui::Order::Foreground,
        egui::Id::unique("drop"),
    ));
    painter.rect_filled(screen, 0.0, Color32::from_black_alpha(180));
    painter.text(
        screen.center(),
        egui::Align2::CENTER_CENTER,
        lang.tr(Text::DropToOpen),
        egui::FontId::proportional(32.0),
        Color32::WHITE,
    );
}
