//! The Diffusion tab's plane: the data at the forward slider's t, the samples at the reverse
//! scrubber's step, the paths of a few, the field of arrows, a grid in the noise carried to the
//! data, contour lines of the samples' density, and the whole path of the sample the class
//! clicked, with where one big step would have taken it.

use eframe::egui::{self, Color32};
use egui_plot::{Arrows, Line, LineStyle, MarkerShape, PlotUi, Points};

use super::live::Published;
use super::view::{DATA_COLOUR, EXTENT, PATH_COLOUR, SAMPLE_COLOUR, TRACED, as_plot, plane_plot};
use super::{DataChoice, PlaygroundView};
use crate::i18n::Lang;
use crate::toy::Point;
use crate::toy::density::{ContourLine, DensityGrid};
use crate::toy::diffusion::forward_coefficients;
use crate::toy::mesh::Mesh;
use crate::ui::presentation::line_width;

/// Arrows per side of the field's grid.
const FIELD_SIDE: usize = 17;
/// Cells per side of the density estimate, and its kernel's width.
const DENSITY_CELLS: usize = 80;
const DENSITY_BANDWIDTH: f32 = 0.15;
/// How near a click must fall to a sample to pick it.
const PICK_RADIUS: f32 = 0.3;

const FIELD_COLOUR: Color32 = Color32::from_rgb(0, 158, 115);
const MESH_COLOUR: Color32 = Color32::from_rgb(120, 150, 190);
const DENSITY_COLOUR: Color32 = Color32::from_rgb(200, 150, 255);
const TRACE_COLOUR: Color32 = Color32::from_rgb(255, 255, 255);
const GAP_COLOUR: Color32 = Color32::from_rgb(240, 60, 60);

/// What a press on the plane asks for.
enum PlaneInput {
    /// Add drawn points here (the data is drawn by hand).
    Draw(Point),
    /// Trace the sample nearest here, or none.
    Pick(Point),
}

/// Draws the plane `side` points wide, and takes the class's drawing or picking on it.
pub(super) fn plane_ui(view: &mut PlaygroundView, ui: &mut egui::Ui, lang: Lang, side: f32) {
    let drawing = view.settings.data == DataChoice::Drawn;
    let layers = view.settings.layers;
    let data = if layers.data {
        view.noised_data()
    } else {
        Vec::new()
    };
    let field = layers.field.then(|| field_arrows(view)).flatten();
    let last = view.diffusion().paths.len().saturating_sub(1);
    let step = view.step.unwrap_or(last);
    let density = if layers.density {
        density_lines(view, step)
    } else {
        Vec::new()
    };
    let traced = view.traced;
    let published = view.diffusion();
    let response = plane_plot("playground-plane", side).show(ui, |plot| {
        let radius = line_width(plot.ctx(), 1.5);
        if !data.is_empty() {
            plot.points(
                Points::new(lang.pick("data", "数据"), as_plot(&data))
                    .color(DATA_COLOUR)
                    .radius(radius),
            );
        }
        if layers.mesh {
            draw_mesh(plot, published, step);
        }
        if let Some((origins, tips)) = field {
            plot.arrows(
                Arrows::new("x → x̂0", as_plot(&origins), as_plot(&tips)).color(FIELD_COLOUR),
            );
        }
        draw_density(plot, &density);
        if layers.paths && step > 0 {
            draw_paths(plot, &published.paths, step);
        }
        if layers.samples
            && let Some(points) = published.paths.get(step)
        {
            plot.points(
                Points::new(lang.pick("samples", "样本"), as_plot(points))
                    .color(SAMPLE_COLOUR)
                    .radius(radius),
            );
        }
        if let Some(k) = traced {
            draw_trace(plot, published, k, step);
        }
        let at = plot.pointer_coordinate()?;
        let at = [at.x as f32, at.y as f32];
        if drawing {
            plot.response()
                .is_pointer_button_down_on()
                .then_some(PlaneInput::Draw(at))
        } else {
            plot.response().clicked().then_some(PlaneInput::Pick(at))
        }
    });
    match response.inner {
        Some(PlaneInput::Draw(at)) => view.draw_at(at),
        Some(PlaneInput::Pick(at)) => {
            let samples = view.diffusion().paths.get(step);
            view.traced = samples.and_then(|samples| nearest(samples, at));
        }
        None => {}
    }
}

