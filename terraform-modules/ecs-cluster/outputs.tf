output "cluster_arn" {
  description = "The ECS cluster's ARN"
  value       = aws_ecs_cluster.this.arn
}

output "cluster_name" {
  description = "The ECS cluster's name"
  value       = aws_ecs_cluster.this.name
}

output "capacity_provider_name" {
  description = "The capacity provider backed by the cluster's Auto Scaling group, once it is associated with the cluster"
  value       = aws_ecs_capacity_provider.this.name

  # Services name this capacity provider: they must be created after it is associated with
  # the cluster (ECS refuses them before), and destroyed before it is dissociated.
  depends_on = [aws_ecs_cluster_capacity_providers.this]
}

output "autoscaling_group_name" {
  description = "The Auto Scaling group's name"
  value       = aws_autoscaling_group.this.name
}
