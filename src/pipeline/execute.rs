//! The executor: runs a plan's steps, exactly those and in their order, through the ports.
//! What one step learns (the account, the bucket, the pushed digests, whether the plan has
//! changes) is kept in [`Progress`] for the steps after it; a conditional step's condition is
//! decided from it when the run gets there, and a step whose condition does not hold is
//! reported as skipped.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::json;

use super::{Confirm, HookRunner, ImagePusher, Outcome, Run, TerraformRunner};
use crate::bootstrap::{self, BucketSpec, Cloud, ZoneSpec};
use crate::hooks::Hook;
use crate::model::{ImageSource, ServiceKind};
use crate::plan::{Check, Condition, Step};
use crate::push::resolve::Resolved;
use crate::release::{self, Release, Status};
use crate::terraform::PlanSummary;
use crate::{Error, PreflightProblem, render};

/// The ports a plan runs through.
#[derive(Debug, Clone, Copy)]
pub struct Ports<'a, C, P, T, H> {
    pub cloud: &'a C,
    pub pusher: &'a P,
    pub terraform: &'a T,
    pub hooks: &'a H,
    pub confirm: &'a Confirm,
}

/// What the steps so far have learned, for the steps after them.
#[derive(Debug, Default)]
struct Progress {
    account: Option<String>,
    bucket: Option<String>,
    zone_id: Option<String>,
    /// Image references by role: pushed, pinned, or recorded by the release rolled back to.
    images: BTreeMap<String, String>,
    /// Images preflight pinned, by role, for their `UseImage` steps.
    resolved: BTreeMap<String, Resolved>,
    rollback_of: Option<String>,
    /// `Some` once planned: the summary when the plan has changes.
    planned: Option<Option<PlanSummary>>,
    applied: bool,
    /// Resources the state records, once read.
    resources: Option<usize>,
    unrecorded: Option<bool>,
    release: Option<Release>,
}

fn bug(what: &str) -> Error {
    Error::Internal(format!("{what}; this is a bug in exo-deploy"))
}

