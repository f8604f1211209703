//! Manual failback: when the latch holds DNS on the secondary, and when it
//! lets go. Pure: the controller passes in what Route 53 holds (the latch),
//! what the poller read (the primary's health) and what a person asked for
//! (the `dnsfailover.io/request` annotation); it gets back what to do with
//! the latch, what to tell, and whether the request was handled.
//!
//! The latch engages when the primary's own check reads Unhealthy (that is
//! what made Route 53 fail over), so approving failback, which makes the
//! latch follow while DNS still answers with the secondary for a moment,
//! never re-engages it. It lets go only when a person approves and the
//! primary is healthy: an approval while the primary is down would only send
//! users back to it as soon as it flickers up.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::{FailbackState, FailbackStatus, Health};
use crate::core::desired::LatchWant;

/// The annotation through which a person steers failover.
pub const REQUEST_ANNOTATION: &str = "dnsfailover.io/request";

/// What a person asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `failback`: approve the return to the primary.
    Failback,
    /// `failover`: hold DNS on the secondary now (maintenance).
    Failover,
    /// Anything else: refused, and said so.
    Unknown(String),
}

impl Request {
    pub fn parse(value: &str) -> Self {
        match value.trim().to_ascii_lowercase().as_str() {
            "failback" => Self::Failback,
            "failover" => Self::Failover,
            _ => Self::Unknown(value.to_string()),
        }
    }
}

/// What happened, for an Event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Told {
    /// The primary failed: the latch holds.
    Held,
    /// A person forced the secondary.
    Forced,
    /// A person approved failback: the latch follows again.
    Approved,
    /// A request that could not be carried out, and why.
    Refused(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub want: LatchWant,
    pub told: Option<Told>,
    /// The request was handled (carried out or refused): remove it.
    pub consumed: bool,
}

/// A decision that needs the latch to change, when the plan cannot change
/// it: the PRIMARY is in a dispute with another owner and is left exactly
/// as it is, latch included. A request is refused saying so, rather than
/// announced and dropped; an automatic hold is not announced.
pub fn blocked(decision: Decision, holding: Option<bool>, why: &str) -> Decision {
    let needs_change = matches!(
        (decision.want, holding),
        (LatchWant::Hold, Some(false)) | (LatchWant::Release, Some(true))
    );
    if !needs_change {
        return decision;
    }
    Decision {
        want: LatchWant::Keep,
        told: decision
            .consumed
            .then(|| Told::Refused(format!("the latch is left as it is: {why}"))),
        consumed: decision.consumed,
    }
}

/// Decide. `holding`: what the latch does now (`None`: there is none yet);
/// `primary`: the last read of the primary's own check.
pub fn decide(
    manual: bool,
    holding: Option<bool>,
    primary: Option<Health>,
    request: Option<&Request>,
) -> Decision {
    let keep = |told: Option<Told>, consumed: bool| Decision {
        want: LatchWant::Keep,
        told,
        consumed,
    };
    if !manual {
        return match request {
            None => keep(None, false),
            Some(_) => keep(
                Some(Told::Refused(
                    "failback is Automatic: Route 53 alone decides; set spec.failback: Manual to hold the secondary and approve failback".to_string(),
                )),
                true,
            ),
        };
    }
    let held = holding == Some(true);
    match request {
        Some(Request::Failover) if held => keep(
            Some(Told::Refused(
                "DNS is already held on the secondary".to_string(),
            )),
            true,
        ),
        Some(Request::Failover) => Decision {
            want: LatchWant::Hold,
            told: Some(Told::Forced),
            consumed: true,
        },
        Some(Request::Failback) if held && primary == Some(Health::Healthy) => Decision {
            want: LatchWant::Release,
            told: Some(Told::Approved),
            consumed: true,
        },
        Some(Request::Failback) if held => keep(
            Some(Told::Refused(
                "the primary is not healthy (Route 53's check of it does not pass): failback stays held; approve again once it is healthy".to_string(),
            )),
            true,
        ),
        Some(Request::Failback) => keep(
            Some(Told::Refused(
                "nothing to approve: DNS follows the primary's health".to_string(),
            )),
            true,
        ),
        Some(Request::Unknown(value)) => keep(
            Some(Told::Refused(format!(
                "unknown request {value:?}: use {REQUEST_ANNOTATION}=failback or {REQUEST_ANNOTATION}=failover"
            ))),
            true,
        ),
        None if primary == Some(Health::Unhealthy) && !held => Decision {
            want: LatchWant::Hold,
            told: Some(Told::Held),
            consumed: false,
        },
        None => keep(None, false),
    }
}

