//! The MNIST IDX reader: the bundled digits, files on disk (gzip and plain), one crafted bad file
//! for every error, gzip bombs, and paths that are not ordinary files, each with a sentence in both
//! languages.
#![expect(
    clippy::unwrap_used,
    reason = "helpers of an integration test (clippy's allow-unwrap-in-tests covers only #[test] functions)"
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use diffuscope::data::file::{FileKind, FileRefusal};
use diffuscope::data::mnist::{
    self, IMAGES_MAGIC, LABELS_MAGIC, MAX_DIGITS, MnistError, PIXELS, load_bundled_digits,
    load_digits,
};
use diffuscope::i18n::Lang;
use flate2::Compression;
use flate2::write::GzEncoder;

const BUNDLED_COUNTS: [usize; 10] = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn images_file(count: u32, rows: u32, cols: u32, body_len: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    for word in [IMAGES_MAGIC, count, rows, cols] {
        bytes.extend_from_slice(&word.to_be_bytes());
    }
    bytes.extend((0..body_len).map(|i| (i % 256) as u8));
    bytes
}

fn labels_file(labels: &[u8]) -> Vec<u8> {
    labels_file_with_count(labels, labels.len() as u32)
}

fn labels_file_with_count(labels: &[u8], count: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    for word in [LABELS_MAGIC, count] {
        bytes.extend_from_slice(&word.to_be_bytes());
    }
    bytes.extend_from_slice(labels);
    bytes
}

/// Writes the two files into a fresh folder (gzip-compressed) and loads them.
fn load_pair(images: &[u8], labels: &[u8]) -> Result<mnist::Digits, MnistError> {
    let dir = tempfile::tempdir().unwrap();
    let (image_path, label_path) = write_pair(dir.path(), &gzip(images), &gzip(labels));
    load_digits(&image_path, &label_path)
}

fn write_pair(dir: &Path, images: &[u8], labels: &[u8]) -> (PathBuf, PathBuf) {
    let image_path = dir.join("images-idx3-ubyte.gz");
    let label_path = dir.join("labels-idx1-ubyte.gz");
    std::fs::write(&image_path, images).unwrap();
    std::fs::write(&label_path, labels).unwrap();
    (image_path, label_path)
}

/// Both sentences exist, differ, and name what they should.
fn check_sentences(error: &MnistError, needle: &str) {
    let en = error.sentence(Lang::En);
    let zh = error.sentence(Lang::Zh);
    assert!(en.contains(needle), "{en:?} should mention {needle:?}");
    assert!(zh.contains(needle), "{zh:?} should mention {needle:?}");
    assert_ne!(en, zh);
    assert!(en.ends_with('.'), "{en}");
    assert!(zh.ends_with('。'), "{zh}");
}

#[test]
fn bundled_digits_are_the_documented_ten_thousand() {
    let digits = load_bundled_digits().unwrap();
    assert_eq!(digits.count, 10_000);
    assert_eq!(digits.images.len(), 10_000 * PIXELS);
    assert_eq!(digits.labels.len(), 10_000);
    assert_eq!(digits.class_counts(), BUNDLED_COUNTS);
    // Every digit has some ink and a mostly empty background.
    for index in [0, 1, 4_999, 9_999] {
        let image = digits.image(index).unwrap();
        let ink = image.iter().filter(|&&b| b > 127).count();
        assert!(
            (20..400).contains(&ink),
            "digit {index}: {ink} inked pixels"
        );
        let unit = digits.image_unit(index).unwrap();
        assert_eq!(unit.len(), PIXELS);
        assert!(unit.iter().all(|v| (-1.0..=1.0).contains(v)));
        assert_eq!(unit[0], -1.0, "the corner is background");
    }
    assert!(digits.image(10_000).is_none());
}

#[test]
fn the_files_on_disk_read_the_same_as_the_bundled_ones() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/data");
    let from_disk = load_digits(
        &root.join("mnist10k-images-idx3-ubyte.gz"),
        &root.join("mnist10k-labels-idx1-ubyte.gz"),
    )
    .unwrap();
    assert_eq!(from_disk, load_bundled_digits().unwrap());
}

#[test]
fn plain_uncompressed_files_are_read_too() {
    let dir = tempfile::tempdir().unwrap();
    let images = images_file(2, 28, 28, 2 * PIXELS);
    let (image_path, label_path) = write_pair(dir.path(), &images, &labels_file(&[4, 2]));
    let digits = load_digits(&image_path, &label_path).unwrap();
    assert_eq!(digits.count, 2);
    assert_eq!(digits.labels, [4, 2]);
    assert_eq!(digits.images, images[16..]);
}

#[test]
fn an_empty_pair_is_valid_and_empty() {
    let digits = load_pair(&images_file(0, 28, 28, 0), &labels_file(&[])).unwrap();
    assert!(digits.is_empty());
}

