//! The AWS SDK adapter: the port over `aws-sdk-route53`.
//!
//! Retries are disabled in the SDK: [`super::resilient::Resilient`] owns them,
//! together with the rate limiter, so one budget governs every request.
//! Credentials and region come from the standard chain (environment, profile,
//! IRSA web identity, container and instance metadata). The endpoint can point
//! at an emulator through `--route53-endpoint`, `AWS_ENDPOINT_URL_ROUTE_53` or
//! `AWS_ENDPOINT_URL` (the SDK reads the two variables itself).

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::environment::EnvironmentVariableRegionProvider;
use aws_config::meta::region::RegionProviderChain;
use aws_config::profile::ProfileFileRegionProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_route53::Client;
use aws_sdk_route53::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_route53::types as sdk;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use super::{
    AliasTarget, Change, ChangeInfo, ChangeState, ErrorKind, Failover, HealthCheck,
    HealthCheckConfig, HealthCheckKind, HealthCheckUpdate, HealthObservation, Operation, Page,
    RecordCursor, RecordSet, Result, Route53, Route53Error, RrType, Tags, Zone, bare_zone_id,
};
use crate::dns_name;
use crate::validate::normalize_regions;

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
        Self {
            client: Client::from_conf(config.build()),
        }
    }

    /// The SDK client, for test harnesses that set up zones.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// Map an SDK error to a port error with a fixed category.
fn error<E>(op: Operation, err: SdkError<E, HttpResponse>) -> Route53Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let context = causes(&err);
    let credentials = {
        let lower = context.to_ascii_lowercase();
        lower.contains("credential") || lower.contains("identity")
    };
    match &err {
        SdkError::TimeoutError(_) => Route53Error::new(op, ErrorKind::Timeout, context),
        SdkError::DispatchFailure(failure) if failure.is_timeout() => {
            Route53Error::new(op, ErrorKind::Timeout, context)
        }
        SdkError::DispatchFailure(failure) if failure.is_io() => {
            Route53Error::new(op, ErrorKind::Network, context)
        }
        SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_) if credentials => {
            Route53Error::new(
                op,
                ErrorKind::Credentials,
                format!("no usable AWS credentials: {context}"),
            )
        }
        SdkError::DispatchFailure(_) => Route53Error::new(op, ErrorKind::Network, context),
        SdkError::ConstructionFailure(_) => Route53Error::new(op, ErrorKind::InvalidInput, context),
        SdkError::ResponseError(response) => {
            let status = response.raw().status().as_u16();
            let kind = if status >= 500 {
                ErrorKind::ServerError
            } else {
                ErrorKind::Other
            };
            Route53Error::new(op, kind, context)
        }
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service.err().code().unwrap_or_default().to_string();
            let message = service.err().message().unwrap_or_default().to_string();
            let kind = classify(&code, status);
            let message = if message.is_empty() { context } else { message };
            Route53Error::new(op, kind, message).with_code(code)
        }
        _ => Route53Error::new(op, ErrorKind::Other, context),
    }
}

