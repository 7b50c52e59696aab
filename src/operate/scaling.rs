//! The range Application Auto Scaling keeps an autoscaled service in: `scale SERVICE --min A
//! --max B` registers a new one at once (Application Auto Scaling moves the service's count
//! into it), as the ecs-service module's `aws_appautoscaling_target` does on a deploy.

use crate::adapters::aws::{Aws, classify};
use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};

/// Application Auto Scaling's name of an ECS service.
pub fn resource_id(cluster: &str, service: &str) -> String {
    format!("service/{cluster}/{service}")
}

/// Registers `min..=max` as the range of `service` in `cluster`.
pub async fn set_range(
    aws: &Aws,
    cluster: &str,
    service: &str,
    min: u32,
    max: u32,
) -> crate::bootstrap::Result<()> {
    let id = resource_id(cluster, service);
    aws.autoscaling
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .resource_id(&id)
        .min_capacity(i32::try_from(min).unwrap_or(i32::MAX))
        .max_capacity(i32::try_from(max).unwrap_or(i32::MAX))
        .send()
        .await
        .map_err(|e| classify("application-autoscaling:RegisterScalableTarget", &id, e))?;
    Ok(())
}

/// The range registered for `service` in `cluster`, if any.
pub async fn range(
    aws: &Aws,
    cluster: &str,
    service: &str,
) -> crate::bootstrap::Result<Option<(u32, u32)>> {
    let id = resource_id(cluster, service);
    let out = aws
        .autoscaling
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .resource_ids(&id)
        .send()
        .await
        .map_err(|e| classify("application-autoscaling:DescribeScalableTargets", &id, e))?;
    Ok(out.scalable_targets().first().map(|t| {
        (
            u32::try_from(t.min_capacity()).unwrap_or(0),
            u32::try_from(t.max_capacity()).unwrap_or(0),
        )
    }))
}
