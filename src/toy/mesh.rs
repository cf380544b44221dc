//! A square mesh of lines in the noise plane. Carried point by point through a deterministic
//! sampler, it shows the map from noise to data as a warped grid: where the mesh stretches, little
//! noise makes much data; where it bunches, much noise lands on little.

use super::data::Point;

/// Lines each way and points along each line, over ±`extent`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mesh {
    /// Lines in each direction.
    pub lines: usize,
    /// Points along each line.
    pub per_line: usize,
    /// The half-width of the square the mesh spans.
    pub extent: f32,
}

impl Mesh {
    /// The mesh the Playground draws: 11 lines each way over ±3 (three standard deviations of the
    /// noise), 31 points along each, 682 points in all.
    pub const CLASSROOM: Self = Self {
        lines: 11,
        per_line: 31,
        extent: 3.0,
    };

    /// The mesh's points: the horizontal lines (bottom to top, each left to right), then the
    /// vertical ones (left to right, each bottom to top).
    pub fn points(&self) -> Vec<Point> {
        let at =
            |k: usize, of: usize| -self.extent + 2.0 * self.extent * k as f32 / (of - 1) as f32;
        let (lines, along) = (self.lines.max(2), self.per_line.max(2));
        let horizontal = (0..lines).flat_map(|i| (0..along).map(move |j| (i, j)));
        let across = horizontal
            .clone()
            .map(|(i, j)| [at(j, along), at(i, lines)]);
        let up = horizontal.map(|(i, j)| [at(i, lines), at(j, along)]);
        across.chain(up).collect()
    }

    /// `points` (laid out as [`Self::points`]) cut into the mesh's lines.
    pub fn lines_of<'a>(&self, points: &'a [Point]) -> impl Iterator<Item = &'a [Point]> {
        points.chunks_exact(self.per_line.max(2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mesh_is_lines_each_way_across_the_square() {
        let mesh = Mesh {
            lines: 3,
            per_line: 5,
            extent: 2.0,
        };
        let points = mesh.points();
        assert_eq!(points.len(), 2 * 3 * 5);
        let lines: Vec<&[Point]> = mesh.lines_of(&points).collect();
        assert_eq!(lines.len(), 6);
        // The first line runs along the bottom, the last up the right-hand side.
        assert_eq!(lines[0][0], [-2.0, -2.0]);
        assert_eq!(lines[0][4], [2.0, -2.0]);
        assert!(lines[0].iter().all(|p| p[1] == -2.0));
        assert!(lines[5].iter().all(|p| p[0] == 2.0));
        assert_eq!(lines[5][4], [2.0, 2.0]);
    }
}
