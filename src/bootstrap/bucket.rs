//! The Terraform state bucket: found or created in the environment's region, checked to be
//! ours, and hardened on every run (versioning, default encryption, public access block,
//! BucketOwnerEnforced, tags, and a TLS-only policy applied last). Each setting is read first
//! and written only when it differs, so a second run changes nothing and says so.

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::operation::head_bucket::HeadBucketError;
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, ObjectOwnership,
    OwnershipControls, OwnershipControlsRule, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Tag, Tagging, VersioningConfiguration,
};
use serde_json::{Value, json};

use super::error::{BootstrapError, Result};
use crate::adapters::aws::{Aws, partition};
use crate::adapters::aws::{AwsError, classify};
use crate::model::tags;

/// The id of our statement in the bucket policy.
pub const TLS_ONLY_SID: &str = "ExoDeployDenyInsecureTransport";

/// What the state bucket must look like.
#[derive(Debug, Clone)]
pub struct BucketSpec {
    pub name: String,
    pub region: String,
    pub app: String,
    pub env: String,
    /// A KMS key for default encryption; SSE-S3 when `None`.
    pub kms_key: Option<String>,
}

/// What a run did to the bucket.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct BucketOutcome {
    pub name: String,
    pub created: bool,
    /// Settings that had to be written.
    pub changed: Vec<&'static str>,
    /// Settings that were already right.
    pub unchanged: Vec<&'static str>,
}

impl BucketOutcome {
    fn record(&mut self, setting: &'static str, changed: bool) {
        if changed {
            self.changed.push(setting)
        } else {
            self.unchanged.push(setting)
        }
    }
}

/// Makes sure the state bucket exists, is ours, and is hardened.
pub async fn ensure(aws: &Aws, spec: &BucketSpec, account: &str) -> Result<BucketOutcome> {
    let name = spec.name.as_str();
    let mut out = BucketOutcome {
        name: name.to_string(),
        ..Default::default()
    };
    match aws
        .s3
        .head_bucket()
        .bucket(name)
        .expected_bucket_owner(account)
        .send()
        .await
    {
        Ok(head) => {
            if !owned_by_caller(aws, name).await? {
                return Err(BootstrapError::BucketOwnedByOther {
                    bucket: name.into(),
                });
            }
            if let Some(region) = head.bucket_region()
                && region != spec.region
            {
                return Err(BootstrapError::BucketInOtherRegion {
                    bucket: name.into(),
                    expected: spec.region.clone(),
                    actual: region.into(),
                });
            }
        }
        Err(e) => match e.as_service_error() {
            Some(HeadBucketError::NotFound(_)) => {
                create(aws, spec).await?;
                out.created = true;
            }
            _ if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {
                create(aws, spec).await?;
                out.created = true;
            }
            _ if e.raw_response().is_some_and(|r| r.status().as_u16() == 403) => {
                return Err(BootstrapError::BucketOwnedByOther {
                    bucket: name.into(),
                });
            }
            _ if e.raw_response().is_some_and(|r| r.status().as_u16() == 301) => {
                let actual = e
                    .raw_response()
                    .and_then(|r| r.headers().get("x-amz-bucket-region"))
                    .unwrap_or("another region")
                    .to_string();
                return Err(BootstrapError::BucketInOtherRegion {
                    bucket: name.into(),
                    expected: spec.region.clone(),
                    actual,
                });
            }
            _ => return Err(classify("s3:HeadBucket", name, e).into()),
        },
    }
    out.record("versioning", versioning(aws, name).await?);
    out.record(
        "default encryption",
        encryption(aws, name, spec.kms_key.as_deref()).await?,
    );
    out.record("public access block", public_access_block(aws, name).await?);
    out.record("object ownership", ownership(aws, name).await?);
    out.record("tags", tagging(aws, spec).await?);
    // Last: once it is in place, plain-HTTP calls to the bucket are refused.
    out.record("TLS-only policy", tls_only_policy(aws, spec).await?);
    Ok(out)
}

async fn owned_by_caller(aws: &Aws, name: &str) -> Result<bool> {
    let mut token = None;
    loop {
        let page = aws
            .s3
            .list_buckets()
            .prefix(name)
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|e| classify("s3:ListAllMyBuckets", "the account's buckets", e))?;
        if page.buckets().iter().any(|b| b.name() == Some(name)) {
            return Ok(true);
        }
        match page.continuation_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(false),
        }
    }
}

