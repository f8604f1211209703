//! The AWS SDK adapter: the port over `aws-sdk-route53`.
//!
//! Retries are disabled in the SDK: [`super::resilient::Resilient`] owns them,
//! together with the rate limiter, so one budget governs every request.
//! Credentials and region come from the standard chain (environment, profile,
//! IRSA web identity, container and instance metadata). The endpoint can point
//! at an emulator through `--route53-endpoint`, `AWS_ENDPOINT_URL_ROUTE_53` or
//! `AWS_ENDPOINT_URL` (the SDK reads the two variables itself).

mod classify;
mod convert;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::environment::EnvironmentVariableRegionProvider;
use aws_config::meta::region::RegionProviderChain;
use aws_config::profile::ProfileFileRegionProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_route53::Client;
use aws_sdk_route53::types as sdk;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

use super::{
    Change, ChangeInfo, ErrorKind, HealthCheck, HealthCheckConfig, HealthCheckKind,
    HealthCheckUpdate, HealthObservation, Operation, Page, RecordCursor, RecordSet, Result,
    Route53, Route53Error, Tags, Zone, bare_zone_id,
};
use crate::route53::names;
use classify::{change_error, error};
use convert::*;

/// Route 53 is a global service signed in us-east-1.
const DEFAULT_REGION: &str = "us-east-1";
/// Record sets per ListResourceRecordSets page (Route 53's maximum).
const RECORD_PAGE: i32 = 300;
/// Health checks per ListHealthChecks page (Route 53's maximum).
const HEALTH_CHECK_PAGE: i32 = 1000;

/// How to reach Route 53.
#[derive(Clone, Debug, Default)]
pub struct AwsSettings {
    /// Endpoint override, such as `http://127.0.0.1:5000` for an emulator.
    pub endpoint: Option<String>,
    /// Region for signing; defaults to the standard chain, then us-east-1.
    pub region: Option<String>,
    /// Time allowed for one request, connection included.
    pub request_timeout: Option<Duration>,
    /// Fixed credentials instead of the standard chain; for emulators.
    pub credentials: Option<aws_sdk_route53::config::Credentials>,
    /// A role to assume (in another account) with those credentials.
    pub assume_role: Option<AssumeRole>,
}

/// A role to assume for Route 53, usually in the account of the hosted zone.
#[derive(Clone, Debug)]
pub struct AssumeRole {
    pub role_arn: String,
    pub session_name: String,
    /// The `sts:ExternalId` the role's trust policy asks for, if any.
    pub external_id: Option<String>,
    /// STS endpoint override, such as an emulator; `AWS_ENDPOINT_URL_STS`
    /// and `AWS_ENDPOINT_URL` work too.
    pub sts_endpoint: Option<String>,
}

/// The port over the AWS SDK.
#[derive(Clone, Debug)]
pub struct AwsRoute53 {
    client: Client,
}

impl AwsRoute53 {
    pub async fn connect(settings: &AwsSettings) -> Self {
        let http_client = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http_client)
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(
                        settings.request_timeout.unwrap_or(Duration::from_secs(20)),
                    )
                    .build(),
            );
        // Route 53 is global, so the region only matters for signing: take it
        // from the settings, the environment or the profile, else us-east-1,
        // without asking instance metadata.
        loader = loader.region(
            RegionProviderChain::first_try(settings.region.clone().map(Region::new))
                .or_else(EnvironmentVariableRegionProvider::new())
                .or_else(ProfileFileRegionProvider::new())
                .or_else(Region::new(DEFAULT_REGION)),
        );
        if let Some(credentials) = &settings.credentials {
            loader = loader.credentials_provider(credentials.clone());
        }
        let shared = loader.load().await;
        let mut config = aws_sdk_route53::config::Builder::from(&shared);
        if let Some(endpoint) = &settings.endpoint {
            config = config.endpoint_url(endpoint.clone());
        }
        if let Some(role) = &settings.assume_role {
            // The process's own credentials (IRSA, environment, ...) sign
            // the AssumeRole call; the client's identity cache keeps the
            // role's credentials until shortly before they expire.
            let mut sts = shared.to_builder();
            if let Some(endpoint) = &role.sts_endpoint {
                sts = sts.endpoint_url(endpoint.clone());
            }
            let mut provider = aws_config::sts::AssumeRoleProvider::builder(&role.role_arn)
                .session_name(&role.session_name)
                .configure(&sts.build());
            if let Some(id) = &role.external_id {
                provider = provider.external_id(id);
            }
            config = config.credentials_provider(provider.build().await);
        }
        Self {
            client: Client::from_conf(config.build()),
        }
    }

    /// The SDK client, for test harnesses that set up zones.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

