//! The rendered Terraform applied for real on moto, exactly as `exo-deploy render
//! --endpoint-url` writes it: terraform >= 1.10 (the version the product requires) and the
//! official hashicorp/aws 5.x provider from the machine's filesystem mirror, the S3 backend with
//! `use_lockfile` in a bucket on the same moto server.
//!
//! Nothing is translated. What the copy gets on top of the rendered files is one override file
//! per module for moto's quirks, each named in [`MOTO_QUIRKS`]: a quirk makes every plan after
//! an apply show a change that AWS would not (moto does not return or keep what it was given),
//! and, for the launch template, an apply then waits forever on an instance refresh moto never
//! finishes. They are handled here, in the test copy, never in what the product renders; the
//! render snapshots keep what they hide asserted.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::harness::repo;
use crate::moto::{Moto, block_on};

/// One quirk of moto (5.2) that makes a second plan after an apply show a change AWS would not:
/// the attributes of one resource of one of our modules that are ignored in the test copy.
pub struct Quirk {
    pub module: &'static str,
    pub resource: &'static str,
    pub name: &'static str,
    pub ignore: &'static [&'static str],
    pub why: &'static str,
}

/// Every moto quirk the apply tests handle. The second plan after every apply must be empty with
/// exactly these ignored (`every_fixture_applies…`), so a quirk that goes away, or a new one,
/// shows.
pub const MOTO_QUIRKS: &[Quirk] = &[
    Quirk {
        module: "ecs-service",
        resource: "aws_ecs_service",
        name: "this",
        ignore: &[
            "capacity_provider_strategy",
            "health_check_grace_period_seconds",
            "enable_execute_command",
            "availability_zone_rebalancing",
        ],
        why: "moto's DescribeServices omits the service's capacityProviderStrategy (aws 5.x \
              then plans a replacement) and keeps no healthCheckGracePeriodSeconds, \
              enableExecuteCommand or availabilityZoneRebalancing",
    },
    Quirk {
        module: "ecs-cluster",
        resource: "aws_launch_template",
        name: "this",
        ignore: &["tag_specifications"],
        why: "moto copies the launch template's own tags into its data as a `launch-template` \
              tag specification; removing it makes a new template version, and the Auto \
              Scaling group then starts an instance refresh that moto never finishes",
    },
    Quirk {
        module: "ecs-service",
        resource: "aws_vpc_security_group_ingress_rule",
        name: "from_load_balancer",
        ignore: &["description"],
        why: "moto keeps no description on a rule that references a security group",
    },
    Quirk {
        module: "database",
        resource: "aws_vpc_security_group_ingress_rule",
        name: "from_services",
        ignore: &["description"],
        why: "moto keeps no description on a rule that references a security group",
    },
];

/// The override files that neutralise [`MOTO_QUIRKS`], by path in a rendered directory. Each
/// keeps what the module itself ignores (an override's `ignore_changes` replaces the module's).
pub fn quirk_overrides() -> Vec<(PathBuf, String)> {
    let mut files: std::collections::BTreeMap<&str, String> = Default::default();
    for q in MOTO_QUIRKS {
        let main = repo()
            .join("terraform-modules")
            .join(q.module)
            .join("main.tf");
        let text = std::fs::read_to_string(&main).expect("module main.tf");
        let body: hcl::Body = hcl::from_str(&text).expect("module parses");
        let block = body
            .blocks()
            .find(|b| {
                b.identifier() == "resource"
                    && b.labels().first().map(|l| l.as_str()) == Some(q.resource)
                    && b.labels().get(1).map(|l| l.as_str()) == Some(q.name)
            })
            .unwrap_or_else(|| {
                panic!(
                    "moto quirk: {} has no {}.{} (remove the quirk from MOTO_QUIRKS)",
                    q.module, q.resource, q.name
                )
            });
        let mut ignored: Vec<String> = block
            .body()
            .blocks()
            .filter(|b| b.identifier() == "lifecycle")
            .flat_map(|l| l.body().attributes())
            .filter(|a| a.key() == "ignore_changes")
            .flat_map(|a| match a.expr() {
                hcl::Expression::Array(items) => items
                    .iter()
                    .map(|i| hcl::format::to_string(i).expect("expression"))
                    .collect::<Vec<_>>(),
                other => panic!("ignore_changes is not a list: {other:?}"),
            })
            .collect();
        ignored.extend(q.ignore.iter().map(|s| s.to_string()));
        let file = files.entry(q.module).or_default();
        file.push_str(&format!(
            "# moto quirk (tests/integration/terraform_moto.rs): {}.\nresource \"{}\" \"{}\" {{\n  lifecycle {{\n    ignore_changes = [{}]\n  }}\n}}\n\n",
            q.why.split_whitespace().collect::<Vec<_>>().join(" "),
            q.resource,
            q.name,
            ignored.join(", ")
        ));
    }
    files
        .into_iter()
        .map(|(module, text)| {
            (
                PathBuf::from("modules")
                    .join(module)
                    .join("zz_moto_quirks_override.tf"),
                text.trim_end().to_string() + "\n",
            )
        })
        .collect()
}

