//! exo-deploy: a deployment compiler for Exosphere applications.
//!
//! The pipeline runs one way: [`config`] (YAML as written) → [`model`] (resolved, validated) →
//! [`plan`] (the steps, as data) → [`render`] (Terraform on disk), and later push, bootstrap
//! and the Terraform runner. [`run`] is the whole program; `main.rs` only calls it.

pub mod bootstrap;
pub mod cli;
pub mod config;
pub mod model;
pub mod output;
pub mod plan;
pub mod push;
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
    /// Building or pushing images failed: exit code 1.
    #[error(transparent)]
    Push(#[from] push::PushError),
    /// Bootstrapping or removing AWS resources failed: exit code 1.
    #[error(transparent)]
    Bootstrap(#[from] bootstrap::BootstrapError),
    /// A step this build cannot carry out yet: exit code 1.
    #[error("{0}")]
    Unavailable(String),
    /// The command cannot run as asked (e.g. a confirmation without a terminal): exit code 2.
    #[error("{0}")]
    Usage(String),
    /// The user did not confirm: exit code 1, nothing changed.
    #[error("not confirmed: nothing was changed")]
    NotConfirmed,
}

impl Error {
    /// The process exit code: 2 for what the user must fix in the config, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Config(_) | Error::Usage(_) => 2,
            Error::Render(_)
            | Error::Bootstrap(_)
            | Error::Push(_)
            | Error::Unavailable(_)
            | Error::NotConfirmed => 1,
        }
    }

    /// How to fix it, when the error knows.
    pub fn help(&self) -> Option<String> {
        let help = match self {
            Error::Bootstrap(e) => miette::Diagnostic::help(e),
            Error::Push(e) => miette::Diagnostic::help(e),
            Error::Render(e) => miette::Diagnostic::help(e),
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
            Error::Unavailable(_) => "unavailable",
            Error::Usage(_) => "usage",
            Error::NotConfirmed => "not-confirmed",
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
        Some(Command::Render) => render_to(&app, &out, render::Inputs::default(), reporter),
        Some(Command::Push {
            registry,
            tag,
            concurrency,
        }) => block_on(async {
            let aws = connect(&app, cli).await;
            let target = match registry.clone().or_else(|| app.env.registry.clone()) {
                Some(r) => push::Target::parse(&r),
                None => {
                    push::Target::ecr(&bootstrap::aws::Aws::account(&aws).await?, &app.env.region)
                }
            };
            let request = push::Request {
                target: target.clone(),
                tag: tag.clone(),
                concurrency: *concurrency,
                bars: !cli.json && std::io::IsTerminal::is_terminal(&std::io::stderr()),
            };
            reporter.say(&format!(
                "pushing to {}{}",
                target.host,
                if target.namespace.is_empty() {
                    String::new()
                } else {
                    format!("/{}", target.namespace)
                }
            ));
            let pushed = push::push(
                &app,
                &request,
                (target.kind == push::RegistryKind::Ecr).then_some(&aws),
            )
            .await?;
            reporter.pushed(&pushed);
            let inputs = render::Inputs {
                images: pushed
                    .iter()
                    .map(|p| (p.role.clone(), p.reference.clone()))
                    .collect(),
                ..Default::default()
            };
            render_to(&app, &out, inputs, reporter)
        }),
        Some(Command::Bootstrap) => block_on(async {
            let aws = connect(&app, cli).await;
            let done = bootstrap::bootstrap(&aws, &app).await?;
            reporter.bootstrapped(&done);
            let inputs = render::Inputs {
                hosted_zone_id: done.zone.as_ref().map(|z| z.id.clone()),
                state_bucket: Some(done.bucket.name.clone()),
                ..Default::default()
            };
            render_to(&app, &out, inputs, reporter)
        }),
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
                render_to(&app, &out, render::Inputs::default(), reporter)?;
            }
            if cli.dry_run {
                return Ok(());
            }
            match action {
                Action::Deploy => Err(Error::Unavailable(
                    "this build of exo-deploy validates, plans, renders and bootstraps (`exo-deploy bootstrap`), but cannot push images or run Terraform yet; rerun with --dry-run, or apply the rendered directory with your own Terraform".into(),
                )),
                Action::Teardown | Action::Nuke => {
                    confirm(&app, action, cli.yes)?;
                    let out = out.display().to_string();
                    block_on(async {
                        let aws = connect(&app, cli).await;
                        if action == Action::Teardown {
                            bootstrap::teardown(&aws, &app, &out).await?;
                            reporter.say("nothing is deployed: the state records no resources, so there is nothing to destroy");
                            reporter.event("teardown", json!({ "destroyed": 0 }));
                        } else {
                            let removed = bootstrap::nuke(&aws, &app, &out).await?;
                            reporter.removed(&removed);
                        }
                        Ok(())
                    })
                }
            }
        }
    }
}

/// `<app>/.exo-deploy/<env>/`.
pub fn default_out(app: &model::App) -> PathBuf {
    app.dir.join(".exo-deploy").join(&app.env.name)
}

/// Renders into `out` with what this run learned over what earlier runs left there.
fn render_to(
    app: &model::App,
    out: &std::path::Path,
    learned: render::Inputs,
    reporter: &Reporter,
) -> Result<(), Error> {
    let inputs = learned.over(render::Inputs::load(out));
    let rendered = render::render(app, &inputs)?;
    rendered.write(out)?;
    inputs.save(out)?;
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

/// Runs the async stages on a small runtime; only commands that talk to AWS need one.
fn block_on<T>(work: impl std::future::Future<Output = Result<T, Error>>) -> Result<T, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Unavailable(format!("cannot start the async runtime: {e}")))?
        .block_on(work)
}

async fn connect(app: &model::App, cli: &Cli) -> bootstrap::aws::Aws {
    bootstrap::aws::Aws::connect(&app.env.region, cli.endpoint_url.as_deref()).await
}

/// `--teardown` and `--nuke` ask for the app's name to be typed back; `--yes` skips that, and
/// without a terminal there is no asking: they refuse.
fn confirm(app: &model::App, action: Action, yes: bool) -> Result<(), Error> {
    use std::io::{BufRead, IsTerminal, Write};
    if yes {
        return Ok(());
    }
    let what = if action == Action::Nuke {
        "--nuke"
    } else {
        "--teardown"
    };
    if !std::io::stdin().is_terminal() {
        return Err(Error::Usage(format!(
            "{what} destroys infrastructure and there is no terminal to confirm it: pass --yes to go ahead"
        )));
    }
    eprint!(
        "{what} destroys the infrastructure of {} ({}). Type the app's name to go on: ",
        app.name, app.env.name
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|_| Error::NotConfirmed)?;
    if answer.trim() == app.name {
        Ok(())
    } else {
        Err(Error::NotConfirmed)
    }
}
