//! Webhooks (`notify`): a JSON body POSTed to a url, signed the way GitHub signs its webhooks
//! (`X-Exo-Deploy-Signature: sha256=<hex HMAC-SHA256 of the body under the shared secret>`),
//! with a timeout and a few retries with backoff. A webhook never fails a deploy: what could
//! not be delivered is reported by the caller.

use std::time::Duration;

use hmac::{KeyInit, Mac};
use sha2::Sha256;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "X-Exo-Deploy-Signature";
/// The header naming the event (`release` or `failure`).
pub const EVENT_HEADER: &str = "X-Exo-Deploy-Event";

/// How many times a delivery is tried.
pub const ATTEMPTS: u32 = 3;

/// `sha256=<hex>`: the HMAC-SHA256 of `body` under `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    format!(
        "sha256={}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// POSTs `body` to `url` (signed with `secret` when given), trying [`ATTEMPTS`] times with
/// `timeout` each; `Err` says why the last attempt failed.
pub async fn deliver(
    url: &str,
    event: &str,
    body: &[u8],
    secret: Option<&[u8]>,
    timeout: Duration,
) -> Result<(), String> {
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .user_agent(concat!("exo-deploy/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.to_string())?;
    let mut last = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(500 * 2u64.pow(attempt))).await;
        }
        let mut req = http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(EVENT_HEADER, event)
            .body(body.to_vec());
        if let Some(secret) = secret {
            req = req.header(SIGNATURE_HEADER, signature(secret, body));
        }
        match req.send().await {
            Ok(answer) if answer.status().is_success() => return Ok(()),
            // the receiver refused it as it is: trying again would not help (unless it asks
            // for time)
            Ok(answer)
                if answer.status().is_client_error()
                    && !matches!(answer.status().as_u16(), 408 | 429) =>
            {
                return Err(format!("the receiver answered HTTP {}", answer.status()));
            }
            Ok(answer) => last = format!("the receiver answered HTTP {}", answer.status()),
            // never the url: its path may be the webhook's secret
            Err(e) => last = super::aws::innermost(&e.without_url()),
        }
    }
    Err(format!("{last} (after {ATTEMPTS} attempts)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_github_style_hmac_sha256() {
        // RFC 4231, test case 2
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
