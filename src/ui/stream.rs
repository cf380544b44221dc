//! Streaming jobs: work on a named thread that hands items back as it goes (the frames of a run),
//! then one result. The items travel through a bounded channel, so a window that falls behind
//! slows the work instead of filling memory; stopping (or dropping the stream) tells the work
//! that nobody wants more, and it ends at its next item.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, SendTimeoutError, Sender, bounded};

use super::jobs::{Job, Poll};

/// How long an item waits for room before the work looks again whether it was stopped.
const WAIT_FOR_ROOM: Duration = Duration::from_millis(50);

/// What the work hands its items to.
pub struct Emitter<I> {
    sender: Sender<I>,
    stop: Arc<AtomicBool>,
    wake: Arc<dyn Fn() + Send + Sync>,
}

impl<I> Emitter<I> {
    /// Hands `item` to the window (waiting while the channel is full) and wakes it; `false` if
    /// the window stopped the stream or is gone, when the work should end.
    pub fn emit(&self, mut item: I) -> bool {
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return false;
            }
            match self.sender.send_timeout(item, WAIT_FOR_ROOM) {
                Ok(()) => {
                    (self.wake)();
                    return true;
                }
                Err(SendTimeoutError::Timeout(back)) => item = back,
                Err(SendTimeoutError::Disconnected(_)) => return false,
            }
        }
    }
}

/// A streaming job: items as they come, then the result.
pub struct Stream<I, T> {
    items: Receiver<I>,
    job: Job<T>,
    stop: Arc<AtomicBool>,
    /// The result, once the job gave it, until the items before it are taken.
    result: Option<T>,
}

/// How a stream stands.
pub enum Next<I, T> {
    /// An item.
    Item(I),
    /// No item yet; the work goes on.
    Waiting,
    /// Every item was taken and the work ended with this result.
    Done(T),
    /// The work's thread ended without a result (it panicked).
    Lost,
}

impl<I: Send + 'static, T: Send + 'static> Stream<I, T> {
    /// Runs `work` on a thread named `name`, holding at most `capacity` items the window has not
    /// taken; `wake` is called at each item and at the end.
    pub fn spawn(
        name: &str,
        wake: Arc<dyn Fn() + Send + Sync>,
        capacity: usize,
        work: impl FnOnce(&Emitter<I>) -> T + Send + 'static,
    ) -> std::io::Result<Self> {
        let (sender, items) = bounded(capacity.max(1));
        let stop = Arc::new(AtomicBool::new(false));
        let emitter = Emitter {
            sender,
            stop: Arc::clone(&stop),
            wake: Arc::clone(&wake),
        };
        let job = Job::spawn(name, wake, move |_| work(&emitter))?;
        Ok(Self {
            items,
            job,
            stop,
            result: None,
        })
    }

    /// The next item, or how the work stands when there is none. Items sent before the result
    /// all come before it.
    pub fn next(&mut self) -> Next<I, T> {
        if let Ok(item) = self.items.try_recv() {
            return Next::Item(item);
        }
        if self.result.is_none() {
            match self.job.poll() {
                Poll::Running => return Next::Waiting,
                Poll::Done(result) => self.result = Some(result),
                Poll::Lost => return Next::Lost,
            }
        }
        // An item may have been sent between the first look and the result.
        if let Ok(item) = self.items.try_recv() {
            return Next::Item(item);
        }
        self.result.take().map_or(Next::Lost, Next::Done)
    }

    /// Tells the work to stop at its next item.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl<I, T> Drop for Stream<I, T> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn next_settled<I: Send + 'static, T: Send + 'static>(stream: &mut Stream<I, T>) -> Next<I, T> {
        for _ in 0..2_000 {
            match stream.next() {
                Next::Waiting => std::thread::sleep(Duration::from_millis(1)),
                other => return other,
            }
        }
        panic!("the stream never moved");
    }

    #[test]
    fn items_come_in_order_then_the_result() {
        let mut stream = Stream::spawn("test-stream", Arc::new(|| {}), 2, |emit| {
            (0..5).filter(|&i| emit.emit(i)).count()
        })
        .unwrap();
        let mut seen = Vec::new();
        loop {
            match next_settled(&mut stream) {
                Next::Item(i) => seen.push(i),
                Next::Done(sent) => {
                    assert_eq!(sent, 5);
                    break;
                }
                Next::Waiting | Next::Lost => panic!("lost"),
            }
        }
        assert_eq!(seen, [0, 1, 2, 3, 4]);
    }

    #[test]
    fn a_stopped_stream_ends_its_work_at_the_next_item() {
        let mut stream = Stream::spawn("test-stream", Arc::new(|| {}), 1, |emit| {
            (0..1_000_000).take_while(|&i| emit.emit(i)).count()
        })
        .unwrap();
        assert!(matches!(next_settled(&mut stream), Next::Item(0)));
        stream.stop();
        let mut sent = None;
        for _ in 0..10 {
            if let Next::Done(count) = next_settled(&mut stream) {
                sent = Some(count);
                break;
            }
        }
        let sent = sent.expect("the work ended");
        assert!(sent < 10, "{sent} items sent after the stop");
    }
}
