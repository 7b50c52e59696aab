//! The executor alone, against recording implementations of the cloud, the pusher, the
//! Terraform runner and the hooks: step order, stopping at the first failure, confirmations,
//! conditions, release records, history, rollback, teardown, re-running after an interruption;
//! and the property that what a run does is what its plan says, step for step.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use clap::Parser;

use super::*;
use crate::bootstrap::objects::{Rollout, ServiceCount};
use crate::bootstrap::{self, BucketOutcome, BucketSpec, Cloud, Removal, ZoneOutcome, ZoneSpec};
use crate::hooks::Hook;
use crate::model::ImageSource;
use crate::plan::{self as planning, Check, Step};
use crate::terraform::PlanSummary;
use crate::{PreflightProblem, push, terraform};

type Log = Arc<Mutex<Vec<String>>>;

fn note(log: &Log, what: impl Into<String>) {
    log.lock().expect("log").push(what.into());
}

/// The resources the fake Terraform state records, shared by the fake cloud (which reads it)
/// and the fake Terraform (whose apply and destroy change it).
type State = Arc<Mutex<usize>>;

#[derive(Default)]
struct FakeCloud {
    log: Log,
    objects: Mutex<BTreeMap<String, Vec<u8>>>,
    state: State,
    /// The caller's account.
    account: String,
    /// Writes fail, as when the run is stopped before its record.
    fail_puts: bool,
    /// Listing the bucket fails (the release history cannot be read).
    fail_lists: bool,
    /// This service's rollout fails (the circuit breaker rolls it back).
    failing_rollout: Option<String>,
    /// Rollouts stay in progress for this many more questions (`u32::MAX`: for ever).
    rollout_polls: Mutex<u32>,
    /// DNS records at the services' urls.
    records: Vec<bootstrap::DnsRecord>,
    /// The record names the Terraform state holds.
    our_records: Vec<String>,
    /// The account has ENI trunking on.
    trunking: bool,
    /// The databases the Terraform state records with deletion protection on.
    protected_databases: Vec<String>,
    /// What EC2 says of instance types, by name.
    instance_types: std::collections::BTreeMap<String, crate::model::instance_types::InstanceType>,
}

impl Cloud for FakeCloud {
    async fn account(&self) -> bootstrap::Result<String> {
        Ok(self.account.clone())
    }
    async fn ensure_bucket(&self, spec: &BucketSpec, _: &str) -> bootstrap::Result<BucketOutcome> {
        note(&self.log, "bootstrap bucket");
        Ok(BucketOutcome {
            name: spec.name.clone(),
            ..Default::default()
        })
    }
    async fn ensure_zone(&self, spec: &ZoneSpec) -> bootstrap::Result<ZoneOutcome> {
        note(&self.log, "bootstrap zone");
        Ok(ZoneOutcome {
            id: "ZFAKE".into(),
            domain: spec.domain.clone(),
            created: false,
            name_servers: vec!["ns-1.example".into()],
            delegation: bootstrap::Delegation::Elsewhere,
        })
    }
    async fn state_summary(&self, _: &str, _: &str) -> bootstrap::Result<bootstrap::StateSummary> {
        Ok(bootstrap::StateSummary {
            resources: *self.state.lock().expect("state"),
            protected_databases: self.protected_databases.clone(),
        })
    }
    async fn state_records(&self, _: &str, _: &str) -> bootstrap::Result<Vec<String>> {
        Ok(self.our_records.clone())
    }
    async fn records_at(
        &self,
        _: &str,
        _: Option<&str>,
        names: &[String],
    ) -> bootstrap::Result<Vec<bootstrap::DnsRecord>> {
        Ok(self
            .records
            .iter()
            .filter(|r| names.contains(&r.name))
            .cloned()
            .collect())
    }
    async fn eni_trunking(&self, _: &str) -> bootstrap::Result<bool> {
        Ok(self.trunking)
    }
    async fn instance_type(
        &self,
        name: &str,
    ) -> bootstrap::Result<Option<crate::model::instance_types::InstanceType>> {
        Ok(self.instance_types.get(name).copied())
    }
    async fn set_desired_count(&self, _: &str, service: &str, count: u32) -> bootstrap::Result<()> {
        note(&self.log, format!("scale {service} {count}"));
        Ok(())
    }
    async fn force_new_deployment(&self, _: &str, service: &str) -> bootstrap::Result<()> {
        note(&self.log, format!("restart {service}"));
        Ok(())
    }
    async fn log_events(
        &self,
        _: &str,
        _: &str,
        _: i64,
        _: Option<&str>,
    ) -> bootstrap::Result<Vec<crate::operate::logs::LogEvent>> {
        Ok(Vec::new())
    }
    async fn secret_value(&self, _: &crate::model::SecretRef) -> bootstrap::Result<String> {
        Ok("webhook-key".into())
    }
    async fn service_states(
        &self,
        cluster: &str,
        services: &[String],
    ) -> bootstrap::Result<Vec<crate::operate::ps::ServiceState>> {
        Ok(services
            .iter()
            .map(|s| crate::operate::ps::ServiceState {
                service: s.clone(),
                cluster: cluster.into(),
                ..Default::default()
            })
            .collect())
    }
    async fn cluster_state(
        &self,
        cluster: &str,
    ) -> bootstrap::Result<crate::operate::ps::ClusterState> {
        Ok(crate::operate::ps::ClusterState {
            cluster: cluster.into(),
            instances: Vec::new(),
        })
    }
    async fn set_scaling_range(
        &self,
        _: &str,
        service: &str,
        min: u32,
        max: u32,
    ) -> bootstrap::Result<()> {
        note(&self.log, format!("scale {service} {min}..{max}"));
        Ok(())
    }
    async fn exec_task(
        &self,
        _: &str,
        _: &str,
        _: Option<&str>,
    ) -> bootstrap::Result<Option<crate::operate::exec::Task>> {
        Ok(None)
    }
    async fn open_session(
        &self,
        _: &str,
        service: &str,
        _: &crate::operate::exec::Task,
        _: &str,
    ) -> bootstrap::Result<crate::operate::exec::Session> {
        Err(bootstrap::BootstrapError::from(
            crate::adapters::aws::AwsError::Api {
                operation: "ecs:ExecuteCommand",
                target: service.into(),
                message: "the recording cloud opens no sessions".into(),
            },
        ))
    }
    async fn database_snapshots(&self, _: &[String]) -> bootstrap::Result<Vec<String>> {
        Ok(Vec::new())
    }
    async fn delete_zones(&self, _: &str, _: &str, _: &str) -> bootstrap::Result<Vec<Removal>> {
        note(&self.log, "delete zones");
        Ok(Vec::new())
    }
    async fn delete_bucket(&self, name: &str, _: &str, _: &str) -> bootstrap::Result<Removal> {
        note(&self.log, "delete bucket");
        Ok(Removal {
            what: name.into(),
            deleted: true,
            note: "deleted".into(),
        })
    }
    async fn delete_repositories(&self, _: &str, _: &str) -> bootstrap::Result<Vec<Removal>> {
        note(&self.log, "delete repositories");
        Ok(Vec::new())
    }
    async fn put_new(&self, _: &str, key: &str, body: Vec<u8>) -> bootstrap::Result<()> {
        let mut objects = self.objects.lock().expect("objects");
        if self.fail_puts {
            return Err(crate::adapters::aws::AwsError::Api {
                operation: "s3:PutObject",
                target: key.into(),
                message: "connection reset".into(),
            }
            .into());
        }
        if objects.contains_key(key) {
            return Err(crate::adapters::aws::AwsError::Api {
                operation: "s3:PutObject",
                target: key.into(),
                message: "exists".into(),
            }
            .into());
        }
        note(&self.log, format!("record {key}"));
        objects.insert(key.into(), body);
        Ok(())
    }
    async fn list(&self, bucket: &str, prefix: &str) -> bootstrap::Result<Vec<String>> {
        if self.fail_lists {
            return Err(bootstrap::BootstrapError::from(
                crate::adapters::aws::AwsError::Api {
                    operation: "s3:ListObjectsV2",
                    target: bucket.into(),
                    message: "Access Denied".into(),
                },
            ));
        }
        Ok(self
            .objects
            .lock()
            .expect("objects")
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect())
    }
    async fn get(&self, _: &str, key: &str) -> bootstrap::Result<Option<Vec<u8>>> {
        Ok(self.objects.lock().expect("objects").get(key).cloned())
    }
    async fn service_counts(
        &self,
        cluster: &str,
        services: &[String],
    ) -> bootstrap::Result<Vec<ServiceCount>> {
        Ok(services
            .iter()
            .map(|s| ServiceCount {
                service: format!("{cluster}/{s}"),
                desired: 1,
                running: 1,
                status: "ACTIVE".into(),
            })
            .collect())
    }
    async fn rollouts(&self, _: &str, services: &[String]) -> bootstrap::Result<Vec<Rollout>> {
        let mut polls = self.rollout_polls.lock().expect("polls");
        let in_progress = *polls > 0;
        *polls = polls.saturating_sub(1);
        Ok(services
            .iter()
            .map(|s| {
                let failed = self.failing_rollout.as_deref() == Some(s.as_str());
                Rollout {
                    service: s.clone(),
                    state: if failed {
                        "FAILED"
                    } else if in_progress {
                        "IN_PROGRESS"
                    } else {
                        "COMPLETED"
                    }
                    .into(),
                    reason: if failed {
                        "ECS deployment circuit breaker: tasks failed to start.".into()
                    } else {
                        String::new()
                    },
                    desired: 1,
                    running: i32::from(!in_progress && !failed),
                    failed_tasks: i32::from(failed) * 3,
                    events: if failed {
                        vec![format!("(service {s}) has started 1 tasks: (task 1). Essential container exited with code 1")]
                    } else {
                        Vec::new()
                    },
                }
            })
            .collect())
    }
}

