//! exo-deploy: a deployment compiler for Exosphere applications.
//!
//! The pipeline runs one way: [`config`] (YAML as written) → [`model`] (resolved, validated) →
//! [`plan`] (the steps, as data) → [`render`] (Terraform on disk), then [`push`] (images),
//! [`bootstrap`] (state bucket and zone) and [`terraform`] (the runner); [`pipeline`] joins
//! them into the commands. [`run`] is the whole program; `main.rs` only calls it.

pub mod adapters;
pub mod bootstrap;
pub mod cli;
pub mod config;
pub mod hooks;
pub mod model;
pub mod operate;
pub mod output;
pub mod pipeline;
pub mod plan;
pub mod push;
pub mod release;
pub mod render;
pub mod settings;
pub mod terraform;
pub mod workdir;

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::Cli;
use crate::config::ConfigErrors;
use crate::output::Reporter;
use crate::render::RenderError;
use crate::settings::{Intent, Settings};

/// Every way a run can fail, each with its exit code. A miette diagnostic, so that every
/// error a user sees has one shape: what went wrong, where (config errors point at the file,
/// line and column), and how to fix it.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    /// The configuration is invalid: exit code 2.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Config(#[from] ConfigErrors),
    /// Rendering failed: exit code 1.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Render(#[from] RenderError),
    /// Building or pushing images failed: exit code 1.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Push(#[from] push::PushError),
    /// Terraform failed or could not run: exit code 1.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Terraform(#[from] terraform::TerraformError),
    /// Bootstrapping or removing AWS resources failed: exit code 1.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Bootstrap(#[from] bootstrap::BootstrapError),
    /// A service did not roll out: exit code 1, no release recorded.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Rollout(#[from] pipeline::rollout::RolloutError),
    /// A hook of the app failed: exit code 1.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Hook(#[from] hooks::HookError),
    /// An ECS Exec session could not start: exit code 2 when the environment does not run
    /// ECS Exec, else 1.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Exec(#[from] operate::exec::ExecError),
    /// Something exo-deploy itself could not do (the host, or a bug): exit code 1.
    #[error("{0}")]
    Internal(String),
    /// Preflight found problems: exit code 1, nothing changed.
    #[error("preflight found {} problem{} (nothing was changed):\n{}", .0.len(), if .0.len() == 1 { "" } else { "s" }, .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    #[diagnostic(help("fix each problem as its help says, then run again"))]
    Preflight(Vec<PreflightProblem>),
    /// The command cannot run as asked (e.g. a confirmation without a terminal): exit code 2.
    #[error("{0}")]
    Usage(String),
    /// The environment protects its databases from deletion: exit code 2, nothing changed.
    #[error(
        "{env} protects its databases from deletion ({databases}): a teardown would fail half-way"
    )]
    #[diagnostic(help(
        "to delete them after all, set `deletion-protection: false` for the environment, run `exo-deploy` to apply it, then tear down; nuke never deletes snapshots"
    ))]
    ProtectedDatabases { env: String, databases: String },
    /// The user did not confirm: exit code 1, nothing changed.
    #[error("not confirmed: nothing was changed")]
    #[diagnostic(help(
        "run again and answer `y` (for --teardown and --nuke, type the app's name), or pass --yes"
    ))]
    NotConfirmed,
}

impl From<adapters::aws::AwsError> for Error {
    fn from(e: adapters::aws::AwsError) -> Self {
        Error::Bootstrap(e.into())
    }
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
            Error::Config(_) | Error::Usage(_) | Error::ProtectedDatabases { .. } => 2,
            Error::Exec(operate::exec::ExecError::NotEnabled { .. }) => 2,
            Error::Exec(_) => 1,
            Error::Render(_)
            | Error::Bootstrap(_)
            | Error::Push(_)
            | Error::Terraform(_)
            | Error::Hook(_)
            | Error::Rollout(_)
            | Error::Preflight(_)
            | Error::Internal(_)
            | Error::NotConfirmed => 1,
        }
    }

    /// How to fix it, when the error knows.
    pub fn help(&self) -> Option<String> {
        miette::Diagnostic::help(self).map(|h| h.to_string())
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
            Error::Rollout(_) => "rollout",
            Error::Exec(_) => "exec",
            Error::Preflight(_) => "preflight",
            Error::Internal(_) => "internal",
            Error::Usage(_) => "usage",
            Error::ProtectedDatabases { .. } => "protected-databases",
            Error::NotConfirmed => "not-confirmed",
        }
    }
}

