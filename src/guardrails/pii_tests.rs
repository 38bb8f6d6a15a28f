//! Unit tests of the PII built-ins: positives, negatives and false-positive traps.

use super::*;

fn found(kind: PiiKind, text: &str) -> Vec<&str> {
    find(text, kind).map(|r| &text[r]).collect()
}

const ALL: u8 = 0b11111;

#[test]
fn email_positive_and_negative() {
    assert_eq!(found(PiiKind::Email, "mail jane.doe+tag@mail.example.co.uk now"), ["jane.doe+tag@mail.example.co.uk"]);
    assert_eq!(found(PiiKind::Email, "<bob@example.com>."), ["bob@example.com"]);
    for clean in ["user@localhost", "@mention me", "a@b.c", "price is 5@ $3", "x@-bad.com"] {
        assert!(found(PiiKind::Email, clean).is_empty(), "{clean}");
    }
}

#[test]
fn phone_positive() {
    for (text, want) in [
        ("call 555-234-5678 today", "555-234-5678"),
        ("call (555) 234-5678.", "(555) 234-5678"),
        ("call +1 555 234 5678", "+1 555 234 5678"),
        ("call 555.234.5678", "555.234.5678"),
        ("UK: +44 20 7946 0958", "+44 20 7946 0958"),
        ("FR +33612345678", "+33612345678"),
        ("US +12025550123", "+12025550123"),
    ] {
        assert_eq!(found(PiiKind::Phone, text), [want], "{text}");
    }
}

#[test]
fn phone_false_positive_traps() {
    for clean in [
        "order id 5552345678",      // bare digits: an id
        "dated 2024-01-15",         // a date
        "ISBN 978-3-16-148410-0",   // an ISBN
        "ref INV-555-234-5678",     // glued to a token
        "serial 555-234-5678-90",   // part of a longer number
        "placeholder 123-456-7890", // area codes never start with 0 or 1
        "version 1.2.3.4",          // dotted version
        "+123",                     // too short for any country
    ] {
        assert!(found(PiiKind::Phone, clean).is_empty(), "{clean}: {:?}", found(PiiKind::Phone, clean));
    }
}

#[test]
fn ssn_positive_and_traps() {
    assert_eq!(found(PiiKind::Ssn, "SSN: 123-45-6789."), ["123-45-6789"]);
    assert_eq!(found(PiiKind::Ssn, "ssn 123 45 6789"), ["123 45 6789"]);
    for clean in [
        "000-12-3456",  // area 000 is never issued
        "666-12-3456",  // nor 666
        "912-12-3456",  // nor 9xx
        "123-00-4567",  // group 00
        "123-45-0000",  // serial 0000
        "123456789",    // bare digits
        "123-45 6789",  // mixed separators
        "A123-45-6789", // glued to a token
        "2024-01-15",   // a date
    ] {
        assert!(found(PiiKind::Ssn, clean).is_empty(), "{clean}");
    }
}

#[test]
fn credit_card_positive() {
    for (text, want) in [
        ("visa 4111 1111 1111 1111 exp", "4111 1111 1111 1111"),
        ("visa 4111-1111-1111-1111", "4111-1111-1111-1111"),
        ("mc 5555555555554444", "5555555555554444"),
        ("amex 3782 822463 10005", "3782 822463 10005"),
        ("discover 6011111111111117.", "6011111111111117"),
        // A card followed by more digits: the card is still found.
        ("card 4111 1111 1111 1111 1234 cvv", "4111 1111 1111 1111"),
    ] {
        assert_eq!(found(PiiKind::CreditCard, text), [want], "{text}");
    }
}

#[test]
fn credit_card_false_positive_traps() {
    for clean in [
        "order 4111 1111 1111 1112",       // Luhn fails
        "order no. 1234567890123452",      // Luhn passes but no card network starts with 1
        "tracking 9400111899223344556677", // 22 digits
        "phone 555-234-5678",
        "timestamp 1700000000000", // 13 digits, no network
        "id x4111111111111111",    // glued to a token
        "4111 1111-1111 1111",     // mixed separators
    ] {
        assert!(found(PiiKind::CreditCard, clean).is_empty(), "{clean}: {:?}", found(PiiKind::CreditCard, clean));
    }
    assert!(luhn(&[4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]));
    assert!(!luhn(&[4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2]));
}

#[test]
fn ip_address_positive() {
    for (text, want) in [
        ("host 192.168.1.20 is up", "192.168.1.20"),
        ("from 8.8.8.8.", "8.8.8.8"),
        ("(10.0.0.1)", "10.0.0.1"),
        ("v6 2001:db8:85a3::8a2e:370:7334 ok", "2001:db8:85a3::8a2e:370:7334"),
        ("link fe80::1 up", "fe80::1"),
        ("full 2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:0db8:0000:0000:0000:ff00:0042:8329"),
    ] {
        assert_eq!(found(PiiKind::IpAddress, text), [want], "{text}");
    }
}

#[test]
fn ip_address_false_positive_traps() {
    for clean in [
        "release v1.2.3.4",      // glued to a letter: a version
        "version 1.2.3.4",       // named a version
        "ver. 10.0.0.1",         // named a version
        "semver 1.2.3.4.5",      // five parts
        "octets 256.1.1.1",      // out of range
        "zeros 01.02.03.04",     // leading zeros
        "at 12:30:45",           // a time
        "mac 00:1a:2b:3c:4d:5e", // a MAC address
        "use std::collections::HashMap",
        "build 2.0.1.3b", // glued to a letter after
    ] {
        assert!(found(PiiKind::IpAddress, clean).is_empty(), "{clean}: {:?}", found(PiiKind::IpAddress, clean));
    }
}

#[test]
fn detect_reports_only_enabled_and_validated_kinds() {
    let text = "mail a@b.com, card 4111 1111 1111 1111, order 4111 1111 1111 1112";
    let both = detect(text, ALL);
    assert_eq!(both, (1 << PiiKind::Email.index()) | (1 << PiiKind::CreditCard.index()));
    assert_eq!(detect(text, 1 << PiiKind::Email.index()), 1 << PiiKind::Email.index());
    assert_eq!(detect("order 4111 1111 1111 1112", ALL), 0);
    assert_eq!(detect(text, 0), 0);
}