/// Pushes "images" whose digest follows `generation`; fails when told to.
struct FakePusher {
    log: Log,
    generation: Mutex<u32>,
    fail: bool,
    pushed_before: Mutex<bool>,
    /// Images that cannot be pulled anonymously.
    private: Vec<String>,
    /// Images a registry no longer has.
    gone: Vec<String>,
    /// What each keep_released was asked: the images to tag, the repositories to clean.
    kept: Mutex<Vec<(Vec<push::ecr::TaggedImage>, Vec<String>)>>,
}

impl FakePusher {
    fn new(log: &Log) -> Self {
        FakePusher {
            log: Arc::clone(log),
            generation: Mutex::new(1),
            fail: false,
            pushed_before: Mutex::new(false),
            private: Vec::new(),
            gone: Vec::new(),
            kept: Mutex::new(Vec::new()),
        }
    }
}

impl ImagePusher for FakePusher {
    async fn check(&self, _: Option<&str>, docker: bool, registry: bool) -> Vec<PreflightProblem> {
        if docker {
            note(&self.log, "check docker");
        }
        if registry {
            note(&self.log, "check registry");
        }
        Vec::new()
    }
    async fn copy(
        &self,
        _: &App,
        images: &[(String, String, Option<String>)],
        _: Option<&str>,
    ) -> Result<Vec<push::copy::Copied>, Error> {
        note(&self.log, "copy images");
        Ok(images
            .iter()
            .map(|(role, from, _)| {
                let digest = from.split_once('@').map_or("", |(_, d)| d);
                push::copy::Copied {
                    role: role.clone(),
                    from: from.clone(),
                    reference: format!("registry.target/{role}@{digest}"),
                    status: "copied",
                    blobs_copied: 2,
                    blobs_present: 0,
                }
            })
            .collect())
    }
    async fn push(
        &self,
        app: &App,
        roles: &[String],
        _: Option<&str>,
    ) -> Result<Vec<push::Pushed>, Error> {
        for role in roles {
            note(&self.log, format!("push {role}"));
        }
        if self.fail {
            return Err(Error::Push(push::PushError::PushFailed {
                role: "web".into(),
                detail: "registry hung up".into(),
            }));
        }
        let generation = *self.generation.lock().expect("gen");
        let mut before = self.pushed_before.lock().expect("before");
        let status = if *before { "unchanged" } else { "pushed" };
        *before = true;
        Ok(app
            .services
            .iter()
            .filter(|s| roles.contains(&s.role))
            .filter(|s| matches!(s.image, ImageSource::Build { .. }))
            .map(|s| push::Pushed {
                role: s.role.clone(),
                image: format!("registry.example/{}:git-1", s.role),
                reference: format!("registry.example/{}@sha256:{generation:064}", s.role),
                digest: format!("sha256:{generation:064}"),
                tag: "git-1".into(),
                commit: Some("1".repeat(40)),
                dirty: false,
                status,
                stats: Default::default(),
            })
            .collect())
    }
    async fn resolve(
        &self,
        _: &App,
        images: &[(String, String)],
        _: Option<&str>,
    ) -> Vec<Result<push::resolve::Resolved, Error>> {
        images
            .iter()
            .map(|(role, image)| {
                if self.private.contains(image) {
                    return Err(Error::Push(push::PushError::NotAnonymous {
                        role: role.clone(),
                        image: image.clone(),
                        registry: "docker.io".into(),
                    }));
                }
                Ok(push::resolve::Resolved {
                    role: role.clone(),
                    image: image.clone(),
                    reference: format!("{image}@sha256:{:064}", 7),
                    note: None,
                })
            })
            .collect()
    }
    async fn exists(&self, _: &App, images: &[(String, String)]) -> Vec<Result<(), Error>> {
        images
            .iter()
            .map(|(role, image)| {
                if self.gone.contains(image) {
                    Err(Error::Push(push::PushError::ReleasedImageGone {
                        role: role.clone(),
                        image: image.clone(),
                    }))
                } else {
                    Ok(())
                }
            })
            .collect()
    }
    async fn keep_released(
        &self,
        keep: &[push::ecr::TaggedImage],
        repositories: &[String],
        _: &str,
    ) -> push::ecr::Kept {
        note(&self.log, "keep released images");
        self.kept
            .lock()
            .expect("kept")
            .push((keep.to_vec(), repositories.to_vec()));
        push::ecr::Kept {
            tagged: keep.len(),
            ..Default::default()
        }
    }
}

struct FakeTerraform {
    log: Log,
    changes: bool,
    state: State,
    /// What the state still records after a destroy (a destroy that left something behind).
    destroy_leaves: usize,
    fail_at: Mutex<Option<&'static str>>,
}

impl FakeTerraform {
    fn new(log: &Log, state: &State, changes: bool) -> Self {
        FakeTerraform {
            log: Arc::clone(log),
            changes,
            state: Arc::clone(state),
            destroy_leaves: 0,
            fail_at: Mutex::new(None),
        }
    }
    fn step(&self, name: &'static str) -> Result<(), Error> {
        note(&self.log, name);
        if *self.fail_at.lock().expect("fail") == Some(name) {
            return Err(Error::Terraform(terraform::TerraformError::Interrupted));
        }
        Ok(())
    }
}

impl TerraformRunner for FakeTerraform {
    async fn check(&self) -> Result<(), Error> {
        note(&self.log, "check terraform");
        Ok(())
    }
    async fn init(&self, _: Option<&str>) -> Result<(), Error> {
        self.step("init")
    }
    async fn plan(&self) -> Result<Option<PlanSummary>, Error> {
        self.step("plan")?;
        Ok(self.changes.then(|| PlanSummary {
            add: 3,
            ..Default::default()
        }))
    }
    async fn apply(&self) -> Result<(), Error> {
        self.step("apply")?;
        *self.state.lock().expect("state") = 12;
        Ok(())
    }
    async fn destroy(&self) -> Result<(), Error> {
        self.step("destroy")?;
        *self.state.lock().expect("state") = self.destroy_leaves;
        Ok(())
    }
    async fn outputs(&self) -> Result<serde_json::Value, Error> {
        Ok(serde_json::json!({ "urls": { "value": { "web": "http://spacetweet.io" } } }))
    }
    async fn command(&self, args: &[String]) -> Result<(), Error> {
        note(&self.log, format!("terraform {}", args.join(" ")));
        Ok(())
    }
}

/// Records the hooks run; for the real ones, see the hook tests below.
struct FakeHooks {
    log: Log,
}

impl HookRunner for FakeHooks {
    fn run(&self, hook: Hook, _: &[(&str, &str)], _: &(dyn Fn(&str) + Sync)) -> Result<(), Error> {
        note(&self.log, format!("hook {hook}"));
        Ok(())
    }
}

struct World {
    app: App,
    /// The environment a promotion takes its release from, and its cloud.
    source: Option<(App, FakeCloud)>,
    settings: crate::settings::Settings,
    out: tempfile::TempDir,
    reporter: Reporter,
    recorded: Arc<Mutex<crate::output::Recorded>>,
    log: Log,
    state: State,
}

/// A cloud, a pusher and a Terraform whose plan has changes or not, all logging to one log.
struct Fakes {
    cloud: FakeCloud,
    pusher: FakePusher,
    tf: FakeTerraform,
}

impl World {
    fn new() -> Self {
        Self::of("spacetweet", None)
    }

    fn of(fixture: &str, env: Option<&str>) -> Self {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(fixture);
        let raw = crate::config::load(&dir).expect("fixture loads");
        let app = crate::model::resolve(&raw, env).expect("fixture resolves");
        let (reporter, recorded) = Reporter::recording();
        World {
            app,
            source: None,
            settings: crate::cli::Cli::parse_from(["exo-deploy"]).resolve().1,
            out: tempfile::TempDir::new().expect("out"),
            reporter,
            recorded,
            log: Log::default(),
            state: State::default(),
        }
    }

    /// A world whose app (a copy of the fixture) has these hooks, each a shell script body
    /// run by `/bin/sh` that may append to `$HOOK_LOG`.
    fn with_hooks(hooks: &[(Hook, &str)]) -> (Self, tempfile::TempDir) {
        let mut w = World::new();
        let app = w.add_hooks(hooks);
        (w, app)
    }

    /// Moves the app's folder to a new one holding these hooks.
    fn add_hooks(&mut self, hooks: &[(Hook, &str)]) -> tempfile::TempDir {
        use std::os::unix::fs::PermissionsExt;
        let app = tempfile::TempDir::new().expect("app");
        let dir = app.path().join(".exo-deploy/hooks");
        std::fs::create_dir_all(&dir).expect("hooks dir");
        for (hook, body) in hooks {
            let path = dir.join(hook.name());
            std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("hook");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        self.app.dir = app.path().to_path_buf();
        app
    }

    fn run(&self) -> Run<'_> {
        Run {
            app: &self.app,
            source: self.source.as_ref().map(|(a, _)| a),
            settings: &self.settings,
            out: self.out.path(),
            reporter: &self.reporter,
        }
    }
    fn log(&self) -> Vec<String> {
        self.log.lock().expect("log").clone()
    }
    fn clear(&self) {
        self.log.lock().expect("log").clear();
    }
    fn events(&self, kind: &str) -> Vec<serde_json::Value> {
        self.recorded
            .lock()
            .expect("recorded")
            .events
            .iter()
            .filter(|e| e["event"] == kind)
            .cloned()
            .collect()
    }
    fn cloud(&self) -> FakeCloud {
        FakeCloud {
            log: Arc::clone(&self.log),
            state: Arc::clone(&self.state),
            // the credentials are those of the app's account
            account: self
                .app
                .env
                .account_id
                .clone()
                .unwrap_or_else(|| "123456789012".into()),
            // the account has ENI trunking on when the config counts on it
            trunking: self.app.env.eni_trunking,
            ..Default::default()
        }
    }
    fn tf(&self, changes: bool) -> FakeTerraform {
        FakeTerraform::new(&self.log, &self.state, changes)
    }
    fn fakes(&self, changes: bool) -> Fakes {
        Fakes {
            cloud: self.cloud(),
            pusher: FakePusher::new(&self.log),
            tf: self.tf(changes),
        }
    }

