//! A parallel loop whose items the pool's threads take one at a time.
//!
//! rayon's parallel iterators split a range in halves: a thread that steals work steals half of
//! what is left, and splits it further only once it runs. If another program then takes that
//! thread's core for a few milliseconds, the other threads finish their share and wait, idle,
//! for the half it holds. Here every thread of the pool (the caller included) takes the next item
//! from one shared queue as it becomes free, so a descheduled thread holds up only the item it is
//! on. For the convolutions' chunks on a 2-core Xeon, with another program busy 3 ms in every 10,
//! a forward pass of 64 digits took 106–119 ms with halving and 78–105 ms this way, one of 16
//! digits 30.0–32.0 ms and 22.9–30.6 ms, in three alternating rounds each (ONNX Runtime under the
//! same load: 98–105 and 22.8–24.3 ms; the table in MODELS.md).

use std::sync::Mutex;

use candle_core::Result;

/// Runs `f` on every item of `items` on the current rayon pool's threads, each taking the next
/// item as it becomes free; returns the first error (the threads stop taking items after one).
pub(super) fn try_for_each_claimed<T: Send>(
    items: impl Iterator<Item = T> + Send,
    f: impl Fn(T) -> Result<()> + Sync,
) -> Result<()> {
    let queue = Mutex::new(items);
    let first_error = Mutex::new(None);
    let drain = || {
        while let Some(item) = next_item(&queue) {
            if let Err(e) = f(item) {
                if let Ok(mut first) = first_error.lock() {
                    first.get_or_insert(e);
                }
                // The others stop at their next item.
                if let Ok(mut items) = queue.lock() {
                    for _ in items.by_ref() {}
                }
                break;
            }
        }
    };
    rayon::scope(|scope| {
        for _ in 1..rayon::current_num_threads() {
            scope.spawn(|_| drain());
        }
        drain();
    });
    match first_error.into_inner() {
        Ok(Some(e)) => Err(e),
        _ => Ok(()),
    }
}

/// The queue's next item; none once it is empty (or was poisoned by a panic in another thread,
/// which the scope then raises here).
fn next_item<T>(queue: &Mutex<impl Iterator<Item = T>>) -> Option<T> {
    queue.lock().ok()?.next()
}

#[cfg(test)]
mod tests {
    use super::super::test_pool as pool;
    use super::*;
    use std::time::Duration;

    #[test]
    fn every_item_runs_once() {
        let mut values = vec![0u32; 100];
        pool(3)
            .install(|| {
                try_for_each_claimed(values.iter_mut().enumerate(), |(i, v)| {
                    *v += i as u32;
                    Ok(())
                })
            })
            .unwrap();
        assert!(values.iter().enumerate().all(|(i, &v)| v == i as u32));
    }

    #[test]
    fn a_slow_item_holds_up_only_its_own_thread() {
        // Item 0 sleeps; the other thread takes all the rest meanwhile.
        let ran_on: Vec<Mutex<Option<usize>>> = (0..8).map(|_| Mutex::new(None)).collect();
        pool(2)
            .install(|| {
                try_for_each_claimed(0..8, |i| {
                    if i == 0 {
                        std::thread::sleep(Duration::from_millis(300));
                    }
                    *ran_on[i].lock().unwrap() = rayon::current_thread_index();
                    Ok(())
                })
            })
            .unwrap();
        let slow = ran_on[0].lock().unwrap().unwrap();
        for (i, thread) in ran_on.iter().enumerate().skip(1) {
            assert_ne!(*thread.lock().unwrap(), Some(slow), "item {i}");
        }
    }

    #[test]
    fn the_first_error_comes_back_and_no_new_item_starts() {
        let started = Mutex::new(0);
        let outcome = pool(2).install(|| {
            try_for_each_claimed(0..1000, |i| {
                *started.lock().unwrap() += 1;
                if i == 3 {
                    candle_core::bail!("item {i} failed");
                }
                std::thread::sleep(Duration::from_millis(1));
                Ok(())
            })
        });
        assert!(format!("{:?}", outcome.unwrap_err()).contains("item 3 failed"));
        assert!(*started.lock().unwrap() < 100);
    }
}
