//! The app's working folder, `<app>/.exo-deploy/`: the rendered Terraform of each environment,
//! the cache of images' service.yml, and the hooks the app's authors write. exo-deploy writes
//! into the app's repository, so it keeps its own files out of git: the first write puts a
//! `.gitignore` there that ignores everything but itself and the hooks (which belong in the
//! repository). Without it `git status` was never clean and every release was recorded dirty.

use std::path::{Path, PathBuf};

/// The folder's name, in the app's folder.
pub const NAME: &str = ".exo-deploy";

/// What the `.gitignore` says: everything exo-deploy writes (this file too) stays out of git;
/// the hooks do not.
pub const GITIGNORE: &str = "\
# Written by exo-deploy: its working files (rendered Terraform, caches, logs) stay out of git.
# The hooks are the app's own: commit them.
/*
!/hooks/
";

/// `<app>/.exo-deploy`.
pub fn path(app_dir: &Path) -> PathBuf {
    app_dir.join(NAME)
}

/// Creates `<app>/.exo-deploy` with its `.gitignore` when either is missing; a `.gitignore`
/// the user wrote is kept as it is.
pub fn ensure(app_dir: &Path) -> std::io::Result<PathBuf> {
    let dir = path(app_dir);
    std::fs::create_dir_all(&dir)?;
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        std::fs::write(&ignore, GITIGNORE)?;
    }
    Ok(dir)
}

/// Whether `path` is inside an app's working folder (`--out` may point elsewhere).
pub fn contains(app_dir: &Path, path: &Path) -> bool {
    path.starts_with(self::path(app_dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gitignore_is_written_once_and_keeps_the_hooks() {
        let dir = tempfile::TempDir::new().expect("dir");
        let work = ensure(dir.path()).expect("ensure");
        assert_eq!(
            std::fs::read_to_string(work.join(".gitignore")).expect("read"),
            GITIGNORE
        );
        std::fs::write(work.join(".gitignore"), "mine\n").expect("write");
        ensure(dir.path()).expect("again");
        assert_eq!(
            std::fs::read_to_string(work.join(".gitignore")).expect("read"),
            "mine\n",
            "the user's own is kept"
        );
        assert!(contains(dir.path(), &work.join("production")));
        assert!(!contains(dir.path(), &dir.path().join("out")));
    }
}