    /// Plans `intent` and executes the plan with these ports; hooks are the app's real ones.
    fn execute(
        &self,
        intent: &Intent,
        cloud: &FakeCloud,
        pusher: &FakePusher,
        tf: &FakeTerraform,
        confirm: &Confirm,
    ) -> Result<Outcome, Error> {
        let steps = planning::plan(&self.app, intent, self.out.path().into());
        let hooks = Hooks::new(&self.app, self.out.path(), false);
        self.steps(&steps, cloud, pusher, tf, &hooks, confirm)
    }

    fn steps(
        &self,
        steps: &[Step],
        cloud: &FakeCloud,
        pusher: &FakePusher,
        tf: &FakeTerraform,
        hooks: &impl HookRunner,
        confirm: &Confirm,
    ) -> Result<Outcome, Error> {
        block(self.run().execute(
            steps,
            &Ports {
                cloud,
                source: self.source.as_ref().map(|(_, c)| c),
                pusher,
                terraform: tf,
                hooks,
                confirm,
            },
        ))
    }

    /// A deploy, answered `--yes`.
    fn deploy(&self, f: &Fakes) -> Result<Outcome, Error> {
        self.deploy_with(f, &f.tf)
    }

    /// A deploy, answered `--yes`, with another Terraform (one whose plan has no changes, say).
    fn deploy_with(&self, f: &Fakes, tf: &FakeTerraform) -> Result<Outcome, Error> {
        self.execute(&Intent::Deploy, &f.cloud, &f.pusher, tf, &Confirm::Yes)
    }

    /// The log without preflight's checks.
    fn effects(&self) -> Vec<String> {
        self.log()
            .into_iter()
            .filter(|l| !l.starts_with("check "))
            .collect()
    }
}

fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

