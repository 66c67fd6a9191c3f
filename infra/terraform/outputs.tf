output "alb_dns_name" {
  description = "DNS name of the load balancer: point your service's DNS record (CNAME or alias) here."
  value       = aws_lb.tokener.dns_name
}

output "alb_zone_id" {
  description = "Hosted zone id of the load balancer, for a Route 53 alias record."
  value       = aws_lb.tokener.zone_id
}

output "target_group_arn" {
  description = "The target group of the instances."
  value       = aws_lb_target_group.tokener.arn
}

output "autoscaling_group_name" {
  description = "The Auto Scaling group (for aws autoscaling start-instance-refresh and friends)."
  value       = aws_autoscaling_group.tokener.name
}

output "instance_security_group_id" {
  description = "Security group of the instances: allow it in the MongoDB and Redis security groups (or Atlas access list)."
  value       = aws_security_group.instance.id
}

output "instance_role_arn" {
  description = "The instance role (for a KMS key policy or a bucket policy)."
  value       = aws_iam_role.tokener.arn
}

output "launch_template_id" {
  description = "The launch template."
  value       = aws_launch_template.tokener.id
}

output "ami_id" {
  description = "The AMI the instances run."
  value       = data.aws_ami.tokener.id
}