#[test]
fn a_missing_file_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing-here.gz");
    let error = load_digits(&missing, &missing).unwrap_err();
    assert!(matches!(error, MnistError::Io { .. }), "{error:?}");
    check_sentences(&error, "nothing-here.gz");
}

#[test]
fn a_damaged_gzip_file_is_reported_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let mut damaged = gzip(&images_file(3, 28, 28, 3 * PIXELS));
    let middle = damaged.len() / 2;
    for byte in &mut damaged[10..middle] {
        *byte ^= 0x5a;
    }
    let labels = gzip(&labels_file(&[1, 2, 3]));
    let (image_path, label_path) = write_pair(dir.path(), &damaged, &labels);
    let error = load_digits(&image_path, &label_path).unwrap_err();
    assert!(matches!(error, MnistError::BadGzip { .. }), "{error:?}");
    check_sentences(&error, "images-idx3-ubyte.gz");

    // A gzip header followed by nothing useful.
    let (image_path, label_path) = write_pair(dir.path(), &[0x1f, 0x8b, 0x08, 0x00, 0xff], &labels);
    let error = load_digits(&image_path, &label_path).unwrap_err();
    assert!(
        matches!(
            error,
            MnistError::BadGzip { .. } | MnistError::Truncated { .. }
        ),
        "{error:?}"
    );
}

#[test]
fn a_gzip_stream_cut_short_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let whole = gzip(&images_file(3, 28, 28, 3 * PIXELS));
    let labels = gzip(&labels_file(&[1, 2, 3]));
    let (image_path, label_path) = write_pair(dir.path(), &whole[..whole.len() / 2], &labels);
    let error = load_digits(&image_path, &label_path).unwrap_err();
    assert!(
        matches!(
            error,
            MnistError::BadGzip { .. } | MnistError::Truncated { .. }
        ),
        "{error:?}"
    );
}

#[test]
fn swapped_files_have_the_wrong_magic() {
    let images = images_file(1, 28, 28, PIXELS);
    let labels = labels_file(&[5]);
    let error = load_pair(&labels, &images).unwrap_err();
    match &error {
        MnistError::WrongMagic {
            expected, found, ..
        } => {
            assert_eq!((*expected, *found), (IMAGES_MAGIC, LABELS_MAGIC));
        }
        other => panic!("{other:?}"),
    }
    check_sentences(&error, "0x00000803");
    assert!(error.sentence(Lang::En).contains("images"));

    let error = load_pair(&images, &images).unwrap_err();
    match &error {
        MnistError::WrongMagic {
            expected, found, ..
        } => {
            assert_eq!((*expected, *found), (LABELS_MAGIC, IMAGES_MAGIC));
        }
        other => panic!("{other:?}"),
    }
    assert!(error.sentence(Lang::En).contains("labels"));
}

#[test]
fn a_short_body_is_truncated() {
    let error =
        load_pair(&images_file(2, 28, 28, PIXELS + 100), &labels_file(&[1, 2])).unwrap_err();
    match &error {
        MnistError::Truncated {
            expected, found, ..
        } => {
            assert_eq!(*expected, 16 + 2 * PIXELS as u64);
            assert_eq!(*found, 16 + PIXELS as u64 + 100);
        }
        other => panic!("{other:?}"),
    }
    check_sentences(&error, &(16 + 2 * PIXELS).to_string());

    // Labels announced but missing.
    let error = load_pair(
        &images_file(2, 28, 28, 2 * PIXELS),
        &labels_file_with_count(&[1], 2),
    )
    .unwrap_err();
    assert!(matches!(error, MnistError::Truncated { .. }), "{error:?}");
}

#[test]
fn a_short_header_is_truncated() {
    let error = load_pair(&images_file(2, 28, 28, 0)[..10], &labels_file(&[1, 2])).unwrap_err();
    assert!(
        matches!(
            error,
            MnistError::Truncated {
                expected: 16,
                found: 10,
                ..
            }
        ),
        "{error:?}"
    );
    let error = load_pair(&[], &labels_file(&[1, 2])).unwrap_err();
    assert!(
        matches!(error, MnistError::Truncated { found: 0, .. }),
        "{error:?}"
    );
}

#[test]
fn extra_bytes_after_the_announced_data_are_refused() {
    let error = load_pair(&images_file(1, 28, 28, PIXELS + 1), &labels_file(&[1])).unwrap_err();
    assert!(
        matches!(error, MnistError::TrailingData { .. }),
        "{error:?}"
    );
    check_sentences(&error, &(16 + PIXELS).to_string());
}

