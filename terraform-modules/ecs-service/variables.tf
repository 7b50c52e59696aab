variable "name" {
  description = "The service's role, unique in the app"
  type        = string
}

variable "prefix" {
  description = "The app and environment, as `<app>-<env>`: names every resource"
  type        = string
}

variable "cluster_arn" {
  description = "The ECS cluster the service runs on"
  type        = string
}

variable "capacity_provider_name" {
  description = "The cluster's capacity provider"
  type        = string
}

variable "vpc_id" {
  description = "The VPC the tasks run in"
  type        = string
}

variable "vpc_cidr" {
  description = "The VPC's CIDR block"
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets the tasks run in"
  type        = list(string)
}

variable "image" {
  description = "The container image, by digest where exo-deploy pushed it"
  type        = string
}

variable "cpu" {
  description = "CPU units for the task (1024 = one vCPU)"
  type        = number
}

variable "container_cpu" {
  description = "CPU units of the container when fewer than the task's (ECS gives a task at least 128); null: the task's"
  type        = number
  default     = null
}

variable "memory" {
  description = "Memory for the task, MiB"
  type        = number
}

variable "port" {
  description = "The port the container listens on; null for workers"
  type        = number
  default     = null
}

variable "desired_count" {
  description = "Tasks to run (the starting count when autoscaling is on)"
  type        = number
  default     = 1
}

variable "autoscaling" {
  description = "Target tracking on average CPU; null keeps desired_count fixed"
  type = object({
    min        = number
    max        = number
    cpu_target = number
  })
  default = null
}

variable "architecture" {
  description = "CPU architecture of the cluster's instances, x86_64 or arm64: the task's runtime platform, which the image must match"
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "The architecture is x86_64 or arm64."
  }
}

variable "outbound" {
  description = "Outbound traffic beyond the VPC: null allows all of it; a list allows only these rules (protocol tcp or udp, a port range, a destination CIDR)"
  type = list(object({
    protocol  = string
    from_port = number
    to_port   = number
    cidr      = string
  }))
  default = null
}

variable "deployment" {
  description = "How a deployment replaces tasks: the percentages of the desired count that must stay healthy and may run at once"
  type = object({
    minimum_healthy_percent = number
    maximum_percent         = number
  })
  default = {
    minimum_healthy_percent = 100
    maximum_percent         = 200
  }
}

variable "health_check_grace_period" {
  description = "Seconds the load balancer's failing health checks are ignored after a task starts, so that slow starters are not killed"
  type        = number
  default     = 60
}

variable "environment" {
  description = "Plain environment variables of the container"
  type        = map(string)
  default     = {}
}

variable "source_commit" {
  description = "The commit that last changed the service's folder (with `-dirty` when it had uncommitted changes), given to the container as EXO_DEPLOY_SERVICE_COMMIT; null when unknown"
  type        = string
  default     = null
}

variable "enable_execute_command" {
  description = "Whether ECS Exec may open a shell or run a command in the service's running tasks (for whoever may call ecs:ExecuteCommand); the task role then gets the Session Manager channel it needs"
  type        = bool
  default     = false
}

variable "secrets" {
  description = "Secrets by variable name: where the value lives (`ssm` or `secretsmanager`) and its name or ARN. Never values."
  type = map(object({
    store = string
    name  = string
  }))
  default = {}
}

variable "linked_environment" {
  description = "Variables whose values other modules know (a database's host and port), by name"
  type        = map(string)
  default     = {}
}

variable "linked_secrets" {
  description = "Secrets other modules made (a database's managed password), by name: full Secrets Manager ARNs, with a JSON key"
  type        = map(string)
  default     = {}
}

variable "repository_credentials" {
  description = "The Secrets Manager secret (ARN or name) holding the login of the image's private registry, for registries other than ECR; null when the image needs none"
  type        = string
  default     = null
}

variable "secrets_kms_key_arn" {
  description = "The customer-managed KMS key the secrets are encrypted with, when they are: the execution role may decrypt with it through Secrets Manager and SSM"
  type        = string
  default     = null
}

variable "public" {
  description = "Whether the service is reached through the load balancer at `host`"
  type        = bool
  default     = false
}

variable "host" {
  description = "The public host name (public services)"
  type        = string
  default     = null
}

variable "listener_arn" {
  description = "The load balancer listener to attach the host rule to (public services)"
  type        = string
  default     = null
}

variable "listener_rule_priority" {
  description = "The host rule's priority, unique per listener (public services)"
  type        = number
  default     = null
}

variable "lb_security_group_id" {
  description = "The load balancer's security group (public services)"
  type        = string
  default     = null
}

variable "lb_dns_name" {
  description = "The load balancer's DNS name, for the alias record (public services)"
  type        = string
  default     = null
}

variable "lb_zone_id" {
  description = "The load balancer's canonical hosted zone, for the alias record (public services)"
  type        = string
  default     = null
}

variable "hosted_zone_id" {
  description = "The app's Route53 hosted zone (public services)"
  type        = string
  default     = null
}

variable "health_check_path" {
  description = "The path the load balancer checks (public services)"
  type        = string
  default     = "/"
}

variable "discoverable" {
  description = "Register the tasks in the private DNS namespace (private services and ExoCom). A literal from the renderer, so that Terraform knows the resource count before the namespace exists."
  type        = bool
  default     = false
}

variable "discovery_namespace_id" {
  description = "The private DNS namespace to register in, so others find the service at `<name>.<namespace>`; null for none"
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "How long container logs are kept"
  type        = number
  default     = 365
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the log group"
  type        = string
}

variable "tags" {
  description = "Tags added to every resource"
  type        = map(string)
  default     = {}
}
