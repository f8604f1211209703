//! Several AWS accounts behind one port. Hosted zones often live in a
//! central DNS account, reached by assuming a role there; health checks live
//! in the account of the zone whose records use them. [`Routed`] keeps one
//! port per role, made on first use (its client caches the role's
//! credentials until shortly before they expire), and one request budget per
//! account: Route 53 throttles per account, so two roles of one account share
//! a budget and two accounts never slow each other down.
//!
//! Each request goes to the account it concerns: a zone's requests to the
//! role its FailoverRecord names (`hostedZone.roleArn`, else the
//! installation's zone-to-role map, else the process's own credentials);
//! a health check's to the account it was found or created in; the account's
//! listings (checks, zones) to every account, merged. The callers say which
//! FailoverRecord goes where with [`Route53::route`] before planning it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use parking_lot::Mutex;

use super::limiter::RateLimiter;
use super::resilient::{Observer, Resilient};
use super::{
    Backoff, CallStats, Change, ChangeInfo, ErrorKind, HealthCheck, HealthCheckConfig,
    HealthCheckUpdate, HealthObservation, Page, RateBudget, RecordCursor, RecordSet, Result, Route,
    Route53, Tags, Zone, bare_zone_id, names,
};

/// Makes the port of a role (`None`: the process's own credentials).
pub type Connect<R> =
    Arc<dyn Fn(Option<String>) -> Pin<Box<dyn Future<Output = R> + Send>> + Send + Sync>;

/// The account of a role ARN (`arn:aws:iam::123456789012:role/dns`), if it
/// is one.
pub fn account_of(role_arn: &str) -> Option<&str> {
    let mut parts = role_arn.split(':');
    let (arn, _partition, service, _region, account) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let resource = parts.next()?;
    (arn == "arn"
        && service == "iam"
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && resource.starts_with("role/"))
    .then_some(account)
}

/// How a zone is known in routes: its bare id, or its normalised name.
pub fn zone_key(zone: &str) -> String {
    let zone = zone.trim();
    if zone.contains('.') {
        names::normalize(zone)
    } else {
        bare_zone_id(zone)
    }
}

type Role = Option<String>;

/// What was learnt of where things live.
#[derive(Default)]
struct Routes {
    /// Zone key (id or name) → role.
    zones: HashMap<String, Role>,
    /// Caller-reference prefix of a FailoverRecord → role.
    resources: HashMap<String, Role>,
    /// Health check id → role.
    checks: HashMap<String, Role>,
    /// Change batch id → role.
    changes: HashMap<String, Role>,
    /// Every role in use; `None` always.
    roles: BTreeSet<Role>,
}

struct Shared<R> {
    budget: RateBudget,
    backoff: Backoff,
    connect: Connect<R>,
    stats: CallStats,
    observer: Option<Observer>,
    /// The installation's zone-to-role map, by zone key.
    zone_roles: HashMap<String, String>,
    limiters: Mutex<HashMap<String, Arc<RateLimiter>>>,
    ports: tokio::sync::Mutex<BTreeMap<Role, Resilient<R>>>,
    routes: Mutex<Routes>,
}

/// A port over one or more AWS accounts.
pub struct Routed<R> {
    shared: Arc<Shared<R>>,
}

impl<R> Clone for Routed<R> {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

/// Change batches remembered for routing GetChange; older ones are asked
/// of every account.
const MAX_REMEMBERED_CHANGES: usize = 4096;

impl<R: Route53 + Clone + 'static> Routed<R> {
    /// `zone_roles`: zone id or name → role ARN. Each role's port retries
    /// on `backoff`, within `budget` for its account.
    pub fn new(
        budget: RateBudget,
        backoff: Backoff,
        zone_roles: impl IntoIterator<Item = (String, String)>,
        connect: Connect<R>,
    ) -> Self {
        let zone_roles: HashMap<String, String> = zone_roles
            .into_iter()
            .map(|(zone, role)| (zone_key(&zone), role))
            .collect();
        let mut routes = Routes::default();
        routes.roles.insert(None);
        routes.roles.extend(zone_roles.values().cloned().map(Some));
        Self {
            shared: Arc::new(Shared {
                budget,
                backoff,
                connect,
                stats: CallStats::default(),
                observer: None,
                zone_roles,
                limiters: Mutex::new(HashMap::new()),
                ports: tokio::sync::Mutex::new(BTreeMap::new()),
                routes: Mutex::new(routes),
            }),
        }
    }

    /// Told of every request of every account (metrics). Set before use.
    pub fn with_observer(self, observer: Observer) -> Self {
        match Arc::try_unwrap(self.shared) {
            Ok(mut shared) => {
                shared.observer = Some(observer);
                Self {
                    shared: Arc::new(shared),
                }
            }
            Err(shared) => Self { shared },
        }
    }

