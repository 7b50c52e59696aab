//! Stage 3: the whole list of steps a command will take, worked out before anything is done.
//! Plain data: `--dry-run` prints it, and the pipeline's executor runs exactly these steps in
//! order. A step that may be skipped carries its condition ([`Step::When`]), so the dry run
//! shows it too.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use crate::hooks::{self, Hook};
use crate::model::{App, EXOCOM_ROLE, ImageSource};
use crate::settings::Intent;

/// What preflight checks, before anything changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    /// The AWS credentials answer, for the configured account.
    Aws,
    /// The Docker Engine answers (images are built).
    Docker,
    /// The registry answers and accepts the credentials (images are pushed).
    Registry,
    /// A Terraform engine is available: the Docker Engine for the pinned image, or a local
    /// binary.
    Terraform,
    /// Every image exo-deploy does not build (prebuilt ones, ExoCom) can be pulled as tasks
    /// will pull it, and is pinned by digest.
    Images,
    /// No DNS record exo-deploy did not create sits at a service's url.
    Records,
    /// The account has ENI trunking on, as the config says (`eni-trunking`).
    EniTrunking,
    /// EC2 knows the clusters' instance types newer than exo-deploy's table, and the clusters
    /// hold their services by what it says of them.
    InstanceTypes,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Check::Aws => "credentials and account",
            Check::Docker => "Docker",
            Check::Registry => "registry login",
            Check::Terraform => "Terraform",
            Check::Images => "images pullable",
            Check::Records => "DNS records",
            Check::EniTrunking => "ENI trunking",
            Check::InstanceTypes => "instance types newer than exo-deploy's table",
        })
    }
}

