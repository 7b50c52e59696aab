//! Stage 4: the model → a Terraform directory. Pure: no network, no Docker, no clock, so the
//! same model always gives the same bytes. The root files come from the Tera templates under
//! `templates/root/`, each fed by its own context struct; our Terraform modules under
//! `terraform-modules/` are embedded in the binary and copied beside them, so applying needs
//! no module download.

mod context;
pub mod hcl;

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use include_dir::{Dir, include_dir};
use tera::{Kwargs, State, Tera};

use crate::model::{App, EXOCOM_ROLE, ImageSource};

pub use context::{ENDPOINT_SERVICE_PREFIXES, database_name, private_domain};

/// The root module's templates, by the file they render to.
pub const ROOT_TEMPLATES: [(&str, &str); 5] = [
    (
        "versions.tf",
        include_str!("../../templates/root/versions.tf.tera"),
    ),
    (
        "backend.tf",
        include_str!("../../templates/root/backend.tf.tera"),
    ),
    (
        "variables.tf",
        include_str!("../../templates/root/variables.tf.tera"),
    ),
    ("main.tf", include_str!("../../templates/root/main.tf.tera")),
    (
        "outputs.tf",
        include_str!("../../templates/root/outputs.tf.tera"),
    ),
];

/// Our Terraform modules, copied to `modules/` in the output.
pub static MODULES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/terraform-modules");

/// The file holding values that change between deploys (image digests, the zone id).
pub const TFVARS_FILE: &str = "terraform.tfvars.json";

/// Errors of the render stage: all of them are bugs or disk problems, never user input.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RenderError {
    /// A template failed: a bug, since contexts are typed.
    #[error("rendering {file} failed; this is a bug in exo-deploy: {message}")]
    Template { file: String, message: String },
    /// Writing the output failed.
    #[error("cannot write {path}: {source}")]
    #[diagnostic(help("check that the output folder is writable, or choose another with --out"))]
    Write { path: PathBuf, source: io::Error },
}

/// Values only known at deploy time; everything else comes from the model. They are kept in
/// the output folder ([`INPUTS_FILE`]) so that `push` and `bootstrap`, run separately, each
/// add theirs without losing the other's.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Inputs {
    /// Image reference by role, for services whose image was pushed (by digest).
    pub images: BTreeMap<String, String>,
    /// The commit each built service's folder was last changed in (`-dirty` added when it
    /// had uncommitted changes), by role: the containers' `EXO_DEPLOY_SERVICE_COMMIT`.
    #[serde(default)]
    pub commits: BTreeMap<String, String>,
    /// The task count of each service with a scale override in effect (`scale`, `stop`).
    #[serde(default)]
    pub scale: BTreeMap<String, u32>,
    /// The range of each autoscaled service with a range override in effect (`scale --min
    /// --max`), by role.
    #[serde(default)]
    pub scale_ranges: BTreeMap<String, (u32, u32)>,
    /// Whether `scale` and `scale_ranges` were read this run (then they are exactly what is in
    /// effect).
    #[serde(skip)]
    pub scale_read: bool,
    /// The hosted zone, once bootstrap found or created it.
    pub hosted_zone_id: Option<String>,
    /// The state bucket, when known (configured, or derived from the account).
    pub state_bucket: Option<String>,
    /// `images` are exactly what to run, whatever the config names now (a rollback to the
    /// references a release recorded). Never kept between runs.
    #[serde(skip)]
    pub exact: bool,
    /// An emulator's endpoint (`--endpoint-url`, `AWS_ENDPOINT_URL`), which the rendered
    /// provider and backend then use. A setting of this run, never kept between runs: a render
    /// without it talks to AWS.
    #[serde(skip)]
    pub endpoint_url: Option<String>,
}

/// Where [`Inputs`] are kept between runs, inside the output folder.
pub const INPUTS_FILE: &str = ".exo-deploy-inputs.json";

impl Inputs {
    /// The inputs an earlier run left in `out` (none when there are none, or unreadable).
    pub fn load(out: &Path) -> Inputs {
        fs::read_to_string(out.join(INPUTS_FILE))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    }

