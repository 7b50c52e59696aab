//! Where images go: a registry host and an optional namespace, given as `--registry`, the
//! environment's `registry`, or by default the account's ECR registry in the environment's region.

use crate::model::image;

/// The kind of registry, which decides how credentials are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryKind {
    /// Docker Hub (`docker.io`).
    DockerHub,
    /// Amazon ECR: token from `GetAuthorizationToken`, repositories created on demand.
    Ecr,
    /// Any other registry, with credentials from the Docker config.
    Other,
}

/// A registry to push to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `host[:port]` as images name it (`docker.io` for Docker Hub).
    pub host: String,
    /// The path under the host, maybe empty.
    pub namespace: String,
    pub kind: RegistryKind,
}

impl Target {
    /// Parses `HOST[:PORT][/NAMESPACE]`, or a bare Docker Hub namespace such as `myteam`.
    pub fn parse(s: &str) -> Target {
        let s = s.trim_end_matches('/');
        let (first, rest) = s.split_once('/').unwrap_or((s, ""));
        let (host, namespace) = if image::is_host(first) {
            (image::canonical_host(first), rest)
        } else {
            (image::DOCKER_HUB, s)
        };
        let kind = if host == image::DOCKER_HUB {
            RegistryKind::DockerHub
        } else if image::is_ecr(host) {
            RegistryKind::Ecr
        } else {
            RegistryKind::Other
        };
        Target {
            host: host.to_string(),
            namespace: namespace.to_string(),
            kind,
        }
    }

    /// The account's ECR registry in `region`.
    pub fn ecr(account: &str, region: &str) -> Target {
        let suffix = if region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        Target {
            host: format!("{account}.dkr.ecr.{region}.{suffix}"),
            namespace: String::new(),
            kind: RegistryKind::Ecr,
        }
    }

    /// The repository of a service: `[namespace/]<app>-<role>`.
    pub fn repository(&self, app: &str, role: &str) -> String {
        if self.namespace.is_empty() {
            format!("{app}-{role}")
        } else {
            format!("{}/{app}-{role}", self.namespace)
        }
    }

    /// The full image name without tag, as Docker names it.
    pub fn image(&self, app: &str, role: &str) -> String {
        format!("{}/{}", self.host, self.repository(app, role))
    }

    /// The registry's API base URL. Loopback registries speak plain HTTP (as Docker allows them
    /// to); all others HTTPS.
    pub fn api_base(&self) -> String {
        let host = if self.kind == RegistryKind::DockerHub {
            "registry-1.docker.io"
        } else {
            self.host.as_str()
        };
        let bare = host.rsplit_once(':').map_or(host, |(h, p)| {
            if p.bytes().all(|b| b.is_ascii_digit()) {
                h
            } else {
                host
            }
        });
        let loopback = bare == "localhost" || bare.starts_with("127.") || bare == "[::1]";
        format!("{}://{host}", if loopback { "http" } else { "https" })
    }

    /// The key of this registry in `~/.docker/config.json`.
    pub fn config_key(&self) -> String {
        if self.kind == RegistryKind::DockerHub {
            "https://index.docker.io/v1/".into()
        } else {
            self.host.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries_are_told_apart() {
        let t = Target::parse("127.0.0.1:5000/team");
        assert_eq!(
            (t.host.as_str(), t.namespace.as_str(), t.kind),
            ("127.0.0.1:5000", "team", RegistryKind::Other)
        );
        assert_eq!(t.image("shop", "api"), "127.0.0.1:5000/team/shop-api");
        assert_eq!(t.api_base(), "http://127.0.0.1:5000");
        let hub = Target::parse("myteam");
        assert_eq!(
            (hub.host.as_str(), hub.kind),
            ("docker.io", RegistryKind::DockerHub)
        );
        assert_eq!(hub.image("shop", "api"), "docker.io/myteam/shop-api");
        assert_eq!(hub.api_base(), "https://registry-1.docker.io");
        assert_eq!(hub.config_key(), "https://index.docker.io/v1/");
        let ecr = Target::parse("123456789012.dkr.ecr.eu-west-1.amazonaws.com");
        assert_eq!(ecr.kind, RegistryKind::Ecr);
        assert_eq!(Target::ecr("123456789012", "eu-west-1"), ecr);
        assert_eq!(Target::parse("ghcr.io/org").api_base(), "https://ghcr.io");
    }
}
