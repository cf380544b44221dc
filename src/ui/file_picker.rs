//! Asking the user for a file to open or a place to save one: the system's file dialog where the
//! desktop can show one, else a picker drawn inside the window.
//!
//! On Linux, rfd asks the XDG desktop portal's file chooser (over D-Bus) and falls back to
//! zenity; where neither is there it returns nothing, exactly as if the user had cancelled. So the
//! program looks once, on a thread of its own, whether either is there ([`NativeDialogs::system`]);
//! and a system dialog that comes back empty within a fraction of a second (it never showed)
//! switches to the in-window picker as well. The system's dialog runs on a thread of its own, so
//! the window keeps drawing while it is open.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use eframe::egui;
use egui_file::{FileDialog, State};

use super::jobs::{Job, Poll};
use crate::i18n::Lang;

/// A system dialog that returns nothing sooner than this never showed: nobody cancels that fast.
const NEVER_SHOWN: Duration = Duration::from_millis(250);
/// How long the start-up check waits for the desktop portal to answer.
#[cfg(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd"
))]
const PORTAL_TIMEOUT: Duration = Duration::from_secs(10);

const UNKNOWN: u8 = 0;
const AVAILABLE: u8 = 1;
const UNAVAILABLE: u8 = 2;

/// Whether the system's file dialogs can show, as far as the program knows; shared by every
/// picker of the window.
#[derive(Clone, Debug)]
pub struct NativeDialogs(Arc<AtomicU8>);

impl NativeDialogs {
    /// The answer of the one check of this desktop, started on a thread of its own the first time
    /// it is asked for. Until the check is done, pickers draw in the window.
    pub fn system() -> Self {
        static SYSTEM: OnceLock<NativeDialogs> = OnceLock::new();
        SYSTEM
            .get_or_init(|| {
                let dialogs = Self(Arc::new(AtomicU8::new(UNKNOWN)));
                let answer = Arc::clone(&dialogs.0);
                // Without a thread the answer stays unknown, which means the in-window picker.
                let _ = std::thread::Builder::new()
                    .name("probe-file-dialogs".into())
                    .spawn(move || {
                        let found = if system_dialogs_exist() {
                            AVAILABLE
                        } else {
                            UNAVAILABLE
                        };
                        answer.store(found, Ordering::Relaxed);
                    });
                dialogs
            })
            .clone()
    }

    /// System dialogs that are known to work.
    pub fn available() -> Self {
        Self(Arc::new(AtomicU8::new(AVAILABLE)))
    }

    /// No system dialogs: every picker draws in the window.
    pub fn unavailable() -> Self {
        Self(Arc::new(AtomicU8::new(UNAVAILABLE)))
    }

    /// `Some(true)` where system dialogs show, `Some(false)` where they cannot, `None` while the
    /// check is running.
    pub fn state(&self) -> Option<bool> {
        match self.0.load(Ordering::Relaxed) {
            AVAILABLE => Some(true),
            UNAVAILABLE => Some(false),
            _ => None,
        }
    }

    fn mark_unavailable(&self) {
        self.0.store(UNAVAILABLE, Ordering::Relaxed);
    }
}

/// Whether rfd can show a dialog here: on Linux and the BSDs, zenity on the `PATH` or the desktop
/// portal's file chooser on the session bus; elsewhere the system always has one.
fn system_dialogs_exist() -> bool {
    #[cfg(any(
        target_os = "linux",
        target_os = "freebsd",
        target_os = "dragonfly",
        target_os = "netbsd",
        target_os = "openbsd"
    ))]
    {
        zenity_on_path() || pollster::block_on(portal_file_chooser())
    }
    #[cfg(not(any(
        target_os = "linux",
        target_os = "freebsd",
        target_os = "dragonfly",
        target_os = "netbsd",
        target_os = "openbsd"
    )))]
    {
        true
    }
}

/// Whether an executable `zenity` is on the `PATH` (rfd's fallback runs it by that name).
#[cfg(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd"
))]
fn zenity_on_path() -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|folder| {
            std::fs::metadata(folder.join("zenity"))
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
    })
}

