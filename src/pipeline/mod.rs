//! The executor and the commands users run. `plan::plan` decides the steps; [`Run::execute`]
//! runs exactly those, in order, through narrow ports ([`crate::bootstrap::Cloud`], [`ImagePusher`],
//! [`TerraformRunner`], [`HookRunner`]). The logic (step order, stopping at the first failure,
//! confirmations, conditions, release records) is tested with recording ports, and each real
//! port against its stand-in.

mod execute;
pub mod external;
mod operate;
mod ports;
pub mod rollout;
#[cfg(test)]
mod tests;

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::time::Instant;

use serde_json::json;

pub use execute::Ports;
pub use ports::{HookRunner, ImagePusher, LazyRunner, Pusher, TerraformRunner};

use crate::adapters::aws::Aws;
use crate::hooks::Hooks;
use crate::model::App;
use crate::output::Reporter;
use crate::plan::Step;
use crate::release::Release;
use crate::render::RenderError;
use crate::settings::{Intent, Settings};
use crate::{Error, render};

/// One command's context.
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    pub app: &'a App,
    /// The environment a `promote` takes its release from.
    pub source: Option<&'a App>,
    pub settings: &'a Settings,
    pub out: &'a Path,
    pub reporter: &'a Reporter,
}

/// How confirmations are answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirm {
    /// `--yes`.
    Yes,
    /// No terminal and no `--yes`: refuse.
    NoTerminal,
    /// Ask on the terminal.
    Ask,
    /// A given answer (tests).
    Answer(String),
}

impl Confirm {
    pub fn from_settings(yes: bool) -> Confirm {
        if yes {
            Confirm::Yes
        } else if std::io::stdin().is_terminal() {
            Confirm::Ask
        } else {
            Confirm::NoTerminal
        }
    }

    /// Who answered a confirmation, for the run's events: `--yes`, the terminal, or an answer
    /// given in advance (tests).
    pub fn by(&self) -> &'static str {
        match self {
            Confirm::Yes => "--yes",
            Confirm::Ask => "terminal",
            Confirm::Answer(_) => "answer",
            Confirm::NoTerminal => "nobody",
        }
    }

    /// Whether the confirmation `step` asks can be answered: without a terminal and without
    /// `--yes` it cannot, and the run is refused before it pushes or creates anything.
    fn answerable(&self, step: &Step) -> Result<(), Error> {
        if *self != Confirm::NoTerminal {
            return Ok(());
        }
        Err(Error::Usage(match step {
            Step::ConfirmDestroy { nuke } => format!(
                "{} needs the app's name typed as confirmation, and there is no terminal to give it: pass --yes to go ahead (nothing was changed)",
                if *nuke { "--nuke" } else { "--teardown" }
            ),
            _ => "a deploy applies its plan only after a confirmation, and there is no terminal to give it: pass --yes to go ahead (nothing was changed)".into(),
        }))
    }

    /// Asks `question`; `expected` answers go on.
    fn ask(&self, question: &str, what: &str, expected: &[&str]) -> Result<(), Error> {
        let answer = match self {
            Confirm::Yes => return Ok(()),
            Confirm::NoTerminal => {
                return Err(Error::Usage(format!(
                    "{what} needs a confirmation and there is no terminal to give it: pass --yes to go ahead"
                )));
            }
            Confirm::Answer(a) => a.clone(),
            Confirm::Ask => {
                eprint!("{question}");
                let _ = std::io::stderr().flush();
                let mut a = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut a)
                    .map_err(|_| Error::NotConfirmed)?;
                a.trim().to_string()
            }
        };
        if expected.iter().any(|e| e.eq_ignore_ascii_case(&answer)) {
            Ok(())
        } else {
            Err(Error::NotConfirmed)
        }
    }
}

/// The step a run is performing, as its events name it: its id (the plan's `step`), its
/// title (the human lines'), and its places in the plan (1-based; several for pushes run
/// together).
#[derive(Debug)]
pub struct StepTag {
    pub id: &'static str,
    pub title: String,
    pub indexes: Vec<usize>,
}

impl StepTag {
    pub fn new(step: &Step, indexes: Vec<usize>) -> Self {
        StepTag {
            id: step.id(),
            title: step.name(),
            indexes,
        }
    }

    pub(crate) fn fields(&self) -> serde_json::Value {
        json!({ "step": self.id, "title": self.title, "indexes": self.indexes })
    }
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Whether the plan had changes.
    pub changes: bool,
    /// The release recorded, when one was.
    pub release: Option<Release>,
}

