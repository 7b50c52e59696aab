//! Pure checks on single values (names, host names, regions, CIDRs…), shared by the resolver
//! and unit-tested here. Each returns `Err(reason)` with a sentence fit for a diagnostic.

/// CloudWatch Logs accepts only these retention periods (days).
pub const LOG_RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// A lowercase DNS label of at most `max` characters: app, environment and role names.
pub fn dns_label(s: &str, max: usize) -> Result<(), String> {
    if s.is_empty() {
        return Err("it is empty".into());
    }
    if s.len() > max {
        return Err(format!(
            "it is {} characters long; the most is {max}",
            s.len()
        ));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err("only lowercase letters, digits and `-` are allowed".into());
    }
    if !s.as_bytes()[0].is_ascii_lowercase() {
        return Err("it must start with a lowercase letter".into());
    }
    if s.ends_with('-') {
        return Err("it must not end with `-`".into());
    }
    Ok(())
}

/// A DNS host name such as `api.example.com` (no scheme, port or path).
pub fn hostname(s: &str) -> Result<(), String> {
    if s.contains("://") || s.contains('/') || s.contains(':') {
        return Err("write the host name only, without scheme, port or path".into());
    }
    if s.len() > 253 {
        return Err("a host name has at most 253 characters".into());
    }
    let labels: Vec<&str> = s.trim_end_matches('.').split('.').collect();
    if labels.len() < 2 {
        return Err("a host name has at least two labels, like `example.com`".into());
    }
    for label in labels {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(format!("`{label}` is not a valid DNS label"));
        }
    }
    Ok(())
}

/// True when `host` is `domain` or below it.
pub fn within_domain(host: &str, domain: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    host == domain || host.ends_with(&format!(".{domain}"))
}

/// An AWS region name such as `us-east-1` or `us-gov-west-1`.
pub fn region(s: &str) -> Result<(), String> {
    let parts: Vec<&str> = s.split('-').collect();
    let ok = (3..=4).contains(&parts.len())
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u8>().is_ok();
    if ok {
        Ok(())
    } else {
        Err("a region looks like `us-east-1`".into())
    }
}

/// A 12-digit AWS account id.
pub fn account_id(s: &str) -> Result<(), String> {
    if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err("an AWS account id has exactly 12 digits (quote it if it starts with 0)".into())
    }
}

/// An S3 bucket name (the general-purpose bucket rules).
pub fn bucket_name(s: &str) -> Result<(), String> {
    if !(3..=63).contains(&s.len()) {
        return Err("a bucket name has 3 to 63 characters".into());
    }
    let ok = s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.as_bytes()[s.len() - 1].is_ascii_alphanumeric()
        && !s.contains("..");
    if ok {
        Ok(())
    } else {
        Err("a bucket name has lowercase letters, digits, `-` and `.`, and starts and ends with a letter or digit".into())
    }
}

/// An IPv4 CIDR block with a prefix from /16 to /24 (room for the subnets exo-deploy makes).
pub fn vpc_cidr(s: &str) -> Result<(), String> {
    let bad = || "a VPC CIDR looks like `10.0.0.0/16`, with a prefix from /16 to /24".to_string();
    let (ip, prefix) = s.split_once('/').ok_or_else(bad)?;
    let prefix: u8 = prefix.parse().map_err(|_| bad())?;
    ip.parse::<std::net::Ipv4Addr>().map_err(|_| bad())?;
    if (16..=24).contains(&prefix) {
        Ok(())
    } else {
        Err(bad())
    }
}

/// One outbound rule as written: `[tcp|udp ]PORT[-PORT][ to CIDR]`, such as `443`,
/// `25-587`, `udp 53` or `5432 to 10.20.0.0/16`.
pub fn outbound_rule(s: &str) -> Result<super::OutboundRule, String> {
    let bad = |why: &str| {
        format!(
            "{why}; write `[tcp|udp ]PORT[-PORT][ to CIDR]`, like `587`, `udp 53` or `5432 to 10.20.0.0/16`"
        )
    };
    let mut words = s.split_whitespace().peekable();
    let protocol = match words.peek() {
        Some(&w) if w == "tcp" || w == "udp" => {
            words.next();
            w.to_string()
        }
        _ => "tcp".to_string(),
    };
    let ports = words.next().ok_or_else(|| bad("no port"))?;
    let port = |p: &str| {
        p.parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| bad(&format!("`{p}` is not a port from 1 to 65535")))
    };
    let (from_port, to_port) = match ports.split_once('-') {
        Some((a, b)) => (port(a)?, port(b)?),
        None => (port(ports)?, port(ports)?),
    };
    if from_port > to_port {
        return Err(bad(&format!(
            "the range {from_port}-{to_port} runs backwards"
        )));
    }
    let cidr = match (words.next(), words.next(), words.next()) {
        (None, _, _) => "0.0.0.0/0".to_string(),
        (Some("to"), Some(cidr), None) => {
            let (ip, prefix) = cidr
                .split_once('/')
                .ok_or_else(|| bad(&format!("`{cidr}` is not a CIDR block like 10.20.0.0/16")))?;
            let ok = ip.parse::<std::net::Ipv4Addr>().is_ok()
                && prefix.parse::<u8>().is_ok_and(|p| p <= 32);
            if !ok {
                return Err(bad(&format!(
                    "`{cidr}` is not a CIDR block like 10.20.0.0/16"
                )));
            }
            cidr.to_string()
        }
        _ => return Err(bad("unexpected words after the port")),
    };
    Ok(super::OutboundRule {
        protocol,
        from_port,
        to_port,
        cidr,
    })
}

