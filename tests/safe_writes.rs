//! Writes that never damage what is not ours (issue 13, items 1, 7, 8 and the write side of 9):
//! special files at the output path are written into (character devices) or refused, never
//! replaced; symbolic links are followed; a bad destination is reported before the work; a
//! set of PNG frames is written whole or not at all; temporaries are removed on SIGINT/SIGTERM
//! and, when their process is gone, by the next write into their folder; a full disk reads the
//! same for every format.
//!
//! Special files are made only inside temporary folders. `/dev/null` and `/dev/full` are only
//! looked at, or written into through a link after the check has said they are devices — never
//! renamed over.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "helpers of an integration test (clippy's allow-unwrap-in-tests covers only #[test] functions)"
)]
#![cfg(unix)]

use std::fs;
use std::os::unix::fs::FileTypeExt as _;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use diffuscope::export::atomic::{
    self, Destination, Existing, check_destination, existing_policy, is_temporary_name,
};
use diffuscope::export::{
    ExportError, GifSettings, SpecialFile, cleanup, write_frame_folder, write_gif, write_png,
};
use diffuscope::i18n::Lang;
use image::{Rgb, RgbImage};

fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("no temporary folder")
}

fn frames(n: usize) -> Vec<RgbImage> {
    (0..n)
        .map(|i| RgbImage::from_fn(8, 6, |x, y| Rgb([(x * 30) as u8, (y * 40) as u8, i as u8])))
        .collect()
}

fn png(path: &Path) -> Result<(), ExportError> {
    write_png(path, &RgbImage::from_pixel(4, 3, Rgb([9, 8, 7])))
}

fn gif(path: &Path) -> Result<(), ExportError> {
    write_gif(path, &frames(3), &GifSettings::default(), &|_| {}).map(drop)
}

/// The names in a folder, sorted.
fn names_in(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(folder)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", folder.display()))
        .map(|entry| {
            let entry = entry.unwrap();
            entry.file_name().to_string_lossy().into_owned()
        })
        .collect();
    names.sort();
    names
}

/// Temporaries of ours left in a folder.
fn leftovers(folder: &Path) -> Vec<String> {
    names_in(folder)
        .into_iter()
        .filter(|name| is_temporary_name(name.as_ref()))
        .collect()
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("cannot run mkfifo");
    assert!(status.success(), "mkfifo {} failed", path.display());
}

fn symlink(target: impl AsRef<Path>, link: &Path) {
    std::os::unix::fs::symlink(target, link).expect("cannot link");
}

fn is_link(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn assert_sentences_name(error: &ExportError, place: &Path, words_en: &str) {
    let en = error.sentence(Lang::En);
    let zh = error.sentence(Lang::Zh);
    assert_ne!(en, zh);
    for sentence in [&en, &zh] {
        assert!(
            sentence.contains(&place.display().to_string()),
            "{sentence}"
        );
    }
    assert!(en.contains(words_en), "{en}");
    assert!(en.ends_with('.') && zh.ends_with('。'), "{en} / {zh}");
}

// ---- item 1: what is at the output path -------------------------------------------------------

#[test]
fn the_policy_for_each_kind_of_thing_at_an_output_path() {
    let dir = temp_dir();
    let file = dir.path().join("file");
    fs::write(&file, "x").unwrap();
    let fifo = dir.path().join("pipe");
    mkfifo(&fifo);
    let socket = dir.path().join("socket");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).expect("cannot make a socket");
    let kind = |path: &Path| {
        fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .file_type()
    };
    assert_eq!(existing_policy(kind(&file)), Existing::Replace);
    assert_eq!(
        existing_policy(kind(dir.path())),
        Existing::Refuse(SpecialFile::Folder)
    );
    assert_eq!(
        existing_policy(kind(&fifo)),
        Existing::Refuse(SpecialFile::Pipe)
    );
    assert_eq!(
        existing_policy(kind(&socket)),
        Existing::Refuse(SpecialFile::Socket)
    );
    // Only looked at, never written here.
    assert_eq!(
        existing_policy(kind(Path::new("/dev/null"))),
        Existing::WriteInto
    );
}