/// Whether the session bus has the desktop portal with a file chooser: the portal exports the
/// `FileChooser` interface (and its `version` property) only where a backend implements it.
/// Asking starts the portal if the bus can activate it, as rfd's own call would.
#[cfg(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_os = "netbsd",
    target_os = "openbsd"
))]
async fn portal_file_chooser() -> bool {
    let Ok(builder) = zbus::connection::Builder::session() else {
        return false;
    };
    let Ok(connection) = builder.method_timeout(PORTAL_TIMEOUT).build().await else {
        return false;
    };
    connection
        .call_method(
            Some("org.freedesktop.portal.Desktop"),
            "/org/freedesktop/portal/desktop",
            Some("org.freedesktop.DBus.Properties"),
            "Get",
            &("org.freedesktop.portal.FileChooser", "version"),
        )
        .await
        .is_ok()
}

/// Open an existing file, or choose where to save one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Pick an existing file.
    Open,
    /// Pick a place and a name for a new file.
    Save,
    /// Pick an existing folder.
    Folder,
}

/// What to ask the user for.
#[derive(Clone, Debug)]
pub struct FileRequest {
    /// Open or save.
    pub mode: Mode,
    /// The dialog's title in English and in Chinese.
    pub title: (&'static str, &'static str),
    /// The name of the file type, such as "PNG".
    pub kind: &'static str,
    /// The extensions accepted, lower case and without the dot; a saved name without one of them
    /// gets the first.
    pub extensions: &'static [&'static str],
    /// Save: the name suggested.
    pub file_name: String,
}

impl FileRequest {
    /// Ask for an existing file of `kind`.
    pub fn open(
        title: (&'static str, &'static str),
        kind: &'static str,
        extensions: &'static [&'static str],
    ) -> Self {
        Self {
            mode: Mode::Open,
            title,
            kind,
            extensions,
            file_name: String::new(),
        }
    }

    /// Ask for an existing folder (of `kind`, such as "diffusers pipeline").
    pub fn folder(title: (&'static str, &'static str), kind: &'static str) -> Self {
        Self {
            mode: Mode::Folder,
            title,
            kind,
            extensions: &[],
            file_name: String::new(),
        }
    }

    /// Ask where to save a file of `kind`, suggesting `file_name`.
    pub fn save(
        title: (&'static str, &'static str),
        kind: &'static str,
        extensions: &'static [&'static str],
        file_name: impl Into<String>,
    ) -> Self {
        Self {
            mode: Mode::Save,
            title,
            kind,
            extensions,
            file_name: file_name.into(),
        }
    }

    fn title_in(&self, lang: Lang) -> &'static str {
        lang.pick(self.title.0, self.title.1)
    }

    /// Whether `path` ends in one of the extensions (in any case).
    fn accepts(&self, path: &Path) -> bool {
        path.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| self.extensions.iter().any(|x| x.eq_ignore_ascii_case(e)))
    }

    /// `path` as the file to write: with the first extension added where it has none of ours.
    fn with_extension(&self, path: PathBuf) -> PathBuf {
        match (self.mode, self.extensions.first()) {
            (Mode::Save, Some(extension)) if !self.accepts(&path) => {
                let mut name = path.file_name().unwrap_or_default().to_os_string();
                name.push(".");
                name.push(extension);
                path.with_file_name(name)
            }
            _ => path,
        }
    }
}

/// What the picker is doing.
enum Pending<P> {
    /// The system's dialog is open on a thread of its own.
    Native {
        purpose: P,
        request: FileRequest,
        job: Job<Option<PathBuf>>,
        started: Instant,
    },
    /// The in-window picker is shown (built on its first frame, in the language of that frame).
    InWindow {
        purpose: P,
        request: FileRequest,
        dialog: Option<(Lang, Box<FileDialog>)>,
    },
    /// The in-window picker chose a file that exists: replace it?
    Replace {
        purpose: P,
        request: FileRequest,
        dialog: Box<FileDialog>,
        path: PathBuf,
    },
}

/// Asks for files on behalf of one view; `P` says what each file is for.
pub struct FilePicker<P> {
    native: NativeDialogs,
    pending: Option<Pending<P>>,
    /// Where the in-window picker starts: the folder of the last file chosen.
    folder: Option<PathBuf>,
    /// The language of the last frame, for the system dialog's title.
    lang: Lang,
    wake: Arc<dyn Fn() + Send + Sync>,
}

