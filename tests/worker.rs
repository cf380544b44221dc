//! The worker thread against a tiny deterministic fake model (no files, no GPU): the order of its
//! events, cancellation, runs taking turns, models held and released, panic recovery, many
//! start/cancel cycles, determinism, and the thread ending when its handle is dropped.
#![expect(
    clippy::unwrap_used,
    reason = "helpers of an integration test (clippy's allow-unwrap-in-tests covers only #[test] functions)"
)]

#[path = "common/fake_model.rs"]
mod fake_model;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use diffuscope::diffusion::objectives::Objective;
use diffuscope::diffusion::samplers::{SamplerKind, SamplerSpec};
use diffuscope::i18n::Lang;
use diffuscope::model::DeviceChoice;
use diffuscope::sample::PrepareError;
use diffuscope::worker::{Event, ModelSource, Request, RunSettings, Worker, WorkerError};
use fake_model::FakeLoader;

const SIDE: usize = 4;
const WAIT: Duration = Duration::from_secs(20);
/// The number every test loads its model under.
const MODEL: u64 = 1;

struct Setup {
    worker: Worker,
    calls: Arc<AtomicUsize>,
    dropped: Arc<AtomicBool>,
    wakes: Arc<AtomicUsize>,
}

fn setup(panic_on_call: Option<usize>, delay: Duration) -> Setup {
    let wakes = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&wakes);
    let loader = FakeLoader::new(SIDE, 100)
        .slow(delay)
        .panicking_on(panic_on_call);
    let (calls, dropped) = (Arc::clone(&loader.calls), Arc::clone(&loader.dropped));
    let worker = Worker::spawn(
        Box::new(loader),
        1,
        Arc::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        }),
    )
    .unwrap();
    worker
        .send(Request::LoadModel {
            id: MODEL,
            source: ModelSource::Shipped("fake".into()),
        })
        .unwrap();
    match worker.recv_timeout(WAIT).unwrap() {
        Event::ModelLoaded { summary, .. } => assert_eq!(summary.device, DeviceChoice::CpuAsked),
        other => panic!("expected ModelLoaded, got {other:?}"),
    }
    Setup {
        worker,
        calls,
        dropped,
        wakes,
    }
}

fn settings(steps: usize, seed: u64) -> RunSettings {
    RunSettings {
        sampler: SamplerSpec::new(SamplerKind::Ddpm, steps),
        seed,
        labels: vec![Some(3), None],
        guidance: 2.0,
    }
}

/// A worker of `threads` model threads holding the shipped ε model under [`MODEL`].
fn shipped_eps_worker(threads: usize) -> Worker {
    let worker = Worker::spawn(
        Box::new(diffuscope::worker::CandleLoader::default()),
        threads,
        Arc::new(|| {}),
    )
    .unwrap();
    worker
        .send(Request::LoadModel {
            id: MODEL,
            source: ModelSource::Shipped("digits-eps".into()),
        })
        .unwrap();
    match worker.recv_timeout(WAIT).unwrap() {
        Event::ModelLoaded { summary, .. } => assert_eq!(summary.objective, Objective::Eps),
        other => panic!("expected ModelLoaded, got {other:?}"),
    }
    worker
}

/// Every event until run `id` ends (its Finished, Cancelled or Failed included).
fn until_end(worker: &Worker, id: u64) -> Vec<Event> {
    let mut events = Vec::new();
    loop {
        let event = worker.recv_timeout(WAIT).unwrap();
        let ends = event.run_id() == Some(id)
            && matches!(
                event,
                Event::Finished { .. } | Event::Cancelled { .. } | Event::Failed { .. }
            );
        events.push(event);
        if ends {
            return events;
        }
    }
}

