//! Drawing the list of runs: the one on screen and the kept ones (click one to show it), with
//! what each was made with, and the buttons that save a run, open one, and reuse its settings.

use eframe::egui::{self, RichText};

use super::history::run_title;
use super::{ReverseCommand, ReverseView};
use crate::i18n::Lang;
use crate::worker::RunRecord;

/// Draws the runs section.
pub fn runs_ui(view: &mut ReverseView, ui: &mut egui::Ui, lang: Lang) {
    let kept = view.state.history.runs().len();
    let heading = match lang {
        Lang::En => format!("Runs ({})", kept + usize::from(view.state.record.is_some())),
        Lang::Zh => format!(
            "运行记录（{}）",
            kept + usize::from(view.state.record.is_some())
        ),
    };
    egui::CollapsingHeader::new(heading)
        .id_salt("reverse-runs")
        .default_open(true)
        .show(ui, |ui| {
            list_ui(view, ui, lang);
            buttons_ui(view, ui, lang);
        });
}

fn list_ui(view: &mut ReverseView, ui: &mut egui::Ui, lang: Lang) {
    let running = view.state.is_running();
    let mut chosen = None;
    if let Some(record) = &view.state.record {
        // The run on screen, highlighted (clicking it changes nothing).
        let text = row_text(view.state.shown_run, record, running, lang);
        let _ = ui.selectable_label(true, text);
    }
    ui.add_enabled_ui(!running, |ui| {
        for run in view.state.history.runs() {
            let response = ui
                .selectable_label(false, row_text(run.number, &run.record, false, lang))
                .on_hover_text(lang.pick("Show this run", "显示这次运行"))
                .on_disabled_hover_text(lang.pick(
                    "A run is being made: stop it or let it finish first.",
                    "正在生成一次运行：请先停止或等它完成。",
                ));
            if response.clicked() {
                chosen = Some(run.number);
            }
        }
    });
    if let Some(number) = chosen {
        view.ask(ReverseCommand::ShowKept(number));
    }
    let kept_mb = view.state.history.memory_bytes() as f64 / 1e6;
    let budget_gb = view.state.history.budget_bytes() as f64 / 1e9;
    ui.label(
        RichText::new(match lang {
            Lang::En => format!(
                "Kept runs: {kept_mb:.0} MB of memory (the oldest go beyond {budget_gb:.1} GB)."
            ),
            Lang::Zh => {
                format!("保留的运行占用 {kept_mb:.0} MB 内存（超过 {budget_gb:.1} GB 时最早的会被释放）。")
            }
        })
        .small(),
    );
}

/// Two lines: "run 3 · digits-eps · 16 × 7" and "DDIM · 50 steps · w = 3 · seed 1 · 2.1 s"
/// ("running: step 295 of 1000" while `running`, "stopped at step …" for one that was stopped).
fn row_text(number: u64, record: &RunRecord, running: bool, lang: Lang) -> String {
    let digit = match record.settings.labels.first().copied().flatten() {
        Some(digit) => digit.to_string(),
        None => lang.pick("any digit", "任意数字").to_owned(),
    };
    let ending = match (&record.samples, record.elapsed, record.frames.last()) {
        (Some(_), Some(elapsed), _) => format!("{:.1} s", elapsed.as_secs_f64()),
        (Some(_), None, _) => lang.pick("finished", "已完成").to_owned(),
        (None, _, Some(frame)) => match (lang, running) {
            (Lang::En, true) => format!("running: step {} of {}", frame.step + 1, frame.steps),
            (Lang::Zh, true) => {
                format!("运行中：第 {} 步（共 {} 步）", frame.step + 1, frame.steps)
            }
            (Lang::En, false) => format!("stopped at step {} of {}", frame.step + 1, frame.steps),
            (Lang::Zh, false) => format!("停在第 {} 步（共 {} 步）", frame.step + 1, frame.steps),
        },
        (None, _, None) => lang.pick("not started", "未开始").to_owned(),
    };
    format!(
        "{} · {} · {} × {digit}\n{} · {ending}",
        run_title(number, record, lang),
        record.model,
        record.batch(),
        record.describe_in(lang)
    )
}

fn buttons_ui(view: &mut ReverseView, ui: &mut egui::Ui, lang: Lang) {
    let idle = !view.state.is_running() && !view.is_busy_with_run_file();
    let has_frames = view
        .state
        .record
        .as_ref()
        .is_some_and(|r| !r.frames.is_empty());
    ui.horizontal_wrapped(|ui| {
        if ui
            .add_enabled(
                idle && has_frames,
                egui::Button::new(lang.pick("Save run…", "保存运行…")),
            )
            .on_hover_text(lang.pick(
                "Every recorded step, to open again later (a .dsrun file)",
                "保存每一个记录的步骤，以后可以再打开（.dsrun 文件）",
            ))
            .clicked()
        {
            view.ask(ReverseCommand::SaveRun);
        }
        if ui
            .add_enabled(idle, egui::Button::new(lang.pick("Open run…", "打开运行…")))
            .clicked()
        {
            view.ask(ReverseCommand::OpenRun);
        }
        if ui
            .add_enabled(
                view.state.record.is_some(),
                egui::Button::new(lang.pick("Use its settings", "使用它的设置")),
            )
            .on_hover_text(lang.pick(
                "Set the controls to what the run on screen was made with",
                "把各项设置改为屏幕上这次运行所用的设置",
            ))
            .clicked()
        {
            view.ask(ReverseCommand::UseShownSettings);
        }
    });
    if view.is_busy_with_run_file() {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(lang.pick("Reading or writing the run file…", "正在读写运行文件…"));
        });
    }
}
