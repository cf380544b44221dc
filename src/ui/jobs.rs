//! One-shot background jobs for the window (loading a photo, writing an export): each runs on a named
//! thread and hands its single result back through a bounded channel, waking the window when done.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_channel::{Receiver, TryRecvError, bounded};

use crate::export::ExportError;
use crate::i18n::Text;
use crate::ui::message::Message;

/// A job running on its own thread.
pub struct Job<T> {
    receiver: Receiver<T>,
    progress: Arc<AtomicUsize>,
}

/// How a job's result stands.
pub enum Poll<T> {
    /// Still running.
    Running,
    /// Finished with this result.
    Done(T),
    /// The thread ended without a result (it panicked).
    Lost,
}

impl<T: Send + 'static> Job<T> {
    /// Runs `work` on a thread named `name`; `wake` is called when the result is ready.
    /// `work` may report progress (a count) through the counter it is given.
    pub fn spawn(
        name: &str,
        wake: Arc<dyn Fn() + Send + Sync>,
        work: impl FnOnce(&AtomicUsize) -> T + Send + 'static,
    ) -> std::io::Result<Self> {
        let (sender, receiver) = bounded(1);
        let progress = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&progress);
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let result = work(&counter);
                // The window may have gone; then nobody needs the result.
                let _ = sender.send(result);
                wake();
            })?;
        Ok(Self { receiver, progress })
    }

    /// The result, if the job has finished.
    pub fn poll(&self) -> Poll<T> {
        match self.receiver.try_recv() {
            Ok(result) => Poll::Done(result),
            Err(TryRecvError::Empty) => Poll::Running,
            Err(TryRecvError::Disconnected) => Poll::Lost,
        }
    }

    /// The count the job has reported so far.
    pub fn progress(&self) -> usize {
        self.progress.load(Ordering::Relaxed)
    }
}

/// The banner for an export job that has ended: where the file was saved, or why it was not
/// (`lost`: the sentence for a thread that ended without a result); `None` while it runs.
pub fn export_ended(
    job: &Job<Result<std::path::PathBuf, ExportError>>,
    lost: impl FnOnce() -> Message,
) -> Option<Message> {
    Some(match job.poll() {
        Poll::Running => return None,
        Poll::Done(Ok(path)) => {
            let shown = path.display().to_string();
            Message::info_in(move |l| format!("{} {shown}", l.pick("Saved", "已保存")))
        }
        Poll::Done(Err(error)) => Message::error_in(|l| error.sentence(l), None),
        Poll::Lost => lost(),
    })
}

/// The banner for a job (an export, a file being opened) whose thread the system would not start,
/// in both languages, with the system's words as details.
pub fn job_not_started(error: &std::io::Error) -> Message {
    Message::error_in(
        |lang| lang.tr(Text::JobNotStarted).to_owned(),
        Some(error.to_string()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn a_job_that_cannot_start_is_said_in_both_languages() {
        let message = job_not_started(&std::io::Error::other("Resource temporarily unavailable"));
        assert!(message.sentence(Lang::En).contains("another thread"));
        assert!(message.sentence(Lang::Zh).contains("线程"));
    }
}
