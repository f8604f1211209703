//! What health checks cost a month, from Route 53's published price list:
//! one table, with the date it was read. Every option has a price: the
//! check itself (more for an endpoint outside AWS), and each optional
//! feature (HTTPS, string matching, the fast 10-second interval, latency
//! measurement), again more outside AWS.
//!
//! Route 53 calls an endpoint an AWS endpoint when it is an AWS resource of
//! the same account; the planner cannot tell that for an IP address, so an
//! IP is priced as a non-AWS endpoint (the higher price, an upper bound),
//! and a domain name under an AWS service domain as an AWS endpoint.

use serde::Serialize;

use crate::core::plan::{CheckSet, LatchStep, RecordPlan};
use crate::route53::{Failover, HealthCheckConfig, HealthCheckKind};

/// Where the prices come from, and when they were read (the AWS Price
/// List's AmazonRoute53 "DNS Health Check" usage types, as the pricing page
/// shows them).
pub const PRICE_LIST: &str =
    "Route 53 list prices of 2026-12-01, https://aws.amazon.com/route53/pricing/";

/// US dollars per health check per month.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Prices {
    pub aws_endpoint: f64,
    pub non_aws_endpoint: f64,
    /// Per optional feature, on an AWS endpoint.
    pub aws_feature: f64,
    /// Per optional feature, on a non-AWS endpoint.
    pub non_aws_feature: f64,
}

/// The table. Route 53 also leaves the first 50 checks on AWS endpoints of
/// an account free of the basic charge, which a plan cannot know about.
pub const PRICES: Prices = Prices {
    aws_endpoint: 0.50,
    non_aws_endpoint: 0.75,
    aws_feature: 1.00,
    non_aws_feature: 2.00,
};

/// Domains of AWS services, whose endpoints Route 53 prices as AWS
/// endpoints (load balancers, EC2 public names, CloudFront, API Gateway).
const AWS_DOMAINS: &[&str] = &["amazonaws.com", "amazonaws.com.cn", "cloudfront.net", "aws"];

/// The monthly price of one check, and what it is made of.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckCost {
    pub monthly: f64,
    pub aws_endpoint: bool,
    /// A calculated check (the failback latch): no endpoint of its own,
    /// billed as a basic check.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub calculated: bool,
    /// The optional features it pays for.
    pub features: Vec<&'static str>,
}

impl CheckCost {
    /// `$2.75/month (non-AWS endpoint $0.75, fast interval $2.00)`.
    pub fn describe(&self) -> String {
        let (base, feature) = if self.aws_endpoint {
            (PRICES.aws_endpoint, PRICES.aws_feature)
        } else {
            (PRICES.non_aws_endpoint, PRICES.non_aws_feature)
        };
        let mut parts = vec![if self.calculated {
            format!("calculated {}", dollars(base))
        } else {
            format!(
                "{} endpoint {}",
                if self.aws_endpoint { "AWS" } else { "non-AWS" },
                dollars(base)
            )
        }];
        parts.extend(
            self.features
                .iter()
                .map(|f| format!("{f} {}", dollars(feature))),
        );
        format!("{}/month ({})", dollars(self.monthly), parts.join(", "))
    }
}

/// What a check with these settings costs a month.
pub fn of(config: &HealthCheckConfig) -> CheckCost {
    // A calculated check (the failback latch) has no endpoint: Route 53
    // bills it as a basic check at the AWS-endpoint price.
    let aws_endpoint = config.kind == HealthCheckKind::Calculated
        || config.ip_address.is_none()
            && config.fqdn.as_deref().is_some_and(|host| {
                let host = host.trim_end_matches('.').to_ascii_lowercase();
                AWS_DOMAINS
                    .iter()
                    .any(|d| host == *d || host.ends_with(&format!(".{d}")))
            });
    let mut features = Vec::new();
    if config.kind.is_https() {
        features.push("HTTPS");
    }
    if matches!(
        config.kind,
        HealthCheckKind::HttpStrMatch | HealthCheckKind::HttpsStrMatch
    ) {
        features.push("string matching");
    }
    if config.request_interval == 10 {
        features.push("fast interval");
    }
    if config.measure_latency {
        features.push("latency measurement");
    }
    let (base, feature) = if aws_endpoint {
        (PRICES.aws_endpoint, PRICES.aws_feature)
    } else {
        (PRICES.non_aws_endpoint, PRICES.non_aws_feature)
    };
    CheckCost {
        monthly: base + feature * features.len() as f64,
        aws_endpoint,
        calculated: config.kind == HealthCheckKind::Calculated,
        features,
    }
}

/// One check a plan creates, changes or deletes, and its monthly price.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CostItem {
    /// `create`, `update` or `delete`.
    pub action: &'static str,
    pub role: Failover,
    /// The failback latch (a calculated check on the primary's check), not
    /// a check of an endpoint.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub latch: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub cost: CheckCost,
    /// What this item adds to (or, negative, takes from) the monthly bill.
    pub change: f64,
}