#[test]
fn a_run_streams_frames_and_progress_in_order_then_finishes() {
    let s = setup(None, Duration::ZERO);
    s.worker
        .send(Request::Start {
            id: 1,
            model: MODEL,
            settings: settings(5, 1),
        })
        .unwrap();
    let events = until_end(&s.worker, 1);
    assert_eq!(events.len(), 11, "5 × (frame, progress) + finished");
    for (step, pair) in events.chunks(2).take(5).enumerate() {
        match &pair[0] {
            Event::Frame { id: 1, frame } => {
                assert_eq!((frame.step, frame.steps, frame.batch), (step, 5, 2));
                assert_eq!(frame.x_t.len(), 2 * SIDE * SIDE);
                assert_eq!(
                    frame.network_calls,
                    step + 1,
                    "guided: one call of 2B per step"
                );
                assert!(frame.guidance.is_some(), "w = 2 mixes two predictions");
            }
            other => panic!("expected a frame of run 1, got {other:?}"),
        }
        assert!(
            matches!(&pair[1], Event::Progress { id: 1, done, total: 5, .. } if *done == step + 1)
        );
    }
    match &events[10] {
        Event::Finished {
            samples,
            network_calls,
            ..
        } => {
            assert_eq!(samples.len(), 2 * SIDE * SIDE);
            assert_eq!(*network_calls, 5);
        }
        other => panic!("expected Finished, got {other:?}"),
    }
    assert_eq!(s.calls.load(Ordering::SeqCst), 5);
    assert!(
        s.wakes.load(Ordering::SeqCst) >= 12,
        "every event wakes the window"
    );
}

#[test]
fn cancel_stops_before_the_next_network_call() {
    let s = setup(None, Duration::from_millis(20));
    s.worker
        .send(Request::Start {
            id: 7,
            model: MODEL,
            settings: settings(100, 1),
        })
        .unwrap();
    // Wait for the first frame, then cancel.
    loop {
        if let Event::Frame { .. } = s.worker.recv_timeout(WAIT).unwrap() {
            break;
        }
    }
    s.worker.send(Request::Cancel(7)).unwrap();
    let events = until_end(&s.worker, 7);
    let Some(Event::Cancelled { id: 7, step }) = events.last() else {
        panic!("expected Cancelled, got {:?}", events.last());
    };
    let calls = s.calls.load(Ordering::SeqCst);
    assert!(
        *step < 100 && calls < 100,
        "stopped early: step {step}, {calls} calls"
    );
    // No call after the cancellation was seen: calls = frames sent (+ at most the one in flight).
    let frames = 1 + events
        .iter()
        .filter(|e| matches!(e, Event::Frame { .. }))
        .count();
    assert!(calls <= frames + 1, "{calls} calls for {frames} frames");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        s.calls.load(Ordering::SeqCst),
        calls,
        "nothing runs after Cancelled"
    );
}

/// What a run sent: its frames, and its finished images.
type Outcome = (Vec<diffuscope::worker::Frame>, Vec<f32>);

/// Every event until all of `ids` have ended: each finished run's outcome, and the order in which
/// the frames came (run id per frame).
fn until_all_end(worker: &Worker, ids: &[u64]) -> (Vec<Outcome>, Vec<u64>) {
    let mut outcomes: Vec<Outcome> = ids.iter().map(|_| (Vec::new(), Vec::new())).collect();
    let (mut order, mut ended) = (Vec::new(), 0);
    while ended < ids.len() {
        let event = worker.recv_timeout(WAIT).unwrap();
        let index = ids
            .iter()
            .position(|&id| event.run_id() == Some(id))
            .unwrap();
        match event {
            Event::Frame { id, frame } => {
                order.push(id);
                outcomes[index].0.push(*frame);
            }
            Event::Finished { samples, .. } => {
                outcomes[index].1 = samples;
                ended += 1;
            }
            Event::Progress { .. } => {}
            other => panic!("expected frames and Finished, got {other:?}"),
        }
    }
    (outcomes, order)
}

/// Two runs with different samplers on one worker: they move on together (their network calls
/// joined into one), both finish, and each sends exactly what it sends alone.
/// Returns how many times they were started together (see below).
fn runs_alone_and_together(worker: &Worker, first: &RunSettings, second: &RunSettings) -> usize {
    let start = |id, settings: &RunSettings| {
        worker
            .send(Request::Start {
                id,
                model: MODEL,
                settings: settings.clone(),
            })
            .unwrap();
    };
    start(1, first);
    let (alone_first, _) = until_all_end(worker, &[1]);
    start(2, second);
    let (alone_second, _) = until_all_end(worker, &[2]);
    assert!(!alone_first[0].1.is_empty() && !alone_second[0].1.is_empty());
    // Started back to back, the two runs overlap, unless this (busy) machine let the first one
    // finish before the second one's request arrived: then they are started again, at most thrice.
    for (attempt, a) in [(1, 3), (2, 13), (3, 23)] {
        let b = a + 1;
        start(a, first);
        start(b, second);
        let (together, order) = until_all_end(worker, &[a, b]);
        assert!(
            together[0] == alone_first[0],
            "the first run alone and beside the second differ"
        );
        assert!(
            together[1] == alone_second[0],
            "the second run alone and beside the first differ"
        );
        let first_of_b = order.iter().position(|&id| id == b).unwrap();
        let last_of_a = order.iter().rposition(|&id| id == a).unwrap();
        if first_of_b < last_of_a {
            return attempt;
        }
    }
    panic!("the runs never took turns");
}