#[test]
fn images_that_are_not_28_by_28_are_refused() {
    let error = load_pair(&images_file(1, 32, 32, 32 * 32), &labels_file(&[1])).unwrap_err();
    assert!(
        matches!(
            error,
            MnistError::WrongSize {
                rows: 32,
                cols: 32,
                ..
            }
        ),
        "{error:?}"
    );
    check_sentences(&error, "32×32");
}

#[test]
fn counts_that_disagree_are_refused() {
    let error = load_pair(
        &images_file(2, 28, 28, 2 * PIXELS),
        &labels_file(&[1, 2, 3]),
    )
    .unwrap_err();
    assert!(
        matches!(
            error,
            MnistError::CountMismatch {
                images: 2,
                labels: 3
            }
        ),
        "{error:?}"
    );
    check_sentences(&error, "3");
}

#[test]
fn a_label_above_nine_is_refused() {
    let error = load_pair(
        &images_file(3, 28, 28, 3 * PIXELS),
        &labels_file(&[1, 10, 2]),
    )
    .unwrap_err();
    assert!(
        matches!(
            error,
            MnistError::BadLabel {
                index: 1,
                label: 10,
                ..
            }
        ),
        "{error:?}"
    );
    check_sentences(&error, "10");
}

#[test]
fn a_gzip_bomb_announcing_billions_of_digits_is_refused_before_decompressing() {
    // The header claims four billion digits (3 TB), then 32 MB of zeros squeezed into 32 kB.
    let mut bomb = images_file(u32::MAX, 28, 28, 0);
    bomb.resize(16 + (32 << 20), 0);
    let dir = tempfile::tempdir().unwrap();
    let (image_path, label_path) = write_pair(dir.path(), &gzip(&bomb), &gzip(&labels_file(&[1])));
    let start = Instant::now();
    let error = load_digits(&image_path, &label_path).unwrap_err();
    assert!(
        matches!(
            error,
            MnistError::TooManyDigits {
                count: u32::MAX,
                ..
            }
        ),
        "{error:?}"
    );
    // Nothing was decompressed: the refusal is immediate.
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "{:?}",
        start.elapsed()
    );
    check_sentences(&error, "images-idx3-ubyte.gz");
    check_sentences(&error, &MAX_DIGITS.to_string());

    // The labels file is held to the same limit.
    let error = load_pair(
        &images_file(1, 28, 28, PIXELS),
        &labels_file_with_count(&[1], MAX_DIGITS + 1),
    )
    .unwrap_err();
    assert!(
        matches!(error, MnistError::TooManyDigits { .. }),
        "{error:?}"
    );
    check_sentences(&error, "labels-idx1-ubyte.gz");

    // Exactly the limit is allowed; this header then lacks its body.
    let error = load_pair(&images_file(MAX_DIGITS, 28, 28, 0), &labels_file(&[])).unwrap_err();
    assert!(matches!(error, MnistError::Truncated { .. }), "{error:?}");
}

#[test]
fn a_body_longer_than_announced_is_read_only_one_byte_past_its_end() {
    // Two digits announced, then 32 MB of zeros: reading stops at the announced length.
    let mut bomb = images_file(2, 28, 28, 2 * PIXELS);
    bomb.resize(16 + (32 << 20), 0);
    let error = load_pair(&bomb, &labels_file(&[1, 2])).unwrap_err();
    assert!(
        matches!(error, MnistError::TrailingData { .. }),
        "{error:?}"
    );
}

/// Nodes are made only inside temporary folders; `/dev`'s own are only looked at, never read.
#[cfg(unix)]
#[test]
fn pipes_devices_and_folders_are_refused_without_reading() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("images.fifo");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success(), "mkfifo failed");
    let labels = dir.path().join("labels.gz");
    std::fs::write(&labels, gzip(&labels_file(&[1]))).unwrap();

    let folder = dir.path().to_path_buf();
    let cases = [
        (fifo.clone(), labels.clone(), FileKind::NamedPipe, fifo),
        (
            labels.clone(),
            "/dev/zero".into(),
            FileKind::CharacterDevice,
            "/dev/zero".into(),
        ),
        (folder.clone(), labels, FileKind::Folder, folder),
    ];
    for (images, labels, kind, needle) in cases {
        if !images.exists() || !labels.exists() {
            continue;
        }
        // On a thread of its own: reading a pipe nobody writes to would wait forever.
        let (sender, receiver) = crossbeam_channel::bounded(1);
        std::thread::Builder::new()
            .name("load-under-test".to_owned())
            .spawn(move || sender.send(load_digits(&images, &labels)))
            .unwrap();
        let error = receiver
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("loading did not return within 20 s: it hangs"))
            .unwrap_err();
        assert!(
            matches!(
                &error,
                MnistError::Refused {
                    refusal: FileRefusal::NotAFile { kind: found },
                    ..
                } if *found == kind
            ),
            "{error:?}"
        );
        check_sentences(&error, &needle.display().to_string());
    }
}
