variable "name" {
  description = "The cluster's name"
  type        = string
}

variable "instance_type" {
  description = "EC2 instance type of the cluster's Auto Scaling group"
  type        = string
}

variable "architecture" {
  description = "CPU architecture of instance_type: x86_64 or arm64 (Graviton), which picks the ECS-optimised AMI"
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "The architecture is x86_64 or arm64."
  }
}

variable "container_insights" {
  description = "CloudWatch Container Insights: enhanced, enabled or disabled"
  type        = string
  default     = "enabled"

  validation {
    condition     = contains(["enhanced", "enabled", "disabled"], var.container_insights)
    error_message = "Container Insights is enhanced, enabled or disabled."
  }
}

variable "detailed_monitoring" {
  description = "One-minute EC2 metrics for the instances (else five-minute)"
  type        = bool
  default     = true
}

variable "min_size" {
  description = "Fewest instances"
  type        = number
}

variable "max_size" {
  description = "Most instances"
  type        = number
}

variable "vpc_id" {
  description = "The VPC the instances run in"
  type        = string
}

variable "vpc_cidr" {
  description = "The VPC's CIDR block: instances may reach anything inside it"
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets the instances run in"
  type        = list(string)
}

variable "tags" {
  description = "Tags added to every resource"
  type        = map(string)
  default     = {}
}
