terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.30+ for instance_refresh max_healthy_percentage (launch before terminate).
      version = "~> 5.30"
    }
  }
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = merge({ Application = "tokener", ManagedBy = "terraform" }, var.tags)
  }
}
