//! A service's build context: the files of its folder minus what `.dockerignore` excludes and
//! minus exo-deploy's working folders (`.exo-deploy/`, wherever they sit: a service at
//! `location: .` would otherwise ship rendered Terraform, state caches and logs in its image,
//! and change its hash on every render), as the tar Docker builds from, and a content hash of exactly those files (names, modes and
//! bytes, in a fixed order) that names the image when the folder has uncommitted changes.

use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use sha2::{Digest, Sha256};

/// A build context ready to send.
#[derive(Debug)]
pub struct Context {
    pub tar: Vec<u8>,
    /// Hex SHA-256 over the context's files.
    pub hash: String,
    pub files: usize,
}

/// The `.dockerignore` rules of `dir`. Docker's patterns are anchored at the context root, so
/// each is anchored here before gitignore-style matching; `!` exceptions work as in Docker.
fn dockerignore(dir: &Path) -> std::io::Result<Gitignore> {
    let mut builder = GitignoreBuilder::new(dir);
    if let Ok(text) = std::fs::read_to_string(dir.join(".dockerignore")) {
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let (neg, pattern) = line.strip_prefix('!').map_or(("", line), |p| ("!", p));
            let pattern = pattern.trim_start_matches("./").trim_start_matches('/');
            builder
                .add_line(None, &format!("{neg}/{pattern}"))
                .map_err(std::io::Error::other)?;
        }
    }
    builder.build().map_err(std::io::Error::other)
}

fn walk(root: &Path, dir: &Path, rules: &Gitignore, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let is_dir = entry.file_type()?.is_dir();
        let rel = path.strip_prefix(root).unwrap_or(&path);
        if is_dir && entry.file_name() == crate::workdir::NAME {
            continue;
        }
        if rules.matched_path_or_any_parents(rel, is_dir).is_ignore() {
            continue;
        }
        if is_dir {
            walk(root, &path, rules, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// Reads `dir` into a build context. Its `dockerfile` and `.dockerignore` are always
/// included; a Dockerfile other than `Dockerfile` is part of the content hash.
pub fn read(dir: &Path, dockerfile: &str) -> std::io::Result<Context> {
    let rules = dockerignore(dir)?;
    let mut files = Vec::new();
    walk(dir, dir, &rules, &mut files)?;
    for always in [dockerfile, ".dockerignore"] {
        let p = dir.join(always);
        if p.is_file() && !files.contains(&p) {
            files.push(p);
        }
    }
    files.sort();
    let mut hasher = Sha256::new();
    if dockerfile != "Dockerfile" {
        hasher.update(b"dockerfile\0");
        hasher.update(dockerfile.as_bytes());
        hasher.update([0]);
    }
    let mut tar = tar::Builder::new(Vec::new());
    tar.mode(tar::HeaderMode::Deterministic);
    for path in &files {
        let rel = path.strip_prefix(dir).unwrap_or(path);
        let bytes = std::fs::read(path)?;
        let meta = std::fs::metadata(path)?;
        #[cfg(unix)]
        let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777;
        #[cfg(not(unix))]
        let mode = 0o644;
        hasher.update(rel.to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update(mode.to_le_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(mode);
        header.set_mtime(0);
        tar.append_data(&mut header, rel, bytes.as_slice())?;
    }
    let tar = tar.into_inner()?;
    Ok(Context {
        tar,
        hash: hex(&hasher.finalize()),
        files: files.len(),
    })
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(ctx: &Context) -> Vec<String> {
        let mut archive = tar::Archive::new(ctx.tar.as_slice());
        archive
            .entries()
            .expect("entries")
            .map(|e| {
                e.expect("entry")
                    .path()
                    .expect("path")
                    .display()
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn dockerignore_is_honoured_and_the_hash_follows_content() {
        let dir = tempfile::TempDir::new().expect("dir");
        let d = dir.path();
        std::fs::write(d.join("Dockerfile"), "FROM scratch\n").expect("w");
        std::fs::write(
            d.join(".dockerignore"),
            "node_modules\n*.log\n!keep.log\nsecrets/\n",
        )
        .expect("w");
        std::fs::create_dir_all(d.join("node_modules/x")).expect("w");
        std::fs::write(d.join("node_modules/x/a.js"), "x").expect("w");
        std::fs::create_dir_all(d.join("src")).expect("w");
        std::fs::write(d.join("src/app.js"), "1").expect("w");
        std::fs::write(d.join("debug.log"), "x").expect("w");
        std::fs::write(d.join("keep.log"), "x").expect("w");
        std::fs::create_dir_all(d.join("secrets")).expect("w");
        std::fs::write(d.join("secrets/key"), "x").expect("w");
        // exo-deploy's working folder, as a service at `location: .` has it
        std::fs::create_dir_all(d.join(".exo-deploy/production")).expect("w");
        std::fs::write(d.join(".exo-deploy/production/main.tf"), "x").expect("w");
        let ctx = read(d, "Dockerfile").expect("context");
        assert_eq!(
            names(&ctx),
            [".dockerignore", "Dockerfile", "keep.log", "src/app.js"]
        );
        let again = read(d, "Dockerfile").expect("context");
        assert_eq!(ctx.hash, again.hash, "same files, same hash");
        assert_eq!(ctx.tar, again.tar, "same files, same tar");
        std::fs::write(d.join("src/app.js"), "2").expect("w");
        assert_ne!(
            read(d, "Dockerfile").expect("context").hash,
            ctx.hash,
            "changed content, new hash"
        );
        std::fs::write(d.join("debug.log"), "changed").expect("w");
        let ignored = read(d, "Dockerfile").expect("context");
        std::fs::write(d.join("debug.log"), "changed again").expect("w");
        assert_eq!(
            read(d, "Dockerfile").expect("context").hash,
            ignored.hash,
            "ignored files do not count"
        );
        std::fs::write(d.join(".exo-deploy/production/main.tf"), "rendered again").expect("w");
        assert_eq!(
            read(d, "Dockerfile").expect("context").hash,
            ignored.hash,
            "nor does exo-deploy's working folder, without any .dockerignore line"
        );
    }
}
