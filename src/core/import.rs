//! Import: an existing failover pair (made in the console, by Terraform, by
//! hand) and its health checks, described as the FailoverRecord spec that
//! says exactly the same. Applied with `adoptExisting`, that spec takes the
//! pair over without a single record change: the planner finds every record
//! set already as wanted and keeps the health checks (see
//! [`crate::core::plan`]). Anything the spec cannot say exactly is refused,
//! naming what and why, rather than imported approximately.

use crate::api::{
    AliasTarget, FailoverRecordSpec, HealthCheckRegion, HealthCheckSpec, HostedZoneRef, Manage,
    Protocol, RecordType, Target,
};
use crate::core::ownership::{self, Marker};
use crate::route53::{
    Failover, HEALTH_CHECK_REGIONS, HealthCheck, HealthCheckKind, RecordSet, RrType, names,
};

/// What to import.
#[derive(Clone, Debug)]
pub struct ImportRequest<'a> {
    /// The zone as the spec should name it.
    pub zone: HostedZoneRef,
    /// The zone's name, with the trailing dot.
    pub zone_name: &'a str,
    /// The record name as the spec should write it.
    pub name: String,
    pub rr_type: RrType,
    /// Which sides to take over.
    pub manage: Manage,
}

/// Why an import is refused: the spec could not describe what exists.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(pub String);

/// The spec describing the pair at `fqdn` exactly. `records`: the zone's
/// record sets at that name (any type); `checks`: the account's health checks.
pub fn spec_of(
    request: &ImportRequest<'_>,
    fqdn: &str,
    records: &[RecordSet],
    checks: &[HealthCheck],
) -> Result<FailoverRecordSpec, Refusal> {
    let rr_type = &request.rr_type;
    let record_type = match rr_type {
        RrType::A => RecordType::A,
        RrType::AAAA => RecordType::AAAA,
        RrType::CNAME => RecordType::CNAME,
        other => {
            return Err(Refusal(format!(
                "type {other}: a FailoverRecord manages A, AAAA or CNAME records"
            )));
        }
    };
    let marker = ownership::marker_name(fqdn, rr_type);
    if let Some(existing) = records.iter().find(|r| r.name == marker) {
        let entries: Vec<Marker> = existing
            .values
            .iter()
            .filter_map(|v| Marker::parse(v))
            .collect();
        if entries.is_empty() {
            return Err(Refusal(format!(
                "{marker} holds a TXT record that dnsfailover did not write; it needs that name for its ownership marker"
            )));
        }
        // Another installation may manage one side of a shared name (split
        // ownership): the other side can still be imported.
        let group_of = |role: Failover| {
            records
                .iter()
                .find(|r| r.name == fqdn && &r.rr_type == rr_type && r.failover == Some(role))
        };
        let holders: Vec<String> = entries
            .iter()
            .filter(|m| {
                Failover::BOTH.into_iter().any(|role| {
                    request.manage.includes(role)
                        && (m.wants(role)
                            || group_of(role)
                                .is_some_and(|r| m.claims(r.set_identifier.as_deref())))
                })
            })
            .map(|m| format!("FailoverRecord {} of owner {:?}", m.resource, m.owner_id))
            .collect();
        if !holders.is_empty() {
            return Err(Refusal(format!(
                "{fqdn} {rr_type} is already managed by dnsfailover ({}); there is nothing to import",
                holders.join(", ")
            )));
        }
    }
    let group: Vec<&RecordSet> = records
        .iter()
        .filter(|r| r.name == fqdn && &r.rr_type == rr_type)
        .collect();
    if group.is_empty() {
        return Err(Refusal(format!(
            "there is no {rr_type} record set named {fqdn}; nothing to import"
        )));
    }
    if let Some(other) = group.iter().find(|r| r.failover.is_none()) {
        let what = match &other.other_routing {
            Some(policy) => format!("{policy} routing"),
            None => "simple routing".to_string(),
        };
        return Err(Refusal(format!(
            "{fqdn} {rr_type} uses {what}, not failover; a FailoverRecord describes a PRIMARY and a SECONDARY failover record set ({})",
            if other.other_routing.is_some() {
                "adoptExisting cannot take over other routing policies either: delete those record sets first, then apply a FailoverRecord"
            } else {
                "to replace such records, write the FailoverRecord yourself with adoptExisting: true"
            }
        )));
    }

    let mut spec = FailoverRecordSpec {
        hosted_zone: request.zone.clone(),
        name: request.name.clone(),
        record_type,
        ttl: 60,
        manage: request.manage,
        failback: Default::default(),
        primary: None,
        secondary: None,
        deletion_policy: Default::default(),
        adopt_existing: true,
    };
    let mut ttls = Vec::new();
    for role in Failover::BOTH {
        if !request.manage.includes(role) {
            continue;
        }
        let record = group
            .iter()
            .find(|r| r.failover == Some(role))
            .ok_or_else(|| {
                Refusal(format!(
                    "{fqdn} {rr_type} has no {} failover record set; import the side that exists with --manage {}",
                    role.as_route53(),
                    match role {
                        Failover::Primary => "Secondary",
                        Failover::Secondary => "Primary",
                    }
                ))
            })?;
        if let Some(ttl) = record.ttl.filter(|_| record.alias.is_none()) {
            ttls.push((role, ttl));
        }
        let target = target_of(record, role, checks)?;
        match role {
            Failover::Primary => spec.primary = Some(target),
            Failover::Secondary => spec.secondary = Some(target),
        }
    }
    match ttls.as_slice() {
        [] => {}
        [(_, ttl)] => spec.ttl = *ttl,
        [(_, a), (_, b)] if a == b => spec.ttl = *a,
        [(_, a), (_, b), ..] => {
            return Err(Refusal(format!(
                "the PRIMARY of {fqdn} {rr_type} has TTL {a} and the SECONDARY TTL {b}; a FailoverRecord has one TTL for both sides: give them the same TTL first"
            )));
        }
    }
    Ok(spec)
}

