//! A real container registry: Debian's `docker-registry` as a plain process on a free loopback
//! port (the Docker Engine trusts 127.0.0.0/8 registries over HTTP), optionally with htpasswd
//! authentication. Stopped, and its images removed from the engine, when dropped.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub struct Registry {
    pub host: String,
    pub dir: TempDir,
    child: Child,
}

impl Registry {
    pub fn start() -> Registry {
        Self::start_with(None)
    }

    /// A registry that wants `user`/`password` (htpasswd, bcrypt).
    pub fn start_with_auth(user: &str, password: &str) -> Registry {
        Self::start_with(Some((user, password)))
    }

    fn start_with(auth: Option<(&str, &str)>) -> Registry {
        let dir = TempDir::new().expect("temp dir");
        let port = TcpListener::bind("127.0.0.1:0")
            .expect("port")
            .local_addr()
            .expect("addr")
            .port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        if let Some((user, password)) = auth {
            let out = Command::new("htpasswd")
                .args(["-Bbn", user, password])
                .output()
                .unwrap_or_else(|e| {
                    panic!("cannot run htpasswd ({e}): install apache2-utils (.ci/run does)")
                });
            std::fs::write(dir.path().join("htpasswd"), out.stdout).expect("htpasswd file");
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: exo-deploy-tests\n    path: {}\n",
                dir.path().join("htpasswd").display()
            ));
        }
        std::fs::write(dir.path().join("config.yml"), config).expect("config");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start docker-registry ({e}): install Debian's docker-registry package (.ci/run does)"));
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "docker-registry did not listen on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Registry {
            host: format!("127.0.0.1:{port}"),
            dir,
            child,
        }
    }

    /// Every blob file the registry stores (layers, configs, manifests).
    pub fn blobs(&self) -> usize {
        fn count(p: PathBuf) -> usize {
            std::fs::read_dir(&p).map_or(0, |entries| {
                entries
                    .flatten()
                    .map(|e| {
                        if e.path().is_dir() {
                            count(e.path())
                        } else {
                            usize::from(e.file_name() == "data")
                        }
                    })
                    .sum()
            })
        }
        count(self.dir.path().join("data/docker/registry/v2/blobs"))
    }

    /// A plain HTTP GET against the registry API: (status line, headers and body).
    pub fn get(&self, path: &str, accept: &str) -> String {
        crate::harness::http_get(&self.host, path, accept)
    }

    /// Builds a tiny image `FROM scratch` (no image can be pulled here) and pushes it as
    /// `<host>/<name>` with the Docker CLI, logged in with `login` when given (in a Docker
    /// config of its own); returns the pushed digest.
    pub fn push_scratch(&self, name: &str, login: Option<(&str, &str)>) -> String {
        self.push_built(
            name,
            "FROM scratch\nCOPY hello /hello\n",
            &[("hello", name)],
            login,
        )
    }

    /// Builds `dockerfile` with `files` beside it and pushes it as `<host>/<name>` with the
    /// Docker CLI (see [`Registry::push_scratch`]); returns the pushed digest.
    pub fn push_built(
        &self,
        name: &str,
        dockerfile: &str,
        files: &[(&str, &str)],
        login: Option<(&str, &str)>,
    ) -> String {
        let dir = TempDir::new().expect("build dir");
        std::fs::write(dir.path().join("Dockerfile"), dockerfile).expect("Dockerfile");
        for (file, text) in files {
            std::fs::write(dir.path().join(file), text).expect("file");
        }
        let config = dir.path().join("docker-config");
        let docker = |args: &[&str], stdin: Option<&str>| {
            use std::io::Write;
            let mut child = Command::new("docker")
                .arg("--config")
                .arg(&config)
                .args(args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("docker CLI");
            if let Some(text) = stdin {
                child
                    .stdin
                    .take()
                    .expect("stdin")
                    .write_all(text.as_bytes())
                    .expect("write stdin");
            }
            let out = child.wait_with_output().expect("docker");
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(out.status.success(), "docker {args:?} failed: {text}");
            text
        };
        let reference = format!("{}/{name}", self.host);
        docker(
            &[
                "build",
                "-q",
                "-t",
                &reference,
                dir.path().to_str().expect("utf-8"),
            ],
            None,
        );
        if let Some((user, password)) = login {
            docker(
                &["login", &self.host, "-u", user, "--password-stdin"],
                Some(password),
            );
        }
        let pushed = docker(&["push", &reference], None);
        pushed
            .split_whitespace()
            .find(|w| w.starts_with("sha256:"))
            .unwrap_or_else(|| panic!("no digest in: {pushed}"))
            .to_string()
    }

    /// Stops the registry (to test an unreachable one).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
        // remove what the tests built for this registry from the engine
        if let Ok(out) = Command::new("docker")
            .args(["images", "--format", "{{.Repository}}:{{.Tag}}"])
            .output()
        {
            let ours: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| l.starts_with(&self.host))
                .map(str::to_string)
                .collect();
            if !ours.is_empty() {
                let _ = Command::new("docker")
                    .arg("rmi")
                    .arg("-f")
                    .args(&ours)
                    .output();
            }
        }
    }
}

/// Fails loudly when no Docker Engine answers.
pub fn require_docker() {
    let ok = Command::new("docker")
        .arg("info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "these tests need a running Docker Engine (`docker info` failed); start dockerd"
    );
}