    /// These inputs over `older` ones: what this run learned wins.
    #[must_use]
    pub fn over(self, older: Inputs) -> Inputs {
        let mut images = older.images;
        images.extend(self.images);
        // a rollback runs what the release recorded, commits included
        let commits = if self.exact {
            self.commits
        } else {
            let mut commits = older.commits;
            commits.extend(self.commits);
            commits
        };
        Inputs {
            images,
            commits,
            // what this run read is what is in effect; else what an earlier run read
            scale: if self.scale_read {
                self.scale
            } else {
                older.scale
            },
            scale_ranges: if self.scale_read {
                self.scale_ranges
            } else {
                older.scale_ranges
            },
            scale_read: self.scale_read,
            hosted_zone_id: self.hosted_zone_id.or(older.hosted_zone_id),
            state_bucket: self.state_bucket.or(older.state_bucket),
            exact: self.exact,
            endpoint_url: self.endpoint_url,
        }
    }

    /// Keeps these inputs in `out` for the next run.
    pub fn save(&self, out: &Path) -> Result<(), RenderError> {
        let path = out.join(INPUTS_FILE);
        let text = serde_json::to_string_pretty(self).map_err(|e| RenderError::Template {
            file: INPUTS_FILE.into(),
            message: e.to_string(),
        })?;
        fs::create_dir_all(out).map_err(|source| RenderError::Write {
            path: out.to_path_buf(),
            source,
        })?;
        fs::write(&path, text + "\n").map_err(|source| RenderError::Write { path, source })
    }
}

/// A rendered directory, as relative paths and contents, sorted by path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub files: Vec<(PathBuf, String)>,
}

fn tera() -> &'static Tera {
    static TERA: OnceLock<Tera> = OnceLock::new();
    TERA.get_or_init(|| {
        let mut tera = Tera::new();
        tera.autoescape_on(Vec::<&str>::new());
        tera.register_filter("hcl", |s: &str, _: Kwargs, _: &State| hcl::quote(s));
        tera.register_filter("hcl_map", |m: &tera::Map, kwargs: Kwargs, _: &State| {
            let indent = kwargs
                .get::<i64>("indent")
                .ok()
                .flatten()
                .unwrap_or(0)
                .max(0) as usize;
            let values: BTreeMap<String, String> = m
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_string),
                    )
                })
                .collect();
            hcl::map(&values, indent)
        });
        for (name, text) in ROOT_TEMPLATES {
            if let Err(e) = tera.add_raw_template(name, text) {
                // The templates are compiled into the binary and covered by every snapshot test.
                panic!("template {name} does not parse; this is a bug in exo-deploy: {e}");
            }
        }
        tera
    })
}

/// The image each service runs: pushed references from `inputs`, prebuilt ones (and ExoCom's)
/// pinned by digest when `inputs` has a pin of the image the config names now, else as
/// written; `""` for images not pushed yet (the root module refuses to plan with those).
pub fn images(app: &App, inputs: &Inputs) -> BTreeMap<String, String> {
    let pinned = |role: &str, written: String| match inputs.images.get(role) {
        // a rollback runs what its release recorded
        Some(p) if inputs.exact => p.clone(),
        // a reference written with its digest is what runs
        _ if written.contains('@') => written,
        Some(p) if p.split_once('@').is_some_and(|(n, _)| n == written) => p.clone(),
        _ => written,
    };
    let mut images = BTreeMap::new();
    images.insert(
        EXOCOM_ROLE.to_string(),
        pinned(EXOCOM_ROLE, app.exocom_image()),
    );
    for s in &app.services {
        let image = match (&s.image, inputs.images.get(&s.role)) {
            (ImageSource::Prebuilt { image }, _) => pinned(&s.role, image.clone()),
            (ImageSource::Build { .. }, Some(pushed)) => pushed.clone(),
            (ImageSource::Build { .. }, None) => String::new(),
        };
        images.insert(s.role.clone(), image);
    }
    images
}

