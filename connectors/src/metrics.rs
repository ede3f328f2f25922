//! Prometheus text for one collector, as `/metrics` shows it. Each crate
//! registers collectors beside what they count; this is how their tests
//! read them back.

use prometheus_client::collector::Collector;

/// The Prometheus text of `collector` alone.
pub fn text_of(collector: impl Collector + 'static) -> String {
    let mut registry = prometheus_client::registry::Registry::default();
    registry.register_collector(Box::new(collector));
    let mut text = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut text, &registry).expect("writing to a String cannot fail");
    text
}

/// Panics, naming the line and showing the text, unless every one of
/// `lines` is a whole line of `text`.
pub fn assert_shows(text: &str, lines: &[&str]) {
    for line in lines {
        assert!(text.lines().any(|l| l == *line), "{line} not in\n{text}");
    }
}
