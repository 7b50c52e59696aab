//! Just enough of the registry HTTP API (v2) to ask whether a tag is already there and what its
//! digest is, with Basic or Bearer-token authentication as the registry asks for it.

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, WWW_AUTHENTICATE};

use super::credentials::Creds;
use crate::adapters::aws::innermost;

const MANIFEST_TYPES: &str = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json";

/// Why a registry question could not be answered.
#[derive(Debug)]
pub enum Problem {
    Unauthorized(String),
    Unreachable(String),
    Other(String),
}

/// A client for one registry.
#[derive(Debug, Clone)]
pub struct Registry {
    http: reqwest::Client,
    base: String,
    creds: Option<Creds>,
}

impl Registry {
    pub fn new(base: String, creds: Option<Creds>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .user_agent(concat!("exo-deploy/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Registry { http, base, creds }
    }

    /// The digest of `repo:tag`, or `None` when the registry does not have it.
    pub async fn digest(&self, repo: &str, tag: &str) -> Result<Option<String>, Problem> {
        let url = format!("{}/v2/{repo}/manifests/{tag}", self.base);
        let first = self.head(&url, None).await?;
        let answer = if first.status() == StatusCode::UNAUTHORIZED {
            let challenge = first
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let auth = self.authorization(&challenge, repo).await?;
            self.head(&url, Some(auth)).await?
        } else {
            first
        };
        match answer.status() {
            s if s.is_success() => Ok(answer
                .headers()
                .get("docker-content-digest")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)),
            StatusCode::NOT_FOUND => Ok(None),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                Err(Problem::Unauthorized(format!("HTTP {}", answer.status())))
            }
            s => Err(Problem::Other(format!("HTTP {s} for {url}"))),
        }
    }

    async fn head(&self, url: &str, auth: Option<String>) -> Result<reqwest::Response, Problem> {
        let mut req = self.http.head(url).header(ACCEPT, MANIFEST_TYPES);
        if let Some(a) = auth {
            req = req.header(AUTHORIZATION, a);
        }
        req.send().await.map_err(|e| {
            if e.is_connect() || e.is_timeout() {
                Problem::Unreachable(innermost(&e))
            } else {
                Problem::Other(innermost(&e))
            }
        })
    }

    /// The Authorization header a `WWW-Authenticate` challenge asks for (RFC 7235; quoted
    /// values may hold commas, as scopes for several actions do).
    async fn authorization(&self, challenge: &str, repo: &str) -> Result<String, Problem> {
        use base64::Engine;
        let basic = || {
            self.creds.as_ref().map(|c| {
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD
                        .encode(format!("{}:{}", c.username, c.password))
                )
            })
        };
        let Some(bearer) = bearer_challenge(challenge)? else {
            return basic().ok_or_else(|| {
                Problem::Unauthorized("the registry wants credentials and none were found".into())
            });
        };
        let scope = bearer
            .scope
            .unwrap_or_else(|| format!("repository:{repo}:pull"));
        let mut req = self
            .http
            .get(&bearer.realm)
            .query(&[("scope", scope.as_str())]);
        if let Some(service) = bearer.service {
            req = req.query(&[("service", service.as_str())]);
        }
        if let Some(b) = basic() {
            req = req.header(AUTHORIZATION, b);
        }
        let answer = req
            .send()
            .await
            .map_err(|e| Problem::Unreachable(innermost(&e)))?;
        if !answer.status().is_success() {
            return Err(Problem::Unauthorized(format!(
                "token service answered HTTP {}",
                answer.status()
            )));
        }
        let body: serde_json::Value = answer
            .json()
            .await
            .map_err(|e| Problem::Other(e.to_string()))?;
        let token = body["token"]
            .as_str()
            .or_else(|| body["access_token"].as_str())
            .ok_or_else(|| Problem::Other("no token in the answer".into()))?;
        Ok(format!("Bearer {token}"))
    }
}

/// What a `Bearer` challenge names: where to get a token, for which service and scope.
#[derive(Debug, PartialEq, Eq)]
struct BearerChallenge {
    realm: String,
    service: Option<String>,
    scope: Option<String>,
}

/// The `Bearer` challenge of a `WWW-Authenticate` header, parsed by http-auth; `None` when the
/// registry asks for another scheme (Basic).
fn bearer_challenge(header: &str) -> Result<Option<BearerChallenge>, Problem> {
    let challenges = http_auth::parse_challenges(header)
        .map_err(|e| Problem::Other(format!("unreadable challenge ({e}): {header}")))?;
    let Some(bearer) = challenges
        .iter()
        .find(|c| c.scheme.eq_ignore_ascii_case("bearer"))
    else {
        return Ok(None);
    };
    let param = |name: &str| {
        bearer
            .params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.to_unescaped())
    };
    let realm = param("realm")
        .ok_or_else(|| Problem::Other(format!("a Bearer challenge without a realm: {header}")))?;
    Ok(Some(BearerChallenge {
        realm,
        service: param("service"),
        scope: param("scope"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quoted_scope_with_commas_is_read_whole() {
        let parsed = bearer_challenge(
            r#"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:team/app:pull,push""#,
        )
        .expect("parses")
        .expect("bearer");
        assert_eq!(
            parsed,
            BearerChallenge {
                realm: "https://auth.example.com/token".into(),
                service: Some("registry.example.com".into()),
                scope: Some("repository:team/app:pull,push".into()),
            }
        );
        assert_eq!(
            bearer_challenge(r#"Basic realm="Registry Realm""#).expect("parses"),
            None
        );
        assert!(
            bearer_challenge("Bearer service=\"x\"").is_err(),
            "no realm"
        );
    }
}
