//! Drawing the Compare view: the race's choices (left), the lanes side by side under one
//! scrubber of network calls, the "how far from done" chart and the distances between the
//! finished pictures (centre), and what to look for (right).

use eframe::egui::{self, Color32, Key, Modifiers, RichText};
use egui_plot::VLine;

use super::state::{Lane, LaneStatus, PRESETS, Race};
use super::{CompareCommand, CompareView};
use crate::export::figure::{Curve, Figure, LegendCorner, Mark};
use crate::i18n::Lang;
use crate::sample::colormap::OKABE_ITO;
use crate::sample::race::{LaneAt, rms_distance};
use crate::ui::View as _;
use crate::ui::figure_plot::{figure_plot_ui, picture_menu};
use crate::ui::message::message_ui;
use crate::ui::presentation::view_panels;
use crate::ui::tour;
use crate::ui::views::key_line;

/// Draws the whole view.
pub fn compare_ui(view: &mut CompareView, ui: &mut egui::Ui, lang: Lang) {
    keyboard_ui(view, ui);
    view_panels(
        ui,
        ("compare", 290.0),
        view,
        |view, ui| controls_ui(view, ui, lang),
        |ui| explanation_ui(ui, lang),
        |view, ui| {
            message_ui(ui, lang, &mut view.message);
            egui::ScrollArea::vertical().show(ui, |ui| race_ui(view, ui, lang));
        },
    );
}

/// Keys: G or Enter race, Esc stops, ←/→ (Shift: ten) move the clock, Space plays, Ctrl+E
/// exports a GIF, Ctrl+S saves a PNG.
fn keyboard_ui(view: &mut CompareView, ui: &mut egui::Ui) {
    if ui.ctx().egui_wants_keyboard_input() {
        return;
    }
    let pressed = |modifiers, key| ui.input_mut(|i| i.consume_key(modifiers, key));
    if pressed(Modifiers::NONE, Key::G) || pressed(Modifiers::NONE, Key::Enter) {
        view.ask(CompareCommand::Race);
    }
    if pressed(Modifiers::NONE, Key::Escape) {
        view.ask(CompareCommand::Stop);
    }
    for (modifiers, key, calls) in [
        (Modifiers::SHIFT, Key::ArrowRight, 10),
        (Modifiers::SHIFT, Key::ArrowLeft, -10),
        (Modifiers::NONE, Key::ArrowRight, 1),
        (Modifiers::NONE, Key::ArrowLeft, -1),
    ] {
        if pressed(modifiers, key) {
            view.state.step_clock(calls);
        }
    }
    if pressed(Modifiers::NONE, Key::Space) {
        view.state.toggle_play(std::time::Instant::now());
    }
    if pressed(Modifiers::NONE, Key::Num1) {
        view.ask(CompareCommand::Vote(false));
    }
    if pressed(Modifiers::NONE, Key::Num2) {
        view.ask(CompareCommand::Vote(true));
    }
    if pressed(Modifiers::COMMAND, Key::E) {
        view.ask(CompareCommand::ExportGif);
    }
    if pressed(Modifiers::COMMAND, Key::S) {
        view.ask(CompareCommand::SavePng);
    }
}

fn controls_ui(view: &mut CompareView, ui: &mut egui::Ui, lang: Lang) {
    choices_ui(view, ui, lang);
    race_buttons_ui(view, ui, lang);
    export_ui(view, ui, lang);
    ui.add_space(8.0);
    ui.label(RichText::new(key_line(&view.keys(lang), lang)).small());
}

