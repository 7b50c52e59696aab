//! Hooks: the team's own executables, run at fixed points of a deploy, like Kamal's. They live
//! in `<app>/.exo-deploy/hooks/` and are named after the point they run at:
//!
//! - `post-render`: after every render of the Terraform directory, dry runs included (where a
//!   linter, a policy check or a patch belongs);
//! - `pre-apply`: after the plan is confirmed, before it is applied;
//! - `post-apply`: after the apply, before the release is recorded;
//! - `post-deploy`: after the release is recorded.
//!
//! Only `post-render` runs in dry runs. A hook runs in the rendered directory with the
//! variables of [`Hooks::environment`], its output streamed line by line with its name in
//! front; exo-deploy goes on when the hook has exited and its output is closed (a hook that
//! starts a background process must redirect that process's output). A hook that fails stops the run, naming its exit code; a failing `post-deploy` fails
//! the run with the release already recorded.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;

use crate::model::App;

/// The points a hook can run at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Hook {
    PostRender,
    PreApply,
    PostApply,
    PostDeploy,
}

impl Hook {
    /// Every hook, in the order a deploy reaches them.
    pub const ALL: [Hook; 4] = [
        Hook::PostRender,
        Hook::PreApply,
        Hook::PostApply,
        Hook::PostDeploy,
    ];

    /// The hook's file name.
    pub fn name(self) -> &'static str {
        match self {
            Hook::PostRender => "post-render",
            Hook::PreApply => "pre-apply",
            Hook::PostApply => "post-apply",
            Hook::PostDeploy => "post-deploy",
        }
    }
}

impl std::fmt::Display for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Errors of running a hook.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum HookError {
    /// The plan listed the hook, and its file went away before it was run.
    #[error("the {hook} hook {} was there when the run was planned, and is gone", path.display())]
    #[diagnostic(help("run again: the plan is made from the hooks present when it starts"))]
    Missing { hook: Hook, path: PathBuf },
    /// The file is there but may not be run.
    #[error("the {hook} hook {} is not executable", path.display())]
    #[diagnostic(help("make it executable (`chmod +x {}`), or remove it", path.display()))]
    NotExecutable { hook: Hook, path: PathBuf },
    /// It could not be started (a bad interpreter line, say).
    #[error("the {hook} hook {} could not be started: {message}", path.display())]
    #[diagnostic(help(
        "check its first line (`#!/bin/sh`, say) and that the interpreter is installed"
    ))]
    Start {
        hook: Hook,
        path: PathBuf,
        message: String,
    },
    /// It ran and failed.
    #[error("the {hook} hook failed with exit code {code}")]
    #[diagnostic(help(
        "its output is above, each line marked [{hook}]; fix what it reports (or the hook) and run again"
    ))]
    Failed { hook: Hook, code: i32 },
    /// It was killed by a signal.
    #[error("the {hook} hook was killed by signal {signal}")]
    #[diagnostic(help("run again; if it keeps happening, run the hook by hand to see why"))]
    Killed { hook: Hook, signal: i32 },
}

/// The hooks of one app and environment.
#[derive(Debug, Clone)]
pub struct Hooks {
    /// `<app>/.exo-deploy/hooks`.
    pub dir: PathBuf,
    /// `EXO_DEPLOY_*` variables every hook gets.
    vars: Vec<(String, String)>,
}

/// Where an app's hooks live.
pub fn dir(app: &App) -> PathBuf {
    crate::workdir::path(&app.dir).join("hooks")
}

impl Hooks {
    /// The hooks of `app`, to run in the rendered directory `out`.
    pub fn new(app: &App, out: &Path, dry_run: bool) -> Hooks {
        // absolute: the hook runs with the rendered directory as its working directory, where
        // a path relative to the caller's (`-C .`, say) would name nothing
        let dir = dir(app);
        Hooks {
            dir: std::path::absolute(&dir).unwrap_or(dir),
            vars: Self::environment(app, out, dry_run),
        }
    }

    /// The variables every hook gets (beside exo-deploy's own environment):
    /// `EXO_DEPLOY_APP`, `EXO_DEPLOY_APP_DIR`, `EXO_DEPLOY_ENV`, `EXO_DEPLOY_REGION`,
    /// `EXO_DEPLOY_VERSION`, `EXO_DEPLOY_OUT` (the rendered directory, also the working
    /// directory) and `EXO_DEPLOY_DRY_RUN` (`true` or `false`); then `EXO_DEPLOY_HOOK` (the
    /// hook's name) and, for `post-deploy`, `EXO_DEPLOY_RELEASE` (the recorded release's id).
    pub fn environment(app: &App, out: &Path, dry_run: bool) -> Vec<(String, String)> {
        let out = std::path::absolute(out).unwrap_or_else(|_| out.to_path_buf());
        let app_dir = std::path::absolute(&app.dir).unwrap_or_else(|_| app.dir.clone());
        vec![
            ("EXO_DEPLOY_APP".into(), app.name.clone()),
            ("EXO_DEPLOY_APP_DIR".into(), app_dir.display().to_string()),
            ("EXO_DEPLOY_ENV".into(), app.env.name.clone()),
            ("EXO_DEPLOY_REGION".into(), app.env.region.clone()),
            ("EXO_DEPLOY_VERSION".into(), app.version.clone()),
            ("EXO_DEPLOY_OUT".into(), out.display().to_string()),
            ("EXO_DEPLOY_DRY_RUN".into(), dry_run.to_string()),
        ]
    }

