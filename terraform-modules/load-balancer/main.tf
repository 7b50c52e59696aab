locals {
  https = var.certificate_arn != null
}

resource "aws_security_group" "this" {
  name_prefix = "${var.name}-alb-"
  description = "Public load balancer of ${var.name}"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-alb" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "http" {
  #checkov:skip=CKV_AWS_260:a public web entry point accepts HTTP on port 80 (it redirects to HTTPS when a certificate is configured)
  security_group_id = aws_security_group.this.id
  description       = "HTTP from the internet"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = "0.0.0.0/0"

  tags = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "https" {
  count = local.https ? 1 : 0

  security_group_id = aws_security_group.this.id
  description       = "HTTPS from the internet"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"

  tags = var.tags
}

resource "aws_vpc_security_group_egress_rule" "vpc" {
  security_group_id = aws_security_group.this.id
  description       = "Forward to services inside the VPC only"
  ip_protocol       = "tcp"
  from_port         = 0
  to_port           = 65535
  cidr_ipv4         = var.vpc_cidr

  tags = var.tags
}

resource "aws_lb" "this" {
  #checkov:skip=CKV_AWS_150:teardown must be able to delete the load balancer; it holds no data
  #checkov:skip=CKV_AWS_91:access logs need a log bucket of their own; not yet an exo-deploy option (docs/security.md)
  #checkov:skip=CKV2_AWS_20:with a certificate, port 80 only redirects to HTTPS; without one the app is served over plain HTTP as configured
  #checkov:skip=CKV2_AWS_28:WAF rules are app-specific; attach a web ACL to the output ARN if needed
  name                       = var.name
  internal                   = false
  load_balancer_type         = "application"
  security_groups            = [aws_security_group.this.id]
  subnets                    = var.subnet_ids
  drop_invalid_header_fields = true
  enable_deletion_protection = false

  tags = var.tags
}

resource "aws_lb_listener" "https" {
  count = local.https ? 1 : 0

  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type = "fixed-response"

    fixed_response {
      content_type = "text/plain"
      message_body = "Not found"
      status_code  = "404"
    }
  }

  tags = var.tags
}

# Port 80 exists either way and is updated in place when HTTPS is switched on or off: it
# redirects to HTTPS when a certificate is configured, else it carries the host rules itself.
resource "aws_lb_listener" "http" {
  #checkov:skip=CKV_AWS_2:port 80 redirects to HTTPS when the environment has an ssl-certificate-arn; without one the app is served over HTTP as configured
  #checkov:skip=CKV_AWS_103:port 80 redirects to HTTPS when the environment has an ssl-certificate-arn; the HTTPS listener sets the TLS policy
  #checkov:skip=CKV2_AWS_20:port 80 redirects to HTTPS when the environment has an ssl-certificate-arn (default_action type "redirect")
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = local.https ? "redirect" : "fixed-response"

    dynamic "redirect" {
      for_each = local.https ? [1] : []

      content {
        port        = "443"
        protocol    = "HTTPS"
        status_code = "HTTP_301"
      }
    }

    dynamic "fixed_response" {
      for_each = local.https ? [] : [1]

      content {
        content_type = "text/plain"
        message_body = "Not found"
        status_code  = "404"
      }
    }
  }

  tags = var.tags
}
