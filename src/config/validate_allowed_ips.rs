//! Validation of a key's `allowed_ips`: a non-empty list of addresses or CIDR blocks, each
//! bad entry reported at its own path (`keys[0].allowed_ips[1]`).

use super::ip_allowlist::{IpAllowlist, IpNet};
use super::positions::join_index;
use super::validate::Validator;
use serde_yaml::Value;

impl Validator<'_> {
    /// `None` when absent (any address may use the key) or invalid (a problem is recorded).
    pub(super) fn allowed_ips(&mut self, path: &str, value: Option<Value>) -> Option<IpAllowlist> {
        let items = match value? {
            Value::Sequence(items) if !items.is_empty() => items,
            Value::Sequence(_) | Value::Null => {
                self.problem(
                    path,
                    "an empty list admits no address at all and would lock this key out",
                    Some("list the addresses that may use the key, e.g. [10.0.0.0/8], or remove allowed_ips to admit any address".into()),
                );
                return None;
            }
            Value::String(one) => {
                self.problem(path, "expected a list of addresses or CIDR blocks", Some(format!("write allowed_ips: [{one}]")));
                return None;
            }
            _ => {
                self.problem(
                    path,
                    "expected a list of addresses or CIDR blocks",
                    Some("e.g. allowed_ips: [10.0.0.0/8, 192.168.1.7]".into()),
                );
                return None;
            }
        };
        let (count, mut nets) = (items.len(), Vec::with_capacity(items.len()));
        for (i, item) in items.into_iter().enumerate() {
            let entry = join_index(path, i);
            let Value::String(text) = item else {
                self.problem(&entry, "expected an address or CIDR block", Some("e.g. 10.0.0.0/8, 192.168.1.7, \"::1\"".into()));
                continue;
            };
            match IpNet::parse(&text) {
                Ok(net) => nets.push(net),
                Err(e) => self.problem(&entry, e.message, Some(e.hint)),
            }
        }
        (nets.len() == count).then(|| IpAllowlist::new(nets))
    }
}
