# tokener on EC2: an Application Load Balancer in front of an Auto Scaling group of stateless
# instances in an existing VPC. MongoDB (replica set or Atlas) and, later, Redis (ElastiCache)
# are managed elsewhere; this configuration only opens the way to them.
#
# Files: security.tf (security groups), alb.tf (load balancer), asg.tf (launch template, group),
# iam.tf (instance role), outputs.tf. Instances are configured by
# ../cloud-init/user-data.yaml.tftpl and run ../systemd/tokener.service.

data "aws_partition" "current" {}

# The AMI: the given one, or the latest Amazon Linux 2023 for the chosen architecture
# (glibc 2.34, systemd, cloud-init, the AWS CLI and the SSM agent are preinstalled).
data "aws_ami" "tokener" {
  most_recent = true
  owners      = var.ami_id == null ? ["amazon"] : null

  dynamic "filter" {
    for_each = var.ami_id == null ? [] : [var.ami_id]
    content {
      name   = "image-id"
      values = [filter.value]
    }
  }

  dynamic "filter" {
    for_each = var.ami_id == null ? ["al2023-ami-2023.*-kernel-*-${var.instance_architecture}"] : []
    content {
      name   = "name"
      values = [filter.value]
    }
  }

  filter {
    name   = "architecture"
    values = [var.instance_architecture]
  }
}

locals {
  # The port tokener listens on (TOKENER_LISTEN) and the target group sends to.
  service_port = 8080

  partition = data.aws_partition.current.partition

  # s3://bucket/key -> arn:aws:s3:::bucket/key, for the instance role; null for https:// URLs.
  artifact_s3_arn = startswith(var.artifact_url, "s3://") ? "arn:${local.partition}:s3:::${trimprefix(var.artifact_url, "s3://")}" : null

  secret_arns = compact([var.tokener_secret_arn, var.mongodb_uri_secret_arn])

  log_group_name = "/${var.name}/instances"

  # Non-secret TOKENER_* settings; the instance adds TOKENER_MONGODB_URI,
  # TOKENER_SIGNING_KEY_FILE and TOKENER_BOOTSTRAP_CLIENT_SECRET from Secrets Manager.
  environment = merge(
    {
      TOKENER_LISTEN              = "0.0.0.0:${local.service_port}"
      TOKENER_MONGODB_DATABASE    = var.mongodb_database
      TOKENER_DEFAULT_TTL_SECONDS = tostring(var.default_ttl_seconds)
      TOKENER_MAX_TTL_SECONDS     = tostring(var.max_ttl_seconds)
      TOKENER_LOG                 = var.log_filter
      TOKENER_LOG_FORMAT          = "json"
    },
    var.bootstrap_client_id == "" ? {} : {
      TOKENER_BOOTSTRAP_CLIENT_ID        = var.bootstrap_client_id
      TOKENER_BOOTSTRAP_CLIENT_SCOPES    = var.bootstrap_client_scopes
      TOKENER_BOOTSTRAP_CLIENT_AUDIENCES = var.bootstrap_client_audiences
    },
    var.redis_url == "" ? {} : {
      TOKENER_REDIS_URL = var.redis_url
    },
    var.extra_environment,
  )

  # The inputs of ../cloud-init/user-data.yaml.tftpl (its only placeholders).
  user_data_vars = {
    settings_json = jsonencode({
      tokener_version        = var.tokener_version
      artifact_url           = var.artifact_url
      artifact_sha256        = var.artifact_sha256
      aws_region             = var.aws_region
      secret_arn             = var.tokener_secret_arn
      mongodb_uri_secret_arn = var.mongodb_uri_secret_arn
      cloudwatch_agent       = var.enable_cloudwatch_agent
      cloudwatch_log_group   = local.log_group_name
      environment            = local.environment
    })
    systemd_unit_b64 = base64encode(file("${path.module}/../systemd/tokener.service"))
  }

  user_data = templatefile("${path.module}/../cloud-init/user-data.yaml.tftpl", local.user_data_vars)
}

resource "aws_cloudwatch_log_group" "instances" {
  count             = var.enable_cloudwatch_agent ? 1 : 0
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
}
