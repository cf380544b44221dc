//! The Clock view's second part, the coordinates (for the digit transformer): the noisy digit cut
//! into its 7×7 patches, a patch chosen by a click; where that patch looks in a chosen block (the
//! heads' mean and each head); and how alike its position encoding is to every other patch's
//! (learned vectors, 2D RoPE, or none). One forward pass per (model, digit, noise, t), on a
//! background job; the model is opened once and kept.

use std::collections::BTreeMap;
use std::sync::Arc;

use eframe::egui::{
    self, Color32, ColorImage, RichText, Sense, Stroke, StrokeKind, TextureHandle, TextureOptions,
    Vec2,
};

use super::watch::{RUN_GUIDANCE, WatchState};
use super::{ClockSettings, TOLD_MODEL, failure_message};
use crate::clock::HeatMap;
use crate::clock::attention_run::WatchedRun;
use crate::clock::coordinates::{
    AttentionMaps, PositionMaps, Transformer, attention_maps, open_transformer, position_maps,
};
use crate::data::mnist::{Digits, load_bundled_digits};
use crate::i18n::Lang;
use crate::model::Positions;
use crate::sample::colormap::{DIVERGING_RANGE, attention_colour, diverging};
use crate::sample::grid::to_grey;
use crate::train::one_step::StepChoice;
use crate::ui::jobs::{Job, Poll};
use crate::ui::message::Message;
use crate::ui::training::Sentences;

/// Opens a digit transformer by name (the real checkpoints, or a small random one in tests).
pub type TransformerOpener = Arc<dyn Fn(&str) -> Result<Transformer, Sentences> + Send + Sync>;

/// The shipped transformers, through candle on the CPU.
pub fn candle_transformer_opener() -> TransformerOpener {
    Arc::new(|name: &str| open_transformer(name).map_err(|(en, zh)| Sentences::new(en, zh)))
}

/// The side of the noisy digit and of the maps on screen, in points.
const SIDE: f32 = 224.0;
/// The side of one head's map, in points.
const HEAD_SIDE: f32 = 104.0;
const CHOSEN: Stroke = Stroke {
    width: 3.0,
    color: Color32::from_rgb(255, 200, 0),
};

/// (model, digit, noise seed, t): what one forward pass shows.
type Key = (String, usize, u64, usize);

/// What one forward pass found: every block's attention and the position similarities.
#[derive(Clone, Debug)]
pub struct Coordinates {
    /// Every block's attention for the noisy digit.
    pub maps: AttentionMaps,
    /// How alike the patches' positions are, learned and RoPE side by side.
    pub positions: Arc<PositionMaps>,
}

/// A transformer the view opened, with its position maps (made once).
pub type OpenedTransformer = (Transformer, Arc<PositionMaps>);

/// Opens transformer `name` with `open` and makes its position maps, borrowing the learned table
/// of the shipped learned transformer ([`TOLD_MODEL`]) when it has none of its own.
pub fn open_with_positions(
    open: &TransformerOpener,
    name: &str,
) -> Result<OpenedTransformer, Sentences> {
    let model = open(name)?;
    let positions = position_maps(&model.0, || open(TOLD_MODEL).ok().map(|(net, _)| net))
        .map_err(|e| Sentences::new(e.to_string(), e.to_string()))?;
    Ok((model, Arc::new(positions)))
}

struct Answer {
    model: Option<OpenedTransformer>,
    digits: Option<Arc<Digits>>,
    found: Result<Coordinates, Sentences>,
}

/// The coordinates part's state: opened models, the job, what it found.
pub struct CoordinatesState {
    opener: TransformerOpener,
    models: BTreeMap<String, OpenedTransformer>,
    digits: Option<Arc<Digits>>,
    job: Option<(Job<Answer>, Key)>,
    failed: Option<Key>,
    /// What the last forward pass found, and for what.
    pub shown: Option<(Key, Coordinates)>,
    /// How many forward passes have been shown, naming the textures made for the last.
    generation: usize,
    textures: Option<(TextureKey, PatchTextures)>,
    /// The run watched step by step, if one was started.
    pub watch: Option<WatchState>,
    /// How many runs were started, naming each run's pictures.
    runs: usize,
}

