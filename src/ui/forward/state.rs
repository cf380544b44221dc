//! The Forward view's state and the computations behind what it shows, kept free of egui so that it
//! can be read and tested on its own: the picture, the schedule, the noise, the current t, and the
//! x_t image (with its histogram) for the current settings.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::chain::ChainWalk;
use crate::data::Picture;
use crate::data::bundled::BundledPhoto;
use crate::data::load::LoadedPicture;
use crate::data::picture::values_to_rgb8;
use crate::diffusion::forward::{Noising, jump_to};
use crate::diffusion::noise::{NoiseStream, standard_normal};
use crate::diffusion::stats::Histogram;
use crate::diffusion::{NoiseSchedule, ScheduleConfig};

/// Seconds a full sweep from t = 0 to T takes when playing at speed 1.
pub const SWEEP_SECS: f64 = 8.0;

/// The replay speeds offered, as multiples of one sweep in [`SWEEP_SECS`].
pub const PLAY_SPEEDS: [f32; 5] = [0.25, 0.5, 1.0, 2.0, 4.0];

/// The Forward view's choices that persist between sessions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ForwardSettings {
    /// The noise schedule.
    pub schedule: ScheduleConfig,
    /// Closed-form jump or step-by-step chain.
    pub noising: Noising,
    /// Seed of the noise.
    pub seed: u64,
    /// The bundled photo shown at start.
    pub photo: BundledPhoto,
    /// Choices of the GIF export dialog.
    pub export: GifExportSettings,
    /// Replay speed: 1 plays a sweep in [`SWEEP_SECS`], 2 in half that.
    pub play_speed: f32,
    /// Whether the plots also draw the other schedule shapes (faintly, same T) for comparison.
    pub compare_schedules: bool,
}

impl Default for ForwardSettings {
    fn default() -> Self {
        Self {
            schedule: ScheduleConfig::default(),
            noising: Noising::Jump,
            seed: 0,
            photo: BundledPhoto::Cat,
            export: GifExportSettings::default(),
            play_speed: 1.0,
            compare_schedules: true,
        }
    }
}

impl ForwardSettings {
    /// Seconds one sweep from 0 to T takes at the chosen speed (a nonsense speed plays at 1).
    pub fn sweep_secs(&self) -> f64 {
        let speed = f64::from(self.play_speed);
        if speed.is_finite() && speed > 0.0 {
            SWEEP_SECS / speed
        } else {
            SWEEP_SECS
        }
    }
}

/// Where playing started, so that t follows the wall clock whatever the frame rate.
#[derive(Clone, Copy, Debug, PartialEq)]
struct PlayAnchor {
    /// The clock reading (seconds) when playing started or was last re-anchored.
    started_at: f64,
    /// t at that moment.
    t_start: usize,
    /// The t the clock last set; a different t means the user moved it, so the anchor moves too.
    t_shown: usize,
    /// Seconds per sweep the anchor was set with; a new speed re-anchors.
    sweep_secs: f64,
}

/// Choices of the GIF export dialog.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GifExportSettings {
    /// Number of frames, t evenly spaced from 0 to T.
    pub frames: usize,
    /// Frames per second.
    pub fps: f32,
    /// Frame width in pixels (the height keeps the aspect); 0 means the picture's own width.
    pub width: usize,
    /// `None` loops for ever; `Some(n)` plays once and repeats n more times.
    pub repeats: Option<u16>,
    /// Whether the GIF must fit in [`Self::max_mb`] (then fewer frames or a smaller width are
    /// chosen as needed).
    pub limit_size: bool,
    /// The size limit in megabytes (millions of bytes).
    pub max_mb: f32,
}

impl Default for GifExportSettings {
    fn default() -> Self {
        Self {
            frames: 60,
            fps: 12.0,
            width: 0,
            repeats: None,
            limit_size: false,
            max_mb: crate::ui::gif_size::DEFAULT_MAX_MB,
        }
    }
}

/// Where the current picture came from.
#[derive(Clone, Debug, PartialEq)]
pub enum PictureSource {
    /// One of the photos shipped with the program.
    Bundled(BundledPhoto),
    /// A file the user opened or dropped, by name.
    File(String),
}

