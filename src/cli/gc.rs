//! `dnsfailover gc`: list (and with `--delete`, remove) the health checks
//! this owner made that no FailoverRecord and no record set uses any more
//! ([`crate::core::gc`]). Which FailoverRecords exist comes from manifests
//! (`-f`), from the cluster (`--cluster`), or both.

use std::collections::BTreeSet;
use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::{Exit, Output, fail};
use crate::api::{FailoverRecord, HostedZoneRef};
use crate::core::cost;
use crate::core::gc::{self, Garbage};
use crate::core::ownership::{Owner, TAG_OWNER};
use crate::engine::Engine;
use crate::manifest;
use crate::route53::{self, ErrorKind, Route53};

/// Options of `dnsfailover gc`.
#[derive(Debug, Args)]
pub(super) struct GcArgs {
    /// Manifests of the FailoverRecords that exist (files, directories or
    /// `-` for stdin), as for `apply`. Repeatable.
    #[arg(short = 'f', long = "filename")]
    files: Vec<PathBuf>,

    /// Read the FailoverRecords that exist from the cluster of the current
    /// kubeconfig context (all namespaces, or those of --namespace).
    #[arg(long)]
    cluster: bool,

    /// With --cluster: only these namespaces (repeatable).
    #[arg(long = "namespace", requires = "cluster")]
    namespaces: Vec<String>,

    /// Delete the health checks listed.
    #[arg(long)]
    delete: bool,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

pub(super) async fn gc<R: Route53>(args: &GcArgs, engine: &Engine<R>) -> Exit {
    if args.files.is_empty() && !args.cluster {
        eprintln!(
            "error: say where the FailoverRecords are, so that their health checks are kept: -f FILE|DIR (manifests) and/or --cluster"
        );
        return Exit::Usage;
    }
    let owner_id = engine.owner_id();
    let mut live: Vec<(Owner, Option<HostedZoneRef>)> = Vec::new();
    if !args.files.is_empty() {
        match manifest::load(&args.files) {
            Ok(documents) => live.extend(documents.iter().map(|d| {
                let zone = d
                    .object
                    .pointer("/spec/hostedZone")
                    .and_then(|z| serde_json::from_value(z.clone()).ok());
                (super::workflow::owner_of(owner_id, &d.object), zone)
            })),
            Err(e) => {
                eprintln!("error: {e}");
                return Exit::Invalid;
            }
        }
    }
    if args.cluster {
        match from_cluster(owner_id, &args.namespaces).await {
            Ok(found) => live.extend(found),
            Err(e) => {
                return fail(&format!(
                    "cannot list the FailoverRecords in the cluster: {e}"
                ));
            }
        }
    }
    // Every account a FailoverRecord's zone is in is searched too.
    for (owner, zone) in &live {
        if let Some(zone) = zone
            && let Ok(selector) = crate::core::validate::zone_selector_of(zone)
        {
            engine.route(owner, &selector, zone.role_arn.as_deref());
        }
    }
    let live: Vec<Owner> = live.into_iter().map(|(owner, _)| owner).collect();

    let found = match find(engine, &live).await {
        Ok(found) => found,
        Err(e) => return fail(&e.to_string()),
    };
    let monthly: f64 = found.iter().map(|g| g.cost.monthly).sum();
    let mut deleted = Vec::new();
    let mut failed = Vec::new();
    if args.delete {
        for garbage in &found {
            match engine.route53().delete_health_check(&garbage.id).await {
                Ok(()) => deleted.push(garbage.id.clone()),
                Err(e) if e.kind == ErrorKind::NotFound => deleted.push(garbage.id.clone()),
                Err(e) => failed.push((garbage.id.clone(), e.to_string())),
            }
        }
    }
    match args.output {
        Output::Text => print!(
            "{}",
            text(owner_id, &found, monthly, args.delete, &deleted, &failed)
        ),
        Output::Json => println!(
            "{}",
            json!({
                "ownerId": owner_id,
                "unused": found,
                "monthly": monthly,
                "priceList": cost::PRICE_LIST,
                "deleted": deleted,
                "failed": failed.iter().map(|(id, e)| json!({"id": id, "error": e})).collect::<Vec<_>>(),
            })
        ),
    }
    if failed.is_empty() {
        Exit::Ok
    } else {
        Exit::Failed
    }
}

/// This owner's checks, the record sets of every zone of the account, and
/// the tags of the checks that may be this owner's.
async fn find<R: Route53>(
    engine: &Engine<R>,
    live: &[Owner],
) -> Result<Vec<Garbage>, route53::Route53Error> {
    let r53 = engine.route53();
    let owner_id = engine.owner_id();
    let checks = route53::list_all_health_checks(r53).await?;
    let mut referenced = BTreeSet::new();
    for zone in route53::list_all_hosted_zones(r53).await? {
        match route53::list_all_record_sets(r53, &zone.id).await {
            Ok(records) => referenced.extend(records.into_iter().filter_map(|r| r.health_check_id)),
            // Deleted between the two listings: it refers to nothing.
            Err(e) if e.kind == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    // Tags say whose a check is when its reference does not (taken over);
    // every unused check may be one.
    let unused: Vec<String> = checks
        .iter()
        .filter(|c| !referenced.contains(&c.id))
        .map(|c| c.id.clone())
        .collect();
    let tags = route53::list_all_health_check_tags(r53, &unused).await?;
    Ok(gc::garbage(owner_id, &checks, &tags, &referenced, live))
}

async fn from_cluster(
    owner_id: &str,
    namespaces: &[String],
) -> Result<Vec<(Owner, Option<HostedZoneRef>)>, kube::Error> {
    let client = kube::Client::try_default().await?;
    let apis: Vec<kube::Api<FailoverRecord>> = if namespaces.is_empty() {
        vec![kube::Api::all(client)]
    } else {
        namespaces
            .iter()
            .map(|ns| kube::Api::namespaced(client.clone(), ns))
            .collect()
    };
    let mut owners = Vec::new();
    for api in apis {
        for record in api.list(&Default::default()).await? {
            owners.push((
                Owner::new(
                    owner_id,
                    record.metadata.namespace.unwrap_or_default(),
                    record.metadata.name.unwrap_or_default(),
                ),
                Some(record.spec.hosted_zone),
            ));
        }
    }
    Ok(owners)
}

fn text(
    owner_id: &str,
    found: &[Garbage],
    monthly: f64,
    delete: bool,
    deleted: &[String],
    failed: &[(String, String)],
) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    if found.is_empty() {
        let _ = writeln!(
            out,
            "No unused health checks of owner {owner_id}: every one is used by a record set or belongs to a FailoverRecord that exists."
        );
        return out;
    }
    let _ = writeln!(
        out,
        "Health checks of owner {owner_id} ({TAG_OWNER}) that no FailoverRecord and no record set uses:"
    );
    for g in found {
        let _ = writeln!(
            out,
            "  {}  {}  {}  {}/month",
            g.id,
            g.resource.as_deref().unwrap_or("(FailoverRecord unknown)"),
            g.name.as_deref().unwrap_or("(no Name tag)"),
            cost::dollars(g.cost.monthly)
        );
    }
    let _ = writeln!(
        out,
        "{} health check(s), {}/month ({}).",
        found.len(),
        cost::dollars(monthly),
        cost::PRICE_LIST
    );
    if !delete {
        let _ = writeln!(out, "Run again with --delete to delete them.");
    }
    for id in deleted {
        let _ = writeln!(out, "deleted {id}");
    }
    for (id, error) in failed {
        let _ = writeln!(out, "error: cannot delete {id}: {error}");
    }
    out
}
