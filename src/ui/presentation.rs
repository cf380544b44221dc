//! Presentation mode (F5): the view shown for the back of a classroom. The window goes full screen,
//! everything is drawn [`PresentationSettings::zoom`] times larger (at least twice; Ctrl+= and
//! Ctrl+− change it and it is remembered), in a high-contrast theme with thicker plot lines, and
//! the views fold their side panels away (a button brings them back); every key still works.
//!
//! Views do not hold the mode: they ask the context ([`is_presenting`], [`line_width`]) and draw
//! their panels with [`view_panels`], so a new view gets the mode by drawing through it.

use std::ops::RangeInclusive;

use eframe::egui::{self, Color32, Id, Stroke, Visuals};
use serde::{Deserialize, Serialize};

/// The zoom factors presentation mode allows: at least twice the normal size.
pub const ZOOM_RANGE: RangeInclusive<f32> = 2.0..=4.0;

/// What presentation mode remembers between sessions.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PresentationSettings {
    /// Whether the window presents (it opens so again).
    pub on: bool,
    /// The zoom factor while presenting, within [`ZOOM_RANGE`].
    pub zoom: f32,
}

impl Default for PresentationSettings {
    fn default() -> Self {
        Self {
            on: false,
            zoom: 2.0,
        }
    }
}

/// How the window looked before presenting, to go back to.
struct Before {
    zoom: f32,
    visuals: Visuals,
    fullscreen: bool,
}

/// The mode's state in the window.
pub struct Presentation {
    settings: PresentationSettings,
    before: Option<Before>,
}

/// Where the context holds [`Presenting`] for the views to read.
fn presenting_id() -> Id {
    Id::unique("diffuscope-presenting")
}

/// What the views read while presenting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Presenting {
    /// Whether the side panels are shown anyway.
    panels: bool,
}

impl Presentation {
    /// The mode as remembered; call [`Self::restore`] once the window has a context.
    pub fn new(settings: PresentationSettings) -> Self {
        let zoom = if settings.zoom.is_finite() {
            settings.zoom.clamp(*ZOOM_RANGE.start(), *ZOOM_RANGE.end())
        } else {
            PresentationSettings::default().zoom
        };
        Self {
            settings: PresentationSettings { zoom, ..settings },
            before: None,
        }
    }

    /// Enters the mode if it was on when the window last closed.
    pub fn restore(&mut self, ctx: &egui::Context) {
        if self.settings.on && self.before.is_none() {
            self.enter(ctx);
        }
    }

    /// What to remember.
    pub fn settings(&self) -> PresentationSettings {
        self.settings
    }

    /// Whether the window presents.
    pub fn is_on(&self) -> bool {
        self.before.is_some()
    }

    /// Enters or leaves the mode.
    pub fn toggle(&mut self, ctx: &egui::Context) {
        if self.is_on() {
            self.leave(ctx);
        } else {
            self.enter(ctx);
        }
    }

    /// Each frame: F5 toggles; while presenting, a zoom the teacher changes is remembered.
    pub fn frame(&mut self, ctx: &egui::Context) {
        if ctx.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::F5)) {
            self.toggle(ctx);
        } else if self.is_on() {
            let zoom = ctx.zoom_factor();
            if ZOOM_RANGE.contains(&zoom) {
                self.settings.zoom = zoom;
            }
        }
    }

    /// Shows or hides the side panels while presenting.
    pub fn set_panels(&self, ctx: &egui::Context, shown: bool) {
        if self.is_on() {
            ctx.data_mut(|d| d.insert_temp(presenting_id(), Presenting { panels: shown }));
        }
    }

    fn enter(&mut self, ctx: &egui::Context) {
        self.before = Some(Before {
            zoom: ctx.zoom_factor(),
            visuals: ctx.style_of(ctx.theme()).visuals.clone(),
            fullscreen: ctx.input(|i| i.viewport().fullscreen.unwrap_or(false)),
        });
        self.settings.on = true;
        ctx.set_zoom_factor(self.settings.zoom);
        ctx.set_visuals(high_contrast());
        ctx.send_viewport_cmd(egui::ViewportCommand::Fullscreen(true));
        ctx.data_mut(|d| d.insert_temp(presenting_id(), Presenting { panels: false }));
    }

    fn leave(&mut self, ctx: &egui::Context) {
        self.settings.on = false;
        ctx.data_mut(|d| d.remove::<Presenting>(presenting_id()));
        if let Some(before) = self.before.take() {
            ctx.set_zoom_factor(before.zoom);
            ctx.set_visuals(before.visuals);
            ctx.send_viewport_cmd(egui::ViewportCommand::Fullscreen(before.fullscreen));
        }
    }
}