#[test]
fn a_named_pipe_is_refused_and_stays_a_pipe() {
    let dir = temp_dir();
    let fifo = dir.path().join("walk.gif");
    mkfifo(&fifo);
    for write in [gif, png] {
        let error = write(&fifo).expect_err("a pipe was written");
        assert!(
            matches!(
                error,
                ExportError::NotAFile {
                    kind: SpecialFile::Pipe,
                    ..
                }
            ),
            "{error:?}"
        );
        assert_sentences_name(&error, &fifo, "named pipe");
    }
    assert!(check_destination(&fifo).is_err());
    let kind = fs::symlink_metadata(&fifo).unwrap();
    assert!(kind.file_type().is_fifo(), "the pipe was replaced");
    assert_eq!(names_in(dir.path()), ["walk.gif"]);
}

#[test]
fn a_socket_or_a_folder_at_the_path_is_refused_and_left_alone() {
    let dir = temp_dir();
    let socket = dir.path().join("still.png");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).expect("cannot make a socket");
    let error = png(&socket).expect_err("written");
    assert_sentences_name(&error, &socket, "socket");
    assert!(fs::symlink_metadata(&socket).is_ok_and(|m| m.file_type().is_socket()));

    let folder = dir.path().join("walk.gif");
    fs::create_dir(&folder).unwrap();
    fs::write(folder.join("inside.txt"), "mine").unwrap();
    for error in [
        gif(&folder).err(),
        png(&folder).err(),
        check_destination(&folder).err(),
    ] {
        let error = error.expect("a folder was written over");
        assert!(
            matches!(
                error,
                ExportError::NotAFile {
                    kind: SpecialFile::Folder,
                    ..
                }
            ),
            "{error:?}"
        );
        assert_sentences_name(&error, &folder, "is a folder");
    }
    assert_eq!(names_in(&folder), ["inside.txt"]);
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn a_link_is_followed_to_the_file_it_names_and_stays_a_link() {
    let dir = temp_dir();
    let real = dir.path().join("real.png");
    fs::write(&real, "old").unwrap();
    let link = dir.path().join("link.png");
    symlink("real.png", &link); // relative to the link's folder
    let chain = dir.path().join("chain.png");
    symlink(&link, &chain);

    assert_eq!(
        check_destination(&chain).unwrap(),
        Destination::File(real.clone())
    );
    png(&chain).unwrap();
    assert!(is_link(&link) && is_link(&chain), "a link was replaced");
    let written = image::open(&real).unwrap();
    assert_eq!((written.width(), written.height()), (4, 3));

    // A dangling link names the file to make.
    let dangling = dir.path().join("walk.gif");
    symlink("made.gif", &dangling);
    gif(&dangling).unwrap();
    assert!(is_link(&dangling));
    assert!(read(&dir.path().join("made.gif")).starts_with(b"GIF89a"));
    assert!(leftovers(dir.path()).is_empty());

    // A link into a missing folder names that folder.
    let lost = dir.path().join("lost.png");
    symlink(dir.path().join("nowhere").join("x.png"), &lost);
    let error = png(&lost).expect_err("written");
    assert!(
        matches!(error, ExportError::FolderMissing { .. }),
        "{error:?}"
    );
    assert!(error.sentence(Lang::En).contains("nowhere"));
}

#[test]
fn a_loop_of_links_is_an_error_not_a_hang() {
    let dir = temp_dir();
    let (a, b) = (dir.path().join("a.png"), dir.path().join("b.png"));
    symlink(&b, &a);
    symlink(&a, &b);
    let error = png(&a).expect_err("written");
    assert!(matches!(error, ExportError::Write { .. }), "{error:?}");
    assert!(is_link(&a) && is_link(&b));
}