/// What a conditional step waits for; the executor decides it when it gets there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Condition {
    /// The Terraform plan has changes.
    PlanHasChanges,
    /// This run applied changes, or the last release record does not say what is deployed
    /// (an earlier run stopped between its apply and its record).
    Unrecorded,
    /// The Terraform state in the state bucket records resources.
    Deployed,
    /// Not a plan's condition: a dry run performs only what changes nothing remote, and
    /// reports every other step skipped with this.
    DryRun,
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Condition::PlanHasChanges => "when the plan has changes",
            Condition::Unrecorded => {
                "when something was applied, or the last release record does not match what is deployed"
            }
            Condition::Deployed => "only when the state records resources",
            Condition::DryRun => "a dry run changes nothing remote",
        })
    }
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "step")]
pub enum Step {
    /// Check credentials, account, Docker, registry login and Terraform before changing
    /// anything, and report every problem together.
    Preflight { checks: Vec<Check> },
    /// Build a service's image from its folder and push it (consecutive pushes run together,
    /// a few at once).
    PushImage {
        role: String,
        context: PathBuf,
        /// The Dockerfile it is built from (`Dockerfile` or `Dockerfile.prod`, as the app's format
        /// prefers).
        dockerfile: String,
    },
    /// Use an existing image (a prebuilt service's, ExoCom's), pinned to its digest.
    UseImage { role: String, image: String },
    /// Use the image digests a release recorded (rollback): nothing is built or pushed.
    /// `release` is an id, or `previous` for the one before the newest.
    UseRecordedImages { release: String },
    /// Use the image digests a release of environment `from` recorded (promotion): `release`
    /// is an id, `latest` or `previous`, or with `channel` a channel's name. A release built
    /// from uncommitted changes is refused unless `allow_dirty`.
    UsePromotedRelease {
        from: String,
        release: String,
        channel: bool,
        allow_dirty: bool,
    },
    /// Copy the promoted images this environment builds into its own registry, registry to
    /// registry by digest, when it uses another one than `from`.
    CopyImages { from: String },
    /// Make sure the Terraform state bucket exists and is hardened.
    EnsureStateBucket {
        bucket: Option<String>,
        region: String,
    },
    /// Make sure the app's hosted zone exists.
    EnsureHostedZone {
        domain: String,
        zone_id: Option<String>,
    },
    /// Write the Terraform directory.
    Render { out: PathBuf },
    /// `terraform init`.
    TerraformInit,
    /// `terraform plan`, saved, with a summary.
    TerraformPlan,
    /// Ask before applying the plan (`--yes` answers it).
    ConfirmApply,
    /// `terraform apply` of the saved plan.
    TerraformApply,
    /// Wait until every service's newest deployment has rolled out; a rollout the circuit
    /// breaker rolled back, or one still running at the timeout, fails the run.
    WaitForRollout,
    /// Write the release record to the state bucket.
    RecordRelease,
    /// Post the release record to the environment's webhooks (`notify`); a failed step of the
    /// run is posted to them too, whichever it is.
    Notify { webhooks: usize },
    /// Tag the ECR images of the environment's last `keep` releases so the repositories'
    /// lifecycle policy never expires them, and untag those of older releases.
    KeepReleasedImages { keep: u32 },
    /// Run one of the app's hooks (`.exo-deploy/hooks/<name>`), present when planned.
    RunHook { hook: Hook },
    /// Ask before destroying: the app's name must be typed (`--yes` answers it). `nuke` when
    /// the state bucket, hosted zone and repositories go too.
    ConfirmDestroy { nuke: bool },
    /// Stop before anything is asked or changed: the environment protects these databases
    /// from deletion.
    RefuseProtectedDatabases { databases: Vec<String> },
    /// Count the resources the Terraform state in the state bucket records, and stop (before
    /// the question) when it records databases with deletion protection on, as last applied.
    ReadState,
    /// `terraform destroy`.
    TerraformDestroy,
    /// Refuse to go on while the state records resources: they would be orphaned.
    CheckStateEmpty,
    /// Delete the hosted zone after removing its records.
    DeleteHostedZone { domain: String },
    /// Delete every object version in the state bucket, then the bucket.
    DeleteStateBucket { bucket: Option<String> },
    /// Delete the image repositories exo-deploy created for this app.
    DeleteRepositories,
    /// List the snapshots of the app's databases, which nuke never deletes.
    ListDatabaseSnapshots,
    /// Show the last release, its urls and each service's task counts.
    ShowStatus,
    /// Show the environment's releases, newest first.
    ShowHistory,
    /// Show one release whole.
    ShowRelease { release: String },
    /// Point a channel at a release (a new entry of its history).
    SetChannel { name: String, release: String },
    /// Show every channel and the release it points to.
    ShowChannels,
    /// Set a service's task count now and record the override (`scale`, `stop`, `start`).
    Scale {
        service: String,
        to: crate::settings::ScaleTo,
    },
    /// Say which scale overrides are in effect, and stop a deploy the clusters cannot hold
    /// with them (read-only; a dry run reads them too and only says so).
    ShowOverrides,
    /// Start a new deployment of each service (same task definition), ExoCom as `exocom`,
    /// and wait for them as a deploy waits for its rollouts.
    Restart { services: Vec<String> },
    /// Show what runs: per service its tasks, digests, targets, deployment and events; per
    /// cluster its instances.
    ShowPs,
    /// Open an ECS Exec session in a running task of `service`.
    Exec {
        service: String,
        task: Option<String>,
        command: Vec<String>,
    },
    /// Print the services' log events (with `follow`, until Ctrl-C).
    ShowLogs {
        services: Vec<String>,
        follow: bool,
        since: String,
        filter: Option<String>,
    },
    /// Print the resolved configuration, or with `show_origin` where each value comes from.
    ShowConfig { show_origin: bool },
    /// Run a Terraform command in the rendered directory.
    RunTerraform { args: Vec<String> },
    /// A step that runs only when its condition holds, decided when the run gets there.
    When {
        condition: Condition,
        then: Box<Step>,
    },
}

impl Step {
    /// The step under its conditions.
    pub fn inner(&self) -> &Step {
        match self {
            Step::When { then, .. } => then.inner(),
            other => other,
        }
    }

