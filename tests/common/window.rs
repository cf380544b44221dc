//! The window under egui_kittest, for the window tests: a harness that builds the app on its first
//! frame and runs it as eframe does (`logic`, then `ui_root`), and helpers to reach the app.
#![allow(dead_code, reason = "each window test uses the parts it needs")]

use std::time::Duration;

use diffuscope::ui::DiffuscopeApp;
use eframe::egui;
use egui_kittest::Harness;

/// The harness's state: the app, once its first frame has built it.
pub type App = Option<DiffuscopeApp>;

/// A window of `size` whose app `build` makes on the first frame.
pub fn window(
    size: [f32; 2],
    build: impl Fn(&egui::Context) -> DiffuscopeApp + 'static,
) -> Harness<'static, App> {
    Harness::builder().with_size(size).build_ui_state(
        move |ui, app: &mut App| {
            let app = app.get_or_insert_with(|| build(ui.ctx()));
            app.logic(ui.ctx());
            app.ui_root(ui);
        },
        None,
    )
}

/// The app.
pub fn app<'a>(harness: &'a Harness<'static, App>) -> &'a DiffuscopeApp {
    harness
        .state()
        .as_ref()
        .unwrap_or_else(|| panic!("the app is built on the first frame"))
}

/// The app, to change.
pub fn app_mut<'a>(harness: &'a mut Harness<'static, App>) -> &'a mut DiffuscopeApp {
    harness
        .state_mut()
        .as_mut()
        .unwrap_or_else(|| panic!("the app is built on the first frame"))
}

/// Steps the window until `done` holds (background jobs finish on their own threads), for at most
/// about ten seconds.
pub fn run_until(harness: &mut Harness<'static, App>, done: impl Fn(&DiffuscopeApp) -> bool) {
    for _ in 0..1000 {
        harness.step();
        if harness.state().as_ref().is_some_and(&done) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the window did not reach the expected state");
}

/// Every frame of the GIF at `path`, decoded by the `image` crate (panics if it does not read).
pub fn gif_frames(path: &std::path::Path) -> Vec<image::Frame> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| unreadable(path, &e));
    let decoder = image::codecs::gif::GifDecoder::new(std::io::BufReader::new(file))
        .unwrap_or_else(|e| unreadable(path, &e));
    image::AnimationDecoder::into_frames(decoder)
        .collect_frames()
        .unwrap_or_else(|e| unreadable(path, &e))
}

fn unreadable(path: &std::path::Path, error: &dyn std::fmt::Display) -> ! {
    panic!("{} does not read: {error}", path.display())
}
