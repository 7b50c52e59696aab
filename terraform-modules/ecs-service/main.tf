data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  full_name  = "${var.prefix}-${var.name}"
  arn_prefix = "arn:${data.aws_partition.current.partition}"
  where      = "${data.aws_region.current.id}:${data.aws_caller_identity.current.account_id}"

  # ECS accepts a name or an ARN in valueFrom; IAM needs ARNs. Linked secrets (a database's
  # managed password) are full ARNs with a JSON key.
  secret_arns = merge({
    for k, s in var.secrets : k => (
      startswith(s.name, "arn:") ? s.name :
      s.store == "ssm" ? "${local.arn_prefix}:ssm:${local.where}:parameter${s.name}" :
      "${local.arn_prefix}:secretsmanager:${local.where}:secret:${s.name}"
    )
  }, var.linked_secrets)
  ssm_arns = [for k, s in var.secrets : local.secret_arns[k] if s.store == "ssm"]
  # IAM names the secret itself: an ARN that selects a JSON key (`…:secret:NAME-AbCdEf:KEY::`)
  # is cut to its first seven fields, and `-??????` also matches an ARN written without the
  # random suffix Secrets Manager adds.
  secrets_arns = flatten([for k, s in var.secrets : (
    startswith(s.name, "arn:") ?
    [join(":", slice(split(":", s.name), 0, 7)), "${join(":", slice(split(":", s.name), 0, 7))}-??????"] :
    ["${local.secret_arns[k]}-??????"]
  ) if s.store == "secretsmanager"])
  # the registry login tasks pull the image with, when it is in a private registry: by ARN
  # with or without the random suffix, as the secrets above
  pull_secret_arns = var.repository_credentials == null ? [] : (
    startswith(var.repository_credentials, "arn:") ?
    [join(":", slice(split(":", var.repository_credentials), 0, 7)), "${join(":", slice(split(":", var.repository_credentials), 0, 7))}-??????"] :
    ["${local.arn_prefix}:secretsmanager:${local.where}:secret:${var.repository_credentials}-??????"]
  )
  linked_secret_arns = [for k, v in var.linked_secrets : join(":", slice(split(":", v), 0, 7))]
  readable_secrets   = concat(local.secrets_arns, local.pull_secret_arns, local.linked_secret_arns)

  port_mappings = var.port == null ? [] : [{ containerPort = var.port, protocol = "tcp" }]

  # Tasks cannot read the instance metadata, so SDKs learn the region from here; the
  # service's own variables win. The commit it was built from comes last: it is exo-deploy's.
  environment = merge({
    AWS_REGION         = data.aws_region.current.id
    AWS_DEFAULT_REGION = data.aws_region.current.id
    }, var.environment, var.linked_environment, {
    for k, v in { EXO_DEPLOY_SERVICE_COMMIT = var.source_commit } : k => v if v != null
  })

  # Outbound rules beyond the VPC, keyed so that editing one rule replaces only that rule.
  outbound = {
    for r in coalesce(var.outbound, []) : "${r.protocol}-${r.from_port}-${r.to_port}-${r.cidr}" => r
  }

  # Application Auto Scaling owns the task count: a fixed count is a range of one.
  min_count = var.autoscaling == null ? var.desired_count : var.autoscaling.min
  max_count = var.autoscaling == null ? var.desired_count : var.autoscaling.max
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/exo-deploy/${var.prefix}/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

# Pulls the image, writes logs and reads this service's secrets: nothing else.
resource "aws_iam_role" "execution" {
  name_prefix = "${substr(local.full_name, 0, 30)}-exec-"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "${local.arn_prefix}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

resource "aws_iam_role_policy" "secrets" {
  count = length(var.secrets) > 0 || length(var.linked_secrets) > 0 || var.repository_credentials != null ? 1 : 0

  name = "read-secrets"
  role = aws_iam_role.execution.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      length(local.ssm_arns) > 0 ? [{ Effect = "Allow", Action = ["ssm:GetParameters"], Resource = local.ssm_arns }] : [],
      length(local.readable_secrets) > 0 ? [{ Effect = "Allow", Action = ["secretsmanager:GetSecretValue"], Resource = local.readable_secrets }] : [],
      # secrets under a customer-managed key: decrypt with it, through these services only
      var.secrets_kms_key_arn == null ? [] : [{
        Effect    = "Allow"
        Action    = ["kms:Decrypt"]
        Resource  = [var.secrets_kms_key_arn]
        Condition = { StringEquals = { "kms:ViaService" = ["secretsmanager.${data.aws_region.current.id}.amazonaws.com", "ssm.${data.aws_region.current.id}.amazonaws.com"] } }
      }],
    )
  })
}

