//! `ExportError`: every way an export can fail, and the sentence that tells the user.
//!
//! A failed write reads the same whatever was being written (GIF, PNG, checkpoint): the system's
//! error is put in words by `io_reason` ("the disk is full"), and the writer keeps the
//! system's own error even where an encoder wrapped it in text (`atomic::Sink`).

use std::io;
use std::path::{Path, PathBuf};

use super::budget::ByteSize;
use crate::i18n::Lang;

/// Why an export failed.
///
/// `Display` gives a short English description; [`ExportError::sentence`] gives the sentence the
/// window and the command line show, in either language.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// There was nothing to write (an animation with no frames).
    #[error("there are no frames to export")]
    NoFrames,
    /// The folder the file should go into does not exist.
    #[error("the folder {} does not exist", folder.display())]
    FolderMissing {
        /// The missing folder.
        folder: PathBuf,
    },
    /// The "folder" the file should go into is a file.
    #[error("{} is a file, not a folder", folder.display())]
    NotAFolder {
        /// The path that should have been a folder.
        folder: PathBuf,
    },
    /// Something that is not an ordinary file (a folder, a named pipe, …) is at the output path.
    /// It is left alone: replacing it would damage what is not ours.
    #[error("{} is {}, not a file", path.display(), kind.name(Lang::En))]
    NotAFile {
        /// The path as given.
        path: PathBuf,
        /// What is there.
        kind: SpecialFile,
    },
    /// The folder meant for a set of frames already holds files (new frames are never mixed
    /// with old ones, and nothing in it is deleted).
    #[error("the folder {} is not empty", folder.display())]
    FolderNotEmpty {
        /// The folder.
        folder: PathBuf,
    },
    /// The operating system refused to create, write or rename the file.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file that could not be written.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// Even the smallest GIF the size limit allows is larger than the limit.
    #[error("the GIF cannot be made as small as {limit}: the smallest is {smallest}")]
    TooLarge {
        /// The limit asked for.
        limit: ByteSize,
        /// The size of the smallest GIF tried.
        smallest: ByteSize,
    },
    /// The frames could not be encoded (for example, frames of different sizes, or an image too
    /// large for the format).
    #[error("cannot encode {}: {detail}", path.display())]
    Encode {
        /// The file that was to be written.
        path: PathBuf,
        /// What went wrong, in English (a programming detail rather than something the user did).
        detail: String,
    },
}

/// Something at an output path that is not an ordinary file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpecialFile {
    /// A folder.
    Folder,
    /// A named pipe (FIFO): writing would wait until someone reads it.
    Pipe,
    /// A Unix socket.
    Socket,
    /// A block device: a whole disk or a partition.
    BlockDevice,
    /// Anything else (or something that changed while the file was being written).
    Other,
}

impl SpecialFile {
    /// What it is, with its article ("a named pipe (FIFO)").
    pub fn name(self, lang: Lang) -> &'static str {
        match self {
            Self::Folder => lang.pick("a folder", "文件夹"),
            Self::Pipe => lang.pick("a named pipe (FIFO)", "命名管道（FIFO）"),
            Self::Socket => lang.pick("a socket", "套接字"),
            Self::BlockDevice => lang.pick(
                "a block device (a whole disk or partition)",
                "块设备（整个磁盘或分区）",
            ),
            Self::Other => lang.pick("a special file", "特殊文件"),
        }
    }
}