impl Run<'_> {
    /// Runs `steps` in order, stopping at the first failure. Before anything, every
    /// confirmation the steps may ask must be answerable: without a terminal and without
    /// `--yes`, nothing is done.
    pub async fn execute<C, P, T, H>(
        &self,
        steps: &[Step],
        ports: &Ports<'_, C, P, T, H>,
    ) -> Result<Outcome, Error>
    where
        C: Cloud,
        P: ImagePusher,
        T: TerraformRunner,
        H: HookRunner,
    {
        if let Some(asking) = steps.iter().find(|s| s.asks()) {
            ports.confirm.answerable(asking.inner())?;
        }
        let started = Instant::now();
        let mut progress = Progress::default();
        let mut i = 0;
        while i < steps.len() {
            // consecutive pushes go together, a few at once
            let batch: Vec<String> = steps[i..]
                .iter()
                .map_while(|s| match s {
                    Step::PushImage { role, .. } => Some(role.clone()),
                    _ => None,
                })
                .collect();
            if batch.is_empty() {
                self.perform(&steps[i], ports, &mut progress, started)
                    .await?;
                i += 1;
            } else {
                self.push(&batch, ports, &mut progress).await?;
                i += batch.len();
            }
        }
        Ok(Outcome {
            changes: matches!(progress.planned, Some(Some(_))),
            release: progress.release,
        })
    }

    async fn push<C, P, T, H>(
        &self,
        roles: &[String],
        ports: &Ports<'_, C, P, T, H>,
        progress: &mut Progress,
    ) -> Result<(), Error>
    where
        P: ImagePusher,
    {
        let pushed = self
            .step(
                "push images",
                ports
                    .pusher
                    .push(self.app, roles, progress.account.as_deref()),
            )
            .await?;
        self.reporter.pushed(&pushed);
        progress
            .images
            .extend(pushed.into_iter().map(|p| (p.role, p.reference)));
        Ok(())
    }

    /// Performs one step, or reports it skipped when a condition does not hold.
    async fn perform<C, P, T, H>(
        &self,
        step: &Step,
        ports: &Ports<'_, C, P, T, H>,
        progress: &mut Progress,
        started: Instant,
    ) -> Result<(), Error>
    where
        C: Cloud,
        P: ImagePusher,
        T: TerraformRunner,
        H: HookRunner,
    {
        let mut inner = step;
        while let Step::When { condition, then } = inner {
            if !self.holds(*condition, ports, progress).await? {
                self.reporter.event(
                    "step-skipped",
                    json!({ "step": then.name(), "condition": condition }),
                );
                self.reporter
                    .say(&format!("- {}: skipped ({condition})", then.name()));
                return Ok(());
            }
            inner = then;
        }
        let Ports {
            cloud,
            terraform: tf,
            confirm,
            ..
        } = *ports;
        let name = inner.name();
        match inner {
            Step::When { .. } => unreachable!("conditions are unwrapped above"),
            Step::Preflight { checks } => {
                self.step(&name, self.preflight(checks, ports, progress))
                    .await
            }
            Step::PushImage { role, .. } => {
                self.push(std::slice::from_ref(role), ports, progress).await
            }
            Step::UseImage { role, image } => {
                self.step(&name, async {
                    let resolved = match progress.resolved.remove(role) {
                        Some(r) => r,
                        None => {
                            let wanted = [(role.clone(), image.clone())];
                            let account = progress.account.as_deref();
                            match ports.pusher.resolve(self.app, &wanted, account).await.pop() {
                                Some(r) => r?,
                                None => return Err(bug("no answer for an image to pin")),
                            }
                        }
                    };
                    self.reporter.pinned(&resolved);
                    progress.images.insert(role.clone(), resolved.reference);
                    Ok(())
                })
                .await
            }
            Step::UseRecordedImages { release } => {
                let found = self
                    .step(&name, async {
                        let found = self.find_release(cloud, release).await?;
                        self.still_there(&found, ports.pusher).await?;
                        Ok(found)
                    })
                    .await?;
                self.reporter
                    .say(&format!("rolling back to release {}", found.id));
                progress.images = found.images;
                progress.rollback_of = Some(found.id);
                Ok(())
            }
            Step::EnsureStateBucket { .. } => {
                self.step(&name, async {
                    let account = self.account(cloud, progress).await?;
                    let spec = BucketSpec {
                        name: bootstrap::state_bucket(self.app, &account)?,
                        region: self.app.env.region.clone(),
                        app: self.app.name.clone(),
                        env: self.app.env.name.clone(),
                        kms_key: self.app.env.state_kms_key.clone(),
                    };
                    let outcome = cloud.ensure_bucket(&spec, &account).await?;
                    self.reporter.state_bucket(&account, &outcome);
                    progress.bucket = Some(outcome.name);
                    Ok(())
                })
                .await
            }
            Step::EnsureHostedZone { domain, zone_id } => {
                self.step(&name, async {
                    let zone = cloud
                        .ensure_zone(&ZoneSpec {
                            domain: domain.clone(),
                            configured_id: zone_id.clone(),
                            app: self.app.name.clone(),
                            env: self.app.env.name.clone(),
                        })
                        .await?;
                    self.reporter.hosted_zone(&zone);
                    progress.zone_id = Some(zone.id);
                    Ok(())
                })
                .await
            }
            Step::Render { out } => {
                let learned = render::Inputs {
                    images: progress.images.clone(),
                    hosted_zone_id: progress.zone_id.clone(),
                    state_bucket: progress.bucket.clone(),
                    exact: progress.rollback_of.is_some(),
                };
                self.step(&name, async { self.write_rendered(out, learned) })
                    .await
            }
            Step::RunHook { hook } => {
                let release = progress.release.as_ref().map(|r| r.id.clone());
                let extra: Vec<(&str, &str)> = match (hook, &release) {
                    (Hook::PostDeploy, Some(id)) => vec![("EXO_DEPLOY_RELEASE", id.as_str())],
                    _ => Vec::new(),
                };
                let say = |line: &str| self.reporter.say(line);
                self.step(&name, async { ports.hooks.run(*hook, &extra, &say) })
                    .await
            }
            Step::TerraformInit => {
                let bucket = match &self.app.env.state_bucket {
                    // the backend block names it
                    Some(_) => None,
                    None => Some(self.bucket(cloud, progress).await?),
                };
                self.step(&name, tf.init(bucket.as_deref())).await
            }
            Step::TerraformPlan => {
                let planned = self.step(&name, tf.plan()).await?;
                match &planned {
                    Some(summary) => self.reporter.plan_summary(summary),
                    None => {
                        self.reporter.say(
                            "no changes: the infrastructure already matches the configuration",
                        );
                        self.reporter
                            .event("plan-summary", json!({ "changes": false }));
                    }
                }
                progress.planned = Some(planned);
                Ok(())
            }
            Step::ConfirmApply => confirm.ask(
                "Apply this plan? [y/N] ",
                "applying the plan",
                &["y", "yes"],
            ),
            Step::TerraformApply => {
                self.step(&name, tf.apply()).await?;
                progress.applied = true;
                Ok(())
            }
            Step::WaitForRollout => {
                let say = |line: &str| self.reporter.say(line);
                self.step(
                    &name,
                    super::rollout::wait(
                        cloud,
                        self.app,
                        self.settings.rollout_timeout,
                        self.settings.rollout_poll,
                        &say,
                    ),
                )
                .await
            }
            Step::RecordRelease => {
                let outputs = tf.outputs().await.unwrap_or(serde_json::Value::Null);
                let release = self.release(progress, outputs, started);
                let body = serde_json::to_vec_pretty(&release)
                    .map_err(|e| Error::Internal(e.to_string()))?;
                let bucket = self.bucket(cloud, progress).await?;
                let key = release::key(&self.app.env.name, &release.id);
                self.step(&name, async {
                    Ok(cloud.put_new(&bucket, &key, body).await?)
                })
                .await?;
                self.reporter.released(&release);
                progress.release = Some(release);
                Ok(())
            }
            Step::KeepReleasedImages { keep } => {
                // the release is recorded: a failure here is reported, and the next deploy
                // tags every kept release again
                let kept = self
                    .keep_released(*keep as usize, cloud, ports.pusher)
                    .await;
                match kept {
                    Ok((added, removed)) => {
                        self.reporter.event(
                            "released-images-kept",
                            json!({ "keep": keep, "tagged": added, "untagged": removed }),
                        );
                        self.reporter.say(&format!(
                            "kept the images of the last {keep} releases from expiring ({added} tags set, {removed} of older releases removed)"
                        ));
                    }
                    Err(e) => {
                        self.reporter
                            .event("warning", json!({ "step": name, "message": e.to_string() }));
                        self.reporter.say(&format!(
                            "warning: the images of the last releases could not all be tagged to keep them ({e}); the next deploy tries again"
                        ));
                    }
                }
                Ok(())
            }
            Step::ConfirmDestroy { nuke } => {
                let what = if *nuke { "--nuke" } else { "--teardown" };
                confirm.ask(
                    &format!(
                        "{what} destroys the infrastructure of {} ({}). Type the app's name to go on: ",
                        self.app.name, self.app.env.name
                    ),
                    what,
                    &[self.app.name.as_str()],
                )
            }
            Step::ReadState => {
                let count = self
                    .step(&name, async {
                        let bucket = self.bucket(cloud, progress).await?;
                        Ok(cloud
                            .state_resources(&bucket, &self.app.state_key())
                            .await?)
                    })
                    .await?;
                self.reporter.event("state", json!({ "resources": count }));
                self.reporter.say(&match count {
                    0 => "the Terraform state records no resources: nothing to destroy".into(),
                    n => format!("the Terraform state records {n} resources: destroying them"),
                });
                progress.resources = Some(count);
                Ok(())
            }
            Step::TerraformDestroy => {
                self.step(&name, tf.destroy()).await?;
                self.reporter.event(
                    "teardown",
                    json!({ "destroyed": progress.resources.unwrap_or_default() }),
                );
                Ok(())
            }
            Step::CheckStateEmpty => {
                self.step(&name, async {
                    let bucket = self.bucket(cloud, progress).await?;
                    let key = self.app.state_key();
                    match cloud.state_resources(&bucket, &key).await? {
                        0 => Ok(()),
                        count => Err(Error::Bootstrap(bootstrap::BootstrapError::StateNotEmpty {
                            key,
                            count,
                            out: self.out.display().to_string(),
                        })),
                    }
                })
                .await
            }
            Step::DeleteHostedZone { domain } => {
                let removed = self
                    .step(&name, async {
                        Ok(cloud
                            .delete_zones(domain, &self.app.name, &self.app.env.name)
                            .await?)
                    })
                    .await?;
                self.reporter.removed(&removed);
                Ok(())
            }
            Step::DeleteStateBucket { .. } => {
                let bucket = self.bucket(cloud, progress).await?;
                let removed = self
                    .step(&name, async {
                        Ok(cloud
                            .delete_bucket(&bucket, &self.app.name, &self.app.env.name)
                            .await?)
                    })
                    .await?;
                self.reporter.removed(&[removed]);
                Ok(())
            }
            Step::DeleteRepositories => {
                let removed = self
                    .step(&name, async {
                        Ok(cloud
                            .delete_repositories(&self.app.name, &self.app.env.name)
                            .await?)
                    })
                    .await?;
                self.reporter.removed(&removed);
                Ok(())
            }
            Step::ShowStatus => {
                let status = self.status(cloud).await?;
                self.reporter.status(&status);
                Ok(())
            }
            Step::ShowHistory => {
                let releases = self.history(cloud).await?;
                self.reporter.history(&releases);
                Ok(())
            }
            Step::ListDatabaseSnapshots => {
                self.step(&name, async {
                    let prefix = format!("{}-{}", self.app.name, self.app.env.name);
                    let names: Vec<String> = self
                        .app
                        .databases
                        .iter()
                        .map(|d| render::database_name(&prefix, &d.id))
                        .collect();
                    let kept = cloud.database_snapshots(&names).await?;
                    self.reporter.database_snapshots(&kept);
                    Ok(())
                })
                .await
            }
            Step::RefuseProtectedDatabases { databases } => Err(Error::ProtectedDatabases {
                env: format!("environment `{}`", self.app.env.name),
                databases: databases.join(", "),
            }),
            Step::ShowConfig { show_origin } => {
                self.reporter.config(self.app, *show_origin);
                Ok(())
            }
            Step::RunTerraform { args } => tf.command(args).await,
        }
    }

    /// Whether `condition` holds, from what the steps before learned.
    async fn holds<C, P, T, H>(
        &self,
        condition: Condition,
        ports: &Ports<'_, C, P, T, H>,
        progress: &mut Progress,
    ) -> Result<bool, Error>
    where
        C: Cloud,
        T: TerraformRunner,
    {
        match condition {
            Condition::PlanHasChanges => match &progress.planned {
                Some(summary) => Ok(summary.is_some()),
                None => Err(bug(
                    "a step waits for the plan's changes, but nothing was planned",
                )),
            },
            Condition::Deployed => match progress.resources {
                Some(n) => Ok(n > 0),
                None => Err(bug("a step waits for the state, but it was not read")),
            },
            Condition::Unrecorded if progress.applied => Ok(true),
            Condition::Unrecorded => {
                if let Some(known) = progress.unrecorded {
                    return Ok(known);
                }
                // Nothing applied; but when the last record does not say what is deployed,
                // images and Terraform's outputs (a run stopped between its apply and its
                // record), the run is finished now: post-apply again (its check may not have
                // passed), then the record, once.
                let last = self.history(ports.cloud).await?.into_iter().next();
                let outputs = ports
                    .terraform
                    .outputs()
                    .await
                    .unwrap_or(serde_json::Value::Null);
                let deployed = self.deployed_images(progress);
                let unrecorded =
                    !last.is_some_and(|r| r.images == deployed && r.outputs == outputs);
                if unrecorded {
                    self.reporter.say(
                        "the last release record does not match what is deployed (a run stopped before recording?): finishing that run",
                    );
                }
                progress.unrecorded = Some(unrecorded);
                Ok(unrecorded)
            }
        }
    }

    /// Checks everything the run needs before changing anything, and reports every problem.
    async fn preflight<C, P, T, H>(
        &self,
        checks: &[Check],
        ports: &Ports<'_, C, P, T, H>,
        progress: &mut Progress,
    ) -> Result<(), Error>
    where
        C: Cloud,
        P: ImagePusher,
        T: TerraformRunner,
    {
        let mut problems = Vec::new();
        if checks.contains(&Check::Aws) {
            match bootstrap::checked_account(ports.cloud, self.app).await {
                Ok(a) => progress.account = Some(a),
                Err(e) => problems.push(PreflightProblem::of("AWS", &e)),
            }
        }
        if checks.contains(&Check::Docker) || checks.contains(&Check::Registry) {
            problems.extend(
                ports
                    .pusher
                    .check(
                        progress.account.as_deref(),
                        checks.contains(&Check::Registry),
                    )
                    .await,
            );
        }
        if checks.contains(&Check::Images) {
            let wanted: Vec<(String, String)> = std::iter::once((
                crate::model::EXOCOM_ROLE.to_string(),
                self.app.exocom_image(),
            ))
            .chain(self.app.services.iter().filter_map(|s| match &s.image {
                ImageSource::Prebuilt { image } => Some((s.role.clone(), image.clone())),
                ImageSource::Build { .. } => None,
            }))
            .collect();
            let account = progress.account.clone();
            for r in ports
                .pusher
                .resolve(self.app, &wanted, account.as_deref())
                .await
            {
                match r {
                    Ok(r) => {
                        progress.resolved.insert(r.role.clone(), r);
                    }
                    Err(e) => problems.push(PreflightProblem::of("image", &e)),
                }
            }
        }
        // both need the account, which the AWS check found (or reported missing)
        if let Some(account) = progress.account.clone() {
            if checks.contains(&Check::Records) {
                match self.foreign_records(ports.cloud, &account).await {
                    Ok(None) => {}
                    Ok(Some(problem)) => problems.push(problem),
                    Err(e) => problems.push(PreflightProblem::of("DNS", &e)),
                }
            }
            if checks.contains(&Check::EniTrunking) {
                match ports.cloud.eni_trunking(&account).await {
                    Ok(true) => {}
                    Ok(false) => problems.push(PreflightProblem {
                        area: "ENI trunking",
                        message: format!(
                            "the config counts on ENI trunking (`eni-trunking: true`), and account {account} does not have it on for new container instances"
                        ),
                        help: Some(
                            "an administrator turns it on for the account (`aws ecs put-account-setting-default --name awsvpcTrunking --value enabled`; exo-deploy never changes account settings), or remove `eni-trunking` and let the capacity check size the clusters without it".into(),
                        ),
                    }),
                    Err(e) => problems.push(PreflightProblem::of("ENI trunking", &e)),
                }
            }
        }
        if checks.contains(&Check::Terraform)
            && let Err(e) = ports.terraform.check().await
        {
            problems.push(PreflightProblem::of("Terraform", &e));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Preflight(problems))
        }
    }

    /// Records at the public services' urls that exo-deploy did not create (the Terraform
    /// state holds the ones it did): a deploy would fail on them half-way, or take them over.
    async fn foreign_records(
        &self,
        cloud: &impl Cloud,
        account: &str,
    ) -> Result<Option<PreflightProblem>, Error> {
        let Some(domain) = self.app.hosted_zone_domain() else {
            return Ok(None);
        };
        let urls: Vec<String> = self
            .app
            .services_of(ServiceKind::Public)
            .filter_map(|s| s.url.clone())
            .collect();
        let present = cloud
            .records_at(domain, self.app.env.hosted_zone_id.as_deref(), &urls)
            .await?;
        if present.is_empty() {
            return Ok(None);
        }
        let bucket = bootstrap::state_bucket(self.app, account)?;
        let ours = cloud.state_records(&bucket, &self.app.state_key()).await?;
        let foreign: Vec<String> = present
            .iter()
            .filter(|r| !(r.kind == "A" && ours.contains(&r.name)))
            .map(|r| r.to_string())
            .collect();
        if foreign.is_empty() {
            return Ok(None);
        }
        Ok(Some(PreflightProblem {
            area: "DNS",
            message: format!(
                "records exo-deploy did not create sit at the services' urls, and it never overwrites them:\n      {}",
                foreign.join("\n      ")
            ),
            help: Some(format!(
                "delete them from the hosted zone of {domain} if nothing needs them any more, or give the services other urls"
            )),
        }))
    }

    /// The caller's account, checked against the config, asked once.
    async fn account(&self, cloud: &impl Cloud, progress: &mut Progress) -> Result<String, Error> {
        if let Some(a) = &progress.account {
            return Ok(a.clone());
        }
        let account = bootstrap::checked_account(cloud, self.app).await?;
        progress.account = Some(account.clone());
        Ok(account)
    }

    /// The state bucket's name: ensured or read already, else configured or derived.
    async fn bucket(&self, cloud: &impl Cloud, progress: &mut Progress) -> Result<String, Error> {
        if let Some(b) = &progress.bucket {
            return Ok(b.clone());
        }
        let account = self.account(cloud, progress).await?;
        let bucket = bootstrap::state_bucket(self.app, &account)?;
        progress.bucket = Some(bucket.clone());
        Ok(bucket)
    }

    /// The release this run records.
    fn release(
        &self,
        progress: &Progress,
        outputs: serde_json::Value,
        started: Instant,
    ) -> Release {
        let (commit, dirty) = release::git_state(self.app);
        let now = jiff::Timestamp::now();
        Release {
            id: release::id(now, commit.as_deref(), dirty),
            app: self.app.name.clone(),
            env: self.app.env.name.clone(),
            version: self.app.version.clone(),
            deployed_at: now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            commit,
            dirty,
            images: self.deployed_images(progress),
            outputs,
            deployed_by: release::deployed_by(),
            duration_seconds: (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
            rollback_of: progress.rollback_of.clone(),
        }
    }

    /// Every service's image reference (ExoCom included) with this run's `images` over what
    /// earlier runs rendered: what a release records.
    fn deployed_images(&self, progress: &Progress) -> BTreeMap<String, String> {
        let mut all = render::images(
            self.app,
            &render::Inputs {
                images: progress.images.clone(),
                exact: progress.rollback_of.is_some(),
                ..render::Inputs::load(self.out)
            },
        );
        all.retain(|_, v| !v.is_empty());
        all
    }

    /// Every image `release` recorded is still in its registry: else nothing is planned.
    async fn still_there(&self, release: &Release, pusher: &impl ImagePusher) -> Result<(), Error> {
        let images: Vec<(String, String)> = release
            .images
            .iter()
            .map(|(r, i)| (r.clone(), i.clone()))
            .collect();
        let problems: Vec<PreflightProblem> = pusher
            .exists(self.app, &images)
            .await
            .into_iter()
            .filter_map(Result::err)
            .map(|e| PreflightProblem::of("image", &e))
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Preflight(problems))
        }
    }

    /// Tags the ECR images of the last `keep` releases and untags those of the releases
    /// before them (as many again, so that a lowered `keep-releases` is caught up with).
    async fn keep_released(
        &self,
        keep: usize,
        cloud: &impl Cloud,
        pusher: &impl ImagePusher,
    ) -> Result<(usize, usize), Error> {
        use crate::model::image::{ImageRef, is_ecr};
        use crate::push::ecr::{TaggedImage, release_tag};
        let releases = self.history(cloud).await?;
        let env = &self.app.env.name;
        let tagged = |r: &Release| -> Vec<TaggedImage> {
            r.images
                .values()
                .filter_map(|image| ImageRef::parse(image))
                .filter(|i| {
                    is_ecr(&i.host)
                        && i.host
                            .contains(&format!(".dkr.ecr.{}.", self.app.env.region))
                })
                .filter_map(|i| {
                    Some(TaggedImage {
                        repository: i.path.clone(),
                        digest: i.digest.clone()?,
                        tag: release_tag(env, &r.id),
                    })
                })
                .collect()
        };
        let add: Vec<TaggedImage> = releases.iter().take(keep).flat_map(tagged).collect();
        let remove: Vec<TaggedImage> = releases
            .iter()
            .skip(keep)
            .take(keep)
            .flat_map(tagged)
            .collect();
        pusher.keep_released(&add, &remove).await
    }

    /// The release `wanted` names: an id, or `previous` for the one before the newest.
    async fn find_release(&self, cloud: &impl Cloud, wanted: &str) -> Result<Release, Error> {
        let releases = self.history(cloud).await?;
        let found = if wanted == "previous" {
            releases.get(1)
        } else {
            releases.iter().find(|r| r.id == wanted)
        };
        found.cloned().ok_or_else(|| {
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
        })
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

    /// What is deployed: the last release, its urls, and each service's task counts.
    pub async fn status(&self, cloud: &impl Cloud) -> Result<Status, Error> {
        let last = self.history(cloud).await?.into_iter().next();
        let mut services = Vec::new();
        for (cluster, names) in super::rollout::services_by_cluster(self.app) {
            services.extend(cloud.service_counts(&cluster, &names).await?);
        }
        Ok(Status {
            app: self.app.name.clone(),
            env: self.app.env.name.clone(),
            release: last.as_ref().map(Release::summary),
            urls: last.as_ref().map(Release::urls),
            services,
        })
    }
}