impl<P> FilePicker<P> {
    /// A picker that uses the system's dialogs where [`NativeDialogs::system`] finds them;
    /// `wake` asks the window to repaint and may be called from any thread.
    pub fn new(wake: Arc<dyn Fn() + Send + Sync>) -> Self {
        Self {
            native: NativeDialogs::system(),
            pending: None,
            folder: None,
            lang: Lang::En,
            wake,
        }
    }

    /// Uses `native` to decide between the system's dialog and the in-window picker.
    pub fn set_native(&mut self, native: NativeDialogs) {
        self.native = native;
    }

    /// Starts the next in-window picker (and system dialog) in `folder`.
    pub fn set_folder(&mut self, folder: PathBuf) {
        self.folder = Some(folder);
    }

    /// Whether the in-window picker (or its question before replacing a file) is shown.
    pub fn is_in_window(&self) -> bool {
        matches!(
            self.pending,
            Some(Pending::InWindow { .. } | Pending::Replace { .. })
        )
    }

    /// Whether a file is being asked for.
    pub fn is_open(&self) -> bool {
        self.pending.is_some()
    }

    /// Asks for a file for `purpose`; [`Self::ui`] returns it once chosen. Ignored while the
    /// system's dialog is open (it is on screen already); replaces an in-window question.
    pub fn ask(&mut self, purpose: P, request: FileRequest) {
        if matches!(self.pending, Some(Pending::Native { .. })) {
            return;
        }
        self.pending = Some(match self.native.state() {
            Some(true) => self.start_native(purpose, request),
            Some(false) => {
                say_once_that_files_are_chosen_in_the_window();
                in_window(purpose, request)
            }
            None => in_window(purpose, request),
        });
        (self.wake)();
    }

    /// Draws the in-window picker when it is shown, and returns the file chosen, if one was this
    /// frame. Call every frame before anything else is drawn: while the picker is in the window, it
    /// takes the keys, so the view's shortcuts (Space, arrows, Esc) do not act behind it, and Tab
    /// starts in its fields.
    pub fn ui(&mut self, ctx: &egui::Context, lang: Lang) -> Option<(P, PathBuf)> {
        self.lang = lang;
        let pending = self.pending.take()?;
        let step = match pending {
            Pending::Native {
                purpose,
                request,
                job,
                started,
            } => self.poll_native(purpose, request, job, started),
            Pending::InWindow {
                purpose,
                request,
                dialog,
            } => self.in_window_ui(ctx, lang, purpose, request, dialog),
            Pending::Replace {
                purpose,
                request,
                dialog,
                path,
            } => replace_ui(ctx, lang, purpose, request, dialog, path),
        };
        match step {
            Step::Wait(pending) => {
                self.pending = Some(pending);
                if self.is_in_window() {
                    ctx.input_mut(|input| {
                        input
                            .events
                            .retain(|event| !matches!(event, egui::Event::Key { .. }));
                    });
                }
                None
            }
            Step::Chosen(purpose, path) => {
                self.folder = path.parent().map(Path::to_path_buf);
                Some((purpose, path))
            }
            Step::Closed => None,
        }
    }

    fn start_native(&self, purpose: P, request: FileRequest) -> Pending<P> {
        let title = request.title_in(self.lang);
        let folder = self.folder.clone();
        let asked = request.clone();
        let job = Job::spawn("file-dialog", Arc::clone(&self.wake), move |_| {
            system_dialog(&asked, title, folder.as_deref())
        });
        match job {
            Ok(job) => Pending::Native {
                purpose,
                request,
                job,
                started: Instant::now(),
            },
            Err(_) => in_window(purpose, request),
        }
    }

