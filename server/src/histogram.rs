//! A Prometheus histogram with fixed buckets (seconds) and the label-keyed family of them
//! used by /metrics: cumulative `_bucket{le=…}` lines, `_sum` and `_count`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Bucket bounds (seconds) for migration durations: 50 ms … 60 s.
pub const MIGRATION_BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];
/// Bucket bounds (seconds) for join handling: 50 µs … 1 s.
pub const JOIN_BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 1.0,
];

/// One histogram's data.
#[derive(Debug, Clone, Default)]
struct Series {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

/// Histograms of one metric family, keyed by one label's value ("" = no label).
#[derive(Debug)]
pub struct HistogramFamily {
    bounds: &'static [f64],
    series: Mutex<BTreeMap<&'static str, Series>>,
}

impl HistogramFamily {
    pub fn new(bounds: &'static [f64]) -> Self {
        HistogramFamily {
            bounds,
            series: Mutex::new(BTreeMap::new()),
        }
    }

    /// Records one observation (seconds) under `label`.
    pub fn observe(&self, label: &'static str, secs: f64) {
        let mut series = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let s = series.entry(label).or_insert_with(|| Series {
            counts: vec![0; self.bounds.len()],
            ..Series::default()
        });
        for (i, bound) in self.bounds.iter().enumerate() {
            if secs <= *bound {
                s.counts[i] += 1;
            }
        }
        s.sum += secs;
        s.count += 1;
    }

    /// Appends the exposition; `label_name` is used for non-empty keys, and every key in
    /// `always` is shown even before its first observation.
    pub fn render(
        &self,
        out: &mut String,
        name: &str,
        help: &str,
        label_name: &str,
        always: &[&'static str],
    ) {
        let mut series = self
            .series
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for key in always {
            series.entry(key).or_insert_with(|| Series {
                counts: vec![0; self.bounds.len()],
                ..Series::default()
            });
        }
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (key, s) in &series {
            let (sep, labels) = if key.is_empty() {
                ("", String::new())
            } else {
                (",", format!("{label_name}=\"{key}\""))
            };
            for (bound, n) in self.bounds.iter().zip(&s.counts) {
                let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {n}");
            }
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", s.count);
            let braces = if labels.is_empty() {
                String::new()
            } else {
                format!("{{{labels}}}")
            };
            let _ = writeln!(out, "{name}_sum{braces} {}", s.sum);
            let _ = writeln!(out, "{name}_count{braces} {}", s.count);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_with_sum_and_count() {
        let h = HistogramFamily::new(&[0.1, 1.0]);
        h.observe("sfu", 0.05);
        h.observe("sfu", 0.5);
        h.observe("sfu", 5.0);
        let mut out = String::new();
        h.render(&mut out, "d_seconds", "help", "target_mode", &["p2p"]);
        assert!(
            out.contains("d_seconds_bucket{target_mode=\"sfu\",le=\"0.1\"} 1"),
            "{out}"
        );
        assert!(
            out.contains("d_seconds_bucket{target_mode=\"sfu\",le=\"1\"} 2"),
            "{out}"
        );
        assert!(
            out.contains("d_seconds_bucket{target_mode=\"sfu\",le=\"+Inf\"} 3"),
            "{out}"
        );
        assert!(
            out.contains("d_seconds_count{target_mode=\"sfu\"} 3"),
            "{out}"
        );
        assert!(
            out.contains("d_seconds_sum{target_mode=\"sfu\"} 5.55"),
            "{out}"
        );
        assert!(
            out.contains("d_seconds_count{target_mode=\"p2p\"} 0"),
            "{out}"
        );
    }

    #[test]
    fn unlabelled_series_render_without_braces() {
        let h = HistogramFamily::new(&[1.0]);
        h.observe("", 0.5);
        let mut out = String::new();
        h.render(&mut out, "j_seconds", "help", "", &[]);
        assert!(out.contains("j_seconds_bucket{le=\"1\"} 1"), "{out}");
        assert!(out.contains("j_seconds_count 1"), "{out}");
    }
}
