variable "name" {
  description = "Name prefix of the database and its resources"
  type        = string
}

variable "engine" {
  description = "The database engine: postgres, mysql or mariadb"
  type        = string

  validation {
    condition     = contains(["postgres", "mysql", "mariadb"], var.engine)
    error_message = "The engine is postgres, mysql or mariadb."
  }
}

variable "engine_version" {
  description = "The engine's version, as RDS names it (e.g. 16 or 8.0)"
  type        = string
}

variable "instance_class" {
  description = "The RDS instance class, e.g. db.t3.micro"
  type        = string
}

variable "allocated_storage" {
  description = "Storage in GiB"
  type        = number
}

variable "storage_type" {
  description = "gp3, gp2, io1, io2 or standard"
  type        = string
}

variable "port" {
  description = "The port the database listens on"
  type        = number
}

variable "db_name" {
  description = "The database created in the instance"
  type        = string
}

variable "username" {
  description = "The master user's name (its password is managed by RDS in Secrets Manager)"
  type        = string
}

variable "deletion_protection" {
  description = "Refuse deletion (turn it off before tearing down)"
  type        = bool
}

variable "final_snapshot" {
  description = "Leave a final snapshot named <name>-final when the database is deleted"
  type        = bool
}

variable "multi_az" {
  description = "A standby in a second availability zone"
  type        = bool
  default     = false
}

variable "backup_retention_days" {
  description = "Days of automated backups"
  type        = number
  default     = 7
}

variable "vpc_id" {
  description = "The VPC the database runs in"
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the database"
  type        = list(string)
}

variable "client_security_group_ids" {
  description = "The security groups of the services that may connect, by service"
  type        = map(string)
}

variable "tags" {
  description = "Tags added to every resource"
  type        = map(string)
  default     = {}
}
