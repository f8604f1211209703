//! Validate: a FailoverRecord spec in, the desired Route 53 state out, or every
//! problem found, each naming its field.
//!
//! The CRD schema and its CEL rules catch most mistakes (the API server runs
//! them, and so does the CLI through `api::admission`). This step turns a spec
//! that passed them into normalised desired state, and checks what the schema
//! cannot: for example whether a fully qualified name lies inside a zone given
//! by name. It never panics on any input.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::api::{
    FailoverRecordSpec, FieldError, HealthCheckSpec, InvalidSpec, Protocol, RecordType, Target,
};
use crate::core::desired::{
    DesiredRecord, DesiredSide, LatchWant, RecordName, SideTarget, ZoneSelector,
};
use crate::core::ownership::Owner;
use crate::route53::names;
use crate::route53::{
    AliasTarget, Failover, HealthCheckConfig, HealthCheckKind, RrType, bare_zone_id,
    normalize_regions,
};

/// The hosted zone id of every CloudFront distribution, for alias targets.
pub const CLOUDFRONT_ZONE_ID: &str = "Z2FDTNDATAQYW2";

/// Route 53's API reference, AliasTarget.EvaluateTargetHealth: "You can't set
/// EvaluateTargetHealth to true when the alias target is a CloudFront
/// distribution."
pub const CLOUDFRONT_EVALUATE_TARGET_HEALTH: &str = "must be false for an alias to a CloudFront distribution (hostedZoneId Z2FDTNDATAQYW2): Route 53 documents that EvaluateTargetHealth can't be true when the alias target is a CloudFront distribution (API reference, AliasTarget); set evaluateTargetHealth: false, and give the primary a healthCheck";

struct Errors(Vec<FieldError>);

impl Errors {
    fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }
}

/// Turn a spec into desired state.
pub fn desired_from_spec(
    owner: Owner,
    spec: &FailoverRecordSpec,
) -> Result<DesiredRecord, InvalidSpec> {
    let mut errors = Errors(Vec::new());
    let mut warnings = Vec::new();

    let zone = zone_selector(spec, &mut errors);
    let name = record_name(&spec.name, &mut errors);
    if let (
        Some(ZoneSelector::Name {
            name: zone_name, ..
        }),
        Some(record),
    ) = (&zone, &name)
        && let Err(message) = record.fqdn_in(zone_name)
    {
        errors.add("spec.name", message);
    }
    let rr_type = match spec.record_type {
        RecordType::A => RrType::A,
        RecordType::AAAA => RrType::AAAA,
        RecordType::CNAME => RrType::CNAME,
    };
    if spec.ttl < 0 {
        errors.add("spec.ttl", format!("must be 0 or more, got {}", spec.ttl));
    }

    let mut sides = [None, None];
    for (slot, role) in sides.iter_mut().zip(Failover::BOTH) {
        let wanted = spec.manage.includes(role);
        *slot = match (wanted, spec.target(role)) {
            (true, Some(target)) => {
                side(role, target, spec.record_type, &mut errors, &mut warnings).map(Some)
            }
            (true, None) => {
                errors.add(
                    format!("spec.{role}"),
                    format!("required: manage is {:?}", spec.manage),
                );
                None
            }
            (false, Some(_)) => {
                errors.add(
                    format!("spec.{role}"),
                    format!(
                        "manage is {:?}: the {role} side belongs to another installation; remove spec.{role}",
                        spec.manage
                    ),
                );
                None
            }
            (false, None) => Some(None),
        };
    }
    let [primary, secondary] = sides;

    if let Some(Some(primary)) = &primary {
        let evaluates_target =
            matches!(&primary.target, SideTarget::Alias(a) if a.evaluate_target_health);
        if primary.health_check.is_none() && !evaluates_target {
            errors.add(
                "spec.primary.healthCheck",
                "required: Route 53 rejects a PRIMARY failover record without a health check unless it is an alias target with evaluateTargetHealth: true",
            );
        }
    }
    if let (Some(Some(p)), Some(Some(s))) = (&primary, &secondary)
        && p.set_identifier == s.set_identifier
    {
        errors.add(
            "spec.secondary.setIdentifier",
            format!(
                "must differ from the primary's set identifier ({:?})",
                p.set_identifier
            ),
        );
    }

    match (zone, name, primary, secondary) {
        (Some(zone), Some(name), Some(primary), Some(secondary)) if errors.0.is_empty() => {
            Ok(DesiredRecord {
                owner,
                zone,
                zone_role: spec.hosted_zone.role_arn.clone(),
                name,
                rr_type,
                ttl: spec.ttl,
                primary,
                secondary,
                retain_on_delete: spec.deletion_policy == crate::api::DeletionPolicy::Retain,
                adopt_existing: spec.adopt_existing,
                manual_failback: spec.failback == crate::api::Failback::Manual,
                latch: LatchWant::Keep,
                warnings,
            })
        }
        _ => Err(InvalidSpec(errors.0)),
    }
}

