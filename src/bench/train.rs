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
            println!("step {step}: {:.0} ms", elapsed * 1e3);
            step_ms.push(elapsed * 1e3);
            last = Instant::now();
            true
        },
    )
    .map_err(|e| e.sentence(Lang::En))?;
    if let Some(median) = median_after_first(&step_ms) {
        println!("\nmedian of steps 2–{steps}: {median:.1} ms");
    }
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

/// The median of every step's time but the first (which builds the network and the optimiser);
/// `None` for fewer than two steps.
fn median_after_first(step_ms: &[f64]) -> Option<f64> {
    let mut later = step_ms.get(1..).filter(|later| !later.is_empty())?.to_vec();
    later.sort_by(f64::total_cmp);
    let middle = later.len() / 2;
    Some(if later.len() % 2 == 0 {
        f64::midpoint(later[middle - 1], later[middle])
    } else {
        later[middle]
    })
}

#[cfg(test)]
mod tests {
    use super::median_after_first;

    #[test]
    fn the_median_leaves_out_the_first_step() {
        assert_eq!(median_after_first(&[]), None);
        assert_eq!(median_after_first(&[900.0]), None);
        assert_eq!(median_after_first(&[900.0, 250.0]), Some(250.0));
        assert_eq!(
            median_after_first(&[900.0, 260.0, 240.0, 250.0]),
            Some(250.0)
        );
        assert_eq!(
            median_after_first(&[900.0, 270.0, 240.0, 250.0, 230.0]),
            Some(245.0)
        );
    }
}
