//! Temporary files and folders that never outlive their purpose.
//!
//! Every temporary the program makes beside a destination is a [`Temporary`]: its name says it is
//! ours and which process made it (`.diffuscope-<pid>-<random>.part`), and while it exists it is
//! listed in a register of temporaries in flight. Three things remove it:
//!
//! - its owner, when the write fails or the temporary is renamed into place (dropping a
//!   `Temporary` that was not renamed removes it);
//! - on Unix, the handler that [`remove_leftovers_on_signals`] installs: on SIGINT, SIGTERM or SIGHUP
//!   it removes every temporary in flight and then ends the process as the signal would have
//!   (so the shell still sees "killed by SIGTERM", exit status 143);
//! - [`remove_stale_in`], on the first write into a folder: a `.part` of ours whose process is
//!   gone (a `kill -9`, a power cut) and that nobody has touched for a minute, or any `.part` of
//!   ours untouched for a day. A file of a process that is still running is never removed, nor
//!   anything whose name is not ours.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

/// Every temporary name starts with this (then the process id, a dash and random letters).
const PREFIX: &str = ".diffuscope-";
/// …and ends with this.
const SUFFIX: &str = ".part";
/// A leftover of a process that is gone is removed once untouched this long (a process of the
/// same id on another computer sharing the folder may still be writing it).
const GONE_AFTER: Duration = Duration::from_secs(60);
/// Any leftover of ours untouched this long is removed, whoever made it.
const ABANDONED_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// The temporaries in flight: (path, whether it is a folder).
static IN_FLIGHT: Mutex<Vec<(PathBuf, bool)>> = Mutex::new(Vec::new());
/// The folders already tidied by [`remove_stale_in`] in this process.
static TIDIED: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

fn in_flight() -> MutexGuard<'static, Vec<(PathBuf, bool)>> {
    IN_FLIGHT.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A temporary file or folder of ours, removed when dropped unless it was renamed into place.
#[derive(Debug)]
pub struct Temporary {
    path: PathBuf,
    is_folder: bool,
    /// Set once renamed into place: nothing is left to remove.
    placed: bool,
}

impl Temporary {
    /// Creates a new, empty temporary file in `folder` (with the permissions of an ordinary new
    /// file) and registers it.
    pub fn file_in(folder: &Path) -> io::Result<(File, Self)> {
        let prefix = temp_prefix();
        let mut register = in_flight();
        let (file, path) = builder(&prefix, 0o666).tempfile_in(folder)?.into_parts();
        let path = path.keep().map_err(|error| error.error)?;
        register.push((path.clone(), false));
        Ok((file, Self::new(path, false)))
    }

    /// Creates a new, empty temporary folder in `parent` (with the permissions of an ordinary new
    /// folder) and registers it.
    pub fn folder_in(parent: &Path) -> io::Result<Self> {
        let prefix = temp_prefix();
        let mut register = in_flight();
        let path = builder(&prefix, 0o777).tempdir_in(parent)?.keep();
        register.push((path.clone(), true));
        Ok(Self::new(path, true))
    }

    fn new(path: PathBuf, is_folder: bool) -> Self {
        Self {
            path,
            is_folder,
            placed: false,
        }
    }

    /// Where the temporary is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the temporary to `target` (replacing a file there, or an empty folder where the
    /// system allows it). On failure the temporary is still removed when dropped.
    pub fn rename_to(mut self, target: &Path) -> io::Result<()> {
        fs::rename(&self.path, target)?;
        self.placed = true;
        Ok(())
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        let mut register = in_flight();
        if !self.placed {
            remove(&self.path, self.is_folder);
        }
        register.retain(|(path, _)| path != &self.path);
    }
}

/// Removes a temporary, quietly: it may already be gone.
fn remove(path: &Path, is_folder: bool) {
    let _gone = if is_folder {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
}

/// Temporary names are hidden, name the program and the process (`prefix`), and get the
/// permissions of an ordinary new file or folder (`mode`, which the umask then narrows, exactly as
/// for one made the ordinary way).
fn builder(prefix: &str, mode: u32) -> tempfile::Builder<'_, 'static> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix).suffix(SUFFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = mode;
    builder
}

fn temp_prefix() -> String {
    format!("{PREFIX}{}-", std::process::id())
}

/// Whether `name` is the name of one of our temporaries (of any process).
pub fn is_temporary_name(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy();
    name.starts_with(PREFIX) && name.ends_with(SUFFIX)
}