    /// Whether a dry run performs the step, whatever its condition: what changes nothing
    /// outside the app's folder, and the read-only look at the scale overrides in effect.
    /// Every other step of the plan is reported skipped.
    pub fn in_dry_run(&self) -> bool {
        matches!(
            self.inner(),
            Step::Render { .. }
                | Step::RefuseProtectedDatabases { .. }
                | Step::RunHook {
                    hook: Hook::PostRender
                }
                | Step::ShowOverrides
        )
    }

    /// Whether the step asks the user.
    pub fn asks(&self) -> bool {
        matches!(
            self.inner(),
            Step::ConfirmApply | Step::ConfirmDestroy { .. }
        )
    }

    /// The step's id: the same string as `step` in the plan's JSON (its kebab-case kind), which
    /// every run event about it carries too (docs/events.md). For a conditional step, the id of
    /// the step under its conditions.
    pub fn id(&self) -> &'static str {
        match self {
            Step::Preflight { .. } => "preflight",
            Step::PushImage { .. } => "push-image",
            Step::UseImage { .. } => "use-image",
            Step::UseRecordedImages { .. } => "use-recorded-images",
            Step::UsePromotedRelease { .. } => "use-promoted-release",
            Step::CopyImages { .. } => "copy-images",
            Step::EnsureStateBucket { .. } => "ensure-state-bucket",
            Step::EnsureHostedZone { .. } => "ensure-hosted-zone",
            Step::Render { .. } => "render",
            Step::TerraformInit => "terraform-init",
            Step::TerraformPlan => "terraform-plan",
            Step::ConfirmApply => "confirm-apply",
            Step::TerraformApply => "terraform-apply",
            Step::WaitForRollout => "wait-for-rollout",
            Step::RecordRelease => "record-release",
            Step::Notify { .. } => "notify",
            Step::KeepReleasedImages { .. } => "keep-released-images",
            Step::RunHook { .. } => "run-hook",
            Step::ConfirmDestroy { .. } => "confirm-destroy",
            Step::RefuseProtectedDatabases { .. } => "refuse-protected-databases",
            Step::ReadState => "read-state",
            Step::TerraformDestroy => "terraform-destroy",
            Step::CheckStateEmpty => "check-state-empty",
            Step::DeleteHostedZone { .. } => "delete-hosted-zone",
            Step::DeleteStateBucket { .. } => "delete-state-bucket",
            Step::DeleteRepositories => "delete-repositories",
            Step::ListDatabaseSnapshots => "list-database-snapshots",
            Step::ShowStatus => "show-status",
            Step::ShowHistory => "show-history",
            Step::ShowRelease { .. } => "show-release",
            Step::SetChannel { .. } => "set-channel",
            Step::ShowChannels => "show-channels",
            Step::Scale { .. } => "scale",
            Step::ShowOverrides => "show-overrides",
            Step::Restart { .. } => "restart",
            Step::ShowPs => "show-ps",
            Step::Exec { .. } => "exec",
            Step::ShowLogs { .. } => "show-logs",
            Step::ShowConfig { .. } => "show-config",
            Step::RunTerraform { .. } => "run-terraform",
            Step::When { then, .. } => then.id(),
        }
    }

    /// The short name progress events use.
    pub fn name(&self) -> String {
        match self {
            Step::Preflight { .. } => "preflight".into(),
            Step::PushImage { .. } => "push images".into(),
            Step::UseImage { role, .. } => format!("pin the image of {role}"),
            Step::UseRecordedImages { .. } => "use the recorded images".into(),
            Step::UsePromotedRelease { .. } => "read the promoted release".into(),
            Step::CopyImages { .. } => "copy images".into(),
            Step::EnsureStateBucket { .. } => "state bucket".into(),
            Step::EnsureHostedZone { .. } => "hosted zone".into(),
            Step::Render { .. } => "render".into(),
            Step::TerraformInit => "terraform init".into(),
            Step::TerraformPlan => "terraform plan".into(),
            Step::ConfirmApply | Step::ConfirmDestroy { .. } => "confirm".into(),
            Step::TerraformApply => "terraform apply".into(),
            Step::WaitForRollout => "rollout".into(),
            Step::RecordRelease => "record the release".into(),
            Step::KeepReleasedImages { .. } => "keep released images".into(),
            Step::Notify { .. } => "notify".into(),
            Step::RunHook { hook } => format!("{hook} hook"),
            Step::ReadState => "read the state".into(),
            Step::RefuseProtectedDatabases { .. } => "protected databases".into(),
            Step::TerraformDestroy => "terraform destroy".into(),
            Step::CheckStateEmpty => "check the state is empty".into(),
            Step::DeleteHostedZone { .. } => "delete the hosted zone".into(),
            Step::DeleteStateBucket { .. } => "delete the state bucket".into(),
            Step::DeleteRepositories => "delete the repositories".into(),
            Step::ListDatabaseSnapshots => "database snapshots".into(),
            Step::ShowStatus => "status".into(),
            Step::ShowHistory => "history".into(),
            Step::ShowRelease { .. } => "show".into(),
            Step::SetChannel { .. } => "set the channel".into(),
            Step::ShowChannels => "channels".into(),
            Step::ShowLogs { .. } => "logs".into(),
            Step::ShowPs => "ps".into(),
            Step::Exec { .. } => "exec".into(),
            Step::Restart { .. } => "restart".into(),
            Step::Scale { .. } => "scale".into(),
            Step::ShowOverrides => "scale overrides".into(),
            Step::ShowConfig { .. } => "config".into(),
            Step::RunTerraform { .. } => "terraform".into(),
            Step::When { then, .. } => then.name(),
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bucket = |b: &Option<String>| {
            b.clone()
                .unwrap_or_else(|| "<account-id>-<app>-<env>-terraform".into())
        };
        match self {
            Step::Preflight { checks } => {
                let checks: Vec<String> = checks.iter().map(ToString::to_string).collect();
                write!(f, "preflight: {}", checks.join(", "))
            }
            Step::PushImage {
                role,
                context,
                dockerfile,
            } => write!(
                f,
                "build and push the image of `{role}` from {}{}",
                context.display(),
                if dockerfile == "Dockerfile" {
                    String::new()
                } else {
                    format!(" ({dockerfile})")
                }
            ),
            Step::UseImage { role, image } => {
                write!(f, "use the existing image {image} for `{role}`, pinned by digest")
            }
            Step::UseRecordedImages { release } => write!(
                f,
                "use the image digests release `{release}` recorded (nothing is built or pushed)"
            ),
            Step::UsePromotedRelease {
                from,
                release,
                channel,
                allow_dirty,
            } => {
                if *channel {
                    write!(f, "use the image digests of the release channel `{release}` of `{from}` points to")?;
                } else {
                    write!(f, "use the image digests release `{release}` of `{from}` recorded")?;
                }
                f.write_str(if *allow_dirty {
                    " (nothing is built; uncommitted changes allowed)"
                } else {
                    " (nothing is built; refused if it was built from uncommitted changes)"
                })
            }
            Step::CopyImages { from } => write!(
                f,
                "copy the images this environment builds from `{from}`'s registry into its own, by digest, where they differ"
            ),
            Step::EnsureStateBucket { bucket: b, region } => {
                write!(f, "ensure the state bucket {} in {region}", bucket(b))
            }
            Step::EnsureHostedZone {
                domain,
                zone_id: Some(id),
            } => write!(f, "check the hosted zone {id} of {domain}"),
            Step::EnsureHostedZone {
                domain,
                zone_id: None,
            } => write!(f, "ensure the hosted zone of {domain}"),
            Step::Render { out } => write!(f, "render Terraform into {}", out.display()),
            Step::TerraformInit => f.write_str("terraform init"),
            Step::TerraformPlan => f.write_str("terraform plan, and show what would change"),
            Step::ConfirmApply => f.write_str("ask before applying (--yes answers)"),
            Step::TerraformApply => f.write_str("terraform apply the saved plan"),
            Step::WaitForRollout => f.write_str(
                "wait until every service's new tasks run and pass their checks (--rollout-timeout)",
            ),
            Step::RecordRelease => f.write_str("record the release in the state bucket"),
            Step::Notify { webhooks } => write!(
                f,
                "post the release to {webhooks} webhook{} (`notify`; a failure at any step is posted too, and a webhook never fails the run)",
                if *webhooks == 1 { "" } else { "s" }
            ),
            Step::KeepReleasedImages { keep } => write!(
                f,
                "tag the ECR images of the last {keep} releases so that they never expire (`keep-releases`)"
            ),
            Step::RunHook { hook } => write!(f, "run the {hook} hook (.exo-deploy/hooks/{hook})"),
            Step::ConfirmDestroy { .. } => {
                f.write_str("ask for the app's name before destroying (--yes answers)")
            }
            Step::ReadState => f.write_str("count the resources the Terraform state records, and stop if it records databases with deletion protection on"),
            Step::RefuseProtectedDatabases { databases } => write!(
                f,
                "refuse: the environment protects its databases from deletion ({})",
                databases.join(", ")
            ),
            Step::TerraformDestroy => f.write_str("terraform destroy the app's infrastructure"),
            Step::CheckStateEmpty => f.write_str(
                "check that the state records nothing, so that nothing is left orphaned",
            ),
            Step::DeleteHostedZone { domain } => {
                write!(f, "delete the hosted zone of {domain} and its records")
            }
            Step::DeleteStateBucket { bucket: b } => write!(
                f,
                "delete the state bucket {} with every version",
                bucket(b)
            ),
            Step::DeleteRepositories => {
                f.write_str("delete the image repositories exo-deploy created for the app")
            }
            Step::ListDatabaseSnapshots => {
                f.write_str("list the databases' snapshots, which nuke never deletes")
            }
            Step::ShowStatus => {
                f.write_str("show the last release, its urls and each service's task counts")
            }
            Step::ShowHistory => f.write_str("show the environment's releases, newest first"),
            Step::ShowRelease { release } => write!(f, "show release `{release}`"),
            Step::SetChannel { name, release } => {
                write!(f, "point channel `{name}` at release `{release}`")
            }
            Step::ShowChannels => f.write_str("show the channels and the releases they point to"),
            Step::Scale { service, to } => {
                use crate::settings::ScaleTo;
                match to {
                    ScaleTo::Count(n) => write!(f, "run {n} tasks of `{service}` now, and record the override"),
                    ScaleTo::Reset => write!(f, "end the scale override of `{service}`: its config's count again"),
                    ScaleTo::Stop => write!(f, "stop `{service}` (0 tasks), remembering its count"),
                    ScaleTo::Start => write!(f, "start `{service}` again at the count it ran before `stop`"),
                    ScaleTo::Range { min, max } => write!(f, "let `{service}` autoscale between {min} and {max} tasks now, and record the override"),
                }
            }
            Step::ShowOverrides => f.write_str(
                "say which scale overrides (`scale`, `stop`) are in effect, and stop if the clusters cannot hold them beside the config (read-only, also in a dry run)",
            ),
            Step::Restart { services } => write!(
                f,
                "start a new deployment of {} with the task definition it runs, and wait until its new tasks run (--rollout-timeout)",
                services.join(", ")
            ),
            Step::ShowPs => f.write_str(
                "show what runs: each service's tasks, image digests, targets, deployment and events, and each cluster's instances",
            ),
            Step::Exec {
                service, command, ..
            } => write!(
                f,
                "open an ECS Exec session in a running task of `{service}` running `{}`",
                if command.is_empty() {
                    crate::operate::exec::SHELL.to_string()
                } else {
                    command.join(" ")
                }
            ),
            Step::ShowLogs {
                services, follow, ..
            } => write!(
                f,
                "print the log events of {}{}",
                if services.is_empty() {
                    "every service".to_string()
                } else {
                    services.join(", ")
                },
                if *follow { ", then follow them" } else { "" }
            ),
            Step::ShowConfig { show_origin: false } => {
                f.write_str("print the environment's resolved configuration")
            }
            Step::ShowConfig { show_origin: true } => {
                f.write_str("list every value the configuration writes, and where")
            }
            Step::RunTerraform { args } => {
                write!(f, "terraform {} in the rendered directory", args.join(" "))
            }
            Step::When { condition, then } => write!(f, "{then}, {condition}"),
        }
    }
}

