//! The app's public hosted zone: looked up by name (all pages), created only when there is
//! none, refused when there are several; its name servers are reported on every run. A zone
//! below another zone of the account (`staging.example.com` under `example.com`) is delegated
//! there. Deleted by `--nuke` only when exo-deploy created it for this app and environment,
//! with its delegation. Preflight lists the records already at the services' urls.

use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, HostedZoneConfig, ResourceRecord, ResourceRecordSet, RrType,
    Tag, TagResourceType,
};

use super::error::{BootstrapError, Result};
use crate::adapters::aws::Aws;
use crate::adapters::aws::{AwsError, classify};
use crate::model::tags;

/// What the zone must be.
#[derive(Debug, Clone)]
pub struct ZoneSpec {
    pub domain: String,
    pub configured_id: Option<String>,
    pub app: String,
    pub env: String,
}

/// The zone a run found or created.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ZoneOutcome {
    pub id: String,
    pub domain: String,
    pub created: bool,
    pub name_servers: Vec<String>,
    /// How the domain is delegated to the zone.
    pub delegation: Delegation,
}

/// The NS records that send a domain's queries to its zone, in its parent zone.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Delegation {
    /// The parent zone is in this account and delegates to the zone; `created` when this run
    /// added the NS records.
    InParent {
        parent: String,
        zone_id: String,
        created: bool,
    },
    /// The parent zone is in this account but its NS records for the domain name other name
    /// servers: exo-deploy never overwrites records it did not create.
    Conflicting {
        parent: String,
        zone_id: String,
        name_servers: Vec<String>,
    },
    /// The parent zone holds records at or below the domain that the delegation would hide:
    /// they are left alone, and the delegation is not added.
    Hidden {
        parent: String,
        zone_id: String,
        records: Vec<String>,
    },
    /// Several zones of the account have the parent's name: exo-deploy cannot tell which one
    /// the world sees.
    SeveralParents { parent: String },
    /// No parent zone in this account: the records must be added where the parent is served
    /// (its registrar, or another account or provider).
    Elsewhere,
}

/// One DNS record set, as listed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DnsRecord {
    /// Lowercase, without the final dot.
    pub name: String,
    pub kind: String,
    /// Its values, or the alias target.
    pub values: Vec<String>,
}

impl std::fmt::Display for DnsRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.name, self.kind, self.values.join(", "))
    }
}

fn record(r: &ResourceRecordSet) -> DnsRecord {
    let values = match r.alias_target() {
        Some(a) => vec![format!("alias {}", a.dns_name().trim_end_matches('.'))],
        None => r
            .resource_records()
            .iter()
            .map(|v| v.value().to_string())
            .collect(),
    };
    DnsRecord {
        name: r.name().trim_end_matches('.').to_ascii_lowercase(),
        kind: r.r#type().as_str().to_string(),
        values,
    }
}

/// One page of zone `id`'s record sets from `name` on: Route53 lists a name's own records,
/// then its subdomains', right after it.
async fn records_from(aws: &Aws, id: &str, name: &str) -> Result<Vec<DnsRecord>> {
    let page = aws
        .route53
        .list_resource_record_sets()
        .hosted_zone_id(id)
        .start_record_name(fqdn(name))
        .send()
        .await
        .map_err(|e| classify("route53:ListResourceRecordSets", id, e))?;
    Ok(page.resource_record_sets().iter().map(record).collect())
}

/// The record sets of zone `id` named exactly `name`.
async fn records_named(aws: &Aws, id: &str, name: &str) -> Result<Vec<DnsRecord>> {
    let want = name.trim_end_matches('.').to_ascii_lowercase();
    let mut found = records_from(aws, id, name).await?;
    found.retain(|r| r.name == want);
    Ok(found)
}

/// The zone of `domain` as a deploy would use it, without creating one: the configured id,
/// else the one zone of that name; `None` when there is none yet.
async fn existing(aws: &Aws, domain: &str, configured_id: Option<&str>) -> Result<Option<String>> {
    if let Some(id) = configured_id {
        return Ok(Some(id.to_string()));
    }
    let ids = find(aws, domain).await?;
    match ids.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        many => Err(BootstrapError::SeveralZones {
            domain: domain.to_string(),
            count: many.len(),
            ids: many.join(", "),
        }),
    }
}

