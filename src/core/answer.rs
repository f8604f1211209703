//! Which side a DNS answer stands for.
//!
//! The zone's authoritative name servers answer a query for a failover name
//! with the PRIMARY record set's values while Route 53 counts the primary
//! healthy, and with the SECONDARY's after failover. So the answer tells which
//! side users are sent to, without spending any of the GetHealthCheckStatus
//! budget. For an alias side the answer holds the target's addresses, which
//! are compared with what the target's name resolves to. When the answer
//! cannot be told apart (both sides share values, or an alias target could
//! not be resolved), the answer is [`AnswerSide::Ambiguous`]: status then says
//! what the health checks say instead of guessing.

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde::Serialize;

use crate::route53::{RrType, names};

/// What one side is expected to answer with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expected {
    /// Canonical values (IP addresses, or a host name for CNAME).
    Values(BTreeSet<String>),
    /// An alias whose target could not be resolved just now.
    Unresolved,
}

impl Expected {
    pub fn values<'a>(rr_type: &RrType, values: impl IntoIterator<Item = &'a String>) -> Self {
        Self::Values(values.into_iter().map(|v| canonical(rr_type, v)).collect())
    }
}

/// What an answer stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum AnswerSide {
    Primary,
    Secondary,
    /// The answer is neither side's: the records changed outside dnsfailover,
    /// or something between rewrites answers.
    Neither,
    /// The answer fits both sides, or a side's alias target is unknown.
    Ambiguous,
}

/// The form values are compared in: IP addresses as Rust prints them, host
/// names in lower case without the trailing dot.
pub fn canonical(rr_type: &RrType, value: &str) -> String {
    match rr_type {
        RrType::A | RrType::AAAA => value
            .parse::<IpAddr>()
            .map_or_else(|_| value.to_string(), |ip| ip.to_string()),
        _ => names::normalize_host(value),
    }
}

/// The side an answer's values stand for. An answer with no values is
/// neither side's.
pub fn side_of(
    rr_type: &RrType,
    answer: &[String],
    primary: &Expected,
    secondary: &Expected,
) -> AnswerSide {
    let answer: BTreeSet<String> = answer.iter().map(|v| canonical(rr_type, v)).collect();
    if answer.is_empty() {
        return AnswerSide::Neither;
    }
    let fits = |side: &Expected| match side {
        Expected::Values(values) => Some(answer.is_subset(values)),
        Expected::Unresolved => None,
    };
    match (fits(primary), fits(secondary)) {
        (None, _) | (_, None) | (Some(true), Some(true)) => AnswerSide::Ambiguous,
        (Some(true), Some(false)) => AnswerSide::Primary,
        (Some(false), Some(true)) => AnswerSide::Secondary,
        (Some(false), Some(false)) => AnswerSide::Neither,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(values: &[&str]) -> Expected {
        Expected::Values(values.iter().map(|v| v.to_string()).collect())
    }

    fn answer(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn an_answer_is_the_side_whose_values_it_holds() {
        let (p, s) = (set(&["192.0.2.10"]), set(&["192.0.2.20"]));
        let a = RrType::A;
        assert_eq!(
            side_of(&a, &answer(&["192.0.2.10"]), &p, &s),
            AnswerSide::Primary
        );
        assert_eq!(
            side_of(&a, &answer(&["192.0.2.20"]), &p, &s),
            AnswerSide::Secondary
        );
        assert_eq!(
            side_of(&a, &answer(&["203.0.113.9"]), &p, &s),
            AnswerSide::Neither
        );
        assert_eq!(side_of(&a, &[], &p, &s), AnswerSide::Neither);
        // Half of one side and half of the other is neither.
        let (p2, s2) = (
            set(&["192.0.2.10", "192.0.2.11"]),
            set(&["192.0.2.20", "192.0.2.21"]),
        );
        assert_eq!(
            side_of(&a, &answer(&["192.0.2.10", "192.0.2.21"]), &p2, &s2),
            AnswerSide::Neither
        );
    }

    #[test]
    fn values_compare_in_canonical_form() {
        let aaaa = RrType::AAAA;
        let p = Expected::values(&aaaa, &["2001:db8::1".to_string()]);
        let s = Expected::values(&aaaa, &["2001:db8::2".to_string()]);
        assert_eq!(
            side_of(&aaaa, &answer(&["2001:0db8:0:0::2"]), &p, &s),
            AnswerSide::Secondary
        );
        let cname = RrType::CNAME;
        let p = Expected::values(&cname, &["Primary.Example.com".to_string()]);
        let s = Expected::values(&cname, &["secondary.example.com.".to_string()]);
        assert_eq!(
            side_of(&cname, &answer(&["primary.example.com."]), &p, &s),
            AnswerSide::Primary
        );
    }

    #[test]
    fn what_cannot_be_told_apart_is_ambiguous_not_a_guess() {
        let a = RrType::A;
        let same = set(&["192.0.2.10"]);
        assert_eq!(
            side_of(&a, &answer(&["192.0.2.10"]), &same, &same),
            AnswerSide::Ambiguous
        );
        // An alias target that could not be resolved: even an answer that
        // fits the other side might be the alias's too.
        assert_eq!(
            side_of(
                &a,
                &answer(&["192.0.2.20"]),
                &Expected::Unresolved,
                &set(&["192.0.2.20"])
            ),
            AnswerSide::Ambiguous
        );
        // A load balancer answers with some of its addresses: a subset fits.
        let lb = set(&["198.51.100.1", "198.51.100.2", "198.51.100.3"]);
        assert_eq!(
            side_of(&a, &answer(&["198.51.100.2"]), &lb, &set(&["192.0.2.20"])),
            AnswerSide::Primary
        );
    }
}
