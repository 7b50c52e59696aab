//! The real AWS clients, configured by aws-config's standard chain (environment, profiles, SSO,
//! IMDS) plus an optional endpoint for emulators, with bounded retries and timeouts.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// Result of an AWS call.
pub type Result<T, E = AwsError> = std::result::Result<T, E>;

/// One environment's AWS clients.
#[derive(Debug, Clone)]
pub struct Aws {
    pub s3: aws_sdk_s3::Client,
    pub route53: aws_sdk_route53::Client,
    pub sts: aws_sdk_sts::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub rds: aws_sdk_rds::Client,
    pub secretsmanager: aws_sdk_secretsmanager::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
    pub region: String,
    /// The configuration the clients were made from: credentials and endpoint, for the one
    /// call made without an SDK client (`adapters::ec2`).
    pub conf: aws_config::SdkConfig,
}

/// Whose credentials an environment deploys with, beside the default chain: a profile of the
/// AWS config files, then a role assumed with them (another account, say). Terraform gets the
/// same credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    pub profile: Option<String>,
    pub role_arn: Option<String>,
}

/// The SDK configuration for `region` with `access`; `endpoint_url` (or `AWS_ENDPOINT_URL`)
/// points it at an emulator.
pub async fn sdk_config(
    region: &str,
    endpoint_url: Option<&str>,
    access: &Access,
) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(5)
                .with_max_backoff(Duration::from_secs(8)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(30))
                .operation_timeout(Duration::from_secs(120))
                .build(),
        );
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some(profile) = &access.profile {
        // the profile's own credentials, even where AWS_ACCESS_KEY_ID is set (CI): the default
        // chain would take those first
        loader = loader.profile_name(profile).credentials_provider(
            aws_config::profile::ProfileFileCredentialsProvider::builder()
                .profile_name(profile)
                .build(),
        );
    }
    let base = loader.load().await;
    let Some(role) = &access.role_arn else {
        return base;
    };
    let assumed = aws_config::sts::AssumeRoleProvider::builder(role)
        .session_name("exo-deploy")
        .configure(&base)
        .build()
        .await;
    base.into_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(assumed),
        )
        .build()
}

impl Aws {
    /// Clients for `region` with `access`; `endpoint_url` (or `AWS_ENDPOINT_URL`) points them
    /// at an emulator, in which case S3 uses path-style addressing.
    pub async fn connect(region: &str, endpoint_url: Option<&str>, access: &Access) -> Self {
        let conf = sdk_config(region, endpoint_url, access).await;
        Self::from_config(&conf, region)
    }

    /// Clients from an SDK configuration made elsewhere (tests, embedding programs).
    pub fn from_config(conf: &aws_config::SdkConfig, region: &str) -> Self {
        let emulator = conf.endpoint_url().is_some();
        let s3_conf = aws_sdk_s3::config::Builder::from(conf)
            .force_path_style(emulator)
            .build();
        Aws {
            s3: aws_sdk_s3::Client::from_conf(s3_conf),
            route53: aws_sdk_route53::Client::new(conf),
            sts: aws_sdk_sts::Client::new(conf),
            ecr: aws_sdk_ecr::Client::new(conf),
            ecs: aws_sdk_ecs::Client::new(conf),
            rds: aws_sdk_rds::Client::new(conf),
            secretsmanager: aws_sdk_secretsmanager::Client::new(conf),
            logs: aws_sdk_cloudwatchlogs::Client::new(conf),
            ssm: aws_sdk_ssm::Client::new(conf),
            elbv2: aws_sdk_elasticloadbalancingv2::Client::new(conf),
            autoscaling: aws_sdk_applicationautoscaling::Client::new(conf),
            region: region.to_string(),
            conf: conf.clone(),
        }
    }

    /// The value of a Secrets Manager secret (name or ARN): exo-deploy reads one only to sign
    /// its own webhooks or to learn a webhook's url, and never writes it anywhere.
    pub async fn secret_value(&self, id: &str) -> Result<String> {
        let out = self
            .secretsmanager
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| classify("secretsmanager:GetSecretValue", id, e))?;
        out.secret_string()
            .map(str::to_string)
            .ok_or_else(|| AwsError::Api {
                operation: "secretsmanager:GetSecretValue",
                target: id.into(),
                message: "the secret holds no string".into(),
            })
    }

    /// The value of an SSM parameter (name or ARN), decrypted.
    pub async fn parameter_value(&self, name: &str) -> Result<String> {
        let out = self
            .ssm
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| classify("ssm:GetParameter", name, e))?;
        out.parameter()
            .and_then(|p| p.value())
            .map(str::to_string)
            .ok_or_else(|| AwsError::Api {
                operation: "ssm:GetParameter",
                target: name.into(),
                message: "the parameter holds no value".into(),
            })
    }

    /// The account the credentials belong to.
    pub async fn account(&self) -> Result<String> {
        let me = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| classify("sts:GetCallerIdentity", "the caller", e))?;
        Ok(me.account().unwrap_or_default().to_string())
    }
}

/// The AWS partition of a region, for ARNs.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// What any AWS call can meet, sorted into the few kinds a user can act on by [`classify`].
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum AwsError {
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

    #[error("{operation} on {target} failed: {message}")]
    Api {
        operation: &'static str,
        target: String,
        message: String,
    },
}

/// Sorts an SDK error into what the user can do about it.
pub fn classify<E>(
    operation: &'static str,
    target: &str,
    err: SdkError<E, HttpResponse>,
) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let target = target.to_string();
    let lower = DisplayErrorContext(&err).to_string().to_ascii_lowercase();
    if lower.contains("loading credentials")
        || lower.contains("provided credentials")
        || lower.contains("no credentials")
    {
        return AwsError::NoCredentials;
    }
    let detail = innermost(&err);
    match &err {
        SdkError::ServiceError(_) => {
            let code = err.code().unwrap_or_default().to_string();
            match code.as_str() {
                "AccessDenied" | "AccessDeniedException" | "Forbidden" | "AuthorizationError" => {
                    AwsError::AccessDenied { operation, target }
                }
                "ExpiredToken"
                | "ExpiredTokenException"
                | "RequestExpired"
                | "TokenRefreshRequired" => AwsError::CredentialsExpired,
                "InvalidClientTokenId"
                | "InvalidAccessKeyId"
                | "SignatureDoesNotMatch"
                | "UnrecognizedClientException" => AwsError::CredentialsInvalid { code },
                "Throttling"
                | "ThrottlingException"
                | "SlowDown"
                | "TooManyRequestsException"
                | "RequestLimitExceeded"
                | "PriorRequestNotComplete" => AwsError::Throttled { operation, target },
                _ if code.is_empty()
                    && err
                        .raw_response()
                        .is_some_and(|r| r.status().as_u16() == 403) =>
                {
                    AwsError::AccessDenied { operation, target }
                }
                _ => AwsError::Api {
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
        SdkError::TimeoutError(_) => AwsError::Unreachable {
            operation,
            detail: "timed out".into(),
        },
        SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => {
            AwsError::Unreachable { operation, detail }
        }
        _ => AwsError::Api {
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