/// The zone selector of a hosted zone reference; shared with deletion, which
/// needs nothing else from the spec.
pub fn zone_selector_of(
    spec_zone: &crate::api::HostedZoneRef,
) -> Result<ZoneSelector, InvalidSpec> {
    match (&spec_zone.id, &spec_zone.name) {
        (Some(id), None) if !id.trim().is_empty() => {
            if spec_zone.private.is_some() {
                return Err(InvalidSpec::single(
                    "spec.hostedZone.private",
                    "only applies when the zone is selected by name",
                ));
            }
            Ok(ZoneSelector::Id(bare_zone_id(id.trim())))
        }
        (None, Some(name)) if !name.trim().is_empty() => Ok(ZoneSelector::Name {
            name: names::normalize(name.trim()),
            private: spec_zone.private,
        }),
        _ => Err(InvalidSpec::single(
            "spec.hostedZone",
            "set exactly one of hostedZone.id or hostedZone.name",
        )),
    }
}

fn zone_selector(spec: &FailoverRecordSpec, errors: &mut Errors) -> Option<ZoneSelector> {
    match zone_selector_of(&spec.hosted_zone) {
        Ok(zone) => Some(zone),
        Err(InvalidSpec(found)) => {
            errors.0.extend(found);
            None
        }
    }
}

/// The record name of a spec, or `None` when it is not one; for deletion,
/// which reads manifests leniently.
pub fn record_name_of(name: &str) -> Option<RecordName> {
    record_name(name, &mut Errors(Vec::new()))
}

fn record_name(name: &str, errors: &mut Errors) -> Option<RecordName> {
    let name = name.trim();
    if name.is_empty() {
        errors.add("spec.name", "must not be empty");
        return None;
    }
    if name == "@" {
        return Some(RecordName::Apex);
    }
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && (label == "*"
                || label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    };
    let without_dot = name.strip_suffix('.').unwrap_or(name);
    let labels: Vec<&str> = without_dot.split('.').collect();
    if !labels.iter().all(|l| label_ok(l)) || labels.iter().skip(1).any(|l| *l == "*") {
        errors.add(
            "spec.name",
            format!("{name:?} is not a valid DNS name: labels are 1-63 letters, digits, '-' or '_', and '*' may only be the first label"),
        );
        return None;
    }
    if labels.len() == 1 && !name.ends_with('.') {
        Some(RecordName::Relative(labels[0].to_ascii_lowercase()))
    } else if name.len() > crate::route53::names::MAX_NAME_LENGTH {
        errors.add("spec.name", "must be at most 253 characters");
        None
    } else {
        Some(RecordName::Absolute(names::normalize(name)))
    }
}

fn side(
    role: Failover,
    target: &Target,
    record_type: RecordType,
    errors: &mut Errors,
    warnings: &mut Vec<String>,
) -> Option<DesiredSide> {
    let path = format!("spec.{role}");
    let set_identifier = match &target.set_identifier {
        Some(id) if id.is_empty() || id.len() > 128 => {
            errors.add(
                format!("{path}.setIdentifier"),
                "must be 1 to 128 characters",
            );
            return None;
        }
        Some(id) => id.clone(),
        None => role.as_str().to_string(),
    };
    if target.service_ref.is_some() || target.ingress_ref.is_some() || target.gateway_ref.is_some()
    {
        // The controller replaces references with what they point at before
        // validating; anything else (the standalone CLI) cannot read them.
        errors.add(
            path.clone(),
            "serviceRef, ingressRef and gatewayRef need the controller running in the cluster; the standalone CLI takes addresses or alias",
        );
        return None;
    }
    let side_target = match (&target.addresses, &target.alias) {
        (Some(addresses), None) => {
            SideTarget::Values(values(&path, addresses, record_type, errors)?)
        }
        (None, Some(alias)) => {
            if record_type == RecordType::CNAME {
                errors.add(
                    format!("{path}.alias"),
                    "an alias target needs type A or AAAA",
                );
                return None;
            }
            let dns_name = names::normalize_host(&alias.dns_name);
            if let Some(problem) = names::dns_name_problem(&dns_name) {
                errors.add(
                    format!("{path}.alias.dnsName"),
                    format!(
                        "{:?} is not a valid DNS name: {problem} ({})",
                        alias.dns_name,
                        names::DNS_NAME_RULES
                    ),
                );
                return None;
            }
            let hosted_zone_id = bare_zone_id(&alias.hosted_zone_id);
            if hosted_zone_id == CLOUDFRONT_ZONE_ID && alias.evaluate_target_health {
                errors.add(
                    format!("{path}.alias.evaluateTargetHealth"),
                    CLOUDFRONT_EVALUATE_TARGET_HEALTH,
                );
                return None;
            }
            SideTarget::Alias(AliasTarget {
                dns_name,
                hosted_zone_id,
                evaluate_target_health: alias.evaluate_target_health,
            })
        }
        _ => {
            errors.add(path.clone(), "set exactly one of addresses or alias");
            return None;
        }
    };
    let health_check = match &target.health_check {
        Some(spec) => Some(health_check(&path, spec, &side_target, errors, warnings)?),
        None => None,
    };
    Some(DesiredSide {
        role,
        set_identifier,
        target: side_target,
        health_check,
    })
}

