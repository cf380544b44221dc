//! A lane: one view's (or one run's) own place in the GPU resources. Its panels' textures are kept
//! under its number, so two lanes never draw each other's pictures, and they are let go once the
//! lane is dropped. A picture the GPU refuses is reported back through the lane, for the view to say
//! so in a sentence and draw it on the CPU instead.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use crate::i18n::Lang;

/// Numbers given to lanes, never reused.
static NEXT_LANE: AtomicU64 = AtomicU64::new(1);

/// A view's handle on its lane; clones share it (the paint callbacks carry one).
#[derive(Clone, Debug)]
pub struct GpuLane {
    inner: Arc<LaneInner>,
}

#[derive(Debug)]
struct LaneInner {
    id: u64,
    failure: Mutex<Option<String>>,
}

/// What the GPU resources keep of a lane (they key its textures by its number): whether it still
/// exists.
#[derive(Clone, Debug)]
pub struct LaneWatch {
    alive: Weak<LaneInner>,
}

impl Default for GpuLane {
    fn default() -> Self {
        Self::new()
    }
}

impl GpuLane {
    /// A new lane with a number of its own.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(LaneInner {
                id: NEXT_LANE.fetch_add(1, Ordering::Relaxed),
                failure: Mutex::new(None),
            }),
        }
    }

    /// The lane's number.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// What the GPU resources keep to know when the lane is gone.
    pub fn watch(&self) -> LaneWatch {
        LaneWatch {
            alive: Arc::downgrade(&self.inner),
        }
    }

    /// Notes that the GPU refused a picture of this lane (called from the paint callback).
    pub fn report_failure(&self, why: String) {
        *self
            .inner
            .failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(why);
    }

    /// The refusal reported since the last call, if any.
    pub fn take_failure(&self) -> Option<String> {
        self.inner
            .failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

impl LaneWatch {
    /// Whether the view still holds the lane.
    pub fn is_alive(&self) -> bool {
        self.alive.strong_count() > 0
    }
}

/// The sentence for a picture the GPU refused.
pub fn upload_failed_sentence(why: &str, lang: Lang) -> String {
    match lang {
        Lang::En => format!(
            "The GPU could not take this picture ({why}); it is drawn by the CPU from now on."
        ),
        Lang::Zh => format!("GPU 无法处理这张图像（{why}），之后改由 CPU 绘制。"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_have_their_own_numbers_and_are_seen_to_go() {
        let (first, second) = (GpuLane::new(), GpuLane::new());
        assert_ne!(first.id(), second.id());
        let watch = first.watch();
        let callback_copy = first.clone();
        first.report_failure("too large".into());
        assert_eq!(callback_copy.take_failure().as_deref(), Some("too large"));
        assert_eq!(first.take_failure(), None, "reported once");
        drop(first);
        assert!(watch.is_alive(), "a callback still holds it");
        drop(callback_copy);
        assert!(!watch.is_alive());
    }
}
