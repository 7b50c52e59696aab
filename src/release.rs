//! Release records: after each successful apply, one immutable JSON document in the state
//! bucket (`releases/<env>/<timestamp>-<short-sha>.json`) saying what was deployed, from which
//! commit, by whom, and how long it took. `history` lists them; `rollback` re-applies one's
//! image digests. A record is written only if no object has its key: never overwritten.
//! `status` ([`Status`]) is what is deployed now: the last release and ECS's task counts.
//! Its own module, so that the pipeline (which writes records) and the output (which shows
//! them) both depend on it and not on each other.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::adapters::git;
use crate::model::{App, ImageSource};

/// One deploy, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Release {
    /// `<timestamp>-<short-sha>`: the record's name, sortable by time.
    pub id: String,
    pub app: String,
    pub env: String,
    pub version: String,
    /// UTC, RFC 3339.
    pub deployed_at: String,
    /// The app repository's commit, when it is a git repository.
    pub commit: Option<String>,
    pub dirty: bool,
    /// Image reference (by digest) of each service, ExoCom included.
    pub images: BTreeMap<String, String>,
    /// What each service ran, by role: image, tag, and the commit of its folder.
    #[serde(default)]
    pub services: BTreeMap<String, ServiceRecord>,
    /// The resolved configuration it was deployed with (secrets as references, never values).
    #[serde(default)]
    pub config: serde_json::Value,
    /// `terraform output -json` after the apply.
    pub outputs: serde_json::Value,
    /// `user:<name>` or `ci:<name>`.
    pub deployed_by: String,
    pub duration_seconds: f64,
    /// The release this one rolled back to, for rollbacks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_of: Option<String>,
    /// `<env>/<release id>` of the release this one promoted, for promotions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promoted_from: Option<String>,
}

/// What one service ran in a release.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceRecord {
    /// The image reference, by digest.
    pub image: String,
    /// The tag it was pushed or written under, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The commit that last changed the service's folder (services exo-deploy builds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Whether that folder had uncommitted changes.
    #[serde(default)]
    pub dirty: bool,
}

impl ServiceRecord {
    /// What the containers see as `EXO_DEPLOY_SERVICE_COMMIT`.
    pub fn commit_label(&self) -> Option<String> {
        self.commit.as_ref().map(|c| {
            if self.dirty {
                format!("{c}-dirty")
            } else {
                c.clone()
            }
        })
    }
}

/// What is deployed: the last release, its urls, and each service's task counts as ECS says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    pub app: String,
    pub env: String,
    /// The last release, when there is one.
    pub release: Option<ReleaseSummary>,
    /// The last release's public urls, by role.
    pub urls: Option<BTreeMap<String, String>>,
    pub services: Vec<crate::bootstrap::objects::ServiceCount>,
}

/// A release, as `status` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReleaseSummary {
    pub id: String,
    pub deployed_at: String,
    pub version: String,
    pub commit: Option<String>,
    pub deployed_by: String,
}

impl Release {
    /// What `status` shows of this release.
    pub fn summary(&self) -> ReleaseSummary {
        ReleaseSummary {
            id: self.id.clone(),
            deployed_at: self.deployed_at.clone(),
            version: self.version.clone(),
            commit: self.commit.clone(),
            deployed_by: self.deployed_by.clone(),
        }
    }

    /// The public urls Terraform reported, by role.
    pub fn urls(&self) -> BTreeMap<String, String> {
        self.outputs["urls"]["value"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(role, url)| Some((role.clone(), url.as_str()?.to_string())))
            .collect()
    }
}

/// The resolved configuration a release records: the model as `exo-deploy config` prints it
/// (secrets are references in the model, never values).
pub fn config_of(app: &App) -> serde_json::Value {
    let mut config = serde_json::to_value(app).unwrap_or(serde_json::Value::Null);
    // where the app sat on the deploying machine says nothing about the release: paths are
    // kept relative to the app's folder
    if let Some(map) = config.as_object_mut() {
        map.remove("dir");
    }
    relative(&mut config, &app.dir);
    config
}

fn relative(value: &mut serde_json::Value, dir: &std::path::Path) {
    match value {
        serde_json::Value::String(s) => {
            if let Ok(rest) = std::path::Path::new(s.as_str()).strip_prefix(dir) {
                *s = format!("./{}", rest.display());
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| relative(v, dir)),
        serde_json::Value::Object(map) => map.values_mut().for_each(|v| relative(v, dir)),
        _ => {}
    }
}

/// One entry of a channel's history: from `set_at` on, channel `channel` of `env` points to
/// release `release`. Kept as `channels/<env>/<channel>/<timestamp>.json`, never overwritten.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelEntry {
    pub channel: String,
    pub env: String,
    pub release: String,
    /// UTC, RFC 3339.
    pub set_at: String,
    pub set_by: String,
}

/// A channel now, with how many times it was set before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Channel {
    pub current: ChannelEntry,
    /// Earlier entries, newest first.
    pub earlier: Vec<ChannelEntry>,
}