fn values(
    path: &str,
    addresses: &[String],
    record_type: RecordType,
    errors: &mut Errors,
) -> Option<Vec<String>> {
    let field = format!("{path}.addresses");
    if addresses.is_empty() {
        errors.add(field, "must hold at least one value");
        return None;
    }
    let mut out = Vec::with_capacity(addresses.len());
    for (i, address) in addresses.iter().enumerate() {
        let value = match record_type {
            RecordType::A => address
                .trim()
                .parse::<Ipv4Addr>()
                .map(|ip| ip.to_string())
                .ok(),
            RecordType::AAAA => address
                .trim()
                .parse::<Ipv6Addr>()
                .map(|ip| ip.to_string())
                .ok(),
            RecordType::CNAME => {
                let host = names::normalize_host(address.trim());
                if let Some(problem) = names::dns_name_problem(&host) {
                    errors.add(
                        format!("{field}[{i}]"),
                        format!(
                            "{address:?} is not a valid host name for type CNAME: {problem} ({})",
                            names::DNS_NAME_RULES
                        ),
                    );
                    return None;
                }
                host.parse::<IpAddr>().is_err().then_some(host)
            }
        };
        match value {
            Some(v) => out.push(v),
            None => {
                let expected = match record_type {
                    RecordType::A => "an IPv4 address for type A",
                    RecordType::AAAA => "an IPv6 address for type AAAA",
                    RecordType::CNAME => "a host name for type CNAME",
                };
                errors.add(
                    format!("{field}[{i}]"),
                    format!("{address:?} is not {expected}"),
                );
                return None;
            }
        }
    }
    if record_type == RecordType::CNAME && out.len() != 1 {
        errors.add(field, "a CNAME record holds exactly one host name");
        return None;
    }
    // The user's order is kept: the first address is the health check's
    // default, and output lists them as written. Comparisons sort.
    let mut seen = std::collections::HashSet::new();
    out.retain(|v| seen.insert(v.clone()));
    Some(out)
}

