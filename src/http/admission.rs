//! Admission counters shared by every worker: requests in flight per key and request-body
//! bytes held by all requests together, each taken through a guard that gives back on drop.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct Admission {
    per_key: Mutex<HashMap<Arc<str>, usize>>,
    body_bytes: AtomicUsize,
}

/// One request of `key` in flight; released when dropped.
pub struct KeySlot {
    admission: Arc<Admission>,
    key: Arc<str>,
}

/// Request-body bytes reserved from the global budget; released when dropped.
pub struct BodyReservation {
    admission: Arc<Admission>,
    bytes: usize,
}

impl Admission {
    /// A slot for one more request of `key`, or `None` when `limit` are already in flight.
    pub fn enter(self: &Arc<Self>, key: &str, limit: usize) -> Option<KeySlot> {
        let mut per_key = self.per_key.lock().unwrap_or_else(|p| p.into_inner());
        let key: Arc<str> = match per_key.get_key_value(key) {
            Some((_, n)) if *n >= limit => return None,
            Some((k, _)) => k.clone(),
            None => Arc::from(key),
        };
        *per_key.entry(key.clone()).or_insert(0) += 1;
        Some(KeySlot { admission: self.clone(), key })
    }

    /// Requests of `key` in flight now.
    pub fn in_flight(&self, key: &str) -> usize {
        self.per_key.lock().unwrap_or_else(|p| p.into_inner()).get(key).copied().unwrap_or(0)
    }

    /// An empty reservation, grown with `BodyReservation::grow`.
    pub fn reservation(self: &Arc<Self>) -> BodyReservation {
        BodyReservation { admission: self.clone(), bytes: 0 }
    }

    /// Request-body bytes reserved now.
    pub fn body_bytes(&self) -> usize {
        self.body_bytes.load(Ordering::Relaxed)
    }
}

impl Drop for KeySlot {
    fn drop(&mut self) {
        let mut per_key = self.admission.per_key.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = per_key.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                per_key.remove(&self.key);
            }
        }
    }
}

impl BodyReservation {
    /// Reserves until this reservation holds at least `total` bytes; `false` (and nothing
    /// more reserved) when that would take the budget past `budget`.
    pub fn grow(&mut self, total: usize, budget: usize) -> bool {
        let extra = total.saturating_sub(self.bytes);
        if extra == 0 {
            return true;
        }
        let taken = self
            .admission
            .body_bytes
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| held.checked_add(extra).filter(|after| *after <= budget));
        if taken.is_ok() {
            self.bytes += extra;
        }
        taken.is_ok()
    }
}

impl Drop for BodyReservation {
    fn drop(&mut self) {
        self.admission.body_bytes.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_slots_are_capped_per_key_and_given_back_on_drop() {
        let admission = Arc::new(Admission::default());
        let a1 = admission.enter("a", 2).unwrap();
        let a2 = admission.enter("a", 2).unwrap();
        assert!(admission.enter("a", 2).is_none());
        let b = admission.enter("b", 2).unwrap();
        assert_eq!((admission.in_flight("a"), admission.in_flight("b")), (2, 1));
        drop(a1);
        let a3 = admission.enter("a", 2).unwrap();
        drop((a2, a3, b));
        assert_eq!((admission.in_flight("a"), admission.in_flight("b")), (0, 0));
        assert!(admission.per_key.lock().unwrap().is_empty());
    }

    #[test]
    fn body_reservations_share_one_budget() {
        let admission = Arc::new(Admission::default());
        let mut first = admission.reservation();
        assert!(first.grow(600, 1000));
        assert!(first.grow(500, 1000), "already holds 600");
        let mut second = admission.reservation();
        assert!(!second.grow(500, 1000));
        assert!(second.grow(400, 1000));
        assert_eq!(admission.body_bytes(), 1000);
        drop(first);
        assert_eq!(admission.body_bytes(), 400);
        assert!(second.grow(1000, 1000));
        drop(second);
        assert_eq!(admission.body_bytes(), 0);
    }
}