impl Route53 for AwsRoute53 {
    async fn get_hosted_zone(&self, id: &str) -> Result<Zone> {
        let op = Operation::GetHostedZone;
        let out = self
            .client
            .get_hosted_zone()
            .id(bare_zone_id(id))
            .send()
            .await
            .map_err(|e| error(op, e))?;
        let mut zone = out.hosted_zone().map(zone_from).ok_or_else(|| {
            Route53Error::new(op, ErrorKind::Other, "the answer held no hosted zone")
        })?;
        zone.name_servers = out
            .delegation_set()
            .map(|d| d.name_servers().to_vec())
            .unwrap_or_default();
        Ok(zone)
    }

    async fn list_hosted_zones_page(&self, marker: Option<&str>) -> Result<Page<Zone, String>> {
        let op = Operation::ListHostedZones;
        let out = self
            .client
            .list_hosted_zones()
            .set_marker(marker.map(str::to_string))
            .max_items(100)
            .send()
            .await
            .map_err(|e| error(op, e))?;
        let next = if out.is_truncated() {
            out.next_marker().map(str::to_string)
        } else {
            None
        };
        Ok(Page {
            items: out.hosted_zones().iter().map(zone_from).collect(),
            next,
        })
    }

    async fn list_hosted_zones_by_name(&self, name: &str) -> Result<Vec<Zone>> {
        let op = Operation::ListHostedZonesByName;
        let wanted = names::normalize(name);
        let out = self
            .client
            .list_hosted_zones_by_name()
            .dns_name(&wanted)
            .max_items(100)
            .send()
            .await
            .map_err(|e| error(op, e))?;
        // The answer starts at `name` and continues in order; keep exact matches.
        Ok(out
            .hosted_zones()
            .iter()
            .map(zone_from)
            .filter(|z| z.name == wanted)
            .collect())
    }

    async fn list_record_sets_page(
        &self,
        zone_id: &str,
        start: Option<&RecordCursor>,
    ) -> Result<Page<RecordSet, RecordCursor>> {
        let op = Operation::ListResourceRecordSets;
        let mut request = self
            .client
            .list_resource_record_sets()
            .hosted_zone_id(zone_id)
            .max_items(RECORD_PAGE);
        if let Some(cursor) = start {
            request = request
                .start_record_name(&cursor.name)
                .start_record_type(sdk::RrType::from(cursor.rr_type.as_str()))
                .set_start_record_identifier(cursor.set_identifier.clone());
        }
        let out = request.send().await.map_err(|e| error(op, e))?;
        let next = if out.is_truncated() {
            out.next_record_name().map(|name| RecordCursor {
                name: name.to_string(),
                rr_type: out
                    .next_record_type()
                    .map(|t| t.as_str().to_string())
                    .unwrap_or_default(),
                set_identifier: out.next_record_identifier().map(str::to_string),
            })
        } else {
            None
        };
        Ok(Page {
            items: out.resource_record_sets().iter().map(record_from).collect(),
            next,
        })
    }

    async fn change_record_sets(&self, zone_id: &str, changes: &[Change]) -> Result<ChangeInfo> {
        let op = Operation::ChangeResourceRecordSets;
        let mut sdk_changes = Vec::with_capacity(changes.len());
        for change in changes {
            let record = record_to(&change.record).map_err(|e| build_error(op, e))?;
            sdk_changes.push(
                sdk::Change::builder()
                    .action(sdk::ChangeAction::from(change.action.as_route53()))
                    .resource_record_set(record)
                    .build()
                    .map_err(|e| build_error(op, e))?,
            );
        }
        let batch = sdk::ChangeBatch::builder()
            .set_changes(Some(sdk_changes))
            .comment("dnsfailover")
            .build()
            .map_err(|e| build_error(op, e))?;
        let out = self
            .client
            .change_resource_record_sets()
            .hosted_zone_id(zone_id)
            .change_batch(batch)
            .send()
            .await
            .map_err(|e| change_error(op, e))?;
        change_info(op, out.change_info())
    }

    async fn get_change(&self, id: &str) -> Result<ChangeInfo> {
        let op = Operation::GetChange;
        let out = self
            .client
            .get_change()
            .id(id)
            .send()
            .await
            .map_err(|e| error(op, e))?;
        change_info(op, out.change_info())
    }

    async fn list_health_checks_page(
        &self,
        marker: Option<&str>,
    ) -> Result<Page<HealthCheck, String>> {
        let op = Operation::ListHealthChecks;
        let out = self
            .client
            .list_health_checks()
            .set_marker(marker.map(str::to_string))
            .max_items(HEALTH_CHECK_PAGE)
            .send()
            .await
            .map_err(|e| error(op, e))?;
        let next = if out.is_truncated() {
            out.next_marker().map(str::to_string)
        } else {
            None
        };
        Ok(Page {
            items: out.health_checks().iter().map(check_from).collect(),
            next,
        })
    }

