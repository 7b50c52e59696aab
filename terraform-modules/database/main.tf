locals {
  # the logs each engine can send to CloudWatch
  log_exports = {
    postgres = ["postgresql", "upgrade"]
    mysql    = ["error", "general", "slowquery"]
    mariadb  = ["error", "general", "slowquery"]
  }
}

resource "aws_db_subnet_group" "this" {
  name_prefix = "${var.name}-"
  description = "Private subnets of ${var.name}"
  subnet_ids  = var.subnet_ids

  tags = var.tags
}

# Admits the app's services that use the database, on its port: nothing else.
resource "aws_security_group" "this" {
  name_prefix = "${var.name}-db-"
  description = "Database ${var.name}: its services only"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = var.name })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "from_services" {
  for_each = var.client_security_group_ids

  security_group_id            = aws_security_group.this.id
  description                  = "From the tasks of ${each.key}"
  ip_protocol                  = "tcp"
  from_port                    = var.port
  to_port                      = var.port
  referenced_security_group_id = each.value

  tags = var.tags
}

resource "aws_db_instance" "this" {
  #checkov:skip=CKV_AWS_157:one zone by default, as the cost section says; multi_az is a variable for production databases (docs/security.md)
  #checkov:skip=CKV_AWS_118:enhanced monitoring needs its own IAM role and costs per instance; CloudWatch metrics and the exported logs remain (docs/security.md)
  #checkov:skip=CKV_AWS_353:Performance Insights is not offered on the smallest instance classes exo-deploy defaults to (docs/security.md)
  #checkov:skip=CKV_AWS_354:Performance Insights is off (see CKV_AWS_353)
  identifier_prefix = "${var.name}-"
  engine            = var.engine
  engine_version    = var.engine_version
  instance_class    = var.instance_class
  allocated_storage = var.allocated_storage
  storage_type      = var.storage_type
  port              = var.port
  db_name           = var.db_name
  username          = var.username

  # RDS keeps the password in Secrets Manager and rotates it: it is never in the state or in
  # a file; services read it from that secret
  manage_master_user_password = true

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.this.id]
  publicly_accessible    = false
  multi_az               = var.multi_az

  storage_encrypted                   = true
  iam_database_authentication_enabled = true
  auto_minor_version_upgrade          = true
  backup_retention_period             = var.backup_retention_days
  copy_tags_to_snapshot               = true
  enabled_cloudwatch_logs_exports     = local.log_exports[var.engine]

  # protection refuses deletion; a database deleted after all (protection turned off first)
  # leaves a final snapshot, which nuke never deletes
  deletion_protection       = var.deletion_protection
  skip_final_snapshot       = !var.final_snapshot
  final_snapshot_identifier = var.final_snapshot ? "${var.name}-final" : null

  tags = var.tags
}
