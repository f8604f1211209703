//! What the controller knows about Route 53, shared by every reconcile.
//!
//! Each hosted zone is listed at most once per resync period, however many
//! FailoverRecords live in it: concurrent reconciles of one zone wait for the
//! same listing, and later ones reuse it. The controller's own successful
//! writes are applied to the cached snapshot in place (under a write lock,
//! never by copying the zone) instead of listing again; a failed write drops
//! the snapshot, so the retry sees Route 53 as it is.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use std::time::Duration;

use tokio::time::Instant;
use tracing::debug;

use crate::core::desired::ZoneSelector;
use crate::core::ownership::Owner;
use crate::core::plan::{CheckSet, Observed, RecordPlan, ZoneRecords};
use crate::engine::{Engine, ReconcileError};
use crate::route53::{
    self, Change, ChangeState, Failover, HealthCheck, Route53, Route53Error, Tags, Zone,
};

/// Change batches remembered before settled ones are forgotten.
const MAX_REMEMBERED_CHANGES: usize = 4096;

/// A cached value that readers borrow briefly (for planning, never across an
/// await) and that the controller's writes update in place.
pub type Shared<T> = Arc<RwLock<T>>;

struct Fresh<T> {
    value: Shared<T>,
    at: Instant,
}

type Slot<T> = Arc<tokio::sync::Mutex<Option<Fresh<T>>>>;
/// What was last learnt of a change batch, and when.
type ChangeSlot = Arc<tokio::sync::Mutex<Option<(ChangeState, Instant)>>>;

/// The account's health checks (the planner acts on this owner's only)
/// and the tags of this owner's.
#[derive(Clone, Debug, Default)]
pub struct Checks {
    pub checks: CheckSet,
    pub tags: BTreeMap<String, Tags>,
}

/// A zone's records and this owner's health checks, as cached now.
pub struct View {
    records: Option<Shared<ZoneRecords>>,
    checks: Shared<Checks>,
}

impl View {
    /// Run `f` on the planner's view of the cache, holding read locks only
    /// for its duration.
    pub fn with<T>(&self, f: impl FnOnce(Observed<'_>) -> T) -> T {
        let empty = ZoneRecords::default();
        let records = self.records.as_ref().map(|r| r.read());
        let checks = self.checks.read();
        f(Observed {
            records: records.as_deref().unwrap_or(&empty),
            health_checks: &checks.checks,
            tags: &checks.tags,
        })
    }
}

/// The shared cache.
pub struct Observer {
    max_age: Duration,
    zones: Mutex<HashMap<String, Slot<ZoneRecords>>>,
    selectors: Mutex<HashMap<ZoneSelector, Slot<Zone>>>,
    checks: Slot<Checks>,
    /// Tags of this owner's health checks; they outlive a re-listing.
    tags: Mutex<BTreeMap<String, Tags>>,
    /// Change batches and what was last learnt of them: INSYNC is final;
    /// PENDING is shared by every record of the batch until it is stale.
    changes: Mutex<HashMap<String, ChangeSlot>>,
}

impl Observer {
    pub fn new(max_age: Duration) -> Self {
        Self {
            max_age,
            zones: Mutex::new(HashMap::new()),
            selectors: Mutex::new(HashMap::new()),
            checks: Arc::default(),
            tags: Mutex::new(BTreeMap::new()),
            changes: Mutex::new(HashMap::new()),
        }
    }

    fn zone_slot(&self, zone_id: &str) -> Slot<ZoneRecords> {
        self.zones
            .lock()
            .entry(zone_id.to_string())
            .or_default()
            .clone()
    }

    fn fresh<T>(&self, entry: &Option<Fresh<T>>) -> Option<Shared<T>> {
        entry
            .as_ref()
            .filter(|f| f.at.elapsed() < self.max_age)
            .map(|f| f.value.clone())
    }

    /// The zone a selector names, resolved at most once per period (and
    /// once, not once per reconcile, when many ask together).
    pub async fn zone<R: Route53>(
        &self,
        engine: &Engine<R>,
        selector: &ZoneSelector,
    ) -> Result<Zone, ReconcileError> {
        let slot = self
            .selectors
            .lock()
            .entry(selector.clone())
            .or_default()
            .clone();
        let mut entry = slot.lock().await;
        if let Some(zone) = self.fresh(&entry) {
            return Ok(zone.read().clone());
        }
        let zone = engine.resolve_zone(selector).await?;
        *entry = Some(Fresh {
            value: Arc::new(RwLock::new(zone.clone())),
            at: Instant::now(),
        });
        Ok(zone)
    }