/// The race, the digit, w, the samples and the seed.
fn choices_ui(view: &mut CompareView, ui: &mut egui::Ui, lang: Lang) {
    ui.add_space(6.0);
    ui.heading(lang.pick("The race", "比赛"));
    let settings = &mut view.state.settings;
    let label = ui.label(RichText::new(lang.pick("Lanes", "赛道")).strong());
    let name = |index: usize| {
        let preset = PRESETS.get(index).unwrap_or(&PRESETS[0]);
        lang.pick(preset.name.0, preset.name.1)
    };
    egui::ComboBox::from_id_salt("compare-preset")
        .width(270.0)
        .selected_text(name(settings.preset))
        .show_ui(ui, |ui| {
            for index in 0..PRESETS.len() {
                ui.selectable_value(&mut settings.preset, index, name(index));
            }
        })
        .response
        .labelled_by(label.id);
    let label = ui.label(RichText::new(lang.pick("Digit", "数字")).strong());
    let digit_text = |digit: Option<u32>| {
        digit.map_or_else(|| lang.pick("any", "任意").to_owned(), |d| d.to_string())
    };
    egui::ComboBox::from_id_salt("compare-digit")
        .selected_text(digit_text(settings.class))
        .show_ui(ui, |ui| {
            ui.selectable_value(&mut settings.class, None, digit_text(None));
            for d in 0..10 {
                ui.selectable_value(&mut settings.class, Some(d), d.to_string());
            }
        })
        .response
        .labelled_by(label.id);
    let label = ui.label(lang.pick(
        "Guidance w (lanes without their own)",
        "引导强度 w（未单独设定的赛道）",
    ));
    ui.add(egui::Slider::new(&mut settings.guidance, 0.0..=10.0).step_by(0.5))
        .labelled_by(label.id);
    let label = ui.label(RichText::new(lang.pick("Samples per lane", "每条赛道的样本数")).strong());
    ui.horizontal(|ui| {
        for side in 1..=3 {
            ui.selectable_value(&mut settings.grid_side, side, (side * side).to_string());
        }
    })
    .response
    .labelled_by(label.id);
    let last = settings.samples() - 1;
    settings.selected = settings.selected.min(last);
    ui.add_enabled_ui(last > 0, |ui| {
        let label = ui.label(lang.pick("Sample whose x0 guess is shown", "显示其 x0 猜测的样本"));
        ui.add(egui::Slider::new(&mut settings.selected, 0..=last.max(1)))
            .labelled_by(label.id);
    });
    ui.horizontal(|ui| {
        let label = ui.label(lang.pick("Seed", "种子"));
        ui.add(egui::DragValue::new(&mut settings.seed))
            .labelled_by(label.id);
        if ui.button(lang.pick("New seed", "换一个种子")).clicked() {
            settings.seed = settings.seed.wrapping_add(1);
        }
    });
}

/// Race and Stop.
fn race_buttons_ui(view: &mut CompareView, ui: &mut egui::Ui, lang: Lang) {
    ui.add_space(8.0);
    let going = view.state.race.as_ref().is_some_and(Race::is_going);
    ui.horizontal_wrapped(|ui| {
        let text = RichText::new(lang.pick("Race (G)", "开始比赛 (G)")).size(18.0);
        let race = ui.button(text);
        tour::mark(ui, "compare.race", &race);
        if race.clicked() {
            view.ask(CompareCommand::Race);
        }
        if ui
            .add_enabled(
                going,
                egui::Button::new(lang.pick("Stop (Esc)", "停止 (Esc)")),
            )
            .clicked()
        {
            view.ask(CompareCommand::Stop);
        }
    });
}

