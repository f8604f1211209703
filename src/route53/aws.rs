//! The AWS SDK adapter: the port over `aws-sdk-route53`.
//!
//! Retries are disabled in the SDK: [`super::resilient::Resilient`] owns them,
//! together with the rate limiter, so one budget governs every request.
//! Credentials and region come from the standard chain (environment, profile,
//! IRSA web identity, container and instance metadata). The endpoint can point
//! at an emulator through `--route53-endpoint`, `AWS_ENDPOINT_URL_ROUTE_53` or
//! `AWS_ENDPOINT_URL` (the SDK reads the two variables itself).

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::net::IpAddr;
use std::time::Duration;

use aws_config::environment::EnvironmentVariableRegionProvider;
use aws_config::meta::region::RegionProviderChain;
use aws_config::profile::ProfileFileRegionProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_route53::Client;
use aws_sdk_route53::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsError;
use aws_sdk_route53::types as sdk;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::error::ErrorMetadata;

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
        // The HTTP client refused the request before sending it, as it does
        // for an endpoint it cannot use. The same request would be refused
        // again, so retrying (as for Network) would never end.
        SdkError::DispatchFailure(failure) if failure.is_user() => Route53Error::new(
            op,
            ErrorKind::InvalidInput,
            format!(
                "the request could not be sent; check the Route 53 endpoint \
                 (--route53-endpoint, AWS_ENDPOINT_URL_ROUTE_53, AWS_ENDPOINT_URL) \
                 and the client settings: {context}"
            ),
        ),
        SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_) if credentials => {
            match transient_credentials_failure(&err) {
                Some(kind) => Route53Error::new(
                    op,
                    kind,
                    format!("AWS credentials could not be loaded for now: {context}"),
                ),
                None => Route53Error::new(
                    op,
                    ErrorKind::Credentials,
                    format!("no usable AWS credentials: {context}"),
                ),
            }
        }
        SdkError::DispatchFailure(_) => Route53Error::new(op, ErrorKind::Network, context),
        SdkError::ConstructionFailure(_) => Route53Error::new(op, ErrorKind::InvalidInput, context),
        SdkError::ResponseError(response) => {
            // No error code could be read, so the status is all there is: a
            // 429 or a 5xx whose body did not parse is still worth a retry.
            let status = response.raw().status().as_u16();
            let kind = match status {
                429 => ErrorKind::Throttled,
                500.. => ErrorKind::ServerError,
                _ => ErrorKind::Other,
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

/// Map a ChangeResourceRecordSets error. Route 53 rejects the whole batch
/// with `InvalidChangeBatch`, `NoSuchHealthCheck` (a record refers to a check
/// that does not exist) or `InvalidInput` (a value it refuses); in each case
/// nothing applied and the fault lies with one record's group. All three are
/// reported as [`ErrorKind::InvalidChangeBatch`], the kind on which
/// `reconcile::Engine::submit` splits a shared batch to apply the other
/// groups. The message names the record or check at fault.
fn change_error(
    op: Operation,
    err: SdkError<ChangeResourceRecordSetsError, HttpResponse>,
) -> Route53Error {
    let rejected = |code: &str, message: Option<&str>, err: &dyn StdError| {
        let message = message
            .filter(|m| !m.is_empty())
            .map_or_else(|| causes(err), str::to_string);
        Route53Error::new(op, ErrorKind::InvalidChangeBatch, message).with_code(code)
    };
    match &err {
        SdkError::ServiceError(service) => match service.err() {
            ChangeResourceRecordSetsError::InvalidChangeBatch(invalid) => {
                let mut messages: Vec<String> = invalid.messages().to_vec();
                messages.extend(invalid.message().map(str::to_string));
                Route53Error::new(op, ErrorKind::InvalidChangeBatch, messages.join("; "))
                    .with_code("InvalidChangeBatch")
            }
            ChangeResourceRecordSetsError::NoSuchHealthCheck(missing) => {
                rejected("NoSuchHealthCheck", missing.message(), &err)
            }
            ChangeResourceRecordSetsError::InvalidInput(invalid) => {
                rejected("InvalidInput", invalid.message(), &err)
            }
            _ => error(op, err),
        },
        _ => error(op, err),
    }
}

/// The retryable kind of a credentials failure that should pass by itself,
/// or None when someone must fix the credentials or their configuration.
///
/// Identity resolution fails before anything is sent, so the SDK reports it
/// as a dispatch failure whose causes hold the provider's
/// [`CredentialsError`]. Without this, a slow or throttled STS or instance
/// metadata service would read as missing credentials, which is not retried.
fn transient_credentials_failure(err: &(dyn StdError + 'static)) -> Option<ErrorKind> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(failure) = e.downcast_ref::<CredentialsError>() {
            return match failure {
                CredentialsError::ProviderTimedOut(_) => Some(ErrorKind::Timeout),
                // "May occur during normal use", such as a 503 from STS: look
                // at what the provider ran into.
                CredentialsError::ProviderError(_) => transient_cause(e.source()),
                // Not loaded, badly configured, or unexpected data: retrying
                // changes nothing.
                _ => None,
            };
        }
        // The SDK's identity cache gives up on a provider after a load
        // timeout with an error type it does not export; its message (in
        // aws-smithy-runtime 1.16) is the only way to recognise it.
        if e.to_string().starts_with("identity resolver timed out") {
            return Some(ErrorKind::Timeout);
        }
        current = e.source();
    }
    None
}

/// The retryable kind of a credentials provider's own failure: its request to
/// STS or instance metadata timed out, could not connect, or was throttled.
fn transient_cause(start: Option<&(dyn StdError + 'static)>) -> Option<ErrorKind> {
    let mut current = start;
    while let Some(e) = current {
        if let Some(connector) = e.downcast_ref::<ConnectorError>() {
            if connector.is_timeout() {
                return Some(ErrorKind::Timeout);
            }
            if connector.is_io() {
                return Some(ErrorKind::Network);
            }
        }
        // An STS error code the SDK does not model, such as `Throttling`,
        // keeps its metadata as the error's source.
        if let Some(code) = e.downcast_ref::<ErrorMetadata>().and_then(|m| m.code()) {
            let kind = classify(code, 0);
            if kind.is_retryable() {
                return Some(kind);
            }
        }
        current = e.source();
    }
    None
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
        // The request arrived too late or too slowly (a stalled connection, a
        // long queue); a retry is signed and sent afresh.
        "RequestExpired" | "RequestTimeout" => ErrorKind::Timeout,
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
            ip_address: config.and_then(|c| c.ip_address()).map(canonical_ip),
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

/// Route 53 returns IPv6 addresses in long form (`2001:db8:0:0:0:0:0:1`);
/// the desired config holds the canonical form (`2001:db8::1`), so compare in
/// that form or the check would look changed on every pass. Anything that is
/// not an address is kept as sent.
fn canonical_ip(raw: &str) -> String {
    raw.parse::<IpAddr>()
        .map_or_else(|_| raw.to_string(), |ip| ip.to_string())
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::credential_fn::provide_credentials_fn;
    use aws_sdk_route53::operation::get_hosted_zone::GetHostedZoneError;
    use aws_sdk_route53::types::error::{InvalidInput, NoSuchHealthCheck, NoSuchHostedZone};
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    type TestResult = std::result::Result<(), Box<dyn StdError>>;

    fn response(status: u16) -> std::result::Result<HttpResponse, Box<dyn StdError>> {
        Ok(HttpResponse::new(
            StatusCode::try_from(status)?,
            SdkBody::empty(),
        ))
    }

    /// A service error Route 53 sent with `code`, for an operation without a
    /// special mapping.
    fn service_error(
        code: &str,
        status: u16,
    ) -> std::result::Result<Route53Error, Box<dyn StdError>> {
        let err = GetHostedZoneError::generic(
            ErrorMetadata::builder()
                .code(code)
                .message(format!("{code} happened"))
                .build(),
        );
        Ok(error(
            Operation::GetHostedZone,
            SdkError::service_error(err, response(status)?),
        ))
    }

    /// What the orchestrator makes of a failed identity resolution: a
    /// dispatch failure around the provider's error (checked against the real
    /// client in `identity_failures_reach_the_mapping_as_dispatch_failures`).
    fn identity_failure(
        source: impl Into<aws_smithy_runtime_api::box_error::BoxError>,
    ) -> Route53Error {
        let err: SdkError<GetHostedZoneError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::other(source.into(), None));
        error(Operation::GetHostedZone, err)
    }

    fn health_check_with_ip(ip: &str) -> std::result::Result<sdk::HealthCheck, Box<dyn StdError>> {
        Ok(sdk::HealthCheck::builder()
            .id("hc-1")
            .caller_reference("ref-1")
            .health_check_version(1)
            .health_check_config(
                sdk::HealthCheckConfig::builder()
                    .r#type(sdk::HealthCheckType::Http)
                    .ip_address(ip)
                    .build()?,
            )
            .build()?)
    }

    #[test]
    fn check_from_writes_ipv6_addresses_in_canonical_form() -> TestResult {
        let check = check_from(&health_check_with_ip("1234:5678:9abc:6811:0:0:0:4")?);
        assert_eq!(
            check.config.ip_address.as_deref(),
            Some("1234:5678:9abc:6811::4")
        );
        let check = check_from(&health_check_with_ip("2001:DB8:0:0:0:0:0:1")?);
        assert_eq!(check.config.ip_address.as_deref(), Some("2001:db8::1"));
        Ok(())
    }

    #[test]
    fn check_from_keeps_ipv4_and_unparsable_addresses_as_sent() -> TestResult {
        let check = check_from(&health_check_with_ip("192.0.2.10")?);
        assert_eq!(check.config.ip_address.as_deref(), Some("192.0.2.10"));
        let check = check_from(&health_check_with_ip("not-an-address")?);
        assert_eq!(check.config.ip_address.as_deref(), Some("not-an-address"));
        Ok(())
    }

    #[test]
    fn change_error_reports_a_missing_health_check_as_an_invalid_batch() -> TestResult {
        let err = ChangeResourceRecordSetsError::NoSuchHealthCheck(
            NoSuchHealthCheck::builder()
                .message("No health check exists with the specified ID hc-404")
                .build(),
        );
        let mapped = change_error(
            Operation::ChangeResourceRecordSets,
            SdkError::service_error(err, response(404)?),
        );
        assert_eq!(mapped.kind, ErrorKind::InvalidChangeBatch);
        assert_eq!(mapped.code.as_deref(), Some("NoSuchHealthCheck"));
        assert!(mapped.message.contains("hc-404"), "{}", mapped.message);
        Ok(())
    }

    #[test]
    fn change_error_reports_invalid_input_as_an_invalid_batch() -> TestResult {
        let err = ChangeResourceRecordSetsError::InvalidInput(
            InvalidInput::builder()
                .message("Invalid XML ; value 999.1.1.1 is not an IPv4 address")
                .build(),
        );
        let mapped = change_error(
            Operation::ChangeResourceRecordSets,
            SdkError::service_error(err, response(400)?),
        );
        assert_eq!(mapped.kind, ErrorKind::InvalidChangeBatch);
        assert_eq!(mapped.code.as_deref(), Some("InvalidInput"));
        assert!(mapped.message.contains("999.1.1.1"), "{}", mapped.message);
        Ok(())
    }

    #[test]
    fn change_error_without_a_message_falls_back_to_the_error_text() -> TestResult {
        let err =
            ChangeResourceRecordSetsError::NoSuchHealthCheck(NoSuchHealthCheck::builder().build());
        let mapped = change_error(
            Operation::ChangeResourceRecordSets,
            SdkError::service_error(err, response(404)?),
        );
        assert_eq!(mapped.kind, ErrorKind::InvalidChangeBatch);
        assert!(
            mapped.message.contains("NoSuchHealthCheck"),
            "{}",
            mapped.message
        );
        Ok(())
    }

    #[test]
    fn change_error_keeps_a_missing_zone_as_not_found() -> TestResult {
        // The whole zone is gone: splitting the batch would not help.
        let err = ChangeResourceRecordSetsError::NoSuchHostedZone(
            NoSuchHostedZone::builder()
                .message("No hosted zone found with ID: Z1")
                .meta(ErrorMetadata::builder().code("NoSuchHostedZone").build())
                .build(),
        );
        let mapped = change_error(
            Operation::ChangeResourceRecordSets,
            SdkError::service_error(err, response(404)?),
        );
        assert_eq!(mapped.kind, ErrorKind::NotFound);
        Ok(())
    }

    #[test]
    fn other_operations_keep_no_such_health_check_as_not_found() -> TestResult {
        assert_eq!(
            service_error("NoSuchHealthCheck", 404)?.kind,
            ErrorKind::NotFound
        );
        assert_eq!(
            service_error("InvalidInput", 400)?.kind,
            ErrorKind::InvalidInput
        );
        Ok(())
    }

    #[test]
    fn unparsed_responses_are_classified_by_status() -> TestResult {
        let kind = |status| -> std::result::Result<ErrorKind, Box<dyn StdError>> {
            let err: SdkError<GetHostedZoneError, HttpResponse> =
                SdkError::response_error("the body did not parse", response(status)?);
            Ok(error(Operation::GetHostedZone, err).kind)
        };
        assert_eq!(kind(429)?, ErrorKind::Throttled);
        assert_eq!(kind(500)?, ErrorKind::ServerError);
        assert_eq!(kind(503)?, ErrorKind::ServerError);
        assert_eq!(kind(400)?, ErrorKind::Other);
        Ok(())
    }

    #[test]
    fn requests_the_client_refuses_to_send_are_not_retried() {
        let err: SdkError<GetHostedZoneError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::user("invalid uri character".into()));
        let mapped = error(Operation::GetHostedZone, err);
        assert_eq!(mapped.kind, ErrorKind::InvalidInput);
        assert!(!mapped.kind.is_retryable());
        assert!(mapped.message.contains("endpoint"), "{}", mapped.message);
        assert!(
            mapped.message.contains("invalid uri character"),
            "{}",
            mapped.message
        );
    }

    #[test]
    fn connection_failures_stay_network_errors() {
        let err: SdkError<GetHostedZoneError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::io("connection refused".into()));
        assert_eq!(
            error(Operation::GetHostedZone, err).kind,
            ErrorKind::Network
        );
    }

    #[test]
    fn expired_and_timed_out_requests_are_timeouts() -> TestResult {
        assert_eq!(
            service_error("RequestExpired", 400)?.kind,
            ErrorKind::Timeout
        );
        assert_eq!(
            service_error("RequestTimeout", 400)?.kind,
            ErrorKind::Timeout
        );
        assert_eq!(
            service_error("ExpiredToken", 403)?.kind,
            ErrorKind::Credentials
        );
        assert_eq!(
            service_error("ExpiredTokenException", 400)?.kind,
            ErrorKind::Credentials
        );
        Ok(())
    }

    #[test]
    fn timed_out_credential_providers_are_timeouts() {
        let mapped = identity_failure(CredentialsError::provider_timed_out(Duration::from_secs(5)));
        assert_eq!(mapped.kind, ErrorKind::Timeout);
        assert!(mapped.message.contains("credentials"), "{}", mapped.message);

        // The identity cache's own load timeout, an unexported type.
        let mapped = identity_failure(std::io::Error::other(
            "identity resolver timed out after 5s",
        ));
        assert_eq!(mapped.kind, ErrorKind::Timeout);
    }

    #[test]
    fn provider_errors_from_unreachable_or_throttled_services_are_retryable() -> TestResult {
        let io = CredentialsError::provider_error(ConnectorError::io("connection reset".into()));
        assert_eq!(identity_failure(io).kind, ErrorKind::Network);

        let slow = CredentialsError::provider_error(ConnectorError::timeout("read timeout".into()));
        assert_eq!(identity_failure(slow).kind, ErrorKind::Timeout);

        // The shape of an STS error the SDK does not model: an SDK error
        // whose operation error keeps the metadata as its source.
        let throttled: SdkError<GetHostedZoneError, HttpResponse> = SdkError::service_error(
            GetHostedZoneError::generic(ErrorMetadata::builder().code("Throttling").build()),
            response(400)?,
        );
        let mapped = identity_failure(CredentialsError::provider_error(throttled));
        assert_eq!(mapped.kind, ErrorKind::Throttled);
        Ok(())
    }

    #[test]
    fn credentials_that_need_fixing_are_not_retried() -> TestResult {
        let cases = [
            CredentialsError::not_loaded("no providers in chain provided credentials"),
            CredentialsError::invalid_configuration("profile loops"),
            CredentialsError::unhandled("not UTF-8"),
            // Reading the web identity token file failed.
            CredentialsError::provider_error(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "token file missing",
            )),
            CredentialsError::provider_error(
                SdkError::<GetHostedZoneError, HttpResponse>::service_error(
                    GetHostedZoneError::generic(
                        ErrorMetadata::builder().code("AccessDenied").build(),
                    ),
                    response(403)?,
                ),
            ),
        ];
        for case in cases {
            let text = case.to_string();
            let mapped = identity_failure(case);
            assert_eq!(mapped.kind, ErrorKind::Credentials, "{text}");
            assert!(
                mapped.message.starts_with("no usable AWS credentials"),
                "{}",
                mapped.message
            );
        }
        Ok(())
    }

    /// Check the shape the tests above build by hand against the SDK itself:
    /// a provider's failure must come back as a dispatch failure carrying the
    /// `CredentialsError`. Identity is resolved before any connection, so
    /// nothing is sent.
    #[tokio::test]
    async fn identity_failures_reach_the_mapping_as_dispatch_failures() {
        async fn kind_when(failure: fn() -> CredentialsError) -> ErrorKind {
            let config = aws_sdk_route53::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new(DEFAULT_REGION))
                .endpoint_url("http://127.0.0.1:9")
                .http_client(
                    aws_smithy_http_client::Builder::new()
                        .tls_provider(Provider::Rustls(CryptoMode::Ring))
                        .build_https(),
                )
                .retry_config(RetryConfig::disabled())
                .credentials_provider(provide_credentials_fn(
                    move || async move { Err(failure()) },
                ))
                .build();
            let client = Client::from_conf(config);
            match client.get_hosted_zone().id("Z1").send().await {
                Ok(_) => ErrorKind::Other,
                Err(e) => {
                    assert!(matches!(e, SdkError::DispatchFailure(_)), "{e:?}");
                    error(Operation::GetHostedZone, e).kind
                }
            }
        }
        assert_eq!(
            kind_when(|| CredentialsError::provider_timed_out(Duration::from_secs(5))).await,
            ErrorKind::Timeout
        );
        assert_eq!(
            kind_when(|| CredentialsError::not_loaded("nothing configured")).await,
            ErrorKind::Credentials
        );
    }
}
