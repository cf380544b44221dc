//! Writing a file all at once or not at all, and never over something that is not a file.
//!
//! What is at the output path decides how it is written ([`existing_policy`]):
//!
//! - nothing, or an ordinary file: the bytes go to a hidden temporary file of ours in the same
//!   folder ([`Temporary`]), which is flushed, synced and then renamed over the path, so a failure
//!   leaves the old file (or nothing) and no temporary behind;
//! - a symbolic link: the chain of links is followed to the file it names (which need not exist
//!   yet), and that file is written as above, so the link stays a link;
//! - a character device such as `/dev/null`, `/dev/full` or a terminal: the bytes are written
//!   straight into it, with no temporary file and no rename (a device is never replaced);
//! - a folder, a named pipe (FIFO), a socket or a block device: refused with a sentence naming
//!   what it is ([`ExportError::NotAFile`]) — replacing one would damage something that is not
//!   ours, and a pipe would hang the program until someone reads it.
//!
//! [`check_destination`] applies the same rules, and tries creating a file in the folder, before
//! any slow work, so a command fails at once rather than after minutes of sampling.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::ExportError;
use super::cleanup::{self, Temporary};
use super::error::SpecialFile;

pub use super::cleanup::is_temporary_name;

/// At most this many symbolic links are followed (as Linux does) before giving up.
const MAX_LINKS: usize = 40;

/// Why the body of an atomic write failed; [`write_atomically`] adds the path.
#[derive(Debug)]
pub enum WriteFailure {
    /// The operating system refused a write.
    Io(io::Error),
    /// The encoder rejected the data.
    Encode(String),
}

impl From<io::Error> for WriteFailure {
    fn from(error: io::Error) -> Self {
        Self::Io(error)
    }
}

impl From<gif::EncodingError> for WriteFailure {
    fn from(error: gif::EncodingError) -> Self {
        match error {
            gif::EncodingError::Io(error) => Self::Io(error),
            other => Self::Encode(other.to_string()),
        }
    }
}

impl From<image::ImageError> for WriteFailure {
    fn from(error: image::ImageError) -> Self {
        match error {
            image::ImageError::IoError(error) => Self::Io(error),
            other => Self::Encode(other.to_string()),
        }
    }
}

/// What the body of a write writes into: a buffered file that remembers the first error the
/// system reported, so a full disk reads "the disk is full" whichever encoder wrapped the error
/// on its way back (the PNG encoder turns it into text).
pub type Output = BufWriter<Sink>;

/// A file that remembers the first error the system reported while writing it.
#[derive(Debug)]
pub struct Sink {
    file: File,
    first_error: Option<io::Error>,
}

impl Sink {
    fn new(file: File) -> Self {
        Self {
            file,
            first_error: None,
        }
    }

    fn remember<T>(&mut self, result: io::Result<T>) -> io::Result<T> {
        if let Err(error) = &result
            && error.kind() != io::ErrorKind::Interrupted
            && self.first_error.is_none()
        {
            self.first_error = Some(copy_of(error));
        }
        result
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let result = self.file.write(buf);
        self.remember(result)
    }

    fn flush(&mut self) -> io::Result<()> {
        let result = self.file.flush();
        self.remember(result)
    }
}

/// An error of the same kind and system code (`io::Error` cannot be cloned).
fn copy_of(error: &io::Error) -> io::Error {
    error.raw_os_error().map_or_else(
        || io::Error::new(error.kind(), error.to_string()),
        io::Error::from_raw_os_error,
    )
}

/// What the program does with something that already exists at an output path (after following
/// symbolic links).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existing {
    /// An ordinary file: replaced by renaming a finished temporary file over it.
    Replace,
    /// A character device (`/dev/null`, a terminal): written straight into, never replaced.
    WriteInto,
    /// Anything else: left alone, with a sentence saying what it is.
    Refuse(SpecialFile),
}

/// The rule for each kind of thing at an output path (see the module documentation).
pub fn existing_policy(file_type: fs::FileType) -> Existing {
    if file_type.is_file() {
        return Existing::Replace;
    }
    if file_type.is_dir() {
        return Existing::Refuse(SpecialFile::Folder);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if file_type.is_char_device() {
            return Existing::WriteInto;
        }
        if file_type.is_fifo() {
            return Existing::Refuse(SpecialFile::Pipe);
        }
        if file_type.is_socket() {
            return Existing::Refuse(SpecialFile::Socket);
        }
        if file_type.is_block_device() {
            return Existing::Refuse(SpecialFile::BlockDevice);
        }
    }
    Existing::Refuse(SpecialFile::Other)
}

