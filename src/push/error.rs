//! Errors of the push stage. Each names the service and says what to fix.

/// What went wrong while building or pushing images.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PushError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Docker(#[from] crate::adapters::docker::DockerError),

    #[error("building the image of `{role}` failed:\n{output}")]
    #[diagnostic(help("fix the Dockerfile in {context}; the failing step's output is above"))]
    BuildFailed {
        role: String,
        context: String,
        output: String,
    },

    #[error("{registry} refused the credentials for `{role}` ({detail})")]
    #[diagnostic(help(
        "credentials were looked up in {looked_up}; log in with `docker login {registry}`"
    ))]
    AuthFailed {
        role: String,
        registry: String,
        looked_up: String,
        detail: String,
    },

    #[error("cannot reach the registry {registry}: {detail}")]
    #[diagnostic(help("check the registry address (--registry) and the network"))]
    RegistryUnreachable { registry: String, detail: String },

    #[error("pushing the image of `{role}` failed: {detail}")]
    #[diagnostic(help("run again: layers already pushed are not sent twice"))]
    PushFailed { role: String, detail: String },

    #[error("reading the build context of `{role}` failed: {detail}")]
    Context { role: String, detail: String },

    #[error("the credential helper docker-credential-{helper} failed for {registry}: {detail}")]
    #[diagnostic(help(
        "check that docker-credential-{helper} is installed and logged in, or edit ~/.docker/config.json"
    ))]
    CredentialHelper {
        helper: String,
        registry: String,
        detail: String,
    },

    #[error("interrupted: {done} of {total} images were pushed")]
    #[diagnostic(help("run again to finish: what is already in the registry is not pushed twice"))]
    Interrupted { done: usize, total: usize },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Aws(#[from] crate::adapters::aws::AwsError),
}

/// Result of the push stage.
pub type Result<T, E = PushError> = std::result::Result<T, E>;