    fn poll_native(
        &self,
        purpose: P,
        request: FileRequest,
        job: Job<Option<PathBuf>>,
        started: Instant,
    ) -> Step<P> {
        match job.poll() {
            Poll::Running => Step::Wait(Pending::Native {
                purpose,
                request,
                job,
                started,
            }),
            Poll::Done(Some(path)) => Step::Chosen(purpose, request.with_extension(path)),
            Poll::Done(None) if started.elapsed() >= NEVER_SHOWN => Step::Closed,
            // Back at once with nothing (or the thread died): the dialog never showed.
            Poll::Done(None) | Poll::Lost => {
                self.native.mark_unavailable();
                say_once_that_files_are_chosen_in_the_window();
                (self.wake)();
                Step::Wait(in_window(purpose, request))
            }
        }
    }

    fn in_window_ui(
        &self,
        ctx: &egui::Context,
        lang: Lang,
        purpose: P,
        request: FileRequest,
        dialog: Option<(Lang, Box<FileDialog>)>,
    ) -> Step<P> {
        let mut dialog = match dialog {
            Some((built, dialog)) if built == lang => dialog,
            // The language changed: the same picker, relabelled, in the folder it shows.
            Some((_, old)) => in_window_dialog(&request, old.directory(), lang),
            None => {
                let start = self
                    .folder
                    .clone()
                    .or_else(|| std::env::current_dir().ok())
                    .unwrap_or_default();
                in_window_dialog(&request, &start, lang)
            }
        };
        dialog.show(ctx);
        match dialog.state() {
            State::Open => Step::Wait(Pending::InWindow {
                purpose,
                request,
                dialog: Some((lang, dialog)),
            }),
            State::Selected => match dialog.path().map(Path::to_path_buf) {
                Some(path) => {
                    let path = request.with_extension(path);
                    if request.mode == Mode::Save && path.exists() {
                        Step::Wait(Pending::Replace {
                            purpose,
                            request,
                            dialog,
                            path,
                        })
                    } else {
                        Step::Chosen(purpose, path)
                    }
                }
                None => Step::Closed,
            },
            State::Cancelled | State::Closed => Step::Closed,
        }
    }
}

/// What a frame of the picker ended with.
enum Step<P> {
    /// Still asking.
    Wait(Pending<P>),
    /// This file was chosen.
    Chosen(P, PathBuf),
    /// The user cancelled.
    Closed,
}

fn in_window<P>(purpose: P, request: FileRequest) -> Pending<P> {
    Pending::InWindow {
        purpose,
        request,
        dialog: None,
    }
}

/// Says on stderr, once per run, that files are chosen in the window and what the command line
/// offers instead.
fn say_once_that_files_are_chosen_in_the_window() {
    static SAID: AtomicBool = AtomicBool::new(false);
    if !SAID.swap(true, Ordering::Relaxed) {
        eprintln!(
            "Diffuscope: this desktop shows no file dialog (neither the XDG desktop portal's file chooser nor zenity), so files are chosen in the window. Without the window: diffuscope export forward --image PHOTO --out FILE.gif, diffuscope sample --model FILE.safetensors --png FILE.png."
        );
    }
}

/// Runs the system's dialog (on the calling thread, which it blocks until the user answers).
fn system_dialog(request: &FileRequest, title: &str, folder: Option<&Path>) -> Option<PathBuf> {
    let mut dialog = rfd::FileDialog::new().set_title(title);
    if request.mode != Mode::Folder {
        dialog = dialog.add_filter(request.kind, request.extensions);
    }
    if let Some(folder) = folder {
        dialog = dialog.set_directory(folder);
    }
    match request.mode {
        Mode::Open => dialog.pick_file(),
        Mode::Folder => dialog.pick_folder(),
        Mode::Save => dialog.set_file_name(request.file_name.as_str()).save_file(),
    }
}

