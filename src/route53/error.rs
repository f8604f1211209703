//! Errors of the Route 53 port, each with a fixed category that decides retries
//! and what the user is told.

use serde::Serialize;

/// The Route 53 API operations this tool uses. The list and the names are
/// derived: the rate limiter's table, the metrics labels and the IAM policy
/// test all read [`Operation::ALL`] and [`Operation::as_str`].
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    strum::Display,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
pub enum Operation {
    GetHostedZone,
    ListHostedZones,
    ListHostedZonesByName,
    ListResourceRecordSets,
    ChangeResourceRecordSets,
    GetChange,
    ListHealthChecks,
    CreateHealthCheck,
    UpdateHealthCheck,
    DeleteHealthCheck,
    GetHealthCheckStatus,
    ListTagsForResources,
    ChangeTagsForResource,
}

impl Operation {
    pub const ALL: &'static [Operation] = <Self as strum::VariantArray>::VARIANTS;

    /// The API action's name, as in IAM policies and metric labels.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Whether the operation changes anything in Route 53.
    pub fn is_write(self) -> bool {
        matches!(
            self,
            Self::ChangeResourceRecordSets
                | Self::CreateHealthCheck
                | Self::UpdateHealthCheck
                | Self::DeleteHealthCheck
                | Self::ChangeTagsForResource
        )
    }
}

/// What went wrong, independent of how the adapter learned it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, strum::IntoStaticStr)]
pub enum ErrorKind {
    /// `Throttling` or `PriorRequestNotComplete`: the account's or the zone's
    /// request budget is spent for now.
    Throttled,
    /// No answer in time.
    Timeout,
    /// The connection could not be made or broke.
    Network,
    /// Route 53 answered 5xx.
    ServerError,
    /// `NoSuchHealthCheck`, `NoSuchHostedZone`, `NoSuchChange`.
    NotFound,
    /// `HealthCheckAlreadyExists`: the caller reference belongs to another
    /// check, or to a deleted one.
    AlreadyExists,
    /// `HealthCheckInUse`: a record set still refers to the check.
    InUse,
    /// `HealthCheckVersionMismatch`: the check changed since it was read.
    VersionMismatch,
    /// `InvalidChangeBatch`: Route 53 refused the batch; nothing in it applied.
    InvalidChangeBatch,
    /// The request itself was malformed or a value was not allowed.
    InvalidInput,
    /// No credentials, or Route 53 rejected them.
    Credentials,
    /// The credentials are valid but lack a permission.
    AccessDenied,
    /// An account quota is used up, such as the number of health checks.
    LimitExceeded,
    /// This process chose not to send the request: a wrapper of the port
    /// refuses it (the controller's lease gate refuses writes once the lease
    /// is lost; the controller reports that as its own error).
    Refused,
    /// Injected by the fake: the process stopped at this call.
    #[cfg(any(test, feature = "testing"))]
    Aborted,
    Other,
}

impl ErrorKind {
    /// Worth trying the same request again after a pause.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            Self::Throttled | Self::Timeout | Self::Network | Self::ServerError
        )
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A failed Route 53 request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("Route 53 {operation} failed ({}): {message}", kind.as_str())]
pub struct Route53Error {
    pub operation: Operation,
    pub kind: ErrorKind,
    /// Route 53's error code, when it sent one.
    pub code: Option<String>,
    pub message: String,
}

impl Route53Error {
    pub fn new(operation: Operation, kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            operation,
            kind,
            code: None,
            message: message.into(),
        }
    }

    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }
}
