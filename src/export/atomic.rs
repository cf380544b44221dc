//! Writing a file all at once or not at all: a temporary file beside the destination, then a rename.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::ExportError;

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

/// The folder a file at `path` goes into (`.` for a bare file name).
pub fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
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

/// Writes the file at `path` through `write`, atomically.
///
/// The bytes go to a hidden temporary file in the same folder, which is flushed, synced and then
/// renamed over `path` (replacing any file already there). If anything fails — the folder, the
/// body, the flush or the rename — the temporary file is removed and `path` is left as it was.
pub fn write_atomically<E>(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> Result<(), E>,
) -> Result<(), ExportError>
where
    E: Into<WriteFailure>,
{
    check_folder(path)?;
    let io_error = |source: io::Error| ExportError::Write {
        path: path.to_path_buf(),
        source,
    };
    let (file, temp_path) = temp_builder()
        .tempfile_in(folder_of(path))
        .map_err(io_error)?
        .into_parts();
    // `temp_path` deletes the temporary file when dropped, which every early return below does.
    // The writer is declared after it, so it is dropped (and the file closed) first.
    let mut writer = BufWriter::new(file);
    write(&mut writer).map_err(|failure| match failure.into() {
        WriteFailure::Io(source) => io_error(source),
        WriteFailure::Encode(detail) => ExportError::Encode {
            path: path.to_path_buf(),
            detail,
        },
    })?;
    writer.flush().map_err(io_error)?;
    let file = writer
        .into_inner()
        .map_err(|error| io_error(error.into_error()))?;
    file.sync_all().map_err(io_error)?;
    drop(file);
    temp_path
        .persist(path)
        .map_err(|error| io_error(error.error))?;
    Ok(())
}

/// Temporary files are hidden, name the program, and get the permissions of an ordinary new file.
fn temp_builder() -> tempfile::Builder<'static, 'static> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".diffuscope-").suffix(".part");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        // The umask then narrows this, exactly as for a file created the ordinary way.
        builder.permissions(fs::Permissions::from_mode(0o666));
    }
    builder
}

/// Whether `name` is the name of one of this module's temporary files (for tests and tidying).
pub fn is_temporary_name(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy();
    name.starts_with(".diffuscope-") && name.ends_with(".part")
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
}
