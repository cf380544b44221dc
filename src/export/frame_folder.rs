//! A set of PNG frames (`frame-000.png`, `frame-001.png`, …) written as a whole or not at all.
//!
//! The frames go into a temporary folder of ours beside the destination, which is renamed into
//! place once every frame is written: a full disk or a kill leaves no partial set (the temporary
//! folder is removed). The destination must be new or an empty folder; a folder that already
//! holds files is refused before any work ([`ExportError::FolderNotEmpty`]) rather than emptied
//! (the files in it may not be ours) or mixed with (old frames would be taken for new ones).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::ExportError;
use super::atomic::{folder_of, follow_links};
use super::cleanup::{self, Temporary};
use super::png_writer::write_png;

/// The name of frame `index` (from 0) in a set.
pub fn frame_name(index: usize) -> String {
    format!("frame-{index:03}.png")
}

/// Checks, before any slow work, that a set of frames can be written as the folder `folder`:
/// it is new or empty, and a folder can be made beside it. Missing folders above it are created.
/// Returns the folder to write (symbolic links followed).
pub fn check_frame_folder(folder: &Path) -> Result<PathBuf, ExportError> {
    let io_error = |source| ExportError::Write {
        path: folder.to_path_buf(),
        source,
    };
    let target = follow_links(folder).map_err(io_error)?;
    match fs::metadata(&target) {
        Ok(metadata) if metadata.is_dir() => {
            if fs::read_dir(&target).map_err(io_error)?.next().is_some() {
                return Err(ExportError::FolderNotEmpty {
                    folder: folder.to_path_buf(),
                });
            }
        }
        Ok(_) => {
            return Err(ExportError::NotAFolder {
                folder: folder.to_path_buf(),
            });
        }
        // Not there yet, or a file stands where a folder above it should be (said below).
        Err(error)
            if matches!(
                error.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) => {}
        Err(source) => return Err(io_error(source)),
    }
    let parent = folder_of(&target);
    fs::create_dir_all(parent).map_err(|source| match source.kind() {
        io::ErrorKind::NotADirectory | io::ErrorKind::AlreadyExists => ExportError::NotAFolder {
            folder: parent.to_path_buf(),
        },
        _ => io_error(source),
    })?;
    cleanup::remove_stale_in(parent);
    Temporary::folder_in(parent).map_err(io_error)?;
    Ok(target)
}

/// Writes `frames` as `frame-000.png`, `frame-001.png`, … into the new or empty folder `folder`,
/// all or nothing (see the module documentation). `on_frame` is called after each frame with the
/// number written so far.
pub fn write_frame_folder(
    folder: &Path,
    frames: &[image::RgbImage],
    on_frame: &dyn Fn(usize),
) -> Result<(), ExportError> {
    let mut set = FrameFolder::begin(folder)?;
    for (index, frame) in frames.iter().enumerate() {
        set.push(frame)?;
        on_frame(index + 1);
    }
    set.finish().map(drop)
}

/// A set of frames being written one by one, as they are made (see the module documentation):
/// [`FrameFolder::finish`] puts the set in place; dropped before that, it leaves nothing.
pub struct FrameFolder {
    /// The folder as the user named it, for messages.
    folder: PathBuf,
    /// The folder to write, links followed.
    target: PathBuf,
    temporary: Temporary,
    written: usize,
}

impl FrameFolder {
    /// Starts a set of frames for `folder` (checked as [`check_frame_folder`] does).
    pub fn begin(folder: &Path) -> Result<Self, ExportError> {
        let target = check_frame_folder(folder)?;
        let temporary =
            Temporary::folder_in(folder_of(&target)).map_err(|source| ExportError::Write {
                path: folder.to_path_buf(),
                source,
            })?;
        Ok(Self {
            folder: folder.to_path_buf(),
            target,
            temporary,
            written: 0,
        })
    }

    /// Writes the next frame.
    pub fn push(&mut self, frame: &image::RgbImage) -> Result<(), ExportError> {
        let path = self.temporary.path().join(frame_name(self.written));
        write_png(&path, frame).map_err(|error| match error {
            // Name the folder the user asked for, not our temporary one.
            ExportError::Write { source, .. } => self.io_error(source),
            other => other,
        })?;
        self.written += 1;
        Ok(())
    }

    /// Puts the set in place; returns how many frames it has.
    pub fn finish(self) -> Result<usize, ExportError> {
        let written = self.written;
        let folder = self.folder.clone();
        swap_in(self.temporary, &self.target).map_err(|source| match source.kind() {
            io::ErrorKind::DirectoryNotEmpty | io::ErrorKind::AlreadyExists => {
                ExportError::FolderNotEmpty { folder }
            }
            _ => ExportError::Write {
                path: folder,
                source,
            },
        })?;
        Ok(written)
    }

    fn io_error(&self, source: io::Error) -> ExportError {
        ExportError::Write {
            path: self.folder.clone(),
            source,
        }
    }
}

/// Renames the finished set over `target`, which is missing or an empty folder (systems that
/// cannot rename over an empty folder get it removed first; a folder that is no longer empty
/// stays as it is and the rename fails).
fn swap_in(temporary: Temporary, target: &Path) -> io::Result<()> {
    if fs::symlink_metadata(target).is_ok_and(|metadata| metadata.is_dir()) && cfg!(not(unix)) {
        // `remove_dir` removes only an empty folder.
        fs::remove_dir(target)?;
    }
    temporary.rename_to(target)
}
