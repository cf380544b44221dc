//! The GIF size controls both views share: a size limit ("at most 5 MB"), the expected size worked
//! out in the background while the export settings are shown, and the sentence after writing.

use std::path::Path;
use std::sync::Arc;

use eframe::egui;

use super::jobs::{Job, Poll};
use crate::export::budget::{ByteSize, Choice, Written};
use crate::i18n::Lang;

/// The limit a teacher is offered first: small enough for slides and e-mail.
pub const DEFAULT_MAX_MB: f32 = 5.0;

/// The size limit as chosen: `None` when off.
pub fn limit(on: bool, max_mb: f32) -> Option<ByteSize> {
    on.then(|| ByteSize::from_megabytes(max_mb.max(0.05)))
}

/// The "Size limit" row's control: a checkbox and the limit in MB.
pub fn limit_ui(ui: &mut egui::Ui, label: egui::Id, lang: Lang, on: &mut bool, max_mb: &mut f32) {
    ui.horizontal(|ui| {
        ui.checkbox(on, lang.pick("At most", "不超过"))
            .labelled_by(label);
        let drag = egui::DragValue::new(max_mb)
            .range(0.1..=500.0)
            .speed(0.1)
            .fixed_decimals(1)
            .suffix(" MB");
        ui.add_enabled(*on, drag).labelled_by(label);
    });
}

/// What is known of the size of the GIF the settings on screen would give.
pub enum Expected<'a, P> {
    /// Being worked out.
    Working,
    /// Worked out for these settings.
    Known(&'a Choice<P>),
}

/// The expected size of the GIF for the settings on screen, worked out on a background thread
/// whenever they change (one estimate at a time; the newest settings are taken up when it ends).
pub struct Estimator<K, P> {
    job: Option<(K, Job<Choice<P>>)>,
    known: Option<(K, Choice<P>)>,
}

impl<K, P> Default for Estimator<K, P> {
    fn default() -> Self {
        Self {
            job: None,
            known: None,
        }
    }
}

impl<K: PartialEq + Clone, P: Send + 'static> Estimator<K, P> {
    /// Collects a finished estimate, and starts one for `key` if none is known or running for
    /// it; `work` computes it.
    pub fn refresh(
        &mut self,
        key: &K,
        wake: &Arc<dyn Fn() + Send + Sync>,
        work: impl FnOnce() -> Choice<P> + Send + 'static,
    ) {
        if let Some((done_key, job)) = &self.job {
            match job.poll() {
                Poll::Running => return,
                Poll::Done(choice) => self.known = Some((done_key.clone(), choice)),
                Poll::Lost => self.known = None,
            }
            self.job = None;
        }
        if self.known.as_ref().is_some_and(|(known, _)| known == key) {
            return;
        }
        if let Ok(job) = Job::spawn("estimate-gif", Arc::clone(wake), move |_| work()) {
            self.job = Some((key.clone(), job));
        }
    }

    /// The expected size for `key`.
    pub fn expected(&self, key: &K) -> Expected<'_, P> {
        match &self.known {
            Some((known, choice)) if known == key => Expected::Known(choice),
            _ => Expected::Working,
        }
    }
}

/// The line under the export settings: "≈ 4.2 MB", or what a limit chose ("≈ 4.6 MB with 40
/// frames, 320 px wide, to stay under 5.0 MB"), or that it cannot be met. `describe` puts a plan
/// in words.
pub fn expected_ui<P>(
    ui: &mut egui::Ui,
    lang: Lang,
    expected: &Expected<'_, P>,
    limit: Option<ByteSize>,
    describe: &dyn Fn(Lang, &P) -> String,
) {
    ui.horizontal_wrapped(|ui| {
        ui.label(lang.pick("Expected size:", "预计大小："));
        match expected {
            Expected::Working => {
                ui.spinner();
                ui.label(lang.pick("estimating…", "正在估算…"));
            }
            Expected::Known(choice) => {
                ui.label(expected_sentence(lang, choice, limit, describe));
            }
        }
    });
}