/// The folder of the channels of `env` (of one channel, with `name`).
pub fn channel_prefix(env: &str, name: Option<&str>) -> String {
    match name {
        Some(n) => format!("channels/{env}/{n}/"),
        None => format!("channels/{env}/"),
    }
}

/// A channel name: a lowercase label such as `stable` or `canary-eu`.
pub fn check_channel_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a channel name: use lowercase letters, digits and dashes, such as `stable` or `canary`"
        ))
    }
}

/// A scale override (`scale`, `stop`, `start`): from `set_at` on, `service` of `env` runs
/// `desired` tasks (or autoscales within `range`) whatever its config says, until `scale
/// SERVICE --reset` (an entry with neither). Kept as `overrides/<env>/<time>-<service>.json`, never overwritten, so
/// every deploy can say what is in effect, by whom and since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleOverride {
    pub service: String,
    pub env: String,
    /// The task count set; `None` ends the override.
    pub desired: Option<u32>,
    /// For `stop`: the count before, which `start` brings back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_from: Option<u32>,
    /// For an autoscaled service (`scale --min --max`): the range its scaler keeps it in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<ScaleRange>,
    pub set_by: String,
    /// UTC, RFC 3339.
    pub set_at: String,
}

impl ScaleOverride {
    /// Whether this override fits the service as the config has it now (`autoscales`: `None`
    /// when the config has no such service): a count for a service with a fixed count, a range
    /// for an autoscaled one. One that does not fit is shown, not applied, until reset.
    pub fn applies(&self, autoscales: Option<bool>) -> bool {
        match autoscales {
            None => false,
            Some(true) => self.range.is_some(),
            Some(false) => self.desired.is_some(),
        }
    }
}

/// The range of an autoscaled service, as `scale --min --max` set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleRange {
    pub min: u32,
    pub max: u32,
}

/// The folder of an environment's scale overrides.
pub fn override_prefix(env: &str) -> String {
    format!("overrides/{env}/")
}

/// The overrides in effect, by service, from every entry (newest first).
pub fn overrides_in_effect(entries: &[ScaleOverride]) -> BTreeMap<String, ScaleOverride> {
    let mut out = BTreeMap::new();
    let mut decided = BTreeSet::new();
    for e in entries {
        if decided.insert(e.service.clone()) && (e.desired.is_some() || e.range.is_some()) {
            out.insert(e.service.clone(), e.clone());
        }
    }
    out
}

/// What a deploy of `app` keeps of the overrides in effect: the counts and the ranges, by
/// service, of those that fit the config now ([`ScaleOverride::applies`]).
pub type AppliedOverrides = (BTreeMap<String, u32>, BTreeMap<String, (u32, u32)>);

/// The overrides of `found` that apply to `app`, as counts and ranges by service.
pub fn applied_overrides(app: &App, found: &BTreeMap<String, ScaleOverride>) -> AppliedOverrides {
    let mut counts = BTreeMap::new();
    let mut ranges = BTreeMap::new();
    for (role, o) in found {
        let autoscales = app
            .services
            .iter()
            .find(|s| &s.role == role)
            .map(|s| s.autoscaling.is_some());
        if !o.applies(autoscales) {
            continue;
        }
        if let Some(n) = o.desired {
            counts.insert(role.clone(), n);
        }
        if let Some(r) = o.range {
            ranges.insert(role.clone(), (r.min, r.max));
        }
    }
    (counts, ranges)
}

/// The folder of an environment's records in the state bucket.
pub fn prefix(env: &str) -> String {
    format!("releases/{env}/")
}

/// The key of a record.
pub fn key(env: &str, id: &str) -> String {
    format!("{}{id}.json", prefix(env))
}

/// The app repository's commit, and whether what a deploy reads has uncommitted changes:
/// the config files, the folders of the services it builds and the hooks. Other files of the
/// repository (and exo-deploy's own working folder, which ignores itself) do not make a
/// release dirty. A service folder outside the repository counts through its own
/// repository, as the release's service records say (see the executor).
pub fn git_state(app: &App) -> (Option<String>, bool) {
    let Some(commit) = git::head(&app.dir) else {
        return (None, false);
    };
    (Some(commit), git::dirty(&app.dir, &deploy_inputs(app)))
}

/// The files and folders a deploy of `app` reads: application.yml, every config file a value
/// came from, the folders of the services it builds, and the app's hooks (`post-render` may
/// change the Terraform).
pub fn deploy_inputs(app: &App) -> Vec<PathBuf> {
    let mut paths: BTreeSet<PathBuf> = BTreeSet::new();
    paths.insert(app.dir.join("application.yml"));
    for o in &app.origins {
        // `file:line:column`, the file relative to the app's folder
        let mut parts = o.origin.rsplitn(3, ':');
        if let (Some(_), Some(_), Some(file)) = (parts.next(), parts.next(), parts.next()) {
            paths.insert(app.dir.join(file));
        }
    }
    for s in &app.services {
        if let ImageSource::Build { context, .. } = &s.image {
            paths.insert(context.clone());
        }
    }
    paths.insert(crate::hooks::dir(app));
    paths.into_iter().collect()
}

