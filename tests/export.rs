//! The export writers: GIFs and PNGs that decode to what was written, atomic writes that leave
//! nothing behind on failure, error sentences that name the place, and captions.
#![expect(
    clippy::unwrap_used,
    reason = "helpers of an integration test (clippy's allow-unwrap-in-tests covers only #[test] functions)"
)]

use std::fs;
use std::io::Write as _;
use std::path::Path;
use std::sync::Mutex;

use diffuscope::export::{
    self, ExportError, GifSettings, Repeat, add_caption, caption_height, write_gif, write_png,
};
use diffuscope::i18n::Lang;
use image::{Rgb, RgbImage};

/// `n` frames of `width × height`, each a different pattern of a few colours (so the GIF keeps
/// them exactly).
fn frames(n: usize, width: u32, height: u32) -> Vec<RgbImage> {
    (0..n)
        .map(|i| {
            RgbImage::from_fn(width, height, |x, y| {
                let v = ((x + y + i as u32 * 7) % 16 * 16) as u8;
                Rgb([v, 255 - v, (i * 40 % 256) as u8])
            })
        })
        .collect()
}

/// A colourful frame with far more than 256 colours (quantised, not kept exactly).
fn photo_like(width: u32, height: u32, seed: u32) -> RgbImage {
    let mut state = seed;
    RgbImage::from_fn(width, height, |x, y| {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let noise = (state >> 27) as u8;
        Rgb([
            (x * 255 / width) as u8 ^ noise,
            (y * 255 / height) as u8,
            ((x + y) % 256) as u8 / 2 + noise,
        ])
    })
}

fn settings(fps: f32, repeat: Repeat) -> GifSettings {
    GifSettings {
        fps,
        repeat,
        hold_last_s: 0.0,
        tolerance: 0,
    }
}

/// What a GIF decodes to.
struct Decoded {
    width: u16,
    height: u16,
    delays_cs: Vec<u16>,
    repeat: gif::Repeat,
    frames: Vec<Vec<u8>>,
}

fn decode(path: &Path) -> Decoded {
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::RGBA);
    let mut decoder = options.read_info(fs::File::open(path).unwrap()).unwrap();
    let (width, height) = (decoder.width(), decoder.height());
    let mut delays_cs = Vec::new();
    let mut frames = Vec::new();
    // What a viewer shows: each frame drawn over the last (frames may cover only a rectangle and
    // leave pixels transparent).
    let mut screen = vec![0_u8; usize::from(width) * usize::from(height) * 3];
    while let Some(frame) = decoder.read_next_frame().unwrap() {
        if frames.is_empty() {
            assert_eq!((frame.width, frame.height), (width, height));
        }
        assert!(frame.left + frame.width <= width && frame.top + frame.height <= height);
        assert_eq!(frame.dispose, gif::DisposalMethod::Keep);
        delays_cs.push(frame.delay);
        let patch_width = usize::from(frame.width);
        for (i, pixel) in frame.buffer.chunks_exact(4).enumerate() {
            if pixel[3] == 0 {
                continue;
            }
            let (x, y) = (
                usize::from(frame.left) + i % patch_width,
                usize::from(frame.top) + i / patch_width,
            );
            let at = (y * usize::from(width) + x) * 3;
            screen[at..at + 3].copy_from_slice(&pixel[..3]);
        }
        frames.push(screen.clone());
    }
    Decoded {
        width,
        height,
        delays_cs,
        repeat: decoder.repeat(),
        frames,
    }
}

/// The names in a folder, sorted.
fn names_in(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn no_progress(_: usize) {}

#[test]
fn gif_round_trips_frames_size_delay_and_endless_loop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("walk.gif");
    let written = frames(7, 40, 30);
    write_gif(
        &path,
        &written,
        &settings(10.0, Repeat::Forever),
        &no_progress,
    )
    .unwrap();

    let decoded = decode(&path);
    assert_eq!((decoded.width, decoded.height), (40, 30));
    assert_eq!(decoded.delays_cs, vec![10; 7]);
    // Forever is the NETSCAPE loop count 0, which the decoder reports as infinite.
    assert_eq!(decoded.repeat, gif::Repeat::Infinite);
    // Frames of few colours are kept exactly.
    for (decoded, written) in decoded.frames.iter().zip(&written) {
        assert_eq!(decoded, written.as_raw());
    }
    assert_eq!(names_in(dir.path()), ["walk.gif"]);
}