/// Writes [`quirk_overrides`] into a folder of their own, and returns a `post-render` hook
/// script that copies them into each rendered directory (the end-to-end tests' only hook).
pub fn quirks_hook(dir: &Path) -> String {
    for (rel, text) in quirk_overrides() {
        let path = dir.join(&rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("quirks dir");
        std::fs::write(&path, text).expect("write quirk override");
    }
    format!(
        "#!/bin/sh\n# moto quirks only (tests/integration/terraform_moto.rs)\nset -e\ncp -R {0}/. \"$EXO_DEPLOY_OUT\"/\necho \"moto quirk overrides copied from {0}\"\n",
        dir.display()
    )
}

/// The first terraform of at least 1.10 (the version exo-deploy's Terraform requires):
/// `EXO_DEPLOY_TEST_TERRAFORM`, else on PATH in order (PATH may hold an older one first).
pub fn terraform() -> &'static Path {
    static FOUND: OnceLock<PathBuf> = OnceLock::new();
    FOUND.get_or_init(|| {
        let candidates: Vec<PathBuf> = match std::env::var_os("EXO_DEPLOY_TEST_TERRAFORM") {
            Some(p) => vec![PathBuf::from(p)],
            None => std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                .map(|d| d.join("terraform"))
                .filter(|p| p.is_file())
                .collect(),
        };
        let mut seen = Vec::new();
        for c in candidates {
            let version = version_of(&c);
            if let Some((1, minor)) = version
                && minor >= 10
            {
                return c;
            }
            seen.push(format!("{} ({version:?})", c.display()));
        }
        panic!(
            "no terraform >= 1.10 on PATH (found: {seen:?}): install terraform 1.11 or newer, or point EXO_DEPLOY_TEST_TERRAFORM at one (.ci/run does)"
        )
    })
}

/// The version of [`terraform`], e.g. `1.11.4`.
pub fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| full_version(terraform()).expect("terraform's version"))
}

fn full_version(binary: &Path) -> Option<String> {
    let out = Command::new(binary)
        .args(["version", "-json"])
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    Some(v["terraform_version"].as_str()?.to_string())
}

/// `(major, minor)` of a terraform binary.
fn version_of(binary: &Path) -> Option<(u32, u32)> {
    let full = full_version(binary)?;
    let mut parts = full.split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// A folder holding only `terraform`, a link to [`terraform`]: put first on PATH, it is the
/// `terraform` that `exo-deploy --local-terraform` runs.
pub fn terraform_bin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("terraform-bin");
        std::fs::create_dir_all(&dir).expect("terraform bin dir");
        let link = dir.join("terraform");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(terraform(), &link).expect("link terraform");
        dir
    })
}

/// PATH with [`terraform_bin_dir`] first.
pub fn path_with_terraform() -> String {
    let mut dirs = vec![terraform_bin_dir().to_path_buf()];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs)
        .expect("PATH")
        .to_string_lossy()
        .into_owned()
}

/// The filesystem mirror holding hashicorp/aws 5.x: `EXO_DEPLOY_TF_MIRROR`, else the places
/// development machines keep it.
pub fn mirror() -> &'static Path {
    static FOUND: OnceLock<PathBuf> = OnceLock::new();
    FOUND.get_or_init(|| {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
        let candidates: Vec<PathBuf> = match std::env::var_os("EXO_DEPLOY_TF_MIRROR") {
            Some(p) => vec![PathBuf::from(p)],
            None => vec![
                PathBuf::from("/opt/tf-plugins"),
                PathBuf::from("/usr/local/share/terraform/plugins"),
                PathBuf::from("/usr/share/terraform/plugins"),
                home.join(".terraform.d/plugins"),
                home.join(".local/share/terraform/plugins"),
            ],
        };
        for c in &candidates {
            if let Some(v) = aws_provider_version(c)
                && v.starts_with("5.")
            {
                return c.clone();
            }
        }
        panic!(
            "no hashicorp/aws 5.x in a filesystem mirror at {candidates:?}: find it with `find / -maxdepth 8 -path '*registry.terraform.io/hashicorp/aws/5.*' -name 'terraform-provider-aws_*'` and set EXO_DEPLOY_TF_MIRROR to the folder holding registry.terraform.io (.ci/run does)"
        )
    })
}

/// The newest hashicorp/aws version in a mirror folder, when it has one for this platform.
pub fn aws_provider_version(mirror: &Path) -> Option<String> {
    let dir = mirror.join("registry.terraform.io/hashicorp/aws");
    let mut versions: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|e| e.path().join("linux_amd64").is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    versions.sort();
    versions.pop()
}