fn steps_finished(w: &World) -> Vec<String> {
    w.events("step-finished")
        .iter()
        .map(|e| e["step"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn objects(cloud: &FakeCloud) -> usize {
    cloud.objects.lock().expect("objects").len()
}

#[test]
fn a_deploy_runs_every_step_in_order_and_records_one_release() {
    let w = World::new();
    let f = w.fakes(true);
    let outcome = w.deploy(&f).expect("deploy");
    let log = w.log();
    assert_eq!(
        &log[..12],
        [
            "check docker",
            "check registry",
            "check terraform",
            "push notifier",
            "push tweets",
            "push users",
            "push web",
            "bootstrap bucket",
            "bootstrap zone",
            "init",
            "plan",
            "apply",
        ],
        "{log:?}"
    );
    assert!(
        log[12].starts_with("record releases/production/"),
        "{log:?}"
    );
    // spacetweet pushes to the account's ECR: its released images are kept from expiring
    assert_eq!(log[13], "keep released images", "{log:?}");
    assert_eq!(log.len(), 14);
    let release = outcome.release.expect("a release");
    let stored = f
        .cloud
        .objects
        .lock()
        .expect("objects")
        .values()
        .next()
        .cloned()
        .expect("stored");
    let stored: Release = serde_json::from_slice(&stored).expect("record is JSON");
    assert_eq!(stored, release);
    assert_eq!(
        stored.images["web"],
        format!("registry.example/web@sha256:{:064}", 1)
    );
    assert_eq!(
        stored.images["exocom"],
        format!("originate/exocom:0.27.0@sha256:{:064}", 7),
        "ExoCom runs pinned by digest"
    );
    assert_eq!(
        stored.outputs["urls"]["value"]["web"],
        "http://spacetweet.io"
    );
    // what each service ran, and the config it ran with (secrets by reference only)
    let web = &stored.services["web"];
    assert_eq!(web.image, stored.images["web"]);
    assert_eq!(web.tag.as_deref(), Some("git-1"));
    assert_eq!(web.commit.as_deref(), Some("1".repeat(40).as_str()));
    assert_eq!(
        stored.services["exocom"].tag.as_deref(),
        Some("0.27.0"),
        "a pinned image keeps the tag it was written with"
    );
    assert_eq!(stored.services["exocom"].commit, None);
    assert_eq!(stored.config["name"], "space-tweet");
    assert_eq!(stored.config["env"]["name"], "production");
    assert!(
        !stored
            .config
            .to_string()
            .contains(&w.app.dir.display().to_string()),
        "paths are relative to the app: {}",
        stored.config
    );
    // the containers learn the commit their image was built from
    let tfvars: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(w.out.path().join("terraform.tfvars.json")).expect("tfvars"),
    )
    .expect("json");
    assert_eq!(tfvars["service_commits"]["web"], "1".repeat(40).as_str());
    assert_eq!(
        steps_finished(&w),
        [
            "preflight",
            "show-overrides",
            "use-image",
            "push-image",
            "ensure-state-bucket",
            "ensure-hosted-zone",
            "render",
            "terraform-init",
            "terraform-plan",
            "terraform-apply",
            "wait-for-rollout",
            "record-release",
            "keep-released-images",
        ]
    );
    assert_eq!(w.events("release").len(), 1);
    // the rendered directory references the pushed digests and the zone
    let tfvars =
        std::fs::read_to_string(w.out.path().join("terraform.tfvars.json")).expect("tfvars");
    assert!(
        tfvars.contains(&format!("registry.example/web@sha256:{:064}", 1))
            && tfvars.contains("ZFAKE")
    );
}

#[test]
fn no_changes_means_no_apply_and_no_record() {
    let w = World::new();
    let f = w.fakes(true);
    w.deploy(&f).expect("first deploy");
    w.clear();
    let unchanged = w.tf(false);
    let outcome = w.deploy_with(&f, &unchanged).expect("deploy");
    assert!(!outcome.changes && outcome.release.is_none());
    assert!(
        !w.log()
            .iter()
            .any(|l| l == "apply" || l.starts_with("record")),
        "{:?}",
        w.log()
    );
    assert_eq!(objects(&f.cloud), 1);
    let skipped: Vec<&str> = w
        .events("step-skipped")
        .iter()
        .map(|e| e["step"].as_str().unwrap_or_default())
        .map(|s| Box::leak(s.to_string().into_boxed_str()) as &str)
        .collect();
    assert_eq!(
        skipped,
        [
            "confirm-apply",
            "terraform-apply",
            "wait-for-rollout",
            "record-release",
            "keep-released-images"
        ]
    );
}

#[test]
fn a_rerun_after_an_interruption_between_apply_and_record_records_once() {
    let w = World::new();
    let mut f = w.fakes(true);
    f.cloud.fail_puts = true;
    w.deploy(&f).expect_err("the record could not be written");
    assert!(w.log().iter().any(|l| l == "apply"));
    assert_eq!(objects(&f.cloud), 0);
    f.cloud.fail_puts = false;
    // applied already: the rerun's plan has no changes, and it records what is deployed
    let applied = w.tf(false);
    let outcome = w.deploy_with(&f, &applied).expect("rerun");
    assert!(!outcome.changes);
    let release = outcome.release.expect("recorded now");
    assert_eq!(
        release.images["web"],
        format!("registry.example/web@sha256:{:064}", 1)
    );
    assert_eq!(objects(&f.cloud), 1);
    // and a third run finds the record matching: nothing more
    let again = w.deploy_with(&f, &applied).expect("third run");
    assert!(again.release.is_none());
    assert_eq!(objects(&f.cloud), 1, "one record");
}

#[test]
fn the_first_failing_step_stops_the_run() {
    let w = World::new();
    let f = Fakes {
        pusher: FakePusher {
            fail: true,
            ..FakePusher::new(&w.log)
        },
        ..w.fakes(true)
    };
    let err = w.deploy(&f).expect_err("push fails");
    assert_eq!(err.exit_code(), 1);
    assert_eq!(
        w.effects(),
        ["push notifier", "push tweets", "push users", "push web"],
        "nothing runs after a failed push"
    );
    assert_eq!(w.events("step-failed")[0]["step"], "push-image");

    let w = World::new();
    let f = w.fakes(true);
    *f.tf.fail_at.lock().expect("fail") = Some("init");
    w.deploy(&f).expect_err("init fails");
    assert_eq!(w.log().last().map(String::as_str), Some("init"));
}

#[test]
fn applying_needs_a_yes() {
    for (confirm, code) in [(Confirm::NoTerminal, 2), (Confirm::Answer("n".into()), 1)] {
        let w = World::new();
        let f = w.fakes(true);
        let err = w
            .execute(&Intent::Deploy, &f.cloud, &f.pusher, &f.tf, &confirm)
            .expect_err("refused");
        assert_eq!(err.exit_code(), code, "{confirm:?}");
        assert!(
            !w.log().iter().any(|l| l == "apply"),
            "nothing applied without a yes"
        );
        if confirm == Confirm::NoTerminal {
            assert_eq!(
                w.log(),
                Vec::<String>::new(),
                "without a terminal nothing is pushed or created: the refusal comes first"
            );
        }
    }
    let w = World::new();
    let f = w.fakes(true);
    w.execute(
        &Intent::Deploy,
        &f.cloud,
        &f.pusher,
        &f.tf,
        &Confirm::Answer("y".into()),
    )
    .expect("answered yes");
    assert!(w.log().iter().any(|l| l == "apply"));
}

#[test]
fn plan_only_stops_after_the_plan_and_needs_no_terminal() {
    let w = World::new();
    let f = w.fakes(true);
    let outcome = w
        .execute(
            &Intent::Plan {
                detailed_exitcode: true,
            },
            &f.cloud,
            &f.pusher,
            &f.tf,
            &Confirm::NoTerminal,
        )
        .expect("plan");
    assert!(outcome.changes);
    assert_eq!(w.log().last().map(String::as_str), Some("plan"));
    assert_eq!(w.events("plan-summary")[0]["add"], 3);
}

#[test]
fn a_rerun_after_an_interruption_between_push_and_apply_completes_the_work() {
    let w = World::new();
    let f = w.fakes(true);
    *f.tf.fail_at.lock().expect("fail") = Some("apply");
    w.deploy(&f).expect_err("interrupted");
    assert_eq!(objects(&f.cloud), 0, "no record for an unfinished deploy");
    *f.tf.fail_at.lock().expect("fail") = None;
    w.deploy(&f).expect("rerun");
    assert_eq!(objects(&f.cloud), 1, "exactly one release");
    let images: Vec<_> = w
        .events("image")
        .into_iter()
        .filter(|e| e["status"] != "pinned")
        .collect();
    let builds = w
        .app
        .services
        .iter()
        .filter(|s| matches!(s.image, ImageSource::Build { .. }))
        .count();
    assert!(builds > 0 && images.len() == 2 * builds, "{images:?}");
    assert!(
        images[builds..].iter().all(|e| e["status"] == "unchanged"),
        "the rerun pushes nothing again: {images:?}"
    );
}

#[test]
fn history_is_newest_first_and_rollback_reapplies_recorded_digests_without_pushing() {
    let w = World::new();
    let f = w.fakes(true);
    w.deploy(&f).expect("first");
    std::thread::sleep(std::time::Duration::from_millis(5));
    *f.pusher.generation.lock().expect("gen") = 2;
    *f.pusher.pushed_before.lock().expect("before") = false;
    w.deploy(&f).expect("second");
    let history = block(w.run().history(&f.cloud)).expect("history");
    assert_eq!(history.len(), 2);
    assert!(history[0].id > history[1].id, "newest first");
    assert_eq!(
        history[0].images["web"],
        format!("registry.example/web@sha256:{:064}", 2)
    );

    w.clear();
    let old = history[1].clone();
    let rollback = Intent::Rollback {
        release: "previous".into(),
    };
    let outcome = w
        .execute(&rollback, &f.cloud, &f.pusher, &f.tf, &Confirm::Yes)
        .expect("rollback");
    assert!(
        !w.log()
            .iter()
            .any(|l| l.starts_with("push") || l == "check docker"),
        "a rollback needs no Docker, and rebuilds and pushes nothing: {:?}",
        w.log()
    );
    let tfvars =
        std::fs::read_to_string(w.out.path().join("terraform.tfvars.json")).expect("tfvars");
    assert!(
        tfvars.contains(&format!("registry.example/web@sha256:{:064}", 1)),
        "{tfvars}"
    );
    let release = outcome.release.expect("recorded");
    assert_eq!(release.rollback_of.as_deref(), Some(old.id.as_str()));
    assert_eq!(release.images, old.images);
    assert_eq!(
        release.services, old.services,
        "a rollback runs, and records, what the release ran: tags and commits too"
    );
    assert_eq!(
        block(w.run().history(&f.cloud)).expect("history").len(),
        3,
        "records are added, never replaced"
    );
    let unknown = Intent::Rollback {
        release: "20200101T000000000Z-nope".into(),
    };
    let err = w
        .execute(&unknown, &f.cloud, &f.pusher, &f.tf, &Confirm::Yes)
        .expect_err("no such release");
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("recent ones"), "{err}");
}

#[test]
fn a_rollback_to_a_release_whose_image_is_gone_stops_before_anything_is_planned() {
    let w = World::new();
    let mut f = w.fakes(true);
    w.deploy(&f).expect("first");
    std::thread::sleep(std::time::Duration::from_millis(5));
    *f.pusher.generation.lock().expect("gen") = 2;
    *f.pusher.pushed_before.lock().expect("before") = false;
    w.deploy(&f).expect("second");
    let gone = format!("registry.example/web@sha256:{:064}", 1);
    f.pusher.gone.push(gone.clone());
    w.clear();
    let err = w
        .execute(
            &Intent::Rollback {
                release: "previous".into(),
            },
            &f.cloud,
            &f.pusher,
            &f.tf,
            &Confirm::Yes,
        )
        .expect_err("the image is gone");
    assert_eq!(err.exit_code(), 1);
    let text = err.to_string();
    assert!(
        text.contains(&gone) && text.contains("no longer in its registry"),
        "{text}"
    );
    assert!(
        text.contains("nothing was changed") && text.contains("exo-deploy history"),
        "says what to do: {text}"
    );
    assert!(
        !w.log()
            .iter()
            .any(|l| l.starts_with("bootstrap") || l == "init" || l == "plan" || l == "apply"),
        "nothing was planned or applied: {:?}",
        w.log()
    );
    assert_eq!(
        block(w.run().history(&f.cloud)).expect("history").len(),
        2,
        "and nothing recorded"
    );
}

#[test]
fn teardown_destroys_only_what_the_state_records_and_nuke_then_removes_the_rest() {
    let w = World::new();
    let f = w.fakes(true);
    w.execute(&Intent::Teardown, &f.cloud, &f.pusher, &f.tf, &Confirm::Yes)
        .expect("nothing recorded");
    assert!(
        w.log().is_empty(),
        "no terraform when the state records nothing: {:?}",
        w.log()
    );

    let w = World::new();
    *w.state.lock().expect("state") = 12;
    let f = Fakes {
        tf: FakeTerraform {
            destroy_leaves: 1,
            ..w.tf(true)
        },
        ..w.fakes(true)
    };
    let err = w
        .execute(&Intent::Nuke, &f.cloud, &f.pusher, &f.tf, &Confirm::Yes)
        .expect_err("the state still records a resource after destroy");
    assert!(
        err.to_string().contains("still records 1 resources"),
        "{err}"
    );
    assert_eq!(
        w.log(),
        ["init", "destroy"],
        "nothing is removed while the state records resources"
    );

    let w = World::new();
    *w.state.lock().expect("state") = 12;
    let f = w.fakes(true);
    w.execute(&Intent::Nuke, &f.cloud, &f.pusher, &f.tf, &Confirm::Yes)
        .expect("nuke");
    assert_eq!(
        w.log(),
        [
            "init",
            "destroy",
            "delete zones",
            "delete bucket",
            "delete repositories"
        ]
    );
    let err = w
        .execute(
            &Intent::Nuke,
            &f.cloud,
            &f.pusher,
            &f.tf,
            &Confirm::NoTerminal,
        )
        .expect_err("no terminal");
    assert_eq!(err.exit_code(), 2);
    assert!(
        err.to_string().contains("--nuke needs the app's name"),
        "{err}"
    );
}

#[test]
fn status_shows_the_last_release_and_task_counts() {
    let w = World::new();
    let f = w.fakes(true);
    let empty = block(w.run().status(&f.cloud)).expect("status");
    assert!(empty.release.is_none() && empty.urls.is_none());
    w.deploy(&f).expect("deploy");
    let status = block(w.run().status(&f.cloud)).expect("status");
    assert_eq!(
        status
            .urls
            .as_ref()
            .and_then(|u| u.get("web"))
            .map(String::as_str),
        Some("http://spacetweet.io")
    );
    assert!(status.release.is_some());
    let services: Vec<&str> = status.services.iter().map(|s| s.service.as_str()).collect();
    assert!(services.contains(&"space-tweet-production-public/web"));
    assert!(services.contains(&"space-tweet-production-private/exocom"));
}

#[test]
fn hooks_run_at_their_points_of_a_deploy_in_order() {
    let (w, app) = World::with_hooks(&[
        (Hook::PostRender, "echo rendered"),
        (Hook::PreApply, "echo before"),
        (Hook::PostApply, "echo after"),
        (Hook::PostDeploy, "echo \"released $EXO_DEPLOY_RELEASE\""),
    ]);
    let f = w.fakes(true);
    let outcome = w.deploy(&f).expect("deploy");
    assert_eq!(
        steps_finished(&w),
        [
            "preflight",
            "show-overrides",
            "use-image",
            "push-image",
            "ensure-state-bucket",
            "ensure-hosted-zone",
            "render",
            "run-hook",
            "terraform-init",
            "terraform-plan",
            "run-hook",
            "terraform-apply",
            "wait-for-rollout",
            "run-hook",
            "record-release",
            "keep-released-images",
            "run-hook",
        ]
    );
    let release = outcome.release.expect("release");
    let lines = w.recorded.lock().expect("recorded").lines.clone();
    assert!(
        lines.contains(&format!("  [post-deploy] released {}", release.id)),
        "{lines:?}"
    );
    drop(app);
}

#[test]
fn a_failing_hook_stops_the_deploy_before_the_next_step() {
    let (w, _app) =
        World::with_hooks(&[(Hook::PreApply, "echo 'policy check failed' >&2; exit 3")]);
    let f = w.fakes(true);
    let err = w.deploy(&f).expect_err("stopped");
    assert_eq!(
        err.to_string(),
        "the pre-apply hook failed with exit code 3"
    );
    assert_eq!(err.exit_code(), 1);
    assert!(!w.log().iter().any(|l| l == "apply"), "{:?}", w.log());
    assert_eq!(objects(&f.cloud), 0);
    let lines = w.recorded.lock().expect("recorded").lines.clone();
    assert!(lines.contains(&"  [pre-apply] policy check failed".to_string()));
}

#[test]
fn a_failing_post_deploy_hook_fails_the_run_with_the_release_recorded() {
    let (w, _app) = World::with_hooks(&[(Hook::PostDeploy, "exit 4")]);
    let f = w.fakes(true);
    let err = w.deploy(&f).expect_err("post-deploy failed");
    assert_eq!(
        err.to_string(),
        "the post-deploy hook failed with exit code 4"
    );
    assert_eq!(err.exit_code(), 1);
    assert_eq!(objects(&f.cloud), 1, "recorded");
}

#[test]
fn a_release_whose_post_apply_check_failed_is_recorded_only_once_the_check_passes() {
    let (w, app) = World::with_hooks(&[(Hook::PostApply, "echo 'smoke test failed'; exit 1")]);
    let f = w.fakes(true);
    w.deploy(&f).expect_err("post-apply failed");
    assert_eq!(objects(&f.cloud), 0);
    // applied already: the rerun has no changes, runs post-apply again, and it fails again
    let applied = w.tf(false);
    w.deploy_with(&f, &applied)
        .expect_err("the check still fails");
    assert_eq!(
        objects(&f.cloud),
        0,
        "a release that failed its check is not recorded as good"
    );
    // the check passes: the run is finished and recorded once
    std::fs::write(
        app.path().join(".exo-deploy/hooks/post-apply"),
        "#!/bin/sh\necho ok\n",
    )
    .expect("fix the check");
    let outcome = w.deploy_with(&f, &applied).expect("finished");
    assert!(outcome.release.is_some());
    assert_eq!(objects(&f.cloud), 1);
}

#[test]
fn a_rollout_that_ecs_rolls_back_fails_the_deploy_shows_why_and_records_nothing() {
    let w = World::new();
    let f = Fakes {
        cloud: FakeCloud {
            failing_rollout: Some("users".into()),
            ..w.cloud()
        },
        ..w.fakes(true)
    };
    let err = w.deploy(&f).expect_err("the rollout failed");
    assert_eq!(err.exit_code(), 1);
    let text = err.to_string();
    assert!(
        text.contains("the new tasks of `users` failed and ECS rolled the deployment back"),
        "{text}"
    );
    assert!(
        text.contains("Essential container exited with code 1"),
        "{text}"
    );
    assert!(
        err.help()
            .unwrap_or_default()
            .contains("No release was recorded")
    );
    assert_eq!(objects(&f.cloud), 0, "no release for a failed rollout");
    assert!(w.log().iter().any(|l| l == "apply"));
    assert_eq!(w.events("step-failed")[0]["step"], "wait-for-rollout");
}

#[test]
fn a_step_whose_condition_cannot_be_decided_fails_and_says_so_in_its_events() {
    // nothing to apply, and the release history (which says whether the last run finished)
    // cannot be read: the post-apply hook fails with a step-started and a step-failed
    let w = World::new();
    let f = Fakes {
        cloud: FakeCloud {
            fail_lists: true,
            ..w.cloud()
        },
        ..w.fakes(false)
    };
    let err = w.deploy(&f).expect_err("the history is unreadable");
    assert!(err.to_string().contains("s3:ListObjectsV2"), "{err}");
    let failed = w.events("step-failed");
    assert_eq!(failed.len(), 1, "{failed:?}");
    let started = w.events("step-started");
    assert_eq!(
        started.last().map(|e| &e["step"]),
        Some(&failed[0]["step"]),
        "the failed step was started: {started:?}"
    );
    assert!(
        failed[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Access Denied")),
        "{failed:?}"
    );
}

#[test]
fn a_deploy_waits_while_rollouts_run_and_gives_up_at_the_timeout() {
    // in progress for two rounds (two clusters each), then done: the deploy waits and records
    let mut w = World::new();
    w.settings.rollout_poll = std::time::Duration::ZERO;
    let f = Fakes {
        cloud: FakeCloud {
            rollout_polls: Mutex::new(2 * 2),
            ..w.cloud()
        },
        ..w.fakes(true)
    };
    w.deploy(&f).expect("rolled out");
    assert_eq!(objects(&f.cloud), 1);
    let lines = w.recorded.lock().expect("recorded").lines.clone();
    assert!(
        lines.contains(&"  web: 0 of 1 new tasks running (in progress)".to_string())
            && lines.contains(&"  web: 1 of 1 new tasks running (completed)".to_string()),
        "{lines:?}"
    );

    let mut w = World::new();
    w.settings.rollout_poll = std::time::Duration::ZERO;
    w.settings.rollout_timeout = std::time::Duration::from_millis(20);
    let f = Fakes {
        cloud: FakeCloud {
            rollout_polls: Mutex::new(u32::MAX),
            ..w.cloud()
        },
        ..w.fakes(true)
    };
    let err = w.deploy(&f).expect_err("timed out");
    assert!(
        err.to_string()
            .contains("have not finished rolling out: web, notifier, tweets, users, exocom"),
        "{err}"
    );
    assert_eq!(objects(&f.cloud), 0);
}

// ---- the property: a run does what its plan says, step for step ----

const FIXTURES: [(&str, Option<&str>); 7] = [
    ("minimal", None),
    ("spacetweet", None),
    ("spacetweet-exosphere", Some("production")),
    ("spacetweet-exosphere", Some("staging")),
    ("https-autoscaling", None),
    ("environments", Some("qa")),
    ("bookshop", Some("staging")),
];

const HOOKS: [(Hook, &str); 4] = [
    (Hook::PostRender, "exit 0"),
    (Hook::PreApply, "exit 0"),
    (Hook::PostApply, "exit 0"),
    (Hook::PostDeploy, "exit 0"),
];

/// Every intent; a rollback goes back to `release`.
fn intents(release: &str) -> Vec<Intent> {
    vec![
        Intent::Deploy,
        Intent::Plan {
            detailed_exitcode: false,
        },
        Intent::Rollback {
            release: release.into(),
        },
        Intent::Teardown,
        Intent::Nuke,
        Intent::Render,
        Intent::Push {
            registry: None,
            tag: None,
            force_tag: false,
            concurrency: 4,
        },
        Intent::Bootstrap,
        Intent::Status,
        Intent::History,
        Intent::Show {
            release: "latest".into(),
        },
        Intent::Restart {
            services: vec!["exocom".into()],
        },
        Intent::SetChannel {
            name: "stable".into(),
            release: "latest".into(),
        },
        Intent::Channels,
        Intent::Ps,
        Intent::Logs {
            services: Vec::new(),
            follow: false,
            since: "10m".into(),
            filter: None,
        },
        Intent::Terraform {
            args: vec!["state".into(), "list".into()],
        },
        Intent::Config { show_origin: true },
    ]
}

/// The side effects a performed step has on the recording ports, as they log them. Reads
/// (the account, the state's count, records, task counts) are not side effects.
fn effects_of(step: &Step) -> Vec<String> {
    let one = |s: &str| vec![s.to_string()];
    match step {
        Step::Preflight { checks } => checks
            .iter()
            .filter_map(|c| match c {
                Check::Docker => Some("check docker".to_string()),
                Check::Registry => Some("check registry".to_string()),
                Check::Terraform => Some("check terraform".to_string()),
                Check::Aws
                | Check::Images
                | Check::Records
                | Check::EniTrunking
                | Check::InstanceTypes => None,
            })
            .collect(),
        Step::PushImage { role, .. } => vec![format!("push {role}")],
        Step::EnsureStateBucket { .. } => one("bootstrap bucket"),
        Step::EnsureHostedZone { .. } => one("bootstrap zone"),
        Step::RunHook { hook } => vec![format!("hook {hook}")],
        Step::TerraformInit => one("init"),
        Step::TerraformPlan => one("plan"),
        Step::TerraformApply => one("apply"),
        Step::TerraformDestroy => one("destroy"),
        Step::RecordRelease => one("record"),
        Step::KeepReleasedImages { .. } => one("keep released images"),
        Step::CopyImages { .. } => one("copy images"),
        Step::Restart { services } => services.iter().map(|s| format!("restart {s}")).collect(),
        Step::Notify { .. } => Vec::new(),
        Step::SetChannel { .. } => one("record"),
        Step::DeleteHostedZone { .. } => one("delete zones"),
        Step::DeleteStateBucket { .. } => one("delete bucket"),
        Step::DeleteRepositories => one("delete repositories"),
        Step::RunTerraform { args } => vec![format!("terraform {}", args.join(" "))],
        Step::When { then, .. } => effects_of(then),
        Step::UseImage { .. }
        | Step::WaitForRollout
        | Step::UseRecordedImages { .. }
        | Step::Render { .. }
        | Step::ConfirmApply
        | Step::ConfirmDestroy { .. }
        | Step::ReadState
        | Step::CheckStateEmpty
        | Step::ShowStatus
        | Step::ShowHistory
        | Step::ShowRelease { .. }
        | Step::ShowChannels
        | Step::ShowLogs { .. }
        | Step::ShowPs
        | Step::Exec { .. }
        | Step::ShowOverrides
        | Step::Scale { .. }
        | Step::UsePromotedRelease { .. }
        | Step::ShowConfig { .. }
        | Step::RefuseProtectedDatabases { .. }
        | Step::ListDatabaseSnapshots => Vec::new(),
    }
}

/// Whether a conditional step runs: `None` for one whose condition does not hold.
fn performed(step: &Step, holds: &impl Fn(planning::Condition) -> bool) -> Option<Step> {
    match step {
        Step::When { condition, then } if holds(*condition) => performed(then, holds),
        Step::When { .. } => None,
        other => Some(other.clone()),
    }
}

/// The recording ports' log, with each record's key left out.
fn observed(w: &World) -> Vec<String> {
    w.log()
        .into_iter()
        .map(|l| {
            if l.starts_with("record ") {
                "record".into()
            } else {
                l
            }
        })
        .collect()
}

/// One scenario: a world for `fixture` whose app has every hook, deployed once before when
/// `deployed` (so the state records resources and a release is recorded), and a Terraform
/// whose plan has `changes`.
struct Scenario {
    w: World,
    _app: tempfile::TempDir,
    cloud: FakeCloud,
    pusher: FakePusher,
    tf: FakeTerraform,
    release: Option<String>,
}

impl Scenario {
    fn new(fixture: (&str, Option<&str>), deployed: bool, changes: bool) -> Self {
        let mut w = World::of(fixture.0, fixture.1);
        let app = w.add_hooks(&HOOKS);
        let (cloud, pusher) = (w.cloud(), FakePusher::new(&w.log));
        let mut release = None;
        if deployed {
            let steps = planning::plan(&w.app, &Intent::Deploy, w.out.path().into());
            let hooks = FakeHooks {
                log: Arc::clone(&w.log),
            };
            let done = w
                .steps(&steps, &cloud, &pusher, &w.tf(true), &hooks, &Confirm::Yes)
                .expect("the first deploy");
            release = done.release.map(|r| r.id);
            w.clear();
            w.recorded.lock().expect("recorded").events.clear();
        }
        let tf = w.tf(changes);
        Scenario {
            w,
            _app: app,
            cloud,
            pusher,
            tf,
            release,
        }
    }

    fn run(&self, steps: &[Step]) -> Result<Outcome, Error> {
        let hooks = FakeHooks {
            log: Arc::clone(&self.w.log),
        };
        self.w.steps(
            steps,
            &self.cloud,
            &self.pusher,
            &self.tf,
            &hooks,
            &Confirm::Yes,
        )
    }
}

#[test]
fn every_intent_of_every_fixture_does_exactly_what_its_plan_says_in_order() {
    let mut runs = 0;
    for fixture in FIXTURES {
        for (deployed, changes) in [(false, false), (false, true), (true, false), (true, true)] {
            let holds = |c: planning::Condition| match c {
                planning::Condition::PlanHasChanges => changes,
                planning::Condition::Unrecorded => changes || !deployed,
                planning::Condition::Deployed => deployed,
                // plans never say it; a dry run's skips are reported with it
                planning::Condition::DryRun => true,
            };
            for index in 0..intents("").len() {
                for dry_run in [false, true] {
                    let mut s = Scenario::new(fixture, deployed, changes);
                    let release = s.release.clone().unwrap_or_else(|| "none".into());
                    let intent = intents(&release).swap_remove(index);
                    if dry_run
                        && !matches!(intent, Intent::Deploy | Intent::Teardown | Intent::Nuke)
                    {
                        continue;
                    }
                    // a dry run executes the whole plan, as `--dry-run` does
                    s.w.settings.dry_run = dry_run;
                    let w = &s.w;
                    let steps = planning::plan(&w.app, &intent, w.out.path().into());
                    let what = format!(
                        "{fixture:?} {intent:?} dry run {dry_run}, deployed {deployed}, changes {changes}"
                    );
                    let result = s.run(&steps);
                    runs += 1;
                    let mut expected = Vec::new();
                    let mut skipped = Vec::new();
                    let mut rendered = false;
                    for step in &steps {
                        if dry_run {
                            // performed whatever its condition, or reported skipped
                            if step.in_dry_run() {
                                rendered |= matches!(step.inner(), Step::Render { .. });
                                expected.extend(effects_of(step.inner()));
                            } else {
                                skipped.push(step.id().to_string());
                            }
                            continue;
                        }
                        if matches!(
                            step,
                            Step::UseRecordedImages { .. } | Step::SetChannel { .. }
                        ) && !deployed
                        {
                            break; // there is no release to point at: the run stops here
                        }
                        match performed(step, &holds) {
                            Some(s) => {
                                rendered |= matches!(s, Step::Render { .. });
                                expected.extend(effects_of(&s));
                            }
                            None => skipped.push(step.id().to_string()),
                        }
                    }
                    match (&intent, deployed, result) {
                        (
                            Intent::Rollback { .. }
                            | Intent::Show { .. }
                            | Intent::SetChannel { .. },
                            false,
                            Err(e),
                        ) => {
                            assert_eq!(e.exit_code(), 2, "{what}: {e}");
                        }
                        (_, _, Err(e)) => panic!("{what}: {e}"),
                        (_, _, Ok(_)) => {}
                    }
                    assert_eq!(observed(w), expected, "{what}");
                    let reported: Vec<String> = w
                        .events("step-skipped")
                        .iter()
                        .map(|e| e["step"].as_str().unwrap_or_default().to_string())
                        .collect();
                    assert_eq!(reported, skipped, "{what}: skipped steps are reported");
                    if dry_run {
                        assert!(
                            observed(w).iter().all(|e| e == "hook post-render"),
                            "{what}: a dry run changes nothing remote: {:?}",
                            observed(w)
                        );
                    }
                    if !deployed {
                        assert_eq!(
                            w.out.path().join("main.tf").is_file(),
                            rendered,
                            "{what}: files are written exactly when the plan renders"
                        );
                    }
                }
            }
        }
    }
    assert!(runs > 200, "{runs} runs");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 48, ..Default::default() })]

    /// A step left out of a plan is never performed: what the ports see is always part of
    /// what the remaining steps would do, in their order.
    #[test]
    fn a_step_left_out_of_a_plan_is_never_performed(
        fixture in 0..FIXTURES.len(),
        intent in 0..intents("").len(),
        deployed: bool,
        changes: bool,
        left_out: proptest::sample::Index,
    ) {
        let s = Scenario::new(FIXTURES[fixture], deployed, changes);
        let release = s.release.clone().unwrap_or_else(|| "none".into());
        let intent = intents(&release).swap_remove(intent);
        let mut steps = planning::plan(&s.w.app, &intent, s.w.out.path().into());
        let removed = steps.remove(left_out.index(steps.len()));
        let _ = s.run(&steps);
        let possible: Vec<String> = steps.iter().flat_map(effects_of).collect();
        let seen = observed(&s.w);
        let mut rest = possible.iter();
        for effect in &seen {
            proptest::prop_assert!(
                rest.any(|p| p == effect),
                "{intent:?} without {removed:?} did {effect}: {seen:?} is not within {possible:?}"
            );
        }
    }
}

