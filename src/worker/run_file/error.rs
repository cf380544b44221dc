//! `RunFileError`: why a run file could not be opened, and the sentence that tells the user.

use std::io;
use std::path::PathBuf;

use crate::data::file::FileRefusal;
use crate::i18n::Lang;

/// Why a run file could not be opened.
///
/// `Display` gives a short English description (the details the window shows on request);
/// [`RunFileError::sentence`] gives one sentence in either language.
#[derive(Debug, thiserror::Error)]
pub enum RunFileError {
    /// The operating system refused to read the file (missing, no permission…).
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// The path names a pipe, a device or a folder, or the file is too large to read.
    #[error("{} refused: {refusal}", path.display())]
    Refused {
        /// The path.
        path: PathBuf,
        /// Why it was not read.
        refusal: FileRefusal,
    },
    /// The file is not a run file at all (another kind of file, or a model).
    #[error("{} is not a run file: {detail}", path.display())]
    NotARunFile {
        /// The file.
        path: PathBuf,
        /// What it looked like, in English.
        detail: String,
    },
    /// The file is a model checkpoint, not a run.
    #[error("{} is a model checkpoint, not a run", path.display())]
    IsAModel {
        /// The file.
        path: PathBuf,
    },
    /// The file was written by a newer program, in a format version this one does not know.
    #[error("{} has run file format {found}; this program reads up to {known}", path.display())]
    NewerFormat {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u64,
        /// The newest version this program reads.
        known: u32,
    },
    /// The file is larger than a run file may be.
    #[error("{} has {bytes} bytes, more than the {limit} a run file may have", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
    /// The file says it is a run file but its contents do not add up (cut off, or altered).
    #[error("{} is damaged: {detail}", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What does not add up, in English.
        detail: String,
    },
}

impl RunFileError {
    /// One clear sentence for the user, naming the file.
    pub fn sentence(&self, lang: Lang) -> String {
        match (self, lang) {
            (Self::Read { path, source }, _) => {
                let p = path.display();
                match (source.kind(), lang) {
                    (io::ErrorKind::NotFound, Lang::En) => {
                        format!("The run file “{p}” does not exist.")
                    }
                    (io::ErrorKind::NotFound, Lang::Zh) => format!("运行文件“{p}”不存在。"),
                    (io::ErrorKind::PermissionDenied, Lang::En) => {
                        format!("The run file “{p}” cannot be read: permission was denied.")
                    }
                    (io::ErrorKind::PermissionDenied, Lang::Zh) => {
                        format!("无法读取运行文件“{p}”：没有权限。")
                    }
                    (_, Lang::En) => {
                        format!("The run file “{p}” could not be read ({source}).")
                    }
                    (_, Lang::Zh) => format!("无法读取运行文件“{p}”（{source}）。"),
                }
            }
            (Self::Refused { path, refusal }, _) => {
                refusal.sentence(&path.display().to_string(), lang)
            }
            (Self::NotARunFile { path, .. }, Lang::En) => format!(
                "“{}” is not a Diffuscope run file (those are saved with “Save run…”).",
                path.display()
            ),
            (Self::NotARunFile { path, .. }, Lang::Zh) => format!(
                "“{}”不是 Diffuscope 的运行文件（运行文件用“保存运行…”保存）。",
                path.display()
            ),
            (Self::IsAModel { path }, Lang::En) => format!(
                "“{}” is a model, not a run: open it with “Open a model file…”.",
                path.display()
            ),
            (Self::IsAModel { path }, Lang::Zh) => format!(
                "“{}”是一个模型，不是运行记录：请用“打开模型文件…”打开。",
                path.display()
            ),
            (Self::NewerFormat { path, found, .. }, Lang::En) => format!(
                "“{}” was saved by a newer version of Diffuscope (run file format {found}); update the program to open it.",
                path.display()
            ),
            (Self::NewerFormat { path, found, .. }, Lang::Zh) => format!(
                "“{}”由更新版本的 Diffuscope 保存（运行文件格式 {found}）；请更新程序后再打开。",
                path.display()
            ),
            (Self::TooLarge { path, bytes, limit }, Lang::En) => format!(
                "“{}” is {:.1} GB, more than the {:.0} GB a run file may have.",
                path.display(),
                *bytes as f64 / 1e9,
                *limit as f64 / 1e9
            ),
            (Self::TooLarge { path, bytes, limit }, Lang::Zh) => format!(
                "“{}”有 {:.1} GB，超过了运行文件的上限 {:.0} GB。",
                path.display(),
                *bytes as f64 / 1e9,
                *limit as f64 / 1e9
            ),
            (Self::Damaged { path, .. }, Lang::En) => format!(
                "The run file “{}” is damaged (cut off or altered) and cannot be opened.",
                path.display()
            ),
            (Self::Damaged { path, .. }, Lang::Zh) => format!(
                "运行文件“{}”已损坏（被截断或被改动），无法打开。",
                path.display()
            ),
        }
    }
}
