# Rendered by `billpayctl infra generate` from platform.toml. Do not edit: change the manifest.
# prod / bootstrap: the `state` module.
#
# Bootstraps the state bucket the other units keep their state in. Its own state is local: apply
# it once with `terragrunt apply` in this folder, before `terragrunt run --all`, which skips it.

exclude {
  if      = true
  actions = ["all"]
}

locals {
  env = read_terragrunt_config(find_in_parent_folders("env.hcl")).locals
}

generate "provider" {
  path      = "provider.tf"
  if_exists = "overwrite_terragrunt"
  contents  = <<-EOF
    provider "aws" {
      region              = "${local.env.region}"
      allowed_account_ids = ["${local.env.account_id}"]
    }
  EOF
}

terraform {
  source = "${get_repo_root()}/infra/modules/state"
}

inputs = {
  bucket_name = "billpay-prod-tofu-state"
}
