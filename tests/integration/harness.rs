//! A small builder for running the real `exo-deploy` binary on a copy of a fixture app, each
//! test in its own temporary folder so tests run in parallel.

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Writes an executable hook `.exo-deploy/hooks/<name>` into the app folder `app`.
pub fn write_hook(app: &Path, name: &str, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    let dir = app.join(".exo-deploy/hooks");
    std::fs::create_dir_all(&dir).expect("hooks dir");
    let path = dir.join(name);
    std::fs::write(&path, script).expect("write hook");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// A tool under `../shared/tools/` (beside the repository), which must be there.
pub fn shared_tool(rel: &str) -> PathBuf {
    let path = repo().join("../shared/tools").join(rel);
    assert!(
        path.is_file(),
        "{} is missing (shared/ must sit beside the repo)",
        path.display()
    );
    path
}

/// Copies a folder recursively, leaving out previous outputs.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create folder");
    for entry in std::fs::read_dir(from).expect("read fixture") {
        let entry = entry.expect("fixture entry");
        let name = entry.file_name();
        if name == ".exo-deploy" {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name)).expect("copy file");
        }
    }
}

pub struct Test {
    dir: TempDir,
    app: Option<PathBuf>,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

pub struct Output {
    pub dir: TempDir,
    pub app: PathBuf,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Test {
    pub fn new() -> Self {
        Test {
            dir: TempDir::new().expect("temp dir"),
            app: None,
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    /// Runs on a copy of `fixtures/<name>`.
    pub fn app(mut self, name: &str) -> Self {
        let app = self.dir.path().join("app");
        copy_dir(&repo().join("fixtures").join(name), &app);
        self.app = Some(app);
        self
    }

    /// Runs on an existing app folder, as it is (a lifecycle of several runs).
    pub fn at(mut self, app: &Path) -> Self {
        self.app = Some(app.to_path_buf());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, args: I) -> Self {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_string()));
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// AWS credentials and endpoint for a moto server, and nothing from the machine's own AWS setup.
    pub fn aws(self, moto: &crate::moto::Moto) -> Self {
        self.env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_ENDPOINT_URL", &moto.url)
    }

    /// Adds an executable hook (`.exo-deploy/hooks/<name>`) to the app copy.
    pub fn hook(self, name: &str, script: &str) -> Self {
        write_hook(self.app.as_ref().expect("app() first"), name, script);
        self
    }

    /// Edits a file of the app copy.
    pub fn edit(self, file: &str, edit: impl FnOnce(String) -> String) -> Self {
        let path = self.app.as_ref().expect("app() first").join(file);
        let text = std::fs::read_to_string(&path).expect("read file to edit");
        std::fs::write(&path, edit(text)).expect("write edited file");
        self
    }

    /// The temporary folder this test owns.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn run(self) -> Output {
        let app = self
            .app
            .clone()
            .unwrap_or_else(|| self.dir.path().join("app"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_exo-deploy"));
        cmd.arg("-C")
            .arg(&app)
            .args(&self.args)
            .env_remove("EXO_DEPLOY_ENV")
            .env("NO_COLOR", "1");
        // Nothing from the machine's AWS setup leaks in: tests say exactly what they use.
        for (key, _) in std::env::vars() {
            if key.starts_with("AWS_") {
                cmd.env_remove(key);
            }
        }
        let nowhere = self.dir.path().join("no-aws-config");
        cmd.env("AWS_CONFIG_FILE", &nowhere)
            .env("AWS_SHARED_CREDENTIALS_FILE", &nowhere)
            .env("AWS_EC2_METADATA_DISABLED", "true");
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        // no terminal: as in CI
        cmd.stdin(std::process::Stdio::null());
        let out = cmd.output().expect("run exo-deploy");
        let clean =
            |b: &[u8]| String::from_utf8_lossy(b).replace(&app.display().to_string(), "[APP]");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: clean(&out.stdout),
            stderr: clean(&out.stderr),
            app,
            dir: self.dir,
        }
    }
}

impl Output {
    #[track_caller]
    pub fn code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code\n--- stderr\n{}\n--- stdout\n{}",
            self.stderr, self.stdout
        );
        self
    }

    #[track_caller]
    pub fn stderr_contains(&self, text: &str) -> &Self {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}:\n{}",
            self.stderr
        );
        self
    }

    /// Every stdout line, parsed as JSON (panics on a line that is not).
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}"))
            })
            .collect()
    }
}

/// Every rendered file under `dir` as one text with a `==== path ====` header each, sorted by
/// path (exo-deploy's own record of deploy-time inputs is left out: it is not Terraform).
pub fn combined(dir: &Path) -> String {
    let mut files = Vec::new();
    collect(dir, dir, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|(rel, text)| format!("==== {rel} ====\n{text}"))
        .collect()
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).expect("read output") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            collect(root, &path, out);
        } else if path
            .file_name()
            .is_some_and(|n| n == exo_deploy::render::INPUTS_FILE)
        {
            continue;
        } else {
            let rel = path
                .strip_prefix(root)
                .expect("under root")
                .display()
                .to_string();
            out.push((rel, std::fs::read_to_string(&path).expect("utf-8 file")));
        }
    }
}

/// A plain HTTP/1.1 GET to a loopback server (moto and the registry check no signatures), for
/// answers the SDKs cannot or should not parse: the status line, headers and body.
pub fn http_get(host: &str, path: &str, accept: &str) -> String {
    http_request(host, "GET", path, accept)
}

/// A plain HTTP/1.1 request without a body (see [`http_get`]).
pub fn http_request(host: &str, method: &str, path: &str, accept: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(host).expect("connect");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    answer
}

/// A miette report's sentences without its line wrapping: a message's lines go on after
/// `│ `, a help's after eight spaces.
pub fn unwrapped(report: &str) -> String {
    regex::Regex::new(r"\n\s*│ |\n {8}")
        .expect("regex")
        .replace_all(report, " ")
        .into_owned()
}
