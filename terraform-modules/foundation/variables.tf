variable "name" {
  description = "The app and environment, as `<app>-<env>`"
  type        = string
}

variable "private_domain" {
  description = "Private DNS namespace where private services and ExoCom are found, like `myapp.internal`"
  type        = string
}

variable "vpc_id" {
  description = "The VPC the private DNS namespace belongs to"
  type        = string
}

variable "tags" {
  description = "Tags added to every resource"
  type        = map(string)
  default     = {}
}
