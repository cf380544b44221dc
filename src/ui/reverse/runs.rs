//! Saving the run on screen as a run file and opening one again, each in a background job (a long
//! run is hundreds of megabytes: the window never waits for the disk).

use std::path::PathBuf;
use std::sync::Arc;

use crate::export::ExportError;
use crate::i18n::{Lang, Text};
use crate::ui::jobs::{Job, Poll};
use crate::ui::message::Message;
use crate::worker::RunRecord;
use crate::worker::run_file::{RunFileError, open_run, save_run};

/// What a finished job hands back.
enum Outcome {
    Saved(Result<PathBuf, ExportError>),
    Opened(Box<Result<RunRecord, RunFileError>>),
}

/// What the view must do with a finished job.
pub enum RunFileDone {
    /// Show this message (saved, or why saving or opening failed).
    Message(Message),
    /// Show this run, opened from a file.
    Opened(Box<RunRecord>),
}

/// The run file job going on, if any (one at a time).
#[derive(Default)]
pub struct RunFiles {
    job: Option<Job<Outcome>>,
}

impl RunFiles {
    /// Saves `record` to `path` in the background (fails only if no thread can be started). The
    /// record's frames are shared, not copied.
    pub fn start_save(
        &mut self,
        record: RunRecord,
        path: PathBuf,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> std::io::Result<()> {
        let job = Job::spawn("save-run", wake, move |_| {
            Outcome::Saved(save_run(&path, &record).map(|()| path))
        })?;
        self.job = Some(job);
        Ok(())
    }

    /// Opens the run file at `path` in the background.
    pub fn start_open(
        &mut self,
        path: PathBuf,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> std::io::Result<()> {
        let job = Job::spawn("open-run", wake, move |_| {
            Outcome::Opened(Box::new(open_run(&path)))
        })?;
        self.job = Some(job);
        Ok(())
    }

    /// Whether a run file is being written or read.
    pub fn is_running(&self) -> bool {
        self.job.is_some()
    }

    /// Collects a finished job.
    pub fn poll(&mut self) -> Option<RunFileDone> {
        let done = match self.job.as_ref()?.poll() {
            Poll::Running => return None,
            Poll::Done(Outcome::Saved(Ok(path))) => {
                RunFileDone::Message(Message::info_in(|lang| saved_run_sentence(lang, &path)))
            }
            Poll::Done(Outcome::Saved(Err(error))) => RunFileDone::Message(Message::error_in(
                |lang| error.sentence(lang),
                Some(error.to_string()),
            )),
            Poll::Done(Outcome::Opened(result)) => match *result {
                Ok(record) => RunFileDone::Opened(Box::new(record)),
                Err(error) => RunFileDone::Message(Message::error_in(
                    |lang| error.sentence(lang),
                    Some(error.to_string()),
                )),
            },
            Poll::Lost => RunFileDone::Message(Message::error_in(
                |lang| lang.tr(Text::BackgroundFailed).into(),
                None,
            )),
        };
        self.job = None;
        Some(done)
    }
}

fn saved_run_sentence(lang: Lang, path: &std::path::Path) -> String {
    let name = path.display();
    match lang {
        Lang::En => format!("Saved the run as {name}; “Open run…” shows it again."),
        Lang::Zh => format!("已将本次运行保存为 {name}；用“打开运行…”可以再次查看。"),
    }
}