/// An image reference such as `org/name:tag` or `host/name@sha256:…`.
pub fn image_reference(s: &str) -> Result<(), String> {
    if !s.trim().is_empty() && !s.contains(char::is_whitespace) && !s.contains("://") {
        Ok(())
    } else {
        Err("write an image like `org/name:tag` or `registry.example.com/name@sha256:…`".into())
    }
}

/// A KMS key's full ARN (`arn:aws:kms:REGION:ACCOUNT:key/ID`), as IAM policies need it.
pub fn kms_key_arn(s: &str) -> Result<(), String> {
    if s.starts_with("arn:aws") && s.contains(":kms:") && s.contains(":key/") {
        Ok(())
    } else {
        Err("IAM grants decrypting by the key's ARN: write `arn:aws:kms:REGION:ACCOUNT:key/KEY-ID` (an alias or key id is not enough)".into())
    }
}

/// An EC2 instance type such as `t3.small`.
pub fn instance_type(s: &str) -> Result<(), String> {
    match s.split_once('.') {
        Some((family, size))
            if !family.is_empty()
                && !size.is_empty()
                && family
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && size
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) =>
        {
            Ok(())
        }
        _ => Err("an instance type looks like `t3.small`".into()),
    }
}

/// An environment variable name.
pub fn env_var_name(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !s.as_bytes()[0].is_ascii_digit();
    if ok {
        Ok(())
    } else {
        Err("a variable name has letters, digits and `_`, and does not start with a digit".into())
    }
}

/// A Route53 hosted zone id such as `Z0123456789ABCDEFGHIJ`.
pub fn hosted_zone_id(s: &str) -> Result<(), String> {
    let s = s.strip_prefix("/hostedzone/").unwrap_or(s);
    if s.len() >= 2
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        Ok(())
    } else {
        Err("a hosted zone id looks like `Z0123456789ABCDEFGHIJ`".into())
    }
}

/// An ACM certificate ARN.
pub fn certificate_arn(s: &str) -> Result<(), String> {
    if s.starts_with("arn:aws") && s.contains(":acm:") && s.contains(":certificate/") {
        Ok(())
    } else {
        Err("an ACM certificate ARN looks like `arn:aws:acm:REGION:ACCOUNT:certificate/ID`".into())
    }
}

/// A webhook's url: `https://…` (or `http://` for a receiver on the same network).
/// Whether `s` is written as a secret reference (`ssm:`, `secretsmanager:`, an ARN) rather
/// than a value: then it is read as one, and reported as one when it is not well formed.
pub fn secret_reference_like(s: &str) -> bool {
    s.starts_with("ssm:") || s.starts_with("secretsmanager:") || s.starts_with("arn:")
}

pub fn webhook_url(s: &str) -> Result<(), String> {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && !r.contains(char::is_whitespace) => {
            Ok(())
        }
        _ => Err("a webhook url looks like `https://hooks.example.com/deploys`, or is a reference to a secret holding it (`secretsmanager:NAME`, `ssm:/PATH`, an ARN)".into()),
    }
}

/// An IAM role to assume: `arn:aws:iam::ACCOUNT:role/NAME`.
pub fn role_arn(s: &str) -> Result<(), String> {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5]
            .strip_prefix("role/")
            .is_some_and(|n| !n.is_empty());
    if ok {
        Ok(())
    } else {
        Err("an IAM role ARN looks like `arn:aws:iam::123456789012:role/deploy`".into())
    }
}

/// A profile name of the AWS config files.
pub fn profile(s: &str) -> Result<(), String> {
    if !s.is_empty() && !s.contains(char::is_whitespace) && !s.contains(['[', ']']) {
        Ok(())
    } else {
        Err("a profile is a name from ~/.aws/config, such as `production`".into())
    }
}

/// A registry and namespace such as `ghcr.io/org` or `127.0.0.1:5000/team`.
pub fn registry(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && !s.contains("://")
        && !s.contains(char::is_whitespace)
        && !s.contains(['@', '?', '#'])
        && !s.starts_with('/');
    if ok {
        Ok(())
    } else {
        Err("a registry looks like `ghcr.io/org` or `registry.example.com:5000/team`, without scheme".into())
    }
}

