//! Route 53's failures in the port's terms: each SDK error becomes a
//! [`Route53Error`] whose [`ErrorKind`] decides retries and what people are
//! told.

use std::error::Error as StdError;

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_route53::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::error::ErrorMetadata;

use crate::route53::{ErrorKind, Operation, Route53Error};

/// Map an SDK error to a port error with a fixed category.
pub(super) fn error<E>(op: Operation, err: SdkError<E, HttpResponse>) -> Route53Error
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
pub(super) fn change_error(
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
pub(super) fn transient_credentials_failure(err: &(dyn StdError + 'static)) -> Option<ErrorKind> {
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
pub(super) fn causes(err: &dyn std::error::Error) -> String {
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

pub(super) fn classify(code: &str, status: u16) -> ErrorKind {
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