fn record(name: &str, kind: &str, value: &str) -> bootstrap::DnsRecord {
    bootstrap::DnsRecord {
        name: name.into(),
        kind: kind.into(),
        values: vec![value.into()],
    }
}

#[test]
fn a_record_exo_deploy_did_not_create_at_a_url_stops_the_deploy_before_anything_changes() {
    let w = World::new();
    let f = Fakes {
        cloud: FakeCloud {
            records: vec![record("spacetweet.io", "CNAME", "old-host.example.net")],
            ..w.cloud()
        },
        ..w.fakes(true)
    };
    let err = w.deploy(&f).expect_err("foreign record");
    let Error::Preflight(problems) = &err else {
        panic!("a preflight error: {err:?}");
    };
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].area, "DNS");
    assert!(
        problems[0]
            .message
            .contains("spacetweet.io CNAME old-host.example.net"),
        "{}",
        problems[0].message
    );
    assert!(w.effects().is_empty(), "nothing done: {:?}", w.effects());

    // the A record the state holds is exo-deploy's own: a redeploy goes on; an AAAA beside it
    // is not
    let w = World::new();
    let f = Fakes {
        cloud: FakeCloud {
            records: vec![record("spacetweet.io", "A", "alias lb.example")],
            our_records: vec!["spacetweet.io".into()],
            ..w.cloud()
        },
        ..w.fakes(true)
    };
    w.deploy(&f).expect("our own record");
    let w = World::new();
    let f = Fakes {
        cloud: FakeCloud {
            records: vec![
                record("spacetweet.io", "A", "alias lb.example"),
                record("spacetweet.io", "AAAA", "2001:db8::1"),
            ],
            our_records: vec!["spacetweet.io".into()],
            ..w.cloud()
        },
        ..w.fakes(true)
    };
    let err = w.deploy(&f).expect_err("an AAAA record of someone else");
    assert!(err.to_string().contains("AAAA 2001:db8::1"), "{err}");
    assert!(!err.to_string().contains(" A alias"), "{err}");
}

