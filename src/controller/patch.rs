//! Writing `.status`: server-side apply on the status subresource, only
//! while leading and only when something changed (every write is a watch
//! event, and every watch event another reconcile).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde_json::json;

use super::context::Context;
use crate::api::{FailoverRecord, FailoverRecordStatus};
use crate::route53::Route53;

/// Field manager of status patches.
pub const FIELD_MANAGER: &str = "dnsfailover";

pub(super) fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

/// Server-side apply of status, skipped when it would change nothing.
pub(super) async fn patch_status<R: Route53>(
    obj: &FailoverRecord,
    ctx: &Context<R>,
    status: FailoverRecordStatus,
) -> Result<(), kube::Error> {
    if obj.status.as_ref() == Some(&status) || !ctx.gate.is_open() {
        return Ok(());
    }
    let api: Api<FailoverRecord> =
        Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    let patch = json!({
        "apiVersion": FailoverRecord::api_version(&()),
        "kind": FailoverRecord::kind(&()),
        "status": status,
    });
    api.patch_status(
        &obj.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await
    .map(|_| ())
}
