//! Points as a CSV file: `x,y` per line, an optional `x,y` header. Reading refuses anything that
//! is not an ordinary file, more than [`FILE_LIMIT`] bytes or [`MAX_POINTS`] points, and names the
//! first line that is not two finite numbers; writing goes through a temporary file.

use std::io::Write;
use std::path::Path;

use super::data::{MAX_POINTS, Point};
use crate::data::file::{ReadError, read_regular_file};
use crate::export::ExportError;
use crate::export::atomic::{WriteFailure, write_atomically};
use crate::i18n::Lang;

/// The largest points file read: room for [`MAX_POINTS`] lines of long numbers.
pub const FILE_LIMIT: u64 = 8 << 20;

/// Why a points file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum PointsError {
    /// The file could not be read, or is not one we read.
    #[error(transparent)]
    Read(ReadError),
    /// The file is not text.
    #[error("not text")]
    NotText,
    /// The file holds no points.
    #[error("no points")]
    Empty,
    /// A line is not two finite numbers separated by a comma.
    #[error("line {line}")]
    BadLine {
        /// The line, counted from 1.
        line: usize,
    },
    /// More points than [`MAX_POINTS`].
    #[error("too many points")]
    TooMany,
}

impl PointsError {
    /// One sentence naming the file (`file` as the user should see it) and what is wrong.
    pub fn sentence(&self, file: &str, lang: Lang) -> String {
        match (self, lang) {
            (Self::Read(error), _) => error.sentence(file, lang),
            (Self::NotText, Lang::En) => format!("“{file}” is not a text file of points."),
            (Self::NotText, Lang::Zh) => format!("“{file}”不是点的文本文件。"),
            (Self::Empty, Lang::En) => format!("“{file}” holds no points."),
            (Self::Empty, Lang::Zh) => format!("“{file}”中没有任何点。"),
            (Self::BadLine { line }, Lang::En) => format!(
                "Line {line} of “{file}” is not a point: each line must be two numbers, x,y."
            ),
            (Self::BadLine { line }, Lang::Zh) => {
                format!("“{file}”第 {line} 行不是一个点：每行必须是两个数 x,y。")
            }
            (Self::TooMany, Lang::En) => {
                format!(
                    "“{file}” holds more than {MAX_POINTS} points; the playground takes at most {MAX_POINTS}."
                )
            }
            (Self::TooMany, Lang::Zh) => {
                format!("“{file}”中的点超过 {MAX_POINTS} 个；演练场最多接受 {MAX_POINTS} 个。")
            }
        }
    }
}

/// Reads the points of the CSV file at `path`.
pub fn read_points(path: &Path) -> Result<Vec<Point>, PointsError> {
    let bytes = read_regular_file(path, FILE_LIMIT).map_err(PointsError::Read)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| PointsError::NotText)?;
    parse_points(text)
}

/// The points of a CSV text (blank lines skipped; a first line `x,y` taken as a header).
pub fn parse_points(text: &str) -> Result<Vec<Point>, PointsError> {
    let mut points = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || (index == 0 && is_header(line)) {
            continue;
        }
        if points.len() == MAX_POINTS {
            return Err(PointsError::TooMany);
        }
        points.push(parse_line(line).ok_or(PointsError::BadLine { line: index + 1 })?);
    }
    if points.is_empty() {
        return Err(PointsError::Empty);
    }
    Ok(points)
}

fn is_header(line: &str) -> bool {
    line.replace(' ', "").eq_ignore_ascii_case("x,y")
}

fn parse_line(line: &str) -> Option<Point> {
    let (x, y) = line.split_once(',')?;
    let number = |text: &str| text.trim().parse::<f32>().ok().filter(|v| v.is_finite());
    Some([number(x)?, number(y)?])
}

/// The points as CSV text with an `x,y` header.
pub fn points_text(points: &[Point]) -> String {
    let mut text = String::with_capacity(points.len() * 20 + 4);
    text.push_str("x,y\n");
    for [x, y] in points {
        text.push_str(&format!("{x},{y}\n"));
    }
    text
}

/// Writes the points to `path` as CSV, through a temporary file.
pub fn write_points(path: &Path, points: &[Point]) -> Result<(), ExportError> {
    let text = points_text(points);
    write_atomically(path, |file| {
        file.write_all(text.as_bytes()).map_err(WriteFailure::from)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_and_bad_lines_are_named() {
        let points = vec![[0.5, -1.25], [3.0, 1e-3]];
        assert_eq!(parse_points(&points_text(&points)).ok(), Some(points));
        assert!(matches!(parse_points(""), Err(PointsError::Empty)));
        assert!(matches!(parse_points("x,y\n\n"), Err(PointsError::Empty)));
        assert!(matches!(
            parse_points("1,2\n3,four\n"),
            Err(PointsError::BadLine { line: 2 })
        ));
        assert!(matches!(
            parse_points("1,2,3"),
            Err(PointsError::BadLine { line: 1 })
        ));
        assert!(matches!(
            parse_points("NaN,1"),
            Err(PointsError::BadLine { line: 1 })
        ));
        assert!(matches!(
            parse_points("1e39,1"),
            Err(PointsError::BadLine { line: 1 })
        ));
        let many = "1,1\n".repeat(MAX_POINTS + 1);
        assert!(matches!(parse_points(&many), Err(PointsError::TooMany)));
    }
}