#[test]
fn gif_repeats_a_set_number_of_times() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("three.gif");
    write_gif(
        &path,
        &frames(2, 8, 8),
        &settings(5.0, Repeat::Times(3)),
        &no_progress,
    )
    .unwrap();
    let decoded = decode(&path);
    assert_eq!(decoded.repeat, gif::Repeat::Finite(3));
    assert_eq!(decoded.delays_cs, vec![20, 20]);
}

#[test]
fn gif_played_once_has_no_loop_extension() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("once.gif");
    write_gif(
        &path,
        &frames(2, 8, 8),
        &settings(10.0, Repeat::Times(0)),
        &no_progress,
    )
    .unwrap();
    assert_eq!(decode(&path).repeat, gif::Repeat::Finite(0));
    let bytes = fs::read(&path).unwrap();
    assert!(!bytes.windows(11).any(|w| w == b"NETSCAPE2.0"));
}

#[test]
fn gif_delay_is_rounded_and_at_least_two_centiseconds() {
    let dir = tempfile::tempdir().unwrap();
    for (fps, delay_cs) in [(12.0, 8), (24.0, 4), (60.0, 2), (200.0, 2), (0.5, 200)] {
        let path = dir.path().join(format!("fps{fps}.gif"));
        write_gif(
            &path,
            &frames(3, 8, 8),
            &settings(fps, Repeat::Forever),
            &no_progress,
        )
        .unwrap();
        assert_eq!(decode(&path).delays_cs, vec![delay_cs; 3], "at {fps} fps");
    }
}

#[test]
fn gif_of_many_colours_stays_close_to_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("photo.gif");
    let written: Vec<RgbImage> = (0..4).map(|i| photo_like(120, 80, i)).collect();
    write_gif(&path, &written, &GifSettings::default(), &no_progress).unwrap();
    let decoded = decode(&path);
    assert_eq!(decoded.frames.len(), 4);
    for (decoded, written) in decoded.frames.iter().zip(&written) {
        let squared: f64 = decoded
            .iter()
            .zip(written.as_raw())
            .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
            .sum();
        let psnr = 10.0 * (255.0_f64.powi(2) / (squared / decoded.len() as f64)).log10();
        assert!(psnr > 28.0, "PSNR {psnr:.1} dB");
    }
}

#[test]
fn gif_progress_counts_every_frame_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let reported = Mutex::new(Vec::new());
    write_gif(
        &dir.path().join("progress.gif"),
        &frames(12, 16, 16),
        &GifSettings::default(),
        &|done| reported.lock().unwrap().push(done),
    )
    .unwrap();
    assert_eq!(reported.into_inner().unwrap(), (1..=12).collect::<Vec<_>>());
}

#[test]
fn no_frames_is_an_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let error = write_gif(
        &dir.path().join("empty.gif"),
        &[],
        &GifSettings::default(),
        &no_progress,
    )
    .unwrap_err();
    assert!(matches!(error, ExportError::NoFrames), "{error:?}");
    assert!(!error.sentence(Lang::En).is_empty());
    assert!(!error.sentence(Lang::Zh).is_empty());
    assert!(names_in(dir.path()).is_empty());
}

#[test]
fn frames_of_different_sizes_are_an_error_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.gif");
    let mut mixed = frames(2, 10, 10);
    mixed.push(RgbImage::new(11, 10));
    let error = write_gif(&path, &mixed, &GifSettings::default(), &no_progress).unwrap_err();
    assert!(matches!(error, ExportError::Encode { .. }), "{error:?}");
    assert!(error.sentence(Lang::En).contains("mixed.gif"));
    assert!(names_in(dir.path()).is_empty());
}

