//! The window: the eframe application, one module per view, and the widgets they share.
//! Each frame runs in one order: finished background work is collected (`logic`), then the
//! interface is drawn from state and the user's changes are applied to settings.

mod app;
pub mod clock;
pub mod compare;
pub mod evaluate;
pub mod figure_plot;
pub mod file_picker;
mod fonts;
pub mod forward;
pub mod gif_size;
mod jobs;
pub mod key_help;
pub mod lesson;
mod lesson_deck;
pub mod message;
mod pacing;
pub mod playground;
pub mod presentation;
pub mod reverse;
pub mod slide_pictures;
mod stream;
pub mod timing;
pub mod tour;
pub mod training;
pub mod views;
mod window_options;

pub use app::{AppSettings, DiffuscopeApp, run_window};
pub use views::{KeyHelp, VIEWS, View, ViewEntry, ViewSetup};
pub use window_options::{StartImage, WindowOptions};
