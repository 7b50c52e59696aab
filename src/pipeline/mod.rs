//! The stages joined into the commands users run. Each whole command is a flow over the
//! narrow interfaces ([`Cloud`], [`ImagePusher`], [`TerraformRunner`]) so that its logic (step
//! order, stopping at the first failure, confirmation rules, release records) is tested with
//! recording implementations, while each real implementation is tested against its stand-in.
//!
//! deploy:   preflight → push → bootstrap → render → init → plan → confirm → apply → record
//! teardown: confirm → destroy what the state records; nuke then removes what exo-deploy created

mod ports;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::time::Instant;

use serde_json::json;

use crate::release::{self, Release, Status};
pub use ports::{ImagePusher, Pusher, TerraformRunner};

use crate::bootstrap::{self, Cloud};
use crate::hooks::{Hook, Hooks};
use crate::model::{App, ImageSource, ServiceKind};
use crate::output::Reporter;
use crate::settings::Settings;
use crate::{Error, PreflightProblem, push, render, terraform};

/// One command's context.
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    pub app: &'a App,
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

    /// Every confirmation a run may need must be answerable before anything changes: without
    /// a terminal and without `--yes`, a deploy is refused before it pushes or creates anything.
    fn answerable(&self, mode: &Mode) -> Result<(), Error> {
        if *self == Confirm::NoTerminal && !matches!(mode, Mode::PlanOnly) {
            return Err(Error::Usage(
                "a deploy applies its plan only after a confirmation, and there is no terminal to give it: pass --yes to go ahead (nothing was changed)".into(),
            ));
        }
        Ok(())
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

/// What a deploy is asked to do.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Push, plan, confirm, apply, record.
    Deploy,
    /// Push and plan only (`exo-deploy plan`).
    PlanOnly,
    /// Re-apply a release's images: no push.
    Rollback(Box<Release>),
}

