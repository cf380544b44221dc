//! The command line as a user meets it: `export forward` writes a GIF (and PNG frames) that other
//! decoders read; bad input ends with a sentence and a non-zero exit, leaving no file behind.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "helpers of an integration test (clippy's allow-unwrap-in-tests covers only #[test] functions)"
)]

use std::path::Path;
use std::process::{Command, Output};

fn diffuscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_diffuscope"))
        .args(args)
        .output()
        .expect("could not run diffuscope")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn gif_facts(path: &Path) -> (usize, u16, u16, Vec<u16>) {
    let file = std::fs::File::open(path).unwrap();
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::RGBA);
    let mut decoder = options.read_info(file).unwrap();
    let (width, height) = (decoder.width(), decoder.height());
    let mut delays = Vec::new();
    while let Some(frame) = decoder.read_next_frame().unwrap() {
        delays.push(frame.delay);
    }
    (delays.len(), width, height, delays)
}

#[test]
fn export_forward_writes_a_gif_and_pngs() {
    let dir = tempfile::tempdir().unwrap();
    let gif = dir.path().join("forward.gif");
    let pngs = dir.path().join("frames");
    let output = diffuscope(&[
        "export",
        "forward",
        "--schedule",
        "linear",
        "--steps",
        "100",
        "--frames",
        "6",
        "--fps",
        "10",
        "--width",
        "200",
        "--out",
        gif.to_str().unwrap_or_default(),
        "--png-dir",
        pngs.to_str().unwrap_or_default(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let (frames, width, height, delays) = gif_facts(&gif);
    assert_eq!(frames, 6);
    assert_eq!(width, 200);
    assert!(
        height > 133,
        "caption band below the 200×133 image, got {height}"
    );
    assert!(delays.iter().all(|&d| d == 10), "{delays:?}");
    let written = std::fs::read_dir(&pngs).unwrap().count();
    assert_eq!(written, 6);
    let first = image::open(pngs.join("frame-000.png")).unwrap();
    assert_eq!((first.width(), u32::from(height)), (200, first.height()));
}

#[test]
fn a_non_image_gives_a_sentence_and_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.png");
    std::fs::write(&text, "these are lesson notes, not a picture").unwrap();
    let gif = dir.path().join("out.gif");
    let output = diffuscope(&[
        "export",
        "forward",
        "--image",
        text.to_str().unwrap_or_default(),
        "--out",
        gif.to_str().unwrap_or_default(),
    ]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("PNG, JPEG"),
        "the sentence says what works: {message}"
    );
    assert!(!message.contains("panicked"), "{message}");
    assert!(!gif.exists());
}

#[test]
fn a_lesson_that_is_not_one_stops_before_the_window_opens() {
    let dir = tempfile::tempdir().unwrap();
    let newer = dir.path().join("week9.diffuscope.json");
    std::fs::write(&newer, r#"{"format": "diffuscope-lesson", "version": 99}"#).unwrap();
    let output = diffuscope(&[newer.to_str().unwrap_or_default()]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(message.contains("newer Diffuscope"), "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");
    // In Chinese with --lang zh.
    let output = diffuscope(&["--lang", "zh", newer.to_str().unwrap_or_default()]);
    assert!(stderr(&output).contains("更新版本"), "{}", stderr(&output));
}

#[test]
fn an_unwritable_destination_gives_a_sentence_and_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, "a file where a folder should be").unwrap();
    let gif = blocker.join("forward.gif");
    let output = diffuscope(&[
        "export",
        "forward",
        "--frames",
        "3",
        "--out",
        gif.to_str().unwrap_or_default(),
    ]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("not-a-folder"),
        "the sentence names the place: {message}"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(
        left.len(),
        1,
        "nothing but the blocking file is left behind"
    );
}

#[test]
fn help_documents_every_option() {
    let output = diffuscope(&["export", "forward", "--help"]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for option in [
        "--image",
        "--schedule",
        "--steps",
        "--zero-snr",
        "--mode",
        "--seed",
        "--frames",
        "--fps",
        "--width",
        "--repeat",
        "--max-size",
        "--out",
        "--png-dir",
        "--lang",
    ] {
        assert!(help.contains(option), "{option} is not documented:\n{help}");
    }
}

#[test]
fn export_forward_keeps_the_gif_under_a_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let gif = dir.path().join("small.gif");
    let output = diffuscope(&[
        "export",
        "forward",
        "--frames",
        "30",
        "--width",
        "200",
        "--max-size",
        "300kB",
        "--out",
        gif.to_str().unwrap_or_default(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains("Expected size: ≈"), "{message}");
    assert!(message.contains("to stay under 300 kB"), "{message}");
    let bytes = std::fs::metadata(&gif).unwrap().len();
    assert!(bytes <= 300_000, "{bytes} bytes");
    // The frames written are the ones the message names.
    let (frames, width, _, _) = gif_facts(&gif);
    assert!(
        message.contains(&format!("({frames} frames,")),
        "{frames} frames: {message}"
    );
    assert!(
        message.contains(&format!("{width} px wide")),
        "{width} px: {message}"
    );
    assert!(frames < 30 || width < 200);
}

#[test]
fn a_size_that_is_not_a_size_is_refused_by_name() {
    let output = diffuscope(&["export", "forward", "--max-size", "five", "--out", "x.gif"]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains("--max-size"), "{message}");
    assert!(message.contains("5MB"), "the sentence shows how: {message}");
    assert!(!Path::new("x.gif").exists());
}

#[test]
fn help_lists_the_window_flags() {
    let output = diffuscope(&["--help"]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--view",
        "--lang",
        "--image",
        "--sampler",
        "--steps",
        "--samples",
        "--generate",
        "--zoom",
        "--fullscreen",
        "--frame-stats",
    ] {
        assert!(help.contains(flag), "{flag} is not documented:\n{help}");
    }
    assert!(
        help.contains("Ctrl+="),
        "the zoom keys are mentioned:\n{help}"
    );
}

#[test]
fn bad_window_flags_are_refused_before_the_window_opens() {
    for (args, named) in [
        (&["--lang", "fr"][..], "--lang"),
        (&["--sampler", "euler-a"][..], "--sampler"),
        (&["--steps", "0"][..], "--steps"),
        (&["--zoom", "7"][..], "--zoom"),
    ] {
        let output = diffuscope(args);
        assert!(!output.status.success(), "{args:?} was accepted");
        let message = stderr(&output);
        assert!(message.contains(named), "{args:?}: {message}");
        assert!(!message.contains("window could not open"), "{message}");
    }
    // The window and `sample` take the same sampler names, listed when one is wrong.
    for args in [
        &["--sampler", "euler-a"][..],
        &["sample", "--sampler", "euler-a"],
    ] {
        let message = stderr(&diffuscope(args));
        assert!(
            message.contains("ddpm") && message.contains("flow-heun"),
            "{args:?}: {message}"
        );
    }
}

#[test]
fn a_window_image_that_is_not_one_stops_with_the_loaders_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.png");
    std::fs::write(&text, "these are lesson notes, not a picture").unwrap();
    let expected = diffuscope::data::load::load_picture_from_path(&text)
        .expect_err("the notes decode as a picture")
        .sentence(diffuscope::i18n::Lang::En);
    let output = diffuscope(&["--lang", "en", "--image", text.to_str().unwrap_or_default()]);
    assert!(!output.status.success());
    assert_eq!(stderr(&output).trim(), format!("diffuscope: {expected}"));
}

#[test]
fn race_writes_the_lanes_side_by_side_as_a_gif_and_a_png() {
    let dir = tempfile::tempdir().unwrap();
    let gif = dir.path().join("race.gif");
    let png = dir.path().join("race.png");
    let output = diffuscope(&[
        "race",
        "--lanes",
        "ddim:3,dpm:2",
        "--class",
        "7",
        "--grid",
        "1x1",
        "--seed",
        "1",
        "--scale",
        "2",
        "--gif",
        gif.to_str().unwrap_or_default(),
        "--png",
        png.to_str().unwrap_or_default(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    // The clock: calls 1, 2, 3 (the 2-call lane finishes at 2).
    let (frames, width, _, _) = gif_facts(&gif);
    assert_eq!(frames, 3);
    // Two lanes of one 28-pixel digit enlarged twice, 8 pixels apart.
    assert_eq!(width, 2 * 56 + 8);
    assert_eq!(image::open(&png).unwrap().width(), u32::from(width));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("DDIM 3 ↔ DPM-Solver++ 2"), "{stdout}");
}

#[test]
fn a_race_of_one_lane_or_a_lane_that_does_not_read_is_refused_by_name() {
    for lanes in ["ddim:5", "ddim:5,euler-a:5", "ddim:0,ddim:5"] {
        let output = diffuscope(&["race", "--lanes", lanes, "--gif", "x.gif"]);
        assert_eq!(output.status.code(), Some(2), "{lanes}");
        let message = stderr(&output);
        assert!(message.contains("--lanes"), "{lanes}: {message}");
        assert_eq!(message.trim_end().lines().count(), 1, "{lanes}: {message}");
    }
}

#[test]
fn toy_trains_samples_and_writes_csv_and_gif() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, gif) = (dir.path().join("toy.csv"), dir.path().join("toy.gif"));
    let output = diffuscope(&[
        "toy",
        "--data",
        "eight-gaussians",
        "--steps",
        "100",
        "--samples",
        "300",
        "--sample-steps",
        "10",
        "--csv",
        csv.to_str().unwrap(),
        "--gif",
        gif.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("trained 100 steps") && stdout.contains("modes covered"),
        "{stdout}"
    );
    let points = diffuscope::toy::points_file::read_points(&csv).unwrap();
    assert_eq!(points.len(), 300);
    // 16 forward frames, then x_T and one frame per sampler step; 480 + the caption band high.
    let (frames, width, height, delays) = gif_facts(&gif);
    assert_eq!((frames, width), (16 + 11, 480));
    assert!(height > 480);
    assert!(
        delays.last() > delays.first(),
        "the last frame is held: {delays:?}"
    );
}

#[test]
fn toy_refuses_bad_points_files_in_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    for (text, expected) in [
        ("x,y\n1,2\n3,oops\n", "Line 3 of"),
        ("", "holds no points"),
        ("\u{0}\u{ff}\u{fe}", "is not a point"),
    ] {
        std::fs::write(&bad, text).unwrap();
        let output = diffuscope(&["toy", "--points", bad.to_str().unwrap(), "--steps", "1"]);
        assert!(!output.status.success());
        let said = stderr(&output);
        assert!(
            said.contains(expected) && said.trim().lines().count() == 1,
            "{said}"
        );
    }
    let output = diffuscope(&["toy", "--points", dir.path().to_str().unwrap()]);
    assert!(
        stderr(&output).contains("is a folder"),
        "{}",
        stderr(&output)
    );
    let output = diffuscope(&["toy", "--model", "vae", "--gif", "x.gif", "--steps", "1"]);
    assert!(
        stderr(&output).contains("--model diffusion"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_diffusers_scheduler_config_drives_the_sampler_or_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("ddim.png");
    let config = "assets/schedulers/ddim-diffusers-rule.json";
    let output = diffuscope(&[
        "sample",
        "--scheduler-config",
        config,
        "--steps",
        "3",
        "--grid",
        "1x1",
        "--png",
        png.to_str().unwrap_or_default(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(image::open(&png).unwrap().width(), 28 * 4);
    // The config describes an ε model: the v model is refused, naming the file, in one line.
    let output = diffuscope(&[
        "sample",
        "--model",
        "digits-v",
        "--scheduler-config",
        config,
        "--judge",
    ]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("prediction type") && message.contains(config),
        "{message}"
    );
    // One sentence after the device line.
    assert_eq!(
        message
            .lines()
            .filter(|l| l.starts_with("diffuscope:"))
            .count(),
        1,
        "{message}"
    );
}

/// `--model` takes a diffusers pipeline folder: sampled by the folder's own scheduler unless
/// `--sampler` says otherwise; a broken folder is one sentence naming the file, and no PNG.
#[test]
fn sample_takes_a_diffusers_pipeline_folder() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/diffusers_unet");
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("imported.png");
    let png_arg = png.to_str().unwrap_or_default();
    let pipeline = golden.join("pipeline");
    let folder = pipeline.to_str().unwrap_or_default();
    let args = [
        "sample", "--model", folder, "--steps", "3", "--grid", "2x1", "--png", png_arg,
    ];
    let output = diffuscope(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    let picture = image::open(&png).unwrap();
    assert_eq!(
        picture.width(),
        2 * picture.height() + 4 * 2,
        "two 28×28 tiles, scale 4, one gap"
    );
    std::fs::remove_file(&png).unwrap();

    let output = diffuscope(&[
        "sample",
        "--model",
        folder,
        "--sampler",
        "ddim",
        "--steps",
        "3",
        "--png",
        png_arg,
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    std::fs::remove_file(&png).unwrap();

    // A unet folder alone (no model_index.json) is not a pipeline: said, naming the file.
    let unet_only = golden.join("two-heads");
    let output = diffuscope(&[
        "sample",
        "--model",
        unet_only.to_str().unwrap_or_default(),
        "--png",
        png_arg,
    ]);
    assert!(!output.status.success());
    let said = stderr(&output);
    assert!(said.contains("model_index.json"), "{said}");
    assert_eq!(
        said.trim_end()
            .lines()
            .filter(|l| l.starts_with("diffuscope:"))
            .count(),
        1,
        "{said}"
    );
    assert!(!png.exists(), "a refused model writes no picture");
}

/// Copies the files of `from` (one level of folders deep) into `to`.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// The golden pipeline with its RGB network (16×8, three channels), made in `dir`.
fn rgb_pipeline(dir: &Path) -> std::path::PathBuf {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/diffusers_unet");
    let root = dir.join("rgb");
    copy_tree(&golden.join("pipeline"), &root);
    std::fs::remove_dir_all(root.join("unet")).unwrap();
    copy_tree(&golden.join("rgb-scale-shift"), &root.join("unet"));
    root
}

/// An RGB pipeline folder is sampled in colour: the PNG's tiles are the network's 16×8 and their
/// pixels are not grey.
#[test]
fn sample_draws_an_rgb_pipeline_in_colour() {
    let dir = tempfile::tempdir().unwrap();
    let root = rgb_pipeline(dir.path());
    let png = dir.path().join("colour.png");
    let output = diffuscope(&[
        "sample",
        "--model",
        root.to_str().unwrap_or_default(),
        "--sampler",
        "ddim",
        "--steps",
        "4",
        "--grid",
        "2x1",
        "--scale",
        "1",
        "--png",
        png.to_str().unwrap_or_default(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let picture = image::open(&png).unwrap().to_rgb8();
    assert_eq!(
        (picture.width(), picture.height()),
        (2 * 8 + 2, 16),
        "two 16×8 tiles side by side, one gap of 2"
    );
    let coloured = picture
        .pixels()
        .filter(|p| p[0] != p[1] || p[1] != p[2])
        .count();
    assert!(coloured > 100, "only {coloured} pixels are not grey");
}

/// What reads 28×28 grey digits refuses a colour model in one sentence, before any work: the
/// quality measures and `sample --judge`.
#[test]
fn the_digit_measures_refuse_a_colour_model_by_its_shape() {
    let dir = tempfile::tempdir().unwrap();
    let root = rgb_pipeline(dir.path());
    let folder = root.to_str().unwrap_or_default();
    let csv = dir.path().join("q.csv");
    let png = dir.path().join("j.png");
    for (args, said) in [
        (
            vec![
                "eval",
                "--model",
                folder,
                "--samples",
                "10",
                "--csv",
                csv.to_str().unwrap_or_default(),
            ],
            "The quality measures read 28×28 grey digits, and this model makes 16×8 RGB images.",
        ),
        (
            vec![
                "sample",
                "--model",
                folder,
                "--judge",
                "--png",
                png.to_str().unwrap_or_default(),
            ],
            "The digit classifier judges 28×28 digits, and this model makes images of 16×8 RGB",
        ),
    ] {
        let output = diffuscope(&args);
        assert!(!output.status.success());
        let message = stderr(&output);
        assert!(message.contains(said), "{message}");
    }
    assert!(!csv.exists() && !png.exists());
}

/// `--write-scheduler-config` writes the config a run follows back out, every field as it came;
/// a run that follows none says so and writes nothing.
#[test]
fn sample_writes_the_scheduler_config_it_follows_back_out() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/diffusers_unet");
    let pipeline = golden.join("pipeline");
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("one.png");
    let config = dir.path().join("scheduler_config.json");
    let run = |model: &str| {
        diffuscope(&[
            "sample",
            "--model",
            model,
            "--steps",
            "2",
            "--grid",
            "1x1",
            "--png",
            png.to_str().unwrap_or_default(),
            "--write-scheduler-config",
            config.to_str().unwrap_or_default(),
        ])
    };
    let output = run(pipeline.to_str().unwrap_or_default());
    assert!(output.status.success(), "{}", stderr(&output));
    let read = |path: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let original = read(&pipeline.join("scheduler/scheduler_config.json"));
    assert_eq!(read(&config), original);
    std::fs::remove_file(&config).unwrap();

    let output = run("digits-eps");
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("follows none"),
        "{}",
        stderr(&output)
    );
    assert!(!config.exists());
}

#[test]
fn eval_loss_writes_each_models_loss_against_t_and_refuses_a_bad_model() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("loss.csv");
    let output = diffuscope(&[
        "eval-loss",
        "--model",
        "digits-eps,digits-flow",
        "--levels",
        "3",
        "--digits",
        "4",
        "--csv",
        csv.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        table.contains("eps loss") && table.contains("flow loss"),
        "{table}"
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "model,objective,fraction,t,sigma,snr,loss,x0_error"
    );
    // Three levels a model: (1/3)², (2/3)², 1 of the way; t for ε, σ for flow.
    assert_eq!(lines.len(), 1 + 2 * 3);
    assert!(
        lines[3].starts_with("digits-eps,eps,1.000000,1000,-,"),
        "{}",
        lines[3]
    );
    assert!(
        lines[4].starts_with("digits-flow,flow,0.111111,-,0.111111,"),
        "{}",
        lines[4]
    );
    for line in &lines[1..] {
        let loss: f64 = line.split(',').nth(6).unwrap().parse().unwrap();
        assert!(loss.is_finite() && loss > 0.0, "{line}");
    }

    let missing = dir.path().join("nothing.safetensors");
    let output = diffuscope(&["eval-loss", "--model", missing.to_str().unwrap()]);
    assert!(!output.status.success());
    let said = stderr(&output);
    assert_eq!(
        said.trim().lines().count(),
        2,
        "the device line, then one sentence: {said}"
    );
}
