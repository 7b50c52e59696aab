//! The rendered Terraform, checked by real tools: `terraform fmt`, `terraform validate` with
//! hashicorp/aws 5.x (the oldest provider the product supports, from the machine's mirror), the
//! hashicorp/aws 6.x schema check (`tf-schema-check`: no 6.x provider can be installed here, so
//! 6.x is covered by this check only) and checkov. Each tool must be installed (`.ci/run` does
//! it); a missing tool fails the test, saying how to install it, rather than skipping.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::VALID_FIXTURES;

/// The fixtures and the SpaceTweets deployed with Exosphere, as rendered for each check.
fn checked() -> Vec<(String, &'static str)> {
    VALID_FIXTURES
        .iter()
        .map(|(f, e)| (f.to_string(), *e))
        .chain(
            crate::corpus::DEPLOYED
                .iter()
                .map(|d| (format!("corpus/{d}"), "production")),
        )
        .collect()
}
use crate::harness::{Test, repo};

fn tool(env: &str, default: PathBuf, install: &str) -> PathBuf {
    let path = std::env::var_os(env).map(PathBuf::from).unwrap_or(default);
    let found = path.is_file() || which(&path).is_some();
    assert!(
        found,
        "{} is needed for this test and was not found; {install} (.ci/run does), or set {env}",
        path.display()
    );
    path
}

fn which(name: &Path) -> Option<PathBuf> {
    if name.components().count() > 1 {
        return None;
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// `exo-deploy render` of a fixture's environment into a temporary folder.
pub fn rendered(fixture: &str, env: &str) -> (tempfile::TempDir, PathBuf) {
    let test = Test::new().app(fixture);
    let out = test.path().join("out");
    let result = test
        .args(["render", "-e", env, "--out", out.to_str().expect("utf-8")])
        .run();
    result.code(0);
    (result.dir, out)
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn rendered_terraform_is_fmt_clean() {
    let terraform = crate::terraform_moto::terraform();
    for (fixture, env) in checked() {
        let (_keep, out) = rendered(&fixture, env);
        let (ok, text) = run(Command::new(terraform)
            .args(["fmt", "-check", "-recursive", "-diff"])
            .arg(&out));
        assert!(ok, "{fixture}/{env}: terraform fmt wants changes:\n{text}");
    }
}

/// `terraform validate` of every rendered fixture with the hashicorp/aws 5.x provider: every
/// argument, attribute and reference must exist in the oldest provider the product supports
/// (`>= 5.100`), as the 6.x schema check below holds them to 6.x.
#[test]
fn rendered_terraform_validates_on_the_aws_5_provider() {
    use crate::terraform_moto::{cli_config, mirror, terraform};
    let version = crate::terraform_moto::aws_provider_version(mirror()).expect("aws 5.x");
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = checked()
            .into_iter()
            .map(|(fixture, env)| {
                let version = &version;
                s.spawn(move || {
                    let (_keep, out) = rendered(&fixture, env);
                    let tf = |args: &[&str]| {
                        run(Command::new(terraform())
                            .args(args)
                            .current_dir(&out)
                            .env("TF_CLI_CONFIG_FILE", cli_config())
                            .env("CHECKPOINT_DISABLE", "1")
                            .env_remove("TF_PLUGIN_CACHE_DIR"))
                    };
                    let (ok, text) = tf(&["init", "-backend=false", "-input=false", "-no-color"]);
                    if !ok {
                        return Some(format!("{fixture}/{env}: init failed:\n{text}"));
                    }
                    let lock = std::fs::read_to_string(out.join(".terraform.lock.hcl"))
                        .unwrap_or_default();
                    if !lock.contains(&format!("version     = \"{version}\"")) {
                        return Some(format!(
                            "{fixture}/{env}: not validated with aws {version}:\n{lock}"
                        ));
                    }
                    let (ok, text) = tf(&["validate", "-no-color"]);
                    (!ok).then(|| format!("{fixture}/{env}: terraform validate failed:\n{text}"))
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().expect("validate thread"))
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn rendered_terraform_matches_the_aws_provider_schema() {
    let default = repo().join("../shared/tools/tf-schema-check/tf-schema-check");
    let check = tool(
        "TF_SCHEMA_CHECK",
        default,
        "it ships in shared/tools beside the repo",
    );
    for (fixture, env) in checked() {
        let (_keep, out) = rendered(&fixture, env);
        let (ok, text) = run(Command::new(&check).arg(&out));
        assert!(
            ok && text.contains("0 problems"),
            "{fixture}/{env}: schema problems:\n{text}"
        );
    }
}

#[test]
fn checkov_finds_nothing_but_documented_exceptions() {
    let checkov = tool("CHECKOV", "checkov".into(), "pip install checkov");
    let security =
        std::fs::read_to_string(repo().join("docs/security.md")).expect("docs/security.md");
    let mut skipped_ids = BTreeSet::new();
    for (fixture, env) in checked() {
        let (_keep, out) = rendered(&fixture, env);
        let output = Command::new(&checkov)
            .args([
                "--framework",
                "terraform",
                "--skip-download",
                "-o",
                "json",
                "-d",
            ])
            .arg(&out)
            .output()
            .expect("run checkov");
        let report: serde_json::Value =
            serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
                panic!(
                    "{fixture}: checkov printed no JSON ({e}): {}",
                    String::from_utf8_lossy(&output.stderr)
                )
            });
        let failed: Vec<String> = report["results"]["failed_checks"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| format!("{} {} ({})", c["check_id"], c["resource"], c["file_path"]))
            .collect();
        assert!(
            failed.is_empty(),
            "{fixture}/{env}: checkov failures:\n{}",
            failed.join("\n")
        );
        assert!(
            report["summary"]["passed"].as_u64().unwrap_or(0) > 100,
            "{fixture}: checkov checked too little"
        );
        for c in report["results"]["skipped_checks"]
            .as_array()
            .into_iter()
            .flatten()
        {
            skipped_ids.insert(c["check_id"].as_str().unwrap_or_default().to_string());
        }
    }
    assert!(
        !skipped_ids.is_empty(),
        "the modules skip some checks on purpose; checkov reported none"
    );
    for id in &skipped_ids {
        assert!(
            security.contains(id.as_str()),
            "checkov check {id} is skipped but docs/security.md does not say why"
        );
    }
}
