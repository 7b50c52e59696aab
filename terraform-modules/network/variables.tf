variable "name" {
  description = "Name prefix for the VPC and its resources"
  type        = string
}

variable "cidr" {
  description = "The VPC's IPv4 CIDR block; subnets are cut from it with cidrsubnet"
  type        = string
}

variable "az_count" {
  description = "How many availability zones to span (looked up in the region, never hard-coded)"
  type        = number
  default     = 2
}

variable "one_nat_gateway_per_az" {
  description = "One NAT gateway per availability zone instead of one shared by all private subnets"
  type        = bool
  default     = false
}

variable "flow_logs" {
  description = "VPC flow logs of all traffic, in a CloudWatch log group"
  type        = bool
  default     = true
}

variable "vpc_endpoints" {
  description = "Interface endpoints for ECR (api and dkr) and CloudWatch Logs in the private subnets; the S3 gateway endpoint is always there"
  type        = bool
  default     = false
}

variable "ssm_messages_endpoint" {
  description = "With vpc_endpoints: also an interface endpoint for Session Manager's channels (ECS Exec), which services whose outbound traffic stays in the VPC need"
  type        = bool
  default     = false
}

variable "flow_log_retention_days" {
  description = "How long VPC flow logs are kept"
  type        = number
  default     = 365
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the flow log group"
  type        = string
}

variable "tags" {
  description = "Tags added to every resource"
  type        = map(string)
  default     = {}
}
