//! Real Exosphere apps, as their authors wrote them: `fixtures/corpus/` holds the configuration
//! of SpaceTweet at eight points of its history and of Exosphere's own example apps and test
//! fixtures from every generation of its config format, each with a SOURCE naming repository,
//! commit and path (`fixtures/corpus/README.md`). Each is dry-run with the real binary, as a
//! newcomer would, and what it says is one snapshot: a plan, or only the app's own omissions
//! (no deployment settings, no Dockerfile Exosphere could deploy from, placeholder values),
//! each with its fix. The SpaceTweets that were deployed render; their Terraform passes the
//! checks the fixtures pass (fmt, the 5.x validate, the 6.x schema check, checkov) and the
//! newest applies on moto (`apply::the_deployed_spacetweets_apply`).

use std::path::{Path, PathBuf};

use crate::harness::{Test, repo};

/// The corpus apps, by folder name (`exosphere-2017-external-service` keeps its
/// application.yml in `app/`, as in Exosphere's repository).
pub fn apps() -> Vec<(String, PathBuf)> {
    let dir = repo().join("fixtures/corpus");
    let mut apps: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .expect("fixtures/corpus")
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let root = if e.path().join("application.yml").is_file() {
                e.path()
            } else {
                e.path().join("app")
            };
            (name, root)
        })
        .collect();
    apps.sort();
    apps
}

/// The SpaceTweets deployed with Exosphere, which must render as written.
pub const DEPLOYED: [&str; 3] = [
    "spacetweet-2017-09",
    "spacetweet-2017-11",
    "spacetweet-2018-03",
];

/// `exo-deploy --dry-run` of one corpus app as written (`-e production` when it defines
/// several environments), its output made independent of the machine.
fn dry_run(root: &Path) -> (i32, String) {
    let run = |extra: &[&str]| {
        Test::new()
            .at(root)
            .args(["--dry-run", "--out"])
            .args([tempfile::TempDir::new()
                .expect("out")
                .keep()
                .to_string_lossy()
                .into_owned()])
            .args(extra)
            // no Docker Engine: a service that is only an image is read from it, and a dry run
            // says so the same way on every machine
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .run()
    };
    let mut out = run(&[]);
    if out.stderr.contains("say which one to use") {
        out = run(&["-e", "production"]);
    }
    let text = regex::Regex::new(r"(?m)^wrote \d+ files to .*$")
        .expect("regex")
        .replace_all(&out.stderr, "wrote the Terraform")
        .into_owned();
    let text = regex::Regex::new(r"/tmp/\S+")
        .expect("regex")
        .replace_all(&text, "[OUT]")
        .into_owned();
    (out.code, text)
}

#[test]
fn every_corpus_app_dry_runs_to_a_plan_or_only_its_own_omissions() {
    let apps = apps();
    assert!(apps.len() >= 40, "the corpus is there: {}", apps.len());
    let mut combined = String::new();
    for (name, root) in &apps {
        let (code, text) = dry_run(root);
        assert!(
            code == 0 || code == 2,
            "{name}: a dry run ends with a plan or config errors, not {code}:\n{text}"
        );
        assert!(
            !text.contains("this is a bug"),
            "{name}: an internal error:\n{text}"
        );
        if DEPLOYED.contains(&name.as_str()) {
            assert_eq!(
                code, 0,
                "{name} was deployed with Exosphere and renders:\n{text}"
            );
        }
        if code == 2 {
            // every error says how to fix it
            let errors = text.matches("  × ").count();
            let helps = text.matches("help:").count();
            assert!(
                helps >= errors,
                "{name}: {errors} errors and {helps} help lines:\n{text}"
            );
        }
        combined.push_str(&format!("==== {name} (exit {code}) ====\n{text}\n"));
    }
    insta::assert_snapshot!("corpus_dry_runs", combined);
}
