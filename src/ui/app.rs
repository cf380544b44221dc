//! The eframe application: persisted settings, the top bar (views, language, About), and the views.

use std::sync::Arc;

use eframe::egui::{self, RichText};
use serde::{Deserialize, Serialize};

use super::fonts;
use super::forward::ForwardView;
use super::forward::state::ForwardSettings;
use super::reverse::ReverseView;
use super::reverse::state::ReverseSettings;
use super::timing::FrameTimes;
use crate::i18n::{Lang, Text};
use crate::worker::{CandleLoader, ModelLoader};

/// Key under which settings are stored by eframe.
const SETTINGS_KEY: &str = "diffuscope-settings";

/// Settings that persist between sessions (never models, frames or handles).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppSettings {
    /// Interface language; `None` until chosen, meaning "the system's language".
    pub lang: Option<Lang>,
    /// The view shown.
    pub view: ViewKind,
    /// The Forward view's choices.
    pub forward: ForwardSettings,
    /// The Reverse view's choices.
    pub reverse: ReverseSettings,
}

/// The views of the window, in tab order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ViewKind {
    /// A photo dissolves into noise.
    #[default]
    Forward,
    /// A model turns noise into digits.
    Reverse,
}

/// The whole program's window state.
pub struct DiffuscopeApp {
    lang: Lang,
    lang_chosen: bool,
    /// The view shown.
    pub view: ViewKind,
    /// The Forward view.
    pub forward: ForwardView,
    /// The Reverse view.
    pub reverse: ReverseView,
    /// Time each window frame spends in our code.
    pub frame_times: FrameTimes,
    about_open: bool,
}

impl DiffuscopeApp {
    /// Builds the app with `settings`; `ctx` receives the fonts and is woken by background work.
    /// Models are the shipped checkpoints, run with candle.
    pub fn new(ctx: &egui::Context, settings: AppSettings) -> Self {
        Self::with_loader(ctx, settings, Box::new(CandleLoader::default()))
    }

    /// [`Self::new`] with models loaded by `loader` (the tests give a fake one).
    pub fn with_loader(
        ctx: &egui::Context,
        settings: AppSettings,
        loader: Box<dyn ModelLoader>,
    ) -> Self {
        fonts::install(ctx);
        let repaint = ctx.clone();
        let wake: Arc<dyn Fn() + Send + Sync> = Arc::new(move || repaint.request_repaint());
        Self {
            lang: settings.lang.unwrap_or_else(Lang::from_system),
            lang_chosen: settings.lang.is_some(),
            view: settings.view,
            forward: ForwardView::new(settings.forward, Arc::clone(&wake)),
            reverse: ReverseView::new(settings.reverse, loader, wake),
            frame_times: FrameTimes::default(),
            about_open: false,
        }
    }

    /// The interface language.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// Switches the interface language.
    pub fn set_lang(&mut self, lang: Lang) {
        self.lang = lang;
        self.lang_chosen = true;
    }

    /// The settings to persist.
    pub fn settings(&self) -> AppSettings {
        AppSettings {
            lang: self.lang_chosen.then_some(self.lang),
            view: self.view,
            forward: self.forward.state.settings.clone(),
            reverse: self.reverse.state.settings.clone(),
        }
    }

    /// Collects background results and advances time; call before [`Self::ui_root`] each frame.
    pub fn logic(&mut self, ctx: &egui::Context) {
        self.frame_times.begin();
        self.forward.logic(ctx, self.lang);
        self.reverse.logic(ctx, self.lang);
    }

    /// Draws the window's contents.
    pub fn ui_root(&mut self, ui: &mut egui::Ui) {
        egui::Panel::top("top-bar").show(ui, |ui| self.top_bar_ui(ui));
        egui::CentralPanel::default()
            .frame(egui::Frame::new())
            .show(ui, |ui| match self.view {
                ViewKind::Forward => self.forward.ui(ui, self.lang),
                ViewKind::Reverse => self.reverse.ui(ui, self.lang),
            });
        self.about_ui(ui.ctx());
        self.frame_times.end();
    }

    fn top_bar_ui(&mut self, ui: &mut egui::Ui) {
        let lang = self.lang;
        ui.horizontal(|ui| {
            ui.label(RichText::new(lang.tr(Text::AppTitle)).size(22.0).strong());
            ui.separator();
            for (kind, text) in [
                (ViewKind::Forward, lang.tr(Text::ViewForward)),
                (
                    ViewKind::Reverse,
                    lang.pick("Reverse: noise → digits", "反向：噪声 → 数字"),
                ),
            ] {
                ui.selectable_value(&mut self.view, kind, RichText::new(text).size(16.0));
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui.button(lang.tr(Text::About)).clicked() {
                    self.about_open = true;
                }
                let mut chosen = lang;
                let combo = egui::ComboBox::from_id_salt("language")
                    .selected_text(lang.native_name())
                    .show_ui(ui, |ui| {
                        for option in Lang::ALL {
                            ui.selectable_value(&mut chosen, option, option.native_name());
                        }
                    });
                let label = ui.label(lang.tr(Text::Language));
                combo.response.labelled_by(label.id);
                if chosen != lang {
                    self.set_lang(chosen);
                }
            });
        });
    }

    fn about_ui(&mut self, ctx: &egui::Context) {
        if !self.about_open {
            return;
        }
        let lang = self.lang;
        let modal = egui::Modal::new(egui::Id::unique("about")).show(ctx, |ui| {
            ui.set_max_width(520.0);
            ui.heading(format!("Diffuscope {}", env!("CARGO_PKG_VERSION")));
            ui.label(lang.tr(Text::AboutText));
            ui.separator();
            ui.label(RichText::new(lang.tr(Text::Credits)).small());
            ui.separator();
            ui.button(lang.tr(Text::Close)).clicked()
        });
        if modal.inner || modal.should_close() {
            self.about_open = false;
        }
    }
}

impl eframe::App for DiffuscopeApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        DiffuscopeApp::logic(self, ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.ui_root(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, SETTINGS_KEY, &self.settings());
    }
}

/// Opens the window and runs until it is closed.
pub fn run_window() -> eframe::Result {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Diffuscope")
            .with_inner_size([1280.0, 760.0])
            .with_min_inner_size([900.0, 560.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    eframe::run_native(
        "Diffuscope",
        options,
        Box::new(|cc| {
            // A missing or corrupt settings file simply means defaults.
            let settings = cc
                .storage
                .and_then(|s| eframe::get_value::<AppSettings>(s, SETTINGS_KEY))
                .unwrap_or_default();
            Ok(Box::new(DiffuscopeApp::new(&cc.egui_ctx, settings)))
        }),
    )
}
