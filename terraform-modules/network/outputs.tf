output "vpc_id" {
  description = "The VPC's id"
  value       = aws_vpc.this.id
}

output "vpc_cidr" {
  description = "The VPC's CIDR block"
  value       = aws_vpc.this.cidr_block
}

output "public_subnet_ids" {
  description = "Public subnets, one per availability zone (load balancer, NAT gateways)"
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "Private subnets, one per availability zone (instances and tasks)"
  value       = aws_subnet.private[*].id
}

output "availability_zones" {
  description = "The availability zones the VPC spans"
  value       = local.azs
}
