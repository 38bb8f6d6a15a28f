//! A key's client address allowlist (`allowed_ips`): CIDR blocks and bare addresses, IPv4
//! and IPv6, parsed once per config load and matched against a connection's peer address
//! with integer masks (no allocation, no lock).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One CIDR block, kept as its network bits and mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    bits: NetBits,
    prefix: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NetBits {
    V4 { network: u32, mask: u32 },
    V6 { network: u128, mask: u128 },
}

/// Why an allowlist entry is not a network: what is wrong, and how to write it instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpNetError {
    pub message: String,
    pub hint: String,
}

impl IpNet {
    /// `10.0.0.0/8`, `fd00::/8`, or a bare address (a /32 or /128 block). Bits set after the
    /// prefix (`10.1.2.3/8`) are refused rather than masked: the intent is ambiguous.
    pub fn parse(text: &str) -> Result<IpNet, IpNetError> {
        let (addr_text, prefix_text) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr: IpAddr = addr_text.parse().map_err(|_| IpNetError {
            message: format!("`{addr_text}` is not an IPv4 or IPv6 address"),
            hint: "write an address (192.168.1.7, \"::1\") or a CIDR block (10.0.0.0/8, \"fd00::/8\"); host names are not accepted".into(),
        })?;
        let (family, max) = match addr {
            IpAddr::V4(_) => ("IPv4", 32),
            IpAddr::V6(_) => ("IPv6", 128),
        };
        let prefix = match prefix_text {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= max && p.bytes().all(|b| b.is_ascii_digit()) => n,
                _ => {
                    return Err(IpNetError {
                        message: format!("`/{p}` is not a prefix length for an {family} address"),
                        hint: format!("an {family} prefix is 0 to {max}; a bare address means /{max}"),
                    })
                }
            },
        };
        let net = IpNet::masked(addr, prefix);
        if net.network() != addr {
            return Err(IpNetError {
                message: format!("`{text}` has address bits set after its /{prefix} prefix"),
                hint: format!("write {net} for the network, or {addr} for that one address"),
            });
        }
        Ok(net)
    }

    /// The block of `prefix` bits around `addr` (host bits cleared).
    fn masked(addr: IpAddr, prefix: u8) -> IpNet {
        let bits = match addr {
            IpAddr::V4(a) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                NetBits::V4 { network: u32::from(a) & mask, mask }
            }
            IpAddr::V6(a) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                NetBits::V6 { network: u128::from(a) & mask, mask }
            }
        };
        IpNet { bits, prefix }
    }

    fn network(&self) -> IpAddr {
        match self.bits {
            NetBits::V4 { network, .. } => IpAddr::V4(Ipv4Addr::from(network)),
            NetBits::V6 { network, .. } => IpAddr::V6(Ipv6Addr::from(network)),
        }
    }

    /// Whether `ip` is in the block. An IPv4 peer seen as IPv6 (`::ffff:10.1.2.3`, on a
    /// dual-stack socket) matches IPv4 blocks; an IPv6 block matches an IPv4 peer by the
    /// peer's mapped form, so `::ffff:0:0/96` and `::/0` cover every IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.bits, canonical_ip(ip)) {
            (NetBits::V4 { network, mask }, IpAddr::V4(a)) => u32::from(a) & mask == network,
            (NetBits::V6 { network, mask }, IpAddr::V6(a)) => u128::from(a) & mask == network,
            (NetBits::V6 { network, mask }, IpAddr::V4(a)) => u128::from(a.to_ipv6_mapped()) & mask == network,
            (NetBits::V4 { .. }, IpAddr::V6(_)) => false,
        }
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network(), self.prefix)
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:10.1.2.3`) as the IPv4 address it carries; any other
/// address as is (`::1` stays IPv6: it is not 0.0.0.1).
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// The addresses a key may be used from: never empty (the config refuses an empty list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpAllowlist {
    nets: Vec<IpNet>,
}

impl IpAllowlist {
    pub fn new(nets: Vec<IpNet>) -> IpAllowlist {
        IpAllowlist { nets }
    }

    pub fn admits(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|net| net.contains(ip))
    }
}

impl fmt::Display for IpAllowlist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, net) in self.nets.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{net}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn net(text: &str) -> IpNet {
        IpNet::parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"))
    }

    #[test]
    fn parses_blocks_and_bare_addresses_of_both_families() {
        for (text, shown) in [
            ("10.0.0.0/8", "10.0.0.0/8"),
            ("192.168.1.7", "192.168.1.7/32"),
            ("0.0.0.0/0", "0.0.0.0/0"),
            ("::1", "::1/128"),
            ("fd00::/8", "fd00::/8"),
            ("::/0", "::/0"),
            ("2001:db8::/32", "2001:db8::/32"),
        ] {
            assert_eq!(net(text).to_string(), shown);
        }
    }

    #[test]
    fn blocks_of_both_families_match_by_prefix() {
        // (block, addresses inside, addresses outside)
        let cases: [(&str, &[&str], &[&str]); 7] = [
            ("10.0.0.0/8", &["10.0.0.0", "10.255.255.255", "10.1.2.3"], &["11.0.0.0", "9.255.255.255"]),
            ("192.168.1.7", &["192.168.1.7"], &["192.168.1.8", "192.168.1.6"]),
            ("172.16.0.0/12", &["172.16.0.1", "172.31.255.1"], &["172.32.0.1", "172.15.255.255"]),
            ("0.0.0.0/0", &["203.0.113.9", "0.0.0.0"], &["2001:db8::5"]),
            ("fd00::/8", &["fd12:3456::1", "fd00::"], &["fe80::1", "fc00::1"]),
            ("::1/128", &["::1"], &["::2", "::"]),
            ("::/0", &["2001:db8::5", "::"], &[]),
        ];
        for (block, inside, outside) in cases {
            let n = net(block);
            for a in inside {
                assert!(n.contains(ip(a)), "{a} in {block}");
            }
            for a in outside {
                assert!(!n.contains(ip(a)), "{a} not in {block}");
            }
        }
    }

    #[test]
    fn mapped_ipv6_peers_match_ipv4_rules_and_loopbacks_stay_apart() {
        assert!(net("10.0.0.0/8").contains(ip("::ffff:10.1.2.3")));
        assert!(!net("10.0.0.0/8").contains(ip("::ffff:11.1.2.3")));
        assert!(net("127.0.0.1").contains(ip("::ffff:127.0.0.1")));
        // ::1 is IPv6 loopback, not 0.0.0.1, and IPv4 loopback is not ::1.
        assert!(!net("0.0.0.0/8").contains(ip("::1")));
        assert!(!net("::1/128").contains(ip("127.0.0.1")));
        assert!(!net("127.0.0.0/8").contains(ip("::1")));
        // An IPv6 rule over the mapped range covers IPv4 peers, however they arrive.
        let mapped = net("::ffff:10.0.0.0/104");
        assert!(mapped.contains(ip("10.9.9.9")) && mapped.contains(ip("::ffff:10.9.9.9")) && !mapped.contains(ip("11.0.0.1")));
        assert!(net("::/0").contains(ip("127.0.0.1")));
        assert_eq!(canonical_ip(ip("::ffff:10.1.2.3")), ip("10.1.2.3"));
        assert_eq!(canonical_ip(ip("::1")), ip("::1"));
    }

    #[test]
    fn bad_entries_say_what_is_wrong_and_how_to_write_it() {
        let err = |text: &str| IpNet::parse(text).unwrap_err();
        assert_eq!(err("localhost").message, "`localhost` is not an IPv4 or IPv6 address");
        assert_eq!(err("10.0.0/8").message, "`10.0.0` is not an IPv4 or IPv6 address");
        assert_eq!(err("fe80::1%eth0").message, "`fe80::1%eth0` is not an IPv4 or IPv6 address");
        assert_eq!(err("10.0.0.0/33").message, "`/33` is not a prefix length for an IPv4 address");
        assert_eq!(err("10.0.0.0/33").hint, "an IPv4 prefix is 0 to 32; a bare address means /32");
        assert_eq!(err("::/129").hint, "an IPv6 prefix is 0 to 128; a bare address means /128");
        for bad in ["10.0.0.0/", "10.0.0.0/+8", "10.0.0.0/8/8", "10.0.0.0/ 8"] {
            assert!(err(bad).message.contains("is not a prefix length"), "{bad}");
        }
        let bits = err("10.1.2.3/8");
        assert_eq!(bits.message, "`10.1.2.3/8` has address bits set after its /8 prefix");
        assert_eq!(bits.hint, "write 10.0.0.0/8 for the network, or 10.1.2.3 for that one address");
        assert_eq!(err("fd00::1/8").hint, "write fd00::/8 for the network, or fd00::1 for that one address");
    }

    #[test]
    fn an_allowlist_admits_any_of_its_blocks() {
        let list = IpAllowlist::new(vec![net("10.0.0.0/8"), net("::1")]);
        assert!(list.admits(ip("10.3.3.3")) && list.admits(ip("::1")) && list.admits(ip("::ffff:10.0.0.1")));
        assert!(!list.admits(ip("127.0.0.1")) && !list.admits(ip("192.168.0.1")));
        assert_eq!(list.to_string(), "10.0.0.0/8, ::1/128");
    }
}