/// The error and its causes, each once: "dispatch failure: io error: connection refused".
fn causes(err: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&dyn std::error::Error> = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

fn classify(code: &str, status: u16) -> ErrorKind {
    match code {
        "Throttling"
        | "ThrottlingException"
        | "PriorRequestNotComplete"
        | "RequestLimitExceeded"
        | "TooManyRequestsException" => ErrorKind::Throttled,
        "NoSuchHealthCheck" | "NoSuchHostedZone" | "NoSuchChange" => ErrorKind::NotFound,
        "HealthCheckAlreadyExists" => ErrorKind::AlreadyExists,
        "HealthCheckInUse" => ErrorKind::InUse,
        "HealthCheckVersionMismatch" => ErrorKind::VersionMismatch,
        "InvalidChangeBatch" => ErrorKind::InvalidChangeBatch,
        "InvalidInput" | "InvalidArgument" | "InvalidDomainName" | "ValidationError" => {
            ErrorKind::InvalidInput
        }
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => {
            ErrorKind::AccessDenied
        }
        "InvalidClientTokenId"
        | "SignatureDoesNotMatch"
        | "ExpiredToken"
        | "ExpiredTokenException"
        | "UnrecognizedClientException"
        | "IncompleteSignature"
        | "MissingAuthenticationToken" => ErrorKind::Credentials,
        "TooManyHealthChecks" | "LimitsExceeded" => ErrorKind::LimitExceeded,
        _ if status == 429 => ErrorKind::Throttled,
        _ if status >= 500 => ErrorKind::ServerError,
        _ if status == 403 => ErrorKind::AccessDenied,
        _ => ErrorKind::Other,
    }
}

fn build_error(op: Operation, err: impl std::fmt::Display) -> Route53Error {
    Route53Error::new(
        op,
        ErrorKind::InvalidInput,
        format!("could not build the request: {err}"),
    )
}

fn zone_from(zone: &sdk::HostedZone) -> Zone {
    Zone {
        id: bare_zone_id(zone.id()),
        name: dns_name::normalize(zone.name()),
        private: zone.config().is_some_and(|c| c.private_zone()),
    }
}

fn record_from(record: &sdk::ResourceRecordSet) -> RecordSet {
    let other_routing = if record.weight().is_some() {
        Some("weighted")
    } else if record.region().is_some() {
        Some("latency")
    } else if record.geo_location().is_some() {
        Some("geolocation")
    } else if record.multi_value_answer().is_some() {
        Some("multivalue answer")
    } else if record.cidr_routing_config().is_some() {
        Some("IP-based")
    } else if record.geo_proximity_location().is_some() {
        Some("geoproximity")
    } else if record.traffic_policy_instance_id().is_some() {
        Some("traffic policy")
    } else {
        None
    };
    RecordSet {
        name: dns_name::normalize(record.name()),
        rr_type: RrType::parse(record.r#type().as_str()),
        set_identifier: record.set_identifier().map(str::to_string),
        failover: record.failover().and_then(|f| match f {
            sdk::ResourceRecordSetFailover::Primary => Some(Failover::Primary),
            sdk::ResourceRecordSetFailover::Secondary => Some(Failover::Secondary),
            _ => None,
        }),
        ttl: record.ttl(),
        values: record
            .resource_records()
            .iter()
            .map(|r| r.value().to_string())
            .collect(),
        alias: record.alias_target().map(|a| AliasTarget {
            dns_name: dns_name::normalize_host(a.dns_name()),
            hosted_zone_id: a.hosted_zone_id().to_string(),
            evaluate_target_health: a.evaluate_target_health(),
        }),
        health_check_id: record.health_check_id().map(str::to_string),
        other_routing: other_routing.map(str::to_string),
    }
}

fn record_to(
    record: &RecordSet,
) -> std::result::Result<sdk::ResourceRecordSet, aws_sdk_route53::error::BuildError> {
    let mut builder = sdk::ResourceRecordSet::builder()
        .name(&record.name)
        .r#type(sdk::RrType::from(record.rr_type.as_str()))
        .set_set_identifier(record.set_identifier.clone())
        .set_failover(
            record
                .failover
                .map(|f| sdk::ResourceRecordSetFailover::from(f.as_route53())),
        )
        .set_ttl(record.ttl)
        .set_health_check_id(record.health_check_id.clone());
    for value in &record.values {
        builder = builder.resource_records(sdk::ResourceRecord::builder().value(value).build()?);
    }
    if let Some(alias) = &record.alias {
        builder = builder.alias_target(
            sdk::AliasTarget::builder()
                .dns_name(&alias.dns_name)
                .hosted_zone_id(&alias.hosted_zone_id)
                .evaluate_target_health(alias.evaluate_target_health)
                .build()?,
        );
    }
    builder.build()
}

fn check_from(check: &sdk::HealthCheck) -> HealthCheck {
    let config = check.health_check_config();
    let kind = config.map_or(HealthCheckKind::Other(String::new()), |c| {
        HealthCheckKind::parse(c.r#type().as_str())
    });
    let http = kind.is_http_family();
    HealthCheck {
        id: check.id().to_string(),
        caller_reference: check.caller_reference().to_string(),
        version: check.health_check_version(),
        config: HealthCheckConfig {
            ip_address: config.and_then(|c| c.ip_address()).map(str::to_string),
            fqdn: config
                .and_then(|c| c.fully_qualified_domain_name())
                .map(dns_name::normalize_host),
            port: config
                .and_then(|c| c.port())
                .unwrap_or(if kind.is_https() { 443 } else { 80 }),
            resource_path: config
                .and_then(|c| c.resource_path())
                .map(str::to_string)
                .or_else(|| http.then(|| "/".to_string())),
            search_string: config.and_then(|c| c.search_string()).map(str::to_string),
            request_interval: config.and_then(|c| c.request_interval()).unwrap_or(30),
            failure_threshold: config.and_then(|c| c.failure_threshold()).unwrap_or(3),
            measure_latency: config.and_then(|c| c.measure_latency()).unwrap_or(false),
            inverted: config.and_then(|c| c.inverted()).unwrap_or(false),
            disabled: config.and_then(|c| c.disabled()).unwrap_or(false),
            enable_sni: kind.is_https() && config.and_then(|c| c.enable_sni()).unwrap_or(false),
            regions: normalize_regions(
                config
                    .map(|c| c.regions().iter().map(|r| r.as_str().to_string()).collect())
                    .unwrap_or_default(),
            ),
            kind,
        },
    }
}

fn check_config_to(
    config: &HealthCheckConfig,
) -> std::result::Result<sdk::HealthCheckConfig, aws_sdk_route53::error::BuildError> {
    sdk::HealthCheckConfig::builder()
        .r#type(sdk::HealthCheckType::from(config.kind.as_route53()))
        .set_ip_address(config.ip_address.clone())
        .set_fully_qualified_domain_name(config.fqdn.clone())
        .port(config.port)
        .set_resource_path(config.resource_path.clone())
        .set_search_string(config.search_string.clone())
        .request_interval(config.request_interval)
        .failure_threshold(config.failure_threshold)
        .measure_latency(config.measure_latency)
        .inverted(config.inverted)
        .disabled(config.disabled)
        .set_enable_sni(config.kind.is_https().then_some(config.enable_sni))
        .set_regions((!config.regions.is_empty()).then(|| {
            config
                .regions
                .iter()
                .map(|r| sdk::HealthCheckRegion::from(r.as_str()))
                .collect()
        }))
        .build()
}

fn tags_to(tags: &Tags) -> Vec<sdk::Tag> {
    tags.iter()
        .map(|(k, v)| sdk::Tag::builder().key(k).value(v).build())
        .collect()
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
        out.hosted_zone().map(zone_from).ok_or_else(|| {
            Route53Error::new(op, ErrorKind::Other, "the answer held no hosted zone")
        })
    }

    async fn list_hosted_zones_by_name(&self, name: &str) -> Result<Vec<Zone>> {
        let op = Operation::ListHostedZonesByName;
        let wanted = dns_name::normalize(name);
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
            .map_err(|e| match &e {
                SdkError::ServiceError(service) => match service.err() {
                    aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsError::InvalidChangeBatch(invalid) => {
                        let mut messages: Vec<String> = invalid.messages().to_vec();
                        messages.extend(invalid.message().map(str::to_string));
                        Route53Error::new(op, ErrorKind::InvalidChangeBatch, messages.join("; ")).with_code("InvalidChangeBatch")
                    }
                    _ => error(op, e),
                },
                _ => error(op, e),
            })?;
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

fn change_info(op: Operation, info: Option<&sdk::ChangeInfo>) -> Result<ChangeInfo> {
    let info = info
        .ok_or_else(|| Route53Error::new(op, ErrorKind::Other, "the answer held no change info"))?;
    Ok(ChangeInfo {
        id: info.id().trim_start_matches("/change/").to_string(),
        status: match info.status() {
            sdk::ChangeStatus::Insync => ChangeState::InSync,
            _ => ChangeState::Pending,
        },
    })
}
