//! Errors of the Terraform runner.

/// What went wrong running Terraform.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum TerraformError {
    #[error("terraform {command} failed (exit code {code}):\n{errors}")]
    #[diagnostic(help("the whole output is in {log}"))]
    Failed {
        command: String,
        code: i64,
        errors: String,
        log: String,
    },

    #[error("the Terraform image {image} is not here and cannot be pulled: {detail}")]
    #[diagnostic(help(
        "pull it yourself, name another with --terraform-image, or use --local-terraform"
    ))]
    Image { image: String, detail: String },

    #[error("neither a Docker daemon ({docker}) nor a `terraform` on PATH is available")]
    #[diagnostic(help("start Docker, or install Terraform and pass --local-terraform"))]
    NoEngine { docker: String },

    #[error("`terraform` was not found on PATH")]
    #[diagnostic(help(
        "install Terraform, or leave out --local-terraform to run it in a container"
    ))]
    NoLocalTerraform,

    #[error(
        "the `terraform` first on PATH ({path}) is {version}; exo-deploy's Terraform needs 1.10 or newer"
    )]
    #[diagnostic(help(
        "put terraform 1.10 or newer first on PATH, or leave out --local-terraform to run it in a container"
    ))]
    TooOld { path: String, version: String },

    #[error(
        "another exo-deploy run (pid {pid}) is running terraform for this app and environment in {container}"
    )]
    #[diagnostic(help(
        "wait for it to finish; Terraform's state lock keeps the two from corrupting anything"
    ))]
    Busy { container: String, pid: u32 },

    #[error("running terraform in a container failed: {0}")]
    Container(String),

    #[error("the rendered directory {0} does not exist")]
    #[diagnostic(help("run `exo-deploy render` (or `--dry-run`) first"))]
    NoDirectory(String),

    #[error("terraform was stopped hard; its state lock may still be held{lock}")]
    #[diagnostic(help(
        "when Terraform reports the lock, release it with `exo-deploy terraform -- force-unlock -force LOCK_ID`"
    ))]
    Killed { lock: String },

    #[error("interrupted: terraform stopped after Ctrl-C and released its lock")]
    #[diagnostic(help("run again to finish"))]
    Interrupted,

    #[error("{0}")]
    Io(String),
}

/// Result of the Terraform runner.
pub type Result<T, E = TerraformError> = std::result::Result<T, E>;
