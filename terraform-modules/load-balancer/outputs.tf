output "arn" {
  description = "The load balancer's ARN"
  value       = aws_lb.this.arn
}

output "dns_name" {
  description = "The load balancer's DNS name"
  value       = aws_lb.this.dns_name
}

output "zone_id" {
  description = "The load balancer's canonical hosted zone, for alias records"
  value       = aws_lb.this.zone_id
}

output "listener_arn" {
  description = "The listener services attach their host rules to: HTTPS when a certificate is configured, else HTTP"
  value       = local.https ? aws_lb_listener.https[0].arn : aws_lb_listener.http.arn
}

output "security_group_id" {
  description = "The load balancer's security group: services accept traffic from it"
  value       = aws_security_group.this.id
}