/// A CLI config that installs hashicorp/aws from [`mirror`] only (nothing is downloaded).
pub fn cli_config() -> &'static str {
    static CONFIG: OnceLock<String> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("terraformrc");
        std::fs::write(
            &path,
            format!(
                "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"registry.terraform.io/hashicorp/aws\"]\n  }}\n  direct {{\n    exclude = [\"registry.terraform.io/hashicorp/aws\"]\n  }}\n}}\n",
                mirror().display()
            ),
        )
        .expect("write the CLI config");
        path.to_string_lossy().into_owned()
    })
}

/// A copy of a rendered directory on one moto server, its state in a bucket there.
pub struct Workspace {
    pub dir: PathBuf,
    pub bucket: String,
    log: PathBuf,
}

impl Workspace {
    /// A work folder under `parent`, and the state bucket `bucket` created on `moto`.
    pub fn new(parent: &Path, moto: &Moto, bucket: &str) -> Workspace {
        let dir = parent.join("work");
        std::fs::create_dir_all(&dir).expect("work dir");
        block_on(async {
            moto.s3("us-east-1")
                .await
                .create_bucket()
                .bucket(bucket)
                .send()
                .await
                .expect("state bucket");
        });
        Workspace {
            log: parent.join("terraform.log"),
            dir,
            bucket: bucket.to_string(),
        }
    }

    /// Replaces the configuration with a copy of `rendered` (`.terraform` stays), plus the
    /// moto quirk overrides, with `tfvars` as terraform.tfvars.json.
    pub fn load(&self, rendered: &Path, tfvars: &serde_json::Value) {
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
        for (rel, text) in quirk_overrides() {
            std::fs::write(self.dir.join(rel), text).expect("write quirk override");
        }
        std::fs::write(
            self.dir.join("terraform.tfvars.json"),
            serde_json::to_string_pretty(tfvars).expect("tfvars"),
        )
        .expect("write tfvars");
    }

    /// Runs terraform in the work dir; its output is appended to the test's log.
    pub fn terraform(&self, args: &[&str]) -> (bool, String) {
        let out = Command::new(terraform())
            .args(args)
            .current_dir(&self.dir)
            .env("TF_CLI_CONFIG_FILE", cli_config())
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("CHECKPOINT_DISABLE", "1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("TF_PLUGIN_CACHE_DIR")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {} ({e})", terraform().display()));
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

    /// `init` with the state bucket, as exo-deploy runs it.
    pub fn init(&self) {
        let bucket = format!("-backend-config=bucket={}", self.bucket);
        self.must(&["init", "-input=false", "-no-color", &bucket]);
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

    /// Destroys everything; how long it took.
    pub fn destroy(&self) -> Duration {
        let started = Instant::now();
        self.must(&["destroy", "-auto-approve", "-input=false", "-no-color"]);
        started.elapsed()
    }

    /// `terraform state list`.
    pub fn state(&self) -> Vec<String> {
        let text = self.must(&["state", "list", "-no-color"]);
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

    /// A readable list of every change, for failure messages: an update names the attributes
    /// it changes, a replacement the ones forcing it.
    pub fn describe(&self) -> String {
        self.0["resource_changes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| {
                let change = &c["change"];
                let actions: Vec<&str> = change["actions"]
                    .as_array()?
                    .iter()
                    .filter_map(|a| a.as_str())
                    .collect();
                if actions == ["no-op"] || actions == ["read"] {
                    return None;
                }
                let mut what = String::new();
                if actions == ["update"] {
                    let empty = serde_json::Map::new();
                    let before = change["before"].as_object().unwrap_or(&empty);
                    let after = change["after"].as_object().unwrap_or(&empty);
                    let unknown = change["after_unknown"].as_object().unwrap_or(&empty);
                    let changed: Vec<String> = before
                        .keys()
                        .chain(after.keys())
                        .collect::<std::collections::BTreeSet<_>>()
                        .into_iter()
                        .filter(|k| {
                            before.get(*k) != after.get(*k) || unknown.get(*k) == Some(&true.into())
                        })
                        .map(|k| {
                            format!(
                                "{k}: {} -> {}",
                                before.get(k).unwrap_or(&serde_json::Value::Null),
                                after.get(k).unwrap_or(&serde_json::Value::Null)
                            )
                        })
                        .collect();
                    what = format!(" ({})", changed.join("; "));
                } else if let Some(paths) = c["change"]["replace_paths"].as_array() {
                    what = format!(" (forced by {})", serde_json::Value::from(paths.clone()));
                }
                Some(format!(
                    "  {} {}{what}",
                    actions.join("+"),
                    c["address"].as_str().unwrap_or_default()
                ))
            })
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