/// What a set of textures shows: (a run's number, or 0 for the single pass; the forward pass
/// or step; the patch; the block).
type TextureKey = (usize, usize, usize, usize);

/// The coordinates part's pictures for one (forward pass, patch, block).
#[derive(Clone)]
pub struct PatchTextures {
    noisy: TextureHandle,
    mean: TextureHandle,
    heads: Vec<TextureHandle>,
    /// Learned and RoPE.
    positions: [Option<TextureHandle>; 2],
}

impl CoordinatesState {
    /// A state that opens transformers with `opener`.
    pub fn new(opener: TransformerOpener) -> Self {
        Self {
            opener,
            models: BTreeMap::new(),
            digits: None,
            job: None,
            failed: None,
            shown: None,
            generation: 0,
            textures: None,
            watch: None,
            runs: 0,
        }
    }

    /// The maps shown: the step of the watched run, or the single forward pass; with their
    /// position similarities and what names their pictures (without patch and block).
    fn shown_maps(
        &self,
        settings: &ClockSettings,
    ) -> Option<((usize, usize), &AttentionMaps, Option<&PositionMaps>)> {
        if settings.watch {
            let watch = self.watch.as_ref()?;
            let frame = watch.shown_frame()?;
            let key = (watch.number, watch.shown);
            return Some((key, &frame.maps, watch.positions.as_deref()));
        }
        let (_, found) = self.shown.as_ref()?;
        Some(((0, self.generation), &found.maps, Some(&*found.positions)))
    }

    /// Starts the run `settings` ask for, stopping one going on; a sentence if it cannot start.
    pub fn start_run(
        &mut self,
        settings: &ClockSettings,
        wake: &Arc<dyn Fn() + Send + Sync>,
    ) -> Option<Message> {
        if let Some(watch) = &self.watch {
            watch.stop();
        }
        self.runs += 1;
        let name = settings.transformer.as_str();
        let opened = self.models.get(name).cloned();
        let run = WatchedRun {
            class: settings.run_class,
            seed: settings.noise_seed,
            steps: settings.run_steps,
            guidance: RUN_GUIDANCE,
        };
        match WatchState::start((name, opened), run, &self.opener, (self.runs, wake)) {
            Ok(watch) => {
                self.watch = Some(watch);
                None
            }
            Err(message) => Some(message),
        }
    }

    /// Takes what the watched run sent; a sentence if it failed.
    fn poll_run(&mut self) -> Option<Message> {
        let watch = self.watch.as_mut()?;
        let (opened, message) = watch.poll();
        if let Some(model) = opened {
            self.models.insert(watch.run.0.clone(), model);
        }
        message
    }

    /// The pictures of the chosen patch and block, made when they change; `None` until a forward
    /// pass is shown.
    fn textures(&mut self, ctx: &egui::Context, settings: &ClockSettings) -> Option<PatchTextures> {
        let ((source, step), maps, positions) = self.shown_maps(settings)?;
        let key = (source, step, settings.patch, settings.block);
        if let Some((made, textures)) = &self.textures
            && *made == key
        {
            return Some(textures.clone());
        }
        let grid = maps.grid.max(1);
        let (attention, positions) = patch_colours((maps, positions), settings);
        let map = |name: &str, colours: &[[u8; 3]]| texture(ctx, name, [grid, grid], colours);
        let side = (maps.x_t.len() as f64).sqrt() as usize;
        let grey: Colours = maps.x_t.iter().map(|&v| [to_grey(v); 3]).collect();
        let textures = PatchTextures {
            noisy: texture(ctx, "clock-noisy-digit", [side, side], &grey),
            mean: map("clock-attention-mean", &attention[0]),
            heads: attention[1..]
                .iter()
                .enumerate()
                .map(|(head, colours)| map(&format!("clock-attention-{head}"), colours))
                .collect(),
            positions: {
                let [learned, rope] = positions;
                [
                    learned.map(|colours| map("clock-positions-learned", &colours)),
                    rope.map(|colours| map("clock-positions-rope", &colours)),
                ]
            },
        };
        self.textures = Some((key, textures.clone()));
        Some(textures)
    }

