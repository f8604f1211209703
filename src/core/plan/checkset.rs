//! This owner's health checks, indexed once per listing: by id, and by the
//! FailoverRecord their caller reference names. Planning one record looks its
//! checks up instead of scanning every check of the installation, so the
//! planner's cost per record stays flat however many records there are.

use std::collections::HashMap;

use crate::core::ownership::{self, Owner};
use crate::route53::{Failover, HealthCheck};

#[derive(Clone, Debug, Default)]
pub struct CheckSet {
    checks: Vec<HealthCheck>,
    by_id: HashMap<String, usize>,
    /// Caller-reference prefix of one FailoverRecord → its checks.
    by_resource: HashMap<String, Vec<usize>>,
}

impl CheckSet {
    pub fn new(checks: Vec<HealthCheck>) -> Self {
        let mut set = Self {
            checks,
            ..Self::default()
        };
        set.reindex();
        set
    }

    fn reindex(&mut self) {
        self.by_id.clear();
        self.by_resource.clear();
        for i in 0..self.checks.len() {
            self.index(i);
        }
    }

    fn index(&mut self, i: usize) {
        let check = &self.checks[i];
        self.by_id.insert(check.id.clone(), i);
        if let Some(prefix) = Owner::resource_part(&check.caller_reference) {
            self.by_resource
                .entry(prefix.to_string())
                .or_default()
                .push(i);
        }
    }

    pub fn get(&self, id: &str) -> Option<&HealthCheck> {
        self.by_id.get(id).map(|&i| &self.checks[i])
    }

    /// The checks `owner` created, with their roles.
    pub fn of(&self, owner: &Owner) -> Vec<(&HealthCheck, Failover)> {
        let prefix = owner.reference_prefix();
        self.by_resource
            .get(&prefix)
            .into_iter()
            .flatten()
            .filter_map(|&i| {
                let check = &self.checks[i];
                ownership::role_after_prefix(&check.caller_reference, &prefix)
                    .map(|role| (check, role))
            })
            .collect()
    }

    /// The failback latches `owner` created (one, unless a run was cut short).
    pub fn latches_of(&self, owner: &Owner) -> Vec<&HealthCheck> {
        let prefix = owner.reference_prefix();
        self.by_resource
            .get(&prefix)
            .into_iter()
            .flatten()
            .map(|&i| &self.checks[i])
            .filter(|c| ownership::is_latch_after_prefix(&c.caller_reference, &prefix))
            .collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = &HealthCheck> {
        self.checks.iter()
    }

    pub fn len(&self) -> usize {
        self.checks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.checks.is_empty()
    }

    /// Add a check, or replace the one with its id.
    pub fn upsert(&mut self, check: HealthCheck) {
        match self.by_id.get(&check.id) {
            Some(&i) => self.checks[i] = check,
            None => {
                self.checks.push(check);
                self.index(self.checks.len() - 1);
            }
        }
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut HealthCheck> {
        // The id and caller reference are not the caller's to change; only
        // the settings and version are.
        self.by_id.get(id).map(|&i| &mut self.checks[i])
    }

    /// Drop the checks with these ids.
    pub fn remove(&mut self, ids: &[String]) {
        if ids.iter().any(|id| self.by_id.contains_key(id)) {
            self.checks.retain(|c| !ids.contains(&c.id));
            self.reindex();
        }
    }
}

impl From<Vec<HealthCheck>> for CheckSet {
    fn from(checks: Vec<HealthCheck>) -> Self {
        Self::new(checks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route53::HealthCheckConfig;

    fn check(id: &str, owner: &Owner, role: Failover) -> HealthCheck {
        let config = HealthCheckConfig::http("198.51.100.1", 30);
        HealthCheck {
            id: id.into(),
            caller_reference: ownership::caller_reference(owner, role, &config, 0),
            config,
            version: 1,
        }
    }

    #[test]
    fn finds_a_records_checks_by_its_reference_and_stays_indexed_through_changes() {
        let web = Owner::new("o", "ns", "web");
        let api = Owner::new("o", "ns", "api");
        let mut set = CheckSet::new(vec![
            check("1", &web, Failover::Primary),
            check("2", &api, Failover::Primary),
            check("3", &web, Failover::Secondary),
        ]);
        let roles = |set: &CheckSet, owner: &Owner| {
            let mut found: Vec<(String, Failover)> = set
                .of(owner)
                .into_iter()
                .map(|(c, r)| (c.id.clone(), r))
                .collect();
            found.sort();
            found
        };
        assert_eq!(
            roles(&set, &web),
            vec![
                ("1".to_string(), Failover::Primary),
                ("3".to_string(), Failover::Secondary)
            ]
        );
        set.remove(&["1".to_string()]);
        set.upsert(check("4", &web, Failover::Primary));
        assert_eq!(
            roles(&set, &web),
            vec![
                ("3".to_string(), Failover::Secondary),
                ("4".to_string(), Failover::Primary)
            ]
        );
        assert_eq!(
            roles(&set, &api),
            vec![("2".to_string(), Failover::Primary)]
        );
        assert!(set.get("1").is_none());
        assert_eq!(set.get("4").map(|c| c.id.as_str()), Some("4"));
        assert_eq!(set.len(), 3);
    }
}