/// Runs exo-deploy with the process's arguments and returns its exit code.
pub fn run() -> ExitCode {
    let (intent, settings) = Cli::parse_args().resolve();
    // generated from the command line's own definition: no app is read
    let generated = match intent {
        Intent::Completions { shell } => {
            use clap::CommandFactory;
            let mut text = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "exo-deploy", &mut text);
            Some(Ok(text))
        }
        Intent::Man => {
            use clap::CommandFactory;
            let mut text = Vec::new();
            Some(
                clap_mangen::Man::new(Cli::command())
                    .render(&mut text)
                    .map(|()| text),
            )
        }
        _ => None,
    };
    if let Some(text) = generated {
        use std::io::Write;
        let written = text.and_then(|t| std::io::stdout().lock().write_all(&t));
        return match written {
            // a reader that went away (`| head`) got what it wanted
            Ok(()) => ExitCode::SUCCESS,
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: cannot write to stdout: {e}");
                ExitCode::from(1)
            }
        };
    }
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
    if let Some(url) = &settings.endpoint_url {
        cli::endpoint_url(url)
            .map_err(|e| Error::Usage(format!("--endpoint-url / AWS_ENDPOINT_URL: {e}")))?;
    }
    // services that are only an image: their service.yml is read out of it, again on runs
    // that deploy, from the cache of an earlier read otherwise
    // (a rollback runs recorded images: it keeps what was read before)
    // (a promotion runs recorded images too)
    let refresh = !settings.dry_run && matches!(intent, Intent::Deploy | Intent::Plan { .. });
    let lenient = matches!(
        intent,
        Intent::Teardown
            | Intent::Nuke
            | Intent::Status
            | Intent::History
            | Intent::Show { .. }
            | Intent::SetChannel { .. }
            | Intent::Channels
            | Intent::Logs { .. }
            | Intent::Ps
            | Intent::Exec { .. }
            | Intent::Terraform { .. }
    );
    let images = pipeline::external::ImageServices::new(&settings.app_dir, refresh, lenient);
    let loaded = config::load_with(&settings.app_dir, &images);
    for note in images.notes() {
        reporter.say(&note);
    }
    let raw = loaded?;
    let app = model::resolve(&raw, settings.env.as_deref())?;
    reporter.config_warnings(&app.warnings);
    // a promotion reads the release of another environment, with that environment's access
    let source = match intent {
        Intent::Promote { from, .. } if *from == app.env.name => {
            return Err(Error::Usage(format!(
                "`promote --from {from} --to {from}` promotes an environment onto itself: to deploy one of its releases again, use `exo-deploy rollback RELEASE -e {from}`"
            )));
        }
        Intent::Promote { from, .. } => Some(model::resolve(&raw, Some(from))?),
        _ => None,
    };
    let out = settings.out.clone().unwrap_or_else(|| default_out(&app));
    let run = pipeline::Run {
        app: &app,
        source: source.as_ref(),
        settings,
        out: &out,
        reporter,
    };
    // the one place the steps of a command are decided
    let steps = plan::plan(&app, intent, out.clone());
    if matches!(
        intent,
        Intent::Deploy | Intent::Teardown | Intent::Nuke | Intent::Promote { .. }
    ) {
        reporter.app(&app);
    }
    if matches!(
        intent,
        Intent::Deploy
            | Intent::Teardown
            | Intent::Nuke
            | Intent::Plan { .. }
            | Intent::Rollback { .. }
            | Intent::Promote { .. }
    ) {
        reporter.plan(&steps, settings.dry_run);
    }
    // a dry run gets the whole plan, and reports each step it does not perform as skipped
    let outcome = pipeline::block_on(run.command(intent, &steps))?;
    // 2 means a usage or config error for every command, so changes are 3, never 2
    Ok(match intent {
        Intent::Plan {
            detailed_exitcode: true,
        } if outcome.changes => 3,
        _ => 0,
    })
}

/// `<app>/.exo-deploy/<env>/`.
pub fn default_out(app: &model::App) -> PathBuf {
    workdir::path(&app.dir).join(&app.env.name)
}
