//! How the window starts when a script prepares a lesson: the command line's window flags replace
//! the remembered choices, and the window shows them.
#[path = "common/window.rs"]
mod window;

use std::path::Path;

use diffuscope::diffusion::samplers::SamplerKind;
use diffuscope::i18n::Lang;
use diffuscope::ui::forward::state::PictureSource;
use diffuscope::ui::reverse::ReverseView;
use diffuscope::ui::reverse::state::ReverseSettings;
use diffuscope::ui::{AppSettings, DiffuscopeApp, StartImage, WindowOptions};
use diffuscope::worker::CandleLoader;
use eframe::egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use window::{App, app};

fn harness(settings: AppSettings, options: WindowOptions) -> Harness<'static, App> {
    window::window([1400.0, 900.0], move |ctx| {
        DiffuscopeApp::with_options(
            ctx,
            settings.clone(),
            options.clone(),
            Box::new(CandleLoader::default()),
        )
    })
}

#[test]
fn flags_replace_remembered_choices_and_absent_ones_keep_them() {
    let remembered = AppSettings {
        lang: Some(Lang::En),
        view: "forward".to_owned(),
        ..AppSettings::default()
    }
    .with_view_settings(
        ReverseView::KEY,
        &ReverseSettings {
            sampler: SamplerKind::Ddim.cli_name().to_owned(),
            steps: 50,
            seed: 9,
            ..ReverseSettings::default()
        },
    );
    let flags = WindowOptions {
        view: Some("reverse".to_owned()),
        sampler: Some(SamplerKind::Ddpm),
        steps: Some(1000),
        samples: Some(16),
        ..WindowOptions::default()
    };
    let applied = flags.apply(remembered.clone());
    assert_eq!(applied.view, "reverse");
    let reverse: ReverseSettings = applied.view_settings(ReverseView::KEY);
    assert_eq!(reverse.sampler, "ddpm");
    assert_eq!(reverse.steps, 1000);
    assert_eq!(reverse.grid_side, 4);
    assert_eq!(reverse.seed, 9, "a choice no flag names stays");
    assert_eq!(applied.lang, Some(Lang::En));
    assert_eq!(
        WindowOptions::default().apply(remembered.clone()),
        remembered
    );
}

#[test]
fn the_window_opens_as_the_flags_say() {
    let photo = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/images/coffee.png");
    let image = StartImage::load(&photo).unwrap_or_else(|e| panic!("{}", e.sentence(Lang::En)));
    let (width, height) = (image.loaded.picture.width, image.loaded.picture.height);
    let window = WindowOptions {
        view: Some("reverse".to_owned()),
        lang: Some(Lang::Zh),
        image: Some(image),
        sampler: Some(SamplerKind::Ddpm),
        steps: Some(1000),
        zoom: Some(1.25),
        ..WindowOptions::default()
    };
    // What a fresh install remembers: nothing, so DDIM-50 in the system's language.
    let mut harness = harness(AppSettings::default(), window);
    harness.run_steps(3);

    let shown = app(&harness);
    assert_eq!(shown.lang(), Lang::Zh);
    assert_eq!(shown.shown_view(), "reverse");
    assert_eq!(shown.reverse().state.settings.sampler, "ddpm");
    assert_eq!(shown.reverse().state.settings.steps, 1000);
    assert_eq!(
        shown.forward().state.source,
        PictureSource::File("coffee.png".into())
    );
    let picture = shown.forward().state.picture();
    assert_eq!((picture.width, picture.height), (width, height));
    assert!((harness.ctx.zoom_factor() - 1.25).abs() < 1e-6);

    // On screen: the Reverse view in Chinese, its sampler menu on DDPM.
    harness.get_by_label("反向：噪声 → 数字");
    let sampler = harness.get_by_role_and_label(Role::ComboBox, "采样器");
    assert_eq!(sampler.value().as_deref(), Some("DDPM"));
}
