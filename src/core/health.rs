//! Route 53's view of health, summarised: which side DNS answers with.
//!
//! Route 53 counts an endpoint healthy when more than 18% of its checkers
//! report it healthy; a disabled check counts as healthy; an inverted check
//! reports the opposite; and when both sides are unhealthy Route 53 answers
//! with the primary anyway (it treats an all-unhealthy group as all healthy).

use serde::Serialize;

use crate::api::{ActiveSide, Health};
use crate::route53::{HealthCheckConfig, HealthObservation};

/// Share of healthy checkers above which Route 53 considers an endpoint healthy.
const HEALTHY_SHARE: f64 = 0.18;

/// Health of one check as Route 53 sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthSummary {
    pub health: Health,
    pub healthy_checkers: usize,
    pub reporting_checkers: usize,
}

impl HealthSummary {
    /// `15/16`, as shown in status.
    pub fn checkers(&self) -> String {
        format!("{}/{}", self.healthy_checkers, self.reporting_checkers)
    }
}

pub fn summarize(observations: &[HealthObservation], config: &HealthCheckConfig) -> HealthSummary {
    let reporting = observations.len();
    let healthy = observations.iter().filter(|o| o.healthy).count();
    let health = if config.disabled {
        Health::Healthy
    } else if reporting == 0 {
        Health::Unknown
    } else {
        let up = healthy as f64 > HEALTHY_SHARE * reporting as f64;
        match (up, config.inverted) {
            (true, false) | (false, true) => Health::Healthy,
            _ => Health::Unhealthy,
        }
    };
    HealthSummary {
        health,
        healthy_checkers: healthy,
        reporting_checkers: reporting,
    }
}

/// Which side DNS answers with. A side without a health check is healthy to
/// Route 53; `None` stands for that.
pub fn active_side(primary: Option<Health>, secondary: Option<Health>) -> ActiveSide {
    let primary = primary.unwrap_or(Health::Healthy);
    let secondary = secondary.unwrap_or(Health::Healthy);
    match (primary, secondary) {
        (Health::Healthy, _) => ActiveSide::Primary,
        (Health::Unhealthy, Health::Healthy) => ActiveSide::Secondary,
        (Health::Unhealthy, Health::Unhealthy) => ActiveSide::Primary,
        _ => ActiveSide::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> HealthCheckConfig {
        HealthCheckConfig::http("198.51.100.1", 30)
    }

    fn obs(healthy: usize, total: usize) -> Vec<HealthObservation> {
        (0..total)
            .map(|i| HealthObservation {
                region: "us-east-1".into(),
                healthy: i < healthy,
                report: String::new(),
            })
            .collect()
    }

    #[test]
    fn more_than_18_percent_healthy_is_healthy() {
        assert_eq!(summarize(&obs(3, 16), &config()).health, Health::Healthy); // 18.75%
        assert_eq!(summarize(&obs(2, 16), &config()).health, Health::Unhealthy); // 12.5%
        assert_eq!(summarize(&obs(0, 0), &config()).health, Health::Unknown);
        assert_eq!(summarize(&obs(15, 16), &config()).checkers(), "15/16");
    }

    #[test]
    fn disabled_is_healthy_and_inverted_flips() {
        let mut disabled = config();
        disabled.disabled = true;
        assert_eq!(summarize(&obs(0, 16), &disabled).health, Health::Healthy);
        let mut inverted = config();
        inverted.inverted = true;
        assert_eq!(summarize(&obs(16, 16), &inverted).health, Health::Unhealthy);
        assert_eq!(summarize(&obs(0, 16), &inverted).health, Health::Healthy);
    }

    #[test]
    fn active_side_follows_route53_failover_rules() {
        use Health::*;
        assert_eq!(active_side(Some(Healthy), None), ActiveSide::Primary);
        assert_eq!(active_side(Some(Unhealthy), None), ActiveSide::Secondary);
        assert_eq!(
            active_side(Some(Unhealthy), Some(Healthy)),
            ActiveSide::Secondary
        );
        assert_eq!(
            active_side(Some(Unhealthy), Some(Unhealthy)),
            ActiveSide::Primary
        );
        assert_eq!(active_side(Some(Unknown), None), ActiveSide::Unknown);
        assert_eq!(
            active_side(Some(Unhealthy), Some(Unknown)),
            ActiveSide::Unknown
        );
    }
}
