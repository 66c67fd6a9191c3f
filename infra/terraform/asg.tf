# The launch template and the Auto Scaling group. Any change to the launch template (a new
# tokener_version, artifact, setting or unit) makes a new template version, and the group
# replaces its instances with a rolling instance refresh: new instances first, old ones only
# once the new ones pass the load balancer's health check.

resource "aws_launch_template" "tokener" {
  name_prefix            = "${var.name}-"
  description            = "tokener ${var.tokener_version}"
  image_id               = data.aws_ami.tokener.id
  instance_type          = var.instance_type
  update_default_version = true
  # gzip keeps the user data well below EC2's 16 KiB limit; cloud-init unpacks it.
  user_data              = base64gzip(local.user_data)
  vpc_security_group_ids = [aws_security_group.instance.id]

  iam_instance_profile {
    arn = aws_iam_instance_profile.tokener.arn
  }

  # IMDSv2 only, and not reachable from containers (hop limit 1).
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "disabled"
  }

  block_device_mappings {
    device_name = data.aws_ami.tokener.root_device_name

    ebs {
      volume_size           = var.root_volume_size_gib
      volume_type           = "gp3"
      encrypted             = true
      kms_key_id            = var.root_volume_kms_key_id
      delete_on_termination = true
    }
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge({ Name = var.name, Application = "tokener", TokenerVersion = var.tokener_version }, var.tags)
  }

  tag_specifications {
    resource_type = "volume"
    tags          = merge({ Name = var.name, Application = "tokener" }, var.tags)
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_autoscaling_group" "tokener" {
  name                      = var.name
  vpc_zone_identifier       = var.private_subnet_ids
  min_size                  = var.asg_min_size
  max_size                  = var.asg_max_size
  desired_capacity          = var.asg_desired_capacity
  health_check_type         = var.asg_health_check_type
  health_check_grace_period = var.health_check_grace_period_seconds
  default_instance_warmup   = 60
  target_group_arns         = [aws_lb_target_group.tokener.arn]
  wait_for_capacity_timeout = "15m"
  termination_policies      = ["OldestLaunchTemplate", "Default"]
  enabled_metrics = [
    "GroupDesiredCapacity",
    "GroupInServiceInstances",
    "GroupPendingInstances",
    "GroupTerminatingInstances",
    "GroupTotalInstances",
  ]

  launch_template {
    id      = aws_launch_template.tokener.id
    version = aws_launch_template.tokener.latest_version
  }

  instance_refresh {
    strategy = "Rolling"

    preferences {
      # Launch the replacements before terminating anything: capacity never drops.
      min_healthy_percentage = 100
      max_healthy_percentage = 200
      instance_warmup        = 60
      skip_matching          = true
      auto_rollback          = true
    }
  }

  tag {
    key                 = "Name"
    value               = var.name
    propagate_at_launch = true
  }

  timeouts {
    delete = "15m"
  }
}

# Optional target tracking on average CPU.
resource "aws_autoscaling_policy" "cpu" {
  count                  = var.target_cpu_utilization == null ? 0 : 1
  name                   = "${var.name}-cpu"
  autoscaling_group_name = aws_autoscaling_group.tokener.name
  policy_type            = "TargetTrackingScaling"

  target_tracking_configuration {
    target_value = var.target_cpu_utilization

    predefined_metric_specification {
      predefined_metric_type = "ASGAverageCPUUtilization"
    }
  }
}