/// Runs the async stages on a small runtime.
pub fn block_on<T>(work: impl std::future::Future<Output = Result<T, Error>>) -> Result<T, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?
        .block_on(work)
}

impl Run<'_> {
    /// Runs `steps`, planned for `intent`, through the real ports: the AWS SDK, the Docker
    /// Engine and a registry, Terraform (chosen when first needed) and the app's hooks.
    pub async fn command(&self, intent: &Intent, steps: &[Step]) -> Result<Outcome, Error> {
        let aws = Aws::connect(
            &self.app.env.region,
            self.settings.endpoint_url.as_deref(),
            &self.app.env.access(),
        )
        .await;
        let (registry, tag, force_tag, concurrency) = match intent {
            Intent::Push {
                registry,
                tag,
                force_tag,
                concurrency,
            } => (registry.clone(), tag.clone(), *force_tag, *concurrency),
            _ => (None, None, false, 4),
        };
        let source_aws = match self.source {
            Some(source) => Some(
                Aws::connect(
                    &source.env.region,
                    self.settings.endpoint_url.as_deref(),
                    &source.env.access(),
                )
                .await,
            ),
            None => None,
        };
        let pusher = Pusher {
            aws: &aws,
            source_aws: source_aws.as_ref(),
            registry: registry.or_else(|| self.app.env.registry.clone()),
            region: self.app.env.region.clone(),
            tag,
            force_tag,
            concurrency,
            bars: !self.settings.json && std::io::stderr().is_terminal(),
        };
        let terraform = LazyRunner::new(self);
        let hooks = Hooks::new(self.app, self.out, self.settings.dry_run);
        let confirm = Confirm::from_settings(self.settings.yes);
        self.execute(
            steps,
            &Ports {
                cloud: &aws,
                source: source_aws.as_ref(),
                pusher: &pusher,
                terraform: &terraform,
                hooks: &hooks,
                confirm: &confirm,
            },
        )
        .await
    }

    /// Runs one step's work with its human lines: how long it took, or that it failed. (Its
    /// events are the executor's, around the whole step.)
    async fn step<T>(
        &self,
        tag: &StepTag,
        work: impl std::future::Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let started = Instant::now();
        let result = work.await;
        let seconds = (started.elapsed().as_secs_f64() * 10.0).round() / 10.0;
        let name = &tag.title;
        match &result {
            Ok(_) => self.reporter.say(&format!("✓ {name} ({seconds:.1} s)")),
            Err(_) => self.reporter.say(&format!("✗ {name} ({seconds:.1} s)")),
        }
        result
    }

    /// Reports a step of the plan around its work: `step-started`, then `step-finished` (or
    /// `step-answered` for a question) or `step-failed`, each with the step's id and places.
    async fn reported(
        &self,
        tag: &StepTag,
        answered_by: Option<&str>,
        work: impl std::future::Future<Output = Result<(), Error>>,
    ) -> Result<(), Error> {
        self.reporter.event("step-started", tag.fields());
        let started = Instant::now();
        let result = work.await;
        let seconds = (started.elapsed().as_secs_f64() * 10.0).round() / 10.0;
        let mut fields = tag.fields();
        match (&result, answered_by) {
            (Ok(()), Some(by)) => {
                fields["by"] = json!(by);
                self.reporter.event("step-answered", fields);
            }
            (Ok(()), None) => {
                fields["seconds"] = json!(seconds);
                self.reporter.event("step-finished", fields);
            }
            (Err(e), _) => {
                fields["seconds"] = json!(seconds);
                fields["message"] = json!(e.to_string());
                self.reporter.event("step-failed", fields);
            }
        }
        result
    }

    /// Renders into `out` with what this run learned over what earlier runs left there.
    fn write_rendered(&self, out: &Path, learned: render::Inputs) -> Result<(), Error> {
        if crate::workdir::contains(&self.app.dir, out) {
            crate::workdir::ensure(&self.app.dir).map_err(|source| RenderError::Write {
                path: crate::workdir::path(&self.app.dir),
                source,
            })?;
        }
        let inputs = render::Inputs {
            endpoint_url: self.settings.endpoint_url.clone(),
            ..learned
        }
        .over(render::Inputs::load(out));
        let rendered = render::render(self.app, &inputs)?;
        rendered.write(out)?;
        inputs.save(out)?;
        self.reporter.event(
            "rendered",
            json!({ "out": out, "files": rendered.files.len() }),
        );
        self.reporter.say(&format!(
            "wrote {} files to {}",
            rendered.files.len(),
            out.display()
        ));
        Ok(())
    }
}
