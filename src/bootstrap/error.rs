//! Errors of the bootstrap stage, each one sentence naming what to fix. What any AWS call can
//! meet (credentials, permissions, throttling, the endpoint) is the AWS adapter's
//! [`AwsError`]; here is what is particular to the state bucket and the hosted zone.

pub use crate::adapters::aws::AwsError;

/// What went wrong while bootstrapping or nuking.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum BootstrapError {
    /// An AWS call failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Aws(#[from] AwsError),

    #[error(
        "these credentials belong to account {actual}, but the environment is for account {expected}"
    )]
    #[diagnostic(help(
        "use credentials of account {expected}, or change `account-id` in application.yml"
    ))]
    WrongAccount { expected: String, actual: String },

    #[error("the state bucket's derived name {name} is not a valid bucket name: {why}")]
    #[diagnostic(help("set `remote-state-store` in application.yml to a valid name of your own"))]
    BucketName { name: String, why: String },

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
}

/// Result of the bootstrap stage.
pub type Result<T, E = BootstrapError> = std::result::Result<T, E>;