#[test]
fn eni_trunking_in_the_config_is_verified_on_the_account_never_changed() {
    let mut w = World::new();
    w.app.env.eni_trunking = true;
    let f = Fakes {
        cloud: FakeCloud {
            trunking: false,
            ..w.cloud()
        },
        ..w.fakes(true)
    };
    let err = w.deploy(&f).expect_err("the account has no trunking");
    let Error::Preflight(problems) = &err else {
        panic!("a preflight error: {err:?}");
    };
    assert_eq!(problems[0].area, "ENI trunking");
    assert!(
        problems[0]
            .help
            .as_deref()
            .is_some_and(|h| h.contains("put-account-setting-default --name awsvpcTrunking")),
        "{problems:?}"
    );
    assert!(w.effects().is_empty(), "nothing done: {:?}", w.effects());
    let f = Fakes {
        cloud: FakeCloud {
            trunking: true,
            ..w.cloud()
        },
        ..w.fakes(true)
    };
    w.deploy(&f).expect("the account has trunking");
}

#[test]
fn a_cluster_of_a_type_newer_than_the_table_is_checked_by_what_ec2_says_of_it() {
    use crate::model::instance_types::{Arch, InstanceType};
    let mut w = World::new();
    w.app.env.private_cluster.instance_type = "z9g.large".into();
    let steps = planning::plan(&w.app, &Intent::Deploy, w.out.path().into());
    assert!(
        matches!(&steps[0], Step::Preflight { checks } if checks.contains(&Check::InstanceTypes)),
        "{steps:?}"
    );
    let ec2_says = |types: &[(&str, InstanceType)]| Fakes {
        cloud: FakeCloud {
            instance_types: types.iter().map(|(n, t)| (n.to_string(), *t)).collect(),
            ..w.cloud()
        },
        ..w.fakes(true)
    };
    // EC2 knows no such type: nothing is done
    let err = w.deploy(&ec2_says(&[])).expect_err("no such type");
    let Error::Preflight(problems) = &err else {
        panic!("a preflight error: {err:?}");
    };
    assert_eq!(problems[0].area, "instance type");
    assert_eq!(
        problems[0].message,
        "EC2 knows no instance type `z9g.large` in us-west-2 (the private cluster's)"
    );
    assert!(w.effects().is_empty(), "nothing done: {:?}", w.effects());
    // a type with no interface to spare for a task: the capacity check's numbers
    let small = InstanceType {
        interfaces: 1,
        vcpus: 2,
        memory_mib: 8192,
        arch: Arch::Arm64,
        trunk_tasks: None,
    };
    let err = w
        .deploy(&ec2_says(&[("z9g.large", small)]))
        .expect_err("too small");
    let Error::Preflight(problems) = &err else {
        panic!("a preflight error: {err:?}");
    };
    assert!(
        problems[0]
            .message
            .starts_with("the private cluster cannot hold its services while one of them deploys")
            && problems[0]
                .message
                .ends_with("(by what EC2 says of the type)"),
        "{problems:?}"
    );
    assert!(w.effects().is_empty(), "nothing done: {:?}", w.effects());
    // room enough: the deploy goes on
    let roomy = InstanceType {
        interfaces: 8,
        vcpus: 16,
        memory_mib: 65536,
        ..small
    };
    w.deploy(&ec2_says(&[("z9g.large", roomy)]))
        .expect("EC2's figures hold the services");
    // EC2 says the type is not what its name made exo-deploy build and render for
    let x86 = InstanceType {
        arch: Arch::X86_64,
        ..roomy
    };
    let err = w
        .deploy(&ec2_says(&[("z9g.large", x86)]))
        .expect_err("another architecture");
    let Error::Preflight(problems) = &err else {
        panic!("a preflight error: {err:?}");
    };
    assert_eq!(
        problems[0].message,
        "EC2 says a z9g.large is linux/amd64, and exo-deploy took it for linux/arm64 by its name (the private cluster's)"
    );
}

