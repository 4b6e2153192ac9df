//! How many names may be asked at once.

use std::time::{Duration, Instant};

/// How many names may be asked at once: TCP's congestion window, for queries. It starts
/// at the `dns_concurrency` setting (its most); it halves when a query is lost (at most
/// once per wait of a try: a burst of losses is one event) and grows back by one place
/// per window of answers. Never under one. A server that drops what it cannot take is
/// then asked about as fast as it answers.
#[derive(Debug, Default)]
pub(super) struct Window {
    places: f64,
    most: f64,
    /// The last halving.
    cut: Option<Instant>,
}

impl Window {
    pub fn new(most: usize) -> Window {
        let most = most as f64;
        Window {
            places: most,
            most,
            cut: None,
        }
    }

    pub fn places(&self) -> usize {
        (self.places as usize).max(1)
    }

    /// An answer came from a first try.
    pub fn answered(&mut self) {
        self.places = (self.places + 1.0 / self.places).min(self.most);
    }

    /// A try ended with nothing heard; `wait` is how long a try waits now.
    pub fn lost(&mut self, wait: Duration) {
        if self.cut.is_some_and(|cut| cut.elapsed() < wait) {
            return;
        }
        self.cut = Some(Instant::now());
        self.places = (self.places / 2.0).max(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_halves_at_a_loss_once_per_wait_and_grows_back() {
        let mut window = Window::new(64);
        assert_eq!(window.places(), 64);
        window.answered();
        assert_eq!(window.places(), 64, "never over its most");
        let wait = Duration::from_secs(3600);
        window.lost(wait);
        assert_eq!(window.places(), 32);
        window.lost(wait);
        assert_eq!(window.places(), 32, "a burst of losses is one event");
        for _ in 0..32 {
            window.answered();
        }
        assert_eq!(window.places(), 32, "not yet a window of answers");
        window.answered();
        assert_eq!(window.places(), 33, "one place per window of answers");
        for _ in 0..10 {
            window.cut = None;
            window.lost(wait);
        }
        assert_eq!(window.places(), 1, "never under one");
    }
}
