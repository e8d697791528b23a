# Rendered by `billpayctl infra generate` from platform.toml. Do not edit: change the manifest.
# staging / bootstrap: the `state` module.
#
# Bootstraps the bucket the live tree keeps its state in, with local state of its own. Apply it
# once, before anything in infra/live/staging: `terragrunt apply` in this folder.

generate "provider" {
  path      = "provider.tf"
  if_exists = "overwrite_terragrunt"
  contents  = <<-EOF
    provider "aws" {
      region              = "us-east-1"
      allowed_account_ids = ["222222222222"]
    }
  EOF
}

terraform {
  # `//`: Terragrunt copies all of infra/modules, so a module can call its siblings (../bucket).
  source = "${get_repo_root()}/infra/modules//state"
}

inputs = {
  bucket_name = "billpay-staging-tofu-state"
}