    /// Whether a forward pass or a run is going on.
    pub fn is_busy(&self) -> bool {
        self.job.is_some() || self.watch.as_ref().is_some_and(WatchState::is_running)
    }

    /// What the chosen patch's panels show now, if found.
    pub fn found(&self) -> Option<&Coordinates> {
        self.shown.as_ref().map(|(_, found)| found)
    }

    /// Starts the forward pass `settings` ask for, unless it is shown, running or failed; a
    /// sentence if no thread could be started.
    pub fn want(
        &mut self,
        settings: &ClockSettings,
        wake: &Arc<dyn Fn() + Send + Sync>,
    ) -> Option<Message> {
        let key = (
            settings.transformer.clone(),
            settings.digit,
            settings.noise_seed,
            settings.timestep(),
        );
        if self.job.is_some()
            || self.shown.as_ref().map(|(k, _)| k) == Some(&key)
            || self.failed.as_ref() == Some(&key)
        {
            return None;
        }
        let choice = StepChoice {
            digit: settings.digit,
            fraction: settings.fraction,
            noise_seed: settings.noise_seed,
        };
        let opened = self.models.get(&key.0).cloned();
        let (digits, open, name) = (self.digits.clone(), Arc::clone(&self.opener), key.0.clone());
        match Job::spawn("clock-coordinates", Arc::clone(wake), move |_| {
            look(opened, digits, &open, &name, choice)
        }) {
            Ok(job) => {
                self.job = Some((job, key));
                None
            }
            Err(error) => {
                self.failed = Some(key);
                Some(crate::ui::jobs::job_not_started(&error))
            }
        }
    }

    /// Collects a finished forward pass and what the run sent; a sentence if either failed.
    pub fn poll(&mut self) -> Option<Message> {
        let run = self.poll_run();
        self.poll_pass().or(run)
    }

    /// Collects a finished forward pass; a sentence if it failed.
    fn poll_pass(&mut self) -> Option<Message> {
        let (job, key) = self.job.take()?;
        match job.poll() {
            Poll::Running => {
                self.job = Some((job, key));
                None
            }
            Poll::Done(answer) => {
                if let Some(model) = answer.model {
                    self.models.insert(key.0.clone(), model);
                }
                self.digits = answer.digits.or(self.digits.take());
                match answer.found {
                    Ok(found) => {
                        self.shown = Some((key, found));
                        self.generation += 1;
                        None
                    }
                    Err(sentence) => {
                        self.failed = Some(key);
                        Some(failure_message(Some(sentence)))
                    }
                }
            }
            Poll::Lost => {
                self.failed = Some(key);
                Some(failure_message(None))
            }
        }
    }
}

/// The job: opens what is not open, then one forward pass keeping the attention.
fn look(
    opened: Option<OpenedTransformer>,
    digits: Option<Arc<Digits>>,
    open: &TransformerOpener,
    name: &str,
    choice: StepChoice,
) -> Answer {
    let mut answer = Answer {
        model: None,
        digits: None,
        found: Err(Sentences::new("", "")),
    };
    let model = match opened {
        Some(model) => model,
        None => match open_with_positions(open, name) {
            Ok(model) => {
                answer.model = Some(model.clone());
                model
            }
            Err(sentence) => {
                answer.found = Err(sentence);
                return answer;
            }
        },
    };
    let digits = match digits {
        Some(digits) => digits,
        None => match load_bundled_digits() {
            Ok(digits) => {
                let digits = Arc::new(digits);
                answer.digits = Some(Arc::clone(&digits));
                digits
            }
            Err(error) => {
                answer.found = Err(Sentences::in_both(|l| error.sentence(l)));
                return answer;
            }
        },
    };
    let ((net, traits), positions) = ((&*model.0.0, &model.0.1), &model.1);
    answer.found = attention_maps((net, traits), &digits, choice)
        .map_err(|e| Sentences::in_both(|l| e.sentence(l)))
        .map(|maps| Coordinates {
            maps,
            positions: Arc::clone(positions),
        });
    answer
}

