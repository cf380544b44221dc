//! `ExportError`: every way an export can fail, and the sentence that tells the user.

use std::io;
use std::path::PathBuf;

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
    /// The operating system refused to create, write or rename the file.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file that could not be written.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
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
            (Self::Encode { path, detail }, Lang::En) => {
                format!("Could not encode “{}”: {detail}.", path.display())
            }
            (Self::Encode { path, detail }, Lang::Zh) => {
                format!("无法编码“{}”：{detail}。", path.display())
            }
        }
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
        _ => None,
    };
    match (words, lang) {
        (Some(words), _) => words.to_owned(),
        (None, Lang::En) => format!("the system reported “{error}”"),
        (None, Lang::Zh) => format!("系统报告“{error}”"),
    }
}