    /// The hook's file, when the app has one.
    pub fn find(&self, hook: Hook) -> Option<PathBuf> {
        let path = self.dir.join(hook.name());
        path.is_file().then_some(path)
    }

    /// Runs `hook` when the app has it, streaming each output line to `say` with the hook's
    /// name in front; `extra` adds variables. `Ok(false)` when there is no such hook.
    pub fn run(
        &self,
        hook: Hook,
        extra: &[(&str, &str)],
        say: &(dyn Fn(&str) + Sync),
    ) -> Result<bool, HookError> {
        let Some(path) = self.find(hook) else {
            return Ok(false);
        };
        if !is_executable(&path) {
            return Err(HookError::NotExecutable { hook, path });
        }
        let cwd = self
            .vars
            .iter()
            .find(|(k, _)| k == "EXO_DEPLOY_OUT")
            .map(|(_, v)| PathBuf::from(v))
            .unwrap_or_else(|| self.dir.clone());
        let mut child = Command::new(&path)
            .current_dir(&cwd)
            .envs(self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("EXO_DEPLOY_HOOK", hook.name())
            .envs(extra.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| HookError::Start {
                hook,
                path: path.clone(),
                message: e.to_string(),
            })?;
        let (out, err) = (child.stdout.take(), child.stderr.take());
        std::thread::scope(|s| {
            let prefix = format!("[{hook}]");
            let pump = |stream: Box<dyn Read + Send>| {
                let prefix = prefix.clone();
                move || {
                    // bytes, not UTF-8 lines: one odd byte must not stop the reading (the hook
                    // would die of SIGPIPE) nor lose the rest of its output
                    for line in BufReader::new(stream).split(b'\n').map_while(Result::ok) {
                        let line = String::from_utf8_lossy(&line);
                        say(&format!("  {prefix} {}", line.trim_end_matches('\r')));
                    }
                }
            };
            if let Some(o) = out {
                s.spawn(pump(Box::new(o)));
            }
            if let Some(e) = err {
                s.spawn(pump(Box::new(e)));
            }
        });
        let status = child.wait().map_err(|e| HookError::Start {
            hook,
            path,
            message: e.to_string(),
        })?;
        if status.success() {
            return Ok(true);
        }
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(code), _) => Err(HookError::Failed { hook, code }),
            (None, Some(signal)) => Err(HookError::Killed { hook, signal }),
            (None, None) => Err(HookError::Failed { hook, code: -1 }),
        }
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn app_in(dir: &Path) -> App {
        let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/minimal");
        let raw = crate::config::load(&fixture).expect("fixture loads");
        let mut app = crate::model::resolve(&raw, None).expect("fixture resolves");
        app.dir = dir.to_path_buf();
        app
    }

    fn write_hook(dir: &Path, hook: Hook, script: &str, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        let hooks = dir.join(".exo-deploy/hooks");
        std::fs::create_dir_all(&hooks).expect("mkdir");
        let path = hooks.join(hook.name());
        std::fs::write(&path, script).expect("write hook");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }

    #[test]
    fn a_hook_runs_in_the_rendered_directory_with_its_variables_and_prefixed_output() {
        let dir = tempfile::TempDir::new().expect("temp");
        let out = dir.path().join("out");
        std::fs::create_dir_all(&out).expect("out");
        let app = app_in(dir.path());
        write_hook(
            dir.path(),
            Hook::PostDeploy,
            "#!/bin/sh\necho \"$EXO_DEPLOY_HOOK $EXO_DEPLOY_APP $EXO_DEPLOY_ENV $EXO_DEPLOY_REGION $EXO_DEPLOY_DRY_RUN $EXO_DEPLOY_RELEASE\"\npwd\necho oops >&2\n",
            0o755,
        );
        let lines = Mutex::new(Vec::new());
        let say = |l: &str| lines.lock().expect("lines").push(l.to_string());
        let ran = Hooks::new(&app, &out, false)
            .run(Hook::PostDeploy, &[("EXO_DEPLOY_RELEASE", "r1")], &say)
            .expect("runs");
        assert!(ran);
        let mut lines = lines.into_inner().expect("lines");
        lines.sort();
        let cwd = std::fs::canonicalize(&out).expect("canonical");
        assert_eq!(
            lines,
            [
                format!("  [post-deploy] {}", cwd.display()),
                "  [post-deploy] oops".to_string(),
                "  [post-deploy] post-deploy hello production us-east-1 false r1".to_string(),
            ]
        );
    }

    #[test]
    fn a_missing_hook_is_no_error_and_a_failing_one_names_its_exit_code() {
        let dir = tempfile::TempDir::new().expect("temp");
        let app = app_in(dir.path());
        let hooks = Hooks::new(&app, dir.path(), false);
        let quiet = |_: &str| {};
        assert!(!hooks.run(Hook::PreApply, &[], &quiet).expect("no hook"));
        write_hook(dir.path(), Hook::PreApply, "#!/bin/sh\nexit 3\n", 0o755);
        let err = hooks.run(Hook::PreApply, &[], &quiet).expect_err("fails");
        assert_eq!(
            err.to_string(),
            "the pre-apply hook failed with exit code 3"
        );
        write_hook(dir.path(), Hook::PostApply, "#!/bin/sh\nexit 0\n", 0o644);
        let err = hooks
            .run(Hook::PostApply, &[], &quiet)
            .expect_err("not executable");
        assert!(err.to_string().contains("is not executable"), "{err}");
        let help = miette::Diagnostic::help(&err).expect("help").to_string();
        assert!(help.contains("chmod +x"), "{help}");
    }
}
