//! The coordinates part's run: the transformer makes a digit from noise (DDIM, guidance 3) while
//! the window shows, step by step as they arrive, where the chosen patch looks. The run streams
//! from a background thread through a bounded channel; Stop ends it at the next step; the step
//! slider goes back over the steps seen, and playback shows them again at a pace a class can
//! follow. Every step is kept (at most [`MAX_WATCHED_STEPS`], 154 KB each), so the run exports as
//! a GIF and any step as a PNG (pictures by [`crate::export::attention`], captions here).

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use super::coordinates::{OpenedTransformer, TransformerOpener, open_with_positions};
use crate::clock::attention_run::{AttentionFrame, MAX_WATCHED_STEPS, WatchedRun, watch_run};
use crate::clock::coordinates::PositionMaps;
use crate::export::attention::{PatchAttention, attention_picture, attention_pictures};
use crate::export::{ExportError, GifSettings, Repeat, write_gif, write_png};
use crate::i18n::Lang;
use crate::sample::SampleError;
use crate::ui::message::Message;
use crate::ui::stream::{Emitter, Next, Stream};
use crate::ui::training::Sentences;

/// The guidance scale of a watched run (the one the shipped digits are judged at).
pub const RUN_GUIDANCE: f32 = 3.0;
/// Steps the window may fall behind the run before the run waits for it.
const FRAMES_IN_FLIGHT: usize = 8;
/// Most items taken from the run per window frame, so drawing is never delayed.
const ITEMS_PER_FRAME: usize = 64;
/// How fast a run is played back: steps a second (a 50-step run in 5 s).
pub const PLAYBACK_STEPS_PER_SECOND: f64 = 10.0;

/// What the run's thread hands the window.
pub enum Watched {
    /// The model it opened, with its position maps (kept for the next run).
    Opened(OpenedTransformer),
    /// One step.
    Frame(AttentionFrame),
}

/// The run's end: the digit made, `None` if it was stopped, or why it failed.
type WatchEnd = Result<Option<Vec<f32>>, Sentences>;

/// A run being watched, or watched to its end.
pub struct WatchState {
    stream: Option<Stream<Watched, WatchEnd>>,
    /// The transformer and the run asked for.
    pub run: (String, WatchedRun),
    /// Every step seen so far.
    pub frames: Vec<AttentionFrame>,
    /// How alike the patches' positions are (learned and RoPE), once the model is open.
    pub positions: Option<Arc<PositionMaps>>,
    /// The digit made, once the run finished.
    pub made: Option<Vec<f32>>,
    /// The step shown (an index into `frames`).
    pub shown: usize,
    /// Whether the newest step is shown as it arrives.
    pub follow: bool,
    /// Which run this is, naming its pictures.
    pub number: usize,
    /// While the steps are played back: when playback began, and from which step.
    playing: Option<(Instant, usize)>,
}

impl WatchState {
    /// Starts run `run` of transformer `name` (`opened` if it is open already); a sentence if no
    /// thread could be started.
    pub fn start(
        (name, opened): (&str, Option<OpenedTransformer>),
        run: WatchedRun,
        open: &TransformerOpener,
        (number, wake): (usize, &Arc<dyn Fn() + Send + Sync>),
    ) -> Result<Self, Message> {
        let (open, model_name) = (Arc::clone(open), name.to_owned());
        let stream = Stream::spawn(
            "clock-run",
            Arc::clone(wake),
            FRAMES_IN_FLIGHT,
            move |emit| run_and_stream(opened, &open, &model_name, run, emit),
        )
        .map_err(|error| crate::ui::jobs::job_not_started(&error))?;
        Ok(Self {
            stream: Some(stream),
            run: (name.to_owned(), run),
            frames: Vec::with_capacity(run.steps.min(MAX_WATCHED_STEPS)),
            positions: None,
            made: None,
            shown: 0,
            follow: true,
            number,
            playing: None,
        })
    }

    /// Whether the run goes on.
    pub fn is_running(&self) -> bool {
        self.stream.is_some()
    }