/// The A, AAAA and CNAME records at each of `names` in the zone of `domain` (none when the
/// zone does not exist yet).
pub async fn records_at(
    aws: &Aws,
    domain: &str,
    configured_id: Option<&str>,
    names: &[String],
) -> Result<Vec<DnsRecord>> {
    let Some(id) = existing(aws, domain, configured_id).await? else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for name in names {
        found.extend(
            records_named(aws, &id, name)
                .await?
                .into_iter()
                .filter(|r| matches!(r.kind.as_str(), "A" | "AAAA" | "CNAME")),
        );
    }
    Ok(found)
}

/// The closest zone above `domain` in this account (`staging.example.com` → `example.com`).
enum Parent {
    One { name: String, zone_id: String },
    Several { name: String },
    None,
}

async fn parent_zone(aws: &Aws, domain: &str) -> Result<Parent> {
    let mut rest = domain.trim_end_matches('.');
    while let Some((_, parent)) = rest.split_once('.') {
        if !parent.contains('.') {
            // a top-level domain is never a zone of ours
            return Ok(Parent::None);
        }
        match find(aws, parent).await?.as_slice() {
            [] => rest = parent,
            [one] => {
                return Ok(Parent::One {
                    name: parent.to_string(),
                    zone_id: one.clone(),
                });
            }
            _ => {
                return Ok(Parent::Several {
                    name: parent.to_string(),
                });
            }
        }
    }
    Ok(Parent::None)
}

/// Records of zone `id` at or below `domain` other than NS and DS, which a delegation of
/// `domain` would hide.
async fn records_below(aws: &Aws, id: &str, domain: &str) -> Result<Vec<DnsRecord>> {
    let want = domain.trim_end_matches('.').to_ascii_lowercase();
    let below = format!(".{want}");
    let mut found = records_from(aws, id, domain).await?;
    found.retain(|r| {
        (r.name == want || r.name.ends_with(&below)) && !matches!(r.kind.as_str(), "NS" | "DS")
    });
    Ok(found)
}

fn change_batch(action: ChangeAction, set: ResourceRecordSet, target: &str) -> Result<ChangeBatch> {
    let error = |e: aws_sdk_route53::error::BuildError| AwsError::Api {
        operation: "route53:ChangeResourceRecordSets",
        target: target.into(),
        message: e.to_string(),
    };
    let change = Change::builder()
        .action(action)
        .resource_record_set(set)
        .build()
        .map_err(error)?;
    Ok(ChangeBatch::builder()
        .changes(change)
        .build()
        .map_err(error)?)
}

fn ns_set(domain: &str, name_servers: &[String]) -> Result<ResourceRecordSet> {
    let records = name_servers
        .iter()
        .map(|ns| ResourceRecord::builder().value(ns).build())
        .collect::<Result<Vec<_>, _>>()
        .and_then(|records| {
            ResourceRecordSet::builder()
                .name(fqdn(domain))
                .r#type(RrType::Ns)
                .ttl(172_800)
                .set_resource_records(Some(records))
                .build()
        });
    records.map_err(|e| {
        AwsError::Api {
            operation: "route53:ChangeResourceRecordSets",
            target: domain.into(),
            message: e.to_string(),
        }
        .into()
    })
}

fn same_servers(a: &[String], b: &[String]) -> bool {
    let norm = |v: &[String]| {
        let mut v: Vec<String> = v
            .iter()
            .map(|s| s.trim_end_matches('.').to_ascii_lowercase())
            .collect();
        v.sort();
        v
    };
    norm(a) == norm(b)
}