    /// The state of a change batch, asking Route 53 only when nothing recent
    /// is known: INSYNC is terminal, and one answer serves every record of the
    /// batch for `max_staleness`.
    pub async fn change<R: Route53>(
        &self,
        engine: &Engine<R>,
        id: &str,
        max_staleness: Duration,
    ) -> Result<ChangeState, Route53Error> {
        let slot = {
            let mut changes = self.changes.lock();
            if changes.len() > MAX_REMEMBERED_CHANGES {
                // Forget settled changes no reconcile is asking about.
                changes.retain(|_, slot| {
                    Arc::strong_count(slot) > 1
                        || slot.try_lock().map_or(true, |known| {
                            known.is_none_or(|(state, _)| state != ChangeState::InSync)
                        })
                });
            }
            changes.entry(id.to_string()).or_default().clone()
        };
        // Records of one batch ask together; one of them asks Route 53.
        let mut known = slot.lock().await;
        if let Some((state, at)) = *known
            && (state == ChangeState::InSync || at.elapsed() < max_staleness)
        {
            return Ok(state);
        }
        let state = match engine.route53().get_change(id).await {
            Ok(info) => info.status,
            // Route 53 forgets changes after a while; they were INSYNC long before.
            Err(e) if e.kind == crate::route53::ErrorKind::NotFound => ChangeState::InSync,
            Err(e) => return Err(e),
        };
        *known = Some((state, Instant::now()));
        Ok(state)
    }

    /// The zone's records (none when `zone_id` is `None`) and this owner's
    /// health checks.
    pub async fn view<R: Route53>(
        &self,
        engine: &Engine<R>,
        zone_id: Option<&str>,
    ) -> Result<View, Route53Error> {
        let records = match zone_id {
            Some(id) => Some(self.records(engine, id).await?),
            None => None,
        };
        Ok(View {
            records,
            checks: self.checks(engine).await?,
        })
    }

    /// The zone's record sets, listed at most once per period.
    async fn records<R: Route53>(
        &self,
        engine: &Engine<R>,
        zone_id: &str,
    ) -> Result<Shared<ZoneRecords>, Route53Error> {
        let slot = self.zone_slot(zone_id);
        let mut entry = slot.lock().await;
        if let Some(records) = self.fresh(&entry) {
            return Ok(records);
        }
        let listed = route53::list_all_record_sets(engine.route53(), zone_id).await?;
        let records = Arc::new(RwLock::new(ZoneRecords::new(listed)));
        *entry = Some(Fresh {
            value: records.clone(),
            at: Instant::now(),
        });
        Ok(records)
    }

    /// This owner's health checks and their tags, listed at most once per
    /// period. Tags are read only for checks not seen before, and a failure
    /// to read them is not a failure to observe: they only decide re-tagging,
    /// and are read again at the next refresh.
    async fn checks<R: Route53>(&self, engine: &Engine<R>) -> Result<Shared<Checks>, Route53Error> {
        let mut entry = self.checks.lock().await;
        if let Some(checks) = self.fresh(&entry) {
            return Ok(checks);
        }
        let prefix = Owner::owner_id_prefix(engine.owner_id());
        let checks: Vec<HealthCheck> = route53::list_all_health_checks(engine.route53()).await?;
        let ids: HashSet<&str> = checks
            .iter()
            .filter(|c| c.caller_reference.starts_with(&prefix))
            .map(|c| c.id.as_str())
            .collect();
        let unknown: Vec<String> = {
            let mut known = self.tags.lock();
            known.retain(|id, _| ids.contains(id.as_str()));
            ids.iter()
                .filter(|id| !known.contains_key(**id))
                .map(|id| id.to_string())
                .collect()
        };
        for chunk in unknown.chunks(route53::TAGS_PER_REQUEST) {
            match engine.route53().list_health_check_tags(chunk).await {
                Ok(tags) => self.tags.lock().extend(tags),
                Err(e) => {
                    debug!(error = %e, "health-check tags not read; trying again at the next refresh");
                    break;
                }
            }
        }
        let tags = self.tags.lock().clone();
        let value = Arc::new(RwLock::new(Checks {
            checks: CheckSet::new(checks),
            tags,
        }));
        *entry = Some(Fresh {
            value: value.clone(),
            at: Instant::now(),
        });
        Ok(value)
    }

