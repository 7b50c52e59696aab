//! EC2's `DescribeInstanceTypes`, for an instance type newer than exo-deploy's offline table
//! (`model/instance_types.tsv`). One query-protocol call, signed with SigV4 by the SDK's own
//! signer and sent with the HTTP client exo-deploy already has: the whole EC2 SDK (one of the
//! largest crates there is) is not worth one call.

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;

use super::aws::{AwsError, Result};
use crate::model::instance_types::{Arch, InstanceType};

/// EC2's query API version.
const VERSION: &str = "2016-11-15";

/// What EC2 says of the instance type `name` in `conf`'s region: `None` when EC2 does not know
/// it (`InvalidInstanceType`).
pub async fn describe_instance_type(
    conf: &aws_config::SdkConfig,
    region: &str,
    name: &str,
) -> Result<Option<InstanceType>> {
    const OPERATION: &str = "ec2:DescribeInstanceTypes";
    let endpoint = conf
        .endpoint_url()
        .map(|u| format!("{}/", u.trim_end_matches('/')))
        .unwrap_or_else(|| {
            // the China partition has its own domain
            let domain = if region.starts_with("cn-") {
                "amazonaws.com.cn"
            } else {
                "amazonaws.com"
            };
            format!("https://ec2.{region}.{domain}/")
        });
    let body = format!(
        "Action=DescribeInstanceTypes&Version={VERSION}&InstanceType.1={}",
        name.replace(
            |c: char| !c.is_ascii_alphanumeric() && c != '.' && c != '-',
            ""
        )
    );
    let provider = conf.credentials_provider().ok_or(AwsError::NoCredentials)?;
    let creds = provider
        .provide_credentials()
        .await
        .map_err(|_| AwsError::NoCredentials)?;
    let identity = creds.into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("ec2")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| api(name, e.to_string()))?
        .into();
    let content_type = "application/x-www-form-urlencoded; charset=utf-8";
    let headers = [("content-type", content_type)];
    let signable = SignableRequest::new(
        "POST",
        &endpoint,
        headers.iter().copied(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .map_err(|e| api(name, e.to_string()))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| api(name, e.to_string()))?
        .into_parts();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| api(name, e.to_string()))?;
    let mut request = client
        .post(&endpoint)
        .header("content-type", content_type)
        .body(body);
    for (header, value) in instructions.headers() {
        request = request.header(header, value);
    }
    let answer = request.send().await.map_err(|e| AwsError::Unreachable {
        operation: OPERATION,
        detail: super::aws::innermost(&e),
    })?;
    let status = answer.status();
    let text = answer.text().await.map_err(|e| AwsError::Unreachable {
        operation: OPERATION,
        detail: super::aws::innermost(&e),
    })?;
    if !status.is_success() {
        let code = between(&text, "<Code>", "</Code>").unwrap_or_default();
        return match code {
            "InvalidInstanceType" => Ok(None),
            "AuthFailure" | "UnauthorizedOperation" | "AccessDenied" => {
                Err(AwsError::AccessDenied {
                    operation: OPERATION,
                    target: name.into(),
                })
            }
            "RequestExpired" => Err(AwsError::CredentialsExpired),
            "RequestLimitExceeded" | "Throttling" => Err(AwsError::Throttled {
                operation: OPERATION,
                target: name.into(),
            }),
            _ => Err(api(
                name,
                between(&text, "<Message>", "</Message>")
                    .map_or_else(|| format!("HTTP {status}"), str::to_string),
            )),
        };
    }
    Ok(parse(&text, name))
}

fn api(name: &str, message: String) -> AwsError {
    AwsError::Api {
        operation: "ec2:DescribeInstanceTypes",
        target: name.into(),
        message,
    }
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let end = text[start..].find(close)? + start;
    Some(text[start..end].trim())
}

/// The instance type `name` in a `DescribeInstanceTypes` answer, when it lists it.
fn parse(xml: &str, name: &str) -> Option<InstanceType> {
    let doc = roxmltree::Document::parse(xml).ok()?;
    let item = doc.descendants().find(|n| {
        n.has_tag_name("item")
            && n.children()
                .any(|c| c.has_tag_name("instanceType") && c.text() == Some(name))
    })?;
    let number = |path: &[&str]| -> Option<u32> {
        let mut node = item;
        for step in path {
            node = node.children().find(|c| c.has_tag_name(*step))?;
        }
        node.text()?.trim().parse().ok()
    };
    let archs: Vec<&str> = item
        .descendants()
        .filter(|n| n.has_tag_name("supportedArchitectures"))
        .flat_map(|n| n.children().filter_map(|c| c.text()))
        .collect();
    let arch = if archs.contains(&"x86_64") {
        Arch::X86_64
    } else if archs.contains(&"arm64") {
        Arch::Arm64
    } else {
        return None;
    };
    Some(InstanceType {
        interfaces: number(&["networkInfo", "maximumNetworkInterfaces"])?,
        vcpus: number(&["vCpuInfo", "defaultVCpus"])?,
        memory_mib: number(&["memoryInfo", "sizeInMiB"])?,
        arch,
        // not in the answer: counted without trunking rather than guessed
        trunk_tasks: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_gives_interfaces_vcpus_memory_and_architecture() {
        let xml = r#"<DescribeInstanceTypesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <instanceTypeSet><item>
    <instanceType>z9g.large</instanceType>
    <vCpuInfo><defaultVCpus>2</defaultVCpus></vCpuInfo>
    <memoryInfo><sizeInMiB>16384</sizeInMiB></memoryInfo>
    <networkInfo><maximumNetworkInterfaces>3</maximumNetworkInterfaces></networkInfo>
    <processorInfo><supportedArchitectures><item>arm64</item></supportedArchitectures></processorInfo>
  </item></instanceTypeSet></DescribeInstanceTypesResponse>"#;
        let it = parse(xml, "z9g.large").expect("listed");
        assert_eq!(
            (
                it.interfaces,
                it.vcpus,
                it.memory_mib,
                it.arch,
                it.trunk_tasks
            ),
            (3, 2, 16384, Arch::Arm64, None)
        );
        assert_eq!(parse(xml, "z9g.xlarge"), None);
    }
}
