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
    fn within_zone() {
        assert!(is_within("www.example.com.", "example.com."));
        assert!(is_within("example.com.", "example.com."));
        assert!(!is_within("badexample.com.", "example.com."));
        assert!(!is_within("www.other.com.", "example.com."));
    }
}