#[test]
fn two_runs_take_turns_and_each_is_bit_identical_to_itself_alone() {
    let s = setup(None, Duration::ZERO);
    let mut ddim = settings(9, 7);
    ddim.sampler = SamplerSpec::new(SamplerKind::Ddim, 9);
    let attempts = runs_alone_and_together(&s.worker, &settings(6, 3), &ddim);
    // Alone, 6 and 9 calls; together, runs of one model share each turn's call: 9 (10 where the
    // first run took a turn before the second one's request arrived). An attempt where they did
    // not overlap made 6 + 9.
    let together = s.calls.load(Ordering::SeqCst) - (6 + 9) * attempts;
    assert!((9..=10).contains(&together), "{together} calls together");
}

#[test]
fn cancelling_one_run_leaves_the_others_going() {
    let s = setup(None, Duration::from_millis(2));
    for id in 1..=3 {
        s.worker
            .send(Request::Start {
                id,
                model: MODEL,
                settings: settings(30, id),
            })
            .unwrap();
    }
    s.worker.send(Request::Cancel(2)).unwrap();
    let mut ends = Vec::new();
    while ends.len() < 3 {
        match s.worker.recv_timeout(WAIT).unwrap() {
            Event::Finished { id, .. } => ends.push((id, "finished")),
            Event::Cancelled { id, .. } => ends.push((id, "cancelled")),
            Event::Failed { id, .. } => ends.push((id, "failed")),
            _ => {}
        }
    }
    ends.sort_unstable();
    assert_eq!(ends, [(1, "finished"), (2, "cancelled"), (3, "finished")]);
}

#[test]
fn a_released_model_serves_its_runs_to_the_end_and_no_new_one() {
    let s = setup(None, Duration::from_millis(2));
    s.worker
        .send(Request::Start {
            id: 1,
            model: MODEL,
            settings: settings(20, 1),
        })
        .unwrap();
    s.worker.send(Request::ReleaseModel(MODEL)).unwrap();
    s.worker
        .send(Request::Start {
            id: 2,
            model: MODEL,
            settings: settings(20, 1),
        })
        .unwrap();
    let mut ends = Vec::new();
    while ends.len() < 2 {
        match s.worker.recv_timeout(WAIT).unwrap() {
            Event::Finished { id, .. } => ends.push((id, "finished".to_owned())),
            Event::Failed { id, error } => ends.push((id, error.sentence(Lang::En))),
            _ => {}
        }
    }
    ends.sort_unstable();
    assert_eq!(ends[0], (1, "finished".to_owned()));
    assert_eq!(ends[1].0, 2);
    assert!(ends[1].1.contains("No model is loaded"), "{}", ends[1].1);
}

#[test]
fn a_panic_becomes_a_failed_event_and_the_worker_carries_on() {
    let s = setup(Some(2), Duration::ZERO);
    s.worker
        .send(Request::Start {
            id: 1,
            model: MODEL,
            settings: settings(5, 1),
        })
        .unwrap();
    let events = until_end(&s.worker, 1);
    let Some(Event::Failed { error, .. }) = events.last() else {
        panic!("expected Failed, got {:?}", events.last());
    };
    assert!(matches!(error, WorkerError::Panicked { .. }), "{error:?}");
    let sentence = error.sentence(Lang::En);
    assert!(
        sentence.contains("told to panic") && sentence.contains("carries on"),
        "{sentence}"
    );
    // The same worker runs the next request.
    s.worker
        .send(Request::Start {
            id: 2,
            model: MODEL,
            settings: settings(5, 1),
        })
        .unwrap();
    assert!(matches!(
        until_end(&s.worker, 2).last(),
        Some(Event::Finished { id: 2, .. })
    ));
}

