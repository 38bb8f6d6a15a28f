//! Random identifiers: generation ids (`gen-…`), tool-call ids and fresh API keys.

use rand::distr::{Alphanumeric, SampleString};

pub fn random_alphanumeric(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), len)
}

/// `gen-` + 24 alphanumerics: the response `id`, `X-Generation-Id` and usage-log key. The
/// first 8 are the time in milliseconds (base 62, digits in ASCII order) and the other 16
/// are random (about 95 bits), so ids sort by time: each new usage row goes at the end of
/// the id index instead of into a random page of it.
pub fn generation_id() -> String {
    generation_id_at(crate::utc::now_ms())
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn generation_id_at(now_ms: i64) -> String {
    let mut id = String::with_capacity(28);
    id.push_str("gen-");
    let mut time = [b'0'; 8];
    let mut left = now_ms.max(0) as u64;
    for digit in time.iter_mut().rev() {
        *digit = BASE62[(left % 62) as usize];
        left /= 62;
    }
    id.push_str(std::str::from_utf8(&time).expect("base-62 digits are ASCII"));
    Alphanumeric.append_string(&mut rand::rng(), &mut id, 16);
    id
}

/// A new client API key, `sk-sb-` + 40 alphanumerics (about 238 bits).
pub fn new_api_key() -> String {
    format!("sk-sb-{}", random_alphanumeric(40))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_ids_are_24_alphanumerics_that_sort_by_time() {
        let (early, late) = (generation_id_at(1_700_000_000_000), generation_id_at(1_700_000_000_001));
        for id in [&early, &late] {
            let tail = id.strip_prefix("gen-").unwrap();
            assert_eq!(tail.len(), 24);
            assert!(tail.bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
        }
        assert!(early < late, "{early} !< {late}");
        assert!(generation_id_at(61) < generation_id_at(62));
        assert_ne!(generation_id_at(5)[12..], generation_id_at(5)[12..], "the tail is random");
        assert!(generation_id() > early);
    }
}
