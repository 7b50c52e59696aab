output "address" {
  description = "The database's host name"
  value       = aws_db_instance.this.address
}

output "port" {
  description = "The port it listens on"
  value       = aws_db_instance.this.port
}

output "password_secret_arn" {
  description = "The Secrets Manager secret in which RDS keeps the master user's password (JSON with `username` and `password`)"
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}