#[test]
fn a_cluster_of_a_type_ec2_described_that_deploys_in_rounds_waits_for_every_round() {
    use crate::model::instance_types::{Arch, InstanceType};
    // the private cluster (users, tweets, notifier and ExoCom; at most 6 instances) of a type
    // with one task slot each: 4 tasks and one service deploying fit, all three deploying at
    // once (7) do not, so ECS starts them in two rounds
    let mut w = World::new();
    w.app.env.private_cluster.instance_type = "z9g.large".into();
    w.settings.rollout_poll = std::time::Duration::from_millis(50);
    w.settings.rollout_timeout = std::time::Duration::from_secs(1);
    let one_slot = InstanceType {
        interfaces: 2,
        vcpus: 8,
        memory_mib: 65536,
        arch: Arch::Arm64,
        trunk_tasks: None,
    };
    let f = Fakes {
        cloud: FakeCloud {
            instance_types: [("z9g.large".to_string(), one_slot)].into(),
            rollout_polls: Mutex::new(u32::MAX),
            ..w.cloud()
        },
        ..w.fakes(true)
    };
    let err = w.deploy(&f).expect_err("never rolls out");
    let lines = w.recorded.lock().expect("recorded").lines.clone();
    assert!(
        lines.iter().any(|l| l.starts_with(
            "warning: the private cluster cannot start every service's new tasks at once"
        ) && l.contains("ECS starts them in about 2 rounds")
            && l.contains("(by what EC2 says of the type)")),
        "{lines:?}"
    );
    // the wait is two rounds of --rollout-timeout
    assert!(
        err.to_string()
            .starts_with("after 2 s, these services have not finished rolling out"),
        "{err}"
    );
}

#[test]
fn an_image_tasks_could_not_pull_stops_the_deploy_in_preflight_with_the_fix() {
    let w = World::new();
    let mut f = w.fakes(true);
    f.pusher.private = vec!["originate/exocom:0.27.0".into()];
    let err = w.deploy(&f).expect_err("not pullable");
    let Error::Preflight(problems) = &err else {
        panic!("a preflight error: {err:?}");
    };
    assert_eq!(problems[0].area, "image");
    assert!(
        problems[0]
            .help
            .as_deref()
            .is_some_and(|h| h.contains("registry-credentials: {docker.io: <the secret's ARN>}")),
        "{problems:?}"
    );
    assert!(
        w.effects().is_empty(),
        "nothing pushed or created: {:?}",
        w.effects()
    );
}

#[test]
fn a_teardown_of_an_environment_protecting_its_databases_is_refused_before_anything() {
    for intent in [Intent::Teardown, Intent::Nuke] {
        let w = World::of("bookshop", Some("production"));
        let f = w.fakes(true);
        let err = w
            .execute(&intent, &f.cloud, &f.pusher, &f.tf, &Confirm::Yes)
            .expect_err("protected");
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.to_string().contains(
                "environment `production` protects its databases from deletion (postgres)"
            ),
            "{err}"
        );
        assert!(w.log().is_empty(), "nothing asked or done: {:?}", w.log());
    }
    // staging does not protect them
    let w = World::of("bookshop", Some("staging"));
    let f = w.fakes(true);
    w.execute(&Intent::Teardown, &f.cloud, &f.pusher, &f.tf, &Confirm::Yes)
        .expect("a teardown");
    // unless protection is on as last applied (turned off in the config, not yet deployed):
    // AWS would refuse to delete the database half-way through the destroy
    for intent in [Intent::Teardown, Intent::Nuke] {
        let w = World::of("bookshop", Some("staging"));
        *w.state.lock().expect("state") = 40;
        let f = Fakes {
            cloud: FakeCloud {
                protected_databases: vec!["bookshop-staging-postgres".into()],
                ..w.cloud()
            },
            ..w.fakes(true)
        };
        let err = w
            .execute(&intent, &f.cloud, &f.pusher, &f.tf, &Confirm::Yes)
            .expect_err("protected as last applied");
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.to_string().contains(
                "environment `staging`, as last deployed, protects its databases from deletion (bookshop-staging-postgres)"
            ),
            "{err}"
        );
        assert!(w.log().is_empty(), "nothing destroyed: {:?}", w.log());
        assert_eq!(*w.state.lock().expect("state"), 40);
        let started: Vec<serde_json::Value> = w
            .events("step-started")
            .iter()
            .map(|e| e["step"].clone())
            .collect();
        assert_eq!(started, ["read-state"], "refused before the question");
    }
}