    /// Asks the run to stop at its next step.
    pub fn stop(&self) {
        if let Some(stream) = &self.stream {
            stream.stop();
        }
    }

    /// Takes what the run sent: the model it opened, if any, and a sentence if it failed.
    pub fn poll(&mut self) -> (Option<OpenedTransformer>, Option<Message>) {
        let mut opened = None;
        let Some(stream) = &mut self.stream else {
            return (None, None);
        };
        for _ in 0..ITEMS_PER_FRAME {
            match stream.next() {
                Next::Item(Watched::Opened(model)) => {
                    self.positions = Some(Arc::clone(&model.1));
                    opened = Some(model);
                }
                Next::Item(Watched::Frame(frame)) => {
                    self.frames.push(frame);
                    if self.follow {
                        self.shown = self.frames.len() - 1;
                    }
                }
                Next::Waiting => break,
                Next::Done(end) => {
                    self.stream = None;
                    return match end {
                        Ok(made) => {
                            self.made = made;
                            (opened, None)
                        }
                        Err(sentence) => (opened, Some(super::failure_message(Some(sentence)))),
                    };
                }
                Next::Lost => {
                    self.stream = None;
                    return (opened, Some(super::failure_message(None)));
                }
            }
        }
        (opened, None)
    }

    /// Whether the steps are being played back.
    pub fn is_playing(&self) -> bool {
        self.playing.is_some()
    }

    /// Plays the steps seen from the one shown (from the first, if the last is shown), or pauses.
    pub fn toggle_playback(&mut self, now: Instant) {
        if self.playing.take().is_some() || self.frames.is_empty() {
            return;
        }
        if self.shown + 1 >= self.frames.len() {
            self.shown = 0;
        }
        self.follow = false;
        self.playing = Some((now, self.shown));
    }

    /// Moves playback to `now`: the step [`PLAYBACK_STEPS_PER_SECOND`] brings; playback ends at
    /// the last step seen once the run is over. Whether it goes on.
    pub fn tick(&mut self, now: Instant) -> bool {
        let Some((began, from)) = self.playing else {
            return false;
        };
        let Some(last) = self.frames.len().checked_sub(1) else {
            return false;
        };
        let played = (now.duration_since(began).as_secs_f64() * PLAYBACK_STEPS_PER_SECOND) as usize;
        self.shown = (from + played).min(last);
        if self.shown == last && !self.is_running() {
            self.playing = None;
        }
        self.playing.is_some()
    }

    /// Stops playback (the step shown was chosen by hand).
    pub fn pause(&mut self) {
        self.playing = None;
    }

    /// The step shown, if any.
    pub fn shown_frame(&self) -> Option<&AttentionFrame> {
        self.frames.get(self.shown)
    }
}

/// The run's thread: opens the model if it is not open, sends it, then every step.
fn run_and_stream(
    opened: Option<OpenedTransformer>,
    open: &TransformerOpener,
    name: &str,
    run: WatchedRun,
    emit: &Emitter<Watched>,
) -> WatchEnd {
    let model = match opened {
        Some(model) => model,
        None => open_with_positions(open, name)?,
    };
    if !emit.emit(Watched::Opened(model.clone())) {
        return Ok(None);
    }
    let (net, traits) = (&*model.0.0, &model.0.1);
    let made = watch_run((net, traits), run, &mut |frame| {
        if emit.emit(Watched::Frame(frame)) {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    });
    match made {
        Ok(image) => Ok(Some(image)),
        Err(SampleError::Cancelled { .. }) => Ok(None),
        Err(error) => Err(Sentences::in_both(|l| error.sentence(l))),
    }
}

/// What a file chosen in the Clock view is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockPick {
    /// Where to write the run's attention as a GIF.
    ExportGif,
    /// Where to save the step shown as a PNG.
    SavePng,
}

/// What an exported picture shows: the chosen patch (row by row) and block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttentionChoice {
    /// The patch whose attention is drawn.
    pub patch: usize,
    /// The block (the last one when beyond it).
    pub block: usize,
}

