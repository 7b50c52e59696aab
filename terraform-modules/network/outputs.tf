output "vpc_id" {
  description = "The VPC's id"
  value       = aws_vpc.this.id
}

output "vpc_cidr" {
  description = "The VPC's CIDR block"
  value       = aws_vpc.this.cidr_block
}

output "public_subnet_ids" {
  description = "Public subnets, one per availability zone (load balancer, NAT gateways), once they route to the internet"
  value       = aws_subnet.public[*].id

  # An internet-facing load balancer needs the internet gateway and the public routes first,
  # and must be gone before they are destroyed.
  depends_on = [
    aws_internet_gateway.this,
    aws_route.public_internet,
    aws_route_table_association.public,
  ]
}

output "private_subnet_ids" {
  description = "Private subnets, one per availability zone (instances and tasks), once they route through NAT"
  value       = aws_subnet.private[*].id

  # Instances and tasks pull images and reach AWS through NAT: the private routes come first,
  # and on destroy the routes and NAT gateways stay until the instances and tasks are gone.
  depends_on = [
    aws_nat_gateway.this,
    aws_route.private_nat,
    aws_route_table_association.private,
  ]
}

output "availability_zones" {
  description = "The availability zones the VPC spans"
  value       = local.azs
}