/// What the x_t panel shows for the current settings.
#[derive(Clone, Debug)]
pub struct XtImage {
    /// Timestep the image belongs to (in chain mode, the latest reached while the walk is running).
    pub t: usize,
    /// Width of the image (the walk's reduced width in chain mode).
    pub width: usize,
    /// Height of the image.
    pub height: usize,
    /// RGB bytes.
    pub rgb: Vec<u8>,
    /// Histogram of x_t's values.
    pub histogram: Histogram,
    /// Measured standard deviation of the noise part x_t − √ᾱ_t·x0.
    pub noise_std: f64,
    /// Increases whenever `rgb` changes, so textures are uploaded only then.
    pub revision: u64,
}

/// Cache key of [`XtImage`]: it is recomputed only when one of these changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct XtKey {
    t: usize,
    noising: Noising,
    inputs: u64,
    chain_steps: usize,
}

/// Everything the Forward view shows.
pub struct ForwardState {
    /// Persisted choices.
    pub settings: ForwardSettings,
    /// The timestep on the slider, 0..=T.
    pub t: usize,
    /// Whether the sweep is playing.
    pub playing: bool,
    /// Where the picture came from.
    pub source: PictureSource,
    /// The photo as loaded (with its scaling note).
    pub loaded: Arc<LoadedPicture>,
    schedule: NoiseSchedule,
    eps: Vec<f32>,
    eps_std: f64,
    eps_seed: u64,
    /// Bumped whenever x0, ε or the schedule change; textures of x0 and ε follow it.
    inputs_revision: u64,
    chain: Option<ChainWalk>,
    chain_error: Option<String>,
    x_t: Option<(XtKey, XtImage)>,
    x_t_revisions: u64,
    play_anchor: Option<PlayAnchor>,
}

impl ForwardState {
    /// A state showing `loaded` with `settings`.
    /// The schedule's numbers are brought into the offered ranges first: remembered settings may
    /// have been edited (a T of 10^14 once asked for 800 TB here).
    pub fn new(
        mut settings: ForwardSettings,
        loaded: LoadedPicture,
        source: PictureSource,
    ) -> Self {
        settings.schedule = settings.schedule.within_offered();
        let schedule = NoiseSchedule::new(settings.schedule);
        let t = schedule.steps() / 4;
        let mut state = Self {
            t,
            playing: false,
            source,
            loaded: Arc::new(loaded),
            schedule,
            eps: Vec::new(),
            eps_std: 0.0,
            eps_seed: settings.seed,
            inputs_revision: 0,
            chain: None,
            chain_error: None,
            x_t: None,
            x_t_revisions: 0,
            play_anchor: None,
            settings,
        };
        state.redraw_noise();
        state
    }

    /// The clean image x0.
    pub fn picture(&self) -> &Picture {
        &self.loaded.picture
    }

    /// The schedule for the current settings.
    pub fn schedule(&self) -> &NoiseSchedule {
        &self.schedule
    }

    /// The closed-form noise ε for the current seed.
    pub fn eps(&self) -> &[f32] {
        &self.eps
    }

    /// A number that changes whenever x0, ε or the schedule change.
    pub fn inputs_revision(&self) -> u64 {
        self.inputs_revision
    }

    /// Replaces the picture (after a successful load), keeping t and the settings.
    pub fn set_picture(&mut self, loaded: LoadedPicture, source: PictureSource) {
        if let PictureSource::Bundled(photo) = source {
            self.settings.photo = photo;
        }
        self.loaded = Arc::new(loaded);
        self.source = source;
        self.redraw_noise();
    }

    /// Brings derived state in line with the settings; call once per frame before drawing.
    /// `wake` is handed to a background walk so it can ask for a repaint.
    pub fn sync(&mut self, wake: &Arc<dyn Fn() + Send + Sync>) {
        self.sync_schedule();
        if self.eps_seed != self.settings.seed {
            self.redraw_noise();
        }
        if self.settings.noising == Noising::Chain
            && self.chain.is_none()
            && self.chain_error.is_none()
        {
            match ChainWalk::start(
                self.picture(),
                &self.schedule,
                self.settings.seed,
                Arc::clone(wake),
            ) {
                Ok(walk) => self.chain = Some(walk),
                Err(e) => self.chain_error = Some(e.to_string()),
            }
        }
        if let Some(chain) = &mut self.chain {
            chain.drain();
        }
    }