/// `colours` (row by row) as a texture of `size` (width, height).
fn texture(
    ctx: &egui::Context,
    name: &str,
    size: [usize; 2],
    colours: &[[u8; 3]],
) -> TextureHandle {
    let pixels: Vec<u8> = colours.iter().flatten().copied().collect();
    ctx.load_texture(
        name,
        ColorImage::from_rgb(size, &pixels),
        TextureOptions::NEAREST,
    )
}

/// One colour per patch of a map, row by row.
pub type Colours = Vec<[u8; 3]>;

/// The chosen patch's attention (mean and per head) and position similarities (learned, RoPE),
/// as colours.
pub fn patch_colours(
    (maps, positions): (&AttentionMaps, Option<&PositionMaps>),
    settings: &ClockSettings,
) -> (Vec<Colours>, [Option<Colours>; 2]) {
    let block = settings.block.min(maps.blocks.len().saturating_sub(1));
    let patch = settings.patch.min(maps.grid * maps.grid - 1);
    let heads = std::iter::once(None).chain((0..maps.heads).map(Some));
    let attention = heads
        .map(|head| {
            let row = maps.of_patch(block, patch, head);
            let largest = row.iter().copied().fold(0.0, f32::max);
            row.iter().map(|&w| attention_colour(w, largest)).collect()
        })
        .collect();
    let row = |table: &HeatMap| -> Colours {
        let n = table.columns;
        table.values[(patch * n).min(table.values.len())..]
            .iter()
            .take(n)
            .map(|&s| diverging(s * DIVERGING_RANGE))
            .collect()
    };
    let learned = positions.and_then(|p| p.learned.as_ref()).map(row);
    let rope = positions.map(|p| row(&p.rope));
    (attention, [learned, rope])
}

/// Draws the coordinates part; a click on the noisy digit chooses a patch.
pub fn coordinates_ui(
    state: &mut CoordinatesState,
    settings: &mut ClockSettings,
    ui: &mut egui::Ui,
    lang: Lang,
) {
    let textures = state.textures(ui.ctx(), settings);
    let (Some((_, maps, positions)), Some(textures)) = (state.shown_maps(settings), textures)
    else {
        ui.add_space(30.0);
        let waiting = if settings.watch && state.watch.is_none() {
            lang.pick(
                "Press Make a digit: the transformer makes one from noise, and you watch where each patch looks at every step.",
                "点击“生成一个数字”：Transformer 从噪声生成一个数字，你可以看到每一步每个图块看向哪里。",
            )
        } else {
            lang.pick("Running the transformer…", "正在运行 Transformer……")
        };
        ui.label(RichText::new(waiting).size(18.0));
        return;
    };
    let grid = maps.grid.max(1);
    let own = positions.map(|p| p.own);
    let (row, column) = (settings.patch / grid, settings.patch % grid);
    let watched = state.watch.as_ref().filter(|_| settings.watch);
    let step = watched
        .and_then(|watch| Some((&watch.run.0, watch.shown_frame()?)))
        .map(|(model, frame)| {
            let (step, steps) = (frame.step + 1, frame.steps);
            format!("{model} · {} {step}/{steps} · ", lang.pick("step", "步"))
        })
        .unwrap_or_default();
    ui.heading(format!(
        "{step}{} ({row}, {column}) · {} {} · t = {}",
        lang.pick("Where patch", "图块"),
        lang.pick("block", "模块"),
        settings.block.min(maps.blocks.len().saturating_sub(1)),
        maps.timestep.unwrap_or_default(),
    ));
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.label(
                RichText::new(lang.pick(
                    "x_t in 7 × 7 patches (click one)",
                    "x_t 切成 7 × 7 个图块（点一个）",
                ))
                .strong(),
            );
            if let Some(patch) = noisy_digit_ui(ui, &textures.noisy, grid, settings.patch) {
                settings.patch = patch;
            }
        });
        ui.vertical(|ui| {
            ui.label(
                RichText::new(lang.pick("looks: the heads' mean", "看向哪里：各头的平均")).strong(),
            );
            outlined(ui, &textures.mean, SIDE, (settings.patch, grid));
        });
    });
    ui.label(RichText::new(lang.pick("each head", "每个头")).strong());
    ui.horizontal(|ui| {
        for texture in &textures.heads {
            outlined(ui, texture, HEAD_SIDE, (settings.patch, grid));
        }
    });
    ui.add_space(12.0);
    ui.heading(lang.pick(
        "How alike its position is to every other",
        "它的位置编码与其他图块有多相似",
    ));
    positions_ui(ui, &textures, own, (settings.patch, grid), lang);
}

