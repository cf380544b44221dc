//! Drawing the Evaluate view: the choices and Measure (left), FID and agreement against network
//! calls with the real-vs-real floor, and the table of every point (centre), what each measure
//! means (right).

use eframe::egui::{self, Key, Modifiers, RichText};

use super::{EvaluateCommand, EvaluateView, STEP_CHOICES};
use crate::diffusion::samplers::SamplerKind;
use crate::export::chart::means;
use crate::export::figure::{Curve, Figure, LegendCorner, Mark};
use crate::i18n::Lang;
use crate::model::shipped::SHIPPED_MODELS;
use crate::quality::report::QualityReport;
use crate::sample::colormap::OKABE_ITO;
use crate::ui::figure_plot::figure_plot_ui;
use crate::ui::message::message_ui;
use crate::ui::presentation::view_panels;
use crate::ui::tour;

/// Draws the whole view.
pub fn evaluate_ui(view: &mut EvaluateView, ui: &mut egui::Ui, lang: Lang) {
    if !ui.ctx().egui_wants_keyboard_input() {
        let pressed = |key| ui.input_mut(|i| i.consume_key(Modifiers::NONE, key));
        if pressed(Key::M) || pressed(Key::Enter) {
            view.ask(EvaluateCommand::Measure);
        }
        if pressed(Key::Escape) {
            view.ask(EvaluateCommand::Cancel);
        }
    }
    view_panels(
        ui,
        ("evaluate", 290.0),
        view,
        |view, ui| controls_ui(view, ui, lang),
        |ui| {
            ui.add_space(6.0);
            ui.heading(lang.pick("What do the numbers say?", "这些数字说明什么？"));
            egui::ScrollArea::vertical().show(ui, |ui| {
                ui.label(RichText::new(lang.pick(EXPLANATION_EN, EXPLANATION_ZH)).size(15.0));
            });
        },
        |view, ui| {
            message_ui(ui, lang, &mut view.message);
            egui::ScrollArea::both().show(ui, |ui| results_ui(view, ui, lang));
        },
    );
}

fn controls_ui(view: &mut EvaluateView, ui: &mut egui::Ui, lang: Lang) {
    ui.add_space(6.0);
    ui.heading(lang.pick("The measurement", "评估设置"));
    let settings = &mut view.settings;
    let label = ui.label(RichText::new(lang.pick("Model", "模型")).strong());
    egui::ComboBox::from_id_salt("evaluate-model")
        .selected_text(settings.model.clone())
        .show_ui(ui, |ui| {
            for model in SHIPPED_MODELS.iter().filter(|m| m.kind.is_diffusion()) {
                ui.selectable_value(
                    &mut settings.model,
                    model.name.to_owned(),
                    model.label(lang),
                );
            }
        })
        .response
        .labelled_by(label.id);
    ui.label(RichText::new(lang.pick("Samplers", "采样器")).strong());
    ui.horizontal_wrapped(|ui| {
        for kind in SamplerKind::ALL {
            let name = kind.cli_name().to_owned();
            let mut on = settings.samplers.contains(&name);
            if ui.checkbox(&mut on, kind.display_name()).changed() {
                settings.samplers.retain(|s| *s != name);
                if on {
                    settings.samplers.push(name);
                }
            }
        }
    });
    ui.label(RichText::new(lang.pick("Steps", "步数")).strong());
    ui.horizontal_wrapped(|ui| {
        for steps in STEP_CHOICES {
            let mut on = settings.steps.contains(&steps);
            if ui.checkbox(&mut on, steps.to_string()).changed() {
                settings.steps.retain(|&s| s != steps);
                if on {
                    settings.steps.push(steps);
                    settings.steps.sort_unstable();
                }
            }
        }
    });
    let label = ui.label(RichText::new(lang.pick("Samples per point", "每个点的样本数")).strong());
    ui.horizontal(|ui| {
        for samples in [50, 100, 300, 500] {
            ui.selectable_value(&mut settings.samples, samples, samples.to_string());
        }
    })
    .response
    .labelled_by(label.id);
    let label = ui.label(lang.pick(
        "Guidance w (0: no digit asked)",
        "引导强度 w（0：不指定数字）",
    ));
    ui.add(egui::Slider::new(&mut settings.guidance, 0.0..=10.0).step_by(0.5))
        .labelled_by(label.id);
    ui.horizontal(|ui| {
        let label = ui.label(lang.pick("Seed", "种子"));
        ui.add(egui::DragValue::new(&mut settings.seed))
            .labelled_by(label.id);
        let label = ui.label(lang.pick("Seeds", "种子数"));
        ui.add(egui::DragValue::new(&mut settings.repeats).range(1..=5))
            .labelled_by(label.id);
    });
    ui.add_space(8.0);
    measure_buttons_ui(view, ui, lang);
}