    /// The port of a role, behind its account's budget and the retries.
    pub async fn port(&self, role: &Role) -> Resilient<R> {
        let mut ports = self.shared.ports.lock().await;
        if let Some(port) = ports.get(role) {
            return port.clone();
        }
        let account = match role {
            Some(arn) => account_of(arn).unwrap_or(arn).to_string(),
            None => String::new(),
        };
        let limiter = self
            .shared
            .limiters
            .lock()
            .entry(account)
            .or_insert_with(|| Arc::new(RateLimiter::new(self.shared.budget)))
            .clone();
        let inner = (self.shared.connect)(role.clone()).await;
        let mut port = Resilient::sharing(
            inner,
            limiter,
            self.shared.backoff,
            self.shared.stats.clone(),
        );
        if let Some(observer) = &self.shared.observer {
            port = port.with_observer(observer.clone());
        }
        ports.insert(role.clone(), port.clone());
        self.shared.routes.lock().roles.insert(role.clone());
        port
    }

    fn routes(&self) -> parking_lot::MutexGuard<'_, Routes> {
        self.shared.routes.lock()
    }

    /// The role of a zone, if its id or name was routed or learnt.
    fn role_of_zone(&self, zone: &str) -> Option<Role> {
        let key = zone_key(zone);
        let known = self.routes().zones.get(&key).cloned();
        known.or_else(|| self.shared.zone_roles.get(&key).cloned().map(Some))
    }

    /// A request about a zone, to its account; a zone id not routed yet
    /// (say, read from a status before this process resolved its name) is
    /// looked for in each account, and remembered.
    async fn by_zone<T, F, Fut>(&self, zone: &str, mut ask: F) -> Result<T>
    where
        F: FnMut(Resilient<R>) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        if let Some(role) = self.role_of_zone(zone) {
            return ask(self.port(&role).await).await;
        }
        let mut last = None;
        for role in self.roles() {
            match ask(self.port(&role).await).await {
                Err(e) if e.kind == ErrorKind::NotFound => last = Some(e),
                other => {
                    self.routes().zones.insert(zone_key(zone), role);
                    return other;
                }
            }
        }
        Err(last.unwrap_or_else(|| {
            super::Route53Error::new(
                super::Operation::GetHostedZone,
                ErrorKind::NotFound,
                format!("No hosted zone found with ID: {zone}"),
            )
        }))
    }

    fn learn_zones(&self, role: &Role, zones: &[Zone]) {
        let mut routes = self.routes();
        for zone in zones {
            routes.zones.insert(zone.id.clone(), role.clone());
        }
    }

    fn learn_check(&self, role: &Role, id: &str) {
        self.routes().checks.insert(id.to_string(), role.clone());
    }

    fn learn_change(&self, role: &Role, id: &str) {
        let mut routes = self.routes();
        if routes.changes.len() >= MAX_REMEMBERED_CHANGES {
            routes.changes.clear();
        }
        routes.changes.insert(id.to_string(), role.clone());
    }

    fn roles(&self) -> Vec<Role> {
        self.routes().roles.iter().cloned().collect()
    }

    /// Ask the account known to hold `id`; if none is known, each in turn
    /// until one does not answer "not found".
    async fn by_id<T, F, Fut>(&self, known: Option<Role>, mut ask: F) -> Result<T>
    where
        F: FnMut(Resilient<R>) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        if let Some(role) = known {
            return ask(self.port(&role).await).await;
        }
        let mut last = None;
        for role in self.roles() {
            match ask(self.port(&role).await).await {
                Err(e) if e.kind == ErrorKind::NotFound => last = Some(e),
                other => return other,
            }
        }
        Err(last.unwrap_or_else(|| {
            super::Route53Error::new(
                super::Operation::GetChange,
                ErrorKind::NotFound,
                "no account to ask",
            )
        }))
    }

    /// One page of a listing that spans every account: the marker says
    /// which account and where in it (`<index>|<its marker>`). Returns the
    /// page and the role of the account it came from, to learn what is there.
    async fn across<T, F, Fut>(
        &self,
        marker: Option<&str>,
        mut list: F,
    ) -> Result<(Page<T, String>, Option<Role>)>
    where
        F: FnMut(Resilient<R>, Option<String>) -> Fut,
        Fut: Future<Output = Result<Page<T, String>>>,
    {
        let roles = self.roles();
        let (index, inner) = match marker.and_then(|m| m.split_once('|')) {
            Some((i, rest)) => (
                i.parse::<usize>().unwrap_or(0),
                (!rest.is_empty()).then(|| rest.to_string()),
            ),
            None => (0, None),
        };
        let Some(role) = roles.get(index) else {
            return Ok((
                Page {
                    items: Vec::new(),
                    next: None,
                },
                None,
            ));
        };
        let page = list(self.port(role).await, inner).await?;
        let next = match page.next {
            Some(next) => Some(format!("{index}|{next}")),
            None if index + 1 < roles.len() => Some(format!("{}|", index + 1)),
            None => None,
        };
        Ok((
            Page {
                items: page.items,
                next,
            },
            Some(role.clone()),
        ))
    }
}

impl<R> super::Counted for Routed<R> {
    /// Requests of every account, counted together.
    fn stats(&self) -> &CallStats {
        &self.shared.stats
    }
}