/// The steps `intent` takes for `app`, rendering into `out`: the one place where what a
/// command does is decided. The executor (`pipeline`) runs exactly these.
pub fn plan(app: &App, intent: &Intent, out: PathBuf) -> Vec<Step> {
    let env = &app.env;
    let bootstrap = || {
        let mut steps = vec![Step::EnsureStateBucket {
            bucket: env.state_bucket.clone(),
            region: env.region.clone(),
        }];
        if let Some(domain) = app.hosted_zone_domain() {
            steps.push(Step::EnsureHostedZone {
                domain: domain.to_string(),
                zone_id: env.hosted_zone_id.clone(),
            });
        }
        steps
    };
    // ExoCom's image first: pinned like the prebuilt ones
    let images = || {
        std::iter::once(Step::UseImage {
            role: EXOCOM_ROLE.into(),
            image: app.exocom_image(),
        })
        .chain(app.services.iter().map(|s| match &s.image {
            ImageSource::Build {
                context,
                dockerfile,
                ..
            } => Step::PushImage {
                role: s.role.clone(),
                context: context.clone(),
                dockerfile: dockerfile.clone(),
            },
            ImageSource::Prebuilt { image } => Step::UseImage {
                role: s.role.clone(),
                image: image.clone(),
            },
        }))
        .collect::<Vec<_>>()
    };
    let present = |hook: Hook| hooks::dir(app).join(hook.name()).is_file();
    let hook = |hook: Hook| present(hook).then_some(Step::RunHook { hook });
    let when = |condition: Condition| {
        move |s: Step| Step::When {
            condition,
            then: Box::new(s),
        }
    };
    let render = |steps: &mut Vec<Step>| {
        steps.push(Step::Render { out: out.clone() });
        steps.extend(hook(Hook::PostRender));
    };
    let mut steps = Vec::new();
    match intent {
        Intent::Deploy | Intent::Plan { .. } | Intent::Rollback { .. } | Intent::Promote { .. } => {
            let mut checks = vec![Check::Aws];
            let builds = app
                .services
                .iter()
                .any(|s| matches!(s.image, ImageSource::Build { .. }));
            let pushes = match intent {
                Intent::Rollback { release } => vec![Step::UseRecordedImages {
                    release: release.clone(),
                }],
                Intent::Promote {
                    from,
                    release,
                    channel,
                    allow_dirty,
                } => {
                    let mut steps = vec![Step::UsePromotedRelease {
                        from: from.clone(),
                        release: release.clone(),
                        channel: *channel,
                        allow_dirty: *allow_dirty,
                    }];
                    if builds {
                        checks.push(Check::Registry);
                        steps.push(Step::CopyImages { from: from.clone() });
                    }
                    steps
                }
                _ => images(),
            };
            if pushes.iter().any(|s| matches!(s, Step::PushImage { .. })) {
                checks.extend([Check::Docker, Check::Registry]);
            }
            if pushes.iter().any(|s| matches!(s, Step::UseImage { .. })) {
                checks.push(Check::Images);
            }
            if app.hosted_zone_domain().is_some() {
                checks.push(Check::Records);
            }
            if env.eni_trunking {
                checks.push(Check::EniTrunking);
            }
            if !app.clusters_beyond_the_table().is_empty() {
                checks.push(Check::InstanceTypes);
            }
            checks.push(Check::Terraform);
            steps.push(Step::Preflight { checks });
            steps.push(Step::ShowOverrides);
            steps.extend(pushes);
            steps.extend(bootstrap());
            render(&mut steps);
            steps.extend([Step::TerraformInit, Step::TerraformPlan]);
            if matches!(intent, Intent::Plan { .. }) {
                return steps;
            }
            let changed = when(Condition::PlanHasChanges);
            steps.push(changed(Step::ConfirmApply));
            steps.extend(hook(Hook::PreApply).map(changed));
            steps.push(changed(Step::TerraformApply));
            steps.push(changed(Step::WaitForRollout));
            let unrecorded = when(Condition::Unrecorded);
            steps.extend(hook(Hook::PostApply).map(unrecorded));
            steps.push(unrecorded(Step::RecordRelease));
            // right after the record: a later step's failure is a failure of a live release
            if !env.notify.is_empty() {
                steps.push(unrecorded(Step::Notify {
                    webhooks: env.notify.len(),
                }));
            }
            if pushes_to_ecr(app) {
                steps.push(unrecorded(Step::KeepReleasedImages {
                    keep: env.keep_releases,
                }));
            }
            steps.extend(hook(Hook::PostDeploy).map(unrecorded));
        }
        Intent::Teardown | Intent::Nuke => {
            if env.deletion_protection && !app.databases.is_empty() {
                steps.push(Step::RefuseProtectedDatabases {
                    databases: app.databases.iter().map(|d| d.id.clone()).collect(),
                });
            }
            // read-only, before the question: what there is to destroy, and whether AWS
            // would refuse part of it
            steps.push(Step::ReadState);
            steps.push(Step::ConfirmDestroy {
                nuke: *intent == Intent::Nuke,
            });
            let deployed = when(Condition::Deployed);
            steps.push(deployed(Step::Render { out: out.clone() }));
            steps.extend(hook(Hook::PostRender).map(deployed));
            steps.extend([
                deployed(Step::TerraformInit),
                deployed(Step::TerraformDestroy),
            ]);
            if *intent == Intent::Nuke {
                steps.push(Step::CheckStateEmpty);
                if let Some(domain) = &env.domain {
                    steps.push(Step::DeleteHostedZone {
                        domain: domain.clone(),
                    });
                }
                steps.push(Step::DeleteStateBucket {
                    bucket: env.state_bucket.clone(),
                });
                steps.push(Step::DeleteRepositories);
                if !app.databases.is_empty() {
                    steps.push(Step::ListDatabaseSnapshots);
                }
            }
        }
        Intent::Render => render(&mut steps),
        Intent::Push { .. } => {
            // the images exo-deploy builds; the others are pinned when deploying
            steps.extend(
                images()
                    .into_iter()
                    .filter(|s| matches!(s, Step::PushImage { .. })),
            );
            render(&mut steps);
        }
        Intent::Bootstrap => {
            steps.extend(bootstrap());
            render(&mut steps);
        }
        Intent::Status => steps.push(Step::ShowStatus),
        Intent::History => steps.push(Step::ShowHistory),
        Intent::Show { release } => steps.push(Step::ShowRelease {
            release: release.clone(),
        }),
        Intent::SetChannel { name, release } => steps.push(Step::SetChannel {
            name: name.clone(),
            release: release.clone(),
        }),
        Intent::Channels => steps.push(Step::ShowChannels),
        Intent::Scale { service, to } => steps.extend([
            Step::Preflight {
                checks: vec![Check::Aws],
            },
            Step::Scale {
                service: service.clone(),
                to: *to,
            },
        ]),
        Intent::Restart { services } => {
            let all = || {
                app.services
                    .iter()
                    .map(|s| s.role.clone())
                    .chain(std::iter::once(EXOCOM_ROLE.to_string()))
                    .collect()
            };
            steps.extend([
                Step::Preflight {
                    checks: vec![Check::Aws],
                },
                Step::Restart {
                    services: if services.is_empty() {
                        all()
                    } else {
                        services.clone()
                    },
                },
            ]);
        }
        Intent::Ps => steps.push(Step::ShowPs),
        Intent::Exec {
            service,
            task,
            command,
        } => steps.push(Step::Exec {
            service: service.clone(),
            task: task.clone(),
            command: command.clone(),
        }),
        Intent::Logs {
            services,
            follow,
            since,
            filter,
        } => steps.push(Step::ShowLogs {
            services: services.clone(),
            follow: *follow,
            since: since.clone(),
            filter: filter.clone(),
        }),
        // generated from the command line alone, before any app is read
        Intent::Completions { .. } | Intent::Man => {}
        Intent::Config { show_origin } => steps.push(Step::ShowConfig {
            show_origin: *show_origin,
        }),
        Intent::Terraform { args } => steps.push(Step::RunTerraform { args: args.clone() }),
    }
    steps
}

