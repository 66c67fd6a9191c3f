# The Application Load Balancer: HTTPS with the ACM certificate, HTTP redirected to HTTPS, one
# target group of tokener instances on 8080 checked on /readyz.

resource "aws_lb" "tokener" {
  name                       = "${var.name}-alb"
  load_balancer_type         = "application"
  internal                   = var.alb_internal
  subnets                    = var.public_subnet_ids
  security_groups            = [aws_security_group.alb.id]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.alb_deletion_protection
  idle_timeout               = 60
}

resource "aws_lb_target_group" "tokener" {
  name        = "${var.name}-tg"
  port        = local.service_port
  protocol    = "HTTP"
  vpc_id      = var.vpc_id
  target_type = "instance"

  # On scale-in and instance refresh the load balancer stops sending new requests and waits
  # this long for in-flight ones; then the instance stops and tokener drains for up to 30 s.
  deregistration_delay = 30

  # /readyz answers 200 only while MongoDB answers (503 otherwise). When every target is
  # unhealthy the load balancer fails open and sends traffic to all of them.
  health_check {
    enabled             = true
    path                = "/readyz"
    port                = tostring(local.service_port)
    protocol            = "HTTP"
    matcher             = "200"
    interval            = 10
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.tokener.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.tokener.arn
  }
}

resource "aws_lb_listener" "http_redirect" {
  load_balancer_arn = aws_lb.tokener.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"

    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }
}