/// Delegates `domain` to `name_servers` in its parent zone when that zone is in this account
/// and has no other delegation for it.
async fn delegate(aws: &Aws, domain: &str, name_servers: &[String]) -> Result<Delegation> {
    let (parent, zone_id) = match parent_zone(aws, domain).await? {
        Parent::One { name, zone_id } => (name, zone_id),
        Parent::Several { name } => return Ok(Delegation::SeveralParents { parent: name }),
        Parent::None => return Ok(Delegation::Elsewhere),
    };
    let present = records_named(aws, &zone_id, domain)
        .await?
        .into_iter()
        .find(|r| r.kind == "NS");
    match present {
        Some(r) if same_servers(&r.values, name_servers) => Ok(Delegation::InParent {
            parent,
            zone_id,
            created: false,
        }),
        Some(r) => Ok(Delegation::Conflicting {
            parent,
            zone_id,
            name_servers: r.values,
        }),
        None => {
            let hidden = records_below(aws, &zone_id, domain).await?;
            if !hidden.is_empty() {
                return Ok(Delegation::Hidden {
                    parent,
                    zone_id,
                    records: hidden.iter().map(ToString::to_string).collect(),
                });
            }
            let batch = change_batch(
                ChangeAction::Create,
                ns_set(domain, name_servers)?,
                &zone_id,
            )?;
            aws.route53
                .change_resource_record_sets()
                .hosted_zone_id(&zone_id)
                .change_batch(batch)
                .send()
                .await
                .map_err(|e| classify("route53:ChangeResourceRecordSets", &zone_id, e))?;
            Ok(Delegation::InParent {
                parent,
                zone_id,
                created: true,
            })
        }
    }
}

/// Removes the delegation of `domain` from its parent zone in this account, when it names
/// exactly `name_servers` (the zone being deleted): records are not tagged, and these name
/// servers belong to that zone alone.
async fn undelegate(aws: &Aws, domain: &str, name_servers: &[String]) -> Result<Option<String>> {
    let Parent::One {
        name: parent,
        zone_id,
    } = parent_zone(aws, domain).await?
    else {
        return Ok(None);
    };
    let ours = records_named(aws, &zone_id, domain)
        .await?
        .into_iter()
        .any(|r| r.kind == "NS" && same_servers(&r.values, name_servers));
    if !ours {
        return Ok(None);
    }
    // DELETE needs the record set exactly as it is
    let page = aws
        .route53
        .list_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .start_record_name(fqdn(domain))
        .start_record_type(RrType::Ns)
        .max_items(1)
        .send()
        .await
        .map_err(|e| classify("route53:ListResourceRecordSets", &zone_id, e))?;
    let Some(set) = page.resource_record_sets().first().cloned() else {
        return Ok(None);
    };
    let batch = change_batch(ChangeAction::Delete, set, &zone_id)?;
    aws.route53
        .change_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .change_batch(batch)
        .send()
        .await
        .map_err(|e| classify("route53:ChangeResourceRecordSets", &zone_id, e))?;
    Ok(Some(parent))
}

fn fqdn(domain: &str) -> String {
    format!("{}.", domain.trim_end_matches('.'))
}

fn bare_id(id: &str) -> String {
    id.trim_start_matches("/hostedzone/").to_string()
}

/// Every public hosted zone named exactly `domain`.
pub async fn find(aws: &Aws, domain: &str) -> Result<Vec<String>> {
    let want = fqdn(domain);
    let mut ids = Vec::new();
    let (mut name, mut id): (Option<String>, Option<String>) = (Some(want.clone()), None);
    loop {
        let page = aws
            .route53
            .list_hosted_zones_by_name()
            .set_dns_name(name.clone())
            .set_hosted_zone_id(id.clone())
            .send()
            .await
            .map_err(|e| classify("route53:ListHostedZonesByName", domain, e))?;
        let mut past = false;
        for z in page.hosted_zones() {
            if z.name().eq_ignore_ascii_case(&want) {
                if !z.config().is_some_and(|c| c.private_zone()) {
                    ids.push(bare_id(z.id()));
                }
            } else {
                // zones come sorted by name: once past ours, there are no more
                past = true;
            }
        }
        if past || !page.is_truncated() {
            return Ok(ids);
        }
        name = page.next_dns_name().map(str::to_string);
        id = page.next_hosted_zone_id().map(str::to_string);
    }
}

