# --- general -------------------------------------------------------------------------------------

variable "aws_region" {
  description = "AWS region to deploy into, e.g. eu-west-1."
  type        = string
}

variable "name" {
  description = "Name prefix for every resource (load balancer, group, role, ...)."
  type        = string
  default     = "tokener"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,20}$", var.name))
    error_message = "name must be lowercase letters, digits and dashes, at most 21 characters (ALB and target group names are limited to 32)."
  }
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}

# --- network (an existing VPC) ---------------------------------------------------------------------

variable "vpc_id" {
  description = "The VPC to deploy into."
  type        = string
}

variable "public_subnet_ids" {
  description = "Subnets for the load balancer, in at least two availability zones (public subnets for an internet-facing ALB, private ones when alb_internal = true)."
  type        = list(string)

  validation {
    condition     = length(var.public_subnet_ids) >= 2
    error_message = "An Application Load Balancer needs subnets in at least two availability zones."
  }
}

variable "private_subnet_ids" {
  description = "Private subnets for the instances (with a route to AWS APIs: a NAT gateway or VPC endpoints for secretsmanager, ssm, ssmmessages, ec2messages and s3)."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) >= 1
    error_message = "Give at least one private subnet (two or more for availability)."
  }
}

variable "allowed_ingress_cidr_blocks" {
  description = "IPv4 CIDR blocks allowed to reach the load balancer on 443 (and 80, which only redirects to 443)."
  type        = list(string)

  validation {
    condition     = length(var.allowed_ingress_cidr_blocks) > 0 && alltrue([for c in var.allowed_ingress_cidr_blocks : can(cidrhost(c, 0))])
    error_message = "Give at least one valid IPv4 CIDR block."
  }
}

variable "https_egress_cidr_blocks" {
  description = "Where instances may open HTTPS (443) connections: AWS APIs (Secrets Manager, SSM, S3, CloudWatch) and the release download. Narrow it to your VPC endpoints' CIDR when the instances have no NAT route."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

# --- load balancer ---------------------------------------------------------------------------------

variable "alb_internal" {
  description = "Make the load balancer internal (reachable only inside the VPC and peered networks)."
  type        = bool
  default     = false
}

variable "certificate_arn" {
  description = "ARN of the ACM certificate for the HTTPS listener."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN."
  }
}

variable "ssl_policy" {
  description = "TLS policy of the HTTPS listener."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

variable "alb_deletion_protection" {
  description = "Protect the load balancer against deletion (set false before terraform destroy)."
  type        = bool
  default     = true
}

# --- instances -------------------------------------------------------------------------------------

variable "ami_id" {
  description = "AMI for the instances. null = the latest Amazon Linux 2023 AMI for instance_architecture."
  type        = string
  default     = null
}

variable "instance_architecture" {
  description = "CPU architecture of the instances (and of the tokener binary): x86_64 or arm64."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.instance_architecture)
    error_message = "instance_architecture must be x86_64 or arm64."
  }
}

variable "instance_type" {
  description = "EC2 instance type (match instance_architecture: t3.small for x86_64, t4g.small for arm64)."
  type        = string
  default     = "t3.small"
}

variable "root_volume_size_gib" {
  description = "Size of the encrypted root volume in GiB (at least the AMI's snapshot size)."
  type        = number
  default     = 16
}

variable "root_volume_kms_key_id" {
  description = "KMS key ARN for the root volume. null = the account's default EBS key."
  type        = string
  default     = null
}

# --- Auto Scaling group ------------------------------------------------------------------------------

variable "asg_min_size" {
  description = "Fewest instances."
  type        = number
  default     = 2
}

variable "asg_max_size" {
  description = "Most instances (during an instance refresh the group briefly runs up to twice the desired count, within this maximum)."
  type        = number
  default     = 6
}

variable "asg_desired_capacity" {
  description = "Instances to run. null = asg_min_size, and leaves the count to scaling policies."
  type        = number
  default     = 2
}

variable "asg_health_check_type" {
  description = "ELB: replace instances the load balancer finds unhealthy (/readyz); EC2: replace only instances whose EC2 status checks fail."
  type        = string
  default     = "ELB"

  validation {
    condition     = contains(["ELB", "EC2"], var.asg_health_check_type)
    error_message = "asg_health_check_type must be ELB or EC2."
  }
}

variable "health_check_grace_period_seconds" {
  description = "Time a new instance gets to boot, install tokener and become ready before health checks count."
  type        = number
  default     = 180
}

variable "target_cpu_utilization" {
  description = "Average CPU percentage a target-tracking scaling policy keeps the group at. null = no scaling policy."
  type        = number
  default     = null
}

# --- the release -------------------------------------------------------------------------------------

variable "tokener_version" {
  description = "tokener version the artifact holds, e.g. 0.1.0 (checked against `tokener --version` on every instance)."
  type        = string

  validation {
    condition     = can(regex("^v?[0-9]+\\.[0-9]+\\.[0-9]+([-+][0-9A-Za-z.-]+)?$", var.tokener_version))
    error_message = "tokener_version must look like 0.1.0."
  }
}

variable "artifact_url" {
  description = "Where instances download the tokener binary: s3://bucket/key (read with the instance role) or https://... . A .tar.gz/.tgz must contain a file named tokener; anything else is the binary itself."
  type        = string

  validation {
    condition     = can(regex("^(s3://[^/]+/.+|https://.+)$", var.artifact_url))
    error_message = "artifact_url must be s3://bucket/key or an https:// URL."
  }
}

