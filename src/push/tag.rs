//! The tag an image is pushed under: the git commit that last touched the service's folder,
//! plus `-dirty-<content hash>` when the folder has uncommitted changes (or `content-<hash>`
//! outside git), or the user's `--tag`. Never `latest`.

use std::path::Path;

use crate::adapters::git;

/// The tag for a service folder whose build context hashes to `hash`.
pub fn for_folder(dir: &Path, hash: &str) -> String {
    let short = &hash[..hash.len().min(12)];
    match git::folder_commit(dir) {
        Some(c) => {
            let commit = &c.commit[..c.commit.len().min(12)];
            if c.dirty {
                format!("git-{commit}-dirty-{short}")
            } else {
                format!("git-{commit}")
            }
        }
        None => format!("content-{short}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_git_the_content_names_the_image() {
        let dir = tempfile::TempDir::new().expect("dir");
        assert_eq!(
            for_folder(dir.path(), "0123456789abcdef0123"),
            "content-0123456789ab"
        );
    }

    #[test]
    fn in_git_the_commit_names_it_and_changes_make_it_dirty() {
        let dir = tempfile::TempDir::new().expect("dir");
        let run = |args: &[&str]| git::tests::run(dir.path(), args);
        run(&["init", "-q"]);
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").expect("w");
        run(&["add", "."]);
        run(&["commit", "-q", "-m", "x"]);
        let clean = for_folder(dir.path(), "aaaaaaaaaaaaaaaa");
        assert!(
            clean.starts_with("git-") && !clean.contains("dirty"),
            "{clean}"
        );
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\nCOPY a /\n").expect("w");
        let dirty = for_folder(dir.path(), "bbbbbbbbbbbbbbbb");
        assert_eq!(dirty, format!("{clean}-dirty-bbbbbbbbbbbb"));
    }
}
