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
use crate::release::{self, Release, ServiceRecord, Status};
use crate::terraform::PlanSummary;
use crate::{Error, PreflightProblem, render};

/// The ports a plan runs through.
#[derive(Debug, Clone, Copy)]
pub struct Ports<'a, C, P, T, H> {
    pub cloud: &'a C,
    /// The promoted environment's cloud (its account and region), for `promote`.
    pub source: Option<&'a C>,
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
    /// What is known of each image this run uses: tag, and the commit of a built one.
    provenance: BTreeMap<String, ServiceRecord>,
    rollback_of: Option<String>,
    /// `<env>/<id>` of the release promoted.
    promoted_from: Option<String>,
    /// The images are exactly a recorded release's (rollback, promotion).
    exact: bool,
    /// The scale overrides in effect, once read: the counts the render keeps.
    scale: Option<BTreeMap<String, u32>>,
    /// And the ranges the render keeps (`scale --min --max`).
    scale_ranges: BTreeMap<String, (u32, u32)>,
    /// `Some` once planned: the summary when the plan has changes.
    planned: Option<Option<PlanSummary>>,
    applied: bool,
    /// Resources the state records, once read.
    resources: Option<usize>,
    unrecorded: Option<bool>,
    release: Option<Release>,
    /// Rounds a deploy of every service takes on a cluster of a type EC2 described.
    rounds: u32,
}

