//! The guided tours through egui_kittest: each built-in tour sets its state, shows its card and
//! frames the control the card talks about; the card's buttons and PageDown step, and ending the
//! tour takes the card and the frame away.

#[path = "common/fake_model.rs"]
mod fake_model;
#[path = "common/window.rs"]
mod window;

use diffuscope::i18n::Lang;
use diffuscope::ui::forward::ForwardView;
use diffuscope::ui::tour::{self, BUILT_IN};
use diffuscope::ui::{AppSettings, DiffuscopeApp};
use eframe::egui::Key;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use fake_model::FakeLoader;
use window::{App, app, app_mut};

fn harness(lang: Lang) -> Harness<'static, App> {
    let settings = AppSettings {
        lang: Some(lang),
        ..AppSettings::default()
    };
    window::window([1400.0, 900.0], move |ctx| {
        DiffuscopeApp::with_loader(ctx, settings.clone(), Box::new(FakeLoader::new(28, 1000)))
    })
}

#[test]
fn every_tour_sets_its_state_shows_its_card_and_frames_its_target() {
    for lang in [Lang::En, Lang::Zh] {
        for built_in in BUILT_IN {
            let mut harness = harness(lang);
            harness.run_steps(2);
            app_mut(&mut harness).start_tour(built_in);
            harness.run_steps(3);
            let lesson = built_in.lesson(lang);
            let first = &lesson.slides[0];
            let card = first.card.as_ref().unwrap();
            assert_eq!(app(&harness).shown_view(), first.view);
            harness.get_by_label(card.text(lang));
            harness.get_by_label(lang.pick(built_in.title.0, built_in.title.1));
            assert_eq!(
                tour::drawn_highlight(&harness.ctx),
                card.target.clone(),
                "{}",
                built_in.title.0
            );
        }
    }
}

#[test]
fn the_cards_buttons_step_the_tour_and_ending_it_clears_the_frame() {
    let mut harness = harness(Lang::En);
    harness.run_steps(2);
    app_mut(&mut harness).start_tour(BUILT_IN[0]);
    harness.run_steps(3);
    let forward = |harness: &Harness<'static, App>| {
        let state = &app(harness).forward().state;
        (state.schedule().steps(), state.t)
    };
    assert_eq!(forward(&harness), (1000, 1000));
    assert_eq!(app(&harness).shown_view(), ForwardView::KEY);

    harness.get_by_label("Next ▶").click();
    harness.run_steps(3);
    assert_eq!(forward(&harness), (50, 50), "T = 50 and t = T");
    assert_eq!(
        tour::drawn_highlight(&harness.ctx).as_deref(),
        Some("forward.steps")
    );
    harness.get_by_label_contains("ᾱ_T ≈ 0.6");

    harness.key_press(Key::PageUp);
    harness.run_steps(3);
    assert_eq!(forward(&harness), (1000, 1000));

    harness.get_by_label("End the tour").click();
    harness.run_steps(3);
    assert_eq!(app(&harness).lesson_position(), None);
    assert_eq!(tour::drawn_highlight(&harness.ctx), None);
    assert!(harness.query_by_label_contains("ᾱ_T ≈ 0.6").is_none());
    assert_eq!(forward(&harness), (1000, 1000), "the state on screen stays");
}

#[test]
fn a_tour_while_presenting_unfolds_the_side_panels_to_frame_its_control() {
    let mut harness = harness(Lang::En);
    harness.run_steps(2);
    harness.key_press(Key::F5);
    harness.run_steps(2);
    assert!(harness.query_by_label("What am I looking at?").is_none());
    app_mut(&mut harness).start_tour(BUILT_IN[1]);
    harness.run_steps(3);
    assert!(app(&harness).is_presenting());
    harness.get_by_label("What am I looking at?");
    assert_eq!(
        tour::drawn_highlight(&harness.ctx).as_deref(),
        Some("forward.schedule")
    );
}