/// Where a write to an output path goes, once checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// An ordinary file, new or to be replaced, at this path (symbolic links followed): written
    /// to a temporary file in its folder, then renamed over it.
    File(PathBuf),
    /// A character device at this path (links followed): written straight into.
    Device(PathBuf),
}

/// The folder a file at `path` goes into (`.` for a bare file name).
pub fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Follows the chain of symbolic links at `path` to the path it ends at, which need not exist
/// (a link to a file not yet made names where to make it).
pub fn follow_links(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..=MAX_LINKS {
        match fs::symlink_metadata(&current) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                // A relative link is relative to the folder the link is in.
                current = folder_of(&current).join(fs::read_link(&current)?);
            }
            Ok(_) => return Ok(current),
            // Nothing there (or a file where a folder should be): the folder check says which.
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                return Ok(current);
            }
            Err(error) => return Err(error),
        }
    }
    // The system's own error for a loop ("too many levels of symbolic links"), where it has one.
    Err(fs::metadata(path)
        .err()
        .unwrap_or_else(|| io::Error::other("too many symbolic links")))
}

/// Checks that the folder `path` goes into exists and is a folder, so that an export can fail
/// before any slow encoding rather than after it.
pub fn check_folder(path: &Path) -> Result<(), ExportError> {
    let folder = folder_of(path);
    match fs::metadata(folder) {
        Ok(metadata) if metadata.is_dir() => Ok(()),
        Ok(_) => Err(ExportError::NotAFolder {
            folder: folder.to_path_buf(),
        }),
        Err(error)
            if matches!(
                error.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            Err(ExportError::FolderMissing {
                folder: folder.to_path_buf(),
            })
        }
        Err(source) => Err(ExportError::Write {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Where a write to `path` would go, by the rules of the module documentation, without writing
/// or creating anything.
fn classify(path: &Path) -> Result<Destination, ExportError> {
    let write_error = |source| ExportError::Write {
        path: path.to_path_buf(),
        source,
    };
    let target = follow_links(path).map_err(write_error)?;
    match fs::metadata(&target) {
        Ok(metadata) => match existing_policy(metadata.file_type()) {
            Existing::Replace => {
                check_folder(&target)?;
                Ok(Destination::File(target))
            }
            Existing::WriteInto => Ok(Destination::Device(target)),
            Existing::Refuse(kind) => Err(ExportError::NotAFile {
                path: path.to_path_buf(),
                kind,
            }),
        },
        Err(error)
            if matches!(
                error.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            check_folder(&target)?;
            Ok(Destination::File(target))
        }
        Err(source) => Err(write_error(source)),
    }
}

/// Checks, before any slow work, that a file can be written at `path`: what is there (if
/// anything) may be written by the rules of the module documentation, its folder exists, and a
/// file can be created in that folder (one is made and removed again). Stale temporaries of ours
/// in the folder are removed on the way.
pub fn check_destination(path: &Path) -> Result<Destination, ExportError> {
    let destination = classify(path)?;
    if let Destination::File(target) = &destination {
        let folder = folder_of(target);
        cleanup::remove_stale_in(folder);
        Temporary::file_in(folder).map_err(|source| ExportError::Write {
            path: path.to_path_buf(),
            source,
        })?;
    }
    Ok(destination)
}

/// Writes the file at `path` through `write`, atomically (see the module documentation).
///
/// For a file, the bytes go to a hidden temporary file in the same folder, which is flushed,
/// synced and then renamed over the file (replacing one already there). If anything fails — the
/// folder, the body, the flush or the rename — the temporary file is removed and the file is left
/// as it was. A character device is written straight into; anything else is refused.
pub fn write_atomically<E>(
    path: &Path,
    write: impl FnOnce(&mut Output) -> Result<(), E>,
) -> Result<(), ExportError>
where
    E: Into<WriteFailure>,
{
    match classify(path)? {
        Destination::File(target) => write_beside(path, &target, write),
        Destination::Device(device) => write_into_device(path, &device, write),
    }
}

/// The ordinary case: a temporary file beside `target`, renamed over it once complete.
fn write_beside<E: Into<WriteFailure>>(
    path: &Path,
    target: &Path,
    write: impl FnOnce(&mut Output) -> Result<(), E>,
) -> Result<(), ExportError> {
    let io_error = |source| ExportError::Write {
        path: path.to_path_buf(),
        source,
    };
    let folder = folder_of(target);
    cleanup::remove_stale_in(folder);
    // `temporary` removes the file when dropped, which every early return below does.
    let (file, temporary) = Temporary::file_in(folder).map_err(io_error)?;
    let file = run_body(path, file, write)?;
    file.sync_all().map_err(io_error)?;
    drop(file);
    // Something may have appeared at the target while we wrote: never rename over it.
    if let Ok(metadata) = fs::symlink_metadata(target)
        && let Existing::Refuse(kind) = refusal(metadata.file_type())
    {
        return Err(ExportError::NotAFile {
            path: path.to_path_buf(),
            kind,
        });
    }
    temporary.rename_to(target).map_err(io_error)
}

/// What is at a path we are about to rename over, judged without following links (a link that
/// appeared there would be replaced, not followed, so it counts as something else).
fn refusal(file_type: fs::FileType) -> Existing {
    if file_type.is_symlink() {
        Existing::Refuse(SpecialFile::Other)
    } else {
        match existing_policy(file_type) {
            Existing::WriteInto => Existing::Refuse(SpecialFile::Other),
            other => other,
        }
    }
}

/// A character device: opened for writing (never created, never truncated) and written into.
fn write_into_device<E: Into<WriteFailure>>(
    path: &Path,
    device: &Path,
    write: impl FnOnce(&mut Output) -> Result<(), E>,
) -> Result<(), ExportError> {
    let io_error = |source| ExportError::Write {
        path: path.to_path_buf(),
        source,
    };
    let file = OpenOptions::new()
        .write(true)
        .open(device)
        .map_err(io_error)?;
    // The path may have changed between the check and the opening: write only into a device.
    let kind = file.metadata().map_err(io_error)?.file_type();
    if existing_policy(kind) != Existing::WriteInto {
        return Err(ExportError::NotAFile {
            path: path.to_path_buf(),
            kind: SpecialFile::Other,
        });
    }
    run_body(path, file, write).map(drop)
}

/// Runs the body of a write on `file`, flushes it, and gives the file back; a failure is named
/// by the system's first error on this file where there was one.
fn run_body<E: Into<WriteFailure>>(
    path: &Path,
    file: File,
    write: impl FnOnce(&mut Output) -> Result<(), E>,
) -> Result<File, ExportError> {
    let mut writer = BufWriter::new(Sink::new(file));
    let result = write(&mut writer)
        .map_err(Into::into)
        .and_then(|()| writer.flush().map_err(WriteFailure::Io));
    let sink = writer.into_parts().0;
    match (result, sink.first_error) {
        (Ok(()), _) => Ok(sink.file),
        (Err(_), Some(source)) | (Err(WriteFailure::Io(source)), None) => Err(ExportError::Write {
            path: path.to_path_buf(),
            source,
        }),
        (Err(WriteFailure::Encode(detail)), None) => Err(ExportError::Encode {
            path: path.to_path_buf(),
            detail,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_file_name_goes_into_the_current_folder() {
        assert_eq!(folder_of(Path::new("a.gif")), Path::new("."));
        assert_eq!(folder_of(Path::new("x/a.gif")), Path::new("x"));
    }

    #[test]
    fn temporary_names_are_recognised() {
        assert!(is_temporary_name(std::ffi::OsStr::new(
            ".diffuscope-abc123.part"
        )));
        assert!(!is_temporary_name(std::ffi::OsStr::new("out.gif")));
    }

    #[test]
    fn a_remembered_error_keeps_its_kind_and_code() {
        let full = io::Error::from_raw_os_error(28);
        let copy = copy_of(&full);
        assert_eq!(copy.kind(), full.kind());
        assert_eq!(copy.raw_os_error(), Some(28));
        let other = copy_of(&io::Error::new(io::ErrorKind::StorageFull, "full"));
        assert_eq!(other.kind(), io::ErrorKind::StorageFull);
    }
}