fn health_check(
    path: &str,
    spec: &HealthCheckSpec,
    target: &SideTarget,
    errors: &mut Errors,
    warnings: &mut Vec<String>,
) -> Option<HealthCheckConfig> {
    let path = format!("{path}.healthCheck");
    let http = matches!(spec.protocol, Protocol::HTTP | Protocol::HTTPS);
    let kind = match (spec.protocol, spec.search_string.is_some()) {
        (Protocol::HTTP, false) => HealthCheckKind::Http,
        (Protocol::HTTP, true) => HealthCheckKind::HttpStrMatch,
        (Protocol::HTTPS, false) => HealthCheckKind::Https,
        (Protocol::HTTPS, true) => HealthCheckKind::HttpsStrMatch,
        (Protocol::TCP, false) => HealthCheckKind::Tcp,
        (Protocol::TCP, true) => {
            errors.add(
                format!("{path}.searchString"),
                "needs protocol HTTP or HTTPS: a TCP check has no response body to search",
            );
            return None;
        }
    };
    if !http && (spec.path.is_some() || spec.host_name.is_some()) {
        errors.add(
            path.clone(),
            "path and hostName need protocol HTTP or HTTPS",
        );
        return None;
    }

    for (name, value) in [("fqdn", &spec.fqdn), ("hostName", &spec.host_name)] {
        if let Some(value) = value
            && let Some(problem) = names::dns_name_problem(value.trim())
        {
            errors.add(
                format!("{path}.{name}"),
                format!(
                    "{value:?} is not a valid DNS name: {problem} ({})",
                    names::DNS_NAME_RULES
                ),
            );
            return None;
        }
    }
    let (ip_address, fqdn) = match (&spec.ip_address, &spec.fqdn) {
        (Some(_), Some(_)) => {
            errors.add(path.clone(), "set at most one of ipAddress or fqdn");
            return None;
        }
        (Some(ip), None) => match ip.trim().parse::<IpAddr>() {
            Ok(ip) => (
                Some(ip.to_string()),
                spec.host_name.as_deref().map(names::normalize_host),
            ),
            Err(_) => {
                errors.add(
                    format!("{path}.ipAddress"),
                    format!("{ip:?} is not an IP address"),
                );
                return None;
            }
        },
        (None, Some(fqdn)) => (None, Some(names::normalize_host(fqdn))),
        (None, None) => match target {
            SideTarget::Values(values) => match values.first().map(|v| (v, v.parse::<IpAddr>())) {
                Some((ip, Ok(_))) => (
                    Some(ip.clone()),
                    spec.host_name.as_deref().map(names::normalize_host),
                ),
                Some((host, Err(_))) => (None, Some(host.clone())),
                None => {
                    errors.add(format!("{path}.ipAddress"), "no address to check");
                    return None;
                }
            },
            SideTarget::Alias(_) => {
                errors.add(
                    path.clone(),
                    "a health check on an alias target needs ipAddress or fqdn: there is no address to default to",
                );
                return None;
            }
        },
    };
    if let Some(ip) = ip_address
        .as_deref()
        .and_then(|ip| ip.parse::<IpAddr>().ok())
        && let Some(range) = unreachable_range(ip)
    {
        warnings.push(format!(
            "{path}: Route 53 cannot health-check {ip} ({range}); this only works against a Route 53 emulator"
        ));
    }

    let port = match (spec.port, spec.protocol) {
        (Some(port), _) if (1..=65535).contains(&port) => port,
        (Some(port), _) => {
            errors.add(
                format!("{path}.port"),
                format!("must be 1 to 65535, got {port}"),
            );
            return None;
        }
        (None, Protocol::HTTP) => 80,
        (None, Protocol::HTTPS) => 443,
        (None, Protocol::TCP) => {
            errors.add(format!("{path}.port"), "required for protocol TCP");
            return None;
        }
    };
    if ![10, 30].contains(&spec.request_interval) {
        errors.add(
            format!("{path}.requestInterval"),
            format!("must be 10 or 30, got {}", spec.request_interval),
        );
        return None;
    }
    if !(1..=10).contains(&spec.failure_threshold) {
        errors.add(
            format!("{path}.failureThreshold"),
            format!("must be 1 to 10, got {}", spec.failure_threshold),
        );
        return None;
    }
    let mut regions: Vec<String> = spec
        .regions
        .iter()
        .flatten()
        .map(|r| r.as_str().to_string())
        .collect();
    regions.sort();
    regions.dedup();
    if !regions.is_empty() && regions.len() < 3 {
        errors.add(
            format!("{path}.regions"),
            "list at least three regions, or none for all",
        );
        return None;
    }
    Some(HealthCheckConfig {
        kind: kind.clone(),
        ip_address,
        fqdn,
        port,
        resource_path: http.then(|| spec.path.clone().unwrap_or_else(|| "/".to_string())),
        search_string: spec.search_string.clone(),
        request_interval: spec.request_interval,
        failure_threshold: spec.failure_threshold,
        measure_latency: spec.measure_latency,
        inverted: spec.inverted,
        disabled: spec.disabled,
        enable_sni: kind.is_https() && spec.enable_sni.unwrap_or(true),
        regions: normalize_regions(regions),
        children: Vec::new(),
        health_threshold: 0,
    })
}

/// Ranges Route 53 health checkers refuse to check (RFC 5735, 6598, 5156).
fn unreachable_range(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if v4.is_private() {
                Some("a private address")
            } else if v4.is_loopback() {
                Some("a loopback address")
            } else if v4.is_link_local() {
                Some("a link-local address")
            } else if (o[0] == 192 && o[1] == 0 && o[2] == 2)
                || (o[0] == 198 && o[1] == 51 && o[2] == 100)
                || (o[0] == 203 && o[1] == 0 && o[2] == 113)
            {
                Some("a documentation range")
            } else if o[0] == 100 && (64..128).contains(&o[1]) {
                Some("shared address space")
            } else if v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast() || o[0] == 0 {
                Some("not a unicast address")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            if v6.is_loopback() || v6.is_unspecified() || v6.is_multicast() {
                Some("not a global unicast address")
            } else if s[0] == 0x2001 && s[1] == 0x0db8 {
                Some("a documentation range")
            } else if (s[0] & 0xfe00) == 0xfc00 || (s[0] & 0xffc0) == 0xfe80 {
                Some("a private or link-local address")
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests;