async fn create(aws: &Aws, spec: &BucketSpec) -> Result<()> {
    let mut req = aws
        .s3
        .create_bucket()
        .bucket(&spec.name)
        .object_ownership(ObjectOwnership::BucketOwnerEnforced);
    // us-east-1 is the default location, and S3 rejects it as an explicit constraint.
    if spec.region != "us-east-1" {
        req = req.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(spec.region.as_str()))
                .build(),
        );
    }
    match req.send().await {
        Ok(_) => Ok(()),
        Err(e) => match e.as_service_error() {
            Some(err) if err.is_bucket_already_owned_by_you() => Ok(()),
            Some(err) if err.is_bucket_already_exists() => {
                Err(BootstrapError::BucketOwnedByOther {
                    bucket: spec.name.clone(),
                })
            }
            _ => Err(classify("s3:CreateBucket", &spec.name, e).into()),
        },
    }
}

async fn versioning(aws: &Aws, name: &str) -> Result<bool> {
    let enabled = match aws.s3.get_bucket_versioning().bucket(name).send().await {
        Ok(now) => now.status() == Some(&BucketVersioningStatus::Enabled),
        // moto answers with a non-standard root element the SDK refuses to read; its body still
        // says whether versioning is on. Anything else unreadable counts as "not known to be
        // on", and writing the setting again is harmless.
        Err(e) if e.raw_response().is_some_and(|r| r.status().is_success()) => e
            .raw_response()
            .and_then(|r| r.body().bytes())
            .is_some_and(|b| String::from_utf8_lossy(b).contains("<Status>Enabled</Status>")),
        Err(e) => return Err(classify("s3:GetBucketVersioning", name, e).into()),
    };
    if enabled {
        return Ok(false);
    }
    aws.s3
        .put_bucket_versioning()
        .bucket(name)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .map_err(|e| classify("s3:PutBucketVersioning", name, e))?;
    Ok(true)
}

async fn encryption(aws: &Aws, name: &str, kms_key: Option<&str>) -> Result<bool> {
    let want = if kms_key.is_some() {
        ServerSideEncryption::AwsKms
    } else {
        ServerSideEncryption::Aes256
    };
    let now = aws.s3.get_bucket_encryption().bucket(name).send().await;
    let current = match now {
        Ok(out) => out
            .server_side_encryption_configuration()
            .and_then(|c| c.rules().first())
            .and_then(|r| r.apply_server_side_encryption_by_default())
            .map(|d| {
                (
                    d.sse_algorithm().clone(),
                    d.kms_master_key_id().map(str::to_string),
                )
            }),
        Err(e) if e.code() == Some("ServerSideEncryptionConfigurationNotFoundError") => None,
        Err(e) => return Err(classify("s3:GetEncryptionConfiguration", name, e).into()),
    };
    if current == Some((want.clone(), kms_key.map(str::to_string))) {
        return Ok(false);
    }
    let default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(want)
        .set_kms_master_key_id(kms_key.map(str::to_string))
        .build()
        .map_err(|e| bug("encryption", e))?;
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(default)
        .bucket_key_enabled(kms_key.is_some())
        .build();
    let config = ServerSideEncryptionConfiguration::builder()
        .rules(rule)
        .build()
        .map_err(|e| bug("encryption", e))?;
    aws.s3
        .put_bucket_encryption()
        .bucket(name)
        .server_side_encryption_configuration(config)
        .send()
        .await
        .map_err(|e| classify("s3:PutEncryptionConfiguration", name, e))?;
    Ok(true)
}

async fn public_access_block(aws: &Aws, name: &str) -> Result<bool> {
    let now = aws.s3.get_public_access_block().bucket(name).send().await;
    let all_on = match now {
        Ok(out) => out.public_access_block_configuration().is_some_and(|c| {
            c.block_public_acls() == Some(true)
                && c.ignore_public_acls() == Some(true)
                && c.block_public_policy() == Some(true)
                && c.restrict_public_buckets() == Some(true)
        }),
        Err(e) if e.code() == Some("NoSuchPublicAccessBlockConfiguration") => false,
        Err(e) => return Err(classify("s3:GetBucketPublicAccessBlock", name, e).into()),
    };
    if all_on {
        return Ok(false);
    }
    let config = PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    aws.s3
        .put_public_access_block()
        .bucket(name)
        .public_access_block_configuration(config)
        .send()
        .await
        .map_err(|e| classify("s3:PutBucketPublicAccessBlock", name, e))?;
    Ok(true)
}