#[test]
fn a_promotion_deploys_exactly_the_images_of_a_release_of_another_environment() {
    // staging deploys, and its release becomes channel `stable`
    let staging = World::of("spacetweet-exosphere", Some("staging"));
    let s = staging.fakes(true);
    let released = staging
        .deploy(&s)
        .expect("staging deploy")
        .release
        .expect("recorded");
    staging
        .execute(
            &Intent::SetChannel {
                name: "stable".into(),
                release: "latest".into(),
            },
            &s.cloud,
            &s.pusher,
            &s.tf,
            &Confirm::Yes,
        )
        .expect("channel set");
    let set = staging.events("channel");
    assert_eq!(set[0]["release"], released.id.as_str());
    assert_eq!(set[0]["channel"], "stable");

    // production promotes the channel: nothing is built, the images are copied by digest
    let mut production = World::of("spacetweet-exosphere", Some("production"));
    production.source = Some((staging.app.clone(), s.cloud));
    let p = production.fakes(true);
    let promote = |channel: &str, allow_dirty: bool| Intent::Promote {
        from: "staging".into(),
        release: channel.into(),
        channel: true,
        allow_dirty,
    };
    let outcome = production
        .execute(
            &promote("stable", false),
            &p.cloud,
            &p.pusher,
            &p.tf,
            &Confirm::Yes,
        )
        .expect("promotion");
    let log = production.log();
    assert!(
        !log.iter()
            .any(|l| l.starts_with("push") || l == "check docker"),
        "a promotion builds and pushes nothing: {log:?}"
    );
    assert!(log.contains(&"copy images".to_string()), "{log:?}");
    assert!(log.contains(&"apply".to_string()), "{log:?}");
    let release = outcome.release.expect("recorded");
    assert_eq!(
        release.promoted_from.as_deref(),
        Some(format!("staging/{}", released.id).as_str())
    );
    for (role, image) in &released.images {
        let digest = image.split_once('@').expect("by digest").1;
        let built = production
            .app
            .services
            .iter()
            .any(|s| &s.role == role && matches!(s.image, ImageSource::Build { .. }));
        if built {
            assert_eq!(
                release.images[role],
                format!("registry.target/{role}@{digest}"),
                "{role}: the same digest, in this environment's registry"
            );
            assert_eq!(
                release.services[role].commit,
                released.services[role].commit
            );
        } else {
            assert_eq!(&release.images[role], image, "{role} runs as recorded");
        }
    }
    let tfvars = std::fs::read_to_string(production.out.path().join("terraform.tfvars.json"))
        .expect("tfvars");
    assert!(tfvars.contains("registry.target/web@"), "{tfvars}");
    assert_eq!(
        release.config["env"]["name"], "production",
        "the target environment's own config applies"
    );

    // a release built from uncommitted changes is refused, unless allowed
    let (staging_app, source_cloud) = production.source.take().expect("source");
    let dirty_id = "29991231T000000000Z-0123456789ab-dirty";
    let dirty = Release {
        id: dirty_id.into(),
        dirty: true,
        ..released.clone()
    };
    block(async {
        Ok::<_, Error>(
            source_cloud
                .put_new(
                    "b",
                    &crate::release::key("staging", dirty_id),
                    serde_json::to_vec(&dirty).expect("json"),
                )
                .await?,
        )
    })
    .expect("put");
    production.source = Some((staging_app, source_cloud));
    production.clear();
    let latest = Intent::Promote {
        from: "staging".into(),
        release: "latest".into(),
        channel: false,
        allow_dirty: false,
    };
    let err = production
        .execute(&latest, &p.cloud, &p.pusher, &p.tf, &Confirm::Yes)
        .expect_err("dirty");
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("uncommitted changes"), "{err}");
    assert!(
        !production
            .log()
            .iter()
            .any(|l| l == "copy images" || l == "apply"),
        "nothing was done: {:?}",
        production.log()
    );
    let allowed = Intent::Promote {
        from: "staging".into(),
        release: "latest".into(),
        channel: false,
        allow_dirty: true,
    };
    let outcome = production
        .execute(&allowed, &p.cloud, &p.pusher, &p.tf, &Confirm::Yes)
        .expect("allowed");
    assert_eq!(
        outcome.release.expect("recorded").promoted_from.as_deref(),
        Some(format!("staging/{dirty_id}").as_str())
    );

    // an unknown channel names the ones there are
    let err = production
        .execute(
            &promote("canary", false),
            &p.cloud,
            &p.pusher,
            &p.tf,
            &Confirm::Yes,
        )
        .expect_err("no such channel");
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("it has stable"), "{err}");
}

#[test]
fn only_the_images_the_app_builds_into_its_own_ecr_are_kept_by_release_tags() {
    use crate::push::ecr::release_tag;
    let w = World::new(); // spacetweet: us-west-2, its own ECR
    let ecr = |account: &str, repo: &str, n: u32| {
        format!("{account}.dkr.ecr.us-west-2.amazonaws.com/{repo}@sha256:{n:064}")
    };
    let release = |id: &str, n: u32| Release {
        id: id.into(),
        app: "space-tweet".into(),
        env: "production".into(),
        version: "1".into(),
        deployed_at: String::new(),
        commit: None,
        dirty: false,
        images: BTreeMap::from([
            ("web".into(), ecr("123456789012", "space-tweet-web", n)),
            // a mirror in another account, and an image from elsewhere: not ours to tag
            ("exocom".into(), ecr("999999999999", "exocom", n)),
            ("users".into(), format!("ghcr.io/team/users@sha256:{n:064}")),
        ]),
        services: BTreeMap::new(),
        config: serde_json::Value::Null,
        outputs: serde_json::Value::Null,
        deployed_by: "user:t".into(),
        duration_seconds: 1.0,
        rollback_of: None,
        promoted_from: None,
    };
    let releases = [
        release("20261123T000003000Z-c", 3),
        release("20261123T000002000Z-b", 2),
        release("20261123T000001000Z-a", 1),
    ];
    let (keep, repositories) =
        super::execute::released_images(&w.app, "123456789012", &releases, 2);
    assert_eq!(
        keep.iter()
            .map(|i| (i.repository.as_str(), i.tag.clone()))
            .collect::<Vec<_>>(),
        [
            (
                "space-tweet-web",
                release_tag("production", "20261123T000003000Z-c")
            ),
            (
                "space-tweet-web",
                release_tag("production", "20261123T000002000Z-b")
            ),
        ],
        "the last 2 releases, web only"
    );
    assert_eq!(keep[0].digest, format!("sha256:{:064}", 3));
    assert!(
        repositories.contains(&"space-tweet-web".to_string())
            && repositories.contains(&"space-tweet-tweets".to_string())
            && !repositories.iter().any(|r| r.contains("exocom")),
        "the repositories it pushes to are cleaned of older release tags: {repositories:?}"
    );
}

/// A scale override of `service` to `n` tasks, as `exo-deploy scale` records it, in `cloud`.
fn seed_override(cloud: &FakeCloud, service: &str, n: u32) {
    let entry = crate::release::ScaleOverride {
        service: service.into(),
        env: "production".into(),
        desired: Some(n),
        stopped_from: None,
        range: None,
        set_by: "user:t".into(),
        set_at: "2026-11-01T00:00:00Z".into(),
    };
    cloud.objects.lock().expect("objects").insert(
        format!("overrides/production/20261101T000000000Z-{service}.json"),
        serde_json::to_vec(&entry).expect("json"),
    );
}

#[test]
fn overrides_are_checked_against_the_cluster_together_by_scale_and_by_every_deploy() {
    // spacetweet's private cluster: up to 6 × t3.medium, 2 tasks each = 12 at once; the config
    // runs users 2, tweets 2, notifier 2 and ExoCom 1, and one deployment at a time adds as
    // many tasks again as the service has
    let w = World::new();
    let f = w.fakes(true);
    seed_override(&f.cloud, "users", 4);
    // tweets 3 alone fits (2 + 3 + 2 + 1, plus 3 = 11), not beside users' 4 (4 + 3 + 2 + 1,
    // plus 4 = 14)
    let err = block(w.run().scale(
        &f.cloud,
        "bucket",
        "tweets",
        crate::settings::ScaleTo::Count(3),
    ))
    .expect_err("too many beside users' override");
    let message = err.to_string();
    assert!(
        message.contains(
            "the private cluster cannot hold 3 tasks of `tweets` while it deploys beside the overrides in effect (users 4 tasks)"
        ) && message.contains("(nothing was changed)"),
        "{message}"
    );
    assert!(w.effects().is_empty(), "nothing scaled: {:?}", w.effects());
    let alone = w.fakes(true);
    block(w.run().scale(
        &alone.cloud,
        "bucket",
        "tweets",
        crate::settings::ScaleTo::Count(3),
    ))
    .expect("fits without users' override");
    let done = w.effects();
    assert_eq!(done[0], "scale tweets 3");
    assert!(
        done.len() == 2 && done[1].starts_with("record overrides/production/"),
        "{done:?}"
    );

    // two overrides that no longer fit together (the config changed since, or they were set
    // side by side): a deploy stops before anything is pushed or changed
    let w = World::new();
    let f = w.fakes(true);
    seed_override(&f.cloud, "users", 4);
    seed_override(&f.cloud, "tweets", 3);
    let err = w.deploy(&f).expect_err("overrides that do not fit");
    let message = err.to_string();
    assert!(matches!(err, Error::Usage(_)), "{err:?}");
    assert!(
        message.contains("the scale overrides in effect no longer fit beside the config: the private cluster cannot hold its services while one of them deploys")
            && message.contains("(with the overrides tweets 3 tasks, users 4 tasks)")
            && message.contains("`exo-deploy scale SERVICE --reset`"),
        "{message}"
    );
    assert!(w.effects().is_empty(), "nothing done: {:?}", w.effects());
    // a dry run says so and goes on
    let mut w = World::new();
    w.settings = crate::cli::Cli::parse_from(["exo-deploy", "--dry-run"])
        .resolve()
        .1;
    let f = w.fakes(true);
    seed_override(&f.cloud, "users", 4);
    seed_override(&f.cloud, "tweets", 3);
    let steps = planning::plan(&w.app, &Intent::Deploy, w.out.path().into());
    let hooks = Hooks::new(&w.app, w.out.path(), false);
    w.steps(&steps, &f.cloud, &f.pusher, &f.tf, &hooks, &Confirm::Yes)
        .expect("a dry run goes on");
    let said = w.recorded.lock().expect("recorded").lines.join("\n");
    assert!(
        said.contains(
            "(dry run) a deploy would stop here: the scale overrides in effect no longer fit"
        ),
        "{said}"
    );
}

#[test]
fn a_webhook_whose_url_secret_holds_no_url_is_reported_and_nothing_is_sent() {
    // the recording cloud's secrets all hold `webhook-key`, which is no url
    let mut w = World::new();
    w.app.env.notify = vec![crate::model::Webhook {
        url: crate::model::WebhookUrl::Secret(crate::model::SecretRef::SecretsManager(
            "deploy-webhook-url".into(),
        )),
        secret: None,
    }];
    let f = w.fakes(true);
    w.deploy(&f).expect("a webhook never fails the run");
    let failed = w.events("notification-failed");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["webhook"], "secretsmanager:deploy-webhook-url");
    let message = failed[0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("its url could not be read from the secret (its value is not an http(s) url); nothing was sent"),
        "{message}"
    );
    assert!(
        !message.contains("webhook-key"),
        "never the value: {message}"
    );
    assert!(w.events("notified").is_empty());
}
