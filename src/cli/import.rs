//! `dnsfailover import`: print the FailoverRecord that describes an existing
//! failover pair and its health checks exactly ([`crate::core::import`]).
//! Read-only: two listings and a zone lookup.

use std::io::Write;

use clap::{Args, ValueEnum};
use serde_json::json;

use super::{Exit, fail};
use crate::api::{HostedZoneRef, Manage, admission};
use crate::core::import::{self, ImportRequest};
use crate::core::validate;
use crate::engine::Engine;
use crate::route53::{self, Route53, RrType, names};
use crate::settings::AwsArgs;

/// Options of `dnsfailover import`.
#[derive(Debug, Args)]
pub(super) struct ImportArgs {
    /// The hosted zone, by id (Z0123456789ABC) or by name (example.com).
    #[arg(long)]
    zone: String,

    /// The record name: one label in the zone (`www`), `@` for the apex, or
    /// a name inside the zone (`www.example.com`).
    #[arg(long)]
    name: String,

    /// The record type of the pair.
    #[arg(long = "type", value_enum, ignore_case = true, default_value_t = ImportType::A)]
    rr_type: ImportType,

    /// Which sides to take over: both, or one for a name shared with
    /// another installation (see `spec.manage`).
    #[arg(long, value_enum, ignore_case = true, default_value_t = ImportManage::Both)]
    manage: ImportManage,

    /// `metadata.namespace` of the printed FailoverRecord; without it, none
    /// is written (kubectl uses the current namespace, the CLI `default`).
    #[arg(long)]
    namespace: Option<String>,

    /// `metadata.name` of the printed FailoverRecord; defaults to the record
    /// name below the zone.
    #[arg(long)]
    object_name: Option<String>,

    /// The role that reaches the zone in another account; written into
    /// `hostedZone.roleArn` of the printed FailoverRecord.
    #[arg(long, value_parser = parse_role_arn)]
    role_arn: Option<String>,
}

fn parse_role_arn(s: &str) -> Result<String, String> {
    crate::route53::routed::account_of(s)
        .map(|_| s.to_string())
        .ok_or_else(|| {
            format!("{s:?} is not an IAM role ARN, such as arn:aws:iam::123456789012:role/dns")
        })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ImportType {
    #[value(name = "A")]
    A,
    #[value(name = "AAAA")]
    Aaaa,
    #[value(name = "CNAME")]
    Cname,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "PascalCase")]
enum ImportManage {
    Both,
    Primary,
    Secondary,
}

pub(super) async fn import(args: &ImportArgs, aws: &AwsArgs) -> Exit {
    let mut zone_ref = zone_ref(&args.zone);
    zone_ref.role_arn = args.role_arn.clone();
    let engine = Engine::new(aws.routed(), aws.owner_id.clone());
    engine.route53().route(&crate::route53::Route {
        zone: args.zone.clone(),
        resource_prefix: String::new(),
        role: aws.role_for(&zone_ref),
    });
    let engine = &engine;
    let selector = match validate::zone_selector_of(&zone_ref) {
        Ok(selector) => selector,
        Err(e) => return refused(&format!("--zone: {e}")),
    };
    let zone = match engine.resolve_zone(&selector).await {
        Ok(zone) => zone,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::of_error(&e);
        }
    };
    let Some(fqdn) = fqdn_in(&args.name, &zone.name) else {
        return refused(&format!(
            "--name {}: not a name inside the hosted zone {}",
            args.name, zone.name
        ));
    };
    let records = match route53::list_all_record_sets(engine.route53(), &zone.id).await {
        Ok(records) => records,
        Err(e) => return fail(&e.to_string()),
    };
    let here: Vec<_> = records
        .into_iter()
        .filter(|r| r.name == fqdn || r.name.ends_with(&format!(".{fqdn}")))
        .collect();
    let checks = match route53::list_all_health_checks(engine.route53()).await {
        Ok(checks) => checks,
        Err(e) => return fail(&e.to_string()),
    };
    let request = ImportRequest {
        zone: zone_ref,
        zone_name: &zone.name,
        name: args.name.trim().trim_end_matches('.').to_string(),
        rr_type: match args.rr_type {
            ImportType::A => RrType::A,
            ImportType::Aaaa => RrType::AAAA,
            ImportType::Cname => RrType::CNAME,
        },
        manage: match args.manage {
            ImportManage::Both => Manage::Both,
            ImportManage::Primary => Manage::Primary,
            ImportManage::Secondary => Manage::Secondary,
        },
    };
    let spec = match import::spec_of(&request, &fqdn, &here, &checks) {
        Ok(spec) => spec,
        Err(refusal) => return refused(&refusal.to_string()),
    };
    let mut metadata = json!({
        "name": args
            .object_name
            .clone()
            .unwrap_or_else(|| import::object_name(&fqdn, &zone.name)),
    });
    if let Some(namespace) = &args.namespace {
        metadata["namespace"] = json!(namespace);
    }
    let manifest = json!({
        "apiVersion": "dnsfailover.io/v1alpha1",
        "kind": "FailoverRecord",
        "metadata": metadata,
        "spec": &spec,
    });
    // What is printed must be applicable as it is: the same admission the
    // API server runs, and the same validation as `apply`.
    if let Err(e) = admission::admit(&manifest).and_then(|r| {
        validate::desired_from_spec(
            crate::core::ownership::Owner::new("import", "default", "import"),
            &r.spec,
        )
    }) {
        return refused(&format!(
            "the FailoverRecord describing {fqdn} {} would not be valid: {e}",
            request.rr_type
        ));
    }
    // Printed from the typed object, so fields come in the spec's order.
    let mut record = crate::api::FailoverRecord::new(
        manifest["metadata"]["name"].as_str().unwrap_or("imported"),
        spec,
    );
    record.metadata.namespace = args.namespace.clone();
    let yaml = match serde_yaml::to_string(&record) {
        Ok(yaml) => yaml,
        Err(e) => return fail(&format!("cannot print the manifest: {e}")),
    };
    let header = format!(
        "# {fqdn} {} in hosted zone {} ({}), as it is now. Applying this takes the\n# record sets and their health checks over (adoptExisting) in one change batch:\n# the records stay exactly as they are and only the ownership marker is added.\n",
        request.rr_type, zone.name, zone.id
    );
    let mut out = std::io::stdout().lock();
    match write!(out, "{header}{yaml}") {
        Ok(()) => Exit::Ok,
        Err(e) => fail(&format!("cannot write the manifest: {e}")),
    }
}

/// The zone as the user named it: an id if it looks like one, else a name.
fn zone_ref(zone: &str) -> HostedZoneRef {
    let zone = zone.trim();
    let bare = zone.trim_start_matches("/hostedzone/");
    let is_id = !bare.is_empty()
        && bare
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if is_id {
        HostedZoneRef {
            id: Some(bare.to_string()),
            name: None,
            private: None,
            role_arn: None,
        }
    } else {
        HostedZoneRef {
            id: None,
            name: Some(zone.trim_end_matches('.').to_string()),
            private: None,
            role_arn: None,
        }
    }
}

/// The fully qualified name of `name` in the zone, if it is inside it.
fn fqdn_in(name: &str, zone_name: &str) -> Option<String> {
    let name = name.trim();
    if name == "@" {
        return Some(zone_name.to_string());
    }
    let candidate = if name.contains('.') {
        names::normalize(name)
    } else {
        names::normalize(&format!("{name}.{zone_name}"))
    };
    names::is_within(&candidate, zone_name).then_some(candidate)
}

fn refused(message: &str) -> Exit {
    eprintln!("error: cannot import: {message}");
    Exit::Invalid
}