impl<R: Route53 + Clone + 'static> Route53 for Routed<R> {
    fn route(&self, route: &Route) -> bool {
        let key = zone_key(&route.zone);
        let role = route
            .role
            .clone()
            .or_else(|| self.shared.zone_roles.get(&key).cloned());
        let mut routes = self.routes();
        routes.zones.insert(key, role.clone());
        routes
            .resources
            .insert(route.resource_prefix.clone(), role.clone());
        routes.roles.insert(role)
    }

    async fn get_hosted_zone(&self, id: &str) -> Result<Zone> {
        self.by_zone(id, |port| async move { port.get_hosted_zone(id).await })
            .await
    }

    async fn list_hosted_zones_page(&self, marker: Option<&str>) -> Result<Page<Zone, String>> {
        let (page, role) = self
            .across(marker, |port, inner| async move {
                port.list_hosted_zones_page(inner.as_deref()).await
            })
            .await?;
        if let Some(role) = role {
            self.learn_zones(&role, &page.items);
        }
        Ok(page)
    }

    async fn list_hosted_zones_by_name(&self, name: &str) -> Result<Vec<Zone>> {
        let role = self.role_of_zone(name).unwrap_or_default();
        let zones = self
            .port(&role)
            .await
            .list_hosted_zones_by_name(name)
            .await?;
        self.learn_zones(&role, &zones);
        Ok(zones)
    }

    async fn list_record_sets_page(
        &self,
        zone_id: &str,
        start: Option<&RecordCursor>,
    ) -> Result<Page<RecordSet, RecordCursor>> {
        self.by_zone(zone_id, |port| async move {
            port.list_record_sets_page(zone_id, start).await
        })
        .await
    }

    async fn change_record_sets(&self, zone_id: &str, changes: &[Change]) -> Result<ChangeInfo> {
        let info = self
            .by_zone(zone_id, |port| async move {
                port.change_record_sets(zone_id, changes).await
            })
            .await?;
        let role = self.role_of_zone(zone_id).unwrap_or_default();
        self.learn_change(&role, &info.id);
        Ok(info)
    }

    async fn get_change(&self, id: &str) -> Result<ChangeInfo> {
        let known = self.routes().changes.get(id).cloned();
        self.by_id(known, |port| async move { port.get_change(id).await })
            .await
    }

    async fn list_health_checks_page(
        &self,
        marker: Option<&str>,
    ) -> Result<Page<HealthCheck, String>> {
        let (page, role) = self
            .across(marker, |port, inner| async move {
                port.list_health_checks_page(inner.as_deref()).await
            })
            .await?;
        if let Some(role) = role {
            for check in &page.items {
                self.learn_check(&role, &check.id);
            }
        }
        Ok(page)
    }

    async fn create_health_check(
        &self,
        caller_reference: &str,
        config: &HealthCheckConfig,
    ) -> Result<HealthCheck> {
        let prefix: String = caller_reference
            .split_inclusive('-')
            .take(3)
            .collect::<String>();
        let role = self
            .routes()
            .resources
            .get(&prefix)
            .cloned()
            .unwrap_or_default();
        let check = self
            .port(&role)
            .await
            .create_health_check(caller_reference, config)
            .await?;
        self.learn_check(&role, &check.id);
        Ok(check)
    }

    async fn update_health_check(
        &self,
        id: &str,
        update: &HealthCheckUpdate,
    ) -> Result<HealthCheck> {
        let known = self.routes().checks.get(id).cloned();
        self.by_id(known, |port| async move {
            port.update_health_check(id, update).await
        })
        .await
    }

    async fn delete_health_check(&self, id: &str) -> Result<()> {
        let known = self.routes().checks.get(id).cloned();
        self.by_id(
            known,
            |port| async move { port.delete_health_check(id).await },
        )
        .await
    }

    async fn get_health_check_status(&self, id: &str) -> Result<Vec<HealthObservation>> {
        let known = self.routes().checks.get(id).cloned();
        self.by_id(known, |port| async move {
            port.get_health_check_status(id).await
        })
        .await
    }

    async fn list_health_check_tags(&self, ids: &[String]) -> Result<BTreeMap<String, Tags>> {
        let mut by_role: BTreeMap<Role, Vec<String>> = BTreeMap::new();
        {
            let routes = self.routes();
            for id in ids {
                let role = routes.checks.get(id).cloned().unwrap_or_default();
                by_role.entry(role).or_default().push(id.clone());
            }
        }
        let mut all = BTreeMap::new();
        for (role, ids) in by_role {
            all.extend(self.port(&role).await.list_health_check_tags(&ids).await?);
        }
        Ok(all)
    }

    async fn change_health_check_tags(
        &self,
        id: &str,
        add: &Tags,
        remove: &[String],
    ) -> Result<()> {
        let known = self.routes().checks.get(id).cloned();
        self.by_id(known, |port| async move {
            port.change_health_check_tags(id, add, remove).await
        })
        .await
    }
}

#[cfg(test)]
mod tests;