/// Measure or Cancel, and the progress of a measurement.
fn measure_buttons_ui(view: &mut EvaluateView, ui: &mut egui::Ui, lang: Lang) {
    match view.progress() {
        None => {
            let text = RichText::new(lang.pick("Measure (M)", "开始评估 (M)")).size(18.0);
            let measure = ui.button(text);
            tour::mark(ui, "evaluate.measure", &measure);
            if measure.clicked() {
                view.ask(EvaluateCommand::Measure);
            }
            ui.label(
                RichText::new(lang.pick(
                    "The first measurement also reads the 10,000 real digits (a few seconds).",
                    "第一次评估还会读取 10,000 个真实数字（需要几秒钟）。",
                ))
                .small(),
            );
        }
        Some((done, total)) => {
            ui.add(
                egui::ProgressBar::new(done as f32 / total as f32)
                    .text(format!("{done} / {total}")),
            );
            if ui.button(lang.pick("Cancel (Esc)", "取消 (Esc)")).clicked() {
                view.ask(EvaluateCommand::Cancel);
            }
        }
    }
}

/// The charts and the table of the points of the current settings that are measured.
fn results_ui(view: &EvaluateView, ui: &mut egui::Ui, lang: Lang) {
    let floor = view.floors.get(&view.settings.samples);
    let points = view.settings.points();
    if points
        .iter()
        .all(|(kind, spec)| view.result(*kind, spec).is_none())
    {
        ui.add_space(40.0);
        ui.label(RichText::new(lang.pick(
            "Choose samplers and step counts, then Measure: each point makes that many digits and compares them with real ones.",
            "选择采样器和步数，然后点击“开始评估”：每个点都会生成相应数量的数字，并与真实数字比较。",
        )).size(18.0));
        return;
    }
    let figures = quality_figures(view, lang);
    ui.columns(2, |columns| {
        for (index, (column, figure)) in columns.iter_mut().zip(&figures).enumerate() {
            figure_plot_ui(column, (figure, index), 240.0, lang, |_| {});
        }
    });
    table_ui(view, ui, floor, lang);
}

/// FID and agreement against network calls, as the view draws them and exports them: a dot per
/// seed and a line through their mean for each sampler, the real digits' floor across.
pub fn quality_figures(view: &EvaluateView, lang: Lang) -> [Figure; 2] {
    let floor = view.floors.get(&view.settings.samples);
    let points = view.settings.points();
    let curves = |metric: fn(&QualityReport) -> Option<f64>| -> Vec<Curve> {
        let mut curves = Vec::new();
        for (index, kind) in view.settings.sampler_kinds().into_iter().enumerate() {
            let seeds: Vec<(f64, f64)> = points
                .iter()
                .filter(|(k, _)| *k == kind)
                .filter_map(|(k, spec)| view.result(*k, spec))
                .filter_map(|r| Some((r.network_calls.max(1) as f64, metric(&r.report)?)))
                .collect();
            if seeds.is_empty() {
                continue;
            }
            let colour = OKABE_ITO[index % OKABE_ITO.len()];
            let name = kind.display_name().to_owned();
            curves.push(Curve {
                name,
                points: means(&seeds),
                colour,
                mark: Mark::Line,
            });
            // The dots go unnamed: the legend names the line once.
            curves.push(Curve {
                name: String::new(),
                points: seeds,
                colour,
                mark: Mark::Points,
            });
        }
        curves
    };
    let floor_name = lang
        .pick("real digits (floor)", "真实数字（下限）")
        .to_owned();
    let figure = |title: &str, curves, floor: Option<f64>| Figure {
        title: title.to_owned(),
        x_label: lang
            .pick("network calls (log scale)", "网络调用次数（对数刻度）")
            .to_owned(),
        log_x: true,
        log_y: false,
        curves,
        reference: floor.map(|y| (floor_name.clone(), y)),
        legend: LegendCorner::BottomRight,
    };
    [
        figure(
            lang.pick("FID (lower is better)", "FID（越低越好）"),
            curves(|r| Some(r.fid)),
            floor.map(|f| f.fid),
        ),
        figure(
            lang.pick("Agreement with the asked digit", "与所要求数字的一致率"),
            curves(|r| r.classes.agreement),
            floor.and_then(|f| f.classes.agreement),
        ),
    ]
}