#[test]
fn runs_need_a_model_and_a_fitting_sampler_and_bad_models_are_reported() {
    let loader = FakeLoader::new(SIDE, 100);
    let worker = Worker::spawn(Box::new(loader), 1, Arc::new(|| {})).unwrap();
    worker
        .send(Request::Start {
            id: 1,
            model: MODEL,
            settings: settings(5, 1),
        })
        .unwrap();
    assert!(matches!(
        worker.recv_timeout(WAIT).unwrap(),
        Event::Failed {
            id: 1,
            error: WorkerError::NoModel
        }
    ));
    worker
        .send(Request::LoadModel {
            id: 2,
            source: ModelSource::Shipped("broken".into()),
        })
        .unwrap();
    match worker.recv_timeout(WAIT).unwrap() {
        Event::ModelFailed { id: 2, error, .. } => {
            assert!(error.sentence(Lang::Zh).contains("broken"));
        }
        other => panic!("expected ModelFailed, got {other:?}"),
    }
    worker
        .send(Request::LoadModel {
            id: 3,
            source: ModelSource::Shipped("fake".into()),
        })
        .unwrap();
    assert!(matches!(
        worker.recv_timeout(WAIT).unwrap(),
        Event::ModelLoaded { id: 3, .. }
    ));
    let mut flow_on_eps = settings(5, 1);
    flow_on_eps.sampler = SamplerSpec::new(SamplerKind::FlowEuler, 5);
    worker
        .send(Request::Start {
            id: 2,
            model: 3,
            settings: flow_on_eps,
        })
        .unwrap();
    assert!(matches!(
        worker.recv_timeout(WAIT).unwrap(),
        Event::Failed {
            id: 2,
            error: WorkerError::Prepare(PrepareError::SamplerUnsupported { .. })
        }
    ));
}

#[test]
fn the_same_settings_give_bit_identical_frames() {
    let s = setup(None, Duration::ZERO);
    let mut runs = Vec::new();
    for id in [1, 2] {
        s.worker
            .send(Request::Start {
                id,
                model: MODEL,
                settings: settings(8, 42),
            })
            .unwrap();
        let frames: Vec<_> = until_end(&s.worker, id)
            .into_iter()
            .filter_map(|e| match e {
                Event::Frame { frame, .. } => Some(*frame),
                _ => None,
            })
            .collect();
        runs.push(frames);
    }
    assert_eq!(runs[0].len(), 8);
    assert_eq!(runs[0], runs[1]);
}

