//! Route 53's objects to and from the port's plain data, normalised on the
//! way in (names, IPv6 addresses, implicit defaults, all-regions) so that the
//! planner compares exactly.

use std::net::IpAddr;

use aws_sdk_route53::types as sdk;

use crate::route53::{
    AliasTarget, ChangeInfo, ChangeState, ErrorKind, Failover, HealthCheck, HealthCheckConfig,
    HealthCheckKind, Operation, RecordSet, Result, Route53Error, RrType, Tags, Zone, bare_zone_id,
    names, normalize_regions,
};

pub(super) fn build_error(op: Operation, err: impl std::fmt::Display) -> Route53Error {
    Route53Error::new(
        op,
        ErrorKind::InvalidInput,
        format!("could not build the request: {err}"),
    )
}

pub(super) fn zone_from(zone: &sdk::HostedZone) -> Zone {
    Zone {
        id: bare_zone_id(zone.id()),
        name: names::normalize(zone.name()),
        private: zone.config().is_some_and(|c| c.private_zone()),
        name_servers: Vec::new(),
    }
}

pub(super) fn record_from(record: &sdk::ResourceRecordSet) -> RecordSet {
    let other_routing = if record.weight().is_some() {
        Some("weighted")
    } else if record.region().is_some() {
        Some("latency")
    } else if record.geo_location().is_some() {
        Some("geolocation")
    } else if record.multi_value_answer().is_some() {
        Some("multivalue answer")
    } else if record.cidr_routing_config().is_some() {
        Some("IP-based")
    } else if record.geo_proximity_location().is_some() {
        Some("geoproximity")
    } else if record.traffic_policy_instance_id().is_some() {
        Some("traffic policy")
    } else {
        None
    };
    RecordSet {
        name: names::normalize(record.name()),
        rr_type: RrType::parse(record.r#type().as_str()),
        set_identifier: record.set_identifier().map(str::to_string),
        failover: record.failover().and_then(|f| match f {
            sdk::ResourceRecordSetFailover::Primary => Some(Failover::Primary),
            sdk::ResourceRecordSetFailover::Secondary => Some(Failover::Secondary),
            _ => None,
        }),
        ttl: record.ttl(),
        values: record
            .resource_records()
            .iter()
            .map(|r| r.value().to_string())
            .collect(),
        alias: record.alias_target().map(|a| AliasTarget {
            dns_name: names::normalize_host(a.dns_name()),
            hosted_zone_id: a.hosted_zone_id().to_string(),
            evaluate_target_health: a.evaluate_target_health(),
        }),
        health_check_id: record.health_check_id().map(str::to_string),
        other_routing: other_routing.map(str::to_string),
    }
}

pub(super) fn record_to(
    record: &RecordSet,
) -> std::result::Result<sdk::ResourceRecordSet, aws_sdk_route53::error::BuildError> {
    let mut builder = sdk::ResourceRecordSet::builder()
        .name(&record.name)
        .r#type(sdk::RrType::from(record.rr_type.as_str()))
        .set_set_identifier(record.set_identifier.clone())
        .set_failover(
            record
                .failover
                .map(|f| sdk::ResourceRecordSetFailover::from(f.as_route53())),
        )
        .set_ttl(record.ttl)
        .set_health_check_id(record.health_check_id.clone());
    for value in &record.values {
        builder = builder.resource_records(sdk::ResourceRecord::builder().value(value).build()?);
    }
    if let Some(alias) = &record.alias {
        builder = builder.alias_target(
            sdk::AliasTarget::builder()
                .dns_name(&alias.dns_name)
                .hosted_zone_id(&alias.hosted_zone_id)
                .evaluate_target_health(alias.evaluate_target_health)
                .build()?,
        );
    }
    builder.build()
}

pub(super) fn check_from(check: &sdk::HealthCheck) -> HealthCheck {
    let config = check.health_check_config();
    let kind = config.map_or(HealthCheckKind::Other(String::new()), |c| {
        HealthCheckKind::parse(c.r#type().as_str())
    });
    let http = kind.is_http_family();
    if kind == HealthCheckKind::Calculated {
        // Only the children and the threshold mean anything; the rest is
        // left at what `HealthCheckConfig::latch` sets, so plans compare.
        let children = config
            .map(|c| c.child_health_checks().to_vec())
            .unwrap_or_default();
        let mut latch = HealthCheckConfig::latch("", false);
        latch.children = children;
        latch.health_threshold = config.and_then(|c| c.health_threshold()).unwrap_or(0);
        return HealthCheck {
            id: check.id().to_string(),
            caller_reference: check.caller_reference().to_string(),
            version: check.health_check_version(),
            config: latch,
        };
    }
    HealthCheck {
        id: check.id().to_string(),
        caller_reference: check.caller_reference().to_string(),
        version: check.health_check_version(),
        config: HealthCheckConfig {
            ip_address: config.and_then(|c| c.ip_address()).map(canonical_ip),
            fqdn: config
                .and_then(|c| c.fully_qualified_domain_name())
                .map(names::normalize_host),
            port: config
                .and_then(|c| c.port())
                .unwrap_or(if kind.is_https() { 443 } else { 80 }),
            resource_path: config
                .and_then(|c| c.resource_path())
                .map(str::to_string)
                .or_else(|| http.then(|| "/".to_string())),
            search_string: config.and_then(|c| c.search_string()).map(str::to_string),
            request_interval: config.and_then(|c| c.request_interval()).unwrap_or(30),
            failure_threshold: config.and_then(|c| c.failure_threshold()).unwrap_or(3),
            measure_latency: config.and_then(|c| c.measure_latency()).unwrap_or(false),
            inverted: config.and_then(|c| c.inverted()).unwrap_or(false),
            disabled: config.and_then(|c| c.disabled()).unwrap_or(false),
            enable_sni: kind.is_https() && config.and_then(|c| c.enable_sni()).unwrap_or(false),
            regions: normalize_regions(
                config
                    .map(|c| c.regions().iter().map(|r| r.as_str().to_string()).collect())
                    .unwrap_or_default(),
            ),
            children: Vec::new(),
            health_threshold: 0,
            kind,
        },
    }
}

/// Route 53 returns IPv6 addresses in long form (`2001:db8:0:0:0:0:0:1`);
/// the desired config holds the canonical form (`2001:db8::1`), so compare in
/// that form or the check would look changed on every pass. Anything that is
/// not an address is kept as sent.
pub(super) fn canonical_ip(raw: &str) -> String {
    raw.parse::<IpAddr>()
        .map_or_else(|_| raw.to_string(), |ip| ip.to_string())
}

pub(super) fn check_config_to(
    config: &HealthCheckConfig,
) -> std::result::Result<sdk::HealthCheckConfig, aws_sdk_route53::error::BuildError> {
    if config.kind == HealthCheckKind::Calculated {
        return sdk::HealthCheckConfig::builder()
            .r#type(sdk::HealthCheckType::Calculated)
            .set_child_health_checks(Some(config.children.clone()))
            .health_threshold(config.health_threshold)
            .build();
    }
    sdk::HealthCheckConfig::builder()
        .r#type(sdk::HealthCheckType::from(config.kind.as_route53()))
        .set_ip_address(config.ip_address.clone())
        .set_fully_qualified_domain_name(config.fqdn.clone())
        .port(config.port)
        .set_resource_path(config.resource_path.clone())
        .set_search_string(config.search_string.clone())
        .request_interval(config.request_interval)
        .failure_threshold(config.failure_threshold)
        .measure_latency(config.measure_latency)
        .inverted(config.inverted)
        .disabled(config.disabled)
        .set_enable_sni(config.kind.is_https().then_some(config.enable_sni))
        .set_regions((!config.regions.is_empty()).then(|| {
            config
                .regions
                .iter()
                .map(|r| sdk::HealthCheckRegion::from(r.as_str()))
                .collect()
        }))
        .build()
}

pub(super) fn tags_to(tags: &Tags) -> Vec<sdk::Tag> {
    tags.iter()
        .map(|(k, v)| sdk::Tag::builder().key(k).value(v).build())
        .collect()
}

pub(super) fn change_info(op: Operation, info: Option<&sdk::ChangeInfo>) -> Result<ChangeInfo> {
    let info = info
        .ok_or_else(|| Route53Error::new(op, ErrorKind::Other, "the answer held no change info"))?;
    Ok(ChangeInfo {
        id: info.id().trim_start_matches("/change/").to_string(),
        status: match info.status() {
            sdk::ChangeStatus::Insync => ChangeState::InSync,
            _ => ChangeState::Pending,
        },
    })
}