async fn ownership(aws: &Aws, name: &str) -> Result<bool> {
    let now = aws
        .s3
        .get_bucket_ownership_controls()
        .bucket(name)
        .send()
        .await;
    let enforced = match now {
        Ok(out) => out.ownership_controls().is_some_and(|c| {
            c.rules()
                .iter()
                .any(|r| r.object_ownership() == &ObjectOwnership::BucketOwnerEnforced)
        }),
        Err(e) if e.code() == Some("OwnershipControlsNotFoundError") => false,
        Err(e) => return Err(classify("s3:GetBucketOwnershipControls", name, e).into()),
    };
    if enforced {
        return Ok(false);
    }
    let rule = OwnershipControlsRule::builder()
        .object_ownership(ObjectOwnership::BucketOwnerEnforced)
        .build()
        .map_err(|e| bug("ownership", e))?;
    let controls = OwnershipControls::builder()
        .rules(rule)
        .build()
        .map_err(|e| bug("ownership", e))?;
    aws.s3
        .put_bucket_ownership_controls()
        .bucket(name)
        .ownership_controls(controls)
        .send()
        .await
        .map_err(|e| classify("s3:PutBucketOwnershipControls", name, e))?;
    Ok(true)
}

/// Adds our tags, keeping any others the bucket has.
async fn tagging(aws: &Aws, spec: &BucketSpec) -> Result<bool> {
    let name = spec.name.as_str();
    let now = aws.s3.get_bucket_tagging().bucket(name).send().await;
    let mut current: std::collections::BTreeMap<String, String> = match now {
        Ok(out) => out
            .tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect(),
        Err(e) if e.code() == Some("NoSuchTagSet") || e.code() == Some("NoSuchTagSetError") => {
            Default::default()
        }
        Err(e) => return Err(classify("s3:GetBucketTagging", name, e).into()),
    };
    let want = tags::managed(&spec.app, &spec.env);
    if want.iter().all(|(k, v)| current.get(k) == Some(v)) {
        return Ok(false);
    }
    current.extend(want);
    let tag_set = current
        .into_iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| bug("tags", e))
        })
        .collect::<Result<Vec<_>>>()?;
    let tagging = Tagging::builder()
        .set_tag_set(Some(tag_set))
        .build()
        .map_err(|e| bug("tags", e))?;
    aws.s3
        .put_bucket_tagging()
        .bucket(name)
        .tagging(tagging)
        .send()
        .await
        .map_err(|e| classify("s3:PutBucketTagging", name, e))?;
    Ok(true)
}

/// The statement that refuses any request made without TLS.
pub fn tls_only_statement(bucket: &str, region: &str) -> Value {
    let arn = format!("arn:{}:s3:::{bucket}", partition(region));
    json!({
        "Sid": TLS_ONLY_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn.clone(), format!("{arn}/*")],
        "Condition": { "Bool": { "aws:SecureTransport": "false" } }
    })
}

/// Puts our TLS-only statement into the bucket policy, keeping any other statements.
async fn tls_only_policy(aws: &Aws, spec: &BucketSpec) -> Result<bool> {
    let name = spec.name.as_str();
    let now = aws.s3.get_bucket_policy().bucket(name).send().await;
    let mut policy: Value = match now {
        Ok(out) => serde_json::from_str(out.policy().unwrap_or("{}")).unwrap_or_else(|_| json!({})),
        Err(e) if e.code() == Some("NoSuchBucketPolicy") => json!({}),
        Err(e) => return Err(classify("s3:GetBucketPolicy", name, e).into()),
    };
    let want = tls_only_statement(name, &spec.region);
    let statements = policy
        .get("Statement")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if statements.iter().any(|s| same_statement(s, &want)) {
        return Ok(false);
    }
    let mut kept: Vec<Value> = statements
        .into_iter()
        .filter(|s| s.get("Sid") != Some(&json!(TLS_ONLY_SID)))
        .collect();
    kept.push(want);
    policy["Version"] = json!("2012-10-17");
    policy["Statement"] = Value::Array(kept);
    aws.s3
        .put_bucket_policy()
        .bucket(name)
        .policy(policy.to_string())
        .send()
        .await
        .map_err(|e| classify("s3:PutBucketPolicy", name, e))?;
    Ok(true)
}

