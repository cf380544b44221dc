//! `diffuscope bench train`: the time of one training step of the shipped network's size on the
//! bundled digits (the first step includes building the network and the optimiser); with
//! `--json`, a last line for `training/bench_reference.py --ours -`, which times PyTorch's step
//! beside it.

use std::time::Instant;

use crate::data::mnist::load_bundled_digits;
use crate::i18n::Lang;
use crate::train::{TrainConfig, train};

/// Trains `steps` steps of `batch` digits into a temporary folder and prints each step's time,
/// then, when `json`, all of them as one line of JSON.
pub fn train_bench(steps: usize, batch: usize, json: bool) -> Result<(), String> {
    println!(
        "diffuscope bench train — {steps} steps of {batch} digits, the shipped network's size, {} threads\n",
        rayon::current_num_threads()
    );
    let digits = load_bundled_digits().map_err(|e| e.sentence(Lang::En))?;
    let folder = tempfile::tempdir().map_err(|e| format!("no temporary folder: {e}"))?;
    let config = TrainConfig {
        steps,
        batch,
        save_every: steps + 1,
        command: "diffuscope bench train".to_owned(),
        ..TrainConfig::default()
    };
    let mut last = Instant::now();
    let mut step = 0;
    let mut step_ms = Vec::with_capacity(steps);
    train(
        &config,
        &digits,
        &folder.path().join("bench.safetensors"),
        false,
        &mut |_| {
            step += 1;
            let elapsed = last.elapsed().as_secs_f64();
            println!("step {step}: {elapsed:.2} s");
            step_ms.push(elapsed * 1e3);
            last = Instant::now();
            true
        },
    )
    .map_err(|e| e.sentence(Lang::En))?;
    if json {
        let step_ms: Vec<String> = step_ms.iter().map(|ms| format!("{ms:.3}")).collect();
        println!(
            r#"{{"bench": "train", "batch": {batch}, "threads": {}, "step_ms": [{}]}}"#,
            rayon::current_num_threads(),
            step_ms.join(", ")
        );
    }
    Ok(())
}
