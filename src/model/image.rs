//! Image references as Docker reads them (`[host[:port]/]path[:tag][@digest]`): which registry
//! an image comes from decides its pull credentials, and its tag or digest what is pinned.
//! Part of the model because the config names images; the push and pipeline stages use the
//! same reading.

/// Docker Hub's name in image references.
pub const DOCKER_HUB: &str = "docker.io";

/// One image reference, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// `host[:port]`, `docker.io` for Docker Hub.
    pub host: String,
    /// The repository path on the host (`library/nginx` for Docker Hub's official images).
    pub path: String,
    pub tag: Option<String>,
    /// `sha256:…`, when the reference pins one.
    pub digest: Option<String>,
}

/// Whether the first path component of a reference names a registry host.
pub fn is_host(first: &str) -> bool {
    first.contains('.') || first.contains(':') || first == "localhost"
}

/// The canonical name of a registry host (Docker Hub's aliases become `docker.io`).
pub fn canonical_host(host: &str) -> &str {
    match host {
        "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB,
        h => h,
    }
}

/// Whether `host` is an Amazon ECR registry, whose images the execution role pulls.
pub fn is_ecr(host: &str) -> bool {
    host.contains(".dkr.ecr.")
        && (host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn"))
}

/// The account and region of an ECR registry host (`ACCOUNT.dkr.ecr.REGION.amazonaws.com`).
pub fn ecr_registry(host: &str) -> Option<(&str, &str)> {
    if !is_ecr(host) {
        return None;
    }
    let (account, rest) = host.split_once(".dkr.ecr.")?;
    let region = rest.split('.').next()?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) && !region.is_empty())
        .then_some((account, region))
}

impl ImageRef {
    /// Splits a reference; `None` when it has no repository path.
    pub fn parse(s: &str) -> Option<ImageRef> {
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => (r, Some(d.to_string())),
            None => (s, None),
        };
        let (first, after) = rest.split_once('/').unwrap_or(("", rest));
        let (host, name) = if is_host(first) {
            (canonical_host(first), after)
        } else {
            (DOCKER_HUB, rest)
        };
        // a tag follows the last `:` of the last path component
        let (path, tag) = match name.rsplit_once(':') {
            Some((p, t)) if !t.contains('/') => (p, Some(t.to_string())),
            _ => (name, None),
        };
        if path.is_empty() || path.starts_with('/') || path.ends_with('/') {
            return None;
        }
        let path = if host == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_string()
        };
        Some(ImageRef {
            host: host.to_string(),
            path,
            tag,
            digest,
        })
    }

    /// What to ask the registry for: the digest when pinned, else the tag (`latest` when none).
    pub fn reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }

    /// `written` pinned to `digest`: the name and tag as written, then `@digest` (ECS and
    /// Docker pull the digest; the tag stays for people reading it).
    pub fn pinned(written: &str, digest: &str) -> String {
        let name = written.split_once('@').map_or(written, |(n, _)| n);
        format!("{name}@{digest}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_as_docker_reads_them() {
        let r = ImageRef::parse("originate/exocom:0.27.0").expect("parses");
        assert_eq!(
            (r.host.as_str(), r.path.as_str(), r.tag.as_deref()),
            ("docker.io", "originate/exocom", Some("0.27.0"))
        );
        let r = ImageRef::parse("nginx").expect("parses");
        assert_eq!(
            (r.path.as_str(), r.reference()),
            ("library/nginx", "latest")
        );
        let r = ImageRef::parse("127.0.0.1:5000/team/exocom:1@sha256:ab").expect("parses");
        assert_eq!(r.host, "127.0.0.1:5000");
        assert_eq!(r.path, "team/exocom");
        assert_eq!(r.tag.as_deref(), Some("1"));
        assert_eq!(r.reference(), "sha256:ab");
        let r = ImageRef::parse("localhost/app").expect("parses");
        assert_eq!((r.host.as_str(), r.tag), ("localhost", None));
        let r = ImageRef::parse("registry-1.docker.io/org/app:2").expect("parses");
        assert_eq!(r.host, "docker.io");
        assert_eq!(ImageRef::parse("ghcr.io/"), None);
        assert!(is_ecr("123456789012.dkr.ecr.eu-west-1.amazonaws.com"));
        assert_eq!(
            ecr_registry("123456789012.dkr.ecr.eu-west-1.amazonaws.com"),
            Some(("123456789012", "eu-west-1"))
        );
        assert_eq!(ecr_registry("ghcr.io"), None);
        assert!(!is_ecr("ghcr.io"));
    }

    #[test]
    fn a_pinned_reference_keeps_the_tag_and_replaces_any_digest() {
        assert_eq!(
            ImageRef::pinned("org/app:1.2", "sha256:cd"),
            "org/app:1.2@sha256:cd"
        );
        assert_eq!(
            ImageRef::pinned("org/app:1.2@sha256:ab", "sha256:cd"),
            "org/app:1.2@sha256:cd"
        );
    }
}