/// Whether the environment's images go to ECR (its `registry`, else the account's ECR), whose
/// lifecycle policy exo-deploy sets.
fn pushes_to_ecr(app: &App) -> bool {
    app.env
        .registry
        .as_deref()
        .is_none_or(|r| crate::model::image::is_ecr(&crate::push::Target::parse(r).host))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> App {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/spacetweet");
        let raw = crate::config::load(&dir).expect("fixture loads");
        crate::model::resolve(&raw, None).expect("fixture resolves")
    }

    #[test]
    fn plan_stops_at_the_plan_and_rollback_neither_builds_nor_pushes() {
        let app = app();
        let out = PathBuf::from("out");
        let planned = plan(
            &app,
            &Intent::Plan {
                detailed_exitcode: false,
            },
            out.clone(),
        );
        assert_eq!(planned.last(), Some(&Step::TerraformPlan));
        assert!(
            !planned
                .iter()
                .any(|s| s.inner() == &Step::TerraformApply || s.asks())
        );
        let rollback = plan(
            &app,
            &Intent::Rollback {
                release: "previous".into(),
            },
            out,
        );
        assert!(rollback.contains(&Step::UseRecordedImages {
            release: "previous".into()
        }));
        assert!(
            !rollback
                .iter()
                .any(|s| matches!(s, Step::PushImage { .. } | Step::UseImage { .. })),
            "{rollback:?}"
        );
        assert_eq!(
            rollback[0],
            Step::Preflight {
                checks: vec![Check::Aws, Check::Records, Check::Terraform]
            },
            "a rollback needs neither Docker nor the registry"
        );
        assert!(rollback.iter().any(|s| s.inner() == &Step::TerraformApply));
        assert!(rollback.iter().any(|s| s.inner() == &Step::RecordRelease));
    }

    #[test]
    fn conditional_steps_say_their_condition_and_a_dry_run_keeps_only_local_steps() {
        let app = app();
        let steps = plan(&app, &Intent::Teardown, PathBuf::from("out"));
        // the state is read (read-only) before the question, so that a teardown AWS would
        // refuse half-way stops before it is confirmed
        assert_eq!(
            steps[..2],
            [Step::ReadState, Step::ConfirmDestroy { nuke: false }]
        );
        let destroy = steps
            .iter()
            .find(|s| s.inner() == &Step::TerraformDestroy)
            .expect("destroy");
        assert_eq!(
            destroy.to_string(),
            "terraform destroy the app's infrastructure, only when the state records resources"
        );
        let in_dry_run: Vec<&Step> = steps
            .iter()
            .filter(|s| s.in_dry_run())
            .map(Step::inner)
            .collect();
        assert_eq!(
            in_dry_run,
            [&Step::Render {
                out: PathBuf::from("out")
            }]
        );
    }
}
