//! The range of every number the command line takes, enforced while parsing: `--fps 0`,
//! `--width 0`, `--guidance 1e30` or `--eta NaN` stop with one sentence naming the option and its
//! range before any work starts. `--help` shows each range as "[0.1–50]".

use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

use crate::i18n::Lang;

/// A value outside an option's range, or not a number of the right kind at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutOfRange {
    /// The smallest value allowed, as `--help` writes it.
    pub low: String,
    /// The largest value allowed, as `--help` writes it.
    pub high: String,
    /// Whether only whole numbers are allowed.
    pub whole: bool,
}

impl OutOfRange {
    /// What the option takes: "a number from 0.1 to 50", "a whole number from 2 to 1001".
    pub fn allowed(&self, lang: Lang) -> String {
        let Self { low, high, whole } = self;
        match (lang, whole) {
            (Lang::En, false) => format!("a number from {low} to {high}"),
            (Lang::En, true) => format!("a whole number from {low} to {high}"),
            (Lang::Zh, false) => format!("{low} 到 {high} 之间的数"),
            (Lang::Zh, true) => format!("{low} 到 {high} 之间的整数"),
        }
    }

    /// The sentence for `option` given `value`: "--fps must be a number from 0.1 to 50, not “0”."
    pub fn sentence(&self, option: &str, value: &str, lang: Lang) -> String {
        let allowed = self.allowed(lang);
        match lang {
            Lang::En => format!("{option} must be {allowed}, not “{value}”."),
            Lang::Zh => format!("{option} 必须是 {allowed}，不能是“{value}”。"),
        }
    }
}

impl fmt::Display for OutOfRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {}", self.allowed(Lang::En))
    }
}

impl std::error::Error for OutOfRange {}

/// Frames per second of a GIF: from one frame every 10 s to 50 a second, the fastest browsers show.
pub const FPS: RangeInclusive<f32> = 0.1..=50.0;

/// Parses a seed: any whole number a `u64` holds.
pub fn seed() -> impl Fn(&str) -> Result<u64, OutOfRange> + Clone + Send + Sync + 'static {
    whole(0..=u64::MAX)
}

/// Parses a number in `range` (both ends included); NaN and infinities are never in range.
pub fn finite_f32(
    range: RangeInclusive<f32>,
) -> impl Fn(&str) -> Result<f32, OutOfRange> + Clone + Send + Sync + 'static {
    bounded(range, false)
}

/// Parses a number in `range` (both ends included); NaN and infinities are never in range.
pub fn finite_f64(
    range: RangeInclusive<f64>,
) -> impl Fn(&str) -> Result<f64, OutOfRange> + Clone + Send + Sync + 'static {
    bounded(range, false)
}

/// Parses a whole number in `range` (both ends included).
pub fn whole<T>(
    range: RangeInclusive<T>,
) -> impl Fn(&str) -> Result<T, OutOfRange> + Clone + Send + Sync + 'static
where
    T: FromStr + PartialOrd + fmt::Display + Clone + Send + Sync + 'static,
{
    bounded(range, true)
}

/// `text` as a `T` inside `range`. A comparison with NaN is false, so NaN never passes.
fn bounded<T>(
    range: RangeInclusive<T>,
    whole: bool,
) -> impl Fn(&str) -> Result<T, OutOfRange> + Clone + Send + Sync + 'static
where
    T: FromStr + PartialOrd + fmt::Display + Clone + Send + Sync + 'static,
{
    move |text: &str| {
        text.trim()
            .parse::<T>()
            .ok()
            .filter(|value| range.contains(value))
            .ok_or_else(|| OutOfRange {
                low: range.start().to_string(),
                high: range.end().to_string(),
                whole,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_outside_the_range_or_not_finite_are_refused() {
        let fps = finite_f32(0.1..=50.0);
        assert_eq!(fps("12"), Ok(12.0));
        assert_eq!(fps("0.1"), Ok(0.1));
        for bad in ["0", "-1", "NaN", "nan", "inf", "-inf", "1e30", "fast", ""] {
            assert!(fps(bad).is_err(), "{bad} was accepted");
        }
        let error = fps("0").expect_err("0 fps was accepted");
        assert_eq!(
            error.sentence("--fps", "0", Lang::En),
            "--fps must be a number from 0.1 to 50, not “0”."
        );
    }

    #[test]
    fn whole_numbers_outside_the_range_are_refused() {
        let frames = whole::<u16>(2..=1001);
        assert_eq!(frames("60"), Ok(60));
        for bad in ["0", "1", "-1", "1002", "1.5", "1e3", "65536", "NaN"] {
            assert!(frames(bad).is_err(), "{bad} was accepted");
        }
        let error = frames("1").expect_err("1 was accepted");
        assert_eq!(error.allowed(Lang::En), "a whole number from 2 to 1001");
        assert!(
            error
                .sentence("--frames", "1", Lang::Zh)
                .contains("2 到 1001")
        );
    }
}