/// A registry host that pull credentials are for: `host[:port]`, or `docker.io`; never ECR,
/// whose images the execution role pulls.
pub fn registry_host(s: &str) -> Result<(), String> {
    use crate::model::image::{DOCKER_HUB, canonical_host, is_ecr};
    if s.contains(['/', '@']) || s.contains("://") || s.contains(char::is_whitespace) {
        return Err("name the registry host alone, like `ghcr.io`, `docker.io` or `registry.example.com:5000`".into());
    }
    if is_ecr(s) {
        return Err(
            "ECR images are pulled with the service's execution role: remove this entry".into(),
        );
    }
    if canonical_host(s) != DOCKER_HUB && !s.contains(['.', ':']) && s != "localhost" {
        return Err(
            "a registry host has a dot or a port, like `ghcr.io` or `registry.example.com:5000`"
                .into(),
        );
    }
    Ok(())
}

/// A Secrets Manager secret by full ARN (`arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME`)
/// or by name, as ECS accepts for pull credentials.
pub fn secrets_manager_secret(s: &str) -> Result<(), String> {
    let arn_ok =
        s.starts_with("arn:aws") && s.contains(":secretsmanager:") && s.contains(":secret:");
    let name_ok = !s.starts_with("arn:")
        && !s.is_empty()
        && s.len() <= 512
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_+=.@-".contains(&b));
    if arn_ok || name_ok {
        Ok(())
    } else {
        Err("write the Secrets Manager secret's ARN (`arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf`) or its name; it holds `{\"username\": …, \"password\": …}`".into())
    }
}

/// A database or user name RDS accepts on every engine: a letter, then letters, digits and
/// `_`, at most 16 characters.
pub fn database_identifier(s: &str) -> Result<(), String> {
    let ok = s.len() <= 16
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err("start with a letter, then letters, digits and `_`, at most 16 characters".into())
    }
}

/// A KMS key id, ARN or alias.
pub fn kms_key(s: &str) -> Result<(), String> {
    let ok = s.starts_with("arn:aws")
        || s.starts_with("alias/")
        || (s.len() == 36 && s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'));
    if ok {
        Ok(())
    } else {
        Err("a KMS key is a key id, a key ARN or `alias/NAME`".into())
    }
}

/// A URL path for health checks.
pub fn health_check_path(s: &str) -> Result<(), String> {
    if s.starts_with('/') && s.len() <= 1024 && !s.contains(char::is_whitespace) {
        Ok(())
    } else {
        Err("a health check is a path starting with `/`, like `/healthz`".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        assert!(dns_label("space-tweet", 28).is_ok());
        assert!(dns_label("Space", 28).is_err());
        assert!(dns_label("1st", 28).is_err());
        assert!(dns_label("a-", 28).is_err());
        assert!(dns_label("a_b", 28).is_err());
        assert!(dns_label("abcdef", 5).is_err());
        assert!(dns_label("", 5).is_err());
    }

    #[test]
    fn hostnames() {
        assert!(hostname("spacetweet.io").is_ok());
        assert!(hostname("api.spacetweet.io").is_ok());
        assert!(hostname("https://spacetweet.io").is_err());
        assert!(hostname("localhost").is_err());
        assert!(hostname("a..b").is_err());
        assert!(within_domain("api.spacetweet.io", "spacetweet.io"));
        assert!(within_domain("spacetweet.io", "spacetweet.io."));
        assert!(!within_domain("evilspacetweet.io", "spacetweet.io"));
    }

    #[test]
    fn regions_accounts_buckets() {
        assert!(region("us-east-1").is_ok());
        assert!(region("us-gov-west-1").is_ok());
        assert!(region("us-east").is_err());
        assert!(region("US-EAST-1").is_err());
        assert!(account_id("123456789012").is_ok());
        assert!(account_id("12345").is_err());
        assert!(bucket_name("my-state.bucket").is_ok());
        assert!(bucket_name("My_Bucket").is_err());
        assert!(bucket_name("ab").is_err());
    }

    #[test]
    fn cidrs_and_types() {
        assert!(vpc_cidr("10.0.0.0/16").is_ok());
        assert!(vpc_cidr("10.0.0.0/8").is_err());
        assert!(vpc_cidr("10.0.0/16").is_err());
        assert!(instance_type("t3.small").is_ok());
        assert!(instance_type("t3").is_err());
        assert!(env_var_name("DB_HOST").is_ok());
        assert!(env_var_name("1X").is_err());
        assert!(hosted_zone_id("Z123ABC").is_ok());
        assert!(hosted_zone_id("abc").is_err());
        assert!(hosted_zone_id("/hostedzone/KP2EN5EGPSBIOF5UXLUBLQ").is_ok());
        assert!(certificate_arn("arn:aws:acm:us-east-1:123456789012:certificate/abc").is_ok());
        assert!(health_check_path("/health").is_ok());
        assert!(health_check_path("health").is_err());
    }
}
