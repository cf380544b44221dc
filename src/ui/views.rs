//! The views of the window: the [`View`] trait every view implements, and [`VIEWS`], the one list
//! that registers them. Adding a view is a module that implements [`View`] plus one entry in
//! [`VIEWS`]: the tab bar, `--view`, the remembered settings, dropped files and the keyboard help
//! all come from here.

use std::any::Any;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::clock::ClockView;
use super::compare::CompareView;
use super::evaluate::EvaluateView;
use super::forward::ForwardView;
use super::message::Message;
use super::playground::PlaygroundView;
use super::reverse::ReverseView;
use super::training::TrainingView;
use crate::i18n::Lang;
use crate::render::GpuViews;
use crate::worker::{CandleLoader, ModelLoader};

/// One line of a view's keyboard help: the keys, and what they do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyHelp {
    /// The keys, as printed ("← →", "Ctrl+E").
    pub keys: &'static str,
    /// What they do, in the language asked for.
    pub action: &'static str,
}

impl KeyHelp {
    /// The lines of `table` (keys, English, Chinese) in `lang`.
    pub fn table(lang: Lang, table: &[(&'static str, &'static str, &'static str)]) -> Vec<Self> {
        table
            .iter()
            .map(|&(keys, en, zh)| Self {
                keys,
                action: lang.pick(en, zh),
            })
            .collect()
    }
}

/// `keys` on one line, for beside a view's controls ("Keys: ← → step t · Space play / pause").
pub fn key_line(keys: &[KeyHelp], lang: Lang) -> String {
    let items: Vec<String> = keys
        .iter()
        .map(|help| format!("{} {}", help.keys, help.action))
        .collect();
    format!("{}{}", lang.pick("Keys: ", "按键："), items.join(" · "))
}

/// A view of the window: a tab with its own state, drawing and settings.
///
/// Each window frame the app calls [`View::logic`] on every view (background work goes on while
/// another tab is shown), then [`View::picker_ui`] and [`View::ui`] on the view shown. Drawing
/// reads state and changes settings; what the user asks for beyond that is a command of the view's
/// own, done in one place after drawing.
pub trait View: Any {
    /// The view's stable name: `--view`'s value and the key of its remembered settings.
    fn key(&self) -> &'static str;

    /// The label of its tab.
    fn title(&self, lang: Lang) -> &'static str;

    /// Collects finished background work and advances time; called every frame, shown or not.
    fn logic(&mut self, ctx: &egui::Context, lang: Lang);

    /// Draws the in-window file picker while it is shown (before anything else, so it takes the
    /// keys).
    fn picker_ui(&mut self, _ctx: &egui::Context, _lang: Lang) {}

    /// Draws the view, then does what the user asked for.
    fn ui(&mut self, ui: &mut egui::Ui, lang: Lang);

    /// Its settings to remember, as JSON (read back by its entry's `build`).
    fn settings_json(&self) -> String;

    /// Where the view stands, for a lesson's slide: its settings and whatever else a slide sets
    /// (t, the photo, …), as JSON.
    fn slide_state(&self) -> serde_json::Value;

    /// Whether `state`, from a lesson file, reads as this view's part of a slide.
    fn reads_slide_state(&self, state: &serde_json::Value) -> bool;

    /// Shows the view's part of a slide; a state that does not read changes nothing.
    fn show_slide_state(&mut self, state: &serde_json::Value);

    /// Takes the files dropped on the window while it is shown; `false` if it takes none of them.
    fn drop_files(&mut self, _paths: Vec<PathBuf>) -> bool {
        false
    }

    /// Shows a sentence in the view's banner.
    fn show_message(&mut self, message: Message);

    /// Its image panels as they are now, captioned, for slides (each saved as a PNG at a chosen
    /// size, or all of them on a panel sheet).
    fn pictures(&self, _lang: Lang) -> Vec<(String, image::RgbImage)> {
        Vec::new()
    }

    /// Its plots as they are now, for slides (right click on a plot saves it as SVG or PNG).
    fn figures(&self, _lang: Lang) -> Vec<crate::export::figure::Figure> {
        Vec::new()
    }

    /// Its lines in the keyboard help.
    fn keys(&self, lang: Lang) -> Vec<KeyHelp>;

    /// Draws with the WGSL shaders from now on, where `gpu` built them; the default draws with
    /// CPU textures in any case.
    fn use_gpu_views(&mut self, _gpu: &GpuViews) {}
}

/// What a view is built from: the remembered settings, the window's wake-up call, and the services
/// the views share.
pub struct ViewSetup {
    /// Asks the window to repaint; may be called from any thread.
    pub wake: Arc<dyn Fn() + Send + Sync>,
    /// Every view's remembered settings, as JSON, by [`View::key`].
    pub settings: BTreeMap<String, String>,
    loader: Option<Box<dyn ModelLoader>>,
}

impl ViewSetup {
    /// A setup whose models are loaded by `loader` (the tests give a fake one).
    pub fn new(
        wake: Arc<dyn Fn() + Send + Sync>,
        settings: BTreeMap<String, String>,
        loader: Box<dyn ModelLoader>,
    ) -> Self {
        Self {
            wake,
            settings,
            loader: Some(loader),
        }
    }

    /// The remembered settings of view `key`, or its defaults where there are none or they no
    /// longer read (an older or damaged settings file).
    pub fn settings_of<T: DeserializeOwned + Default>(&self, key: &str) -> T {
        read_settings(&self.settings, key)
    }

    /// The model loader, for the one view that runs models (later callers get candle's).
    pub fn take_loader(&mut self) -> Box<dyn ModelLoader> {
        self.loader
            .take()
            .unwrap_or_else(|| Box::new(CandleLoader::default()))
    }
}

/// A view's entry in [`VIEWS`]: its key and how to build it.
#[derive(Clone, Copy)]
pub struct ViewEntry {
    /// [`View::key`] of the view it builds.
    pub key: &'static str,
    /// Builds the view from the setup.
    pub build: fn(&mut ViewSetup) -> Box<dyn View>,
}

/// Every view of the window, in tab order.
pub const VIEWS: [ViewEntry; 7] = [
    ViewEntry {
        key: ForwardView::KEY,
        build: |setup| Box::new(ForwardView::from_setup(setup)),
    },
    ViewEntry {
        key: ReverseView::KEY,
        build: |setup| Box::new(ReverseView::from_setup(setup)),
    },
    ViewEntry {
        key: CompareView::KEY,
        build: |setup| Box::new(CompareView::from_setup(setup)),
    },
    ViewEntry {
        key: EvaluateView::KEY,
        build: |setup| Box::new(EvaluateView::from_setup(setup)),
    },
    ViewEntry {
        key: PlaygroundView::KEY,
        build: |setup| Box::new(PlaygroundView::from_setup(setup)),
    },
    ViewEntry {
        key: TrainingView::KEY,
        build: |setup| Box::new(TrainingView::from_setup(setup)),
    },
    ViewEntry {
        key: ClockView::KEY,
        build: |setup| Box::new(ClockView::from_setup(setup)),
    },
];

/// What a view asks of the window beyond itself (answered after the frame).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WindowRequest {
    /// Open this model file in the Reverse view and show it.
    OpenModelInReverse(PathBuf),
}

/// Asks the window for `request` (the app answers after the frame).
pub fn ask_window(ctx: &egui::Context, request: WindowRequest) {
    ctx.data_mut(|d| d.insert_temp(window_request_id(), request));
}

/// The window request made this frame, if any (taken: answered once).
pub fn take_window_request(ctx: &egui::Context) -> Option<WindowRequest> {
    ctx.data_mut(|d| {
        let request = d.get_temp::<WindowRequest>(window_request_id());
        d.remove::<WindowRequest>(window_request_id());
        request
    })
}

fn window_request_id() -> egui::Id {
    egui::Id::unique("diffuscope-window-request")
}

/// View `key`'s settings in `views` (JSON by view key), or its defaults where there are none or
/// they no longer read.
pub fn read_settings<T: DeserializeOwned + Default>(
    views: &BTreeMap<String, String>,
    key: &str,
) -> T {
    views
        .get(key)
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_default()
}

/// The slide state of a view whose settings say all a slide sets: `{"settings": …}`.
pub fn settings_slide<T: Serialize>(settings: &T) -> serde_json::Value {
    serde_json::json!({ "settings": settings })
}

/// The settings in a slide state made by [`settings_slide`], if they read.
pub fn read_settings_slide<T: DeserializeOwned>(state: &serde_json::Value) -> Option<T> {
    state.get("settings").and_then(|s| T::deserialize(s).ok())
}

/// The keys of [`VIEWS`], in tab order (`--view`'s values).
pub fn view_keys() -> Vec<&'static str> {
    VIEWS.iter().map(|entry| entry.key).collect()
}

/// The sentence for a file dropped on a view that takes none of the files dropped.
pub fn files_not_taken(view: &str, file: &str, lang: Lang) -> String {
    match lang {
        Lang::En => format!("The “{view}” view cannot open “{file}”."),
        Lang::Zh => format!("“{view}”视图无法打开“{file}”。"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_table_reads_in_both_languages_and_on_one_line() {
        let table = [
            ("Space", "play / pause", "播放/暂停"),
            ("Ctrl+S", "save a PNG", "保存 PNG"),
        ];
        let english = KeyHelp::table(Lang::En, &table);
        assert_eq!(english[1].action, "save a PNG");
        assert_eq!(
            key_line(&english, Lang::En),
            "Keys: Space play / pause · Ctrl+S save a PNG"
        );
        let chinese = KeyHelp::table(Lang::Zh, &table);
        assert_eq!(
            key_line(&chinese, Lang::Zh),
            "按键：Space 播放/暂停 · Ctrl+S 保存 PNG"
        );
        assert_eq!(
            view_keys(),
            [
                "forward",
                "reverse",
                "compare",
                "evaluate",
                "playground",
                "training",
                "clock",
            ]
        );
    }
}
