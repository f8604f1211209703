//! Two clusters, one name: two controllers, each with its own Kubernetes API
//! server and its own owner id, share one Route 53. Cluster A's
//! FailoverRecord manages the PRIMARY, cluster B's the SECONDARY.

mod support;

use dnsfailover::api::{ActiveSide, Health};
use dnsfailover::core::ownership::{Marker, marker_name};
use dnsfailover::route53::fake::FakeRoute53;
use dnsfailover::route53::{Failover, Operation, RecordSet, RrType, Zone};
use support::apiserver::ApiServer;
use support::cluster::{Harness, settings};

const FQDN: &str = "www.example.com.";

const CLUSTER_A: &str = r#"
hostedZone: {name: example.com}
name: www
ttl: 60
manage: Primary
primary:
  addresses: [52.94.236.10]
  healthCheck: {protocol: HTTP, port: 80, path: /health, requestInterval: 10}
"#;

const CLUSTER_B: &str = r#"
hostedZone: {name: example.com}
name: www
ttl: 60
manage: Secondary
secondary:
  addresses: [52.95.110.20]
  healthCheck: {protocol: HTTP, port: 80, path: /health}
"#;

struct Two {
    fake: FakeRoute53,
    zone: Zone,
    a: Harness,
    b: Harness,
}

fn two_clusters() -> Two {
    let fake = FakeRoute53::new();
    fake.set_polls_until_insync(0);
    let zone = fake.create_zone("example.com", false);
    let cluster = |owner_id: &str| {
        Harness::installation(
            ApiServer::default(),
            fake.clone(),
            zone.clone(),
            fake.clone(),
            settings(),
            owner_id,
        )
    };
    Two {
        a: cluster("cluster-a"),
        b: cluster("cluster-b"),
        fake,
        zone,
    }
}

impl Two {
    fn side(&self, role: Failover) -> Option<RecordSet> {
        self.fake
            .records(&self.zone.id)
            .into_iter()
            .find(|r| r.name == FQDN && r.failover == Some(role))
    }

    fn entries(&self) -> Vec<Marker> {
        self.fake
            .records(&self.zone.id)
            .into_iter()
            .find(|r| r.name == marker_name(FQDN, &RrType::A))
            .map(|r| r.values.iter().filter_map(|v| Marker::parse(v)).collect())
            .unwrap_or_default()
    }
}

#[tokio::test]
async fn each_cluster_writes_its_side_and_shows_the_other_read_only_with_its_health() {
    let t = two_clusters();
    t.a.create("www", CLUSTER_A);
    t.a.converge("www").await;
    t.b.create("www", CLUSTER_B);
    t.b.converge("www").await;

    let primary = t.side(Failover::Primary).expect("A's PRIMARY");
    let secondary = t.side(Failover::Secondary).expect("B's SECONDARY");
    assert_eq!(primary.values, vec!["52.94.236.10"]);
    assert_eq!(secondary.values, vec!["52.95.110.20"]);
    let entries = t.entries();
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(t.fake.health_checks().len(), 2, "one check per side");
    assert_eq!(t.a.condition("www", "Ready").0, "True");
    assert_eq!(t.b.condition("www", "Ready").0, "True");

    // A's status: its own PRIMARY, B's SECONDARY read-only, once A reads
    // the zone again (at its next resync).
    t.a.ctx.observer().invalidate_all().await;
    t.a.reconcile("www").await.expect("reconcile");
    let status = t.a.status("www");
    let theirs = status.secondary.expect("B's side in A's status");
    assert_eq!(
        theirs.managed_by.as_deref(),
        Some("owner cluster-b, FailoverRecord web/www")
    );
    assert_eq!(
        theirs.health_check_id.as_deref(),
        secondary.health_check_id.as_deref()
    );
    assert_eq!(status.primary.and_then(|p| p.managed_by), None);

    // Cluster B reads A's check, read-only: A's primary fails, B sees it.
    let a_check = primary.health_check_id.clone().expect("A's check");
    let b_check = secondary.health_check_id.clone().expect("B's check");
    let poll_both = || async {
        for _ in 0..2 {
            t.b.ctx.health().poll_once(t.b.ctx.engine().route53()).await;
        }
    };
    t.fake.set_health(&a_check, 16, 16);
    t.fake.set_health(&b_check, 16, 16);
    poll_both().await;
    t.b.reconcile("www").await.expect("reconcile");
    assert_eq!(t.b.status("www").active, Some(ActiveSide::Primary));
    t.fake.clear_calls();
    t.fake.set_health(&a_check, 0, 16);
    poll_both().await;
    t.b.reconcile("www").await.expect("reconcile");
    let status = t.b.status("www");
    assert_eq!(
        status.primary.as_ref().and_then(|p| p.health),
        Some(Health::Unhealthy)
    );
    assert_eq!(status.active, Some(ActiveSide::Secondary));
    t.b.assert_event("Warning", "FailoverToSecondary");
    assert!(
        t.fake
            .writes()
            .iter()
            .all(|op| *op != Operation::UpdateHealthCheck && *op != Operation::DeleteHealthCheck),
        "B only reads A's check"
    );
}

