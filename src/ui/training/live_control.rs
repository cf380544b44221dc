//! The Training view's side of a live run: starting it, Pause, Stop, and Save (asked through the
//! file picker, answered by the run or, once it has ended, by a job writing the weights it ended
//! with), and the news copied each frame.

use std::path::PathBuf;
use std::sync::Arc;

use super::jobs::Sentences;
use super::live::{self, LiveNews, LiveRun};
use super::{TrainingPick, TrainingView};
use crate::i18n::Lang;
use crate::ui::file_picker::FileRequest;
use crate::ui::jobs::{Job, Poll, job_not_started};
use crate::ui::message::Message;

impl TrainingView {
    /// Whether a live run is going on (paused or not).
    pub fn is_training(&self) -> bool {
        self.running_live().is_some()
    }

    /// Whether the live run is paused.
    pub fn is_paused(&self) -> bool {
        self.running_live()
            .is_some_and(|run| run.shared.is_paused())
    }

    pub(super) fn running_live(&self) -> Option<&LiveRun> {
        self.live.as_ref().filter(|run| !run.is_finished())
    }

    /// Starts a live run (letting an old one go: it stops after its step).
    pub(super) fn start_live(&mut self) {
        if self.is_training() {
            return;
        }
        self.live_news = LiveNews::default();
        let settings = self.settings.live.clone();
        match LiveRun::start(&self.live_trainer, settings, Arc::clone(&self.wake)) {
            Ok(run) => self.live = Some(run),
            Err(error) => self.message = Some(job_not_started(&error)),
        }
    }

    pub(super) fn ask_where_to_save(&mut self) {
        if !self.is_training() && self.live_news.checkpoint.is_none() {
            return;
        }
        let request = FileRequest::save(
            ("Save the model", "保存模型"),
            "safetensors",
            &["safetensors"],
            "my-digits.safetensors",
        );
        self.picker.ask(TrainingPick::SaveModel, request);
    }

    /// Saves the live run's averaged weights at `path`: the run saves them after its step, or,
    /// once it has ended, the weights it ended with are written on a job.
    pub(super) fn save_live_to(&mut self, path: PathBuf) {
        if let Some(run) = self.running_live() {
            run.shared.save_to(path);
            return;
        }
        let Some(bytes) = self.live_news.checkpoint.clone() else {
            return;
        };
        let job = Job::spawn("save-model", Arc::clone(&self.wake), move |_| {
            live::write_checkpoint(&path, &bytes).map(|()| path)
        });
        match job {
            Ok(job) => self.save_job = Some(job),
            Err(error) => self.message = Some(job_not_started(&error)),
        }
    }

    /// Copies what the live run published, and says how a save went.
    pub(super) fn poll_live(&mut self) {
        if let Some(run) = &self.live {
            let mut news = run.shared.news();
            if news.revision != self.live_news.revision {
                let saved = news.saved.take();
                self.live_news = news.clone();
                drop(news);
                if let Some(outcome) = saved {
                    self.say_saved(outcome);
                }
            }
        }
        if let Some(failed) = self.live_news.failed.take() {
            self.message = Some(Message::error_in(move |l| failed.pick(l), None));
        }
        if let Some(job) = self.save_job.take() {
            match job.poll() {
                Poll::Running => self.save_job = Some(job),
                Poll::Done(outcome) => self.say_saved(outcome),
                Poll::Lost => self.say_saved(Err(live::save_failed())),
            }
        }
    }

    pub(super) fn say_saved(&mut self, outcome: Result<PathBuf, Sentences>) {
        if let Ok(path) = &outcome {
            self.saved_model = Some(path.clone());
        }
        self.message = Some(match outcome {
            Ok(path) => Message::info_in(move |l| match l {
                Lang::En => format!("Saved {}; open it in the Reverse view.", path.display()),
                Lang::Zh => format!("已保存 {}；可以在“反向”视图中打开。", path.display()),
            }),
            Err(why) => Message::error_in(move |l| why.pick(l), None),
        });
    }
}
