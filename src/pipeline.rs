//! The stages joined into the commands users run: `push`, `bootstrap`, `terraform -- ARGS`,
//! a deploy (push → bootstrap → render → init → plan → confirm → apply) and teardown/nuke
//! (confirm → destroy what the state records → for nuke, remove what exo-deploy created).

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use serde_json::json;

use crate::cli::Cli;
use crate::model::App;
use crate::output::Reporter;
use crate::plan::Action;
use crate::{Error, bootstrap, push, render, terraform};

/// One command's context.
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    pub app: &'a App,
    pub cli: &'a Cli,
    pub out: &'a Path,
    pub reporter: &'a Reporter,
}

/// Runs the async stages on a small runtime; only commands that talk to AWS, Docker or
/// Terraform need one.
pub fn block_on<T>(work: impl std::future::Future<Output = Result<T, Error>>) -> Result<T, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Unavailable(format!("cannot start the async runtime: {e}")))?
        .block_on(work)
}

impl Run<'_> {
    async fn aws(&self) -> bootstrap::aws::Aws {
        bootstrap::aws::Aws::connect(&self.app.env.region, self.cli.endpoint_url.as_deref()).await
    }

    /// Renders with what this run learned over what earlier runs left in the output folder.
    pub fn render(&self, learned: render::Inputs) -> Result<(), Error> {
        let inputs = learned.over(render::Inputs::load(self.out));
        let rendered = render::render(self.app, &inputs)?;
        rendered.write(self.out)?;
        inputs.save(self.out)?;
        self.reporter.event(
            "rendered",
            json!({ "out": self.out, "files": rendered.files.len() }),
        );
        self.reporter.say(&format!(
            "wrote {} files to {}",
            rendered.files.len(),
            self.out.display()
        ));
        Ok(())
    }

    /// Builds and pushes the images, then renders their digests.
    pub async fn push(
        &self,
        registry: Option<&str>,
        tag: Option<String>,
        concurrency: usize,
    ) -> Result<Vec<push::Pushed>, Error> {
        let aws = self.aws().await;
        let target = match registry
            .map(str::to_string)
            .or_else(|| self.app.env.registry.clone())
        {
            Some(r) => push::Target::parse(&r),
            None => push::Target::ecr(&aws.account().await?, &self.app.env.region),
        };
        let request = push::Request {
            target: target.clone(),
            tag,
            concurrency,
            bars: !self.cli.json && std::io::stderr().is_terminal(),
        };
        let ns = if target.namespace.is_empty() {
            String::new()
        } else {
            format!("/{}", target.namespace)
        };
        self.reporter
            .say(&format!("pushing to {}{ns}", target.host));
        let pushed = push::push(
            self.app,
            &request,
            (target.kind == push::RegistryKind::Ecr).then_some(&aws),
        )
        .await?;
        self.reporter.pushed(&pushed);
        self.render(render::Inputs {
            images: pushed
                .iter()
                .map(|p| (p.role.clone(), p.reference.clone()))
                .collect(),
            ..Default::default()
        })?;
        Ok(pushed)
    }

    /// Ensures the state bucket and hosted zone, then renders their names.
    pub async fn bootstrap(&self) -> Result<bootstrap::Bootstrapped, Error> {
        let done = bootstrap::bootstrap(&self.aws().await, self.app).await?;
        self.reporter.bootstrapped(&done);
        self.render(render::Inputs {
            hosted_zone_id: done.zone.as_ref().map(|z| z.id.clone()),
            state_bucket: Some(done.bucket.name.clone()),
            ..Default::default()
        })?;
        Ok(done)
    }

    async fn runner(&self) -> Result<terraform::Runner, Error> {
        let image = self
            .cli
            .terraform_image
            .clone()
            .unwrap_or_else(|| terraform::DEFAULT_IMAGE.to_string());
        let engine = terraform::Engine::choose(self.cli.local_terraform, &image).await?;
        self.reporter.say(&engine.describe());
        Ok(terraform::Runner {
            engine,
            dir: self.out.to_path_buf(),
            name: format!("exo-deploy-{}-{}", self.app.name, self.app.env.name),
            env: terraform::Runner::environment(&self.app.env.region).await,
            plugin_cache: terraform::default_plugin_cache(),
            echo: true,
        })
    }

    /// `exo-deploy terraform -- ARGS` in the rendered directory; its exit code is passed on.
    pub async fn terraform(&self, args: &[String]) -> Result<(), Error> {
        let runner = self.runner().await?;
        let outcome = runner.run(args).await?;
        if outcome.code != 0 {
            return Err(Error::Terraform(terraform::TerraformError::Failed {
                command: args.join(" "),
                code: outcome.code,
                errors: terraform::summary::error_lines(&outcome.output),
                log: outcome.log.display().to_string(),
            }));
        }
        Ok(())
    }

    /// The whole deploy.
    pub async fn deploy(&self) -> Result<(), Error> {
        self.push(None, None, 4).await?;
        let done = self.bootstrap().await?;
        let runner = self.runner().await?;
        runner.init(self.backend_bucket(&done.bucket.name)).await?;
        match runner.plan(false).await? {
            None => {
                self.reporter
                    .say("no changes: the infrastructure already matches the configuration");
                self.reporter
                    .event("plan-summary", json!({ "changes": false }));
            }
            Some(summary) => {
                self.reporter.plan_summary(&summary);
                confirm_apply(self.cli.yes)?;
                runner.apply().await?;
                self.reporter.say("applied");
            }
        }
        Ok(())
    }

    /// The bucket to pass at init when backend.tf does not name it (no account id configured).
    fn backend_bucket<'b>(&self, bucket: &'b str) -> Option<&'b str> {
        self.app.env.state_bucket.is_none().then_some(bucket)
    }

    /// Teardown, and for nuke the removal of what exo-deploy created.
    pub async fn destroy(&self, nuke: bool) -> Result<(), Error> {
        let aws = self.aws().await;
        let account = bootstrap::checked_account(&aws, self.app).await?;
        let bucket = bootstrap::state_bucket(self.app, &account)?;
        let key = self.app.state_key();
        let recorded = bootstrap::Cloud::state_resources(&aws, &bucket, &key).await?;
        if recorded == 0 {
            self.reporter
                .say("the Terraform state records no resources: nothing to destroy");
        } else {
            self.reporter.say(&format!(
                "the Terraform state records {recorded} resources: destroying them"
            ));
            self.render(render::Inputs {
                state_bucket: Some(bucket.clone()),
                ..Default::default()
            })?;
            let runner = self.runner().await?;
            runner.init(self.backend_bucket(&bucket)).await?;
            runner
                .must(&["destroy", "-auto-approve", "-input=false", "-no-color"])
                .await?;
        }
        self.reporter
            .event("teardown", json!({ "destroyed": recorded }));
        if nuke {
            let removed = bootstrap::remove_created(&aws, self.app, &bucket, self.out).await?;
            self.reporter.removed(&removed);
        }
        Ok(())
    }
}

/// `--teardown` and `--nuke` ask for the app's name to be typed back; `--yes` skips that, and
/// without a terminal there is no asking: they refuse.
pub fn confirm_destroy(app: &App, action: Action, yes: bool) -> Result<(), Error> {
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
    let answer = ask(&format!(
        "{what} destroys the infrastructure of {} ({}). Type the app's name to go on: ",
        app.name, app.env.name
    ))?;
    if answer == app.name {
        Ok(())
    } else {
        Err(Error::NotConfirmed)
    }
}

/// Applying a plan asks first; `--yes` skips that, and without a terminal it refuses.
fn confirm_apply(yes: bool) -> Result<(), Error> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::Usage(
            "there is no terminal to confirm the plan: pass --yes to apply it".into(),
        ));
    }
    match ask("Apply this plan? [y/N] ")?
        .to_ascii_lowercase()
        .as_str()
    {
        "y" | "yes" => Ok(()),
        _ => Err(Error::NotConfirmed),
    }
}

fn ask(prompt: &str) -> Result<String, Error> {
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|_| Error::NotConfirmed)?;
    Ok(answer.trim().to_string())
}