/// The place of the point of `points` nearest `at`, if within [`PICK_RADIUS`].
fn nearest(points: &[Point], at: Point) -> Option<usize> {
    let distance = |p: &Point| (p[0] - at[0]).hypot(p[1] - at[1]);
    points
        .iter()
        .enumerate()
        .min_by(|(_, a), (_, b)| distance(a).total_cmp(&distance(b)))
        .filter(|(_, p)| distance(p) <= PICK_RADIUS)
        .map(|(k, _)| k)
}

/// The first [`TRACED`] samples' paths from noise up to `step`.
fn draw_paths(plot: &mut PlotUi<'_>, paths: &[Vec<Point>], step: usize) {
    for k in 0..TRACED.min(paths.first().map_or(0, Vec::len)) {
        let path: Vec<Point> = paths[..=step].iter().map(|points| points[k]).collect();
        plot.line(
            Line::new("", as_plot(&path))
                .color(PATH_COLOUR)
                .width(line_width(plot.ctx(), 1.5)),
        );
    }
}

/// The mesh of the noise plane where the sampler has carried it by `step`.
fn draw_mesh(plot: &mut PlotUi<'_>, published: &Published, step: usize) {
    let Some(at_step) = published
        .mesh
        .as_ref()
        .and_then(|mesh| mesh.get(step.min(mesh.len().saturating_sub(1))))
    else {
        return;
    };
    let width = line_width(plot.ctx(), 1.0);
    for line in Mesh::CLASSROOM.lines_of(at_step) {
        plot.line(Line::new("", as_plot(line)).color(MESH_COLOUR).width(width));
    }
}

/// The density contours, the densest region's line the darkest.
fn draw_density(plot: &mut PlotUi<'_>, lines: &[ContourLine]) {
    for line in lines {
        let colour = DENSITY_COLOUR.gamma_multiply((1.4 - line.share) as f32);
        for piece in &line.pieces {
            plot.line(
                Line::new("", as_plot(piece))
                    .color(colour)
                    .width(line_width(plot.ctx(), 2.0)),
            );
        }
    }
}

/// Sample `k`'s whole path, a ring where it is at `step`, and its one big step: a dashed line
/// from its start to where one sampler step lands, and a dotted one on to where it really ends.
fn draw_trace(plot: &mut PlotUi<'_>, published: &Published, k: usize, step: usize) {
    let path: Vec<Point> = published
        .paths
        .iter()
        .filter_map(|points| points.get(k).copied())
        .collect();
    let (Some(&start), Some(&end)) = (path.first(), path.last()) else {
        return;
    };
    let width = line_width(plot.ctx(), 3.0);
    plot.line(
        Line::new("", as_plot(&path))
            .color(TRACE_COLOUR)
            .width(width),
    );
    if let Some(&landing) = published.one_step.as_ref().and_then(|l| l.get(k)) {
        plot.line(
            Line::new("", as_plot(&[start, landing]))
                .color(TRACE_COLOUR)
                .style(LineStyle::dashed_loose())
                .width(width / 1.5),
        );
        plot.line(
            Line::new("", as_plot(&[landing, end]))
                .color(GAP_COLOUR)
                .style(LineStyle::dotted_dense())
                .width(width / 1.5),
        );
    }
    if let Some(&now) = path.get(step) {
        plot.points(
            Points::new("", as_plot(&[now]))
                .shape(MarkerShape::Circle)
                .filled(false)
                .color(TRACE_COLOUR)
                .radius(line_width(plot.ctx(), 7.0)),
        );
    }
}

