//! Opening input files: only ordinary files are read, and never more than a set number of bytes.
//!
//! Every loader (photos, MNIST files, checkpoints) reads through [`read_regular_file`], so a named
//! pipe cannot keep the program waiting forever, a device such as `/dev/zero` cannot feed it
//! without end, and a huge file cannot take all the memory. The file's type is checked twice:
//! before opening (devices are never opened at all) and on the opened file (in case the path was
//! swapped in between); on Unix the file is opened without blocking, so even a pipe swapped in at
//! that moment cannot hold the open up.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

use crate::i18n::Lang;

/// What a path names when it is not an ordinary file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// A folder.
    Folder,
    /// A named pipe (FIFO): reading waits for a writer that may never come.
    NamedPipe,
    /// A Unix domain socket.
    Socket,
    /// A character device such as `/dev/zero` or a terminal: endless or interactive data.
    CharacterDevice,
    /// A block device (a disk or a partition).
    BlockDevice,
    /// Something else the system does not call an ordinary file.
    Other,
}

impl FileKind {
    /// What the metadata describes, or `None` for an ordinary file.
    pub fn of(metadata: &Metadata) -> Option<Self> {
        let file_type = metadata.file_type();
        if file_type.is_file() {
            return None;
        }
        if file_type.is_dir() {
            return Some(Self::Folder);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if file_type.is_fifo() {
                return Some(Self::NamedPipe);
            }
            if file_type.is_socket() {
                return Some(Self::Socket);
            }
            if file_type.is_char_device() {
                return Some(Self::CharacterDevice);
            }
            if file_type.is_block_device() {
                return Some(Self::BlockDevice);
            }
        }
        Some(Self::Other)
    }

    /// The kind in words, with its article ("a named pipe (FIFO)").
    pub fn described(self, lang: Lang) -> &'static str {
        match self {
            Self::Folder => lang.pick("a folder", "文件夹"),
            Self::NamedPipe => lang.pick("a named pipe (FIFO)", "命名管道（FIFO）"),
            Self::Socket => lang.pick("a socket", "套接字"),
            Self::CharacterDevice => lang.pick("a device file", "设备文件"),
            Self::BlockDevice => lang.pick("a disk device file", "磁盘设备文件"),
            Self::Other => lang.pick("a special file", "特殊文件"),
        }
    }
}

/// Why a file was refused before (or while) reading it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FileRefusal {
    /// The path names something other than an ordinary file.
    #[error("it is {}, not an ordinary file", kind.described(Lang::En))]
    NotAFile {
        /// What it is instead.
        kind: FileKind,
    },
    /// The file holds more bytes than this kind of file may have.
    #[error("larger than {limit} bytes")]
    TooLarge {
        /// The most bytes read from this kind of file.
        limit: u64,
    },
}

impl FileRefusal {
    /// One sentence naming the file (`file` as the user should see it) and what is wrong.
    pub fn sentence(&self, file: &str, lang: Lang) -> String {
        match (self, lang) {
            (
                Self::NotAFile {
                    kind: FileKind::Folder,
                },
                Lang::En,
            ) => {
                format!("“{file}” is a folder, not a file.")
            }
            (
                Self::NotAFile {
                    kind: FileKind::Folder,
                },
                Lang::Zh,
            ) => {
                format!("“{file}”是一个文件夹，不是文件。")
            }
            (Self::NotAFile { kind }, Lang::En) => format!(
                "“{file}” is {}, not an ordinary file; Diffuscope reads only ordinary files.",
                kind.described(lang)
            ),
            (Self::NotAFile { kind }, Lang::Zh) => format!(
                "“{file}”是{}，不是普通文件；Diffuscope 只读取普通文件。",
                kind.described(lang)
            ),
            (Self::TooLarge { limit }, Lang::En) => format!(
                "“{file}” is larger than {} MB, the most Diffuscope reads from a file of this kind.",
                megabytes(*limit)
            ),
            (Self::TooLarge { limit }, Lang::Zh) => format!(
                "“{file}”超过 {} MB，这是 Diffuscope 对这类文件读取的上限。",
                megabytes(*limit)
            ),
        }
    }
}

/// A byte count in whole megabytes (2²⁰ bytes), rounded up, for sentences.
pub fn megabytes(bytes: u64) -> u64 {
    bytes.div_ceil(1 << 20)
}

/// Why reading a file failed: the system's error, or our refusal.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The system could not open or read the file (missing, no permission, …).
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The file is not one we read.
    #[error(transparent)]
    Refused(#[from] FileRefusal),
}

impl ReadError {
    /// One sentence naming the file (`file` as the user should see it) and what went wrong.
    pub fn sentence(&self, file: &str, lang: Lang) -> String {
        match (self, lang) {
            (Self::Refused(refusal), _) => refusal.sentence(file, lang),
            (Self::Io(error), Lang::En) => format!("“{file}” could not be read ({error})."),
            (Self::Io(error), Lang::Zh) => format!("无法读取“{file}”（{error}）。"),
        }
    }
}

/// Opens `path` (following symbolic links) for reading if it names an ordinary file.
///
/// Devices, pipes, sockets and folders are refused with their [`FileKind`]; a device is never
/// opened.
pub fn open_regular_file(path: &Path) -> Result<File, ReadError> {
    refuse_unless_regular(&std::fs::metadata(path)?)?;
    let file = open_without_blocking(path)?;
    // The path may have been swapped for something else between the two looks.
    refuse_unless_regular(&file.metadata()?)?;
    Ok(file)
}

/// Reads the whole of the ordinary file `path`, refusing it if it holds more than `limit` bytes.
///
/// The limit is checked against the bytes actually read, not only the size the system reports
/// (files under `/proc` report 0).
pub fn read_regular_file(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let file = open_regular_file(path)?;
    let reported = file.metadata()?.len();
    if reported > limit {
        return Err(FileRefusal::TooLarge { limit }.into());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(reported).unwrap_or(0));
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(FileRefusal::TooLarge { limit }.into());
    }
    Ok(bytes)
}

fn refuse_unless_regular(metadata: &Metadata) -> Result<(), FileRefusal> {
    match FileKind::of(metadata) {
        None => Ok(()),
        Some(kind) => Err(FileRefusal::NotAFile { kind }),
    }
}

/// Opens for reading; on Unix with `O_NONBLOCK`, which ordinary files ignore and which keeps the
/// open of a pipe from waiting for a writer.
fn open_without_blocking(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path)
}