# The application's own identity: starts with no permissions.
resource "aws_iam_role" "task" {
  name_prefix = "${substr(local.full_name, 0, 30)}-task-"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = {
        ArnLike = { "aws:SourceArn" = "${local.arn_prefix}:ecs:${local.where}:*" }
      }
    }]
  })

  tags = var.tags
}

# ECS Exec: the ECS agent in the task opens its Session Manager channel with the task's role
# (ssmmessages actions take no resource: IAM's reference, hence `*`), and logs each session's
# commands and output to the service's log group, the cluster's default (DescribeLogGroups
# takes no resource either).
resource "aws_iam_role_policy" "exec" {
  #checkov:skip=CKV_AWS_290:ssmmessages actions have no resource-level permissions; the role is the task's own
  #checkov:skip=CKV_AWS_355:ssmmessages actions have no resource-level permissions; the role is the task's own
  count = var.enable_execute_command ? 1 : 0

  name = "execute-command"
  role = aws_iam_role.task.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect = "Allow"
        Action = [
          "ssmmessages:CreateControlChannel",
          "ssmmessages:CreateDataChannel",
          "ssmmessages:OpenControlChannel",
          "ssmmessages:OpenDataChannel",
        ]
        Resource = "*"
      },
      {
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]
        Resource = ["${aws_cloudwatch_log_group.this.arn}:*"]
      },
      {
        Effect   = "Allow"
        Action   = ["logs:DescribeLogGroups"]
        Resource = "*"
      },
    ]
  })
}

resource "aws_ecs_task_definition" "this" {
  #checkov:skip=CKV_AWS_336:Exosphere services commonly write to their filesystem; a read-only root is not yet an exo-deploy option (docs/security.md)
  family                   = local.full_name
  network_mode             = "awsvpc"
  requires_compatibilities = ["EC2"]
  cpu                      = tostring(var.cpu)
  memory                   = tostring(var.memory)
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  # the image is built for this platform (exo-deploy builds for the cluster's architecture)
  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.architecture == "arm64" ? "ARM64" : "X86_64"
  }

  container_definitions = jsonencode([merge({
    name         = var.name
    image        = var.image
    essential    = true
    cpu          = coalesce(var.container_cpu, var.cpu)
    memory       = var.memory
    privileged   = false
    portMappings = local.port_mappings
    environment  = [for k in sort(keys(local.environment)) : { name = k, value = local.environment[k] }]
    secrets      = [for k in sort(keys(local.secret_arns)) : { name = k, valueFrom = local.secret_arns[k] }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this.name
        awslogs-region        = data.aws_region.current.id
        awslogs-stream-prefix = var.name
      }
    }
    },
    # a private registry other than ECR: the login is read from Secrets Manager at pull time
    var.repository_credentials == null ? {} : {
      repositoryCredentials = { credentialsParameter = var.repository_credentials }
    },
    # ECS Exec sessions leave processes behind without an init process to reap them
    var.enable_execute_command ? { linuxParameters = { initProcessEnabled = true } } : {},
  )])

  tags = var.tags
}

