//! Registry credentials, found where Docker keeps them: `~/.docker/config.json` (or
//! `$DOCKER_CONFIG/config.json`) with `auths`, and `credsStore`/`credHelpers` answered by the
//! `docker-credential-*` helper programs; for ECR, a token from `GetAuthorizationToken`.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::error::{PushError, Result};
use super::target::Target;

/// A user name and password (or token) for one registry.
#[derive(Clone)]
pub struct Creds {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Creds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Creds {{ username: {:?}, password: <hidden> }}",
            self.username
        )
    }
}

/// Credentials for a registry, and where they were looked for (for error messages).
#[derive(Debug, Clone)]
pub struct Found {
    pub creds: Option<Creds>,
    pub looked_up: String,
}

fn config_path() -> PathBuf {
    match std::env::var_os("DOCKER_CONFIG") {
        Some(dir) => PathBuf::from(dir).join("config.json"),
        None => std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default()
            .join(".docker/config.json"),
    }
}

/// Looks the target's credentials up in the Docker config.
pub fn from_docker_config(target: &Target) -> Result<Found> {
    let path = config_path();
    let looked_up = path.display().to_string();
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(Found {
            creds: None,
            looked_up: format!("{looked_up} (not found)"),
        });
    };
    let config: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let key = target.config_key();
    let helper = config["credHelpers"][&target.host]
        .as_str()
        .or_else(|| config["credsStore"].as_str());
    if let Some(helper) = helper {
        let creds = from_helper(helper, &key)?;
        return Ok(Found {
            creds,
            looked_up: format!("{looked_up} (helper docker-credential-{helper})"),
        });
    }
    let entry = &config["auths"][&key];
    let creds = if let Some(auth) = entry["auth"].as_str() {
        decode_basic(auth)
    } else {
        match (entry["username"].as_str(), entry["password"].as_str()) {
            (Some(u), Some(p)) => Some(Creds {
                username: u.into(),
                password: p.into(),
            }),
            _ => None,
        }
    };
    Ok(Found { creds, looked_up })
}

/// `base64(user:password)` as Docker stores it.
pub fn decode_basic(auth: &str) -> Option<Creds> {
    let raw = STANDARD.decode(auth.trim()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (u, p) = text.split_once(':')?;
    Some(Creds {
        username: u.to_string(),
        password: p.to_string(),
    })
}

/// Asks `docker-credential-<helper> get` for the server's credentials.
fn from_helper(helper: &str, server: &str) -> Result<Option<Creds>> {
    let fail = |detail: String| PushError::CredentialHelper {
        helper: helper.into(),
        registry: server.into(),
        detail,
    };
    let mut child = Command::new(format!("docker-credential-{helper}"))
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(e.to_string()))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(server.as_bytes())
            .map_err(|e| fail(e.to_string()))?;
    }
    let out = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        // helpers say "credentials not found" on stdout when there is no entry
        if stdout.to_ascii_lowercase().contains("not found") {
            return Ok(None);
        }
        return Err(fail(format!(
            "{}{}",
            stdout.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let answer: serde_json::Value =
        serde_json::from_str(&stdout).map_err(|e| fail(format!("unreadable answer: {e}")))?;
    match (answer["Username"].as_str(), answer["Secret"].as_str()) {
        (Some(u), Some(s)) => Ok(Some(Creds {
            username: u.into(),
            password: s.into(),
        })),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_decodes_and_passwords_stay_out_of_debug_output() {
        let c = decode_basic(&STANDARD.encode("alice:s3cret:with-colon")).expect("creds");
        assert_eq!(c.username, "alice");
        assert_eq!(c.password, "s3cret:with-colon");
        assert!(!format!("{c:?}").contains("s3cret"));
        assert!(decode_basic("not base64!").is_none());
    }
}
