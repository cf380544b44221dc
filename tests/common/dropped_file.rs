//! A file dropped on the window, for the window tests (egui asks the integration for its path).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use eframe::egui;

/// A dropped file: only its path.
#[derive(Debug)]
pub struct Dropped(pub PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

/// The handle egui's input takes.
pub fn dropped(path: impl Into<PathBuf>) -> egui::DroppedFileHandle {
    Arc::new(Dropped(path.into()))
}