/// The commit of each service exo-deploy builds, as far as known: what this run or an earlier
/// one found (a rollback: what the release recorded).
pub fn commits(app: &App, inputs: &Inputs) -> BTreeMap<String, String> {
    app.services
        .iter()
        .filter(|s| matches!(s.image, ImageSource::Build { .. }) || inputs.exact)
        .filter_map(|s| Some((s.role.clone(), inputs.commits.get(&s.role)?.clone())))
        .collect()
}

/// Renders every file of the app's Terraform directory.
pub fn render(app: &App, inputs: &Inputs) -> Result<Rendered, RenderError> {
    let ctx = context::Root::new(app, inputs);
    let tctx = tera::Context::from_serialize(&ctx).map_err(|e| RenderError::Template {
        file: "context".into(),
        message: e.to_string(),
    })?;
    let mut files = Vec::new();
    for (name, _) in ROOT_TEMPLATES {
        let text = tera()
            .render(name, &tctx)
            .map_err(|e| RenderError::Template {
                file: name.to_string(),
                message: format!("{e:?}"),
            })?;
        files.push((PathBuf::from(name), text));
    }
    let tfvars = serde_json::json!({
        "images": images(app, inputs),
        "service_commits": commits(app, inputs),
        "hosted_zone_id": inputs.hosted_zone_id.clone().or_else(|| app.env.hosted_zone_id.clone()),
    });
    let tfvars = serde_json::to_string_pretty(&tfvars).map_err(|e| RenderError::Template {
        file: TFVARS_FILE.into(),
        message: e.to_string(),
    })?;
    files.push((PathBuf::from(TFVARS_FILE), tfvars + "\n"));
    collect_modules(&MODULES, Path::new("modules"), &mut files);
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Rendered { files })
}

fn collect_modules(dir: &Dir<'_>, prefix: &Path, out: &mut Vec<(PathBuf, String)>) {
    for file in dir.files() {
        if let Some(text) = file.contents_utf8() {
            out.push((prefix.join(file.path()), text.to_string()));
        }
    }
    for sub in dir.dirs() {
        collect_modules(sub, prefix, out);
    }
}