/// Where failback stands once the latch does what was decided.
pub fn status(
    name: &str,
    holding: bool,
    primary: Option<Health>,
    latch_check_id: Option<String>,
    previous: Option<&FailbackStatus>,
    now: &Time,
) -> FailbackStatus {
    let (state, message) = match (holding, primary) {
        (false, _) => (
            FailbackState::Following,
            "DNS follows the primary's health; after a failover it stays on the secondary until failback is approved".to_string(),
        ),
        (true, Some(Health::Healthy)) => (
            FailbackState::WaitingForApproval,
            format!(
                "primary healthy again, failback waiting for approval: kubectl annotate failoverrecord {name} {REQUEST_ANNOTATION}=failback (or dnsfailover failback -f FILE)"
            ),
        ),
        (true, _) => (
            FailbackState::Held,
            "DNS is held on the secondary while the primary is not healthy; once it is, failback waits for approval".to_string(),
        ),
    };
    let since = match previous {
        Some(p) if p.state == state => p.since.clone(),
        _ => now.clone(),
    };
    FailbackStatus {
        state,
        message,
        latch_check_id,
        since,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_change_the_plan_cannot_make_is_refused_not_announced() {
        let forced = decide(
            true,
            Some(false),
            Some(Health::Healthy),
            Some(&Request::Failover),
        );
        let refused = blocked(forced, Some(false), "the PRIMARY is in dispute");
        assert_eq!(refused.want, LatchWant::Keep);
        assert!(refused.consumed, "the request is answered");
        assert!(
            matches!(&refused.told, Some(Told::Refused(why)) if why.contains("in dispute")),
            "{refused:?}"
        );
        let automatic = decide(true, Some(false), Some(Health::Unhealthy), None);
        assert_eq!(automatic.want, LatchWant::Hold);
        let quiet = blocked(automatic, Some(false), "the PRIMARY is in dispute");
        assert_eq!(
            (quiet.want, quiet.told, quiet.consumed),
            (LatchWant::Keep, None, false)
        );
        // Nothing to change: the decision stands.
        let already = decide(true, Some(true), Some(Health::Unhealthy), None);
        assert_eq!(blocked(already.clone(), Some(true), "x"), already);
    }

    use super::*;
    use Health::*;

    #[test]
    fn the_latch_holds_when_the_primary_fails_and_only_then() {
        let d = decide(true, Some(false), Some(Unhealthy), None);
        assert_eq!((d.want, d.told), (LatchWant::Hold, Some(Told::Held)));
        // Approved while DNS still shows the secondary: the primary is
        // healthy, so nothing re-engages the latch.
        assert_eq!(
            decide(true, Some(false), Some(Healthy), None).want,
            LatchWant::Keep
        );
        assert_eq!(
            decide(true, Some(true), Some(Healthy), None).want,
            LatchWant::Keep
        );
        assert_eq!(decide(true, Some(false), None, None).want, LatchWant::Keep);
        // Automatic never holds.
        assert_eq!(
            decide(false, None, Some(Unhealthy), None).want,
            LatchWant::Keep
        );
    }

    #[test]
    fn approval_releases_only_a_held_latch_over_a_healthy_primary() {
        let approve = Some(&Request::Failback);
        let d = decide(true, Some(true), Some(Healthy), approve);
        assert_eq!((d.want, d.consumed), (LatchWant::Release, true));
        for (holding, primary) in [
            (Some(true), Some(Unhealthy)),
            (Some(true), None),
            (Some(false), Some(Healthy)),
            (None, Some(Healthy)),
        ] {
            let d = decide(true, holding, primary, approve);
            assert_eq!(d.want, LatchWant::Keep, "{holding:?} {primary:?}");
            assert!(d.consumed);
            assert!(matches!(d.told, Some(Told::Refused(_))));
        }
    }

    #[test]
    fn a_forced_failover_holds_whatever_the_primary_does() {
        for primary in [Some(Healthy), Some(Unhealthy), None] {
            let d = decide(true, Some(false), primary, Some(&Request::Failover));
            assert_eq!(
                (d.want, d.told.clone()),
                (LatchWant::Hold, Some(Told::Forced))
            );
        }
        let d = decide(true, None, Some(Healthy), Some(&Request::Failover));
        assert_eq!(
            d.want,
            LatchWant::Hold,
            "a latch still to be created holds at once"
        );
        let d = decide(false, None, Some(Healthy), Some(&Request::Failover));
        assert!(
            matches!(d.told, Some(Told::Refused(_))),
            "Automatic has no latch"
        );
        let d = decide(
            true,
            Some(false),
            Some(Healthy),
            Some(&Request::parse("later")),
        );
        assert!(matches!(d.told, Some(Told::Refused(m)) if m.contains("later")));
    }

    #[test]
    fn status_says_when_failback_waits_for_approval() {
        let now = Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH);
        let waiting = status("web", true, Some(Healthy), None, None, &now);
        assert_eq!(waiting.state, FailbackState::WaitingForApproval);
        assert!(
            waiting
                .message
                .starts_with("primary healthy again, failback waiting for approval")
        );
        assert!(
            waiting
                .message
                .contains("kubectl annotate failoverrecord web dnsfailover.io/request=failback")
        );
        assert_eq!(
            status("web", true, Some(Unhealthy), None, None, &now).state,
            FailbackState::Held
        );
        assert_eq!(
            status("web", false, Some(Healthy), None, None, &now).state,
            FailbackState::Following
        );
        let later = Time(k8s_openapi::jiff::Timestamp::now());
        assert_eq!(
            status("web", true, Some(Healthy), None, Some(&waiting), &later).since,
            now,
            "since moves only with the state"
        );
    }
}
