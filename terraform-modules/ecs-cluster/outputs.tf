output "cluster_arn" {
  description = "The ECS cluster's ARN"
  value       = aws_ecs_cluster.this.arn
}

output "cluster_name" {
  description = "The ECS cluster's name"
  value       = aws_ecs_cluster.this.name
}

output "capacity_provider_name" {
  description = "The capacity provider backed by the cluster's Auto Scaling group"
  value       = aws_ecs_capacity_provider.this.name
}

output "autoscaling_group_name" {
  description = "The Auto Scaling group's name"
  value       = aws_autoscaling_group.this.name
}