/// Finds or creates the zone, and reads its name servers.
pub async fn ensure(aws: &Aws, spec: &ZoneSpec) -> Result<ZoneOutcome> {
    let (id, created) = match &spec.configured_id {
        Some(id) => {
            // only "no such zone" means the id is wrong: throttling or a denied call is
            // reported as what it is
            let zone = match aws.route53.get_hosted_zone().id(id).send().await {
                Ok(z) => Some(z),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_no_such_hosted_zone() || s.is_invalid_input()) =>
                {
                    None
                }
                Err(e) => return Err(classify("route53:GetHostedZone", id, e).into()),
            };
            let ok = zone
                .as_ref()
                .and_then(|z| z.hosted_zone())
                .is_some_and(|z| z.name().eq_ignore_ascii_case(&fqdn(&spec.domain)));
            if !ok {
                return Err(BootstrapError::ZoneMismatch {
                    id: id.clone(),
                    domain: spec.domain.clone(),
                });
            }
            (id.clone(), false)
        }
        None => {
            let ids = find(aws, &spec.domain).await?;
            match ids.as_slice() {
                [] => (create(aws, spec).await?, true),
                [one] => (one.clone(), false),
                many => {
                    return Err(BootstrapError::SeveralZones {
                        domain: spec.domain.clone(),
                        count: many.len(),
                        ids: many.join(", "),
                    });
                }
            }
        }
    };
    let zone = aws
        .route53
        .get_hosted_zone()
        .id(&id)
        .send()
        .await
        .map_err(|e| classify("route53:GetHostedZone", &id, e))?;
    let name_servers = zone
        .delegation_set()
        .map(|d| d.name_servers().to_vec())
        .unwrap_or_default();
    let delegation = delegate(aws, &spec.domain, &name_servers).await?;
    Ok(ZoneOutcome {
        id,
        domain: spec.domain.clone(),
        created,
        name_servers,
        delegation,
    })
}

async fn create(aws: &Aws, spec: &ZoneSpec) -> Result<String> {
    // Stable per app, environment and attempt: a retried request cannot make a second zone.
    // A reference used before (by a zone since deleted) moves on to the next attempt.
    for attempt in 1..=20 {
        let reference = format!("exo-deploy/{}/{}/{attempt}", spec.app, spec.env);
        let created = aws
            .route53
            .create_hosted_zone()
            .name(&spec.domain)
            .caller_reference(reference)
            .hosted_zone_config(
                HostedZoneConfig::builder()
                    .comment(format!(
                        "Managed by exo-deploy for {} ({})",
                        spec.app, spec.env
                    ))
                    .private_zone(false)
                    .build(),
            )
            .send()
            .await;
        match created {
            Ok(out) => {
                let id = out
                    .hosted_zone()
                    .map(|z| bare_id(z.id()))
                    .unwrap_or_default();
                let tags = tags::managed(&spec.app, &spec.env)
                    .into_iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect::<Vec<_>>();
                aws.route53
                    .change_tags_for_resource()
                    .resource_type(TagResourceType::Hostedzone)
                    .resource_id(&id)
                    .set_add_tags(Some(tags))
                    .send()
                    .await
                    .map_err(|e| classify("route53:ChangeTagsForResource", &id, e))?;
                return Ok(id);
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_hosted_zone_already_exists()) =>
            {
                continue;
            }
            Err(e) => return Err(classify("route53:CreateHostedZone", &spec.domain, e).into()),
        }
    }
    Err(AwsError::Api {
        operation: "route53:CreateHostedZone",
        target: spec.domain.clone(),
        message: "20 caller references are used up; delete old zones or set hosted-zone-id".into(),
    }
    .into())
}

/// What nuke did with a zone.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Removal {
    pub what: String,
    pub deleted: bool,
    pub note: String,
}

