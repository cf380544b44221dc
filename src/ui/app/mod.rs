//! The eframe application: persisted settings, the top bar (views, language, About), and the views.

mod classroom;

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;

use eframe::egui::{self, RichText};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::compare::CompareView;
use super::evaluate::EvaluateView;
use super::figure_plot::take_request;
use super::fonts;
use super::forward::ForwardView;
use super::forward::state::{ForwardSettings, PictureSource};
use super::key_help;
use super::lesson::is_lesson_path;
use super::lesson_deck::{LessonDeck, LessonPick};
use super::message::Message;
use super::pacing::RepaintPacing;
use super::playground::PlaygroundView;
use super::presentation::{Presentation, PresentationSettings};
use super::reverse::ReverseView;
use super::reverse::state::ReverseSettings;
use super::slide_pictures::SlidePictures;
use super::timing::FrameTimes;
use super::tour;
use super::training::TrainingView;
use super::views::{
    VIEWS, View, ViewEntry, ViewSetup, WindowRequest, files_not_taken, read_settings,
    take_window_request,
};
use super::window_options::WindowOptions;
use crate::i18n::{Lang, Text};
use crate::render::GpuViews;
use crate::worker::{CandleLoader, ModelLoader};

/// Key under which settings are stored by eframe.
const SETTINGS_KEY: &str = "diffuscope-settings";

/// Settings that persist between sessions (never models, frames or handles).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppSettings {
    /// Interface language; `None` until chosen, meaning "the system's language".
    pub lang: Option<Lang>,
    /// The view shown, by [`View::key`].
    pub view: String,
    /// Every view's choices, as JSON, by [`View::key`].
    pub views: BTreeMap<String, String>,
    /// Presentation mode: on or off, and its zoom.
    pub presentation: PresentationSettings,
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            lang: None,
            view: VIEWS[0].key.to_owned(),
            views: BTreeMap::new(),
            presentation: PresentationSettings::default(),
        }
    }
}

impl AppSettings {
    /// The settings remembered in `storage`: this version's, or those of a version before views
    /// were listed (migrated, so an upgrade keeps the teacher's choices); defaults if neither
    /// reads.
    pub fn from_storage(storage: &dyn eframe::Storage) -> Self {
        eframe::get_value::<Self>(storage, SETTINGS_KEY)
            .or_else(|| {
                eframe::get_value::<LegacySettings>(storage, SETTINGS_KEY)
                    .map(LegacySettings::migrated)
            })
            .unwrap_or_default()
    }

    /// The remembered choices of view `key`, or its defaults where there are none or they no
    /// longer read (an older or damaged settings file).
    pub fn view_settings<T: DeserializeOwned + Default>(&self, key: &str) -> T {
        read_settings(&self.views, key)
    }

    /// Remembers `settings` as view `key`'s choices.
    pub fn set_view_settings<T: Serialize>(&mut self, key: &str, settings: &T) {
        // Settings are plain data: they always serialise.
        if let Ok(json) = serde_json::to_string(settings) {
            self.views.insert(key.to_owned(), json);
        }
    }

    /// These settings with view `key`'s choices set to `settings`.
    #[must_use]
    pub fn with_view_settings<T: Serialize>(mut self, key: &str, settings: &T) -> Self {
        self.set_view_settings(key, settings);
        self
    }
}

/// The settings of the versions whose window had a fixed pair of views.
#[derive(Deserialize)]
#[serde(default)]
#[derive(Default)]
struct LegacySettings {
    lang: Option<Lang>,
    view: LegacyView,
    forward: ForwardSettings,
    reverse: ReverseSettings,
}

/// The view shown, as those versions named it.
#[derive(Clone, Copy, Default, Deserialize)]
enum LegacyView {
    #[default]
    Forward,
    Reverse,
}

impl LegacySettings {
    fn migrated(self) -> AppSettings {
        let view = match self.view {
            LegacyView::Forward => ForwardView::KEY,
            LegacyView::Reverse => ReverseView::KEY,
        };
        AppSettings {
            lang: self.lang,
            view: view.to_owned(),
            ..AppSettings::default()
        }
        .with_view_settings(ForwardView::KEY, &self.forward)
        .with_view_settings(ReverseView::KEY, &self.reverse)
    }
}