/// The images of the last `keep` of `releases` (newest first) to tag, and the repositories
/// whose other release tags go: only images of services the app builds, in the ECR registry of
/// `account` in the environment's region (other repositories are not exo-deploy's to tag).
pub(super) fn released_images(
    app: &crate::model::App,
    account: &str,
    releases: &[Release],
    keep: usize,
) -> (Vec<crate::push::ecr::TaggedImage>, Vec<String>) {
    use crate::model::image::{ImageRef, ecr_registry};
    use crate::push::ecr::{TaggedImage, release_tag};
    let region = app.env.region.as_str();
    let built: Vec<&str> = app
        .services
        .iter()
        .filter(|s| matches!(s.image, ImageSource::Build { .. }))
        .map(|s| s.role.as_str())
        .collect();
    let images: Vec<TaggedImage> = releases
        .iter()
        .take(keep)
        .flat_map(|r| {
            r.images
                .iter()
                .filter(|(role, _)| built.contains(&role.as_str()))
                .filter_map(|(_, image)| {
                    let i = ImageRef::parse(image)?;
                    let (a, reg) = ecr_registry(&i.host)?;
                    (a == account && reg == region).then_some(())?;
                    Some(TaggedImage {
                        repository: i.path.clone(),
                        digest: i.digest.clone()?,
                        tag: release_tag(&app.env.name, &r.id),
                    })
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let target = crate::push::Target::ecr(account, region);
    let mut repositories: Vec<String> = built
        .iter()
        .map(|role| crate::push::destination(app, role, &target))
        .filter(|(t, _)| *t == target)
        .map(|(_, repo)| repo)
        .chain(images.iter().map(|i| i.repository.clone()))
        .collect();
    repositories.sort();
    repositories.dedup();
    (images, repositories)
}

impl Progress {
    /// Runs exactly what `release` ran (a rollback, a promotion).
    fn use_release(&mut self, release: Release) {
        self.provenance = release.services;
        self.images = release.images;
        self.exact = true;
    }
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
        if let Some(asking) = steps.iter().find(|s| s.asks())
            && !self.settings.dry_run
        {
            ports.confirm.answerable(asking.inner())?;
        }
        let started = Instant::now();
        let mut progress = Progress::default();
        let notifies = steps
            .iter()
            .any(|s| matches!(s.inner(), Step::Notify { .. }));
        let mut i = 0;
        while i < steps.len() {
            // consecutive pushes go together, a few at once (not in a dry run)
            let batch: Vec<String> = steps[i..]
                .iter()
                .map_while(|s| match s {
                    Step::PushImage { role, .. } if !self.settings.dry_run => Some(role.clone()),
                    _ => None,
                })
                .collect();
            let count = batch.len().max(1);
            let tag = super::StepTag::new(&steps[i], (i + 1..=i + count).collect());
            let done = if batch.is_empty() {
                self.run_step(&steps[i], &tag, ports, &mut progress, started)
                    .await
            } else {
                self.reported(&tag, None, self.push(&batch, &tag, ports, &mut progress))
                    .await
            };
            if let Err(e) = done {
                // a failed run is posted to the webhooks too, and still fails as it did (a
                // deploy nobody confirmed did not fail)
                if notifies && !matches!(e, Error::NotConfirmed | Error::Usage(_)) {
                    self.notify_failure(&tag, &e, ports.cloud).await;
                }
                return Err(e);
            }
            i += count;
        }
        Ok(Outcome {
            changes: matches!(progress.planned, Some(Some(_))),
            release: progress.release,
        })
    }

    async fn push<C, P, T, H>(
        &self,
        roles: &[String],
        tag: &super::StepTag,
        ports: &Ports<'_, C, P, T, H>,
        progress: &mut Progress,
    ) -> Result<(), Error>
    where
        P: ImagePusher,
    {
        let pushed = self
            .step(
                tag,
                ports
                    .pusher
                    .push(self.app, roles, progress.account.as_deref()),
            )
            .await?;
        self.reporter.pushed(&pushed);
        for p in pushed {
            progress.provenance.insert(
                p.role.clone(),
                ServiceRecord {
                    image: p.reference.clone(),
                    tag: Some(p.tag),
                    commit: p.commit,
                    dirty: p.dirty,
                },
            );
            progress.images.insert(p.role, p.reference);
        }
        Ok(())
    }

    /// Runs one step of the plan, or reports it skipped (a condition that does not hold, or
    /// a dry run), or answered (a confirmation). Every step is reported once, by its id.
    async fn run_step<C, P, T, H>(
        &self,
        step: &Step,
        tag: &super::StepTag,
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
        let skipped = |condition: Condition| {
            let mut fields = tag.fields();
            fields["condition"] = json!(condition);
            self.reporter.event("step-skipped", fields);
        };
        // a dry run performs only what changes nothing remote (its plan was cut to that, but
        // a plan given whole is reported step by step)
        if self.settings.dry_run && !step.in_dry_run() {
            skipped(Condition::DryRun);
            return Ok(());
        }
        let mut inner = step;
        while let Step::When { condition, then } = inner {
            if self.settings.dry_run {
                inner = then;
                continue;
            }
            let held = match self.holds(*condition, ports, progress).await {
                Ok(held) => held,
                // what decides the condition failed: the step fails, and is reported so
                Err(e) => return self.reported(tag, None, async { Err(e) }).await,
            };
            if !held {
                skipped(*condition);
                self.reporter
                    .say(&format!("- {}: skipped ({condition})", then.name()));
                return Ok(());
            }
            inner = then;
        }
        let answered_by = inner.asks().then(|| ports.confirm.by());
        self.reported(
            tag,
            answered_by,
            self.perform(inner, tag, ports, progress, started),
        )
        .await
    }

    /// Performs one step (its conditions held).
    async fn perform<C, P, T, H>(
        &self,
        inner: &Step,
        tag: &super::StepTag,
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
        let Ports {
            cloud,
            terraform: tf,
            confirm,
            ..
        } = *ports;
        match inner {
            Step::When { .. } => unreachable!("conditions are unwrapped above"),
            Step::Preflight { checks } => {
                self.step(tag, self.preflight(checks, ports, progress))
                    .await
            }
            Step::PushImage { role, .. } => {
                self.push(std::slice::from_ref(role), tag, ports, progress)
                    .await
            }
            Step::UseImage { role, image } => {
                self.step(tag, async {
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
                    let tag = crate::model::image::ImageRef::parse(image).and_then(|r| r.tag);
                    progress.provenance.insert(
                        role.clone(),
                        ServiceRecord {
                            image: resolved.reference.clone(),
                            tag,
                            ..ServiceRecord::default()
                        },
                    );
                    progress.images.insert(role.clone(), resolved.reference);
                    Ok(())
                })
                .await
            }
            Step::UseRecordedImages { release } => {
                let found = self
                    .step(tag, async {
                        let found = self.find_release(cloud, release).await?;
                        self.still_there(&found, ports.pusher).await?;
                        Ok(found)
                    })
                    .await?;
                self.reporter
                    .say(&format!("rolling back to release {}", found.id));
                progress.rollback_of = Some(found.id.clone());
                progress.use_release(found);
                Ok(())
            }
            Step::UsePromotedRelease {
                from,
                release,
                channel,
                allow_dirty,
            } => {
                let found = self
                    .step(tag, async {
                        let (Some(app), Some(cloud)) = (self.source, ports.source) else {
                            return Err(bug("a promotion without the environment it promotes"));
                        };
                        let source = Run { app, ..*self };
                        let id = if *channel {
                            source.channel(cloud, release).await?.current.release
                        } else {
                            release.clone()
                        };
                        let found = source.find_release(cloud, &id).await?;
                        let dirty = found.dirty || found.services.values().any(|s| s.dirty);
                        if dirty && !allow_dirty {
                            return Err(Error::Usage(format!(
                                "release {} of `{from}` was built from uncommitted changes: what it runs is in no commit, so it is not promoted (nothing was changed). Promote a release of a clean checkout, or pass --allow-dirty",
                                found.id
                            )));
                        }
                        self.still_there(&found, ports.pusher).await?;
                        Ok(found)
                    })
                    .await?;
                self.reporter.say(&format!(
                    "promoting release {} of `{from}` (deployed {} by {})",
                    found.id, found.deployed_at, found.deployed_by
                ));
                progress.promoted_from = Some(format!("{from}/{}", found.id));
                progress.use_release(found);
                Ok(())
            }
            Step::CopyImages { .. } => {
                let wanted: Vec<(String, String, Option<String>)> = self
                    .app
                    .services
                    .iter()
                    .filter(|s| matches!(s.image, ImageSource::Build { .. }))
                    .filter_map(|s| {
                        let image = progress.images.get(&s.role)?;
                        let tag = progress.provenance.get(&s.role).and_then(|p| p.tag.clone());
                        Some((s.role.clone(), image.clone(), tag))
                    })
                    .collect();
                let account = progress.account.clone();
                let copied = self
                    .step(
                        tag,
                        ports.pusher.copy(self.app, &wanted, account.as_deref()),
                    )
                    .await?;
                self.reporter.copied(&copied);
                for c in copied {
                    if let Some(p) = progress.provenance.get_mut(&c.role) {
                        p.image = c.reference.clone();
                    }
                    progress.images.insert(c.role, c.reference);
                }
                Ok(())
            }
            Step::EnsureStateBucket { .. } => {
                self.step(tag, async {
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
                self.step(tag, async {
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
                    commits: progress
                        .provenance
                        .iter()
                        .filter_map(|(role, s)| Some((role.clone(), s.commit_label()?)))
                        .collect(),
                    hosted_zone_id: progress.zone_id.clone(),
                    state_bucket: progress.bucket.clone(),
                    exact: progress.exact,
                    scale: progress.scale.clone().unwrap_or_default(),
                    scale_ranges: progress.scale_ranges.clone(),
                    scale_read: progress.scale.is_some(),
                    endpoint_url: None,
                };
                self.step(tag, async { self.write_rendered(out, learned) })
                    .await
            }
            Step::RunHook { hook } => {
                let release = progress.release.as_ref().map(|r| r.id.clone());
                let extra: Vec<(&str, &str)> = match (hook, &release) {
                    (Hook::PostDeploy, Some(id)) => vec![("EXO_DEPLOY_RELEASE", id.as_str())],
                    _ => Vec::new(),
                };
                let say = |line: &str| self.reporter.say(line);
                self.step(tag, async { ports.hooks.run(*hook, &extra, &say) })
                    .await
            }
            Step::TerraformInit => {
                let bucket = match &self.app.env.state_bucket {
                    // the backend block names it
                    Some(_) => None,
                    None => Some(self.bucket(cloud, progress).await?),
                };
                self.step(tag, tf.init(bucket.as_deref())).await
            }
            Step::TerraformPlan => {
                let planned = self.step(tag, tf.plan()).await?;
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
                self.step(tag, tf.apply()).await?;
                progress.applied = true;
                Ok(())
            }
            Step::WaitForRollout => {
                let say = |line: &str| self.reporter.say(line);
                self.step(
                    tag,
                    super::rollout::wait(
                        cloud,
                        self.app,
                        // a cluster that cannot start every new task at once deploys in rounds
                        self.settings.rollout_timeout
                            * self.app.rollout_rounds.max(progress.rounds).max(1),
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
                self.step(tag, async { Ok(cloud.put_new(&bucket, &key, body).await?) })
                    .await?;
                self.reporter.released(&release);
                progress.release = Some(release);
                Ok(())
            }
            Step::Notify { .. } => {
                let Some(release) = &progress.release else {
                    return Err(bug("a notification before the release was recorded"));
                };
                let body = json!({
                    "event": "release",
                    "app": self.app.name,
                    "env": self.app.env.name,
                    "release": release,
                });
                self.notify("release", &body, cloud).await;
                Ok(())
            }
            Step::KeepReleasedImages { keep } => {
                // the release is recorded: what fails here is reported, and the next deploy
                // tags every kept release again
                let kept = self
                    .keep_released(*keep as usize, cloud, ports.pusher, progress)
                    .await;
                match kept {
                    Ok(kept) => {
                        self.reporter.event(
                            "released-images-kept",
                            json!({ "keep": keep, "tagged": kept.tagged, "untagged": kept.untagged, "problems": kept.problems }),
                        );
                        self.reporter.say(&format!(
                            "kept the images of the last {keep} releases from expiring ({} tags in place, {} of older releases removed)",
                            kept.tagged, kept.untagged
                        ));
                        for p in &kept.problems {
                            self.reporter
                                .say(&format!("warning: {p}; the next deploy tries again"));
                        }
                    }
                    Err(e) => {
                        self.reporter.event(
                            "warning",
                            json!({ "step": tag.id, "message": e.to_string() }),
                        );
                        self.reporter.say(&format!(
                            "warning: the images of the last releases could not be tagged to keep them ({e}); the next deploy tries again"
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
                    .step(tag, async {
                        let bucket = self.bucket(cloud, progress).await?;
                        let state = cloud.state_summary(&bucket, &self.app.state_key()).await?;
                        // deletion protection as last applied: turned off in the config but
                        // not yet deployed, AWS would still refuse, half-way through destroy
                        if !state.protected_databases.is_empty() {
                            return Err(Error::ProtectedDatabases {
                                env: format!(
                                    "environment `{}`, as last deployed,",
                                    self.app.env.name
                                ),
                                databases: state.protected_databases.join(", "),
                            });
                        }
                        Ok(state.resources)
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
                self.step(tag, tf.destroy()).await?;
                self.reporter.event(
                    "teardown",
                    json!({ "destroyed": progress.resources.unwrap_or_default() }),
                );
                Ok(())
            }
            Step::CheckStateEmpty => {
                self.step(tag, async {
                    let bucket = self.bucket(cloud, progress).await?;
                    let key = self.app.state_key();
                    match cloud.state_summary(&bucket, &key).await?.resources {
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
                    .step(tag, async {
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
                    .step(tag, async {
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
                    .step(tag, async {
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
            Step::ShowRelease { release } => {
                let found = self.find_release(cloud, release).await?;
                self.reporter.show_release(&found);
                Ok(())
            }
            Step::SetChannel {
                name: channel,
                release,
            } => {
                release::check_channel_name(channel).map_err(Error::Usage)?;
                let found = self.find_release(cloud, release).await?;
                let now = jiff::Timestamp::now();
                let entry = release::ChannelEntry {
                    channel: channel.clone(),
                    env: self.app.env.name.clone(),
                    release: found.id.clone(),
                    set_at: now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
                    set_by: release::deployed_by(),
                };
                let body = serde_json::to_vec_pretty(&entry)
                    .map_err(|e| Error::Internal(e.to_string()))?;
                let bucket = self.bucket(cloud, progress).await?;
                // the timestamp names the entry: a history, never overwritten
                let key = format!(
                    "{}{}.json",
                    release::channel_prefix(&self.app.env.name, Some(channel)),
                    release::stamp(now)
                );
                self.step(tag, async { Ok(cloud.put_new(&bucket, &key, body).await?) })
                    .await?;
                self.reporter.channel_set(&entry);
                Ok(())
            }
            Step::Restart { services } => {
                self.step(tag, async { self.restart(cloud, services).await })
                    .await
            }
            Step::Scale { service, to } => {
                let bucket = self.bucket(cloud, progress).await?;
                self.step(tag, self.scale(cloud, &bucket, service, *to))
                    .await
            }
            Step::ShowOverrides => {
                match self.overrides(cloud).await {
                    Ok(found) => {
                        self.reporter.overrides(self.app, &found);
                        // what the render keeps: only the overrides that fit the config now
                        let (counts, ranges) = release::applied_overrides(self.app, &found);
                        // and only while the clusters hold them with the config's other
                        // services: a config changed since they were set may not
                        self.overrides_fit(&counts, &ranges)?;
                        progress.scale = Some(counts);
                        progress.scale_ranges = ranges;
                    }
                    Err(e) if self.settings.dry_run => self.reporter.say(&format!(
                        "(dry run: the scale overrides in effect could not be read: {e})"
                    )),
                    Err(e) => self.reporter.say(&format!(
                        "warning: the scale overrides in effect could not be read: {e}"
                    )),
                }
                Ok(())
            }
            Step::ShowPs => {
                let ps = self.ps(cloud).await?;
                self.reporter.ps(&ps);
                Ok(())
            }
            Step::Exec {
                service,
                task,
                command,
            } => self.exec(cloud, service, task.as_deref(), command).await,
            Step::ShowLogs {
                services,
                follow,
                since,
                filter,
            } => {
                self.logs(cloud, services, *follow, since, filter.as_deref())
                    .await
            }
            Step::ShowChannels => {
                let channels = self.channels(cloud).await?;
                self.reporter.channels(&self.app.env.name, &channels);
                Ok(())
            }
            Step::ListDatabaseSnapshots => {
                self.step(tag, async {
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
            Condition::DryRun => Ok(!self.settings.dry_run),
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
                        checks.contains(&Check::Docker),
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
        if checks.contains(&Check::InstanceTypes) {
            problems.extend(self.instance_types(ports.cloud, progress).await);
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

    /// The capacity check of each cluster whose instance type is newer than exo-deploy's
    /// table, by what EC2 says of the type (the config check left it for now).
    async fn instance_types(
        &self,
        cloud: &impl Cloud,
        progress: &mut Progress,
    ) -> Vec<PreflightProblem> {
        use crate::model::capacity;
        let mut problems = Vec::new();
        for (name, cluster) in self.app.clusters_beyond_the_table() {
            let it = match cloud.instance_type(&cluster.instance_type).await {
                Ok(Some(it)) => it,
                Ok(None) => {
                    problems.push(PreflightProblem {
                        area: "instance type",
                        message: format!(
                            "EC2 knows no instance type `{}` in {} (the {name} cluster's)",
                            cluster.instance_type, self.app.env.region
                        ),
                        help: Some(format!(
                            "choose a `{name}-cluster-size` EC2 sells in {}",
                            self.app.env.region
                        )),
                    });
                    continue;
                }
                Err(e) => {
                    problems.push(PreflightProblem::of("instance type", &e));
                    continue;
                }
            };
            if it.arch != cluster.arch() {
                problems.push(PreflightProblem {
                    area: "instance type",
                    message: format!(
                        "EC2 says a {} is {}, and exo-deploy took it for {} by its name (the {name} cluster's)",
                        cluster.instance_type,
                        it.arch.platform(),
                        cluster.arch().platform()
                    ),
                    help: Some(format!(
                        "choose a `{name}-cluster-size` in exo-deploy's table (`exo-deploy` knows every type of scripts/instance-types), and report this type"
                    )),
                });
                continue;
            }
            let verdict = capacity::assess(
                name,
                cluster,
                &it,
                &self.app.services,
                self.app.env.eni_trunking,
            );
            let by_ec2 = |m: String| format!("{m} (by what EC2 says of the type)");
            for big in verdict.too_large {
                problems.push(PreflightProblem {
                    area: "instance type",
                    message: by_ec2(big.message),
                    help: Some(big.help),
                });
            }
            if let Some(short) = verdict.shortfall {
                problems.push(PreflightProblem {
                    area: "instance type",
                    message: by_ec2(short.message),
                    help: Some(short.help),
                });
            } else if let Some(crowd) = verdict.crowding {
                // the rollout waits as long as the config check would have had it wait
                progress.rounds = progress.rounds.max(crowd.rounds);
                self.reporter.say(&format!(
                    "warning: {}; {}",
                    by_ec2(crowd.message),
                    crowd.help
                ));
            }
        }
        problems
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
        // a service folder outside the app's repository is judged by its own
        let dirty = dirty || progress.provenance.values().any(|s| s.dirty);
        let now = jiff::Timestamp::now();
        let images = self.deployed_images(progress);
        let services = images
            .iter()
            .map(|(role, image)| {
                let known = progress
                    .provenance
                    .get(role)
                    .filter(|p| &p.image == image)
                    .cloned()
                    .unwrap_or_default();
                let record = ServiceRecord {
                    image: image.clone(),
                    ..known
                };
                (role.clone(), record)
            })
            .collect();
        Release {
            id: release::id(now, commit.as_deref(), dirty),
            app: self.app.name.clone(),
            env: self.app.env.name.clone(),
            version: self.app.version.clone(),
            deployed_at: now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            commit,
            dirty,
            images,
            services,
            config: release::config_of(self.app),
            outputs,
            deployed_by: release::deployed_by(),
            duration_seconds: (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
            rollback_of: progress.rollback_of.clone(),
            promoted_from: progress.promoted_from.clone(),
        }
    }

    /// Every service's image reference (ExoCom included) with this run's `images` over what
    /// earlier runs rendered: what a release records.
    fn deployed_images(&self, progress: &Progress) -> BTreeMap<String, String> {
        let mut all = render::images(
            self.app,
            &render::Inputs {
                images: progress.images.clone(),
                exact: progress.exact,
                ..render::Inputs::load(self.out)
            },
        );
        all.retain(|_, v| !v.is_empty());
        all
    }

    /// Posts `body` to every webhook of the environment, each signed with its secret; what
    /// could not be delivered is reported, never failing the run.
    async fn notify(&self, event: &str, body: &serde_json::Value, cloud: &impl Cloud) {
        let bytes = body.to_string().into_bytes();
        for hook in &self.app.env.notify {
            let (url, shown) = match &hook.url {
                crate::model::WebhookUrl::Written(url) => {
                    (url.clone(), crate::model::webhook_host(url))
                }
                crate::model::WebhookUrl::Secret(r) => {
                    let read = cloud.secret_value(r).await.map_err(|e| e.to_string());
                    match read.and_then(|url| {
                        let url = url.trim().to_string();
                        crate::model::validate::webhook_url(&url)
                            .map(|()| url)
                            .map_err(|_| "its value is not an http(s) url".to_string())
                    }) {
                        Ok(url) => {
                            let shown = crate::model::webhook_host(&url);
                            (url, shown)
                        }
                        Err(e) => {
                            self.reporter.notification(&hook.url.shown(), event, Err(&format!(
                                "its url could not be read from the secret ({e}); nothing was sent"
                            )));
                            continue;
                        }
                    }
                }
            };
            let secret = match &hook.secret {
                Some(s) => match cloud.secret_value(s).await {
                    Ok(v) => Some(v),
                    Err(e) => {
                        self.reporter.notification(&shown, event, Err(&format!(
                            "its signing secret could not be read ({e}); nothing was sent unsigned"
                        )));
                        continue;
                    }
                },
                None => None,
            };
            let sent = crate::adapters::webhook::deliver(
                &url,
                event,
                &bytes,
                secret.as_deref().map(str::as_bytes),
                std::time::Duration::from_secs(10),
            )
            .await;
            self.reporter.notification(
                &shown,
                event,
                sent.as_ref().map(|_| ()).map_err(String::as_str),
            );
        }
    }

    /// Posts the failed step of this run to the webhooks.
    async fn notify_failure(&self, step: &super::StepTag, error: &Error, cloud: &impl Cloud) {
        let body = json!({
            "event": "failure",
            "app": self.app.name,
            "env": self.app.env.name,
            // the step's id, as the events name it (docs/events.md), and what it said
            "step": step.id,
            "title": step.title,
            "kind": error.kind(),
            "message": error.to_string(),
            "at": jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "by": release::deployed_by(),
        });
        self.notify("failure", &body, cloud).await;
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

    /// Tags the images of the environment's last `keep` releases that it built into its
    /// account's ECR, and removes the release tags of older ones from those repositories.
    async fn keep_released(
        &self,
        keep: usize,
        cloud: &impl Cloud,
        pusher: &impl ImagePusher,
        progress: &mut Progress,
    ) -> Result<crate::push::ecr::Kept, Error> {
        let account = self.account(cloud, progress).await?;
        let releases = self.history(cloud).await?;
        let (keep, repositories) = released_images(self.app, &account, &releases, keep);
        Ok(pusher
            .keep_released(&keep, &repositories, &self.app.env.name)
            .await)
    }

    /// The release `wanted` names: an id, or `previous` for the one before the newest.
    async fn find_release(&self, cloud: &impl Cloud, wanted: &str) -> Result<Release, Error> {
        let releases = self.history(cloud).await?;
        let found = if wanted == "previous" {
            releases.get(1)
        } else if wanted == "latest" {
            releases.first()
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
            if releases.is_empty() {
                return Error::Usage(format!(
                    "there is no release `{wanted}`: {} ({}) has no releases yet",
                    self.app.name, self.app.env.name
                ));
            }
            Error::Usage(format!(
                "there is no release `{wanted}` of {} ({}); recent ones: {known}",
                self.app.name, self.app.env.name
            ))
        })
    }

    /// Every channel of the environment, by name.
    pub async fn channels(&self, cloud: &impl Cloud) -> Result<Vec<release::Channel>, Error> {
        let entries: Vec<release::ChannelEntry> = self
            .records(cloud, &release::channel_prefix(&self.app.env.name, None))
            .await?;
        let mut by_name: BTreeMap<String, Vec<release::ChannelEntry>> = BTreeMap::new();
        for e in entries {
            by_name.entry(e.channel.clone()).or_default().push(e);
        }
        // each name has at least the entry that created it: newest first
        Ok(by_name
            .into_values()
            .filter_map(|entries| {
                let (current, earlier) = entries.split_first()?;
                Some(release::Channel {
                    current: current.clone(),
                    earlier: earlier.to_vec(),
                })
            })
            .collect())
    }

    /// The channel `name` of the environment.
    async fn channel(&self, cloud: &impl Cloud, name: &str) -> Result<release::Channel, Error> {
        release::check_channel_name(name).map_err(Error::Usage)?;
        let channels = self.channels(cloud).await?;
        let known: Vec<&str> = channels
            .iter()
            .map(|c| c.current.channel.as_str())
            .collect();
        let wanted = channels.iter().find(|c| c.current.channel == name).cloned();
        wanted.ok_or_else(|| {
            Error::Usage(format!(
                "`{}` has no channel `{name}` ({}); point one at a release with `exo-deploy channel set {name} RELEASE -e {}`",
                self.app.env.name,
                if known.is_empty() {
                    "it has none yet".to_string()
                } else {
                    format!("it has {}", known.join(", "))
                },
                self.app.env.name
            ))
        })
    }

    /// The environment's releases, newest first.
    pub async fn history(&self, cloud: &impl Cloud) -> Result<Vec<Release>, Error> {
        self.records(cloud, &release::prefix(&self.app.env.name))
            .await
    }

    /// The JSON records under `prefix` of the state bucket, newest first (their keys start
    /// with their time); unreadable ones are left out.
    pub(super) async fn records<T: serde::de::DeserializeOwned>(
        &self,
        cloud: &impl Cloud,
        prefix: &str,
    ) -> Result<Vec<T>, Error> {
        let account = bootstrap::checked_account(cloud, self.app).await?;
        let bucket = bootstrap::state_bucket(self.app, &account)?;
        let mut keys = cloud.list(&bucket, prefix).await?;
        keys.sort();
        keys.reverse();
        let mut out = Vec::new();
        for key in keys {
            if let Some(bytes) = cloud.get(&bucket, &key).await?
                && let Ok(r) = serde_json::from_slice::<T>(&bytes)
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
