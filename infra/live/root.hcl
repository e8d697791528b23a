# Rendered by `billpayctl infra generate` from platform.toml. Do not edit: change the manifest.
#
# Shared by every unit: state in S3 (native S3 locking), and the AWS provider with default tags.

locals {
  env = read_terragrunt_config(find_in_parent_folders("env.hcl")).locals
}

remote_state {
  backend = "s3"
  config = {
    bucket       = "billpay-${local.env.environment}-tofu-state"
    key          = "${path_relative_to_include()}/tofu.tfstate"
    region       = local.env.region
    encrypt      = true
    use_lockfile = true
  }
  generate = {
    path      = "backend.tf"
    if_exists = "overwrite_terragrunt"
  }
}

generate "provider" {
  path      = "provider.tf"
  if_exists = "overwrite_terragrunt"
  contents  = <<-EOF
    provider "aws" {
      region              = "${local.env.region}"
      allowed_account_ids = ["${local.env.account_id}"]
      default_tags {
        tags = {
          Project     = "billpay"
          Environment = "${local.env.environment}"
          ManagedBy   = "opentofu"
        }
      }
    }
  EOF
}

inputs = {
  environment = local.env.environment
}
