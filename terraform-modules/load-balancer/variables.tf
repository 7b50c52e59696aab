variable "name" {
  description = "The load balancer's name (at most 32 characters)"
  type        = string
}

variable "vpc_id" {
  description = "The VPC the load balancer serves"
  type        = string
}

variable "vpc_cidr" {
  description = "The VPC's CIDR block: the load balancer forwards only inside it"
  type        = string
}

variable "subnet_ids" {
  description = "Public subnets, at least two availability zones"
  type        = list(string)
}

variable "certificate_arn" {
  description = "ACM certificate for HTTPS; null serves plain HTTP"
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource"
  type        = map(string)
  default     = {}
}
