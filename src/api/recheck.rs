//! What an instance remembers about a credential for a moment: a live API key, a user's session
//! state. Each request would otherwise read it from the database; a second's memory makes a
//! storm of requests cost one read a second. A change made here forgets the entry at once; other
//! instances see it within [`RECHECK`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an instance trusts what it looked up.
pub const RECHECK: Duration = Duration::from_secs(1);

pub struct Recheck<V> {
    entries: Mutex<HashMap<String, (Instant, V)>>,
}

impl<V> Default for Recheck<V> {
    fn default() -> Self {
        Recheck {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<V: Clone> Recheck<V> {
    /// The value kept under `key`, if it was looked up within [`RECHECK`].
    pub fn get(&self, key: &str) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < RECHECK)
            .map(|(_, v)| v.clone())
    }

    pub fn put(&self, key: String, value: V) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|_, (at, _)| at.elapsed() < RECHECK);
        entries.insert(key, (Instant::now(), value));
    }

    pub fn forget(&self, key: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }

    pub fn forget_all(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_for_a_moment_and_forgets_on_demand() {
        let c: Recheck<i32> = Recheck::default();
        assert_eq!(c.get("a"), None);
        c.put("a".into(), 1);
        c.put("b".into(), 2);
        assert_eq!(c.get("a"), Some(1));
        c.forget("a");
        assert_eq!(c.get("a"), None);
        assert_eq!(c.get("b"), Some(2));
        c.forget_all();
        assert_eq!(c.get("b"), None);
    }
}