/// Deletes the zones named `domain` that exo-deploy created for this app/env, after their
/// records (except the apex SOA and NS, which go with the zone). Others are left alone.
pub async fn delete(aws: &Aws, domain: &str, app: &str, env: &str) -> Result<Vec<Removal>> {
    let mut out = Vec::new();
    for id in find(aws, domain).await? {
        let tags = aws
            .route53
            .list_tags_for_resource()
            .resource_type(TagResourceType::Hostedzone)
            .resource_id(&id)
            .send()
            .await
            .map_err(|e| classify("route53:ListTagsForResource", &id, e))?;
        let pairs = tags
            .resource_tag_set()
            .map(|s| s.tags())
            .unwrap_or_default();
        if !tags::is_managed_for(
            pairs
                .iter()
                .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or(""))),
            app,
            env,
        ) {
            out.push(Removal {
                what: format!("hosted zone {id} ({domain})"),
                deleted: false,
                note: "left alone: not created by exo-deploy for this app and environment".into(),
            });
            continue;
        }
        let name_servers = aws
            .route53
            .get_hosted_zone()
            .id(&id)
            .send()
            .await
            .map_err(|e| classify("route53:GetHostedZone", &id, e))?
            .delegation_set()
            .map(|d| d.name_servers().to_vec())
            .unwrap_or_default();
        // zones of a reusable delegation set share name servers: with another zone of this
        // name, the delegation may be serving it and stays
        let alone = find(aws, domain).await?.len() == 1;
        if alone && let Some(parent) = undelegate(aws, domain, &name_servers).await? {
            out.push(Removal {
                what: format!("NS records of {domain} in the zone of {parent}"),
                deleted: true,
                note: "the delegation exo-deploy added".into(),
            });
        }
        let records = delete_records(aws, &id, domain).await?;
        aws.route53
            .delete_hosted_zone()
            .id(&id)
            .send()
            .await
            .map_err(|e| classify("route53:DeleteHostedZone", &id, e))?;
        out.push(Removal {
            what: format!("hosted zone {id} ({domain})"),
            deleted: true,
            note: format!("deleted with {records} records"),
        });
    }
    Ok(out)
}

async fn delete_records(aws: &Aws, id: &str, domain: &str) -> Result<usize> {
    let apex = fqdn(domain);
    let mut doomed: Vec<ResourceRecordSet> = Vec::new();
    let (mut name, mut kind, mut ident) = (None, None, None);
    loop {
        let page = aws
            .route53
            .list_resource_record_sets()
            .hosted_zone_id(id)
            .set_start_record_name(name)
            .set_start_record_type(kind)
            .set_start_record_identifier(ident)
            .send()
            .await
            .map_err(|e| classify("route53:ListResourceRecordSets", id, e))?;
        for r in page.resource_record_sets() {
            let apex_soa_ns =
                r.name().eq_ignore_ascii_case(&apex) && matches!(r.r#type().as_str(), "SOA" | "NS");
            if !apex_soa_ns {
                doomed.push(r.clone());
            }
        }
        if !page.is_truncated() {
            break;
        }
        name = page.next_record_name().map(str::to_string);
        kind = page.next_record_type().cloned();
        ident = page.next_record_identifier().map(str::to_string);
    }
    for chunk in doomed.chunks(100) {
        let changes = chunk
            .iter()
            .map(|r| {
                Change::builder()
                    .action(ChangeAction::Delete)
                    .resource_record_set(r.clone())
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| AwsError::Api {
                operation: "route53:ChangeResourceRecordSets",
                target: id.into(),
                message: e.to_string(),
            })?;
        let batch = ChangeBatch::builder()
            .set_changes(Some(changes))
            .build()
            .map_err(|e| AwsError::Api {
                operation: "route53:ChangeResourceRecordSets",
                target: id.into(),
                message: e.to_string(),
            })?;
        aws.route53
            .change_resource_record_sets()
            .hosted_zone_id(id)
            .change_batch(batch)
            .send()
            .await
            .map_err(|e| classify("route53:ChangeResourceRecordSets", id, e))?;
    }
    Ok(doomed.len())
}