/// The whole program's window state.
pub struct DiffuscopeApp {
    lang: Lang,
    lang_chosen: bool,
    /// The views, in tab order.
    views: Vec<Box<dyn View>>,
    /// The view shown (an index into `views`).
    shown: usize,
    /// How often background news repaints the window.
    pacing: Arc<RepaintPacing>,
    /// Time each window frame spends in our code.
    pub frame_times: FrameTimes,
    /// Start a Reverse run as soon as a model is loaded (once).
    pub generate_when_ready: bool,
    /// Print frame-time statistics on stderr after each run.
    pub print_frame_stats: bool,
    was_running: bool,
    /// The background job whose frames are being timed (a race, an evaluation job), as of the
    /// last frame.
    timed_job: Option<&'static str>,
    about_open: bool,
    keys_open: bool,
    gpu_views: GpuViews,
    presentation: Presentation,
    deck: LessonDeck,
    pictures: SlidePictures,
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
        Self::with_views(ctx, settings, loader, &VIEWS)
    }

    /// [`Self::with_loader`] with the views of `entries` (the tests add one of their own).
    pub fn with_views(
        ctx: &egui::Context,
        settings: AppSettings,
        loader: Box<dyn ModelLoader>,
        entries: &[ViewEntry],
    ) -> Self {
        fonts::install(ctx);
        let repaint = ctx.clone();
        // Background work (a run's frames above all) repaints at the pace the renderer allows, so
        // drawing does not take the model's cores.
        let pacing = Arc::new(RepaintPacing::default());
        let paced = Arc::clone(&pacing);
        let wake: Arc<dyn Fn() + Send + Sync> =
            Arc::new(move || repaint.request_repaint_after(paced.interval()));
        let mut presentation = Presentation::new(settings.presentation);
        presentation.restore(ctx);
        let deck = LessonDeck::new(Arc::clone(&wake));
        let pictures = SlidePictures::new(Arc::clone(&wake));
        let mut setup = ViewSetup::new(wake, settings.views, loader);
        let views: Vec<Box<dyn View>> = entries.iter().map(|e| (e.build)(&mut setup)).collect();
        let shown = views
            .iter()
            .position(|view| view.key() == settings.view)
            .unwrap_or(0);
        Self {
            lang: settings.lang.unwrap_or_else(Lang::from_system),
            lang_chosen: settings.lang.is_some(),
            views,
            shown,
            pacing,
            frame_times: FrameTimes::default(),
            generate_when_ready: false,
            print_frame_stats: false,
            was_running: false,
            timed_job: None,
            about_open: false,
            keys_open: false,
            gpu_views: GpuViews::CpuTextures(None),
            presentation,
            deck,
            pictures,
        }
    }

    /// The app as `diffuscope [window flags]` opens it: `window` applied over the remembered
    /// `settings`, models loaded by `loader`.
    pub fn with_options(
        ctx: &egui::Context,
        settings: AppSettings,
        window: WindowOptions,
        loader: Box<dyn ModelLoader>,
    ) -> Self {
        let mut app = Self::with_loader(ctx, window.apply(settings), loader);
        if let Some(image) = window.image {
            let forward = app.forward_mut();
            forward.message = image
                .loaded
                .scaled_down
                .then(|| Message::info_in(|l| image.loaded.note(l).unwrap_or_default()));
            forward
                .state
                .set_picture(image.loaded, PictureSource::File(image.name));
        }
        if let Some(zoom) = window.zoom {
            ctx.set_zoom_factor(zoom);
        }
        if window.fullscreen {
            ctx.send_viewport_cmd(egui::ViewportCommand::Fullscreen(true));
        }
        app.generate_when_ready = window.generate;
        app.print_frame_stats = window.frame_stats;
        if let Some((name, lesson)) = window.lesson
            && let Err(error) = app.open_lesson(lesson)
        {
            let view = &mut app.views[app.shown];
            view.show_message(Message::error_in(|l| error.sentence(&name, l), None));
        }
        app
    }

    /// Tells the views whether to draw with the WGSL shaders ([`GpuViews::install`] built their
    /// pipelines on the window's device) or with CPU textures; says so once where they cannot.
    pub fn use_gpu_views(&mut self, gpu_views: GpuViews) {
        eprintln!("Diffuscope: {}", gpu_views.describe());
        for view in &mut self.views {
            view.use_gpu_views(&gpu_views);
        }
        self.pacing.drawn_on_cpu(gpu_views.drawn_on_cpu());
        self.gpu_views = gpu_views;
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
            view: self.shown_view().to_owned(),
            views: self
                .views
                .iter()
                .map(|view| (view.key().to_owned(), view.settings_json()))
                .collect(),
            presentation: self.presentation.settings(),
        }
    }

    /// Does what a view asked of the window.
    fn answer(&mut self, request: WindowRequest) {
        match request {
            WindowRequest::OpenModelInReverse(path) => {
                if let Some(reverse) = self.view_mut::<ReverseView>() {
                    reverse.load_model(crate::worker::ModelSource::File(path));
                    self.show_view(ReverseView::KEY);
                }
            }
        }
    }

    /// The key of the view shown.
    pub fn shown_view(&self) -> &'static str {
        self.views[self.shown].key()
    }

    /// Shows the view whose key is `key` (nothing changes if there is none).
    pub fn show_view(&mut self, key: &str) {
        if let Some(index) = self.views.iter().position(|view| view.key() == key) {
            self.shown = index;
        }
    }

    /// The view of type `V`, if the window has one.
    pub fn view<V: View>(&self) -> Option<&V> {
        self.views
            .iter()
            .find_map(|view| (&**view as &dyn Any).downcast_ref::<V>())
    }

    /// The view of type `V`, if the window has one, to change.
    pub fn view_mut<V: View>(&mut self) -> Option<&mut V> {
        self.views
            .iter_mut()
            .find_map(|view| (&mut **view as &mut dyn Any).downcast_mut::<V>())
    }

    /// The Forward view. Panics in a window built (with [`Self::with_views`]) without it.
    pub fn forward(&self) -> &ForwardView {
        self.view()
            .unwrap_or_else(|| panic!("this window has no Forward view"))
    }

    /// The Forward view, to change. Panics in a window built without it.
    pub fn forward_mut(&mut self) -> &mut ForwardView {
        self.view_mut()
            .unwrap_or_else(|| panic!("this window has no Forward view"))
    }

    /// The Reverse view. Panics in a window built (with [`Self::with_views`]) without it.
    pub fn reverse(&self) -> &ReverseView {
        self.view()
            .unwrap_or_else(|| panic!("this window has no Reverse view"))
    }

    /// The Reverse view, to change. Panics in a window built without it.
    pub fn reverse_mut(&mut self) -> &mut ReverseView {
        self.view_mut()
            .unwrap_or_else(|| panic!("this window has no Reverse view"))
    }

    /// The Compare view. Panics in a window built without it.
    pub fn compare(&self) -> &CompareView {
        self.view()
            .unwrap_or_else(|| panic!("this window has no Compare view"))
    }

    /// The Compare view, to change. Panics in a window built without it.
    pub fn compare_mut(&mut self) -> &mut CompareView {
        self.view_mut()
            .unwrap_or_else(|| panic!("this window has no Compare view"))
    }

    /// Collects background results and advances time; call before [`Self::ui_root`] each frame.
    pub fn logic(&mut self, ctx: &egui::Context) {
        self.frame_times.begin();
        for view in &mut self.views {
            view.logic(ctx, self.lang);
        }
        self.hand_dropped_files(ctx);
        self.time_background_jobs();
        // A window built without the Reverse view (`with_views`) has no runs to start or time.
        let generate_now = self.generate_when_ready;
        let Some(reverse) = self.view_mut::<ReverseView>() else {
            return;
        };
        if generate_now && reverse.state.model.is_some() {
            reverse.generate();
            self.generate_when_ready = false;
            self.show_view(ReverseView::KEY);
        }
        let running = self.reverse().state.is_running();
        if running && !self.was_running {
            self.frame_times.clear();
        }
        if !running && self.was_running && self.print_frame_stats {
            self.report_frame_stats();
        }
        self.was_running = running;
    }

    /// With `--frame-stats`, times the window's frames during each race of the Compare view, each
    /// measurement of the Evaluate view, each training of the Playground and each live training
    /// or loss measurement of the Training view, and prints them when it ends.
    fn time_background_jobs(&mut self) {
        let racing = self
            .view::<CompareView>()
            .and_then(|compare| compare.state.race.as_ref())
            .is_some_and(super::compare::state::Race::is_going);
        let measuring = self
            .view::<EvaluateView>()
            .is_some_and(EvaluateView::is_measuring);
        let training = self
            .view::<PlaygroundView>()
            .is_some_and(PlaygroundView::is_training);
        let lesson = self.view::<TrainingView>();
        let jobs = [
            (racing, "race"),
            (measuring, "evaluation job"),
            (training, "training"),
            (
                lesson.is_some_and(TrainingView::is_training),
                "live training",
            ),
            (
                lesson.is_some_and(TrainingView::is_measuring),
                "loss measurement",
            ),
        ];
        let job = jobs.iter().find(|(going, _)| *going).map(|(_, name)| *name);
        if job.is_some() && self.timed_job.is_none() {
            self.frame_times.clear();
        }
        if let (None, Some(ended)) = (job, self.timed_job)
            && self.print_frame_stats
        {
            let ms = |q| {
                self.frame_times
                    .quantile(q)
                    .map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
            };
            eprintln!(
                "frame stats: the {ended} took {} window frames (news repaints at most every {:.0} ms); time in our code p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
                self.frame_times.count(),
                self.pacing.interval().as_secs_f64() * 1e3,
                ms(0.5),
                ms(0.99),
                ms(1.0),
            );
        }
        self.timed_job = job;
    }

    /// Gives the files dropped on the window to the view shown, or says it cannot take them.
    fn hand_dropped_files(&mut self, ctx: &egui::Context) {
        let paths: Vec<_> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|file| file.path().to_path_buf())
                .collect()
        });
        if paths.is_empty() {
            return;
        }
        let file = paths[0].file_name().map_or_else(
            || paths[0].display().to_string(),
            |name| name.to_string_lossy().into_owned(),
        );
        if let Some(lesson) = paths.iter().find(|path| is_lesson_path(path)) {
            self.deck
                .open_path(lesson, &mut self.views, &mut self.shown);
            return;
        }
        let view = &mut self.views[self.shown];
        if !view.drop_files(paths) {
            let (en, zh) = (view.title(Lang::En), view.title(Lang::Zh));
            view.show_message(Message::error_in(
                move |lang| files_not_taken(lang.pick(en, zh), &file, lang),
                None,
            ));
        }
    }

    /// Prints what `--frame-stats` promises, for the run that just ended.
    fn report_frame_stats(&self) {
        let ms = |d: Option<std::time::Duration>| d.map_or(f64::NAN, |d| d.as_secs_f64() * 1e3);
        let state = &self.reverse().state;
        let record = state.record.as_ref();
        eprintln!(
            "frame stats: the run took {:.1} s with {} model threads; {} window frames during it (news repaints at most every {:.0} ms); time in our code p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; starting noise on screen {:.0} ms and first model step {:.0} ms after Generate; {} recorded steps of {} samples = {:.0} MB; resident memory {}",
            record
                .and_then(|r| r.elapsed)
                .map_or(f64::NAN, |d| d.as_secs_f64()),
            crate::worker::default_model_threads(),
            self.frame_times.count(),
            self.pacing.interval().as_secs_f64() * 1e3,
            ms(self.frame_times.quantile(0.5)),
            ms(self.frame_times.quantile(0.99)),
            ms(self.frame_times.quantile(1.0)),
            ms(state.noise_shown_latency),
            ms(state.first_frame_latency),
            record.map_or(0, |r| r.frames.len()),
            record.map_or(0, super::super::worker::RunRecord::batch),
            record.map_or(0, super::super::worker::RunRecord::memory_bytes) as f64 / 1e6,
            crate::process::resident_memory_bytes().map_or_else(
                || "unknown".to_owned(),
                |b| format!("{:.0} MB", b as f64 / 1e6)
            ),
        );
    }

    /// Draws the window's contents.
    pub fn ui_root(&mut self, ui: &mut egui::Ui) {
        self.presentation.frame(ui.ctx());
        self.lesson_keys(ui.ctx());
        tour::begin_frame(ui.ctx());
        let target = self.deck.card().and_then(|(_, card)| card.target.clone());
        if target.is_some() {
            // The control a card frames may sit in a side panel: presenting, unfold them.
            self.presentation.set_panels(ui.ctx(), true);
        }
        tour::set_highlight(ui.ctx(), target);
        if ui.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::F11)) {
            let fullscreen = ui.input(|i| i.viewport().fullscreen.unwrap_or(false));
            ui.ctx()
                .send_viewport_cmd(egui::ViewportCommand::Fullscreen(!fullscreen));
        }
        let lang = self.lang;
        match self.deck.picker_ui(ui.ctx(), lang) {
            Some((LessonPick::Open, path)) => {
                self.deck.open_path(&path, &mut self.views, &mut self.shown);
            }
            Some((LessonPick::Save, path)) => self.deck.save(&path, &mut self.views, self.shown),
            None => {}
        }
        self.pictures
            .picker_ui(ui.ctx(), &mut *self.views[self.shown], lang);
        self.views[self.shown].picker_ui(ui.ctx(), lang);
        egui::Panel::top("top-bar").show(ui, |ui| self.top_bar_ui(ui));
        egui::CentralPanel::default()
            .frame(egui::Frame::new())
            .show(ui, |ui| self.views[self.shown].ui(ui, lang));
        if let Some(request) = take_request(ui.ctx()) {
            self.pictures.ask(request, &*self.views[self.shown], lang);
        }
        if let Some(request) = take_window_request(ui.ctx()) {
            self.answer(request);
        }
        self.card_ui(ui.ctx());
        if key_help::asked(ui.ctx()) {
            self.keys_open = !self.keys_open;
        }
        if self.keys_open {
            key_help::overlay_ui(
                ui.ctx(),
                &*self.views[self.shown],
                lang,
                &mut self.keys_open,
            );
        }
        self.about_ui(ui.ctx());
        self.frame_times.end();
    }

    /// The title and the views' tabs, then the window's own controls, in one row that wraps onto
    /// a second where the window is too narrow (or the zoom too large), so nothing is hidden.
    fn top_bar_ui(&mut self, ui: &mut egui::Ui) {
        let lang = self.lang;
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(lang.tr(Text::AppTitle)).size(22.0).strong());
            ui.separator();
            for (index, view) in self.views.iter().enumerate() {
                let title = RichText::new(view.title(lang)).size(16.0);
                ui.selectable_value(&mut self.shown, index, title);
            }
            ui.separator();
            self.language_ui(ui);
            self.lesson_menu_ui(ui);
            self.presentation_buttons_ui(ui);
            if ui.button(lang.tr(Text::About)).clicked() {
                self.about_open = true;
            }
        });
    }

    /// The language of the interface.
    fn language_ui(&mut self, ui: &mut egui::Ui) {
        let lang = self.lang;
        let mut chosen = lang;
        let combo = egui::ComboBox::from_id_salt("language")
            .selected_text(lang.native_name())
            .show_ui(ui, |ui| {
                for option in Lang::ALL {
                    ui.selectable_value(&mut chosen, option, option.native_name());
                }
            });
        // Named for screen readers without a label beside it, which the top bar has no room for.
        let name = lang.tr(Text::Language);
        combo
            .response
            .widget_info(|| egui::WidgetInfo::labeled(egui::Role::ComboBox, true, name));
        combo.response.on_hover_text(name);
        if chosen != lang {
            self.set_lang(chosen);
        }
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
            ui.label(lang.pick(
                "In every view: Ctrl+= and Ctrl+− zoom the whole window (remembered), Ctrl+0 sets it back; F11 full screen; F5 presentation mode (full screen, twice as large, high contrast; its size is remembered apart). From a script: diffuscope --zoom 1.5 --fullscreen (diffuscope --help lists every flag).",
                "在每个视图中：Ctrl+= 和 Ctrl+− 缩放整个窗口（会被记住），Ctrl+0 恢复；F11 全屏；F5 演示模式（全屏、放大两倍、高对比度；其大小单独记住）。在脚本中：diffuscope --zoom 1.5 --fullscreen（diffuscope --help 列出所有选项）。",
            ));
            key_help::keys_ui(ui, &*self.views[self.shown], lang);
            ui.separator();
            ui.label(RichText::new(lang.tr(Text::Credits)).small());
            ui.separator();
            ui.label(RichText::new(self.gpu_views.describe_in(lang)).small());
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
///
/// The window renders with wgpu where an adapter exists (a GPU, or a software one such as
/// lavapipe), so the views can draw with the WGSL shaders; otherwise with OpenGL, and the views
/// upload CPU-made pictures ([`GpuViews::CpuTextures`], said once in the banner).
pub fn run_window(window: WindowOptions) -> eframe::Result {
    let renderer = if crate::render::offscreen::adapter_available() {
        eframe::Renderer::Wgpu
    } else {
        eprintln!("Diffuscope: no wgpu adapter; the window renders with OpenGL");
        eframe::Renderer::Glow
    };
    let options = eframe::NativeOptions {
        renderer,
        viewport: egui::ViewportBuilder::default()
            .with_title("Diffuscope")
            .with_inner_size([1280.0, 760.0])
            .with_min_inner_size([900.0, 560.0])
            .with_drag_and_drop(true)
            .with_fullscreen(window.fullscreen || window.present),
        ..Default::default()
    };
    eframe::run_native(
        "Diffuscope",
        options,
        Box::new(move |cc| {
            // A missing or corrupt settings file simply means defaults.
            let settings = cc
                .storage
                .map(AppSettings::from_storage)
                .unwrap_or_default();
            let mut app = DiffuscopeApp::with_options(
                &cc.egui_ctx,
                settings,
                window,
                Box::new(CandleLoader::default()),
            );
            app.use_gpu_views(GpuViews::install(cc.wgpu_render_state.as_ref()));
            Ok(Box::new(app))
        }),
    )
}
