//! Facts about the running program itself, for the figures the benchmarks and `--frame-stats`
//! print.

/// The process's resident memory in bytes (Linux: `VmRSS` of /proc/self/status); `None` elsewhere.
pub fn resident_memory_bytes() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kilobytes: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kilobytes * 1024)
}
