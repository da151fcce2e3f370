//! Shared helpers of the benchmarks: latency histograms printed as percentile tables.

use hdrhistogram::Histogram;

/// A histogram of microseconds (1 µs to 1 h, 3 significant digits).
pub fn micros() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds")
}

/// `p50 / p90 / p99 / max` of a histogram of microseconds, in milliseconds.
pub fn percentiles_ms(h: &Histogram<u64>) -> String {
    let ms = |v: u64| v as f64 / 1e3;
    format!(
        "p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms (n = {})",
        ms(h.value_at_quantile(0.5)),
        ms(h.value_at_quantile(0.9)),
        ms(h.value_at_quantile(0.99)),
        ms(h.max()),
        h.len()
    )
}