#[test]
fn a_thousand_start_cancel_cycles_neither_leak_nor_hang() {
    let s = setup(None, Duration::ZERO);
    let started = Instant::now();
    for id in 1..=1000 {
        s.worker
            .send(Request::Start {
                id,
                model: MODEL,
                settings: settings(20, id),
            })
            .unwrap();
        s.worker.send(Request::Cancel(id)).unwrap();
        let events = until_end(&s.worker, id);
        assert!(
            matches!(
                events.last(),
                Some(Event::Cancelled { .. } | Event::Finished { .. })
            ),
            "run {id}: {:?}",
            events.last()
        );
        assert!(
            events.iter().all(|e| e.run_id() == Some(id)),
            "only run {id}'s events"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(s.worker.is_alive());
    assert!(s.worker.try_recv().is_none(), "nothing left over");
}

#[test]
fn dropping_the_handle_ends_the_thread_even_mid_run() {
    let s = setup(None, Duration::from_millis(10));
    s.worker
        .send(Request::Start {
            id: 1,
            model: MODEL,
            settings: settings(1000, 1),
        })
        .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let started = Instant::now();
    drop(s.worker);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "drop waited too long"
    );
    assert!(
        s.dropped.load(Ordering::SeqCst),
        "the worker let its loader go"
    );
    let calls = s.calls.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(s.calls.load(Ordering::SeqCst), calls);
}

/// The shipped model: two runs with different samplers, alone and taking turns, give the same
/// frames and images to the bit (the network keeps nothing from one call to the next).
#[test]
fn the_shipped_model_gives_bit_identical_runs_alone_and_beside_another() {
    let worker = shipped_eps_worker(2);
    let run = |kind, steps, labels| RunSettings {
        sampler: SamplerSpec::new(kind, steps),
        seed: 5,
        labels,
        guidance: 2.0,
    };
    let _attempts = runs_alone_and_together(
        &worker,
        &run(SamplerKind::Ddim, 3, vec![Some(1), None]),
        &run(SamplerKind::Ddpm, 4, vec![Some(7); 3]),
    );
}

#[test]
fn the_shipped_model_draws_sample_k_alike_for_any_batch_size() {
    let worker = shipped_eps_worker(2);
    // DDPM draws fresh noise at every step. Guided, the network runs on 2B images; unguided, a
    // lone sample runs on its own (cut into parts, its attention queries in two blocks).
    let run = |id, batch: usize, label: Option<u32>| {
        worker
            .send(Request::Start {
                id,
                model: MODEL,
                settings: RunSettings {
                    sampler: SamplerSpec::new(SamplerKind::Ddpm, 3),
                    seed: 9,
                    labels: vec![label; batch],
                    guidance: 3.0,
                },
            })
            .unwrap();
        let pixels = 28 * 28;
        let mut first_sample = Vec::new();
        for event in until_end(&worker, id) {
            match event {
                Event::Frame { frame, .. } => first_sample.push(frame.image(&frame.x_t, 0)),
                Event::Finished { samples, .. } => first_sample.push(samples[..pixels].to_vec()),
                _ => {}
            }
        }
        first_sample
    };
    let alone = run(1, 1, Some(4));
    assert_eq!(alone.len(), 4, "three steps and the finished image");
    assert_eq!(alone, run(2, 4, Some(4)), "sample 0 alone and among four");
    let alone = run(3, 1, None);
    assert_eq!(
        alone,
        run(4, 4, None),
        "unguided: sample 0 alone and among four"
    );
}

/// The shipped model's frames and images are the same to the bit with 1, 2 and 4 model threads.
#[test]
fn the_shipped_model_gives_the_same_frames_with_1_2_and_4_threads() {
    let run_with = |threads| {
        let worker = shipped_eps_worker(threads);
        worker
            .send(Request::Start {
                id: 1,
                model: MODEL,
                settings: RunSettings {
                    sampler: SamplerSpec::new(SamplerKind::Ddpm, 3),
                    seed: 11,
                    labels: vec![Some(2), None, Some(9)],
                    guidance: 2.5,
                },
            })
            .unwrap();
        until_all_end(&worker, &[1]).0.remove(0)
    };
    let one = run_with(1);
    assert_eq!(one.0.len(), 3);
    for threads in [2, 4] {
        assert!(run_with(threads) == one, "{threads} threads differ from 1");
    }
}

/// A joined call that fails is asked again run by run, so each run gets its own answer: here the
/// network panics once, in the joined call, and both runs still finish.
#[test]
fn a_failed_joined_call_is_asked_again_run_by_run() {
    // Each call takes 50 ms, so the second run has arrived before the first run's second call
    // (the one that panics), which is then a joined call. Without the delay the first run could
    // make that call alone now and then, and fail as a lone run does (3 times in 12 here).
    let s = setup(Some(1), Duration::from_millis(50));
    for id in [1, 2] {
        s.worker
            .send(Request::Start {
                id,
                model: MODEL,
                settings: settings(4, id),
            })
            .unwrap();
    }
    let (outcomes, _) = until_all_end(&s.worker, &[1, 2]);
    assert!(
        outcomes
            .iter()
            .all(|(frames, samples)| frames.len() == 4 && !samples.is_empty())
    );
}

/// Runs of different models are not joined: each model answers its own runs, turn about.
#[test]
fn runs_of_different_models_take_turns() {
    let s = setup(None, Duration::ZERO);
    s.worker
        .send(Request::LoadModel {
            id: 2,
            source: ModelSource::Shipped("another".into()),
        })
        .unwrap();
    assert!(matches!(
        s.worker.recv_timeout(WAIT).unwrap(),
        Event::ModelLoaded { id: 2, .. }
    ));
    for (id, model) in [(1, MODEL), (2, 2)] {
        s.worker
            .send(Request::Start {
                id,
                model,
                settings: settings(5, 1),
            })
            .unwrap();
    }
    let (outcomes, order) = until_all_end(&s.worker, &[1, 2]);
    assert_eq!(
        outcomes[0], outcomes[1],
        "the same fake and settings: the same run"
    );
    assert_eq!(
        s.calls.load(Ordering::SeqCst),
        10,
        "one call per run and step"
    );
    // Turn about (the first run may take one turn before the second one's request arrives).
    assert!(order[..3].contains(&2), "{order:?}");
    assert!(
        order[..8]
            .windows(3)
            .all(|w| !(w[0] == w[1] && w[1] == w[2])),
        "{order:?}"
    );
}