    /// Moves the sweep to where the clock says it is: `now_secs` is a wall-clock reading in seconds
    /// (egui's `input.time`). A sweep takes [`ForwardSettings::sweep_secs`] whatever the frame rate;
    /// moving t by hand or changing the speed while playing continues from there. Stops at T.
    pub fn advance_to(&mut self, now_secs: f64) {
        if !self.playing {
            self.play_anchor = None;
            return;
        }
        let sweep_secs = self.settings.sweep_secs();
        let anchor = match self.play_anchor {
            Some(a)
                if a.t_shown == self.t
                    && a.sweep_secs == sweep_secs
                    && now_secs >= a.started_at =>
            {
                a
            }
            _ => PlayAnchor {
                started_at: now_secs,
                t_start: self.t,
                t_shown: self.t,
                sweep_secs,
            },
        };
        let steps = self.schedule.steps();
        let elapsed = now_secs - anchor.started_at;
        let moved = (elapsed * steps as f64 / sweep_secs).floor() as usize;
        self.t = (anchor.t_start + moved).min(steps);
        self.play_anchor = Some(PlayAnchor {
            t_shown: self.t,
            ..anchor
        });
        if self.t == steps {
            self.playing = false;
            self.play_anchor = None;
        }
    }

    /// Starts or pauses the sweep; starting at T restarts from 0.
    pub fn toggle_play(&mut self) {
        self.playing = !self.playing;
        if self.playing && self.t == self.schedule.steps() {
            self.t = 0;
        }
        self.play_anchor = None;
    }

    /// Puts every choice of the view back to its default (the picture shown stays), stops playing
    /// and returns to t = T/4 as at start.
    pub fn reset_to_defaults(&mut self) {
        let photo = self.settings.photo;
        self.settings = ForwardSettings {
            photo,
            ..ForwardSettings::default()
        };
        self.playing = false;
        self.play_anchor = None;
        self.sync_schedule();
        self.t = self.schedule.steps() / 4;
    }

    /// Takes a lesson slide's `settings` (the schedule brought into the offered ranges) and `t`
    /// (at most T), paused.
    pub fn show_slide(&mut self, mut settings: ForwardSettings, t: usize) {
        settings.schedule = settings.schedule.within_offered();
        self.settings = settings;
        self.playing = false;
        self.play_anchor = None;
        self.sync_schedule();
        self.t = t.min(self.schedule.steps());
    }

    /// Moves t by `delta` steps, staying within 0..=T.
    pub fn step_by(&mut self, delta: isize) {
        self.t = self
            .t
            .saturating_add_signed(delta)
            .min(self.schedule.steps());
    }

    /// Progress of the background walk in chain mode: (steps recorded, steps in all).
    pub fn chain_progress(&self) -> Option<(usize, usize)> {
        self.chain.as_ref().map(ChainWalk::progress)
    }

    /// Why the background walk could not start, if it could not.
    pub fn chain_error(&self) -> Option<&str> {
        self.chain_error.as_deref()
    }

    /// The noise part's expected standard deviation at t, √(1 − ᾱ_t).
    pub fn expected_noise_std(&self) -> f64 {
        self.schedule.noise_scale(self.t)
    }

    /// The x_t image for the current settings, computed only when something changed.
    /// `None` only in chain mode before the walk has recorded its first step.
    pub fn x_t_image(&mut self) -> Option<&XtImage> {
        let key = XtKey {
            t: self.t,
            noising: self.settings.noising,
            inputs: self.inputs_revision,
            chain_steps: self.chain_progress().map_or(0, |(done, _)| done),
        };
        let fresh = self.x_t.as_ref().is_some_and(|(k, _)| *k == key);
        if !fresh {
            self.x_t_revisions += 1;
            let revision = self.x_t_revisions;
            let image = match self.settings.noising {
                Noising::Jump => Some(self.jump_image(revision)),
                Noising::Chain => self.chain_image(revision),
            };
            self.x_t = image.map(|image| (key, image));
        }
        self.x_t.as_ref().map(|(_, image)| image)
    }

    /// The x_t image as last computed by [`Self::x_t_image`], without recomputing.
    pub fn x_t_image_cached(&self) -> Option<&XtImage> {
        self.x_t.as_ref().map(|(_, image)| image)
    }

    fn jump_image(&self, revision: u64) -> XtImage {
        let picture = self.picture();
        let mut values = vec![0.0; picture.values.len()];
        jump_to(
            &self.schedule,
            self.t,
            &picture.values,
            &self.eps,
            &mut values,
        );
        let mut rgb = vec![0; values.len()];
        values_to_rgb8(&values, &mut rgb);
        XtImage {
            t: self.t,
            width: picture.width,
            height: picture.height,
            rgb,
            histogram: Histogram::of_pixels(&values),
            // The noise part is exactly σ_t·ε here.
            noise_std: self.schedule.noise_scale(self.t) * self.eps_std,
            revision,
        }
    }