/// Learned and RoPE position similarities of the chosen patch side by side, the model's own kind
/// named (or said to be missing).
fn positions_ui(
    ui: &mut egui::Ui,
    textures: &PatchTextures,
    own: Option<Positions>,
    chosen: (usize, usize),
    lang: Lang,
) {
    if own == Some(Positions::None) {
        ui.label(RichText::new(lang.pick(
            "This model has no positions: every patch is the same to it wherever it is, so it cannot place strokes. What the other two kinds give:",
            "这个模型没有位置编码：无论图块在哪里，对它都一样，所以它无法摆放笔画。另外两种位置编码是这样的：",
        )).size(16.0));
    }
    let kinds = [
        (Positions::Learned, lang.pick("learned", "可学习的")),
        (Positions::Rope, lang.pick("2D RoPE", "二维 RoPE")),
    ];
    ui.horizontal_top(|ui| {
        for ((kind, name), texture) in kinds.into_iter().zip(&textures.positions) {
            ui.vertical(|ui| {
                let whose = if own == Some(kind) {
                    lang.pick("this model's", "本模型的")
                } else if kind == Positions::Learned {
                    TOLD_MODEL
                } else {
                    lang.pick("the formula", "公式")
                };
                ui.label(RichText::new(format!("{name} · {whose}")).strong());
                match texture {
                    Some(texture) => outlined(ui, texture, SIDE, chosen),
                    None => {
                        ui.label(lang.pick("(could not be opened)", "（无法打开）"));
                    }
                }
            });
            ui.add_space(16.0);
        }
    });
}

/// A map with the chosen patch outlined.
fn outlined(ui: &mut egui::Ui, texture: &TextureHandle, side: f32, (patch, grid): (usize, usize)) {
    let rect = ui
        .add(egui::Image::new(texture).fit_to_exact_size(Vec2::splat(side)))
        .rect;
    let cell = side / grid as f32;
    let corner = rect.min + Vec2::new((patch % grid) as f32 * cell, (patch / grid) as f32 * cell);
    ui.painter().rect_stroke(
        egui::Rect::from_min_size(corner, Vec2::splat(cell)),
        0.0,
        CHOSEN,
        StrokeKind::Inside,
    );
}

/// The noisy digit with the patch grid over it and `chosen` outlined; the patch clicked, if any.
fn noisy_digit_ui(
    ui: &mut egui::Ui,
    texture: &TextureHandle,
    grid: usize,
    chosen: usize,
) -> Option<usize> {
    let response = ui.add(
        egui::Image::new(texture)
            .fit_to_exact_size(Vec2::splat(SIDE))
            .sense(Sense::click()),
    );
    let cell = SIDE / grid as f32;
    let painter = ui.painter();
    let line = Stroke::new(1.5, Color32::from_rgb(86, 180, 233));
    for i in 1..grid {
        let offset = i as f32 * cell;
        painter.vline(response.rect.left() + offset, response.rect.y_range(), line);
        painter.hline(response.rect.x_range(), response.rect.top() + offset, line);
    }
    let corner =
        response.rect.min + Vec2::new((chosen % grid) as f32 * cell, (chosen / grid) as f32 * cell);
    painter.rect_stroke(
        egui::Rect::from_min_size(corner, Vec2::splat(cell)),
        0.0,
        CHOSEN,
        StrokeKind::Inside,
    );
    let pos = response
        .interact_pointer_pos()
        .filter(|_| response.clicked())?;
    let local = (pos - response.rect.min) / cell;
    let (column, row) = (
        (local.x as usize).min(grid - 1),
        (local.y as usize).min(grid - 1),
    );
    Some(row * grid + column)
}