impl ExportError {
    /// One clear sentence for the user, naming the folder or file involved.
    pub fn sentence(&self, lang: Lang) -> String {
        match (self, lang) {
            (Self::NoFrames, Lang::En) => "There are no frames to export yet.".to_owned(),
            (Self::NoFrames, Lang::Zh) => "还没有可以导出的帧。".to_owned(),
            (Self::FolderMissing { folder }, Lang::En) => {
                format!("The folder “{}” does not exist.", folder.display())
            }
            (Self::FolderMissing { folder }, Lang::Zh) => {
                format!("文件夹“{}”不存在。", folder.display())
            }
            (Self::NotAFolder { folder }, Lang::En) => format!(
                "“{}” is a file, not a folder, so nothing can be saved inside it.",
                folder.display()
            ),
            (Self::NotAFolder { folder }, Lang::Zh) => {
                format!(
                    "“{}”是一个文件，不是文件夹，无法在其中保存。",
                    folder.display()
                )
            }
            (Self::NotAFile { path, kind }, _) => not_a_file(path, *kind, lang),
            (Self::FolderNotEmpty { folder }, Lang::En) => format!(
                "The folder “{}” already holds files: choose a new or empty folder for the \
                 frames (new frames are never mixed with old files, and nothing in it is deleted).",
                folder.display()
            ),
            (Self::FolderNotEmpty { folder }, Lang::Zh) => format!(
                "文件夹“{}”里已有文件：请为这些帧选择一个新的或空的文件夹（新帧不会与旧文件混在一起，\
                 其中的文件也不会被删除）。",
                folder.display()
            ),
            (Self::Write { path, source }, Lang::En) => format!(
                "Could not save “{}”: {}.",
                path.display(),
                io_reason(source, lang)
            ),
            (Self::Write { path, source }, Lang::Zh) => format!(
                "无法保存“{}”：{}。",
                path.display(),
                io_reason(source, lang)
            ),
            (Self::TooLarge { limit, smallest }, Lang::En) => format!(
                "Even with the fewest frames and the smallest size the GIF is {smallest}, more \
                 than the {limit} asked for; allow more, or choose fewer frames or a smaller size."
            ),
            (Self::TooLarge { limit, smallest }, Lang::Zh) => format!(
                "即使帧数最少、尺寸最小，GIF 也有 {smallest}，超过了要求的 {limit}；\
                 请放宽限制，或减少帧数、缩小尺寸。"
            ),
            (Self::Encode { path, detail }, Lang::En) => {
                format!("Could not encode “{}”: {detail}.", path.display())
            }
            (Self::Encode { path, detail }, Lang::Zh) => {
                format!("无法编码“{}”：{detail}。", path.display())
            }
        }
    }
}

/// The sentence for something at an output path that is not a file.
fn not_a_file(path: &Path, kind: SpecialFile, lang: Lang) -> String {
    let path = path.display();
    match (kind, lang) {
        (SpecialFile::Folder, Lang::En) => format!(
            "“{path}” is a folder, not a file: give the name of a file to write (a folder is \
             never replaced)."
        ),
        (SpecialFile::Folder, Lang::Zh) => {
            format!("“{path}”是一个文件夹，不是文件：请给出要写入的文件名（文件夹不会被替换）。")
        }
        (_, Lang::En) => format!(
            "“{path}” is {}, not a file: Diffuscope writes only ordinary files (or straight into \
             a device such as /dev/null), so it leaves this alone.",
            kind.name(lang)
        ),
        (_, Lang::Zh) => format!(
            "“{path}”是{}，不是文件：Diffuscope 只写入普通文件（或直接写入 /dev/null 之类的设备），\
             因此不会动它。",
            kind.name(lang)
        ),
    }
}

/// The common reasons a write fails, in words; the system's own message otherwise.
fn io_reason(error: &io::Error, lang: Lang) -> String {
    let words = match error.kind() {
        io::ErrorKind::PermissionDenied => Some(lang.pick(
            "permission to write there was denied",
            "没有在此处写入的权限",
        )),
        io::ErrorKind::StorageFull => Some(lang.pick("the disk is full", "磁盘已满")),
        io::ErrorKind::ReadOnlyFilesystem => {
            Some(lang.pick("the disk is read-only", "磁盘是只读的"))
        }
        io::ErrorKind::IsADirectory => {
            Some(lang.pick("a folder of that name is in the way", "已有同名的文件夹"))
        }
        io::ErrorKind::NotADirectory => Some(lang.pick(
            "part of the path is a file, not a folder",
            "路径中的某一部分是文件而不是文件夹",
        )),
        io::ErrorKind::NotFound => Some(lang.pick("the folder does not exist", "文件夹不存在")),
        io::ErrorKind::QuotaExceeded => {
            Some(lang.pick("the disk quota is used up", "磁盘配额已用完"))
        }
        io::ErrorKind::FileTooLarge => Some(lang.pick(
            "the file is too large for this disk",
            "文件太大，此磁盘无法存放",
        )),
        io::ErrorKind::InvalidFilename => Some(lang.pick(
            "the system does not allow that file name",
            "系统不允许这个文件名",
        )),
        _ => None,
    };
    match (words, lang) {
        (Some(words), _) => words.to_owned(),
        (None, Lang::En) => format!("the system reported “{error}”"),
        (None, Lang::Zh) => format!("系统报告“{error}”"),
    }
}
