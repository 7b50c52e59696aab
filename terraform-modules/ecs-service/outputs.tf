output "service_name" {
  description = "The ECS service's name"
  value       = var.name
}

output "log_group_name" {
  description = "Where the containers' logs go"
  value       = aws_cloudwatch_log_group.this.name
}

output "task_role_arn" {
  description = "The application's IAM role: attach the permissions the service needs to it"
  value       = aws_iam_role.task.arn
}

output "security_group_id" {
  description = "The tasks' security group"
  value       = aws_security_group.this.id
}

output "url" {
  description = "The public URL (public services), else null"
  value       = var.public ? var.host : null
}
