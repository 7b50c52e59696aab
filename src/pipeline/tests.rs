//! The orchestration alone, against recording implementations of the cloud, the pusher and the
//! Terraform runner: step order, stopping at the first failure, confirmations, release records,
//! history, rollback, teardown, and re-running after an interruption.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use clap::Parser;

use super::*;
use crate::bootstrap::objects::ServiceCount;
use crate::bootstrap::{BucketOutcome, BucketSpec, Removal, ZoneOutcome, ZoneSpec};
use crate::terraform::PlanSummary;

type Log = Arc<Mutex<Vec<String>>>;

fn note(log: &Log, what: impl Into<String>) {
    log.lock().expect("log").push(what.into());
}

#[derive(Default)]
struct FakeCloud {
    log: Log,
    objects: Mutex<BTreeMap<String, Vec<u8>>>,
    state_resources: usize,
    /// Writes fail, as when the run is stopped before its record.
    fail_puts: bool,
}

impl Cloud for FakeCloud {
    async fn account(&self) -> bootstrap::Result<String> {
        Ok("123456789012".into())
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
        })
    }
    async fn state_resources(&self, _: &str, _: &str) -> bootstrap::Result<usize> {
        Ok(self.state_resources)
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
            return Err(bootstrap::BootstrapError::Api {
                operation: "s3:PutObject",
                target: key.into(),
                message: "connection reset".into(),
            });
        }
        if objects.contains_key(key) {
            return Err(bootstrap::BootstrapError::Api {
                operation: "s3:PutObject",
                target: key.into(),
                message: "exists".into(),
            });
        }
        note(&self.log, format!("record {key}"));
        objects.insert(key.into(), body);
        Ok(())
    }
    async fn list(&self, _: &str, prefix: &str) -> bootstrap::Result<Vec<String>> {
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
}

/// Pushes "images" whose digest follows `generation`; fails when told to.
struct FakePusher {
    log: Log,
    generation: Mutex<u32>,
    fail: bool,
    pushed_before: Mutex<bool>,
}

impl FakePusher {
    fn new(log: &Log) -> Self {
        FakePusher {
            log: Arc::clone(log),
            generation: Mutex::new(1),
            fail: false,
            pushed_before: Mutex::new(false),
        }
    }
}

impl ImagePusher for FakePusher {
    async fn push(&self, app: &App) -> Result<Vec<push::Pushed>, Error> {
        note(&self.log, "push");
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
            .filter(|s| matches!(s.image, ImageSource::Build { .. }))
            .map(|s| push::Pushed {
                role: s.role.clone(),
                image: format!("registry.example/{}:git-1", s.role),
                reference: format!("registry.example/{}@sha256:{generation:064}", s.role),
                digest: format!("sha256:{generation:064}"),
                status,
                stats: Default::default(),
            })
            .collect())
    }
}

struct FakeTerraform {
    log: Log,
    changes: bool,
    fail_at: Mutex<Option<&'static str>>,
}

