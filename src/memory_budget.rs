//! The memory budget: the most one piece of work (an export, a sampling run, a training step) may
//! ask for. Sizes are checked against it before anything is allocated, so a mistyped `--width` or
//! `--batch` stops with a sentence that says how much it would need, instead of exhausting the
//! machine.
//!
//! The budget is half of the machine's memory (the smaller of the physical memory and a cgroup
//! limit, as containers set), and at most [`CAP_BYTES`].

use std::fmt;
use std::sync::OnceLock;

use crate::i18n::Lang;

/// The most any piece of work may use, however large the machine: 16 GB.
pub const CAP_BYTES: u64 = 16_000_000_000;
/// What a machine whose memory cannot be read is assumed to have: 8 GB.
const FALLBACK_MACHINE_BYTES: u64 = 8_000_000_000;

/// What the budget is for; each kind of work says which settings make it smaller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Work {
    /// `diffuscope export forward`.
    ForwardExport,
    /// `diffuscope sample` (the run kept for the GIF, the grid picture, the GIF frames).
    Sampling,
    /// `diffuscope train` (one step's activations and gradients).
    Training,
}

impl Work {
    /// "This export", as the subject of the sentence.
    fn subject(self, lang: Lang) -> &'static str {
        match self {
            Self::ForwardExport => lang.pick("This export", "这次导出"),
            Self::Sampling => lang.pick("This sampling run", "这次采样"),
            Self::Training => lang.pick("This training run", "这次训练"),
        }
    }

    /// What to change so the work fits.
    fn advice(self, lang: Lang) -> &'static str {
        match self {
            // Frames are written as they are made: their number does not count.
            Self::ForwardExport => lang.pick("Use a smaller --width.", "请减小 --width。"),
            Self::Sampling => lang.pick(
                "Use a smaller --grid or --scale, fewer --steps or a larger --stride.",
                "请减小 --grid 或 --scale、减少 --steps，或增大 --stride。",
            ),
            Self::Training => lang.pick("Use a smaller --batch.", "请减小 --batch。"),
        }
    }
}

/// How much memory work may use on a machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// The machine's memory in bytes (or the fallback, where it cannot be read).
    pub machine_bytes: u64,
    /// What one piece of work may use: half of `machine_bytes`, at most [`CAP_BYTES`].
    pub allowed_bytes: u64,
}

impl Budget {
    /// The budget on a machine with `machine_bytes` of memory.
    pub fn for_machine(machine_bytes: u64) -> Self {
        Self {
            machine_bytes,
            allowed_bytes: (machine_bytes / 2).min(CAP_BYTES),
        }
    }

    /// The budget on this machine (its memory is read once).
    pub fn of_this_machine() -> Self {
        static BUDGET: OnceLock<Budget> = OnceLock::new();
        *BUDGET.get_or_init(|| {
            Self::for_machine(machine_memory_bytes().unwrap_or(FALLBACK_MACHINE_BYTES))
        })
    }

    /// Whether `work` needing `needed_bytes` fits.
    pub fn check(&self, work: Work, needed_bytes: u64) -> Result<(), BudgetError> {
        if needed_bytes <= self.allowed_bytes {
            Ok(())
        } else {
            Err(BudgetError {
                work,
                needed_bytes,
                budget: *self,
            })
        }
    }

    /// The budget in words for `--help`: "Memory: work that would need more than 12.6 GB is
    /// refused before it starts, … (half of this machine's 25.3 GB, at most 16.0 GB)."
    pub fn help(&self) -> String {
        format!(
            "Memory: work that would need more than {} is refused before it starts, with a \
             sentence saying how much it would need (half of this machine's {}, at most {}).",
            gigabytes(self.allowed_bytes),
            gigabytes(self.machine_bytes),
            gigabytes(CAP_BYTES)
        )
    }
}

/// Whether `work` needing `needed_bytes` fits this machine's budget.
pub fn check(work: Work, needed_bytes: u64) -> Result<(), BudgetError> {
    Budget::of_this_machine().check(work, needed_bytes)
}

/// Work that would need more memory than the budget allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BudgetError {
    /// What was refused.
    pub work: Work,
    /// What it would need, in bytes (an estimate).
    pub needed_bytes: u64,
    /// The budget it exceeds.
    pub budget: Budget,
}