/// Compares statements the way S3 returns them (a lone resource may come back as a string).
fn same_statement(have: &Value, want: &Value) -> bool {
    let norm = |v: &Value| {
        let mut v = v.clone();
        if let Some(r) = v.get_mut("Resource")
            && let Some(arr) = r.as_array()
        {
            let mut arr = arr.clone();
            arr.sort_by_key(|x| x.to_string());
            *r = Value::Array(arr);
        }
        v
    };
    norm(have) == norm(want)
}

fn bug(what: &str, e: impl std::fmt::Display) -> BootstrapError {
    AwsError::Api {
        operation: "building a request",
        target: what.to_string(),
        message: format!("{e}; this is a bug in exo-deploy"),
    }
    .into()
}

/// Deletes every object version and delete marker, then the bucket; only when exo-deploy
/// created it for this app and environment. A bucket that does not exist is reported as such.
pub async fn delete(aws: &Aws, name: &str, app: &str, env: &str) -> Result<super::zone::Removal> {
    use aws_sdk_s3::types::{Delete, ObjectIdentifier};
    let removal = |deleted, note: &str| super::zone::Removal {
        what: format!("state bucket {name}"),
        deleted,
        note: note.to_string(),
    };
    let tags = match aws.s3.get_bucket_tagging().bucket(name).send().await {
        Ok(out) => out.tag_set().to_vec(),
        Err(e)
            if e.code() == Some("NoSuchBucket")
                || e.raw_response().is_some_and(|r| r.status().as_u16() == 404) =>
        {
            return Ok(removal(false, "not found: nothing to delete"));
        }
        Err(e) if e.code() == Some("NoSuchTagSet") || e.code() == Some("NoSuchTagSetError") => {
            Vec::new()
        }
        Err(e) => return Err(classify("s3:GetBucketTagging", name, e).into()),
    };
    if !tags::is_managed_for(tags.iter().map(|t| (t.key(), t.value())), app, env) {
        return Ok(removal(
            false,
            "left alone: not created by exo-deploy for this app and environment",
        ));
    }
    drop_tls_only_statement(aws, name).await?;
    let mut count = 0usize;
    loop {
        let page = aws
            .s3
            .list_object_versions()
            .bucket(name)
            .max_keys(1000)
            .send()
            .await
            .map_err(|e| classify("s3:ListBucketVersions", name, e))?;
        let ids: Vec<ObjectIdentifier> = page
            .versions()
            .iter()
            .map(|v| (v.key(), v.version_id()))
            .chain(
                page.delete_markers()
                    .iter()
                    .map(|m| (m.key(), m.version_id())),
            )
            .filter_map(|(k, v)| {
                ObjectIdentifier::builder()
                    .set_key(k.map(str::to_string))
                    .set_version_id(v.map(str::to_string))
                    .build()
                    .ok()
            })
            .collect();
        if ids.is_empty() {
            break;
        }
        count += ids.len();
        let delete = Delete::builder()
            .set_objects(Some(ids))
            .quiet(true)
            .build()
            .map_err(|e| bug("delete", e))?;
        let deleted = aws
            .s3
            .delete_objects()
            .bucket(name)
            .delete(delete)
            .send()
            .await
            .map_err(|e| classify("s3:DeleteObjectVersion", name, e))?;
        if let Some(failed) = deleted.errors().first() {
            return Err(AwsError::Api {
                operation: "s3:DeleteObjectVersion",
                target: format!("s3://{name}/{}", failed.key().unwrap_or("")),
                message: failed.message().unwrap_or("not deleted").to_string(),
            }
            .into());
        }
    }
    aws.s3
        .delete_bucket()
        .bucket(name)
        .send()
        .await
        .map_err(|e| classify("s3:DeleteBucket", name, e))?;
    Ok(removal(
        true,
        &format!("deleted with {count} object versions"),
    ))
}