impl Rendered {
    /// Writes the files under `out`, replacing what a previous render wrote there. Terraform's
    /// own files (`.terraform/`, the lock file, plans, logs) are left alone.
    pub fn write(&self, out: &Path) -> Result<(), RenderError> {
        let err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| RenderError::Write { path, source }
        };
        fs::create_dir_all(out).map_err(err(out))?;
        let modules = out.join("modules");
        if modules.exists() {
            fs::remove_dir_all(&modules).map_err(err(&modules))?;
        }
        for entry in fs::read_dir(out).map_err(err(out))? {
            let path = entry.map_err(err(out))?.path();
            let stale = path.extension().is_some_and(|e| e == "tf")
                && !self.files.iter().any(|(rel, _)| out.join(rel) == path);
            if stale {
                fs::remove_file(&path).map_err(err(&path))?;
            }
        }
        for (rel, text) in &self.files {
            let path = out.join(rel);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(err(parent))?;
            }
            fs::write(&path, text).map_err(err(&path))?;
        }
        Ok(())
    }

    /// All files as one text with a `==== path ====` header each, for snapshots and review.
    pub fn combined(&self) -> String {
        let mut out = String::new();
        for (path, text) in &self.files {
            out.push_str(&format!("==== {} ====\n{text}", path.display()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(edit: impl FnOnce(&mut App)) -> App {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/spacetweet");
        let raw = crate::config::load(&dir).expect("fixture loads");
        let mut app = crate::model::resolve(&raw, None).expect("fixture resolves");
        edit(&mut app);
        app
    }

    fn inputs(exocom: &str, exact: bool) -> Inputs {
        Inputs {
            images: BTreeMap::from([(EXOCOM_ROLE.to_string(), exocom.to_string())]),
            exact,
            ..Inputs::default()
        }
    }

    #[test]
    fn a_scale_override_is_the_count_a_deploy_renders_and_keeps() {
        let app = app(|_| {});
        let main = |inputs: &Inputs| {
            let rendered = render(&app, inputs).expect("renders");
            rendered
                .files
                .iter()
                .find(|(p, _)| p == Path::new("main.tf"))
                .map(|(_, t)| t.clone())
                .expect("main.tf")
        };
        let web_count = |text: &str| {
            let block = text
                .split("module \"service_web\"")
                .nth(1)
                .expect("web module");
            block
                .lines()
                .find(|l| l.trim_start().starts_with("desired_count"))
                .map(|l| l.split('=').nth(1).unwrap_or_default().trim().to_string())
                .expect("desired_count")
        };
        assert_eq!(web_count(&main(&Inputs::default())), "1");
        let scaled = Inputs {
            scale: BTreeMap::from([("web".to_string(), 3)]),
            scale_read: true,
            ..Inputs::default()
        };
        assert_eq!(web_count(&main(&scaled)), "3");
        // read this run, and empty: the override ended, whatever an earlier run saved
        let ended = Inputs {
            scale_read: true,
            ..Inputs::default()
        }
        .over(scaled.clone());
        assert!(ended.scale.is_empty());
        // not read this run (a render alone): what the last read said
        assert_eq!(Inputs::default().over(scaled).scale["web"], 3);
    }

    #[test]
    fn a_range_override_is_the_range_a_deploy_renders_for_an_autoscaled_service() {
        let dir =
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/https-autoscaling");
        let raw = crate::config::load(&dir).expect("fixture loads");
        let app = crate::model::resolve(&raw, None).expect("fixture resolves");
        let autoscaling = |inputs: &Inputs| {
            let rendered = render(&app, inputs).expect("renders");
            let main = &rendered
                .files
                .iter()
                .find(|(p, _)| p == Path::new("main.tf"))
                .expect("main.tf")
                .1;
            let block = main
                .split("module \"service_api\"")
                .nth(1)
                .expect("api module");
            let block = block.split("autoscaling = {").nth(1).expect("autoscaling");
            block
                .split('}')
                .next()
                .unwrap_or_default()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(
            autoscaling(&Inputs::default()),
            "min = 2 max = 10 cpu_target = 60"
        );
        let ranged = Inputs {
            scale_ranges: BTreeMap::from([("api".to_string(), (4, 12))]),
            scale_read: true,
            ..Inputs::default()
        };
        assert_eq!(autoscaling(&ranged), "min = 4 max = 12 cpu_target = 60");
        // kept for a render that did not read the overrides; gone once one reads none
        assert_eq!(
            Inputs::default().over(ranged.clone()).scale_ranges["api"],
            (4, 12)
        );
        let ended = Inputs {
            scale_read: true,
            ..Inputs::default()
        }
        .over(ranged);
        assert!(ended.scale_ranges.is_empty());
    }

    #[test]
    fn a_pin_is_used_only_for_the_image_the_config_names_now() {
        let digest = |d: &str| format!("sha256:{}", d.repeat(64));
        let default = app(|_| {});
        let pinned = format!("originate/exocom:0.27.0@{}", digest("a"));
        assert_eq!(images(&default, &inputs(&pinned, false))["exocom"], pinned);
        // the config moved to another tag since: the old pin is not used
        let old = format!("originate/exocom:0.26.0@{}", digest("a"));
        assert_eq!(
            images(&default, &inputs(&old, false))["exocom"],
            "originate/exocom:0.27.0"
        );
        // a reference written with its digest is what runs, whatever an earlier run pinned
        let written = format!("mirror.example/exocom:0.27.0@{}", digest("b"));
        let mirrored = app(|a| a.env.exocom_image = Some(written.clone()));
        let stale = format!("mirror.example/exocom:0.27.0@{}", digest("a"));
        assert_eq!(images(&mirrored, &inputs(&stale, false))["exocom"], written);
        // a rollback runs what its release recorded, whatever the config names now
        assert_eq!(images(&default, &inputs(&old, true))["exocom"], old);
    }
}
