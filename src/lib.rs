//! exo-deploy: a deployment compiler for Exosphere applications.
//!
//! The pipeline runs one way: [`config`] (YAML as written) → [`model`] (resolved, validated) →
//! [`plan`] (the steps, as data) → [`render`] (Terraform on disk), then [`push`] (images),
//! [`bootstrap`] (state bucket and zone) and [`terraform`] (the runner); [`pipeline`] joins
//! them into the commands. [`run`] is the whole program; `main.rs` only calls it.

pub mod bootstrap;
pub mod cli;
pub mod config;
pub mod hooks;
pub mod model;
pub mod output;
pub mod pipeline;
pub mod plan;
pub mod push;
pub mod release;
pub mod render;
pub mod settings;
pub mod terraform;

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::Cli;
use crate::config::ConfigErrors;
use crate::output::Reporter;
use crate::plan::Action;
use crate::render::RenderError;
use crate::settings::{Intent, Settings};

/// Every way a run can fail, each with its exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is invalid: exit code 2.
    #[error(transparent)]
    Config(#[from] ConfigErrors),
    /// Rendering failed: exit code 1.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// Building or pushing images failed: exit code 1.
    #[error(transparent)]
    Push(#[from] push::PushError),
    /// Terraform failed or could not run: exit code 1.
    #[error(transparent)]
    Terraform(#[from] terraform::TerraformError),
    /// Bootstrapping or removing AWS resources failed: exit code 1.
    #[error(transparent)]
    Bootstrap(#[from] bootstrap::BootstrapError),
    /// A hook of the app failed: exit code 1.
    #[error(transparent)]
    Hook(#[from] hooks::HookError),
    /// Something exo-deploy itself could not do (the host, or a bug): exit code 1.
    #[error("{0}")]
    Internal(String),
    /// Preflight found problems: exit code 1, nothing changed.
    #[error("preflight found {} problem{} (nothing was changed):\n{}", .0.len(), if .0.len() == 1 { "" } else { "s" }, .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Preflight(Vec<PreflightProblem>),
    /// The command cannot run as asked (e.g. a confirmation without a terminal): exit code 2.
    #[error("{0}")]
    Usage(String),
    /// The user did not confirm: exit code 1, nothing changed.
    #[error("not confirmed: nothing was changed")]
    NotConfirmed,
}

/// One problem preflight found: what it concerns, what is wrong, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreflightProblem {
    /// `AWS`, `Docker`, `registry` or `Terraform`.
    pub area: &'static str,
    pub message: String,
    pub help: Option<String>,
}

impl PreflightProblem {
    /// A problem from any error that knows how it is fixed.
    pub fn of(area: &'static str, error: &dyn miette::Diagnostic) -> Self {
        PreflightProblem {
            area,
            message: error.to_string(),
            help: error.help().map(|h| h.to_string()),
        }
    }
}

impl std::fmt::Display for PreflightProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "  - {}: {}", self.area, self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n    help: {help}")?;
        }
        Ok(())
    }
}

impl Error {
    /// The process exit code: 2 for what the user must fix in the config, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Config(_) | Error::Usage(_) => 2,
            Error::Render(_)
            | Error::Bootstrap(_)
            | Error::Push(_)
            | Error::Terraform(_)
            | Error::Hook(_)
            | Error::Preflight(_)
            | Error::Internal(_)
            | Error::NotConfirmed => 1,
        }
    }

    /// How to fix it, when the error knows.
    pub fn help(&self) -> Option<String> {
        let help = match self {
            Error::Bootstrap(e) => miette::Diagnostic::help(e),
            Error::Push(e) => miette::Diagnostic::help(e),
            Error::Render(e) => miette::Diagnostic::help(e),
            Error::Terraform(e) => miette::Diagnostic::help(e),
            Error::Hook(e) => miette::Diagnostic::help(e),
            _ => None,
        };
        help.map(|h| h.to_string())
    }

    /// A short machine-readable kind, for `--json`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Config(_) => "config",
            Error::Render(_) => "render",
            Error::Bootstrap(_) => "aws",
            Error::Push(_) => "push",
            Error::Terraform(_) => "terraform",
            Error::Hook(_) => "hook",
            Error::Preflight(_) => "preflight",
            Error::Internal(_) => "internal",
            Error::Usage(_) => "usage",
            Error::NotConfirmed => "not-confirmed",
        }
    }
}

/// Runs exo-deploy with the process's arguments and returns its exit code.
pub fn run() -> ExitCode {
    let (intent, settings) = Cli::parse_args().resolve();
    output::install_report_style();
    let reporter = Reporter::new(settings.json);
    match execute(&intent, &settings, &reporter) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            reporter.error(&e);
            ExitCode::from(e.exit_code())
        }
    }
}

/// Runs the intent; `Ok` carries the exit code (`plan --detailed-exitcode` exits 3 when there
/// are changes).
fn execute(intent: &Intent, settings: &Settings, reporter: &Reporter) -> Result<u8, Error> {
    let raw = config::load(&settings.app_dir)?;
    let app = model::resolve(&raw, settings.env.as_deref())?;
    let out = settings.out.clone().unwrap_or_else(|| default_out(&app));
    let run = pipeline::Run {
        app: &app,
        settings,
        out: &out,
        reporter,
    };
    let done = |r: Result<(), Error>| r.map(|()| 0);
    match intent {
        Intent::Render => done(run.render(render::Inputs::default())),
        Intent::Push {
            registry,
            tag,
            concurrency,
        } => done(pipeline::block_on(run.push_command(
            registry.as_deref(),
            tag.clone(),
            *concurrency,
        ))),
        Intent::Bootstrap => done(pipeline::block_on(run.bootstrap_command())),
        Intent::Terraform { args } => done(pipeline::block_on(run.terraform_command(args))),
        Intent::Plan { detailed_exitcode } => {
            reporter.plan(&plan::plan(&app, Action::Plan, out.clone()), false);
            let outcome = pipeline::block_on(run.deploy_command(pipeline::Mode::PlanOnly))?;
            // 2 means a usage or config error for every command, so changes are 3, never 2
            Ok(if outcome.changes && *detailed_exitcode {
                3
            } else {
                0
            })
        }
        Intent::Status => done(pipeline::block_on(run.status_command())),
        Intent::History => done(pipeline::block_on(run.history_command())),
        Intent::Rollback { release } => {
            reporter.plan(&plan::plan(&app, Action::Rollback, out.clone()), false);
            done(pipeline::block_on(run.rollback_command(release)))
        }
        Intent::Lifecycle { action, dry_run } => {
            reporter.app(&app);
            let steps = plan::plan(&app, *action, out.clone());
            reporter.plan(&steps, *dry_run);
            if *dry_run {
                return done(run.render(render::Inputs::default()));
            }
            match action {
                Action::Deploy => done(pipeline::block_on(async {
                    run.deploy_command(pipeline::Mode::Deploy).await.map(|_| ())
                })),
                Action::Teardown | Action::Nuke => done(pipeline::block_on(
                    run.destroy_command(*action == Action::Nuke),
                )),
                Action::Plan | Action::Rollback => Err(Error::Internal(
                    "plan and rollback are commands of their own; this is a bug in exo-deploy"
                        .into(),
                )),
            }
        }
    }
}

/// `<app>/.exo-deploy/<env>/`.
pub fn default_out(app: &model::App) -> PathBuf {
    app.dir.join(".exo-deploy").join(&app.env.name)
}