impl fmt::Display for BudgetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sentence(Lang::En))
    }
}

impl std::error::Error for BudgetError {}

impl BudgetError {
    /// "This export would need about 7.2 GB of memory; this machine allows 6.0 GB (half of its
    /// 12.0 GB). Use a smaller --width."
    pub fn sentence(&self, lang: Lang) -> String {
        let need = gigabytes(self.needed_bytes);
        let allowed = gigabytes(self.budget.allowed_bytes);
        let machine = gigabytes(self.budget.machine_bytes);
        let capped = self.budget.allowed_bytes < self.budget.machine_bytes / 2;
        let subject = self.work.subject(lang);
        let advice = self.work.advice(lang);
        match (lang, capped) {
            (Lang::En, false) => format!(
                "{subject} would need about {need} of memory; this machine allows {allowed} \
                 (half of its {machine}). {advice}"
            ),
            (Lang::En, true) => format!(
                "{subject} would need about {need} of memory; the program allows itself at most \
                 {allowed}. {advice}"
            ),
            (Lang::Zh, false) => format!(
                "{subject}大约需要 {need} 内存；本机只允许 {allowed}（其 {machine} 的 50%）。{advice}"
            ),
            (Lang::Zh, true) => {
                format!("{subject}大约需要 {need} 内存；本程序最多使用 {allowed}。{advice}")
            }
        }
    }
}

/// The machine's memory in bytes: the smaller of the physical memory (Linux: `MemTotal` of
/// /proc/meminfo) and the process's cgroup limit, if either can be read; `None` elsewhere.
pub fn machine_memory_bytes() -> Option<u64> {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| mem_total_bytes(&text));
    let limit = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok());
    match (total, limit) {
        (Some(total), Some(limit)) => Some(total.min(limit)),
        (total, limit) => total.or(limit),
    }
}

/// `MemTotal` of a /proc/meminfo text, in bytes.
fn mem_total_bytes(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kilobytes: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kilobytes.checked_mul(1024)
}

/// Bytes in decimal units, as a person reads them: "7.2 GB", "350 MB".
pub fn gigabytes(bytes: u64) -> String {
    let bytes = bytes as f64;
    if bytes >= 1e9 {
        format!("{:.1} GB", bytes / 1e9)
    } else {
        format!("{:.0} MB", (bytes / 1e6).max(1.0))
    }
}

/// `a × b × …` in bytes, saturating instead of overflowing (a hostile size then reads as "too
/// much", never as a small number).
pub fn product(factors: &[u64]) -> u64 {
    factors.iter().fold(1_u64, |acc, &f| acc.saturating_mul(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_the_machine_at_most_the_cap() {
        assert_eq!(Budget::for_machine(12 << 30).allowed_bytes, 6 << 30);
        assert_eq!(Budget::for_machine(1 << 40).allowed_bytes, CAP_BYTES);
    }

    #[test]
    fn the_sentence_says_what_is_needed_and_what_is_allowed() {
        let budget = Budget::for_machine(12_000_000_000);
        assert!(budget.check(Work::ForwardExport, 6_000_000_000).is_ok());
        let error = budget
            .check(Work::ForwardExport, 7_200_000_000)
            .expect_err("7.2 GB fits a 6 GB budget");
        assert_eq!(
            error.sentence(Lang::En),
            "This export would need about 7.2 GB of memory; this machine allows 6.0 GB (half of \
             its 12.0 GB). Use a smaller --width."
        );
        assert!(error.sentence(Lang::Zh).contains("7.2 GB"));
        let capped = Budget::for_machine(1 << 40)
            .check(Work::Training, u64::MAX)
            .expect_err("everything fits");
        assert!(capped.sentence(Lang::En).contains("at most 16.0 GB"));
    }

    #[test]
    fn meminfo_is_read_in_kilobytes() {
        let text = "MemTotal:       24684096 kB\nMemFree:          558508 kB\n";
        assert_eq!(mem_total_bytes(text), Some(24_684_096 * 1024));
        assert_eq!(mem_total_bytes("nothing"), None);
    }

    #[test]
    fn products_saturate() {
        assert_eq!(product(&[2, 3, 4]), 24);
        assert_eq!(product(&[u64::MAX, 3]), u64::MAX);
    }
}