/// Every measured point of the settings, and the floor, as a table.
fn table_ui(view: &EvaluateView, ui: &mut egui::Ui, floor: Option<&QualityReport>, lang: Lang) {
    ui.add_space(8.0);
    let row = |ui: &mut egui::Ui, cells: [String; 3], r: &QualityReport| {
        for cell in cells {
            ui.label(cell);
        }
        for value in [r.fid, r.kid, r.precision, r.recall] {
            ui.label(format!("{value:.3}"));
        }
        ui.label(
            r.classes
                .agreement
                .map_or_else(|| "–".into(), |a| format!("{a:.3}")),
        );
        ui.label(format!("{:.2}", r.classes.entropy_bits()));
        ui.label(
            r.share_gap
                .map_or_else(|| "–".into(), |g| format!("{g:.3}")),
        );
        ui.label(format!("{:.1} %", 100.0 * r.border_share));
        ui.end_row();
    };
    egui::Grid::new("evaluate-table")
        .striped(true)
        .show(ui, |ui| {
            for heading in [
                lang.pick("sampler", "采样器"),
                lang.pick("steps", "步数"),
                "NFE",
                "FID",
                "KID",
                lang.pick("precision", "精确率"),
                lang.pick("recall", "召回率"),
                lang.pick("agreement", "一致率"),
                lang.pick("entropy (bits)", "熵（比特）"),
                lang.pick("class gap", "类别偏差"),
                lang.pick("lit border", "边缘亮点"),
            ] {
                ui.label(RichText::new(heading).strong());
            }
            ui.end_row();
            if let Some(floor) = floor {
                row(
                    ui,
                    [
                        lang.pick("real digits", "真实数字").to_owned(),
                        "–".into(),
                        "–".into(),
                    ],
                    floor,
                );
            }
            for (kind, spec) in view.settings.points() {
                if let Some(result) = view.result(kind, &spec) {
                    let cells = [
                        kind.display_name().to_owned(),
                        spec.sampler.steps.to_string(),
                        result.network_calls.to_string(),
                    ];
                    row(ui, cells, &result.report);
                }
            }
        });
}

const EXPLANATION_EN: &str = "Every measure compares the digits made with real ones through the digit classifier's eyes: its last hidden layer (128 numbers per picture) plays the part the Inception network plays for photographs.\n\n\
FID fits a bell curve (mean and spread) to each set and measures how far apart they are. It needs many samples: with a few hundred it is biased upwards, so read it beside the floor, two sets of real digits measured the same way. The dots are seeds; their spread is how much to trust a difference.\n\n\
KID compares the sets without the bias (about 0 for real digits), but it is noisy on few samples.\n\n\
Precision: the share of generated digits that look like some real digit. Recall: the share of real digits the model's digits come near. Strong guidance raises precision and lowers recall: every 7 becomes the same tidy 7.\n\n\
Agreement: how often the classifier reads the digit that was asked for (our stand-in for CLIPScore: does the picture match the prompt?). Entropy: how evenly the digits read spread over 0–9 (3.32 bits when all ten are equally common). Class gap (digits drawn without a class, w = 0): the largest difference between a digit's share and its share in the real data.\n\n\
Lit border: the share of pixels in a 3-pixel ring along each picture's edge brighter than 0.1. Real digits leave that margin empty (about 0.5 %); speckle over the background shows here first.";

const EXPLANATION_ZH: &str = "每个指标都借数字分类器的“眼睛”来比较生成的数字和真实数字：它最后一个隐藏层（每张图 128 个数）起到 Inception 网络在照片上的作用。\n\n\
FID 给每组数字拟合一个钟形分布（均值和离散程度），再衡量两者相距多远。它需要很多样本：只有几百个时它偏高，所以要和下限一起看——下限是用同样方法比较两组真实数字的结果。图中的点是不同的种子，它们的离散程度说明差别有多可信。\n\n\
KID 比较两组数字时没有这种偏差（真实数字约为 0），但样本少时波动大。\n\n\
精确率：生成的数字中像某个真实数字的比例。召回率：真实数字中被模型的数字覆盖到的比例。强引导会提高精确率、降低召回率：每个 7 都变成同一个工整的 7。\n\n\
一致率：分类器读出的数字就是所要求数字的比例（相当于 CLIPScore：图像是否符合提示？）。熵：读出的数字在 0–9 上分布得多均匀（十个数字一样多时为 3.32 比特）。类别偏差（不指定类别、w = 0 时）：某个数字所占比例与真实数据中比例的最大差值。\n\n\
边缘亮点：每张图边缘 3 像素宽的一圈中亮度超过 0.1 的像素比例。真实数字的边缘是空的（约 0.5 %）；背景上的噪点最先在这里显现。";
