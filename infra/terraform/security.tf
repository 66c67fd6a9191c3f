# Security groups, least privilege:
#   load balancer: 443 and 80 in from allowed_ingress_cidr_blocks; out only to the instances on 8080.
#   instances:     8080 in from the load balancer only; out only to HTTPS (AWS APIs, the
#                  release), MongoDB and Redis.
# DNS (the VPC resolver), the instance metadata service and the Amazon Time Sync Service are
# link-local or VPC-internal services that security groups do not filter.
# Terraform removes the default allow-all egress rule of the groups it creates.

resource "aws_security_group" "alb" {
  name_prefix = "${var.name}-alb-"
  description = "tokener load balancer"
  vpc_id      = var.vpc_id

  tags = { Name = "${var.name}-alb" }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each          = toset(var.allowed_ingress_cidr_blocks)
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from allowed clients"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "alb_http" {
  for_each          = toset(var.allowed_ingress_cidr_blocks)
  security_group_id = aws_security_group.alb.id
  description       = "HTTP from allowed clients (redirected to HTTPS)"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "alb_to_instances" {
  security_group_id            = aws_security_group.alb.id
  description                  = "To tokener instances"
  ip_protocol                  = "tcp"
  from_port                    = local.service_port
  to_port                      = local.service_port
  referenced_security_group_id = aws_security_group.instance.id
}

resource "aws_security_group" "instance" {
  name_prefix = "${var.name}-instance-"
  description = "tokener instances"
  vpc_id      = var.vpc_id

  tags = { Name = "${var.name}-instance" }

  lifecycle {
    create_before_destroy = true

    precondition {
      condition     = length(var.mongodb_cidr_blocks) + length(var.mongodb_security_group_ids) > 0
      error_message = "Set mongodb_cidr_blocks or mongodb_security_group_ids: instances must be able to reach MongoDB."
    }
  }
}

resource "aws_vpc_security_group_ingress_rule" "instance_from_alb" {
  security_group_id            = aws_security_group.instance.id
  description                  = "tokener HTTP from the load balancer only"
  ip_protocol                  = "tcp"
  from_port                    = local.service_port
  to_port                      = local.service_port
  referenced_security_group_id = aws_security_group.alb.id
}

resource "aws_vpc_security_group_egress_rule" "instance_https" {
  for_each          = toset(var.https_egress_cidr_blocks)
  security_group_id = aws_security_group.instance.id
  description       = "HTTPS: Secrets Manager, SSM, S3, CloudWatch, the release download"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "instance_mongodb_cidr" {
  for_each          = toset(var.mongodb_cidr_blocks)
  security_group_id = aws_security_group.instance.id
  description       = "MongoDB"
  ip_protocol       = "tcp"
  from_port         = var.mongodb_port_range.from
  to_port           = var.mongodb_port_range.to
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "instance_mongodb_sg" {
  count                        = length(var.mongodb_security_group_ids)
  security_group_id            = aws_security_group.instance.id
  description                  = "MongoDB"
  ip_protocol                  = "tcp"
  from_port                    = var.mongodb_port_range.from
  to_port                      = var.mongodb_port_range.to
  referenced_security_group_id = var.mongodb_security_group_ids[count.index]
}

resource "aws_vpc_security_group_egress_rule" "instance_redis" {
  count                        = var.redis_security_group_id == null ? 0 : 1
  security_group_id            = aws_security_group.instance.id
  description                  = "Redis (ElastiCache)"
  ip_protocol                  = "tcp"
  from_port                    = var.redis_port
  to_port                      = var.redis_port
  referenced_security_group_id = var.redis_security_group_id
}