    fn chain_image(&self, revision: u64) -> Option<XtImage> {
        let chain = self.chain.as_ref()?;
        let (t, frame) = match chain.frame(self.t) {
            Some(frame) => (self.t, frame),
            None => chain.latest()?,
        };
        Some(XtImage {
            t,
            width: chain.width,
            height: chain.height,
            rgb: frame.rgb.clone(),
            histogram: frame.histogram.clone(),
            noise_std: frame.noise_std,
            revision,
        })
    }

    fn sync_schedule(&mut self) {
        if *self.schedule.config() != self.settings.schedule {
            self.schedule = NoiseSchedule::new(self.settings.schedule);
            self.t = self.t.min(self.schedule.steps());
            self.invalidate();
        }
    }

    fn redraw_noise(&mut self) {
        self.eps_seed = self.settings.seed;
        self.eps = standard_normal(
            self.picture().values.len(),
            self.eps_seed,
            NoiseStream::Jump,
        );
        let n = self.eps.len().max(1) as f64;
        let mean = self.eps.iter().map(|&e| f64::from(e)).sum::<f64>() / n;
        let var = self
            .eps
            .iter()
            .map(|&e| (f64::from(e) - mean).powi(2))
            .sum::<f64>()
            / n;
        self.eps_std = var.sqrt();
        self.invalidate();
    }

    fn invalidate(&mut self) {
        self.inputs_revision += 1;
        self.chain = None;
        self.chain_error = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> ForwardState {
        let loaded = LoadedPicture {
            picture: Picture::filled(8, 8, 0.0),
            original_width: 8,
            original_height: 8,
            scaled_down: false,
        };
        let source = PictureSource::Bundled(BundledPhoto::Cat);
        ForwardState::new(ForwardSettings::default(), loaded, source)
    }

    /// Plays from t = 0 with frames `frame_secs` apart until playing stops; the clock time it took.
    fn play_from_zero(state: &mut ForwardState, frame_secs: f64) -> f64 {
        state.t = 0;
        state.toggle_play();
        let start = 1000.0;
        let mut now = start;
        while state.playing {
            state.advance_to(now);
            now += frame_secs;
            assert!(now - start < 100.0, "the sweep never ended");
        }
        now - frame_secs - start
    }

    #[test]
    fn a_sweep_takes_the_same_time_at_any_frame_rate() {
        let mut state = state();
        let fast = play_from_zero(&mut state, 1.0 / 60.0);
        let slow = play_from_zero(&mut state, 0.5);
        // A sweep of T steps ends in the first frame at or after SWEEP_SECS.
        assert!((fast - SWEEP_SECS).abs() <= 1.0 / 60.0, "{fast}");
        assert!((slow - SWEEP_SECS).abs() <= 0.5, "{slow}");
        assert_eq!(state.t, state.schedule().steps());
    }

    #[test]
    fn speed_scales_the_sweep_and_a_moved_t_continues_from_there() {
        let mut state = state();
        state.settings.play_speed = 2.0;
        let took = play_from_zero(&mut state, 0.1);
        assert!((took - SWEEP_SECS / 2.0).abs() <= 0.1, "{took}");

        state.settings.play_speed = 1.0;
        state.t = 0;
        state.toggle_play();
        state.advance_to(10.0);
        state.advance_to(12.0);
        assert_eq!(state.t, 250, "a quarter of the sweep after 2 s of 8");
        state.t = 100; // the user drags the slider back while playing
        state.advance_to(12.5);
        state.advance_to(14.5);
        assert_eq!(state.t, 350, "2 s more from the dragged t");
    }

    #[test]
    fn reset_restores_the_defaults_and_keeps_the_picture() {
        let mut state = state();
        state.settings.seed = 9;
        state.settings.play_speed = 4.0;
        state.settings.schedule = ScheduleConfig::new(crate::diffusion::ScheduleKind::Linear, 50);
        state.settings.photo = BundledPhoto::Coffee;
        state.reset_to_defaults();
        let expected = ForwardSettings {
            photo: BundledPhoto::Coffee,
            ..ForwardSettings::default()
        };
        assert_eq!(state.settings, expected);
        assert_eq!(state.schedule().steps(), 1000);
        assert_eq!(state.t, 250);
        assert_eq!(state.picture().width, 8);
    }
}