fn target_of(
    record: &RecordSet,
    role: Failover,
    checks: &[HealthCheck],
) -> Result<Target, Refusal> {
    let mut target = Target {
        set_identifier: record.set_identifier.clone(),
        addresses: None,
        alias: None,
        service_ref: None,
        ingress_ref: None,
        gateway_ref: None,
        health_check: None,
    };
    match &record.alias {
        Some(alias) => {
            target.alias = Some(AliasTarget {
                dns_name: names::normalize_host(&alias.dns_name),
                hosted_zone_id: alias.hosted_zone_id.clone(),
                evaluate_target_health: alias.evaluate_target_health,
            })
        }
        None => target.addresses = Some(record.values.clone()),
    }
    if let Some(id) = &record.health_check_id {
        let check = checks.iter().find(|c| &c.id == id).ok_or_else(|| {
            Refusal(format!(
                "the {} record set uses health check {id}, which does not exist in this account",
                role.as_route53()
            ))
        })?;
        target.health_check = Some(check_spec(check, role)?);
    }
    Ok(target)
}

/// The health check spec that creates exactly `check`'s settings.
fn check_spec(check: &HealthCheck, role: Failover) -> Result<HealthCheckSpec, Refusal> {
    let config = &check.config;
    let refuse = |why: String| {
        Refusal(format!(
            "the {} record set's health check {} {why}",
            role.as_route53(),
            check.id
        ))
    };
    let protocol = match config.kind {
        HealthCheckKind::Http | HealthCheckKind::HttpStrMatch => Protocol::HTTP,
        HealthCheckKind::Https | HealthCheckKind::HttpsStrMatch => Protocol::HTTPS,
        HealthCheckKind::Tcp => Protocol::TCP,
        HealthCheckKind::Calculated => {
            return Err(refuse(
                "is a CALCULATED check, which a FailoverRecord cannot express (with failback: Manual it makes its own, on the primary's endpoint check); keep managing this pair as it is, or point the record at the endpoint check first".to_string(),
            ));
        }
        HealthCheckKind::Other(ref kind) => {
            return Err(refuse(format!(
                "is of type {}, which a FailoverRecord cannot express (it creates HTTP, HTTPS and TCP checks on an endpoint); keep managing this pair as it is, or replace the check with an endpoint check first",
                if kind.is_empty() { "unknown" } else { kind }
            )));
        }
    };
    if let Some(path) = &config.resource_path
        && !path.starts_with('/')
    {
        return Err(refuse(format!(
            "requests the path {path:?}, and a FailoverRecord's path starts with '/': change the check's path to /{path} first"
        )));
    }
    let regions = if config.regions.is_empty() {
        None
    } else {
        let mut regions = Vec::new();
        for region in &config.regions {
            let known = HealthCheckRegion::ALL
                .into_iter()
                .find(|r| r.as_str() == region)
                .ok_or_else(|| {
                    refuse(format!(
                        "checks from the region {region}, which this version of dnsfailover does not know (it knows {})",
                        HEALTH_CHECK_REGIONS.join(", ")
                    ))
                })?;
            regions.push(known);
        }
        Some(regions)
    };
    let http = protocol != Protocol::TCP;
    let (ip_address, fqdn, host_name) = match (&config.ip_address, &config.fqdn) {
        (Some(ip), host) => (Some(ip.clone()), None, host.clone().filter(|_| http)),
        (None, host) => (None, host.clone(), None),
    };
    if !http && config.ip_address.is_some() && config.fqdn.is_some() {
        return Err(refuse(
            "is a TCP check with both an IP address and a domain name, and a FailoverRecord's TCP check has one of them".to_string(),
        ));
    }
    if ip_address.is_none() && fqdn.is_none() {
        return Err(refuse(
            "has neither an IP address nor a domain name to check".to_string(),
        ));
    }
    Ok(HealthCheckSpec {
        protocol,
        ip_address,
        fqdn,
        host_name,
        port: Some(config.port),
        path: config.resource_path.clone().filter(|_| http),
        request_interval: config.request_interval,
        failure_threshold: config.failure_threshold,
        search_string: config.search_string.clone(),
        regions,
        inverted: config.inverted,
        disabled: config.disabled,
        enable_sni: (protocol == Protocol::HTTPS).then_some(config.enable_sni),
        measure_latency: config.measure_latency,
    })
}

/// A `metadata.name` for the imported record: its name below the zone, in
/// the characters Kubernetes allows.
pub fn object_name(fqdn: &str, zone_name: &str) -> String {
    let fqdn = fqdn.trim_end_matches('.');
    let zone = zone_name.trim_end_matches('.');
    let below = fqdn
        .strip_suffix(zone)
        .map(|rest| rest.trim_end_matches('.'))
        .unwrap_or(fqdn);
    let raw = if below.is_empty() { "apex" } else { below };
    let mut name: String = raw
        .to_ascii_lowercase()
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' => c,
            '*' => 'x',
            _ => '-',
        })
        .collect();
    name = name.trim_matches('-').to_string();
    name.truncate(63);
    let name = name.trim_end_matches('-').to_string();
    if name.is_empty() {
        "imported".to_string()
    } else {
        name
    }
}

#[cfg(test)]
mod tests;
