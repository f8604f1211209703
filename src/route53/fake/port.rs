//! The port's requests, answered from the in-memory state as Route 53
//! answers them.

use std::collections::BTreeMap;

use super::changes::{apply_batch, describe};
use super::{
    CHECKERS, FakeRoute53, HEALTH_CHECK_PAGE_SIZE, RECORD_PAGE_SIZE, observations, sort_key,
};
use crate::route53::{
    Change, ChangeInfo, ChangeState, ErrorKind, HealthCheck, HealthCheckConfig, HealthCheckKind,
    HealthCheckUpdate, HealthObservation, Operation, Page, RecordCursor, RecordKey, RecordSet,
    ResettableElement, Result, Route53, Route53Error, RrType, TAGS_PER_REQUEST, Tags, Zone, names,
};

impl Route53 for FakeRoute53 {
    async fn get_hosted_zone(&self, id: &str) -> Result<Zone> {
        self.call(Operation::GetHostedZone, |state| {
            state
                .zones
                .get(&crate::route53::bare_zone_id(id))
                .map(|z| z.zone.clone())
                .ok_or_else(|| {
                    Route53Error::new(
                        Operation::GetHostedZone,
                        ErrorKind::NotFound,
                        format!("No hosted zone found with ID: {id}"),
                    )
                    .with_code("NoSuchHostedZone")
                })
        })
    }

    async fn list_hosted_zones_page(&self, marker: Option<&str>) -> Result<Page<Zone, String>> {
        self.call(Operation::ListHostedZones, |state| {
            // Route 53 pages by zone id here; one page of up to 100.
            let mut zones: Vec<Zone> = state
                .zones
                .values()
                .map(|z| z.zone.clone())
                .filter(|z| marker.is_none_or(|m| z.id.as_str() >= m))
                .collect();
            zones.sort_by(|a, b| a.id.cmp(&b.id));
            let next = zones.get(100).map(|z| z.id.clone());
            zones.truncate(100);
            Ok(Page { items: zones, next })
        })
    }

    async fn list_hosted_zones_by_name(&self, name: &str) -> Result<Vec<Zone>> {
        let name = names::normalize(name);
        self.call(Operation::ListHostedZonesByName, |state| {
            Ok(state
                .zones
                .values()
                .filter(|z| z.zone.name == name)
                // Route 53 lists zones without their delegation sets.
                .map(|z| Zone {
                    name_servers: Vec::new(),
                    ..z.zone.clone()
                })
                .collect())
        })
    }

    async fn list_record_sets_page(
        &self,
        zone_id: &str,
        start: Option<&RecordCursor>,
    ) -> Result<Page<RecordSet, RecordCursor>> {
        self.call(Operation::ListResourceRecordSets, |state| {
            let zone = state.zones.get(zone_id).ok_or_else(|| {
                Route53Error::new(
                    Operation::ListResourceRecordSets,
                    ErrorKind::NotFound,
                    format!("No hosted zone found with ID: {zone_id}"),
                )
                .with_code("NoSuchHostedZone")
            })?;
            let from = start.map(|c| {
                sort_key(&RecordKey {
                    name: names::normalize(&c.name),
                    rr_type: RrType::parse(&c.rr_type),
                    set_identifier: c.set_identifier.clone(),
                })
            });
            let mut iter = zone
                .records
                .iter()
                .filter(|(k, _)| from.as_ref().is_none_or(|f| *k >= f))
                .map(|(_, r)| r);
            let items: Vec<RecordSet> = iter.by_ref().take(RECORD_PAGE_SIZE).cloned().collect();
            let next = iter.next().map(|r| RecordCursor {
                name: r.name.clone(),
                rr_type: r.rr_type.as_str().to_string(),
                set_identifier: r.set_identifier.clone(),
            });
            Ok(Page { items, next })
        })
    }

    async fn change_record_sets(&self, zone_id: &str, changes: &[Change]) -> Result<ChangeInfo> {
        self.call(Operation::ChangeResourceRecordSets, |state| {
            apply_batch(state, zone_id, changes)
        })
    }