/// A link in a temporary folder to a character device, once the check has said that writing
/// through it goes straight into the device (so nothing can rename over the device).
fn link_to_device(dir: &Path, device: &str) -> PathBuf {
    let link = dir.join(format!("to-{}.out", device.trim_start_matches("/dev/")));
    symlink(device, &link);
    assert_eq!(
        check_destination(&link).unwrap(),
        Destination::Device(PathBuf::from(device)),
        "the check must send {device} writes into the device"
    );
    link
}

#[test]
fn a_character_device_is_written_into_not_replaced() {
    let dir = temp_dir();
    let null = link_to_device(dir.path(), "/dev/null");
    png(&null).unwrap();
    gif(&null).unwrap();
    assert!(is_link(&null));
    let device = fs::symlink_metadata("/dev/null").unwrap();
    assert!(device.file_type().is_char_device());
    assert_eq!(
        leftovers(dir.path()),
        Vec::<String>::new(),
        "no temporary file for a device"
    );
}

#[test]
fn a_full_disk_reads_the_same_for_gifs_and_pngs() {
    let dir = temp_dir();
    let full = link_to_device(dir.path(), "/dev/full");
    for (format, error) in [("GIF", gif(&full).err()), ("PNG", png(&full).err())] {
        let error = error.unwrap_or_else(|| panic!("{format}: /dev/full took the bytes"));
        assert!(
            matches!(error, ExportError::Write { .. }),
            "{format}: {error:?}"
        );
        assert!(
            error.sentence(Lang::En).contains("the disk is full"),
            "{format}: {}",
            error.sentence(Lang::En)
        );
        assert!(
            error.sentence(Lang::Zh).contains("磁盘已满"),
            "{format}: {}",
            error.sentence(Lang::Zh)
        );
    }
    let device = fs::symlink_metadata("/dev/full").unwrap();
    assert!(device.file_type().is_char_device());
}

// ---- item 7: the destination is checked before the work ---------------------------------------

#[cfg(target_os = "linux")]
#[test]
fn a_folder_where_nothing_can_be_created_fails_the_check() {
    // sysfs lets nobody, not even root, create a file at its top.
    let path = Path::new("/sys/diffuscope-check.gif");
    let error = check_destination(path)
        .err()
        .unwrap_or_else(|| panic!("the check passed for {}", path.display()));
    assert!(matches!(error, ExportError::Write { .. }), "{error:?}");
    assert!(error.sentence(Lang::En).contains("diffuscope-check.gif"));
}

#[test]
fn the_check_leaves_nothing_behind() {
    let dir = temp_dir();
    let path = dir.path().join("walk.gif");
    assert_eq!(
        check_destination(&path).unwrap(),
        Destination::File(path.clone())
    );
    assert!(names_in(dir.path()).is_empty());
}

// ---- item 8: sets of frames, and leftovers -----------------------------------------------------

#[test]
fn a_set_of_frames_goes_into_a_new_or_empty_folder_whole() {
    let dir = temp_dir();
    let new = dir.path().join("deeper").join("frames");
    write_frame_folder(&new, &frames(3), &|_| {}).unwrap();
    assert_eq!(
        names_in(&new),
        ["frame-000.png", "frame-001.png", "frame-002.png"]
    );
    let empty = dir.path().join("empty");
    fs::create_dir(&empty).unwrap();
    write_frame_folder(&empty, &frames(2), &|_| {}).unwrap();
    assert_eq!(names_in(&empty), ["frame-000.png", "frame-001.png"]);
    assert_eq!(names_in(dir.path()), ["deeper", "empty"]);
}

