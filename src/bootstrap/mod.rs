//! Stage 6: before Terraform runs, make sure the remote state bucket and the app's hosted zone
//! exist and are safe; and on `--nuke`, remove them and the image repositories, but only what
//! exo-deploy created for this app and environment (the executor runs each as its own step). The AWS side sits behind the narrow
//! [`Cloud`] trait; [`Aws`] (the AWS SDK adapter) is the real one.

pub mod bucket;
pub mod error;
pub mod objects;
pub mod repositories;
pub mod zone;

use std::future::Future;

pub use bucket::{BucketOutcome, BucketSpec, StateSummary};
pub use error::{BootstrapError, Result};
pub use zone::{Delegation, DnsRecord, Removal, ZoneOutcome, ZoneSpec};

use crate::adapters::aws::Aws;
use crate::model::{App, default_state_bucket, validate};

/// What bootstrap and nuke need from the cloud.
pub trait Cloud {
    fn account(&self) -> impl Future<Output = Result<String>> + Send;
    fn ensure_bucket(
        &self,
        spec: &BucketSpec,
        account: &str,
    ) -> impl Future<Output = Result<BucketOutcome>> + Send;
    fn ensure_zone(&self, spec: &ZoneSpec) -> impl Future<Output = Result<ZoneOutcome>> + Send;
    /// What the Terraform state at `key` records: its resources, its protected databases.
    fn state_summary(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<StateSummary>> + Send;
    fn delete_zones(
        &self,
        domain: &str,
        app: &str,
        env: &str,
    ) -> impl Future<Output = Result<Vec<Removal>>> + Send;
    fn delete_bucket(
        &self,
        name: &str,
        app: &str,
        env: &str,
    ) -> impl Future<Output = Result<Removal>> + Send;
    fn delete_repositories(
        &self,
        app: &str,
        env: &str,
    ) -> impl Future<Output = Result<Vec<Removal>>> + Send;
    fn put_new(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<()>> + Send;
    fn list(&self, bucket: &str, prefix: &str) -> impl Future<Output = Result<Vec<String>>> + Send;
    fn get(&self, bucket: &str, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>>> + Send;
    fn service_counts(
        &self,
        cluster: &str,
        services: &[String],
    ) -> impl Future<Output = Result<Vec<objects::ServiceCount>>> + Send;
    /// Sets how many tasks `service` runs.
    fn set_desired_count(
        &self,
        cluster: &str,
        service: &str,
        count: u32,
    ) -> impl Future<Output = Result<()>> + Send;
    /// A new deployment of `service` with its current task definition.
    fn force_new_deployment(
        &self,
        cluster: &str,
        service: &str,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Where each service's newest deployment stands.
    fn rollouts(
        &self,
        cluster: &str,
        services: &[String],
    ) -> impl Future<Output = Result<Vec<objects::Rollout>>> + Send;
    /// The names of the DNS records the Terraform state holds: the ones exo-deploy made.
    fn state_records(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// The A, AAAA and CNAME records at `names` in the zone of `domain`, if it exists.
    fn records_at(
        &self,
        domain: &str,
        zone_id: Option<&str>,
        names: &[String],
    ) -> impl Future<Output = Result<Vec<DnsRecord>>> + Send;
    /// Whether the account's default for new container instances has ENI trunking on.
    fn eni_trunking(&self, account: &str) -> impl Future<Output = Result<bool>> + Send;
    /// What EC2 says of an instance type newer than exo-deploy's table (`None`: no such type).
    fn instance_type(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<crate::model::instance_types::InstanceType>>> + Send;
    /// The snapshots of the databases named `names` (their identifiers' start).
    fn database_snapshots(
        &self,
        names: &[String],
    ) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// The log events of `service` in `group` from `start_ms` on, matching `filter`.
    fn log_events(
        &self,
        service: &str,
        group: &str,
        start_ms: i64,
        filter: Option<&str>,
    ) -> impl Future<Output = Result<Vec<crate::operate::logs::LogEvent>>> + Send;
    /// The value of a secret (a webhook's signing key), never written anywhere.
    fn secret_value(
        &self,
        secret: &crate::model::SecretRef,
    ) -> impl Future<Output = Result<String>> + Send;
    /// `services` of `cluster` as they run: tasks, digests, targets, deployment, events.
    fn service_states(
        &self,
        cluster: &str,
        services: &[String],
    ) -> impl Future<Output = Result<Vec<crate::operate::ps::ServiceState>>> + Send;
    /// The container instances of `cluster`.
    fn cluster_state(
        &self,
        cluster: &str,
    ) -> impl Future<Output = Result<crate::operate::ps::ClusterState>> + Send;
    /// Registers the range Application Auto Scaling keeps `service` in.
    fn set_scaling_range(
        &self,
        cluster: &str,
        service: &str,
        min: u32,
        max: u32,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The task of `service` an ECS Exec session can open in (`wanted`, else the first).
    fn exec_task(
        &self,
        cluster: &str,
        service: &str,
        wanted: Option<&str>,
    ) -> impl Future<Output = Result<Option<crate::operate::exec::Task>>> + Send;
    /// Opens an ECS Exec session running `command` in `task`.
    fn open_session(
        &self,
        cluster: &str,
        service: &str,
        task: &crate::operate::exec::Task,
        command: &str,
    ) -> impl Future<Output = Result<crate::operate::exec::Session>> + Send;
}

impl Cloud for Aws {
    async fn account(&self) -> Result<String> {
        Ok(Aws::account(self).await?)
    }
    fn ensure_bucket(
        &self,
        spec: &BucketSpec,
        account: &str,
    ) -> impl Future<Output = Result<BucketOutcome>> + Send {
        bucket::ensure(self, spec, account)
    }
    fn ensure_zone(&self, spec: &ZoneSpec) -> impl Future<Output = Result<ZoneOutcome>> + Send {
        zone::ensure(self, spec)
    }
    fn state_summary(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<StateSummary>> + Send {
        bucket::state_summary(self, bucket, key)
    }
    fn delete_zones(
        &self,
        domain: &str,
        app: &str,
        env: &str,
    ) -> impl Future<Output = Result<Vec<Removal>>> + Send {
        zone::delete(self, domain, app, env)
    }
    fn delete_bucket(
        &self,
        name: &str,
        app: &str,
        env: &str,
    ) -> impl Future<Output = Result<Removal>> + Send {
        bucket::delete(self, name, app, env)
    }
    fn delete_repositories(
        &self,
        app: &str,
        env: &str,
    ) -> impl Future<Output = Result<Vec<Removal>>> + Send {
        repositories::delete(self, app, env)
    }
    fn put_new(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<()>> + Send {
        objects::put_new(self, bucket, key, body)
    }
    fn list(&self, bucket: &str, prefix: &str) -> impl Future<Output = Result<Vec<String>>> + Send {
        objects::list(self, bucket, prefix)
    }
    fn get(&self, bucket: &str, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>>> + Send {
        objects::get(self, bucket, key)
    }
    fn service_counts(
        &self,
        cluster: &str,
        services: &[String],
    ) -> impl Future<Output = Result<Vec<objects::ServiceCount>>> + Send {
        objects::service_counts(self, cluster, services)
    }
    fn rollouts(
        &self,
        cluster: &str,
        services: &[String],
    ) -> impl Future<Output = Result<Vec<objects::Rollout>>> + Send {
        objects::rollouts(self, cluster, services)
    }
    fn force_new_deployment(
        &self,
        cluster: &str,
        service: &str,
    ) -> impl Future<Output = Result<()>> + Send {
        objects::force_new_deployment(self, cluster, service)
    }
    fn set_desired_count(
        &self,
        cluster: &str,
        service: &str,
        count: u32,
    ) -> impl Future<Output = Result<()>> + Send {
        objects::set_desired_count(self, cluster, service, count)
    }
    fn state_records(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Vec<String>>> + Send {
        bucket::state_records(self, bucket, key)
    }
    fn records_at(
        &self,
        domain: &str,
        zone_id: Option<&str>,
        names: &[String],
    ) -> impl Future<Output = Result<Vec<DnsRecord>>> + Send {
        zone::records_at(self, domain, zone_id, names)
    }
    fn eni_trunking(&self, account: &str) -> impl Future<Output = Result<bool>> + Send {
        objects::eni_trunking(self, account)
    }
    async fn instance_type(
        &self,
        name: &str,
    ) -> Result<Option<crate::model::instance_types::InstanceType>> {
        Ok(crate::adapters::ec2::describe_instance_type(&self.conf, &self.region, name).await?)
    }
    fn database_snapshots(
        &self,
        names: &[String],
    ) -> impl Future<Output = Result<Vec<String>>> + Send {
        objects::database_snapshots(self, names)
    }
    async fn log_events(
        &self,
        service: &str,
        group: &str,
        start_ms: i64,
        filter: Option<&str>,
    ) -> Result<Vec<crate::operate::logs::LogEvent>> {
        Ok(crate::operate::logs::fetch(self, service, group, start_ms, filter).await?)
    }
    async fn service_states(
        &self,
        cluster: &str,
        services: &[String],
    ) -> Result<Vec<crate::operate::ps::ServiceState>> {
        crate::operate::ps::services(self, cluster, services).await
    }
    async fn cluster_state(&self, cluster: &str) -> Result<crate::operate::ps::ClusterState> {
        crate::operate::ps::cluster(self, cluster).await
    }
    async fn set_scaling_range(
        &self,
        cluster: &str,
        service: &str,
        min: u32,
        max: u32,
    ) -> Result<()> {
        crate::operate::scaling::set_range(self, cluster, service, min, max).await
    }
    async fn exec_task(
        &self,
        cluster: &str,
        service: &str,
        wanted: Option<&str>,
    ) -> Result<Option<crate::operate::exec::Task>> {
        crate::operate::exec::task(self, cluster, service, wanted).await
    }
    async fn open_session(
        &self,
        cluster: &str,
        service: &str,
        task: &crate::operate::exec::Task,
        command: &str,
    ) -> Result<crate::operate::exec::Session> {
        crate::operate::exec::open(self, cluster, service, task, command).await
    }
    async fn secret_value(&self, secret: &crate::model::SecretRef) -> Result<String> {
        use crate::model::SecretRef;
        Ok(match secret {
            SecretRef::SecretsManager(id) => Aws::secret_value(self, id).await?,
            SecretRef::Ssm(name) => self.parameter_value(name).await?,
        })
    }
}

/// The caller's account, checked against the config's `account-id`.
pub async fn checked_account(cloud: &impl Cloud, app: &App) -> Result<String> {
    let account = cloud.account().await?;
    match &app.env.account_id {
        Some(expected) if *expected != account => Err(BootstrapError::WrongAccount {
            expected: expected.clone(),
            actual: account,
        }),
        _ => Ok(account),
    }
}

/// The state bucket's name: configured, or derived from the account.
pub fn state_bucket(app: &App, account: &str) -> Result<String> {
    if let Some(b) = &app.env.state_bucket {
        return Ok(b.clone());
    }
    let name = default_state_bucket(account, &app.name, &app.env.name);
    validate::bucket_name(&name).map_err(|why| BootstrapError::BucketName {
        name: name.clone(),
        why,
    })?;
    Ok(name)
}
