output "kms_key_arn" {
  description = "The KMS key that encrypts the app's log groups"
  value       = aws_kms_key.this.arn
}

output "namespace_id" {
  description = "The private DNS namespace's id"
  value       = aws_service_discovery_private_dns_namespace.this.id
}

output "namespace_name" {
  description = "The private DNS namespace's name"
  value       = aws_service_discovery_private_dns_namespace.this.name
}