#[test]
fn a_folder_that_holds_files_is_refused_and_kept_as_it_was() {
    let dir = temp_dir();
    let folder = dir.path().join("frames");
    fs::create_dir(&folder).unwrap();
    for name in ["frame-000.png", "frame-007.png", "notes.txt"] {
        fs::write(folder.join(name), name).unwrap();
    }
    let error = write_frame_folder(&folder, &frames(2), &|_| {})
        .expect_err("frames were mixed with old ones");
    assert!(
        matches!(error, ExportError::FolderNotEmpty { .. }),
        "{error:?}"
    );
    assert_sentences_name(&error, &folder, "already holds files");
    assert_eq!(
        names_in(&folder),
        ["frame-000.png", "frame-007.png", "notes.txt"]
    );
    assert_eq!(read(&folder.join("frame-000.png")), b"frame-000.png");
    assert_eq!(names_in(dir.path()), ["frames"]);
}

#[test]
fn a_set_that_fails_part_way_leaves_nothing() {
    let dir = temp_dir();
    let folder = dir.path().join("frames");
    let mut set = frames(3);
    set.insert(2, RgbImage::new(0, 0)); // the PNG encoder refuses an empty picture
    let error = write_frame_folder(&folder, &set, &|_| {}).expect_err("an empty frame was written");
    assert!(
        error.sentence(Lang::En).contains("frames"),
        "{}",
        error.sentence(Lang::En)
    );
    assert!(!folder.exists(), "a partial set was left");
    assert!(
        names_in(dir.path()).is_empty(),
        "{:?}",
        names_in(dir.path())
    );
}

/// The id of a process that has ended.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().expect("cannot run true");
    let pid = child.id();
    child.wait().unwrap();
    pid
}

fn age(path: &Path, by: Duration) {
    let file = fs::File::options()
        .write(true)
        .open(path)
        .or_else(|_| fs::File::open(path))
        .unwrap();
    let past = SystemTime::now() - by;
    file.set_modified(past).unwrap();
}

#[test]
fn stale_leftovers_of_ours_are_removed_by_the_next_write_and_nothing_else() {
    let dir = temp_dir();
    let dead = dead_pid();
    let two_minutes = Duration::from_secs(120);
    let make = |name: &str, by: Duration| {
        let path = dir.path().join(name);
        fs::write(&path, "partial").unwrap();
        age(&path, by);
    };
    let gone_old = format!(".diffuscope-{dead}-aaaaaa.part");
    let gone_fresh = format!(".diffuscope-{dead}-bbbbbb.part");
    let running = format!(".diffuscope-{}-cccccc.part", std::process::id());
    make(&gone_old, two_minutes);
    make(&gone_fresh, Duration::ZERO);
    make(&running, two_minutes);
    make(
        ".diffuscope-dddddd.part",
        Duration::from_secs(3 * 24 * 3600),
    );
    make(".diffuscope-eeeeee.part", two_minutes);
    make("notes.part", Duration::from_secs(3 * 24 * 3600));
    make(".diffuscope-settings", Duration::from_secs(3 * 24 * 3600));
    let stale_set = dir.path().join(format!(".diffuscope-{dead}-ffffff.part"));
    fs::create_dir(&stale_set).unwrap();
    fs::write(stale_set.join("frame-000.png"), "x").unwrap();
    age(&stale_set, two_minutes);

    png(&dir.path().join("still.png")).unwrap();

    let mut kept = vec![
        gone_fresh,
        running,
        ".diffuscope-eeeeee.part".to_owned(),
        ".diffuscope-settings".to_owned(),
        "notes.part".to_owned(),
        "still.png".to_owned(),
    ];
    kept.sort();
    assert_eq!(names_in(dir.path()), kept);
    // Once per folder and process: a later write does not look again.
    assert_eq!(cleanup::remove_stale_in(dir.path()), 0);
}