/// The words of [`expected_ui`] once the size is known.
pub fn expected_sentence<P>(
    lang: Lang,
    choice: &Choice<P>,
    limit: Option<ByteSize>,
    describe: &dyn Fn(Lang, &P) -> String,
) -> String {
    let size = choice.expected;
    match (limit, lang) {
        (None, _) => format!("≈ {size}"),
        (Some(limit), Lang::En) if !choice.fits => format!(
            "≈ {size} even at the smallest, more than {limit}: allow more, or choose fewer frames"
        ),
        (Some(limit), Lang::Zh) if !choice.fits => {
            format!("即使最小也约 {size}，超过 {limit}：请放宽限制或减少帧数")
        }
        (Some(_), Lang::En) if choice.as_chosen => format!("≈ {size}, within the limit"),
        (Some(_), Lang::Zh) if choice.as_chosen => format!("约 {size}，在上限以内"),
        (Some(limit), Lang::En) => format!(
            "≈ {size} with {}, to stay under {limit}",
            describe(lang, &choice.plan)
        ),
        (Some(limit), Lang::Zh) => format!(
            "约 {size}：{}，以保持在 {limit} 以内",
            describe(lang, &choice.plan)
        ),
    }
}

/// A GIF written: its size and, when a limit changed the user's choice, what was chosen.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedGif {
    /// Its size.
    pub size: ByteSize,
    /// The limit and the chosen plan in each language (English, Chinese), when the plan is not
    /// the user's own.
    pub shrunk: Option<(ByteSize, [String; 2])>,
}

impl SavedGif {
    /// What `written` reports: its size, and what the `limit` chose when that is not the user's
    /// own plan (put in words by `describe`).
    pub fn new<P>(
        written: &Written<P>,
        limit: Option<ByteSize>,
        describe: &dyn Fn(Lang, &P) -> String,
    ) -> Self {
        Self {
            size: written.size,
            shrunk: limit.filter(|_| !written.as_chosen).map(|limit| {
                let words = Lang::ALL.map(|lang| describe(lang, &written.plan));
                (limit, words)
            }),
        }
    }
}

/// "Saved forward.gif (40 frames, 4.6 MB): 320 px wide, to stay under 5.0 MB." in either language.
pub fn saved_gif_sentence(lang: Lang, path: &Path, frames: usize, gif: &SavedGif) -> String {
    let name = path.display();
    let size = gif.size;
    match (lang, &gif.shrunk) {
        (Lang::En, None) => format!("Saved {name} ({frames} frames, {size})."),
        (Lang::Zh, None) => format!("已保存 {name}（{frames} 帧，{size}）。"),
        (Lang::En, Some((limit, [en, _]))) => {
            format!("Saved {name} ({frames} frames, {size}): {en}, to stay under {limit}.")
        }
        (Lang::Zh, Some((limit, [_, zh]))) => {
            format!("已保存 {name}（{frames} 帧，{size}）：{zh}，以保持在 {limit} 以内。")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(as_chosen: bool, fits: bool) -> Choice<usize> {
        Choice {
            plan: 40,
            tolerance: 0,
            as_chosen,
            expected: ByteSize(4_600_000),
            fits,
        }
    }

    fn frames(lang: Lang, n: &usize) -> String {
        match lang {
            Lang::En => format!("{n} frames"),
            Lang::Zh => format!("{n} 帧"),
        }
    }

    #[test]
    fn the_expected_size_says_what_a_limit_chose() {
        let five = Some(ByteSize(5_000_000));
        let line = |c, limit| expected_sentence(Lang::En, &c, limit, &frames);
        assert_eq!(line(choice(true, true), None), "≈ 4.6 MB");
        assert_eq!(line(choice(true, true), five), "≈ 4.6 MB, within the limit");
        assert_eq!(
            line(choice(false, true), five),
            "≈ 4.6 MB with 40 frames, to stay under 5.0 MB"
        );
        assert!(line(choice(false, false), five).contains("more than 5.0 MB"));
        let zh = expected_sentence(Lang::Zh, &choice(false, true), five, &frames);
        assert!(zh.contains("40 帧") && zh.contains("5.0 MB"), "{zh}");
    }

    #[test]
    fn the_saved_sentence_names_size_and_choice() {
        let gif = SavedGif {
            size: ByteSize(4_600_000),
            shrunk: Some((
                ByteSize(5_000_000),
                ["320 px wide".into(), "宽 320 像素".into()],
            )),
        };
        assert_eq!(
            saved_gif_sentence(Lang::En, Path::new("cat.gif"), 40, &gif),
            "Saved cat.gif (40 frames, 4.6 MB): 320 px wide, to stay under 5.0 MB."
        );
        assert!(
            saved_gif_sentence(Lang::Zh, Path::new("cat.gif"), 40, &gif).contains("宽 320 像素")
        );
    }
}