/// What a plan does to the monthly cost of health checks.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanCost {
    pub items: Vec<CostItem>,
    pub monthly_change: f64,
}

/// The checks `plan` creates, updates and deletes, priced. `checks`: what
/// Route 53 holds, to price the checks deleted and the settings updated.
pub fn of_plan(plan: &RecordPlan, checks: &CheckSet) -> PlanCost {
    let find = |id: &str| checks.get(id);
    let mut items = Vec::new();
    if let Some(LatchStep::Create { hold, .. }) = &plan.latch {
        let cost = of(&HealthCheckConfig::latch("", *hold));
        items.push(CostItem {
            action: "create",
            role: Failover::Primary,
            latch: true,
            id: None,
            change: cost.monthly,
            cost,
        });
    }
    for create in &plan.create_checks {
        let cost = of(&create.config);
        items.push(CostItem {
            action: "create",
            role: create.role,
            latch: false,
            id: None,
            change: cost.monthly,
            cost,
        });
    }
    for update in &plan.update_checks {
        let cost = of(&update.update.config);
        let before = find(&update.id).map_or(cost.monthly, |c| of(&c.config).monthly);
        items.push(CostItem {
            action: "update",
            role: update.role,
            latch: false,
            id: Some(update.id.clone()),
            change: cost.monthly - before,
            cost,
        });
    }
    for delete in &plan.delete_checks {
        if let Some(check) = find(&delete.id) {
            let cost = of(&check.config);
            items.push(CostItem {
                action: "delete",
                role: delete.role,
                latch: check.config.kind == HealthCheckKind::Calculated,
                id: Some(delete.id.clone()),
                change: -cost.monthly,
                cost,
            });
        }
    }
    PlanCost {
        monthly_change: items.iter().map(|i| i.change).sum(),
        items,
    }
}

/// `$1.25`, `-$0.75`.
pub fn dollars(amount: f64) -> String {
    let cents = (amount * 100.0).round() as i64;
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}${}.{:02}", cents.abs() / 100, cents.abs() % 100)
}

/// A signed change of monthly cost: `+$2.75`, `-$0.75`, `$0.00`.
pub fn change(amount: f64) -> String {
    if (amount * 100.0).round() > 0.0 {
        format!("+{}", dollars(amount))
    } else {
        dollars(amount)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_has_its_price() {
        let basic = HealthCheckConfig::http("52.94.236.10", 30);
        assert_eq!(of(&basic).monthly, 0.75, "an IP is priced as non-AWS");
        let mut fast = basic.clone();
        fast.request_interval = 10;
        assert_eq!(of(&fast).monthly, 2.75);
        assert_eq!(
            of(&fast).describe(),
            "$2.75/month (non-AWS endpoint $0.75, fast interval $2.00)"
        );
        let mut everything = fast.clone();
        everything.kind = HealthCheckKind::HttpsStrMatch;
        everything.measure_latency = true;
        assert_eq!(of(&everything).monthly, 8.75);
        assert_eq!(of(&everything).features.len(), 4);

        let mut load_balancer = basic.clone();
        load_balancer.ip_address = None;
        load_balancer.fqdn = Some("web-1.us-east-1.elb.amazonaws.com".into());
        load_balancer.kind = HealthCheckKind::Https;
        assert!(of(&load_balancer).aws_endpoint);
        assert_eq!(of(&load_balancer).monthly, 1.50);
        load_balancer.fqdn = Some("web.example.com".into());
        assert!(!of(&load_balancer).aws_endpoint);
    }

    #[test]
    fn the_failback_latch_is_priced_as_a_calculated_check_and_said_to_be_one() {
        let latch = of(&HealthCheckConfig::latch("hc-1", false));
        assert_eq!(latch.monthly, 0.50);
        assert!(latch.calculated);
        assert_eq!(latch.describe(), "$0.50/month (calculated $0.50)");

        let owner = crate::core::ownership::Owner::new("test", "web", "www");
        let mut plan = RecordPlan::new(&owner, "Z1");
        plan.latch = Some(LatchStep::Create {
            child: crate::core::plan::CheckRef::Existing("hc-1".into()),
            hold: false,
            tags: Default::default(),
        });
        let priced = of_plan(&plan, &CheckSet::default());
        assert_eq!(priced.items.len(), 1);
        assert!(priced.items[0].latch);
        assert_eq!(priced.monthly_change, 0.50);
        let json = serde_json::to_value(&priced.items[0]).expect("JSON");
        assert_eq!(json["latch"], true);
    }

    #[test]
    fn amounts_print_as_dollars_and_cents() {
        assert_eq!(dollars(0.75), "$0.75");
        assert_eq!(dollars(12.5), "$12.50");
        assert_eq!(change(2.75), "+$2.75");
        assert_eq!(change(-0.75), "-$0.75");
        assert_eq!(change(0.0), "$0.00");
    }
}