/// One step's caption: "step 12/50 · t = 520 · block 3 · patch (3, 3)".
fn frame_caption(frame: &AttentionFrame, choice: AttentionChoice, lang: Lang) -> String {
    let grid = frame.maps.grid.max(1);
    let (row, column) = (choice.patch / grid, choice.patch % grid);
    let block = choice.block.min(frame.maps.blocks.len().saturating_sub(1));
    let t = frame
        .maps
        .timestep
        .map_or_else(String::new, |t| format!(" · t = {t}"));
    format!(
        "{} {}/{}{t} · {} {block} · {} ({row}, {column})",
        lang.pick("step", "步"),
        frame.step + 1,
        frame.steps,
        lang.pick("block", "模块"),
        lang.pick("patch", "图块"),
    )
}

/// Where the chosen patch looks at one step, as the export draws it.
fn patch_attention(frame: &AttentionFrame, choice: AttentionChoice) -> PatchAttention<'_> {
    let maps = &frame.maps;
    let block = choice.block.min(maps.blocks.len().saturating_sub(1));
    let heads = std::iter::once(None).chain((0..maps.heads).map(Some));
    PatchAttention {
        x_t: &maps.x_t,
        grid: maps.grid,
        patch: choice.patch,
        maps: heads
            .map(|head| maps.of_patch(block, choice.patch, head))
            .collect(),
    }
}

/// One step's caption and its exported picture: where the chosen patch looks, over that caption.
pub fn step_picture(
    frame: &AttentionFrame,
    choice: AttentionChoice,
    lang: Lang,
) -> (String, image::RgbImage) {
    let caption = frame_caption(frame, choice, lang);
    let picture = attention_picture(&patch_attention(frame, choice), &caption);
    (caption, picture)
}

/// Writes the steps `frames` of a run (every one as a GIF, or the `shown` one as a PNG) with
/// the chosen patch and block.
pub fn write_run(
    (frames, shown): (&[AttentionFrame], usize),
    (choice, lang): (AttentionChoice, Lang),
    pick: ClockPick,
    path: &Path,
) -> Result<PathBuf, ExportError> {
    let step = |frame| {
        (
            patch_attention(frame, choice),
            frame_caption(frame, choice, lang),
        )
    };
    match pick {
        ClockPick::ExportGif => {
            let steps: Vec<_> = frames.iter().map(step).collect();
            let settings = GifSettings {
                fps: 8.0,
                repeat: Repeat::Forever,
                hold_last_s: 2.0,
                ..GifSettings::default()
            };
            write_gif(path, &attention_pictures(&steps), &settings, &|_| {})?;
        }
        ClockPick::SavePng => {
            let frame = frames.get(shown).ok_or(ExportError::NoFrames)?;
            write_png(path, &step_picture(frame, choice, lang).1)?;
        }
    }
    Ok(path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::coordinates::AttentionMaps;

    #[test]
    fn captions_name_the_step_t_block_and_patch_and_pictures_hold_mean_then_heads() {
        let frame = AttentionFrame {
            step: 11,
            steps: 50,
            maps: AttentionMaps {
                x_t: vec![0.0; 16],
                timestep: Some(520),
                grid: 2,
                heads: 2,
                blocks: vec![[vec![0.25; 16], [0.0, 0.0, 0.0, 1.0].repeat(4)].concat()],
            },
        };
        let choice = AttentionChoice { patch: 3, block: 7 };
        assert_eq!(
            frame_caption(&frame, choice, Lang::En),
            "step 12/50 · t = 520 · block 0 · patch (1, 1)"
        );
        assert!(frame_caption(&frame, choice, Lang::Zh).contains("图块 (1, 1)"));
        let attention = patch_attention(&frame, choice);
        assert_eq!(attention.maps.len(), 3, "the mean, then two heads");
        assert_eq!(attention.maps[0], [0.125, 0.125, 0.125, 0.625]);
        assert_eq!(attention.maps[2], [0.0, 0.0, 0.0, 1.0]);
    }
}
