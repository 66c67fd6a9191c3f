# The instance role: read the tokener secret(s) (and the release, when it is on S3), and be
# reachable through SSM Session Manager instead of SSH. Nothing else.

data "aws_iam_policy_document" "assume_ec2" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "tokener" {
  name_prefix        = "${var.name}-instance-"
  description        = "tokener instances"
  assume_role_policy = data.aws_iam_policy_document.assume_ec2.json
}

data "aws_iam_policy_document" "tokener" {
  statement {
    sid       = "ReadTokenerSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = local.secret_arns
  }

  dynamic "statement" {
    for_each = var.secrets_kms_key_arn == null ? [] : [var.secrets_kms_key_arn]
    content {
      sid       = "DecryptTokenerSecrets"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${var.aws_region}.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = local.artifact_s3_arn == null ? [] : [local.artifact_s3_arn]
    content {
      sid       = "ReadTokenerRelease"
      actions   = ["s3:GetObject"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "tokener" {
  name   = "tokener"
  role   = aws_iam_role.tokener.id
  policy = data.aws_iam_policy_document.tokener.json
}

resource "aws_iam_role_policy_attachment" "ssm" {
  role       = aws_iam_role.tokener.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_role_policy_attachment" "cloudwatch_agent" {
  count      = var.enable_cloudwatch_agent ? 1 : 0
  role       = aws_iam_role.tokener.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/CloudWatchAgentServerPolicy"
}

resource "aws_iam_instance_profile" "tokener" {
  name_prefix = "${var.name}-"
  role        = aws_iam_role.tokener.name
}
