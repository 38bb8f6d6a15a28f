//! Parsing of the YAML's human units: durations (`250ms`, `30s`, `5m`, `1h`, `1d`),
//! byte sizes (`256MiB`, `20MB`, plain integers) and USD prices to nano-USD.

use std::time::Duration;

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("`{text}` is not a duration; write e.g. 500ms, 30s, 5m, 1h or 1d"))?;
    let ms = match unit.trim() {
        "ms" => n,
        "s" | "" => n * 1000,
        "m" => n * 60_000,
        "h" => n * 3_600_000,
        "d" => n * 86_400_000,
        _ => return Err(format!("`{text}` has an unknown unit; use ms, s, m, h or d")),
    };
    Ok(Duration::from_millis(ms))
}

pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("`{text}` is not a size; write e.g. 20000000, 20MB or 256MiB"))?;
    let mult: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => return Err(format!("`{text}` has an unknown unit; use B, KB, MB, GB, KiB, MiB or GiB")),
    };
    n.checked_mul(mult).ok_or_else(|| format!("`{text}` is too large"))
}

/// USD (per 1M tokens, or per request) to integer nano-USD.
pub fn usd_to_nano(usd: f64) -> Result<u64, String> {
    if !usd.is_finite() || usd < 0.0 {
        return Err(format!("price {usd} must be a finite number >= 0 (USD per 1M tokens)"));
    }
    if usd > 1_000_000.0 {
        return Err(format!("price {usd} USD per 1M tokens is implausibly high"));
    }
    Ok((usd * 1e9).round() as u64)
}

/// A budget amount in USD to integer nano-USD (at most one billion USD, so sums of
/// amounts stay far from `u64::MAX`).
pub fn usd_amount_to_nano(usd: f64) -> Result<u64, String> {
    match usd {
        u if !u.is_finite() || u < 0.0 => Err(format!("{usd} must be a finite amount of USD >= 0")),
        u if u > 1e9 => Err(format!("{usd} USD is more than this gateway can account")),
        u => Ok((u * 1e9).round() as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("1d").unwrap(), Duration::from_secs(86_400));
        assert!(parse_duration("5 weeks").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("soon").unwrap_err().contains("not a duration"));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("256MiB").unwrap(), 256 << 20);
        assert_eq!(parse_bytes("20MB").unwrap(), 20_000_000);
        assert_eq!(parse_bytes("123").unwrap(), 123);
        assert!(parse_bytes("12XB").is_err());
    }

    #[test]
    fn prices_are_exact_nano_usd() {
        assert_eq!(usd_to_nano(0.15).unwrap(), 150_000_000);
        assert_eq!(usd_to_nano(0.0375).unwrap(), 37_500_000);
        assert!(usd_to_nano(-1.0).is_err());
        assert!(usd_to_nano(f64::NAN).is_err());
        assert_eq!(usd_amount_to_nano(20.0).unwrap(), 20_000_000_000);
        assert_eq!(usd_amount_to_nano(0.000_000_001).unwrap(), 1);
        assert!(usd_amount_to_nano(-0.5).is_err());
    }
}
