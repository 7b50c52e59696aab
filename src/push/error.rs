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

    #[error("{image} already exists and does not hold what `{role}`'s folder builds ({why})")]
    #[diagnostic(help(
        "a given --tag never silently deploys other code: push under a new tag, or pass --force-tag to move this one (ECR repositories exo-deploy creates keep their tags immutable: there, use a new tag)"
    ))]
    TagTaken {
        role: String,
        image: String,
        why: String,
    },

    #[error("{image} (the image of `{role}` in that release) is no longer in its registry")]
    #[diagnostic(help(
        "nothing was changed. Registries expire old images: exo-deploy keeps the images of each environment's last `keep-releases` releases (10 by default) in the ECR repositories it creates, and nothing elsewhere. Pick a newer release (`exo-deploy history`), or check out that release's commit and deploy it, which rebuilds the images"
    ))]
    ReleasedImageGone { role: String, image: String },

    #[error("copying the image of `{role}` from {from} to {to} failed: {detail}")]
    #[diagnostic(help(
        "both registries must answer from here with the logins `docker login` (or ECR) gives; fix that and run again: blobs already copied are not sent twice, and nothing was deployed"
    ))]
    CopyFailed {
        role: String,
        from: String,
        to: String,
        detail: String,
    },

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

    #[error("`{image}` (the image of `{role}`) is not an image reference")]
    #[diagnostic(help("write it as `[registry/]name[:tag][@sha256:…]`"))]
    BadReference { role: String, image: String },

    #[error("{registry} has no image `{image}` (the image of `{role}`)")]
    #[diagnostic(help(
        "check the name and tag; tasks could not pull it either (a private image answers like a missing one on some registries: then add its registry to `registry-credentials`)"
    ))]
    ImageNotFound {
        role: String,
        image: String,
        registry: String,
    },

    #[error(
        "`{image}` (the image of `{role}`) cannot be pulled without a login to {registry}, and the config gives its tasks none"
    )]
    #[diagnostic(help(
        "check the name first: registries such as Docker Hub answer this way for a repository that does not exist. A private image needs its registry login in Secrets Manager as {{\"username\": …, \"password\": …}} and `registry-credentials: {{{registry}: <the secret's ARN>}}` in the environment"
    ))]
    NotAnonymous {
        role: String,
        image: String,
        registry: String,
    },

    #[error("cannot ask {registry} for the digest of `{image}` (the image of `{role}`): {detail}")]
    #[diagnostic(help(
        "exo-deploy pins every image by digest before changing anything, so the registry must answer from here; check the network or proxy, or mirror the image into your registry (for ExoCom: `exocom-image`)"
    ))]
    ImageUnreachable {
        role: String,
        image: String,
        registry: String,
        detail: String,
    },
}

/// Result of the push stage.
pub type Result<T, E = PushError> = std::result::Result<T, E>;
