//! The `datetime` tool: the current date and time in UTC or an IANA zone. Zones come from
//! jiff's bundled tz database, so the answer is the same in a scratch container without
//! /usr/share/zoneinfo.

use serde_json::json;

/// Now in `zone` (UTC when `None`), as JSON text for the model; an unknown zone is an error
/// message naming it.
pub fn now(zone: Option<&str>) -> Result<String, String> {
    let now = jiff::Timestamp::now();
    let name = zone.filter(|z| !z.is_empty()).unwrap_or("UTC");
    let tz =
        jiff::tz::TimeZone::get(name).map_err(|_| format!("unknown time zone `{name}`; use an IANA name such as Europe/Paris, or UTC"))?;
    let zoned = now.to_zoned(tz);
    Ok(json!({
        "datetime": zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        "date": zoned.strftime("%Y-%m-%d").to_string(),
        "weekday": zoned.strftime("%A").to_string(),
        "timezone": name,
        "unix": now.as_second(),
    })
    .to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_and_a_zone_and_an_unknown_one() {
        let utc: serde_json::Value = serde_json::from_str(&super::now(None).unwrap()).unwrap();
        assert!(utc["datetime"].as_str().unwrap().ends_with("+00:00"), "{utc}");
        let kolkata: serde_json::Value = serde_json::from_str(&super::now(Some("Asia/Kolkata")).unwrap()).unwrap();
        assert!(kolkata["datetime"].as_str().unwrap().ends_with("+05:30"), "{kolkata}");
        assert!(super::now(Some("Mars/Olympus")).unwrap_err().contains("Mars/Olympus"));
    }
}
