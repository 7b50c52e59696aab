//! exo-deploy: a deployment compiler for Exosphere applications.
//!
//! The pipeline runs one way: [`config`] (YAML as written) → [`model`] (resolved, validated) →
//! [`plan`] (the steps, as data) → [`render`] (Terraform on disk), and later push, bootstrap
//! and the Terraform runner. [`run`] is the whole program; `main.rs` only calls it.

pub mod cli;
pub mod config;
pub mod model;
pub mod output;
pub mod plan;
pub mod render;

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;

use crate::cli::{Cli, Command};
use crate::config::ConfigErrors;
use crate::output::Reporter;
use crate::plan::{Action, Step};
use crate::render::RenderError;

/// Every way a run can fail, each with its exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is invalid: exit code 2.
    #[error(transparent)]
    Config(#[from] ConfigErrors),
    /// Rendering failed: exit code 1.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// A step this build cannot carry out yet: exit code 1.
    #[error("{0}")]
    Unavailable(String),
}

impl Error {
    /// The process exit code: 2 for what the user must fix in the config, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Config(_) => 2,
            Error::Render(_) | Error::Unavailable(_) => 1,
        }
    }

    /// A short machine-readable kind, for `--json`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Config(_) => "config",
            Error::Render(_) => "render",
            Error::Unavailable(_) => "unavailable",
        }
    }
}

/// Runs exo-deploy with the process's arguments and returns its exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse_args();
    output::install_report_style();
    let reporter = Reporter::new(cli.json);
    match execute(&cli, &reporter) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            reporter.error(&e);
            ExitCode::from(e.exit_code())
        }
    }
}

fn execute(cli: &Cli, reporter: &Reporter) -> Result<(), Error> {
    let raw = config::load(&cli.app_dir)?;
    let app = model::resolve(&raw, cli.env.as_deref())?;
    let out = cli.out.clone().unwrap_or_else(|| default_out(&app));
    match &cli.command {
        Some(Command::Render) => render_to(&app, &out, reporter),
        None => {
            let action = if cli.nuke {
                Action::Nuke
            } else if cli.teardown {
                Action::Teardown
            } else {
                Action::Deploy
            };
            reporter.app(&app);
            let steps = plan::plan(&app, action, out.clone());
            reporter.plan(&steps, cli.dry_run);
            if steps.iter().any(|s| matches!(s, Step::Render { .. })) {
                render_to(&app, &out, reporter)?;
            }
            if cli.dry_run {
                return Ok(());
            }
            Err(Error::Unavailable(
                "this build of exo-deploy validates, plans and renders, but cannot push images, bootstrap AWS or run Terraform yet; rerun with --dry-run, or apply the rendered directory with your own Terraform".into(),
            ))
        }
    }
}

/// `<app>/.exo-deploy/<env>/`.
pub fn default_out(app: &model::App) -> PathBuf {
    app.dir.join(".exo-deploy").join(&app.env.name)
}

fn render_to(app: &model::App, out: &std::path::Path, reporter: &Reporter) -> Result<(), Error> {
    let rendered = render::render(app, &render::Inputs::default())?;
    rendered.write(out)?;
    reporter.event(
        "rendered",
        json!({ "out": out, "files": rendered.files.len() }),
    );
    reporter.say(&format!(
        "wrote {} files to {}",
        rendered.files.len(),
        out.display()
    ));
    Ok(())
}