    /// Before health checks are deleted: keep those a record set uses in any
    /// zone this owner has record sets in (its checks' hosted-zone tags say
    /// which; each listed at most once per period, like any zone), not only
    /// in the plan's own zone.
    pub async fn keep_checks_in_use<R: Route53>(
        &self,
        engine: &Engine<R>,
        plans: &mut [RecordPlan],
    ) -> Result<(), Route53Error> {
        if plans.iter().all(|p| p.delete_checks.is_empty()) {
            return Ok(());
        }
        let checks = self.checks(engine).await?;
        let mut zone_ids: Vec<String> = checks
            .read()
            .tags
            .values()
            .filter_map(crate::core::ownership::zone_of)
            .map(str::to_string)
            .chain(plans.iter().map(|p| p.zone_id.clone()))
            .filter(|z| !z.is_empty())
            .collect();
        zone_ids.sort();
        zone_ids.dedup();
        let mut zones = Vec::new();
        let mut unreadable = Vec::new();
        for zone_id in zone_ids {
            match self.records(engine, &zone_id).await {
                Ok(records) => zones.push((zone_id, records)),
                Err(e) if e.kind == crate::route53::ErrorKind::NotFound => {}
                Err(e) if e.kind == crate::route53::ErrorKind::AccessDenied => {
                    unreadable.push(format!("{zone_id} ({})", e.message));
                }
                Err(e) => return Err(e),
            }
        }
        let guards: Vec<_> = zones
            .iter()
            .map(|(id, z)| (id.as_str(), z.read()))
            .collect();
        let views: Vec<(&str, &ZoneRecords)> = guards.iter().map(|(id, g)| (*id, &**g)).collect();
        crate::core::plan::keep_checks_in_use(plans, &views, &unreadable);
        Ok(())
    }

    /// Apply a change batch Route 53 accepted to the cached zone.
    pub async fn changes_applied(&self, zone_id: &str, changes: &[Change]) {
        let slot = self.zone_slot(zone_id);
        let entry = slot.lock().await;
        if let Some(fresh) = entry.as_ref() {
            fresh.value.write().apply_changes(changes);
        }
    }

    /// Bring the cached health checks up to date with what a plan's steps did.
    pub async fn checks_changed(
        &self,
        plan: &RecordPlan,
        created: &BTreeMap<Failover, HealthCheck>,
        deleted: &[String],
    ) {
        let entry = self.checks.lock().await;
        let Some(fresh) = entry.as_ref() else { return };
        let mut view = fresh.value.write();
        // The lasting copy of the tags is kept in step change by change, not
        // copied whole: a copy per write made applying N records cost N²
        // (200 s of CPU for 10,000 records in the cluster benchmark).
        let mut known = self.tags.lock();
        for create in &plan.create_checks {
            if let Some(check) = created.get(&create.role) {
                view.checks.upsert(check.clone());
                view.tags.insert(check.id.clone(), create.tags.clone());
                known.insert(check.id.clone(), create.tags.clone());
            }
        }
        for update in &plan.update_checks {
            if let Some(check) = view.checks.get_mut(&update.id) {
                check.config = update.update.config.clone();
                check.version += 1;
            }
        }
        for retag in &plan.retag_checks {
            for tags in [&mut view.tags, &mut *known] {
                tags.entry(retag.id.clone())
                    .or_default()
                    .extend(retag.add.clone());
            }
        }
        if !deleted.is_empty() {
            view.checks.remove(deleted);
            for id in deleted {
                view.tags.remove(id);
                known.remove(id);
            }
        }
    }

    /// A check Route 53 now holds as `check` (the failback latch, created or
    /// updated). Its tags are the plan's; they are read back at the next
    /// refresh.
    pub async fn check_written(&self, check: &HealthCheck) {
        let entry = self.checks.lock().await;
        if let Some(fresh) = entry.as_ref() {
            fresh.value.write().checks.upsert(check.clone());
        }
    }

    /// Forget the zone: the next reconcile lists it again.
    pub async fn invalidate_zone(&self, zone_id: &str) {
        *self.zone_slot(zone_id).lock().await = None;
    }

    /// Forget the health checks: the next reconcile lists them again.
    pub async fn invalidate_checks(&self) {
        *self.checks.lock().await = None;
    }

    /// Forget everything, for a resync that must see Route 53 as it is.
    pub async fn invalidate_all(&self) {
        let slots: Vec<Slot<ZoneRecords>> = self.zones.lock().values().cloned().collect();
        for slot in slots {
            *slot.lock().await = None;
        }
        let selectors: Vec<Slot<Zone>> = self.selectors.lock().values().cloned().collect();
        for slot in selectors {
            *slot.lock().await = None;
        }
        self.tags.lock().clear();
        self.invalidate_checks().await;
    }
}