impl FakeTerraform {
    fn new(log: &Log, changes: bool) -> Self {
        FakeTerraform {
            log: Arc::clone(log),
            changes,
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
    async fn init(&self, _: Option<&str>) -> Result<(), Error> {
        self.step("init")
    }
    async fn plan(&self, _: bool) -> Result<Option<PlanSummary>, Error> {
        self.step("plan")?;
        Ok(self.changes.then(|| PlanSummary {
            add: 3,
            ..Default::default()
        }))
    }
    async fn apply(&self) -> Result<(), Error> {
        self.step("apply")
    }
    async fn destroy(&self) -> Result<(), Error> {
        self.step("destroy")
    }
    async fn outputs(&self) -> Result<serde_json::Value, Error> {
        Ok(serde_json::json!({ "urls": { "value": { "web": "http://spacetweet.io" } } }))
    }
}

struct World {
    app: App,
    settings: crate::settings::Settings,
    out: tempfile::TempDir,
    reporter: Reporter,
    recorded: Arc<Mutex<crate::output::Recorded>>,
    log: Log,
}

impl World {
    fn new() -> Self {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/spacetweet");
        let raw = crate::config::load(&dir).expect("fixture loads");
        let app = crate::model::resolve(&raw, None).expect("fixture resolves");
        let (reporter, recorded) = Reporter::recording();
        World {
            app,
            settings: crate::cli::Cli::parse_from(["exo-deploy"]).resolve().1,
            out: tempfile::TempDir::new().expect("out"),
            reporter,
            recorded,
            log: Log::default(),
        }
    }
    /// A world whose app (a copy of the fixture) has these hooks, each a shell script body
    /// run by `/bin/sh` that may append to `$HOOK_LOG`.
    fn with_hooks(hooks: &[(crate::hooks::Hook, &str)]) -> (Self, tempfile::TempDir) {
        use std::os::unix::fs::PermissionsExt;
        let mut w = World::new();
        let app = tempfile::TempDir::new().expect("app");
        let dir = app.path().join(".exo-deploy/hooks");
        std::fs::create_dir_all(&dir).expect("hooks dir");
        for (hook, body) in hooks {
            let path = dir.join(hook.name());
            std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("hook");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        w.app.dir = app.path().to_path_buf();
        (w, app)
    }

    fn run(&self) -> Run<'_> {
        Run {
            app: &self.app,
            settings: &self.settings,
            out: self.out.path(),
            reporter: &self.reporter,
        }
    }
    fn log(&self) -> Vec<String> {
        self.log.lock().expect("log").clone()
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
            ..Default::default()
        }
    }
    /// A cloud, a pusher and a Terraform whose plan has `changes`, all logging here.
    fn fakes(&self, changes: bool) -> (FakeCloud, FakePusher, FakeTerraform) {
        (
            self.cloud(),
            FakePusher::new(&self.log),
            FakeTerraform::new(&self.log, changes),
        )
    }
}

fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

#[test]
fn a_deploy_runs_every_step_in_order_and_records_one_release() {
    let w = World::new();
    let (cloud, pusher, tf) = w.fakes(true);
    let outcome = block(
        w.run()
            .deploy(&cloud, &pusher, &tf, &Confirm::Yes, Mode::Deploy),
    )
    .expect("deploy");
    let log = w.log();
    assert_eq!(
        &log[..7],
        [
            "push",
            "bootstrap bucket",
            "bootstrap zone",
            "init",
            "plan",
            "apply",
            log[6].as_str()
        ]
    );
    assert!(log[6].starts_with("record releases/production/"), "{log:?}");
    assert_eq!(log.len(), 7);
    let release = outcome.release.expect("a release");
    let stored = cloud
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
    assert_eq!(stored.images["exocom"], "originate/exocom:0.27.0");
    assert_eq!(
        stored.outputs["urls"]["value"]["web"],
        "http://spacetweet.io"
    );
    let steps: Vec<String> = w
        .events("step-finished")
        .iter()
        .map(|e| e["step"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        steps,
        [
            "push images",
            "bootstrap",
            "render",
            "terraform init",
            "terraform plan",
            "terraform apply",
            "record the release"
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
    let (cloud, pusher, tf) = w.fakes(true);
    block(
        w.run()
            .deploy(&cloud, &pusher, &tf, &Confirm::Yes, Mode::Deploy),
    )
    .expect("first deploy");
    w.log.lock().expect("log").clear();
    let unchanged = FakeTerraform::new(&w.log, false);
    let outcome = block(
        w.run()
            .deploy(&cloud, &pusher, &unchanged, &Confirm::Yes, Mode::Deploy),
    )
    .expect("deploy");
    assert!(!outcome.changes && outcome.release.is_none());
    assert!(
        !w.log()
            .iter()
            .any(|l| l == "apply" || l.starts_with("record")),
        "{:?}",
        w.log()
    );
    assert_eq!(cloud.objects.lock().expect("objects").len(), 1);
}

#[test]
fn a_rerun_after_an_interruption_between_apply_and_record_records_once() {
    let w = World::new();
    let (mut cloud, pusher, tf) = w.fakes(true);
    cloud.fail_puts = true;
    block(
        w.run()
            .deploy(&cloud, &pusher, &tf, &Confirm::Yes, Mode::Deploy),
    )
    .expect_err("the record could not be written");
    assert!(w.log().iter().any(|l| l == "apply"));
    assert!(cloud.objects.lock().expect("objects").is_empty());
    cloud.fail_puts = false;
    // applied already: the rerun's plan has no changes, and it records what is deployed
    let applied = FakeTerraform::new(&w.log, false);
    let outcome = block(
        w.run()
            .deploy(&cloud, &pusher, &applied, &Confirm::Yes, Mode::Deploy),
    )
    .expect("rerun");
    assert!(!outcome.changes);
    let release = outcome.release.expect("recorded now");
    assert_eq!(
        release.images["web"],
        format!("registry.example/web@sha256:{:064}", 1)
    );
    assert_eq!(cloud.objects.lock().expect("objects").len(), 1);
    // and a third run finds the record matching: nothing more
    let again = block(
        w.run()
            .deploy(&cloud, &pusher, &applied, &Confirm::Yes, Mode::Deploy),
    )
    .expect("third run");
    assert!(again.release.is_none());
    assert_eq!(
        cloud.objects.lock().expect("objects").len(),
        1,
        "one record"
    );
}

#[test]
fn the_first_failing_step_stops_the_run() {
    let w = World::new();
    let cloud = w.cloud();
    let pusher = FakePusher {
        fail: true,
        ..FakePusher::new(&w.log)
    };
    let tf = FakeTerraform::new(&w.log, true);
    let err = block(
        w.run()
            .deploy(&cloud, &pusher, &tf, &Confirm::Yes, Mode::Deploy),
    )
    .expect_err("push fails");
    assert_eq!(err.exit_code(), 1);
    assert_eq!(w.log(), ["push"], "nothing runs after a failed push");
    assert_eq!(w.events("step-failed")[0]["step"], "push images");

    let w = World::new();
    let (cloud, pusher, tf) = w.fakes(true);
    *tf.fail_at.lock().expect("fail") = Some("init");
    block(
        w.run()
            .deploy(&cloud, &pusher, &tf, &Confirm::Yes, Mode::Deploy),
    )
    .expect_err("init fails");
    assert_eq!(w.log().last().map(String::as_str), Some("init"));
}

#[test]
fn applying_needs_a_yes() {
    for (confirm, code) in [(Confirm::NoTerminal, 2), (Confirm::Answer("n".into()), 1)] {
        let w = World::new();
        let (cloud, pusher, tf) = (
            w.cloud(),
            FakePusher::new(&w.log),
            FakeTerraform::new(&w.log, true),
        );
        let err = block(w.run().deploy(&cloud, &pusher, &tf, &confirm, Mode::Deploy))
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
    let (cloud, pusher, tf) = w.fakes(true);
    block(w.run().deploy(
        &cloud,
        &pusher,
        &tf,
        &Confirm::Answer("y".into()),
        Mode::Deploy,
    ))
    .expect("answered yes");
    assert!(w.log().iter().any(|l| l == "apply"));
}

#[test]
fn plan_only_stops_after_the_plan() {
    let w = World::new();
    let (cloud, pusher, tf) = w.fakes(true);
    let outcome = block(
        w.run()
            .deploy(&cloud, &pusher, &tf, &Confirm::NoTerminal, Mode::PlanOnly),
    )
    .expect("plan");
    assert!(outcome.changes);
    assert_eq!(w.log().last().map(String::as_str), Some("plan"));
    assert_eq!(w.events("plan-summary")[0]["add"], 3);
}

#[test]
fn a_rerun_after_an_interruption_between_push_and_apply_completes_the_work() {
    let w = World::new();
    let (cloud, pusher, tf) = w.fakes(true);
    *tf.fail_at.lock().expect("fail") = Some("apply");
    block(
        w.run()
            .deploy(&cloud, &pusher, &tf, &Confirm::Yes, Mode::Deploy),
    )
    .expect_err("interrupted");
    assert!(
        cloud.objects.lock().expect("objects").is_empty(),
        "no record for an unfinished deploy"
    );
    *tf.fail_at.lock().expect("fail") = None;
    block(
        w.run()
            .deploy(&cloud, &pusher, &tf, &Confirm::Yes, Mode::Deploy),
    )
    .expect("rerun");
    assert_eq!(
        cloud.objects.lock().expect("objects").len(),
        1,
        "exactly one release"
    );
    let images = w.events("image");
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
    let (cloud, pusher, tf) = w.fakes(true);
    block(
        w.run()
            .deploy(&cloud, &pusher, &tf, &Confirm::Yes, Mode::Deploy),
    )
    .expect("first");
    std::thread::sleep(std::time::Duration::from_millis(5));
    *pusher.generation.lock().expect("gen") = 2;
    *pusher.pushed_before.lock().expect("before") = false;
    block(
        w.run()
            .deploy(&cloud, &pusher, &tf, &Confirm::Yes, Mode::Deploy),
    )
    .expect("second");
    let history = block(w.run().history(&cloud)).expect("history");
    assert_eq!(history.len(), 2);
    assert!(history[0].id > history[1].id, "newest first");
    assert_eq!(
        history[0].images["web"],
        format!("registry.example/web@sha256:{:064}", 2)
    );

    w.log.lock().expect("log").clear();
    let old = history[1].clone();
    let outcome = block(w.run().deploy(
        &cloud,
        &pusher,
        &tf,
        &Confirm::Yes,
        Mode::Rollback(Box::new(old.clone())),
    ))
    .expect("rollback");
    assert!(
        !w.log().iter().any(|l| l == "push"),
        "a rollback rebuilds and pushes nothing: {:?}",
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
        block(w.run().history(&cloud)).expect("history").len(),
        3,
        "records are added, never replaced"
    );
}

#[test]
fn teardown_destroys_only_what_the_state_records_and_nuke_then_removes_the_rest() {
    let w = World::new();
    let cloud = w.cloud();
    let tf = FakeTerraform::new(&w.log, true);
    block(w.run().destroy(&cloud, Some(&tf), false)).expect("nothing recorded");
    assert!(
        w.log().is_empty(),
        "no terraform when the state records nothing: {:?}",
        w.log()
    );

    let w = World::new();
    let cloud = FakeCloud {
        state_resources: 12,
        ..w.cloud()
    };
    let tf = FakeTerraform::new(&w.log, true);
    block(w.run().destroy(&cloud, Some(&tf), true))
        .expect_err("the fake state still records resources after destroy");
    assert_eq!(
        w.log(),
        ["init", "destroy"],
        "nothing is removed while the state records resources"
    );

    let w = World::new();
    let cloud = w.cloud();
    block(w.run().destroy(&cloud, None::<&FakeTerraform>, true)).expect("nuke");
    assert_eq!(
        w.log(),
        ["delete zones", "delete bucket", "delete repositories"]
    );
}

#[test]
fn status_shows_the_last_release_and_task_counts() {
    let w = World::new();
    let (cloud, pusher, tf) = w.fakes(true);
    let empty = block(w.run().status(&cloud)).expect("status");
    assert!(empty.release.is_none() && empty.urls.is_none());
    block(
        w.run()
            .deploy(&cloud, &pusher, &tf, &Confirm::Yes, Mode::Deploy),
    )
    .expect("deploy");
    let status = block(w.run().status(&cloud)).expect("status");
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

fn steps_finished(w: &World) -> Vec<String> {
    w.events("step-finished")
        .iter()
        .map(|e| e["step"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn hooks_run_at_their_points_of_a_deploy_in_order() {
    use crate::hooks::Hook;
    let (w, app) = World::with_hooks(&[
        (Hook::PostRender, "echo rendered"),
        (Hook::PreApply, "echo before"),
        (Hook::PostApply, "echo after"),
        (Hook::PostDeploy, "echo \"released $EXO_DEPLOY_RELEASE\""),
    ]);
    let (cloud, pusher, tf) = w.fakes(true);
    let outcome = block(
        w.run()
            .deploy(&cloud, &pusher, &tf, &Confirm::Yes, Mode::Deploy),
    )
    .expect("deploy");
    assert_eq!(
        steps_finished(&w),
        [
            "push images",
            "bootstrap",
            "render",
            "post-render hook",
            "terraform init",
            "terraform plan",
            "pre-apply hook",
            "terraform apply",
            "post-apply hook",
            "record the release",
            "post-deploy hook",
        ]
    );
    let release = outcome.release.expect("release");
    let lines = w.recorded.lock().expect("recorded").lines.clone();
    assert!(
        lines.contains(&format!("  [post-deploy] released {}", release.id)),
        "{lines:?}"
    );
    // the plan lists exactly these hooks, where they run
    let steps = crate::plan::plan(&w.app, crate::plan::Action::Deploy, w.out.path().into());
    let hooks: Vec<String> = steps
        .iter()
        .filter(|s| matches!(s, crate::plan::Step::RunHook { .. }))
        .map(ToString::to_string)
        .collect();
    assert_eq!(hooks.len(), 4, "{hooks:?}");
    drop(app);
}

#[test]
fn a_failing_hook_stops_the_deploy_before_the_next_step() {
    use crate::hooks::Hook;
    let (w, _app) =
        World::with_hooks(&[(Hook::PreApply, "echo 'policy check failed' >&2; exit 3")]);
    let (cloud, pusher, tf) = w.fakes(true);
    let err = block(
        w.run()
            .deploy(&cloud, &pusher, &tf, &Confirm::Yes, Mode::Deploy),
    )
    .expect_err("stopped");
    assert_eq!(
        err.to_string(),
        "the pre-apply hook failed with exit code 3"
    );
    assert_eq!(err.exit_code(), 1);
    assert!(!w.log().iter().any(|l| l == "apply"), "{:?}", w.log());
    assert!(cloud.objects.lock().expect("objects").is_empty());
    let lines = w.recorded.lock().expect("recorded").lines.clone();
    assert!(lines.contains(&"  [pre-apply] policy check failed".to_string()));
}

#[test]
fn a_failing_post_deploy_hook_fails_the_run_with_the_release_recorded() {
    use crate::hooks::Hook;
    let (w, _app) = World::with_hooks(&[(Hook::PostDeploy, "exit 4")]);
    let (cloud, pusher, tf) = w.fakes(true);
    let err = block(
        w.run()
            .deploy(&cloud, &pusher, &tf, &Confirm::Yes, Mode::Deploy),
    )
    .expect_err("post-deploy failed");
    assert_eq!(
        err.to_string(),
        "the post-deploy hook failed with exit code 4"
    );
    assert_eq!(err.exit_code(), 1);
    assert_eq!(cloud.objects.lock().expect("objects").len(), 1, "recorded");
}

#[test]
fn a_release_whose_post_apply_check_failed_is_recorded_only_once_the_check_passes() {
    use crate::hooks::Hook;
    let (w, app) = World::with_hooks(&[(Hook::PostApply, "echo 'smoke test failed'; exit 1")]);
    let (cloud, pusher, tf) = w.fakes(true);
    block(
        w.run()
            .deploy(&cloud, &pusher, &tf, &Confirm::Yes, Mode::Deploy),
    )
    .expect_err("post-apply failed");
    assert!(cloud.objects.lock().expect("objects").is_empty());
    // applied already: the rerun has no changes, runs post-apply again, and it fails again
    let applied = FakeTerraform::new(&w.log, false);
    block(
        w.run()
            .deploy(&cloud, &pusher, &applied, &Confirm::Yes, Mode::Deploy),
    )
    .expect_err("the check still fails");
    assert!(
        cloud.objects.lock().expect("objects").is_empty(),
        "a release that failed its check is not recorded as good"
    );
    // the check passes: the run is finished and recorded once
    std::fs::write(
        app.path().join(".exo-deploy/hooks/post-apply"),
        "#!/bin/sh\necho ok\n",
    )
    .expect("fix the check");
    let outcome = block(
        w.run()
            .deploy(&cloud, &pusher, &applied, &Confirm::Yes, Mode::Deploy),
    )
    .expect("finished");
    assert!(outcome.release.is_some());
    assert_eq!(cloud.objects.lock().expect("objects").len(), 1);
}