    async fn get_change(&self, id: &str) -> Result<ChangeInfo> {
        self.call(Operation::GetChange, |state| {
            let polls = state.changes.get_mut(id).ok_or_else(|| {
                Route53Error::new(
                    Operation::GetChange,
                    ErrorKind::NotFound,
                    format!("No change found with ID: {id}"),
                )
                .with_code("NoSuchChange")
            })?;
            let status = if *polls == 0 {
                ChangeState::InSync
            } else {
                *polls -= 1;
                ChangeState::Pending
            };
            Ok(ChangeInfo {
                id: id.to_string(),
                status,
            })
        })
    }

    async fn list_health_checks_page(
        &self,
        marker: Option<&str>,
    ) -> Result<Page<HealthCheck, String>> {
        self.call(Operation::ListHealthChecks, |state| {
            let mut iter = state
                .checks
                .iter()
                .filter(|(id, _)| marker.is_none_or(|m| id.as_str() >= m))
                .map(|(_, c)| c);
            let items: Vec<HealthCheck> = iter
                .by_ref()
                .take(HEALTH_CHECK_PAGE_SIZE)
                .cloned()
                .collect();
            let next = iter.next().map(|c| c.id.clone());
            Ok(Page { items, next })
        })
    }

    async fn create_health_check(
        &self,
        caller_reference: &str,
        config: &HealthCheckConfig,
    ) -> Result<HealthCheck> {
        self.call(Operation::CreateHealthCheck, |state| {
            let exists = || {
                Route53Error::new(
                    Operation::CreateHealthCheck,
                    ErrorKind::AlreadyExists,
                    format!("A health check with the caller reference {caller_reference} already exists, or existed and was deleted, with different settings"),
                )
                .with_code("HealthCheckAlreadyExists")
            };
            if state.deleted_references.contains(caller_reference) {
                return Err(exists());
            }
            if let Some(existing) = state.checks.values().find(|c| c.caller_reference == caller_reference) {
                return if &existing.config == config { Ok(existing.clone()) } else { Err(exists()) };
            }
            if let Some(child) = config.children.iter().find(|c| !state.checks.contains_key(*c)) {
                return Err(Route53Error::new(Operation::CreateHealthCheck, ErrorKind::InvalidInput, format!("child health check {child} does not exist"))
                    .with_code("InvalidInput"));
            }
            if state.checks.len() >= state.max_health_checks {
                return Err(Route53Error::new(Operation::CreateHealthCheck, ErrorKind::LimitExceeded, "This AWS account has reached the limit on the number of health checks")
                    .with_code("TooManyHealthChecks"));
            }
            let id = format!("{:08x}-0000-4000-8000-{:012x}", state.next_id, state.next_id);
            state.next_id += 1;
            let check = HealthCheck {
                id: id.clone(),
                caller_reference: caller_reference.to_string(),
                version: 1,
                config: config.clone(),
            };
            state.checks.insert(id.clone(), check.clone());
            state.health.insert(id, observations(CHECKERS, CHECKERS));
            Ok(check)
        })
    }

    async fn update_health_check(
        &self,
        id: &str,
        update: &HealthCheckUpdate,
    ) -> Result<HealthCheck> {
        self.call(Operation::UpdateHealthCheck, |state| {
            let check = state.checks.get_mut(id).ok_or_else(|| not_found_check(Operation::UpdateHealthCheck, id))?;
            if check.version != update.version {
                return Err(Route53Error::new(
                    Operation::UpdateHealthCheck,
                    ErrorKind::VersionMismatch,
                    format!("The value of HealthCheckVersion ({}) does not match the current version ({})", update.version, check.version),
                )
                .with_code("HealthCheckVersionMismatch"));
            }
            if check.config.immutable_part() != update.config.immutable_part() {
                return Err(Route53Error::new(Operation::UpdateHealthCheck, ErrorKind::InvalidInput, "Type, RequestInterval, MeasureLatency and the IP-or-domain choice cannot be changed")
                    .with_code("InvalidInput"));
            }
            let mut config = update.config.clone();
            for reset in &update.reset {
                match reset {
                    ResettableElement::FullyQualifiedDomainName => config.fqdn = None,
                    ResettableElement::Regions => config.regions.clear(),
                    ResettableElement::ResourcePath => config.resource_path = None,
                }
            }
            check.config = config;
            check.version += 1;
            Ok(check.clone())
        })
    }