#[test]
fn missing_folder_is_named_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-folder");
    let path = missing.join("walk.gif");

    let error = write_gif(
        &path,
        &frames(2, 8, 8),
        &GifSettings::default(),
        &no_progress,
    )
    .unwrap_err();
    assert!(
        matches!(error, ExportError::FolderMissing { .. }),
        "{error:?}"
    );
    for lang in Lang::ALL {
        let sentence = error.sentence(lang);
        assert!(
            sentence.contains(&missing.display().to_string()),
            "{sentence}"
        );
    }
    let error = write_png(&path, &RgbImage::new(4, 4)).unwrap_err();
    assert!(
        matches!(error, ExportError::FolderMissing { .. }),
        "{error:?}"
    );

    assert!(names_in(dir.path()).is_empty());
}

#[test]
fn folder_that_is_a_file_is_named_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.txt");
    fs::write(&file, "keep me").unwrap();

    for path in [file.join("walk.gif"), file.join("deeper").join("walk.gif")] {
        let error = write_gif(
            &path,
            &frames(2, 8, 8),
            &GifSettings::default(),
            &no_progress,
        )
        .unwrap_err();
        assert!(
            matches!(
                error,
                ExportError::NotAFolder { .. } | ExportError::FolderMissing { .. }
            ),
            "{error:?}"
        );
        for lang in Lang::ALL {
            let sentence = error.sentence(lang);
            assert!(sentence.contains(&file.display().to_string()), "{sentence}");
        }
        let error = write_png(&path, &RgbImage::new(4, 4)).unwrap_err();
        assert!(
            error
                .sentence(Lang::En)
                .contains(&file.display().to_string())
        );
    }

    assert_eq!(names_in(dir.path()), ["notes.txt"]);
    assert_eq!(fs::read_to_string(&file).unwrap(), "keep me");
}

#[test]
fn writing_over_a_file_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("walk.gif");
    fs::write(&path, "an old file, longer than nothing").unwrap();
    write_gif(
        &path,
        &frames(3, 8, 8),
        &GifSettings::default(),
        &no_progress,
    )
    .unwrap();
    assert_eq!(decode(&path).frames.len(), 3);

    let png = dir.path().join("still.png");
    fs::write(&png, "old").unwrap();
    write_png(&png, &RgbImage::new(5, 6)).unwrap();
    assert_eq!(image::open(&png).unwrap().to_rgb8().dimensions(), (5, 6));

    assert_eq!(names_in(dir.path()), ["still.png", "walk.gif"]);
}

#[test]
fn a_failed_write_leaves_the_old_file_and_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("walk.gif");
    fs::write(&path, "old content").unwrap();

    let error = export::atomic::write_atomically(&path, |out| {
        out.write_all(b"half a fi")?;
        Err(std::io::Error::other("the disk went away"))
    })
    .unwrap_err();
    assert!(matches!(error, ExportError::Write { .. }), "{error:?}");
    assert!(error.sentence(Lang::En).contains("walk.gif"));
    assert!(error.sentence(Lang::Zh).contains("walk.gif"));
    assert_eq!(fs::read_to_string(&path).unwrap(), "old content");
    assert_eq!(names_in(dir.path()), ["walk.gif"]);
}

#[test]
fn a_folder_in_the_way_is_an_error_and_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("walk.gif");
    fs::create_dir(&path).unwrap();
    fs::write(path.join("inside.txt"), "x").unwrap();

    let error = write_gif(
        &path,
        &frames(2, 8, 8),
        &GifSettings::default(),
        &no_progress,
    )
    .unwrap_err();
    assert!(matches!(error, ExportError::NotAFile { .. }), "{error:?}");
    assert!(error.sentence(Lang::En).contains("walk.gif"));
    assert_eq!(names_in(dir.path()), ["walk.gif"]);
    assert!(path.is_dir());
}

#[cfg(unix)]
#[test]
fn written_files_get_ordinary_permissions() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let ordinary = dir.path().join("ordinary");
    fs::write(&ordinary, "x").unwrap();
    let png = dir.path().join("still.png");
    write_png(&png, &RgbImage::new(2, 2)).unwrap();
    let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
    // Not the 0600 of a temporary file: whatever the umask gives a new file.
    assert_eq!(mode(&png), mode(&ordinary));
}