/// Export GIF and Save PNG, and whether an export is being written.
fn export_ui(view: &mut CompareView, ui: &mut egui::Ui, lang: Lang) {
    ui.add_space(8.0);
    ui.collapsing(lang.pick("Export", "导出"), |ui| {
        let has_race =
            view.state.race.as_ref().is_some_and(|r| r.live_clock() > 0) && !view.is_exporting();
        ui.horizontal_wrapped(|ui| {
            if ui
                .add_enabled(
                    has_race,
                    egui::Button::new(lang.pick("Export GIF… (Ctrl+E)", "导出 GIF… (Ctrl+E)")),
                )
                .clicked()
            {
                view.ask(CompareCommand::ExportGif);
            }
            if ui
                .add_enabled(
                    has_race,
                    egui::Button::new(lang.pick("Save PNG… (Ctrl+S)", "保存 PNG… (Ctrl+S)")),
                )
                .clicked()
            {
                view.ask(CompareCommand::SavePng);
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

fn race_ui(view: &mut CompareView, ui: &mut egui::Ui, lang: Lang) {
    let Some(live) = view.state.race.as_ref().map(Race::live_clock) else {
        ui.add_space(40.0);
        ui.label(
            RichText::new(lang.pick(
                "Press Race: every lane starts from the same noise, and all move one network call at a time.",
                "点击“开始比赛”：所有赛道从同一份噪声出发，每次都前进一次网络调用。",
            ))
            .size(18.0),
        );
        return;
    };
    scrubber_ui(view, ui, live, lang);
    let clock = view.state.clock;
    let selected = view.state.settings.selected;
    let Some(race) = view.state.race.as_ref() else {
        return;
    };
    let textures = view.textures.update(ui.ctx(), race, clock, selected);
    ui.columns(race.lanes.len().max(1), |columns| {
        for ((column, lane), texture) in columns.iter_mut().zip(&race.lanes).zip(textures) {
            lane_ui(column, lane, texture.as_ref(), clock, lang);
        }
    });
    ui.add_space(10.0);
    distance_chart_ui(ui, race, clock, lang);
    final_distances_ui(ui, race, lang);
    vote_ui(view, ui, lang);
}

/// Two finished lanes' pictures of one sample, unnamed; the class votes for the better (1 or 2),
/// and the tally shows each lane's share of wins.
fn vote_ui(view: &mut CompareView, ui: &mut egui::Ui, lang: Lang) {
    let (Some(pair), Some(race)) = (view.state.vote_pair(), view.state.race.as_ref()) else {
        return;
    };
    ui.add_space(10.0);
    ui.label(RichText::new(lang.pick(
        "The vote: which picture is better? (press 1 or 2; the samplers are named only in the tally)",
        "投票：哪张图更好？（按 1 或 2；只有在计票中才显示采样器）",
    )).strong());
    let textures = view.textures.vote(ui.ctx(), race, pair);
    let mut voted = None;
    ui.horizontal(|ui| {
        for (index, texture) in textures.iter().enumerate() {
            ui.vertical(|ui| {
                ui.add(egui::Image::new(texture).fit_to_exact_size(egui::vec2(140.0, 140.0)));
                if ui
                    .button(RichText::new((index + 1).to_string()).size(20.0))
                    .clicked()
                {
                    voted = Some(index == 1);
                }
            });
        }
        ui.add_space(20.0);
        egui::Grid::new("compare-vote-tally")
            .striped(true)
            .show(ui, |ui| {
                for heading in [
                    lang.pick("lane", "赛道"),
                    lang.pick("wins", "获胜"),
                    lang.pick("win rate", "胜率"),
                ] {
                    ui.label(RichText::new(heading).strong());
                }
                ui.end_row();
                for (title, (wins, shown)) in &view.state.vote.tally {
                    ui.label(title);
                    ui.label(format!("{wins} / {shown}"));
                    ui.label(format!(
                        "{:.0} %",
                        100.0 * *wins as f64 / (*shown).max(1) as f64
                    ));
                    ui.end_row();
                }
            });
    });
    if let Some(right) = voted {
        view.ask(CompareCommand::Vote(right));
    }
}

/// Play/pause and the one scrubber of network calls every lane is shown at.
fn scrubber_ui(view: &mut CompareView, ui: &mut egui::Ui, live: usize, lang: Lang) {
    ui.horizontal(|ui| {
        let play = if view.state.playing {
            lang.pick("Pause", "暂停")
        } else {
            lang.pick("Play", "播放")
        };
        if ui.button(play).clicked() {
            view.state.toggle_play(std::time::Instant::now());
        }
        let label = ui.label(RichText::new(lang.pick("Network calls", "网络调用次数")).strong());
        let mut clock = view.state.clock.min(live);
        ui.spacing_mut().slider_width = (ui.available_width() - 80.0).max(120.0);
        let response = ui
            .add(egui::Slider::new(&mut clock, 0..=live.max(1)))
            .labelled_by(label.id);
        if response.changed() {
            view.state.clock = clock;
            view.state.follow = false;
            view.state.playing = false;
        }
    });
}

/// One lane: its title, its grid, where it stands, and the chosen sample's x̂0.
fn lane_ui(
    ui: &mut egui::Ui,
    lane: &Lane,
    texture: Option<&super::textures::LaneTexture>,
    clock: usize,
    lang: Lang,
) {
    ui.label(RichText::new(lane.spec.title()).strong().size(18.0));
    let width = ui.available_width();
    match texture {
        Some(texture) => {
            let grid = ui.add(
                egui::Image::new(&texture.grid)
                    .fit_to_exact_size(egui::vec2(width, width))
                    .sense(egui::Sense::click()),
            );
            // A right click saves the whole race at this clock (the view's one picture).
            picture_menu(&grid, 0, lang);
        }
        None => {
            ui.add_space(width);
        }
    }
    let status = match (&lane.status, lane.trace.at(clock)) {
        (LaneStatus::Loading, _) => lang.pick("loading the model…", "正在加载模型……").to_owned(),
        (LaneStatus::Failed(en, zh), _) => match lang {
            Lang::En => en.clone(),
            Lang::Zh => zh.clone(),
        },
        (_, Some(LaneAt::Finished(_))) => format!(
            "{} · {} {} · {:.1} s",
            lang.pick("done", "完成"),
            lane.trace.network_calls,
            lang.pick("calls", "次调用"),
            lane.elapsed.as_secs_f64()
        ),
        (status, Some(LaneAt::Running(step))) => format!(
            "NFE {} · {}{}",
            step.network_calls,
            step.point,
            if *status == LaneStatus::Cancelled {
                lang.pick(" · stopped", " · 已停止")
            } else {
                ""
            }
        ),
        (_, None) => String::new(),
    };
    ui.label(RichText::new(status).size(15.0));
    if let Some(texture) = texture {
        ui.horizontal(|ui| {
            let side = (width * 0.35).clamp(32.0, 120.0);
            ui.add(egui::Image::new(&texture.x0).fit_to_exact_size(egui::vec2(side, side)));
            ui.label(lang.pick(
                "its guess of x0:\nthe finished digit",
                "它对 x0 的猜测：\n最终的数字",
            ));
        });
    }
}

/// For each finished lane, the distance of its x̂0 from its own finished picture against the
/// network calls (on a log scale), as the view draws it and exports it.
pub fn distance_figure(race: &Race, lang: Lang) -> Figure {
    let curves = race
        .lanes
        .iter()
        .enumerate()
        .filter(|(_, lane)| !lane.distances.is_empty())
        .map(|(index, lane)| Curve {
            name: lane.spec.title(),
            points: lane
                .distances
                .iter()
                .map(|&(calls, d)| (calls.max(1) as f64, d))
                .collect(),
            colour: OKABE_ITO[index % OKABE_ITO.len()],
            mark: Mark::Line,
        })
        .collect();
    Figure {
        title: lang
            .pick(
                "How far from done: distance of each lane's guess of x0 from its own final picture (RMS)",
                "离完成还有多远：各赛道对 x0 的猜测与其最终图像的距离（均方根）",
            )
            .to_owned(),
        x_label: lang
            .pick("network calls (log scale)", "网络调用次数（对数刻度）")
            .to_owned(),
        log_x: true,
        log_y: false,
        curves,
        reference: None,
        legend: LegendCorner::TopRight,
    }
}

/// The distance chart, with the clock.
fn distance_chart_ui(ui: &mut egui::Ui, race: &Race, clock: usize, lang: Lang) {
    let figure = distance_figure(race, lang);
    figure_plot_ui(ui, (&figure, 0), 220.0, lang, |plot| {
        plot.vline(
            VLine::new(lang.pick("clock", "时钟"), (clock.max(1) as f64).log10())
                .color(Color32::GRAY),
        );
    });
}

/// The RMS distance between every two finished lanes' pictures.
fn final_distances_ui(ui: &mut egui::Ui, race: &Race, lang: Lang) {
    let finished: Vec<&Lane> = race
        .lanes
        .iter()
        .filter(|l| !l.trace.finished.is_empty())
        .collect();
    if finished.len() < 2 {
        return;
    }
    ui.add_space(6.0);
    ui.label(
        RichText::new(lang.pick(
            "Between the finished pictures (RMS; same noise, same seed):",
            "最终图像之间的距离（均方根；相同的噪声和种子）：",
        ))
        .strong(),
    );
    egui::Grid::new("compare-final-distances")
        .striped(true)
        .show(ui, |ui| {
            for (i, a) in finished.iter().enumerate() {
                for b in &finished[i + 1..] {
                    ui.label(format!("{} ↔ {}", a.spec.title(), b.spec.title()));
                    ui.label(format!(
                        "{:.3}",
                        rms_distance(&a.trace.finished, &b.trace.finished)
                    ));
                    ui.end_row();
                }
            }
        });
}

fn explanation_ui(ui: &mut egui::Ui, lang: Lang) {
    ui.add_space(6.0);
    ui.heading(lang.pick("What am I looking at?", "这是什么？"));
    egui::ScrollArea::vertical().show(ui, |ui| {
        ui.label(RichText::new(lang.pick(EXPLANATION_EN, EXPLANATION_ZH)).size(15.0));
    });
}

const EXPLANATION_EN: &str = "Every lane starts from the same noise and the same seed; only the sampler (or the model, or w) differs.\n\n\
The clock is not time but network calls (NFE): the expensive part of every step. All lanes make one call per tick, so you see who gets there in fewer calls. DPM-Solver++ and Euler are done at 20 calls while DDPM, with 1000 small steps, is still noise.\n\n\
Why can some samplers take big steps? DDIM, Euler and DPM-Solver++ follow the same smooth path (an ODE) from noise to picture, and DPM-Solver++ uses its last two guesses to bend with the path. DDPM adds fresh noise at every step, so it needs many small steps.\n\n\
The chart: how far each lane's current guess of x0 is from where it ends. The deterministic samplers land near one another from the same noise; DDPM's fresh noise takes it elsewhere (see the distances below the chart).";

const EXPLANATION_ZH: &str = "每条赛道都从同一份噪声、同一个种子出发；只有采样器（或模型、或 w）不同。\n\n\
时钟不是时间，而是网络调用次数（NFE）：每一步中最费时的部分。所有赛道每一拍都调用一次网络，因此可以看到谁用更少的调用到达终点。DPM-Solver++ 和 Euler 在 20 次调用时就完成了，而走 1000 小步的 DDPM 还是一片噪声。\n\n\
为什么有些采样器能迈大步？DDIM、Euler 和 DPM-Solver++ 沿同一条平滑路径（一个常微分方程）从噪声走到图像，DPM-Solver++ 还利用前两次的猜测顺着路径转弯。DDPM 每一步都加入新的噪声，所以需要很多小步。\n\n\
图表：每条赛道当前对 x0 的猜测离它的终点还有多远。从同一份噪声出发，确定性的采样器落在彼此附近；DDPM 的新噪声把它带到别处（见图表下方的距离）。";