/// The process that made a temporary of ours, when its name says (names made before the process
/// id was added to them do not).
pub fn owner_of(name: &std::ffi::OsStr) -> Option<u32> {
    let name = name.to_str()?;
    let rest = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    let (pid, _random) = rest.split_once('-')?;
    pid.parse().ok()
}

/// Whether a process of this id runs on this computer; `None` where this cannot be told.
fn is_running(pid: u32) -> Option<bool> {
    if cfg!(target_os = "linux") && Path::new("/proc/self").exists() {
        Some(Path::new("/proc").join(pid.to_string()).exists())
    } else {
        None
    }
}

/// Whether a leftover of ours named `name`, untouched for `age`, can be removed.
fn is_stale(name: &std::ffi::OsStr, age: Duration) -> bool {
    if !is_temporary_name(name) {
        return false;
    }
    let gone = owner_of(name).and_then(is_running) == Some(false);
    (gone && age >= GONE_AFTER) || age >= ABANDONED_AFTER
}

/// Removes the stale temporaries of ours in `folder` (see the module documentation); only the
/// first call for a folder in a process looks. Returns how many it removed.
pub fn remove_stale_in(folder: &Path) -> usize {
    let first_time = {
        let mut tidied = TIDIED.lock().unwrap_or_else(PoisonError::into_inner);
        let key = fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf());
        tidied.get_or_insert_with(HashSet::new).insert(key)
    };
    if !first_time {
        return 0;
    }
    let Ok(entries) = fs::read_dir(folder) else {
        return 0;
    };
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !is_temporary_name(&name) {
            continue;
        }
        // `symlink_metadata`: a link is never followed, and never removed (we make none).
        let Ok(metadata) = fs::symlink_metadata(entry.path()) else {
            continue;
        };
        let kind = metadata.file_type();
        if !(kind.is_file() || kind.is_dir()) {
            continue;
        }
        let age = metadata
            .modified()
            .ok()
            .and_then(|modified| now.duration_since(modified).ok())
            .unwrap_or_default();
        if is_stale(&name, age) {
            remove(&entry.path(), kind.is_dir());
            removed += 1;
        }
    }
    removed
}

/// Removes every temporary in flight and keeps the register locked, so no new one starts: for
/// a process about to end.
fn remove_all_in_flight() -> MutexGuard<'static, Vec<(PathBuf, bool)>> {
    let register = in_flight();
    for (path, is_folder) in register.iter() {
        remove(path, *is_folder);
    }
    register
}

/// On Unix, installs a handler for SIGINT (Ctrl-C), SIGTERM and SIGHUP that removes every
/// temporary in flight and then ends the process as the signal would have. Call it once, at the
/// start of `main`. Elsewhere it does nothing (leftovers are then removed by the next write into
/// their folder).
pub fn remove_leftovers_on_signals() -> io::Result<()> {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
        std::thread::Builder::new()
            .name("signal-cleanup".to_owned())
            .spawn(move || {
                if let Some(signal) = signals.forever().next() {
                    let _register = remove_all_in_flight();
                    // Ends the process; if it cannot, leave with the status a shell expects.
                    let _ended = signal_hook::low_level::emulate_default_handler(signal);
                    std::process::exit(128 + signal);
                }
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn names_say_whose_they_are() {
        assert!(is_temporary_name(OsStr::new(".diffuscope-123-abc.part")));
        assert!(is_temporary_name(OsStr::new(".diffuscope-abc123.part")));
        assert!(!is_temporary_name(OsStr::new("out.gif")));
        assert_eq!(owner_of(OsStr::new(".diffuscope-123-abc.part")), Some(123));
        assert_eq!(owner_of(OsStr::new(".diffuscope-abc123.part")), None);
        assert!(temp_prefix().starts_with(PREFIX));
    }

    #[test]
    fn only_leftovers_of_ours_that_nobody_writes_are_stale() {
        let minute = Duration::from_secs(61);
        let mine = format!("{}abc.part", temp_prefix());
        assert!(!is_stale(OsStr::new(&mine), minute), "this process runs");
        assert!(!is_stale(OsStr::new("notes.part"), ABANDONED_AFTER * 2));
        assert!(is_stale(OsStr::new(&mine), ABANDONED_AFTER));
        assert!(is_stale(
            OsStr::new(".diffuscope-abc123.part"),
            ABANDONED_AFTER
        ));
        assert!(!is_stale(OsStr::new(".diffuscope-abc123.part"), minute));
    }
}
