//! How the adapter maps SDK answers and failures to the port's terms.

use std::error::Error as StdError;

use super::classify::*;
use super::*;
use aws_credential_types::credential_fn::provide_credentials_fn;
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_route53::error::SdkError;
use aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsError;
use aws_sdk_route53::operation::get_hosted_zone::GetHostedZoneError;
use aws_sdk_route53::types::error::{InvalidInput, NoSuchHealthCheck, NoSuchHostedZone};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::ErrorMetadata;

type TestResult = std::result::Result<(), Box<dyn StdError>>;

fn response(status: u16) -> std::result::Result<HttpResponse, Box<dyn StdError>> {
    Ok(HttpResponse::new(
        StatusCode::try_from(status)?,
        SdkBody::empty(),
    ))
}

/// A service error Route 53 sent with `code`, for an operation without a
/// special mapping.
fn service_error(code: &str, status: u16) -> std::result::Result<Route53Error, Box<dyn StdError>> {
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
                GetHostedZoneError::generic(ErrorMetadata::builder().code("AccessDenied").build()),
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