/// What a deploy did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Whether the plan had changes.
    pub changes: bool,
    /// The release recorded, when something was applied.
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
    async fn aws(&self) -> bootstrap::aws::Aws {
        bootstrap::aws::Aws::connect(&self.app.env.region, self.settings.endpoint_url.as_deref())
            .await
    }

    /// Runs one step, reporting its start, its end and how long it took.
    async fn step<T>(
        &self,
        name: &str,
        work: impl std::future::Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let started = self.step_started(name);
        let result = work.await;
        self.step_ended(name, started, &result);
        result
    }

    fn step_started(&self, name: &str) -> Instant {
        self.reporter.event("step-started", json!({ "step": name }));
        Instant::now()
    }

    /// Reports a step's end and how long it took (shared by async steps and hooks).
    fn step_ended<T>(&self, name: &str, started: Instant, result: &Result<T, Error>) {
        let seconds = (started.elapsed().as_secs_f64() * 10.0).round() / 10.0;
        match result {
            Ok(_) => {
                self.reporter
                    .event("step-finished", json!({ "step": name, "seconds": seconds }));
                self.reporter.say(&format!("✓ {name} ({seconds:.1} s)"));
            }
            Err(e) => {
                self.reporter.event(
                    "step-failed",
                    json!({ "step": name, "seconds": seconds, "message": e.to_string() }),
                );
                self.reporter.say(&format!("✗ {name} ({seconds:.1} s)"));
            }
        }
    }

    /// Renders with what this run learned over what earlier runs left in the output folder.
    /// Then the app's `post-render` hook runs.
    pub fn render(&self, learned: render::Inputs) -> Result<(), Error> {
        self.write_rendered(learned)?;
        self.hook(Hook::PostRender, &[])
    }

    fn write_rendered(&self, learned: render::Inputs) -> Result<(), Error> {
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

    /// Runs one of the app's hooks, when it has it, as a step of its own.
    pub fn hook(&self, hook: Hook, extra: &[(&str, &str)]) -> Result<(), Error> {
        let hooks = Hooks::new(self.app, self.out, self.settings.dry_run);
        if hooks.find(hook).is_none() {
            return Ok(());
        }
        let name = format!("{hook} hook");
        let started = self.step_started(&name);
        let say = |line: &str| self.reporter.say(line);
        let result = hooks
            .run(hook, extra, &say)
            .map(|_| ())
            .map_err(Error::from);
        self.step_ended(&name, started, &result);
        result
    }

    fn target(&self, registry: Option<&str>, account: Option<&str>) -> Option<push::Target> {
        match registry
            .map(str::to_string)
            .or_else(|| self.app.env.registry.clone())
        {
            Some(r) => Some(push::Target::parse(&r)),
            None => account.map(|a| push::Target::ecr(a, &self.app.env.region)),
        }
    }

    fn request(
        &self,
        target: push::Target,
        tag: Option<String>,
        concurrency: usize,
    ) -> push::Request {
        push::Request {
            target,
            tag,
            concurrency,
            bars: !self.settings.json && std::io::stderr().is_terminal(),
        }
    }

    /// `exo-deploy push`.
    pub async fn push_command(
        &self,
        registry: Option<&str>,
        tag: Option<String>,
        concurrency: usize,
    ) -> Result<(), Error> {
        let aws = self.aws().await;
        let account = if self.target(registry, None).is_none() {
            Some(aws.account().await?)
        } else {
            None
        };
        let target = self
            .target(registry, account.as_deref())
            .ok_or_else(|| Error::Internal("no registry".into()))?;
        let ns = if target.namespace.is_empty() {
            String::new()
        } else {
            format!("/{}", target.namespace)
        };
        self.reporter
            .say(&format!("pushing to {}{ns}", target.host));
        let ecr = target.kind == push::RegistryKind::Ecr;
        let pusher = Pusher {
            request: self.request(target, tag, concurrency),
            aws: ecr.then_some(&aws),
        };
        let pushed = pusher.push(self.app).await?;
        self.reporter.pushed(&pushed);
        self.render(render::Inputs {
            images: references(&pushed),
            ..Default::default()
        })
    }

    /// `exo-deploy bootstrap`.
    pub async fn bootstrap_command(&self) -> Result<(), Error> {
        let done = self.bootstrap(&self.aws().await).await?;
        self.render(bootstrapped_inputs(&done))
    }

    async fn bootstrap(&self, cloud: &impl Cloud) -> Result<bootstrap::Bootstrapped, Error> {
        let done = bootstrap::bootstrap(cloud, self.app).await?;
        self.reporter.bootstrapped(&done);
        Ok(done)
    }

    async fn runner(&self) -> Result<terraform::Runner, Error> {
        let image = self.settings.terraform_image.clone();
        let engine = terraform::Engine::choose(self.settings.local_terraform, &image).await?;
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

    /// `exo-deploy terraform -- ARGS` in the rendered directory.
    pub async fn terraform_command(&self, args: &[String]) -> Result<(), Error> {
        let outcome = self.runner().await?.run(args).await?;
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

    /// Checks everything a deploy needs before changing anything, and reports every problem.
    async fn preflight(
        &self,
        aws: &bootstrap::aws::Aws,
        mode: &Mode,
    ) -> Result<(String, Option<push::Target>), Error> {
        let mut problems = Vec::new();
        let account = match bootstrap::checked_account(aws, self.app).await {
            Ok(a) => Some(a),
            Err(e) => {
                problems.push(PreflightProblem::of("AWS", &e));
                None
            }
        };
        let builds = self
            .app
            .services
            .iter()
            .any(|s| matches!(s.image, ImageSource::Build { .. }));
        let pushing = builds && !matches!(mode, Mode::Rollback(_));
        let target = self.target(None, account.as_deref());
        if pushing {
            if let Err(e) = push::docker::connect().await {
                problems.push(PreflightProblem::of("Docker", &e));
            }
            if let Some(t) = &target
                && let Err(e) =
                    push::check_login(t, (t.kind == push::RegistryKind::Ecr).then_some(aws)).await
            {
                problems.push(PreflightProblem::of("registry", &e));
            }
        }
        let image = self.settings.terraform_image.clone();
        if let Err(e) = terraform::Engine::choose(self.settings.local_terraform, &image).await {
            problems.push(PreflightProblem::of("Terraform", &e));
        }
        match account {
            Some(a) if problems.is_empty() => Ok((a, target)),
            _ => Err(Error::Preflight(problems)),
        }
    }

    /// `exo-deploy`, `exo-deploy plan` and `exo-deploy rollback` with the real implementations.
    pub async fn deploy_command(&self, mode: Mode) -> Result<Outcome, Error> {
        let confirm = Confirm::from_settings(self.settings.yes);
        confirm.answerable(&mode)?;
        let aws = self.aws().await;
        let (_, target) = self.step("preflight", self.preflight(&aws, &mode)).await?;
        let ecr = target
            .as_ref()
            .is_some_and(|t| t.kind == push::RegistryKind::Ecr);
        let request = self.request(
            target.unwrap_or_else(|| push::Target::parse("invalid.invalid")),
            None,
            4,
        );
        let pusher = Pusher {
            request,
            aws: ecr.then_some(&aws),
        };
        let runner = self.runner().await?;
        self.deploy(&aws, &pusher, &runner, &confirm, mode).await
    }

    /// The deploy flow over any implementations.
    pub async fn deploy(
        &self,
        cloud: &impl Cloud,
        pusher: &impl ImagePusher,
        tf: &impl TerraformRunner,
        confirm: &Confirm,
        mode: Mode,
    ) -> Result<Outcome, Error> {
        let started = Instant::now();
        confirm.answerable(&mode)?;
        let images = match &mode {
            Mode::Rollback(release) => {
                self.reporter
                    .say(&format!("rolling back to release {}", release.id));
                release.images.clone()
            }
            _ => {
                let pushed = self.step("push images", pusher.push(self.app)).await?;
                self.reporter.pushed(&pushed);
                references(&pushed)
            }
        };
        let done = self
            .step("bootstrap", async { self.bootstrap(cloud).await })
            .await?;
        self.step("render", async {
            self.write_rendered(render::Inputs {
                images: images.clone(),
                ..bootstrapped_inputs(&done)
            })
        })
        .await?;
        self.hook(Hook::PostRender, &[])?;
        let backend = self
            .app
            .env
            .state_bucket
            .is_none()
            .then_some(done.bucket.name.as_str());
        self.step("terraform init", tf.init(backend)).await?;
        let plan = self.step("terraform plan", tf.plan(false)).await?;
        let Some(summary) = plan else {
            self.reporter
                .say("no changes: the infrastructure already matches the configuration");
            self.reporter
                .event("plan-summary", json!({ "changes": false }));
            if matches!(mode, Mode::PlanOnly) {
                return Ok(Outcome::default());
            }
            // Nothing to apply; but when the last record does not say what is deployed, images
            // and Terraform's outputs (a run stopped between its apply and its record), the
            // run is finished now: post-apply again (its check may not have passed), then the
            // record, once.
            let last = self.history(cloud).await?.into_iter().next();
            let outputs = tf.outputs().await.unwrap_or(serde_json::Value::Null);
            if last.is_some_and(|r| {
                r.images == self.deployed_images(images.clone()) && r.outputs == outputs
            }) {
                return Ok(Outcome::default());
            }
            self.reporter.say(
                "the last release record does not match what is deployed (a run stopped before recording?): finishing that run",
            );
            self.hook(Hook::PostApply, &[])?;
            let release = self
                .release(cloud, tf, &done.bucket.name, images, started, &mode)
                .await?;
            return Ok(Outcome {
                changes: false,
                release: Some(release),
            });
        };
        self.reporter.plan_summary(&summary);
        if matches!(mode, Mode::PlanOnly) {
            return Ok(Outcome {
                changes: true,
                release: None,
            });
        }
        confirm.ask(
            "Apply this plan? [y/N] ",
            "applying the plan",
            &["y", "yes"],
        )?;
        self.hook(Hook::PreApply, &[])?;
        self.step("terraform apply", tf.apply()).await?;
        self.hook(Hook::PostApply, &[])?;
        let release = self
            .release(cloud, tf, &done.bucket.name, images, started, &mode)
            .await?;
        Ok(Outcome {
            changes: true,
            release: Some(release),
        })
    }

    /// Records what is deployed, shows it, then runs the `post-deploy` hook (whose failure
    /// fails the run with the release already recorded).
    async fn release(
        &self,
        cloud: &impl Cloud,
        tf: &impl TerraformRunner,
        bucket: &str,
        images: BTreeMap<String, String>,
        started: Instant,
        mode: &Mode,
    ) -> Result<Release, Error> {
        let outputs = tf.outputs().await.unwrap_or(serde_json::Value::Null);
        let release = self
            .record(cloud, bucket, images, outputs, started, mode)
            .await?;
        self.reporter.released(&release);
        self.hook(Hook::PostDeploy, &[("EXO_DEPLOY_RELEASE", &release.id)])?;
        Ok(release)
    }

    async fn record(
        &self,
        cloud: &impl Cloud,
        bucket: &str,
        images: BTreeMap<String, String>,
        outputs: serde_json::Value,
        started: Instant,
        mode: &Mode,
    ) -> Result<Release, Error> {
        let (commit, dirty) = release::git_state(&self.app.dir);
        let now = jiff::Timestamp::now();
        let all = self.deployed_images(images);
        let release = Release {
            id: release::id(now, commit.as_deref(), dirty),
            app: self.app.name.clone(),
            env: self.app.env.name.clone(),
            version: self.app.version.clone(),
            deployed_at: now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            commit,
            dirty,
            images: all,
            outputs,
            deployed_by: release::deployed_by(),
            duration_seconds: (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
            rollback_of: match mode {
                Mode::Rollback(r) => Some(r.id.clone()),
                _ => None,
            },
        };
        let body =
            serde_json::to_vec_pretty(&release).map_err(|e| Error::Internal(e.to_string()))?;
        self.step("record the release", async {
            Ok(cloud
                .put_new(bucket, &release::key(&self.app.env.name, &release.id), body)
                .await?)
        })
        .await?;
        Ok(release)
    }

    /// Every service's image reference (ExoCom included) with this run's `images` over what
    /// earlier runs rendered: what a release records.
    fn deployed_images(&self, images: BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut all = render::images(
            self.app,
            &render::Inputs {
                images,
                ..render::Inputs::load(self.out)
            },
        );
        all.retain(|_, v| !v.is_empty());
        all
    }

    /// The environment's releases, newest first.
    pub async fn history(&self, cloud: &impl Cloud) -> Result<Vec<Release>, Error> {
        let account = bootstrap::checked_account(cloud, self.app).await?;
        let bucket = bootstrap::state_bucket(self.app, &account)?;
        let mut keys = cloud
            .list(&bucket, &release::prefix(&self.app.env.name))
            .await?;
        keys.sort();
        keys.reverse();
        let mut out = Vec::new();
        for key in keys {
            if let Some(bytes) = cloud.get(&bucket, &key).await?
                && let Ok(r) = serde_json::from_slice::<Release>(&bytes)
            {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// `exo-deploy history`.
    pub async fn history_command(&self) -> Result<(), Error> {
        let releases = self.history(&self.aws().await).await?;
        self.reporter.history(&releases);
        Ok(())
    }

    /// `exo-deploy rollback RELEASE` (`previous` is the one before the newest).
    pub async fn rollback_command(&self, wanted: &str) -> Result<(), Error> {
        let releases = self.history(&self.aws().await).await?;
        let found = if wanted == "previous" {
            releases.get(1)
        } else {
            releases.iter().find(|r| r.id == wanted)
        };
        let release = found.cloned().ok_or_else(|| {
            let known = releases
                .iter()
                .take(5)
                .map(|r| r.id.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            Error::Usage(format!(
                "there is no release `{wanted}` of {} ({}); recent ones: {known}",
                self.app.name, self.app.env.name
            ))
        })?;
        self.deploy_command(Mode::Rollback(Box::new(release)))
            .await
            .map(|_| ())
    }

    /// What is deployed: the last release, its urls, and each service's task counts.
    pub async fn status(&self, cloud: &impl Cloud) -> Result<Status, Error> {
        let last = self.history(cloud).await?.into_iter().next();
        let prefix = format!("{}-{}", self.app.name, self.app.env.name);
        let mut services = Vec::new();
        for (cluster, kinds) in [
            ("public", vec![ServiceKind::Public]),
            ("private", vec![ServiceKind::Private, ServiceKind::Worker]),
        ] {
            let mut names: Vec<String> = self
                .app
                .services
                .iter()
                .filter(|s| kinds.contains(&s.kind))
                .map(|s| s.role.clone())
                .collect();
            if cluster == "private" {
                names.push(crate::model::EXOCOM_ROLE.to_string());
            }
            if !names.is_empty() {
                services.extend(
                    cloud
                        .service_counts(&format!("{prefix}-{cluster}"), &names)
                        .await?,
                );
            }
        }
        Ok(Status {
            app: self.app.name.clone(),
            env: self.app.env.name.clone(),
            release: last.as_ref().map(Release::summary),
            urls: last.as_ref().map(Release::urls),
            services,
        })
    }

    /// `exo-deploy status`.
    pub async fn status_command(&self) -> Result<(), Error> {
        let status = self.status(&self.aws().await).await?;
        self.reporter.status(&status);
        Ok(())
    }

    /// `--teardown` and `--nuke` with the real implementations.
    pub async fn destroy_command(&self, nuke: bool) -> Result<(), Error> {
        let aws = self.aws().await;
        let confirm = Confirm::from_settings(self.settings.yes);
        let what = if nuke { "--nuke" } else { "--teardown" };
        confirm.ask(
            &format!(
                "{what} destroys the infrastructure of {} ({}). Type the app's name to go on: ",
                self.app.name, self.app.env.name
            ),
            what,
            &[self.app.name.as_str()],
        )?;
        // the runner is only needed when something is deployed
        let account = bootstrap::checked_account(&aws, self.app).await?;
        let bucket = bootstrap::state_bucket(self.app, &account)?;
        let recorded = aws.state_resources(&bucket, &self.app.state_key()).await?;
        let runner = if recorded > 0 {
            Some(self.runner().await?)
        } else {
            None
        };
        self.destroy(&aws, runner.as_ref(), nuke).await
    }

    /// Teardown (and nuke) over any implementations; confirmation is the caller's.
    pub async fn destroy(
        &self,
        cloud: &impl Cloud,
        tf: Option<&impl TerraformRunner>,
        nuke: bool,
    ) -> Result<(), Error> {
        let account = bootstrap::checked_account(cloud, self.app).await?;
        let bucket = bootstrap::state_bucket(self.app, &account)?;
        let recorded = cloud
            .state_resources(&bucket, &self.app.state_key())
            .await?;
        match (recorded, tf) {
            (0, _) => self.reporter.say("the Terraform state records no resources: nothing to destroy"),
            (n, Some(tf)) => {
                self.reporter.say(&format!("the Terraform state records {n} resources: destroying them"));
                self.render(render::Inputs { state_bucket: Some(bucket.clone()), ..Default::default() })?;
                let backend = self.app.env.state_bucket.is_none().then_some(bucket.as_str());
                self.step("terraform init", tf.init(backend)).await?;
                self.step("terraform destroy", tf.destroy()).await?;
            }
            (_, None) => return Err(Error::Internal("resources are deployed but no Terraform runner was given; this is a bug in exo-deploy".into())),
        }
        self.reporter
            .event("teardown", json!({ "destroyed": recorded }));
        if nuke {
            let removed = self
                .step("remove what exo-deploy created", async {
                    Ok(bootstrap::remove_created(cloud, self.app, &bucket, self.out).await?)
                })
                .await?;
            self.reporter.removed(&removed);
        }
        Ok(())
    }
}

/// What bootstrap found, as render inputs.
fn bootstrapped_inputs(done: &bootstrap::Bootstrapped) -> render::Inputs {
    render::Inputs {
        hosted_zone_id: done.zone.as_ref().map(|z| z.id.clone()),
        state_bucket: Some(done.bucket.name.clone()),
        ..Default::default()
    }
}

/// Image references by role, from a push.
fn references(pushed: &[push::Pushed]) -> BTreeMap<String, String> {
    pushed
        .iter()
        .map(|p| (p.role.clone(), p.reference.clone()))
        .collect()
}