/// Removes our TLS-only statement just before the bucket is emptied and deleted (other
/// statements stay). Some S3 emulators apply a Deny statement whatever its condition, which
/// would refuse the deletes; on AWS the bucket is gone moments later either way.
async fn drop_tls_only_statement(aws: &Aws, name: &str) -> Result<()> {
    let policy: Value = match aws.s3.get_bucket_policy().bucket(name).send().await {
        Ok(out) => serde_json::from_str(out.policy().unwrap_or("{}")).unwrap_or_else(|_| json!({})),
        Err(e) if e.code() == Some("NoSuchBucketPolicy") => return Ok(()),
        Err(e) => return Err(classify("s3:GetBucketPolicy", name, e).into()),
    };
    let statements = policy
        .get("Statement")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let others: Vec<Value> = statements
        .iter()
        .filter(|s| s.get("Sid") != Some(&json!(TLS_ONLY_SID)))
        .cloned()
        .collect();
    if others.len() == statements.len() {
        return Ok(());
    }
    if others.is_empty() {
        aws.s3
            .delete_bucket_policy()
            .bucket(name)
            .send()
            .await
            .map_err(|e| classify("s3:DeleteBucketPolicy", name, e))?;
    } else {
        let mut policy = policy;
        policy["Statement"] = Value::Array(others);
        aws.s3
            .put_bucket_policy()
            .bucket(name)
            .policy(policy.to_string())
            .send()
            .await
            .map_err(|e| classify("s3:PutBucketPolicy", name, e))?;
    }
    Ok(())
}

/// The Terraform state object, or `None` when there is none (nor a bucket yet).
async fn read_state(aws: &Aws, bucket: &str, key: &str) -> Result<Option<Vec<u8>>> {
    let missing_bucket = |code: Option<&str>, status: Option<u16>| {
        code == Some("NoSuchBucket") || status == Some(404)
    };
    let listed = match aws
        .s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(key)
        .max_keys(1)
        .send()
        .await
    {
        Ok(l) => l,
        Err(e) if missing_bucket(e.code(), e.raw_response().map(|r| r.status().as_u16())) => {
            return Ok(None);
        }
        Err(e) => return Err(classify("s3:ListBucket", bucket, e).into()),
    };
    if !listed.contents().iter().any(|o| o.key() == Some(key)) {
        return Ok(None);
    }
    let object = match aws.s3.get_object().bucket(bucket).key(key).send().await {
        Ok(o) => o,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
        Err(e) if missing_bucket(e.code(), e.raw_response().map(|r| r.status().as_u16())) => {
            return Ok(None);
        }
        Err(e) => return Err(classify("s3:GetObject", &format!("s3://{bucket}/{key}"), e).into()),
    };
    let bytes = object
        .body
        .collect()
        .await
        .map_err(|e| AwsError::Api {
            operation: "s3:GetObject",
            target: key.into(),
            message: e.to_string(),
        })?
        .into_bytes();
    Ok(Some(bytes.to_vec()))
}

/// What a teardown needs to know of a Terraform state before it destroys anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateSummary {
    /// The managed resources it records ([`count_resources`]; 0 without a state).
    pub resources: usize,
    /// The identifiers of the databases it records with deletion protection on, as last
    /// applied ([`protected_databases`]).
    pub protected_databases: Vec<String>,
}

/// What the Terraform state at `key` records (nothing without a state).
pub async fn state_summary(aws: &Aws, bucket: &str, key: &str) -> Result<StateSummary> {
    Ok(read_state(aws, bucket, key)
        .await?
        .map(|s| StateSummary {
            resources: count_resources(&s),
            protected_databases: protected_databases(&s),
        })
        .unwrap_or_default())
}

/// The DNS names of the Route53 records the Terraform state at `key` holds: the records
/// exo-deploy created (none without a state).
pub async fn state_records(aws: &Aws, bucket: &str, key: &str) -> Result<Vec<String>> {
    Ok(read_state(aws, bucket, key)
        .await?
        .map(|s| record_names(&s))
        .unwrap_or_default())
}