/// The in-window picker for `request`, open in `folder`, labelled in `lang`.
fn in_window_dialog(request: &FileRequest, folder: &Path, lang: Lang) -> Box<FileDialog> {
    let shown = request.clone();
    let named = request.clone();
    let base = match request.mode {
        Mode::Open => FileDialog::open_file(),
        Mode::Save => FileDialog::save_file().default_filename(request.file_name.as_str()),
        Mode::Folder => FileDialog::select_folder(),
    };
    let mut dialog = base
        .id(egui::Id::unique("diffuscope-file-picker"))
        .title(request.title_in(lang))
        .initial_path(folder)
        .default_size([720.0, 480.0])
        .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
        .keep_on_top(true)
        .show_rename(false)
        .show_new_folder(request.mode == Mode::Save)
        // Folders are always listed; files only of the kind asked for.
        .show_files_filter(Box::new(move |path: &Path| shown.accepts(path)))
        .filename_filter(Box::new(move |name: &str| match named.mode {
            Mode::Open => named.accepts(Path::new(name)),
            Mode::Save | Mode::Folder => !name.trim().is_empty(),
        }))
        .open_button_text(lang.pick("Open", "打开").into())
        .save_button_text(lang.pick("Save", "保存").into())
        .cancel_button_text(lang.pick("Cancel", "取消").into())
        .new_folder_button_text(lang.pick("New folder", "新建文件夹").into())
        .new_folder_name_text(lang.pick("New folder", "新建文件夹").into())
        .refresh_button_hover_text(lang.pick("Refresh", "刷新").into())
        .parent_folder_button_hover_text(lang.pick("Parent folder", "上一级文件夹").into())
        .file_label_text(match request.mode {
            Mode::Folder => lang.pick("Folder:", "文件夹：").into(),
            Mode::Open | Mode::Save => lang.pick("File:", "文件：").into(),
        })
        .show_hidden_checkbox_text(lang.pick("Show hidden files", "显示隐藏文件").into());
    dialog.open();
    Box::new(dialog)
}

/// Asks before the in-window picker replaces an existing file; "No" goes back to the picker.
fn replace_ui<P>(
    ctx: &egui::Context,
    lang: Lang,
    purpose: P,
    request: FileRequest,
    mut dialog: Box<FileDialog>,
    path: PathBuf,
) -> Step<P> {
    let modal = egui::Modal::new(egui::Id::unique("diffuscope-replace-file")).show(ctx, |ui| {
        ui.set_max_width(520.0);
        ui.heading(lang.pick("Replace the file?", "替换这个文件？"));
        ui.label(format!(
            "{} {}",
            path.display(),
            lang.pick(
                "already exists. Replace it with the new one?",
                "已存在。要用新文件替换它吗？"
            )
        ));
        ui.separator();
        ui.horizontal(|ui| {
            if ui.button(lang.pick("Replace", "替换")).clicked() {
                Some(true)
            } else if ui
                .button(lang.pick("Choose another name", "换一个名字"))
                .clicked()
            {
                Some(false)
            } else {
                None
            }
        })
        .inner
    });
    match modal.inner {
        Some(true) => Step::Chosen(purpose, path),
        Some(false) => {
            dialog.open();
            Step::Wait(Pending::InWindow {
                purpose,
                request,
                dialog: Some((lang, dialog)),
            })
        }
        None if modal.should_close() => {
            dialog.open();
            Step::Wait(Pending::InWindow {
                purpose,
                request,
                dialog: Some((lang, dialog)),
            })
        }
        None => Step::Wait(Pending::Replace {
            purpose,
            request,
            dialog,
            path,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[&str] = &["png"];

    #[test]
    fn a_saved_name_gets_the_extension_it_lacks() {
        let request = FileRequest::save(("Save", "保存"), "PNG", PNG, "x.png");
        assert_eq!(
            request.with_extension(PathBuf::from("/tmp/lesson")),
            PathBuf::from("/tmp/lesson.png")
        );
        assert_eq!(
            request.with_extension(PathBuf::from("/tmp/lesson.v2")),
            PathBuf::from("/tmp/lesson.v2.png")
        );
        assert_eq!(
            request.with_extension(PathBuf::from("/tmp/Lesson.PNG")),
            PathBuf::from("/tmp/Lesson.PNG")
        );
        let open = FileRequest::open(("Open", "打开"), "PNG", PNG);
        assert_eq!(
            open.with_extension(PathBuf::from("/tmp/lesson")),
            PathBuf::from("/tmp/lesson")
        );
    }

    #[test]
    fn marking_unavailable_sticks() {
        assert_eq!(NativeDialogs::available().state(), Some(true));
        let dialogs = NativeDialogs::available();
        dialogs.mark_unavailable();
        assert_eq!(dialogs.state(), Some(false));
        assert_eq!(NativeDialogs::unavailable().state(), Some(false));
    }
}
