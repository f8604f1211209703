//! DNS name normalisation, so names from manifests and from Route 53 compare equal.
//!
//! Route 53 returns names lower-case, fully qualified and with some characters as
//! octal escapes (`*` comes back as `\052`). Everything the planner compares goes
//! through [`normalize`] first.

/// The longest name DNS allows, in characters without the final dot (255
/// octets on the wire).
pub const MAX_NAME_LENGTH: usize = 253;

/// Lower-case, decode `\DDD` octal escapes, and end with exactly one dot.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 1);
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4].iter().all(u8::is_ascii_digit)
        {
            let code = (bytes[i + 1] - b'0') as u32 * 64
                + (bytes[i + 2] - b'0') as u32 * 8
                + (bytes[i + 3] - b'0') as u32;
            if let Some(c) = char::from_u32(code).filter(char::is_ascii) {
                out.push(c.to_ascii_lowercase());
                i += 4;
                continue;
            }
        }
        out.push((bytes[i] as char).to_ascii_lowercase());
        i += 1;
    }
    let trimmed = out.trim_end_matches('.');
    format!("{trimmed}.")
}

/// What a DNS name may hold, for messages: said in words, never as a pattern.
pub const DNS_NAME_RULES: &str = "labels of letters, digits, '-' and '_' (not starting or ending with '-'), at most 63 characters each and 253 in all, separated by dots; use punycode (xn--...) for international names";

/// Why `name` is not a DNS name Route 53 accepts as a host name (an alias
/// target, a CNAME value, a health check's domain or Host header), if it is not.
/// A trailing dot is allowed; a wildcard label is not.
pub fn dns_name_problem(name: &str) -> Option<&'static str> {
    let without_dot = name.strip_suffix('.').unwrap_or(name);
    if without_dot.is_empty() {
        return Some("it is empty");
    }
    if without_dot.len() > MAX_NAME_LENGTH {
        return Some("it is longer than 253 characters");
    }
    for label in without_dot.split('.') {
        if label.is_empty() {
            return Some("it has an empty label (two dots in a row, or a leading dot)");
        }
        if label.len() > 63 {
            return Some("a label is longer than 63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Some(if label.is_ascii() {
                "it holds a character other than letters, digits, '-', '_' and '.'"
            } else {
                "it holds non-ASCII characters; use punycode (xn--...) for international names"
            });
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some("a label starts or ends with '-'");
        }
    }
    None
}

/// True when `name` is `zone` or a name below it (both normalised).
pub fn is_within(name: &str, zone: &str) -> bool {
    name == zone || name.ends_with(&format!(".{zone}"))
}

/// Normalise a host name used as a record value or alias target: lower-case,
/// without the trailing dot, which Route 53 accepts either way.
pub fn normalize_host(host: &str) -> String {
    normalize(host).trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_case_escapes_and_trailing_dot() {
        assert_eq!(normalize("WWW.Example.com"), "www.example.com.");
        assert_eq!(normalize("www.example.com."), "www.example.com.");
        assert_eq!(normalize("\\052.example.com."), "*.example.com.");
        assert_eq!(normalize("a\\\\b"), "a\\\\b.");
    }

    #[test]
    fn dns_names_are_checked_label_by_label() {
        for good in [
            "lb-1.us-east-1.elb.amazonaws.com",
            "d111.cloudfront.net.",
            "_dmarc.example.com",
            "xn--bcher-kva.example",
        ] {
            assert_eq!(dns_name_problem(good), None, "{good}");
        }
        for bad in [
            "not a host!!",
            "has space!.example.net",
            "a..b",
            ".a",
            "-a.b",
            "a-.b",
            "bücher.example",
            "",
            "*.example.com",
        ] {
            assert!(dns_name_problem(bad).is_some(), "{bad}");
        }
        assert!(dns_name_problem(&format!("{}.com", "a".repeat(64))).is_some());
    }

    #[test]
    fn within_zone() {
        assert!(is_within("www.example.com.", "example.com."));
        assert!(is_within("example.com.", "example.com."));
        assert!(!is_within("badexample.com.", "example.com."));
        assert!(!is_within("www.other.com.", "example.com."));
    }
}
