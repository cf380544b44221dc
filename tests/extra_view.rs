//! Adding a view is one module and one entry in the list of views: a minimal view registered
//! beside the shipped ones gets a tab, its drawing, its remembered settings, the files dropped
//! while it is shown, its lines in the keyboard help and its part of a lesson's slides, with no
//! other change to the app.

#[path = "common/dropped_file.rs"]
mod dropped_file;
#[path = "common/fake_model.rs"]
mod fake_model;
#[path = "common/window.rs"]
mod window;

use std::path::PathBuf;

use diffuscope::i18n::Lang;
use diffuscope::ui::forward::ForwardView;
use diffuscope::ui::lesson::Lesson;
use diffuscope::ui::message::Message;
use diffuscope::ui::views::{read_settings_slide, settings_slide};
use diffuscope::ui::{AppSettings, DiffuscopeApp, KeyHelp, VIEWS, View, ViewEntry, ViewSetup};
use eframe::egui::{self, Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use fake_model::FakeLoader;
use serde::{Deserialize, Serialize};
use window::{App, app};

/// The view's remembered settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct TallySettings {
    count: u32,
}

/// What the user asked for while the view was drawn.
enum TallyCommand {
    Add,
}

/// A view that counts presses of its button or of T, and keeps the files dropped on it.
struct Tally {
    settings: TallySettings,
    dropped: Vec<PathBuf>,
    asked: Vec<TallyCommand>,
}

impl Tally {
    const KEY: &'static str = "tally";

    fn from_setup(setup: &mut ViewSetup) -> Self {
        Self {
            settings: setup.settings_of(Self::KEY),
            dropped: Vec::new(),
            asked: Vec::new(),
        }
    }
}

impl View for Tally {
    fn key(&self) -> &'static str {
        Self::KEY
    }

    fn title(&self, lang: Lang) -> &'static str {
        lang.pick("Tally", "计数")
    }

    fn logic(&mut self, _ctx: &egui::Context, _lang: Lang) {}

    fn ui(&mut self, ui: &mut egui::Ui, _lang: Lang) {
        ui.label(format!("count {}", self.settings.count));
        if ui.button("add one").clicked()
            || ui.input_mut(|i| i.consume_key(Modifiers::NONE, Key::T))
        {
            self.asked.push(TallyCommand::Add);
        }
        for command in std::mem::take(&mut self.asked) {
            match command {
                TallyCommand::Add => self.settings.count += 1,
            }
        }
    }

    fn settings_json(&self) -> String {
        serde_json::to_string(&self.settings).unwrap_or_default()
    }

    fn slide_state(&self) -> serde_json::Value {
        settings_slide(&self.settings)
    }

    fn reads_slide_state(&self, state: &serde_json::Value) -> bool {
        read_settings_slide::<TallySettings>(state).is_some()
    }

    fn show_slide_state(&mut self, state: &serde_json::Value) {
        if let Some(settings) = read_settings_slide(state) {
            self.settings = settings;
        }
    }

    fn drop_files(&mut self, paths: Vec<PathBuf>) -> bool {
        self.dropped.extend(paths);
        true
    }

    fn show_message(&mut self, _message: Message) {}

    fn keys(&self, lang: Lang) -> Vec<KeyHelp> {
        vec![KeyHelp {
            keys: "T",
            action: lang.pick("count one more", "计数"),
        }]
    }
}

/// The shipped views and the tally, last.
fn entries() -> Vec<ViewEntry> {
    let mut entries = VIEWS.to_vec();
    entries.push(ViewEntry {
        key: Tally::KEY,
        build: |setup| Box::new(Tally::from_setup(setup)),
    });
    entries
}

fn window(settings: AppSettings) -> Harness<'static, App> {
    window::window([1280.0, 800.0], move |ctx| {
        DiffuscopeApp::with_views(
            ctx,
            settings.clone(),
            Box::new(FakeLoader::new(28, 1000)),
            &entries(),
        )
    })
}

fn tally<'a>(harness: &'a Harness<'static, App>) -> &'a Tally {
    app(harness)
        .view::<Tally>()
        .unwrap_or_else(|| panic!("the tally view is registered"))
}

#[test]
fn a_registered_view_gets_a_tab_its_keys_its_dropped_files_and_its_settings() {
    let english = AppSettings {
        lang: Some(Lang::En),
        ..AppSettings::default()
    };
    let mut harness = window(english);
    harness.run_steps(2);
    assert_eq!(app(&harness).shown_view(), ForwardView::KEY);

    // Its tab shows it; its button and its key reach it.
    harness.get_by_label("Tally").click();
    harness.run_steps(2);
    assert_eq!(app(&harness).shown_view(), Tally::KEY);
    harness.get_by_label("count 0");
    harness.get_by_label("add one").click();
    harness.run_steps(2);
    harness.key_press(Key::T);
    harness.run_steps(2);
    assert_eq!(tally(&harness).settings.count, 2);
    harness.get_by_label("count 2");

    // A dropped file goes to the view on screen, not to the Forward view.
    let source_before = app(&harness).forward().state.source.clone();
    let path = PathBuf::from("/nonexistent/lesson-notes.txt");
    harness
        .input_mut()
        .dropped_files
        .push(dropped_file::dropped(path.clone()));
    harness.run_steps(2);
    assert_eq!(tally(&harness).dropped, [path]);
    assert_eq!(app(&harness).forward().state.source, source_before);
    assert!(app(&harness).forward().message.is_none());

    // The About dialog lists its keys.
    harness.get_by_label("About").click();
    harness.run_steps(2);
    harness.get_by_label("count one more");

    // Its settings are remembered, and a new window starts where it was left.
    let remembered = app(&harness).settings();
    assert_eq!(remembered.view, Tally::KEY);
    assert_eq!(
        remembered.view_settings::<TallySettings>(Tally::KEY),
        TallySettings { count: 2 }
    );
    let mut reopened = window(remembered);
    reopened.run_steps(2);
    assert_eq!(app(&reopened).shown_view(), Tally::KEY);
    reopened.get_by_label("count 2");
}

#[test]
fn a_registered_view_takes_part_in_lessons() {
    let mut harness = window(AppSettings::default());
    harness.run_steps(2);
    harness.key_press(Key::T);
    harness.get_by_label("Tally").click();
    harness.run_steps(2);
    harness.key_press(Key::T);
    harness.key_press(Key::T);
    harness.run_steps(2);
    let slide = app(&harness).current_slide();
    assert_eq!(slide.view, Tally::KEY);
    assert_eq!(
        slide.views[Tally::KEY],
        serde_json::json!({ "settings": { "count": 2 } })
    );

    let mut other = window(AppSettings::default());
    other.run_steps(2);
    window::app_mut(&mut other)
        .open_lesson(Lesson::new("tally", vec![slide]))
        .unwrap_or_else(|e| panic!("{e}"));
    other.run_steps(2);
    assert_eq!(app(&other).shown_view(), Tally::KEY);
    other.get_by_label("count 2");
}

/// A window of other views than the shipped two draws and steps without them.
#[test]
fn a_window_without_the_shipped_views_runs() {
    let only_tally = [ViewEntry {
        key: Tally::KEY,
        build: |setup| Box::new(Tally::from_setup(setup)),
    }];
    let mut harness = window::window([800.0, 600.0], move |ctx| {
        DiffuscopeApp::with_views(
            ctx,
            AppSettings::default(),
            Box::new(FakeLoader::new(28, 1000)),
            &only_tally,
        )
    });
    harness.run_steps(3);
    assert_eq!(app(&harness).shown_view(), Tally::KEY);
    harness.get_by_label("count 0");
}