/// Who runs the deploy: the CI system's actor when in CI, else the user.
pub fn deployed_by() -> String {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let Some(actor) = var("GITHUB_ACTOR")
        .or_else(|| var("GITLAB_USER_LOGIN"))
        .or_else(|| var("BUILDKITE_BUILD_CREATOR"))
    {
        return format!("ci:{actor}");
    }
    if var("CI").is_some() {
        return "ci:unknown".into();
    }
    format!(
        "user:{}",
        var("USER")
            .or_else(|| var("USERNAME"))
            .unwrap_or_else(|| "unknown".into())
    )
}

/// `now` as records' keys start: `YYYYMMDDTHHMMSSmmmZ`, sortable.
pub fn stamp(now: jiff::Timestamp) -> String {
    let millis = now.as_millisecond().rem_euclid(1000);
    format!("{}{millis:03}Z", now.strftime("%Y%m%dT%H%M%S"))
}

/// A record id for a deploy at `now` of `commit`.
pub fn id(now: jiff::Timestamp, commit: Option<&str>, dirty: bool) -> String {
    let stamp = stamp(now);
    let sha = commit.map_or_else(|| "nogit".to_string(), |c| c.chars().take(12).collect());
    format!("{stamp}-{sha}{}", if dirty { "-dirty" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_entry_of_each_service_decides_its_override() {
        let entry = |service: &str, desired: Option<u32>, at: &str| ScaleOverride {
            service: service.into(),
            env: "production".into(),
            desired,
            stopped_from: None,
            range: None,
            set_by: "user:t".into(),
            set_at: at.into(),
        };
        // newest first, as they are read
        let entries = [
            entry("web", None, "3"),
            entry("api", Some(4), "2"),
            entry("web", Some(3), "1"),
            entry("api", Some(2), "0"),
        ];
        let found = overrides_in_effect(&entries);
        assert_eq!(found.len(), 1, "web was reset: {found:?}");
        assert_eq!(found["api"].desired, Some(4));
        // a range (`scale --min --max`) is an override too, until a reset
        let ranged = ScaleOverride {
            range: Some(ScaleRange { min: 4, max: 12 }),
            ..entry("api", None, "4")
        };
        let found = overrides_in_effect(&[ranged.clone(), entry("api", Some(4), "2")]);
        assert_eq!(found["api"].range, Some(ScaleRange { min: 4, max: 12 }));
        let found = overrides_in_effect(&[entry("api", None, "5"), ranged]);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_release_is_dirty_only_by_what_a_deploy_reads() {
        let dir = tempfile::TempDir::new().expect("dir");
        let app_dir = dir.path().join("app");
        let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/minimal");
        std::fs::create_dir_all(app_dir.join("web")).expect("mkdir");
        for f in [
            "application.yml",
            "web/service.yml",
            "web/Dockerfile",
            "web/hello.txt",
        ] {
            std::fs::copy(fixture.join(f), app_dir.join(f)).expect("copy");
        }
        let run = |args: &[&str]| git::tests::run(&app_dir, args);
        run(&["init", "-q"]);
        run(&["add", "."]);
        run(&["commit", "-q", "-m", "first"]);
        let raw = crate::config::load(&app_dir).expect("loads");
        let app = crate::model::resolve(&raw, None).expect("resolves");
        // exo-deploy's working folder, as a deploy leaves it
        let work = crate::workdir::ensure(&app_dir).expect("workdir");
        std::fs::create_dir_all(work.join("production")).expect("mkdir");
        std::fs::write(work.join("production/main.tf"), "x").expect("w");
        let (commit, dirty) = git_state(&app);
        assert_eq!(commit, git::head(&app_dir));
        assert!(!dirty, "the working folder ignores itself");
        std::fs::write(app_dir.join("NOTES.md"), "unrelated").expect("w");
        assert!(
            !git_state(&app).1,
            "files a deploy does not read do not count"
        );
        std::fs::write(app_dir.join("web/hello.txt"), "changed").expect("w");
        assert!(git_state(&app).1, "a changed service folder does");
        run(&["checkout", "--", "web/hello.txt"]);
        std::fs::write(app_dir.join("application.yml"), "name: changed\n").expect("w");
        assert!(git_state(&app).1, "so does the config");
    }

    #[test]
    fn ids_sort_by_time_and_name_the_commit() {
        let t: jiff::Timestamp = "2026-11-22T00:30:05Z".parse().expect("time");
        assert_eq!(
            id(t, Some("0123456789abcdef"), false),
            "20261122T003005000Z-0123456789ab"
        );
        assert_eq!(id(t, None, false), "20261122T003005000Z-nogit");
        assert_eq!(id(t, Some("abc"), true), "20261122T003005000Z-abc-dirty");
        assert_eq!(key("prod", "x"), "releases/prod/x.json");
        let later: jiff::Timestamp = "2026-11-22T10:00:00Z".parse().expect("time");
        assert!(id(later, None, false) > id(t, None, false));
    }
}