#[test]
fn temporary_names_carry_the_process_id() {
    let dir = temp_dir();
    let path = dir.path().join("walk.gif");
    let seen = std::sync::Mutex::new(Vec::new());
    atomic::write_atomically(&path, |out| {
        use std::io::Write as _;
        out.write_all(b"GIF89a")?;
        seen.lock().unwrap().extend(leftovers(dir.path()));
        Ok::<(), std::io::Error>(())
    })
    .unwrap();
    let seen = seen.into_inner().unwrap();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        cleanup::owner_of(seen[0].as_ref()),
        Some(std::process::id())
    );
    assert_eq!(names_in(dir.path()), ["walk.gif"]);
}

// ---- the command line ----------------------------------------------------------------------------

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_diffuscope"))
        .args(args)
        .output()
        .expect("could not run diffuscope")
}

fn text(path: &Path) -> &str {
    path.to_str().expect("not UTF-8")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A refusal: a non-zero exit with a sentence naming `place`, and no panic.
fn assert_refused(output: &Output, place: &str, words: &str) -> String {
    let message = stderr(output);
    assert!(!output.status.success(), "it succeeded: {message}");
    assert!(message.contains(place), "names {place}: {message}");
    assert!(message.contains(words), "says {words}: {message}");
    assert!(!message.contains("panicked"), "{message}");
    message
}

#[test]
fn export_refuses_a_pipe_or_a_folder_before_making_frames() {
    let dir = temp_dir();
    let fifo = dir.path().join("out.gif");
    mkfifo(&fifo);
    let folder = dir.path().join("folder.gif");
    fs::create_dir(&folder).unwrap();
    for (out, words) in [(&fifo, "named pipe"), (&folder, "is a folder")] {
        // 1001 frames of the full photo would take minutes; a refusal comes at once.
        let started = Instant::now();
        let output = run(&["export", "forward", "--frames", "1001", "--out", text(out)]);
        assert_refused(&output, text(out), words);
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "refused only after {:?}",
            started.elapsed()
        );
    }
    assert!(fs::symlink_metadata(&fifo).is_ok_and(|m| m.file_type().is_fifo()));
    assert_eq!(names_in(dir.path()), ["folder.gif", "out.gif"]);
}

#[cfg(target_os = "linux")]
#[test]
fn sample_checks_its_destinations_before_sampling() {
    let dir = temp_dir();
    let folder = dir.path().join("grid.png");
    fs::create_dir(&folder).unwrap();
    let cases = [
        ("--png", text(&folder), "is a folder"),
        ("--gif", "/sys/diffuscope-run.gif", "permission"),
    ];
    for (option, path, words) in cases {
        let output = run(&[
            "sample",
            "--device",
            "cpu",
            "--sampler",
            "ddpm",
            "--steps",
            "1000",
            option,
            path,
        ]);
        let message = assert_refused(&output, path, words);
        assert!(!message.contains("Sampled"), "it sampled first: {message}");
    }
    assert!(names_in(&folder).is_empty());
}

#[test]
fn png_dir_writes_a_whole_set_and_refuses_to_mix_sets() {
    let dir = temp_dir();
    let frames_dir = dir.path().join("frames");
    let export = |frames: &str| {
        run(&[
            "export",
            "forward",
            "--frames",
            frames,
            "--width",
            "48",
            "--png-dir",
            text(&frames_dir),
        ])
    };
    let output = export("4");
    assert!(output.status.success(), "{}", stderr(&output));
    let first = names_in(&frames_dir);
    assert_eq!(first.len(), 4, "{first:?}");

    let output = export("2");
    assert_refused(&output, text(&frames_dir), "already holds files");
    assert_eq!(names_in(&frames_dir), first, "the old set is untouched");
    assert_eq!(names_in(dir.path()), ["frames"]);
}

// ---- signals ------------------------------------------------------------------------------------

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_diffuscope"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("could not run diffuscope")
}

fn send(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .expect("cannot run kill");
    assert!(status.success(), "kill -{signal} failed");
}