/// The names of the `aws_route53_record` resources in a state file (v4), lowercase, without
/// the final dot.
pub fn record_names(state: &[u8]) -> Vec<String> {
    let mut names: Vec<String> = attributes_of(state, "aws_route53_record")
        .iter()
        .filter_map(|a| {
            a["fqdn"]
                .as_str()
                .or(a["name"].as_str())
                .map(|n| n.trim_end_matches('.').to_ascii_lowercase())
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The identifiers of the `aws_db_instance` resources a state file (v4) records with
/// `deletion_protection` on: AWS refuses to delete them, so a destroy would stop half-way
/// whatever the config says now.
pub fn protected_databases(state: &[u8]) -> Vec<String> {
    let mut ids: Vec<String> = attributes_of(state, "aws_db_instance")
        .iter()
        .filter(|a| a["deletion_protection"] == Value::Bool(true))
        .filter_map(|a| a["identifier"].as_str().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

/// The attributes of every instance of the managed resources of type `kind` in a state file
/// (v4); none when it cannot be read.
fn attributes_of(state: &[u8], kind: &str) -> Vec<Value> {
    let Ok(state) = serde_json::from_slice::<Value>(state) else {
        return Vec::new();
    };
    state["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["mode"] == "managed" && r["type"] == kind)
        .flat_map(|r| r["instances"].as_array().cloned().unwrap_or_default())
        .map(|i| i["attributes"].clone())
        .collect()
}

/// Managed resources with at least one instance in a Terraform state file (v4 format).
pub fn count_resources(state: &[u8]) -> usize {
    let Ok(state) = serde_json::from_slice::<Value>(state) else {
        // unreadable state: assume there is something, so nothing is deleted under it
        return usize::MAX;
    };
    state["resources"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .filter(|r| {
                    r["mode"] == "managed"
                        && r["instances"].as_array().is_some_and(|i| !i.is_empty())
                })
                .count()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_statement_covers_bucket_and_objects_in_the_right_partition() {
        let s = tls_only_statement("b", "cn-north-1");
        assert_eq!(s["Resource"][0], "arn:aws-cn:s3:::b");
        assert_eq!(s["Resource"][1], "arn:aws-cn:s3:::b/*");
        assert_eq!(s["Condition"]["Bool"]["aws:SecureTransport"], "false");
        let reordered = json!({"Sid": TLS_ONLY_SID, "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": ["arn:aws-cn:s3:::b/*", "arn:aws-cn:s3:::b"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}});
        assert!(same_statement(&reordered, &s));
    }

    #[test]
    fn the_records_a_state_holds_are_read_by_their_names() {
        let state = br#"{"resources":[
            {"mode":"managed","type":"aws_route53_record","name":"this","module":"module.service_web",
             "instances":[{"attributes":{"name":"Hello.example.com","fqdn":"hello.example.com."}}]},
            {"mode":"managed","type":"aws_vpc","name":"this","instances":[{"attributes":{"name":"x"}}]}]}"#;
        assert_eq!(record_names(state), ["hello.example.com"]);
        assert!(record_names(b"not json").is_empty());
    }

    #[test]
    fn the_databases_a_state_records_with_deletion_protection_are_named() {
        let state = br#"{"version":4,"resources":[
            {"mode":"managed","type":"aws_db_instance","name":"this","module":"module.database_postgres",
             "instances":[{"attributes":{"identifier":"bookshop-production-postgres","deletion_protection":true}}]},
            {"mode":"managed","type":"aws_db_instance","name":"this","module":"module.database_cache",
             "instances":[{"attributes":{"identifier":"bookshop-production-cache","deletion_protection":false}}]},
            {"mode":"managed","type":"aws_vpc","name":"this","instances":[{"attributes":{"deletion_protection":true}}]}]}"#;
        assert_eq!(protected_databases(state), ["bookshop-production-postgres"]);
        assert!(protected_databases(b"not json").is_empty());
    }

    #[test]
    fn only_managed_resources_with_instances_count() {
        let state = br#"{"resources":[
            {"mode":"managed","type":"aws_vpc","name":"a","instances":[{}]},
            {"mode":"managed","type":"aws_vpc","name":"b","instances":[]},
            {"mode":"data","type":"aws_region","name":"c","instances":[{}]}]}"#;
        assert_eq!(count_resources(state), 1);
        assert_eq!(count_resources(br#"{"version":4,"resources":[]}"#), 0);
        assert_eq!(
            count_resources(b"not json"),
            usize::MAX,
            "an unreadable state protects everything"
        );
    }
}