    async fn delete_health_check(&self, id: &str) -> Result<()> {
        self.call(Operation::DeleteHealthCheck, |state| {
            if !state.checks.contains_key(id) {
                return Err(not_found_check(Operation::DeleteHealthCheck, id));
            }
            let in_use = state
                .zones
                .values()
                .flat_map(|z| z.records.values())
                .find(|r| r.health_check_id.as_deref() == Some(id));
            if let Some(record) = in_use {
                return Err(Route53Error::new(
                    Operation::DeleteHealthCheck,
                    ErrorKind::InUse,
                    format!("The health check with id {id} is still referenced from resource record set {}", describe(&record.key())),
                )
                .with_code("HealthCheckInUse"));
            }
            // Route 53 refuses to delete a check a calculated check counts.
            if let Some(parent) = state.checks.values().find(|c| c.config.children.iter().any(|child| child == id)) {
                return Err(Route53Error::new(
                    Operation::DeleteHealthCheck,
                    ErrorKind::InUse,
                    format!("The health check with id {id} is a child of calculated health check {}", parent.id),
                )
                .with_code("HealthCheckInUse"));
            }
            if let Some(check) = state.checks.remove(id) {
                state.deleted_references.insert(check.caller_reference);
            }
            state.tags.remove(id);
            state.health.remove(id);
            Ok(())
        })
    }

    async fn get_health_check_status(&self, id: &str) -> Result<Vec<HealthObservation>> {
        self.call(Operation::GetHealthCheckStatus, |state| {
            if state.checks.get(id).is_some_and(|c| c.config.kind == HealthCheckKind::Calculated) {
                return Err(Route53Error::new(Operation::GetHealthCheckStatus, ErrorKind::InvalidInput, "You can't use GetHealthCheckStatus to get the status of a calculated health check")
                    .with_code("InvalidInput"));
            }
            if !state.checks.contains_key(id) {
                return Err(not_found_check(Operation::GetHealthCheckStatus, id));
            }
            Ok(state.health.get(id).cloned().unwrap_or_default())
        })
    }

    async fn list_health_check_tags(&self, ids: &[String]) -> Result<BTreeMap<String, Tags>> {
        self.call(Operation::ListTagsForResources, |state| {
            if ids.len() > TAGS_PER_REQUEST {
                return Err(Route53Error::new(
                    Operation::ListTagsForResources,
                    ErrorKind::InvalidInput,
                    "at most 10 resource ids per request",
                ));
            }
            ids.iter()
                .map(|id| {
                    if state.checks.contains_key(id) {
                        Ok((id.clone(), state.tags.get(id).cloned().unwrap_or_default()))
                    } else {
                        Err(not_found_check(Operation::ListTagsForResources, id))
                    }
                })
                .collect()
        })
    }

    async fn change_health_check_tags(
        &self,
        id: &str,
        add: &Tags,
        remove: &[String],
    ) -> Result<()> {
        self.call(Operation::ChangeTagsForResource, |state| {
            if !state.checks.contains_key(id) {
                return Err(not_found_check(Operation::ChangeTagsForResource, id));
            }
            let tags = state.tags.entry(id.to_string()).or_default();
            for key in remove {
                tags.remove(key);
            }
            tags.extend(add.iter().map(|(k, v)| (k.clone(), v.clone())));
            Ok(())
        })
    }
}

pub(super) fn not_found_check(op: Operation, id: &str) -> Route53Error {
    Route53Error::new(
        op,
        ErrorKind::NotFound,
        format!("No health check exists with the specified ID {id}"),
    )
    .with_code("NoSuchHealthCheck")
}