/// Whether a temporary of ours in `folder` holds something yet: a file with bytes in it, or a
/// folder with a file in it.
fn writing_in(folder: &Path) -> bool {
    leftovers(folder).iter().any(|name| {
        let path = folder.join(name);
        match fs::metadata(&path) {
            Ok(m) if m.is_dir() => fs::read_dir(&path).is_ok_and(|mut e| e.next().is_some()),
            Ok(m) => m.len() > 0,
            Err(_) => false,
        }
    })
}

/// Runs `args` (which write into `folder`) and sends `signal` as soon as a temporary of ours
/// there holds something. Retries with larger work (`args_for(attempt)`) when the write
/// finished before it could be caught. Returns the exit status of the interrupted process.
fn interrupt_mid_write(
    folder: &Path,
    signal: &str,
    args_for: &dyn Fn(usize) -> Vec<String>,
) -> std::process::ExitStatus {
    for attempt in 0..5 {
        let args = args_for(attempt);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut child = spawn(&args);
        let started = Instant::now();
        loop {
            if writing_in(folder) {
                send(&child, signal);
                return child.wait().unwrap();
            }
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success(), "{args:?} failed on its own: {status}");
                break; // finished before we caught it: try again, larger
            }
            assert!(
                started.elapsed() < Duration::from_secs(300),
                "{args:?} never started writing"
            );
            std::thread::sleep(Duration::from_micros(300));
        }
        for name in names_in(folder) {
            let path = folder.join(name);
            let _ = fs::remove_dir_all(&path).or_else(|_| fs::remove_file(&path));
        }
    }
    panic!("the write was never caught in the act after 5 tries");
}

fn export_args(frames: usize, width: usize, out: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "export",
        "forward",
        "--schedule",
        "linear",
        "--steps",
        "1000",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.extend([
        "--frames".to_owned(),
        frames.min(1001).to_string(),
        "--width".to_owned(),
        width.to_string(),
    ]);
    args.extend(out.iter().map(|s| (*s).to_owned()));
    args
}

#[test]
fn sigterm_during_a_set_of_frames_leaves_nothing() {
    let dir = temp_dir();
    let frames_dir = dir.path().join("frames");
    let status = interrupt_mid_write(dir.path(), "TERM", &|attempt| {
        export_args(40 << attempt, 160, &["--png-dir", text(&frames_dir)])
    });
    assert_eq!(status.signal(), Some(15), "{status}");
    assert!(!frames_dir.exists(), "a partial set was left");
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
}

#[test]
fn sigint_or_sigterm_during_a_gif_leaves_no_temporary_file() {
    for (signal, number) in [("INT", 2), ("TERM", 15)] {
        let dir = temp_dir();
        let out = dir.path().join("walk.gif");
        let status = interrupt_mid_write(dir.path(), signal, &|attempt| {
            export_args(100 << attempt, 400, &["--out", text(&out)])
        });
        assert_eq!(status.signal(), Some(number), "{signal}: {status}");
        assert_eq!(leftovers(dir.path()), Vec::<String>::new(), "{signal}");
        // Either no GIF, or (had the rename just happened) a whole one.
        if out.exists() {
            assert!(read(&out).ends_with(b";"), "{signal}: a partial GIF");
        }
    }
}

#[test]
fn a_kill_leaves_a_temporary_that_the_next_write_removes() {
    let dir = temp_dir();
    let out = dir.path().join("walk.gif");
    let status = interrupt_mid_write(dir.path(), "KILL", &|attempt| {
        export_args(100 << attempt, 400, &["--out", text(&out)])
    });
    assert_eq!(status.signal(), Some(9));
    let left = leftovers(dir.path());
    assert!(
        !left.is_empty(),
        "SIGKILL cannot be caught, so something is left"
    );
    for name in &left {
        age(&dir.path().join(name), Duration::from_secs(120));
    }
    let output = run(&[
        "export",
        "forward",
        "--frames",
        "2",
        "--width",
        "32",
        "--out",
        text(&dir.path().join("next.gif")),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
}
