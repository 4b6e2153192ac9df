//! `--keep-order`: records printed in input order. The input side (`feed.rs`) notes each
//! line it hands over; the printing side holds back a record until every earlier line's
//! record has come, then prints them in order.
//!
//! Invariant: at most `window` lines are handed over and not yet printed: when a slow line
//! holds that many back, no further line is handed over (fetching waits) until it comes, so
//! the records held back never pass the window, whatever the input's size.

use std::collections::{HashMap, VecDeque};
use std::sync::{Condvar, Mutex, MutexGuard};

use octopus::{Request, Response};

/// A line by its input's name and number.
type Key = (String, u64);

fn key_of(input: Option<&str>, line: Option<u64>) -> Key {
    (input.unwrap_or_default().to_string(), line.unwrap_or(0))
}

/// The lines handed over and not yet printed, in input order.
pub struct Order {
    handed: Mutex<VecDeque<Key>>,
    room: Condvar,
    window: usize,
}

/// The printing side: records that came before their turn (`None`: not to be printed). A
/// line given twice (the same file named twice) has two turns under one key.
#[derive(Default)]
pub struct Held {
    waiting: HashMap<Key, VecDeque<Option<Response>>>,
}

impl Held {
    fn take(&mut self, key: &Key) -> Option<Option<Response>> {
        let records = self.waiting.get_mut(key)?;
        let record = records.pop_front();
        if records.is_empty() {
            self.waiting.remove(key);
        }
        record
    }
}

impl Order {
    pub fn new(window: usize) -> Order {
        Order {
            handed: Mutex::new(VecDeque::new()),
            room: Condvar::new(),
            window: window.max(1),
        }
    }

    fn handed(&self) -> MutexGuard<'_, VecDeque<Key>> {
        self.handed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether handing over another line would wait.
    pub fn is_full(&self) -> bool {
        self.handed().len() >= self.window
    }

    /// Wait until another line may be handed over.
    pub fn wait_for_room(&self) {
        let mut handed = self.handed();
        while handed.len() >= self.window {
            handed = self.room.wait(handed).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// `request` is handed over now.
    pub fn hand_over(&self, request: &Request) {
        self.handed()
            .push_back(key_of(request.input(), request.line()));
    }

    /// `response` came (to be printed or not: either way its turn passes): the records whose
    /// turn it now is, in order.
    pub fn arrived(&self, held: &mut Held, response: &Response, print: bool) -> Vec<Response> {
        let key = key_of(response.input(), response.line());
        let record = print.then(|| response.clone());
        held.waiting.entry(key).or_default().push_back(record);
        let mut ready = Vec::new();
        let mut handed = self.handed();
        let before = handed.len();
        while let Some(next) = handed.front() {
            let Some(record) = held.take(next) else {
                break;
            };
            handed.pop_front();
            ready.extend(record);
        }
        let moved = handed.len() < before;
        drop(handed);
        if moved {
            self.room.notify_all();
        }
        ready
    }
}

impl Order {
    /// The run is over: what is still held, in input order (a line whose record never came,
    /// which a stop may cause, no longer holds the others back).
    pub fn rest(&self, held: &mut Held) -> Vec<Response> {
        let mut handed = self.handed();
        let rest = handed
            .drain(..)
            .filter_map(|key| held.take(&key).flatten())
            .collect();
        self.room.notify_all();
        rest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(line: u64) -> Request {
        Request::new(format!("http://h/{line}")).with_origin("in", line)
    }

    #[test]
    fn the_window_bounds_what_is_handed_over() {
        let order = Order::new(2);
        order.hand_over(&request(1));
        assert!(!order.is_full());
        order.hand_over(&request(2));
        assert!(order.is_full());
    }
}