/// What the traced sample shows, or how to trace one.
pub(super) fn trace_caption(view: &PlaygroundView, lang: Lang) -> String {
    let published = view.diffusion();
    let traced = view.traced.and_then(|k| {
        let path: Vec<Point> = published
            .paths
            .iter()
            .map(|p| p.get(k).copied())
            .collect::<Option<_>>()?;
        let landing = *published.one_step.as_ref()?.get(k)?;
        Some((path, landing))
    });
    let Some((path, landing)) = traced else {
        return lang
            .pick(
                "Click a sample to trace its whole path.",
                "点击一个样本，描出它的完整路径。",
            )
            .to_owned();
    };
    let distance = |a: Point, b: Point| (a[0] - b[0]).hypot(a[1] - b[1]);
    let length: f32 = path.windows(2).map(|w| distance(w[0], w[1])).sum();
    let (start, end) = (path[0], path[path.len() - 1]);
    let (straight, miss) = (distance(start, end), distance(landing, end));
    let steps = path.len() - 1;
    lang.pick(
        format!(
            "Traced: path {length:.2} long for {straight:.2} from start to end; one big step (dashed) lands {miss:.2} from where {steps} steps end (dotted gap)."
        ),
        format!(
            "描出的样本：路径长 {length:.2}，起点到终点 {straight:.2}；一大步（虚线）的落点离 {steps} 步的终点差 {miss:.2}（点线）。"
        ),
    )
}

/// The samples' density contours at `step`, kept until the model or the step changes.
fn density_lines(view: &mut PlaygroundView, step: usize) -> Vec<ContourLine> {
    let published = view.diffusion();
    let key = (published.revision, step);
    if let Some((shown, lines)) = &view.density_cache
        && *shown == key
    {
        return lines.clone();
    }
    let Some(samples) = published.paths.get(step) else {
        return Vec::new();
    };
    let lines = DensityGrid::estimate(samples, EXTENT as f32, DENSITY_CELLS, DENSITY_BANDWIDTH)
        .contour_lines();
    view.density_cache = Some((key, lines.clone()));
    lines
}

/// The field of arrows at the forward slider's t: from each grid point x towards the model's
/// guess of x0, a third of the way; `None` before there is a model. Kept until the model or t
/// changes, so the network runs on this thread only when they do.
fn field_arrows(view: &mut PlaygroundView) -> Option<(Vec<Point>, Vec<Point>)> {
    let revision = view.diffusion().revision;
    let model = view.diffusion().model.as_ref()?;
    // The model's own schedule and objective: the settings may have changed since it trained.
    let t = view.t.clamp(1, model.schedule.steps());
    if let Some(((shown, at), arrows)) = &view.field_cache
        && (*shown, *at) == (revision, t)
    {
        return Some(arrows.clone());
    }
    let grid: Vec<Point> = (0..FIELD_SIDE * FIELD_SIDE)
        .map(|i| {
            let at =
                |k: usize| (-EXTENT + 2.0 * EXTENT * k as f64 / (FIELD_SIDE - 1) as f64) as f32;
            [at(i % FIELD_SIDE), at(i / FIELD_SIDE)]
        })
        .collect();
    let flat = grid.as_flattened();
    // The network's time input is t for every objective (flow: σ·T with σ = t/T).
    let output = model
        .net
        .predict_points(flat, &vec![t as f32; grid.len()])
        .ok()?;
    let coefficients = forward_coefficients(model.objective, &model.schedule, t);
    let prediction = model.objective.predict(&output, flat, coefficients);
    let tips: Vec<Point> = grid
        .iter()
        .zip(prediction.x0.chunks_exact(2))
        .map(|(x, x0)| [x[0] + (x0[0] - x[0]) / 3.0, x[1] + (x0[1] - x[1]) / 3.0])
        .collect();
    view.field_cache = Some(((revision, t), (grid.clone(), tips.clone())));
    Some((grid, tips))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_click_picks_the_nearest_sample_within_reach() {
        let samples = [[0.0, 0.0], [1.0, 0.0], [3.0, 3.0]];
        assert_eq!(nearest(&samples, [0.9, 0.1]), Some(1));
        assert_eq!(nearest(&samples, [0.1, 0.0]), Some(0));
        assert_eq!(nearest(&samples, [2.0, -2.0]), None);
        assert_eq!(nearest(&[], [0.0, 0.0]), None);
    }
}