resource "aws_security_group" "this" {
  name_prefix = "${local.full_name}-"
  description = "Tasks of ${local.full_name}"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = local.full_name })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "from_load_balancer" {
  count = var.public ? 1 : 0

  security_group_id            = aws_security_group.this.id
  description                  = "From the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = var.port
  to_port                      = var.port
  referenced_security_group_id = var.lb_security_group_id

  tags = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "from_vpc" {
  count = !var.public && var.port != null ? 1 : 0

  security_group_id = aws_security_group.this.id
  description       = "From inside the VPC"
  ip_protocol       = "tcp"
  from_port         = var.port
  to_port           = var.port
  cidr_ipv4         = var.vpc_cidr

  tags = var.tags
}

# By default tasks may reach anything, as ordinary apps expect (mail, external databases,
# plain HTTP APIs, UDP); `outbound` in the config restricts them to listed rules.
resource "aws_vpc_security_group_egress_rule" "all" {
  #checkov:skip=CKV_AWS_382:all outbound traffic is the default apps expect; the `outbound` setting restricts it (docs/security.md)
  count = var.outbound == null ? 1 : 0

  security_group_id = aws_security_group.this.id
  description       = "All outbound traffic (restrict it with outbound in the config)"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"

  tags = var.tags
}

resource "aws_vpc_security_group_egress_rule" "listed" {
  for_each = local.outbound

  security_group_id = aws_security_group.this.id
  description       = "Outbound ${each.value.protocol} ${each.value.from_port}-${each.value.to_port} to ${each.value.cidr}"
  ip_protocol       = each.value.protocol
  from_port         = each.value.from_port
  to_port           = each.value.to_port
  cidr_ipv4         = each.value.cidr

  tags = var.tags
}

resource "aws_vpc_security_group_egress_rule" "vpc" {
  security_group_id = aws_security_group.this.id
  description       = "ExoCom and private services inside the VPC"
  ip_protocol       = "tcp"
  from_port         = 0
  to_port           = 65535
  cidr_ipv4         = var.vpc_cidr

  tags = var.tags
}

resource "aws_lb_target_group" "this" {
  #checkov:skip=CKV_AWS_378:TLS ends at the load balancer; traffic to tasks stays inside the VPC
  count = var.public ? 1 : 0

  name_prefix          = "exo-"
  port                 = var.port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = 30

  health_check {
    enabled             = true
    path                = var.health_check_path
    matcher             = "200-399"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = merge(var.tags, { Name = local.full_name })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_lb_listener_rule" "this" {
  count = var.public ? 1 : 0

  listener_arn = var.listener_arn
  priority     = var.listener_rule_priority

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this[0].arn
  }

  condition {
    host_header {
      values = [var.host]
    }
  }

  tags = var.tags

  # Switching HTTPS moves every rule to the other listener (a replacement): the new rule
  # serves before the old one goes, so no host answers 404 in between.
  lifecycle {
    create_before_destroy = true
  }
}

# Never takes over a record someone else made at the url (preflight lists them first).
resource "aws_route53_record" "this" {
  count = var.public ? 1 : 0

  zone_id         = var.hosted_zone_id
  name            = var.host
  type            = "A"
  allow_overwrite = false

  alias {
    name                   = var.lb_dns_name
    zone_id                = var.lb_zone_id
    evaluate_target_health = true
  }
}

resource "aws_service_discovery_service" "this" {
  count = var.discoverable ? 1 : 0

  name = var.name

  dns_config {
    namespace_id   = var.discovery_namespace_id
    routing_policy = "MULTIVALUE"

    dns_records {
      ttl  = 10
      type = "A"
    }
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.discovery_namespace_id != null
      error_message = "A discoverable service needs discovery_namespace_id."
    }
  }
}

# One service whatever its scaling: switching autoscaling on or off updates it in place.
# Application Auto Scaling owns the task count (a fixed count is a range of one, below), so
# desired_count only seeds the first deploy and Terraform never resets what scaling decided.
resource "aws_ecs_service" "this" {
  name                   = var.name
  cluster                = var.cluster_arn
  task_definition        = aws_ecs_task_definition.this.arn
  desired_count          = var.desired_count
  enable_execute_command = var.enable_execute_command
  propagate_tags         = "SERVICE"

  capacity_provider_strategy {
    capacity_provider = var.capacity_provider_name
    weight            = 1
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.this.id]
    assign_public_ip = false
  }

  deployment_minimum_healthy_percent = var.deployment.minimum_healthy_percent
  deployment_maximum_percent         = var.deployment.maximum_percent
  health_check_grace_period_seconds  = var.public ? var.health_check_grace_period : null

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  dynamic "load_balancer" {
    for_each = var.public ? [1] : []

    content {
      target_group_arn = aws_lb_target_group.this[0].arn
      container_name   = var.name
      container_port   = var.port
    }
  }

  dynamic "service_registries" {
    for_each = var.discoverable ? [1] : []

    content {
      registry_arn = aws_service_discovery_service.this[0].arn
    }
  }

  tags = var.tags

  lifecycle {
    ignore_changes = [desired_count]
  }

  # Tasks start only once their traffic is routed, their security group lets them talk, and
  # their execution role may pull, log and read secrets; on destroy, the service goes first.
  depends_on = [
    aws_lb_listener_rule.this,
    aws_vpc_security_group_ingress_rule.from_load_balancer,
    aws_vpc_security_group_ingress_rule.from_vpc,
    aws_vpc_security_group_egress_rule.all,
    aws_vpc_security_group_egress_rule.listed,
    aws_vpc_security_group_egress_rule.vpc,
    aws_iam_role_policy_attachment.execution,
    aws_iam_role_policy.secrets,
    aws_iam_role_policy.exec,
  ]
}

# Registering the range moves the running count into it at once: this is how a changed fixed
# count, or autoscaling switched off, reaches the service.
resource "aws_appautoscaling_target" "this" {
  service_namespace  = "ecs"
  scalable_dimension = "ecs:service:DesiredCount"
  resource_id        = "service/${split("/", var.cluster_arn)[1]}/${aws_ecs_service.this.name}"
  min_capacity       = local.min_count
  max_capacity       = local.max_count

  tags = var.tags
}

resource "aws_appautoscaling_policy" "cpu" {
  count = var.autoscaling == null ? 0 : 1

  name               = "${local.full_name}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension
  resource_id        = aws_appautoscaling_target.this.resource_id

  target_tracking_scaling_policy_configuration {
    target_value       = var.autoscaling.cpu_target
    scale_in_cooldown  = 120
    scale_out_cooldown = 60

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}