    async fn create_health_check(
        &self,
        caller_reference: &str,
        config: &HealthCheckConfig,
    ) -> Result<HealthCheck> {
        let op = Operation::CreateHealthCheck;
        let sdk_config = check_config_to(config).map_err(|e| build_error(op, e))?;
        let out = self
            .client
            .create_health_check()
            .caller_reference(caller_reference)
            .health_check_config(sdk_config)
            .send()
            .await
            .map_err(|e| error(op, e))?;
        out.health_check().map(check_from).ok_or_else(|| {
            Route53Error::new(op, ErrorKind::Other, "the answer held no health check")
        })
    }

    async fn update_health_check(
        &self,
        id: &str,
        update: &HealthCheckUpdate,
    ) -> Result<HealthCheck> {
        let op = Operation::UpdateHealthCheck;
        let c = &update.config;
        if c.kind == HealthCheckKind::Calculated {
            let out = self
                .client
                .update_health_check()
                .health_check_id(id)
                .health_check_version(update.version)
                .set_child_health_checks(Some(c.children.clone()))
                .health_threshold(c.health_threshold)
                .send()
                .await
                .map_err(|e| error(op, e))?;
            return out.health_check().map(check_from).ok_or_else(|| {
                Route53Error::new(op, ErrorKind::Other, "the answer held no health check")
            });
        }
        let out = self
            .client
            .update_health_check()
            .health_check_id(id)
            .health_check_version(update.version)
            .set_ip_address(c.ip_address.clone())
            .port(c.port)
            .set_resource_path(c.resource_path.clone())
            .set_fully_qualified_domain_name(c.fqdn.clone())
            .set_search_string(c.search_string.clone())
            .failure_threshold(c.failure_threshold)
            .inverted(c.inverted)
            .disabled(c.disabled)
            .set_enable_sni(c.kind.is_https().then_some(c.enable_sni))
            .set_regions((!c.regions.is_empty()).then(|| {
                c.regions
                    .iter()
                    .map(|r| sdk::HealthCheckRegion::from(r.as_str()))
                    .collect()
            }))
            .set_reset_elements((!update.reset.is_empty()).then(|| {
                update
                    .reset
                    .iter()
                    .map(|r| sdk::ResettableElementName::from(r.as_route53()))
                    .collect()
            }))
            .send()
            .await
            .map_err(|e| error(op, e))?;
        out.health_check().map(check_from).ok_or_else(|| {
            Route53Error::new(op, ErrorKind::Other, "the answer held no health check")
        })
    }

    async fn delete_health_check(&self, id: &str) -> Result<()> {
        let op = Operation::DeleteHealthCheck;
        self.client
            .delete_health_check()
            .health_check_id(id)
            .send()
            .await
            .map_err(|e| error(op, e))?;
        Ok(())
    }

    async fn get_health_check_status(&self, id: &str) -> Result<Vec<HealthObservation>> {
        let op = Operation::GetHealthCheckStatus;
        let out = self
            .client
            .get_health_check_status()
            .health_check_id(id)
            .send()
            .await
            .map_err(|e| error(op, e))?;
        Ok(out
            .health_check_observations()
            .iter()
            .map(|o| {
                let report = o
                    .status_report()
                    .and_then(|r| r.status())
                    .unwrap_or_default()
                    .to_string();
                HealthObservation {
                    region: o
                        .region()
                        .map(|r| r.as_str().to_string())
                        .unwrap_or_default(),
                    healthy: report.starts_with("Success"),
                    report,
                }
            })
            .collect())
    }

    async fn list_health_check_tags(&self, ids: &[String]) -> Result<BTreeMap<String, Tags>> {
        let op = Operation::ListTagsForResources;
        let out = self
            .client
            .list_tags_for_resources()
            .resource_type(sdk::TagResourceType::Healthcheck)
            .set_resource_ids(Some(ids.to_vec()))
            .send()
            .await
            .map_err(|e| error(op, e))?;
        Ok(out
            .resource_tag_sets()
            .iter()
            .filter_map(|set| {
                let id = set.resource_id()?.to_string();
                let tags = set
                    .tags()
                    .iter()
                    .filter_map(|t| {
                        Some((
                            t.key()?.to_string(),
                            t.value().unwrap_or_default().to_string(),
                        ))
                    })
                    .collect();
                Some((id, tags))
            })
            .collect())
    }

    async fn change_health_check_tags(
        &self,
        id: &str,
        add: &Tags,
        remove: &[String],
    ) -> Result<()> {
        let op = Operation::ChangeTagsForResource;
        self.client
            .change_tags_for_resource()
            .resource_type(sdk::TagResourceType::Healthcheck)
            .resource_id(id)
            .set_add_tags((!add.is_empty()).then(|| tags_to(add)))
            .set_remove_tag_keys((!remove.is_empty()).then(|| remove.to_vec()))
            .send()
            .await
            .map_err(|e| error(op, e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