#[test]
fn a_bare_file_name_goes_into_the_current_folder() {
    // Only the folder check: the current folder exists, so the error (if any) is not about it.
    assert!(export::atomic::check_folder(Path::new("walk.gif")).is_ok());
}

#[test]
fn png_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("still.png");
    let written = photo_like(33, 21, 9);
    write_png(&path, &written).unwrap();
    assert_eq!(image::open(&path).unwrap().to_rgb8(), written);
    assert_eq!(names_in(dir.path()), ["still.png"]);
}

#[test]
fn sentences_differ_by_language_and_end_in_a_full_stop() {
    let errors = [
        ExportError::NoFrames,
        ExportError::FolderMissing {
            folder: "/x/y".into(),
        },
        ExportError::NotAFolder {
            folder: "/x/y".into(),
        },
        ExportError::Write {
            path: "/x/y.gif".into(),
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        },
        ExportError::Write {
            path: "/x/y.gif".into(),
            source: std::io::Error::other("odd"),
        },
        ExportError::Encode {
            path: "/x/y.gif".into(),
            detail: "too big".into(),
        },
    ];
    for error in &errors {
        let (en, zh) = (error.sentence(Lang::En), error.sentence(Lang::Zh));
        assert_ne!(en, zh);
        assert!(en.ends_with('.'), "{en}");
        assert!(zh.ends_with('。'), "{zh}");
        assert!(!error.to_string().is_empty());
    }
}

fn is_light(pixel: &Rgb<u8>) -> bool {
    pixel.0.iter().all(|&c| c > 160)
}

/// The light pixels of the caption band.
fn light_in_band(captioned: &RgbImage, image_height: u32) -> usize {
    captioned
        .enumerate_pixels()
        .filter(|&(_, y, p)| y >= image_height && is_light(p))
        .count()
}

#[test]
fn caption_adds_a_band_below_the_image() {
    let image = RgbImage::from_pixel(451, 300, Rgb([250, 250, 250]));
    let captioned = add_caption(&image, "t = 500 / 1000");
    assert_eq!(captioned.width(), 451);
    assert_eq!(captioned.height(), 300 + caption_height(451));
    assert!(caption_height(451) >= 14);
    // The image is untouched.
    for (x, y, pixel) in image.enumerate_pixels() {
        assert_eq!(captioned.get_pixel(x, y), pixel);
    }
    // The band is dark where there is no text...
    assert!(captioned.get_pixel(2, 305).0.iter().all(|&c| c < 60));
    // ... and the text is light.
    assert!(light_in_band(&captioned, 300) > 50);
}

#[test]
fn caption_band_grows_with_the_width_and_has_a_minimum() {
    let small = add_caption(&RgbImage::new(28, 28), "x");
    assert_eq!(small.height(), 28 + 14);
    let wide = add_caption(&RgbImage::new(1000, 10), "x");
    assert_eq!(wide.height(), 10 + 70);
}

#[test]
fn caption_renders_chinese() {
    let image = RgbImage::new(300, 200);
    let zhong = add_caption(&image, "简体中文");
    let wen = add_caption(&image, "中文简体");
    assert!(light_in_band(&zhong, 200) > 40);
    // Real glyphs, not four identical boxes: the order of the characters shows.
    assert_ne!(zhong, wen);
}

#[test]
fn caption_text_is_centred() {
    let image = RgbImage::new(400, 100);
    let captioned = add_caption(&image, "MMMM");
    let xs: Vec<u32> = captioned
        .enumerate_pixels()
        .filter(|&(_, y, p)| y >= 100 && is_light(p))
        .map(|(x, _, _)| x)
        .collect();
    let (left, right) = (*xs.iter().min().unwrap(), *xs.iter().max().unwrap());
    let (gap_left, gap_right) = (left, 399 - right);
    assert!(
        gap_left.abs_diff(gap_right) <= 3,
        "{gap_left} vs {gap_right}"
    );
}