variable "artifact_sha256" {
  description = "SHA-256 of the artifact (lowercase hex); instances refuse to install anything else."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{64}$", var.artifact_sha256))
    error_message = "artifact_sha256 must be 64 lowercase hex digits."
  }
}

# --- secrets -------------------------------------------------------------------------------------------

variable "tokener_secret_arn" {
  description = "Secrets Manager secret (JSON) with signing_keys (the key file), bootstrap_client_secret and, unless mongodb_uri_secret_arn is set, mongodb_uri."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:secretsmanager:", var.tokener_secret_arn))
    error_message = "tokener_secret_arn must be a Secrets Manager secret ARN."
  }
}

variable "mongodb_uri_secret_arn" {
  description = "Optional separate secret holding the MongoDB connection string (plain text, or JSON with mongodb_uri). null = mongodb_uri in tokener_secret_arn."
  type        = string
  default     = null

  validation {
    condition     = var.mongodb_uri_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:", var.mongodb_uri_secret_arn))
    error_message = "mongodb_uri_secret_arn must be a Secrets Manager secret ARN or null."
  }
}

variable "secrets_kms_key_arn" {
  description = "Customer-managed KMS key the secrets are encrypted with. null = the AWS-managed aws/secretsmanager key (no extra permission needed)."
  type        = string
  default     = null
}

# --- MongoDB and Redis ---------------------------------------------------------------------------------

variable "mongodb_database" {
  description = "MongoDB database name (TOKENER_MONGODB_DATABASE)."
  type        = string
  default     = "tokener"
}

variable "mongodb_cidr_blocks" {
  description = "IPv4 CIDR blocks of the MongoDB members (replica set subnets, or the Atlas peering / private endpoint range) the instances may connect to."
  type        = list(string)
  default     = []
}

variable "mongodb_security_group_ids" {
  description = "Security groups of the MongoDB members in this VPC the instances may connect to."
  type        = list(string)
  default     = []
}

variable "mongodb_port_range" {
  description = "MongoDB ports: 27017 for a self-managed replica set; Atlas uses 27015-27017 (peering) or 1024-65535 (private endpoints)."
  type        = object({ from = number, to = number })
  default     = { from = 27017, to = 27017 }
}

variable "redis_security_group_id" {
  description = "Security group of the ElastiCache Redis replication group; null = no Redis egress rule."
  type        = string
  default     = null
}

variable "redis_port" {
  description = "Redis port."
  type        = number
  default     = 6379
}

variable "redis_url" {
  description = "TOKENER_REDIS_URL, e.g. redis://master.tokener-cache.xxxxxx.euw1.cache.amazonaws.com:6379 (write-behind mode). TLS (rediss://) is not supported yet: use a replication group without in-transit encryption inside the VPC, with appendonly/appendfsync always, or leave empty for write-through MongoDB."
  type        = string
  default     = ""

  validation {
    condition     = var.redis_url == "" || can(regex("^rediss?://", var.redis_url))
    error_message = "redis_url must be empty or start with redis:// or rediss://."
  }
}

# --- service settings ------------------------------------------------------------------------------------

variable "bootstrap_client_id" {
  description = "Id of the client created or updated at start (its secret is bootstrap_client_secret in the secret). Empty = none."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{0,64}$", var.bootstrap_client_id))
    error_message = "bootstrap_client_id: at most 64 of A-Z a-z 0-9 - _ . ."
  }
}

variable "bootstrap_client_scopes" {
  description = "Scopes of the bootstrap client, separated by spaces or commas."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^[A-Za-z0-9._:/, -]*$", var.bootstrap_client_scopes))
    error_message = "bootstrap_client_scopes: scopes of A-Z a-z 0-9 - _ . : / separated by spaces or commas."
  }
}

variable "bootstrap_client_audiences" {
  description = "Audiences of the bootstrap client, separated by spaces or commas."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^[A-Za-z0-9._:/, -]*$", var.bootstrap_client_audiences))
    error_message = "bootstrap_client_audiences: audiences of A-Z a-z 0-9 - _ . : / separated by spaces or commas."
  }
}

variable "default_ttl_seconds" {
  description = "Token lifetime when a request names none (TOKENER_DEFAULT_TTL_SECONDS)."
  type        = number
  default     = 86400
}

variable "max_ttl_seconds" {
  description = "Longest token lifetime a request may ask for (TOKENER_MAX_TTL_SECONDS)."
  type        = number
  default     = 86400
}

variable "extra_environment" {
  description = "More TOKENER_* settings for the env file, e.g. { TOKENER_RETENTION_SECONDS = \"2592000\" }. Secrets do not go here."
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([
      for name in keys(var.extra_environment) :
      can(regex("^TOKENER_[A-Z0-9_]+$", name)) && !contains(["TOKENER_MONGODB_URI", "TOKENER_BOOTSTRAP_CLIENT_SECRET", "TOKENER_SIGNING_KEY_FILE"], name)
    ])
    error_message = "extra_environment takes TOKENER_* names only, and not the ones that come from Secrets Manager (TOKENER_MONGODB_URI, TOKENER_BOOTSTRAP_CLIENT_SECRET, TOKENER_SIGNING_KEY_FILE)."
  }
}

variable "log_filter" {
  description = "TOKENER_LOG: a tracing EnvFilter such as info or info,tokener_http=debug."
  type        = string
  default     = "info"
}

# --- CloudWatch ---------------------------------------------------------------------------------------------

variable "enable_cloudwatch_agent" {
  description = "Install the CloudWatch agent (Amazon Linux 2023): memory/disk metrics and tokener's log in a log group."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Retention of the CloudWatch log group (with enable_cloudwatch_agent)."
  type        = number
  default     = 30
}
