//! Errors of the bootstrap stage, each one sentence naming what to fix. SDK errors are sorted
//! into the few kinds a user can act on (credentials, account, permissions, throttling, the
//! endpoint) by [`classify`].

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// What went wrong while bootstrapping or nuking.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum BootstrapError {
    #[error("no AWS credentials were found")]
    #[diagnostic(help(
        "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or AWS_PROFILE for a profile in ~/.aws (run `aws sso login` for SSO profiles)"
    ))]
    NoCredentials,

    #[error("the AWS credentials are expired")]
    #[diagnostic(help("refresh them (for SSO: `aws sso login`) and run again"))]
    CredentialsExpired,

    #[error("AWS does not accept these credentials ({code})")]
    #[diagnostic(help(
        "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the profile in AWS_PROFILE"
    ))]
    CredentialsInvalid { code: String },

    #[error(
        "these credentials belong to account {actual}, but the environment is for account {expected}"
    )]
    #[diagnostic(help(
        "use credentials of account {expected}, or change `account-id` in application.yml"
    ))]
    WrongAccount { expected: String, actual: String },

    #[error("access denied: {operation} on {target}")]
    #[diagnostic(help("the credentials need the permissions in docs/iam-policy.json"))]
    AccessDenied {
        operation: &'static str,
        target: String,
    },

    #[error("AWS kept throttling {operation} on {target}, also after retrying with backoff")]
    #[diagnostic(help("wait a minute and run again; nothing was left half-done"))]
    Throttled {
        operation: &'static str,
        target: String,
    },

    #[error("cannot reach the AWS endpoint for {operation}: {detail}")]
    #[diagnostic(help(
        "check the network, or AWS_ENDPOINT_URL / --endpoint-url when using an emulator"
    ))]
    Unreachable {
        operation: &'static str,
        detail: String,
    },

    #[error("the bucket {bucket} exists but belongs to another AWS account")]
    #[diagnostic(help(
        "bucket names are global: set `remote-state-store` in application.yml to a name of your own"
    ))]
    BucketOwnedByOther { bucket: String },

    #[error("the bucket {bucket} is in {actual}, but the environment is in {expected}")]
    #[diagnostic(help(
        "set `remote-state-store` to a bucket in {expected}, or delete the other bucket"
    ))]
    BucketInOtherRegion {
        bucket: String,
        expected: String,
        actual: String,
    },

    #[error("{count} hosted zones are named {domain}: {ids}")]
    #[diagnostic(help(
        "say which one to use with `hosted-zone-id: ID` in the environment's settings"
    ))]
    SeveralZones {
        domain: String,
        count: usize,
        ids: String,
    },

    #[error("the hosted zone {id} does not exist, or is not named {domain}")]
    #[diagnostic(help(
        "fix `hosted-zone-id` in application.yml, or remove it to look the zone up by name"
    ))]
    ZoneMismatch { id: String, domain: String },

    #[error(
        "the Terraform state of {key} still records {count} resources: they must be destroyed first"
    )]
    #[diagnostic(help(
        "run `exo-deploy --teardown` (or `exo-deploy terraform -- destroy`, in {out}), then --nuke again"
    ))]
    StateNotEmpty {
        key: String,
        count: usize,
        out: String,
    },

    #[error("{operation} on {target} failed: {message}")]
    Api {
        operation: &'static str,
        target: String,
        message: String,
    },
}

/// Result of the bootstrap stage.
pub type Result<T, E = BootstrapError> = std::result::Result<T, E>;

/// Sorts an SDK error into what the user can do about it.
pub fn classify<E>(
    operation: &'static str,
    target: &str,
    err: SdkError<E, HttpResponse>,
) -> BootstrapError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let target = target.to_string();
    let lower = DisplayErrorContext(&err).to_string().to_ascii_lowercase();
    if lower.contains("loading credentials")
        || lower.contains("provided credentials")
        || lower.contains("no credentials")
    {
        return BootstrapError::NoCredentials;
    }
    let detail = innermost(&err);
    match &err {
        SdkError::ServiceError(_) => {
            let code = err.code().unwrap_or_default().to_string();
            match code.as_str() {
                "AccessDenied" | "AccessDeniedException" | "Forbidden" | "AuthorizationError" => {
                    BootstrapError::AccessDenied { operation, target }
                }
                "ExpiredToken"
                | "ExpiredTokenException"
                | "RequestExpired"
                | "TokenRefreshRequired" => BootstrapError::CredentialsExpired,
                "InvalidClientTokenId"
                | "InvalidAccessKeyId"
                | "SignatureDoesNotMatch"
                | "UnrecognizedClientException" => BootstrapError::CredentialsInvalid { code },
                "Throttling"
                | "ThrottlingException"
                | "SlowDown"
                | "TooManyRequestsException"
                | "RequestLimitExceeded"
                | "PriorRequestNotComplete" => BootstrapError::Throttled { operation, target },
                _ if code.is_empty()
                    && err
                        .raw_response()
                        .is_some_and(|r| r.status().as_u16() == 403) =>
                {
                    BootstrapError::AccessDenied { operation, target }
                }
                _ => BootstrapError::Api {
                    operation,
                    target,
                    message: match (err.message(), code.is_empty()) {
                        (Some(m), _) => m.to_string(),
                        (None, false) => code.clone(),
                        (None, true) => format!(
                            "unexpected answer (HTTP {})",
                            err.raw_response().map_or(0, |r| r.status().as_u16())
                        ),
                    },
                },
            }
        }
        SdkError::TimeoutError(_) => BootstrapError::Unreachable {
            operation,
            detail: "timed out".into(),
        },
        SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => {
            BootstrapError::Unreachable { operation, detail }
        }
        _ => BootstrapError::Api {
            operation,
            target,
            message: detail,
        },
    }
}

/// The innermost cause's message, which is the informative part of a chain.
pub(crate) fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut last = err;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}