#[test]
fn empty_caption_is_just_a_band() {
    let captioned = add_caption(&RgbImage::new(100, 50), "");
    assert_eq!(light_in_band(&captioned, 50), 0);
}

/// A grey picture with a small bright square at `x`: most pixels stay as they were between frames.
fn moving_square(width: u32, height: u32, x: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |px, py| {
        if (x..x + 4).contains(&px) && (10..14).contains(&py) {
            Rgb([250, 200, 40])
        } else {
            Rgb([90, 90, 90])
        }
    })
}

#[test]
fn later_frames_hold_only_what_changed_and_decode_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("square.gif");
    let written: Vec<RgbImage> = (0..8)
        .map(|i| moving_square(200, 100, 20 + 5 * i))
        .collect();
    write_gif(&path, &written, &GifSettings::default(), &no_progress).unwrap();
    let decoded = decode(&path);
    for (decoded, written) in decoded.frames.iter().zip(&written) {
        assert_eq!(decoded, written.as_raw());
    }
    // Every frame after the first covers only the two squares' rectangle.
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::Indexed);
    let mut decoder = options.read_info(fs::File::open(&path).unwrap()).unwrap();
    let mut areas = Vec::new();
    while let Some(frame) = decoder.read_next_frame().unwrap() {
        areas.push(u32::from(frame.width) * u32::from(frame.height));
    }
    assert_eq!(areas[0], 200 * 100);
    assert!(areas[1..].iter().all(|&area| area <= 9 * 4), "{areas:?}");
}

#[test]
fn many_colours_with_still_parts_stay_close_to_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("half.gif");
    // The left half is the same photo-like picture in every frame, the right half changes.
    let still = photo_like(120, 80, 1);
    let written: Vec<RgbImage> = (0..4)
        .map(|i| {
            let moving = photo_like(120, 80, 10 + i);
            RgbImage::from_fn(120, 80, |x, y| {
                if x < 60 {
                    *still.get_pixel(x, y)
                } else {
                    *moving.get_pixel(x, y)
                }
            })
        })
        .collect();
    write_gif(&path, &written, &GifSettings::default(), &no_progress).unwrap();
    let decoded = decode(&path);
    for (decoded, written) in decoded.frames.iter().zip(&written) {
        let squared: f64 = decoded
            .iter()
            .zip(written.as_raw())
            .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
            .sum();
        let psnr = 10.0 * (255.0_f64.powi(2) / (squared / decoded.len() as f64)).log10();
        assert!(psnr > 28.0, "PSNR {psnr:.1} dB");
    }
}

mod size_limit {
    use super::*;
    use diffuscope::data::bundled::BundledPhoto;
    use diffuscope::diffusion::forward::Noising;
    use diffuscope::diffusion::{NoiseSchedule, ScheduleConfig};
    use diffuscope::export::budget::{ByteSize, estimate, write_within};
    use diffuscope::export::forward::{Sweep, SweepAnimation, SweepPlan, caption};

