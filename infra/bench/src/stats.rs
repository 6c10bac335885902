//! Medians and percentiles (nearest rank) of small samples.

use std::time::Duration;

pub struct Summary {
    pub n: usize,
    pub min: Duration,
    pub median: Duration,
    pub p95: Duration,
    pub max: Duration,
}

pub fn summary(mut samples: Vec<Duration>) -> Summary {
    assert!(!samples.is_empty(), "no samples");
    samples.sort();
    Summary {
        n: samples.len(),
        min: samples[0],
        median: percentile(&samples, 50.0),
        p95: percentile(&samples, 95.0),
        max: samples[samples.len() - 1],
    }
}

/// Nearest-rank percentile of unsorted samples.
pub fn percentile_of(mut samples: Vec<Duration>, p: f64) -> Duration {
    samples.sort();
    percentile(&samples, p)
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[(values.len() - 1) / 2]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `median (min–max)` in milliseconds.
pub fn fmt_range(s: &Summary) -> String {
    format!("{} ({}–{})", fmt_ms(s.median), fmt_ms(s.min), fmt_ms(s.max))
}

pub fn fmt_ms(d: Duration) -> String {
    let v = ms(d);
    if v < 10.0 { format!("{v:.2}") } else { format!("{v:.1}") }
}