#[tokio::test]
async fn deleting_one_clusters_record_removes_its_side_and_leaves_the_other_serving() {
    let t = two_clusters();
    t.a.create("www", CLUSTER_A);
    t.a.converge("www").await;
    t.b.create("www", CLUSTER_B);
    t.b.converge("www").await;
    let secondary = t.side(Failover::Secondary).expect("SECONDARY");

    t.a.delete("www");
    t.a.finish_deletion("www").await;
    assert_eq!(t.side(Failover::Primary), None, "A's side is gone");
    assert_eq!(
        t.side(Failover::Secondary),
        Some(secondary),
        "B's side keeps serving"
    );
    assert_eq!(
        t.fake.health_checks().len(),
        1,
        "A's check went, B's stayed"
    );
    let entries = t.entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].owner_id, "cluster-b");

    t.b.fake.clear_calls();
    t.b.ctx.observer().invalidate_all().await;
    t.b.reconcile("www").await.expect("reconcile");
    assert_eq!(t.fake.write_calls(), 0, "B has nothing to write");
    assert_eq!(t.b.condition("www", "Ready").0, "True");
    assert!(t.b.status("www").primary.is_none(), "no PRIMARY to show");
}

#[tokio::test]
async fn two_clusters_claiming_one_side_both_get_a_condition_and_an_event() {
    let t = two_clusters();
    t.a.create("www", CLUSTER_A);
    t.a.converge("www").await;
    let primary = t.side(Failover::Primary).expect("A's PRIMARY");
    let checks = t.fake.health_checks();

    // Cluster B is misconfigured: it manages the PRIMARY too.
    t.b.create("www", &CLUSTER_A.replace("52.94.236.10", "52.95.110.99"));
    t.b.converge("www").await;
    let (status, reason, message) = t.b.condition("www", "Ready");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "RecordConflict")
    );
    assert!(message.contains("cluster-a"), "{message}");
    t.b.assert_event("Warning", "ConflictDetected");
    assert_eq!(
        t.side(Failover::Primary),
        Some(primary.clone()),
        "nothing overwritten"
    );
    assert_eq!(t.fake.health_checks(), checks, "no check for the contender");

    // Cluster A hears of it at its next look, and keeps serving.
    t.a.ctx.observer().invalidate_all().await;
    t.a.reconcile("www").await.expect("reconcile");
    let (status, reason, message) = t.a.condition("www", "Ready");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "RecordConflict")
    );
    assert!(message.contains("cluster-b"), "{message}");
    t.a.assert_event("Warning", "ConflictDetected");
    assert_eq!(t.side(Failover::Primary), Some(primary));

    // B is fixed to manage the SECONDARY: both are Ready.
    t.b.edit("www", |spec| {
        *spec = support::spec(CLUSTER_B);
    });
    t.b.reconcile("www").await.expect("reconcile");
    assert_eq!(t.b.condition("www", "Ready").0, "True");
    t.a.ctx.observer().invalidate_all().await;
    t.a.reconcile("www").await.expect("reconcile");
    assert_eq!(t.a.condition("www", "Ready").0, "True");
    assert!(t.side(Failover::Secondary).is_some());
}