    /// Runs `work` on the cat's sweep with `frames` frames `width` pixels wide.
    fn with_cat<R>(frames: usize, width: usize, work: impl FnOnce(&SweepAnimation<'_>) -> R) -> R {
        let loaded = BundledPhoto::Cat.load().unwrap();
        let schedule = NoiseSchedule::new(ScheduleConfig::default());
        let sweep = Sweep {
            picture: &loaded.picture,
            schedule: &schedule,
            noising: Noising::Jump,
            seed: 0,
            frames,
            width,
        };
        let text = |t| caption(t, &schedule, Noising::Jump);
        work(&SweepAnimation::new(sweep, &text))
    }

    /// Frames are made and encoded as many at a time as there are threads, and written in order:
    /// the file is the same bytes with 1, 2 or 4 threads, with and without a size limit (which
    /// estimates on all threads and stops a try early).
    #[test]
    fn the_file_is_the_same_with_1_2_and_4_threads() {
        let dir = tempfile::tempdir().unwrap();
        for limit in [None, Some(ByteSize(150_000))] {
            let files: Vec<Vec<u8>> = [1, 2, 4]
                .into_iter()
                .map(|threads| {
                    let pool = rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .build()
                        .unwrap();
                    let path = dir.path().join(format!("cat-{threads}.gif"));
                    let settings = GifSettings::default();
                    pool.install(|| {
                        with_cat(13, 200, |cat| {
                            write_within(&path, cat, &settings, limit, &|| {}).unwrap()
                        })
                    });
                    fs::read(&path).unwrap()
                })
                .collect();
            assert!(files[0] == files[1] && files[0] == files[2], "{limit:?}");
        }
    }

    #[test]
    fn the_estimate_is_close_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cat.gif");
        let settings = GifSettings::default();
        let (expected, written) = with_cat(30, 120, |cat| {
            let plan = SweepPlan {
                frames: 30,
                width: 120,
            };
            let expected = estimate(cat, &plan, &settings);
            let written = write_within(&path, cat, &settings, None, &|| {}).unwrap();
            (expected, written)
        });
        assert!(written.as_chosen);
        assert_eq!(written.frames, 30);
        assert_eq!(fs::metadata(&path).unwrap().len(), written.size.0);
        let ratio = expected.0 as f64 / written.size.0 as f64;
        assert!(
            (0.8..1.25).contains(&ratio),
            "expected {expected}, wrote {}",
            written.size
        );
    }

    #[test]
    fn the_estimate_with_drifting_pixels_is_close_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cat.gif");
        let settings = GifSettings {
            tolerance: 4,
            ..GifSettings::default()
        };
        let plan = SweepPlan {
            frames: 30,
            width: 120,
        };
        let (expected, written) = with_cat(30, 120, |cat| {
            let expected = estimate(cat, &plan, &settings);
            (
                expected,
                write_within(&path, cat, &settings, None, &|| {}).unwrap(),
            )
        });
        let ratio = expected.0 as f64 / written.size.0 as f64;
        assert!(
            (0.8..1.25).contains(&ratio),
            "expected {expected}, wrote {}",
            written.size
        );
    }

    #[test]
    fn a_limit_is_met_with_fewer_frames_or_a_smaller_width() {
        let dir = tempfile::tempdir().unwrap();
        let settings = GifSettings::default();
        let full = dir.path().join("full.gif");
        let small = dir.path().join("small.gif");
        let (whole, fitted, limit) = with_cat(30, 120, |cat| {
            let whole = write_within(&full, cat, &settings, None, &|| {}).unwrap();
            let limit = ByteSize(whole.size.0 / 3);
            let fitted = write_within(&small, cat, &settings, Some(limit), &|| {}).unwrap();
            (whole, fitted, limit)
        });
        assert_eq!((whole.frames, whole.plan.width), (30, 120));
        assert!(!fitted.as_chosen);
        let bytes = fs::metadata(&small).unwrap().len();
        assert_eq!(bytes, fitted.size.0);
        assert!(bytes <= limit.0, "{bytes} bytes over the limit {limit}");
        // Not needlessly small either.
        assert!(bytes > limit.0 / 2, "{bytes} bytes for a limit of {limit}");
        // Fewer frames come first; the width goes down only once frames are at 24.
        assert!(fitted.plan.frames < 30);
        assert!(fitted.plan.width == 120 || fitted.plan.frames <= 24);
        let decoded = decode(&small);
        assert_eq!(decoded.frames.len(), fitted.frames);
        assert_eq!(usize::from(decoded.width), fitted.plan.width);
    }

    #[test]
    fn a_limit_too_small_for_any_plan_is_a_sentence_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tiny.gif");
        let error = with_cat(10, 120, |cat| {
            write_within(
                &path,
                cat,
                &GifSettings::default(),
                Some(ByteSize(2_000)),
                &|| {},
            )
        })
        .unwrap_err();
        assert!(matches!(error, ExportError::TooLarge { .. }), "{error:?}");
        assert!(
            error.sentence(Lang::En).contains("2 kB"),
            "{}",
            error.sentence(Lang::En)
        );
        assert!(error.sentence(Lang::Zh).contains("2 kB"));
        assert!(names_in(dir.path()).is_empty());
    }
}