/// Whether the window presents.
pub fn is_presenting(ctx: &egui::Context) -> bool {
    presenting(ctx).is_some()
}

fn presenting(ctx: &egui::Context) -> Option<Presenting> {
    ctx.data(|d| d.get_temp::<Presenting>(presenting_id()))
}

/// Whether the side panels are shown: always, except while presenting with them folded.
pub fn side_panels_shown(ctx: &egui::Context) -> bool {
    presenting(ctx).is_none_or(|p| p.panels)
}

/// A plot line's width: `base`, twice that while presenting.
pub fn line_width(ctx: &egui::Context, base: f32) -> f32 {
    if is_presenting(ctx) { 2.0 * base } else { base }
}

/// A view's layout: its controls on the left (`controls_width` wide), its explanation on the
/// right, and the centre, each drawn from `view`; `id` names the side panels. While presenting,
/// the side panels are folded away unless shown with the top bar's button.
pub fn view_panels<V>(
    ui: &mut egui::Ui,
    (id, controls_width): (&str, f32),
    view: &mut V,
    controls: impl FnOnce(&mut V, &mut egui::Ui),
    explanation: impl FnOnce(&mut egui::Ui),
    centre: impl FnOnce(&mut V, &mut egui::Ui),
) {
    if side_panels_shown(ui.ctx()) {
        egui::Panel::left(format!("{id}-controls"))
            .resizable(false)
            .exact_size(controls_width)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| controls(view, ui));
            });
        egui::Panel::right(format!("{id}-explanation"))
            .resizable(true)
            .default_size(300.0)
            .show(ui, explanation);
    }
    egui::CentralPanel::default().show(ui, |ui| centre(view, ui));
}

/// The high-contrast theme: white on black, thicker outlines, brighter faint text.
pub fn high_contrast() -> Visuals {
    let mut visuals = Visuals::dark();
    visuals.panel_fill = Color32::BLACK;
    visuals.window_fill = Color32::BLACK;
    visuals.extreme_bg_color = Color32::BLACK;
    visuals.faint_bg_color = Color32::from_gray(24);
    visuals.override_text_color = Some(Color32::WHITE);
    visuals.weak_text_alpha = 0.9;
    visuals.window_stroke = Stroke::new(2.0, Color32::WHITE);
    let widgets = &mut visuals.widgets;
    widgets.noninteractive.bg_stroke = Stroke::new(1.5, Color32::from_gray(200));
    widgets.noninteractive.fg_stroke = Stroke::new(1.5, Color32::WHITE);
    for state in [
        &mut widgets.inactive,
        &mut widgets.hovered,
        &mut widgets.active,
        &mut widgets.open,
    ] {
        state.bg_stroke = Stroke::new(2.0, Color32::from_gray(230));
        state.fg_stroke = Stroke::new(2.0, Color32::WHITE);
    }
    visuals.selection.stroke = Stroke::new(2.5, Color32::WHITE);
    visuals
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_zoom_outside_the_range_is_brought_into_it() {
        let low = Presentation::new(PresentationSettings {
            on: false,
            zoom: 0.5,
        });
        assert_eq!(low.settings().zoom, 2.0);
        let nan = Presentation::new(PresentationSettings {
            on: false,
            zoom: f32::NAN,
        });
        assert_eq!(nan.settings().zoom, 2.0);
        let high = Presentation::new(PresentationSettings {
            on: true,
            zoom: 9.0,
        });
        assert_eq!(
            high.settings(),
            PresentationSettings {
                on: true,
                zoom: 4.0
            }
        );
    }

    #[test]
    fn entering_and_leaving_restores_the_zoom_and_theme() {
        let ctx = egui::Context::default();
        let mut mode = Presentation::new(PresentationSettings::default());
        mode.toggle(&ctx);
        assert!(mode.is_on() && is_presenting(&ctx) && !side_panels_shown(&ctx));
        assert_eq!(ctx.style_of(ctx.theme()).visuals.panel_fill, Color32::BLACK);
        mode.set_panels(&ctx, true);
        assert!(side_panels_shown(&ctx));
        mode.toggle(&ctx);
        assert!(!mode.is_on() && !is_presenting(&ctx) && side_panels_shown(&ctx));
        assert_eq!(ctx.style_of(ctx.theme()).visuals, Visuals::dark());
        assert!(!mode.settings().on);
    }
}