#[tokio::test]
async fn the_other_cluster_reads_the_primary_behind_a_failback_latch_and_sees_it_held() {
    use dnsfailover::core::failback::REQUEST_ANNOTATION;
    let t = two_clusters();
    t.a.create("www", &format!("{CLUSTER_A}failback: Manual\n"));
    t.a.converge("www").await;
    t.b.create("www", CLUSTER_B);
    t.b.converge("www").await;
    let primary = t.side(Failover::Primary).expect("A's PRIMARY");
    let latch_id = primary.health_check_id.clone().expect("the latch");
    let latch = t
        .fake
        .health_checks()
        .into_iter()
        .find(|c| c.id == latch_id)
        .expect("the latch exists");
    let endpoint = latch.config.children[0].clone();

    let poll = || async {
        for _ in 0..3 {
            t.b.ctx.health().poll_once(t.b.ctx.engine().route53()).await;
        }
    };
    t.fake.set_health(&endpoint, 16, 16);
    t.b.ctx.observer().invalidate_all().await;
    t.b.reconcile("www").await.expect("reconcile");
    t.fake.clear_calls();
    poll().await;
    t.b.reconcile("www").await.expect("reconcile");
    let status = t.b.status("www");
    let theirs = status.primary.clone().expect("A's side in B's status");
    assert_eq!(
        theirs.health_check_id.as_deref(),
        Some(endpoint.as_str()),
        "B reads the check behind the latch, which Route 53 serves health for"
    );
    assert_eq!(theirs.health, Some(Health::Healthy));
    assert_eq!(status.active, Some(ActiveSide::Primary));

    // A holds DNS on the secondary for maintenance: the endpoint stays
    // healthy, and B's status says where DNS answers.
    t.a.annotate("www", REQUEST_ANNOTATION, "failover");
    t.a.converge("www").await;
    t.b.ctx.observer().invalidate_all().await;
    poll().await;
    t.b.reconcile("www").await.expect("reconcile");
    let status = t.b.status("www");
    assert_eq!(
        status.primary.as_ref().and_then(|p| p.health),
        Some(Health::Healthy)
    );
    assert_eq!(status.active, Some(ActiveSide::Secondary));
}

#[tokio::test]
async fn a_ttl_one_cluster_changes_alone_is_a_dispute_on_both_sides() {
    let t = two_clusters();
    t.a.create("www", CLUSTER_A);
    t.a.converge("www").await;
    t.b.create("www", CLUSTER_B);
    t.b.converge("www").await;
    let secondary = t.side(Failover::Secondary).expect("B's SECONDARY");

    // B moves to TTL 300; Route 53 keeps one TTL for the name, so B's side
    // is left as it is, and both clusters say why.
    t.b.edit("www", |spec| spec.ttl = 300);
    t.b.reconcile("www").await.expect("reconcile");
    let (status, reason, message) = t.b.condition("www", "Ready");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "RecordConflict")
    );
    assert!(message.contains("TTL"), "{message}");
    assert_eq!(
        t.side(Failover::Secondary),
        Some(secondary),
        "left as it is"
    );

    t.a.ctx.observer().invalidate_all().await;
    t.a.reconcile("www").await.expect("reconcile");
    let (status, reason, message) = t.a.condition("www", "Ready");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "RecordConflict"),
        "{message}"
    );
    assert!(
        message.contains("cluster-b") && message.contains("TTL 300"),
        "{message}"
    );
    t.a.assert_event("Warning", "ConflictDetected");

    // B goes back to A's TTL: both Ready again.
    t.b.edit("www", |spec| spec.ttl = 60);
    t.b.reconcile("www").await.expect("reconcile");
    assert_eq!(t.b.condition("www", "Ready").0, "True");
    t.a.ctx.observer().invalidate_all().await;
    t.a.reconcile("www").await.expect("reconcile");
    assert_eq!(t.a.condition("www", "Ready").0, "True");
}

#[tokio::test]
async fn a_failback_request_while_the_primary_is_in_dispute_is_refused_not_dropped() {
    use dnsfailover::core::failback::REQUEST_ANNOTATION;
    let t = two_clusters();
    t.a.create("www", &format!("{CLUSTER_A}failback: Manual\n"));
    t.a.converge("www").await;
    t.b.create("www", CLUSTER_B);
    t.b.converge("www").await;
    let latch_holds = || {
        let primary = t.side(Failover::Primary).expect("A's PRIMARY");
        let id = primary.health_check_id.expect("the latch");
        t.fake
            .health_checks()
            .into_iter()
            .find(|c| c.id == id)
            .is_some_and(|c| c.config.holds())
    };
    assert!(!latch_holds());

    // A's TTL no longer matches B's side: A's PRIMARY is left as it is.
    t.a.edit("www", |spec| spec.ttl = 300);
    t.a.ctx.observer().invalidate_all().await;
    t.a.reconcile("www").await.expect("reconcile");
    assert_eq!(t.a.condition("www", "Ready").1, "RecordConflict");

    t.a.annotate("www", REQUEST_ANNOTATION, "failover");
    t.a.reconcile("www").await.expect("reconcile");
    assert!(!latch_holds(), "nothing changed in Route 53");
    t.a.assert_event("Warning", "RequestRefused");
}
