//! git, through its command line: which commit a folder was last changed in and whether it has
//! uncommitted changes, the repository's commit, and where it comes from. Provenance for tags,
//! image labels, the containers' `EXO_DEPLOY_SERVICE_COMMIT` and release records. Outside a
//! git repository (or without git) every answer is `None` / not dirty.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The last commit that changed a folder, as image labels and records carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderCommit {
    /// The full commit hash.
    pub commit: String,
    /// The commit time, RFC 3339: an image's `created` label, so a rebuild is the same image.
    pub time: String,
    /// Whether the folder has uncommitted changes (untracked files count).
    pub dirty: bool,
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The last commit that changed `dir` (a service folder), and whether `dir` is dirty.
pub fn folder_commit(dir: &Path) -> Option<FolderCommit> {
    let line = git(dir, &["log", "-1", "--format=%H %cI", "--", "."])?;
    let (commit, time) = line.split_once(' ')?;
    let dirty = git(dir, &["status", "--porcelain", "--", "."]).is_none_or(|s| !s.is_empty());
    Some(FolderCommit {
        commit: commit.to_string(),
        time: time.to_string(),
        dirty,
    })
}

/// The repository's `HEAD` commit, when `dir` is in a git repository.
pub fn head(dir: &Path) -> Option<String> {
    git(dir, &["rev-parse", "HEAD"]).filter(|c| !c.is_empty())
}

/// Whether any of `paths` (files or folders, in the repository of `dir`) has uncommitted
/// changes. Paths outside the repository are not git's to judge and are left out; an answer
/// git cannot give counts as dirty.
pub fn dirty(dir: &Path, paths: &[PathBuf]) -> bool {
    let Some(top) = git(dir, &["rev-parse", "--show-toplevel"]).map(PathBuf::from) else {
        return false;
    };
    let top = top.canonicalize().unwrap_or(top);
    let inside: Vec<String> = paths
        .iter()
        .filter_map(|p| p.canonicalize().ok())
        .filter(|p| p.starts_with(&top))
        .map(|p| p.display().to_string())
        .collect();
    if inside.is_empty() {
        return false;
    }
    let mut args = vec!["status", "--porcelain", "--"];
    args.extend(inside.iter().map(String::as_str));
    git(dir, &args).is_none_or(|s| !s.is_empty())
}

/// Where the repository comes from (`origin`'s url) with any credentials in it removed:
/// an image's `source` label.
pub fn source(dir: &Path) -> Option<String> {
    let url = git(dir, &["remote", "get-url", "origin"])?;
    Some(without_credentials(&url))
}

/// `https://user:token@host/x` → `https://host/x`; scp-like `git@host:x` is kept (the user
/// part names no secret).
pub fn without_credentials(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            if path.is_empty() && !rest.contains('/') {
                format!("{scheme}://{host}")
            } else {
                format!("{scheme}://{host}/{path}")
            }
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// Runs git in `dir` for a test, which must succeed.
    pub fn run(dir: &Path, args: &[&str]) {
        let ok = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .output()
            .expect("git")
            .status
            .success();
        assert!(ok, "git {args:?}");
    }

    #[test]
    fn credentials_never_leave_in_a_source_url() {
        assert_eq!(
            without_credentials("https://bot:ghp_secret@github.com/org/app.git"),
            "https://github.com/org/app.git"
        );
        assert_eq!(
            without_credentials("https://github.com/org/app.git"),
            "https://github.com/org/app.git"
        );
        assert_eq!(
            without_credentials("git@github.com:org/app.git"),
            "git@github.com:org/app.git"
        );
    }

    #[test]
    fn a_folder_is_dirty_by_its_own_files_and_the_app_by_the_paths_asked() {
        let repo = tempfile::TempDir::new().expect("dir");
        let r = repo.path();
        run(r, &["init", "-q"]);
        std::fs::create_dir_all(r.join("web")).expect("mkdir");
        std::fs::write(r.join("web/Dockerfile"), "FROM scratch\n").expect("w");
        std::fs::write(r.join("application.yml"), "name: x\n").expect("w");
        run(r, &["add", "."]);
        run(r, &["commit", "-q", "-m", "first"]);
        let web = folder_commit(&r.join("web")).expect("committed");
        assert!(!web.dirty);
        assert_eq!(Some(web.commit.clone()), head(r));
        assert!(web.time.starts_with("20"), "{}", web.time);
        // files nothing asks about do not make the app dirty
        std::fs::write(r.join("notes.txt"), "x").expect("w");
        let asked = [r.join("application.yml"), r.join("web")];
        assert!(!dirty(r, &asked));
        assert!(dirty(r, &[r.join("notes.txt")]));
        std::fs::write(r.join("web/new.txt"), "x").expect("w");
        assert!(dirty(r, &asked));
        assert!(folder_commit(&r.join("web")).expect("c").dirty);
        let outside = tempfile::TempDir::new().expect("dir");
        assert!(folder_commit(outside.path()).is_none());
        assert!(!dirty(outside.path(), &[outside.path().to_path_buf()]));
    }
}
