# Rendered by `billpayctl infra generate` from platform.toml. Do not edit: change the manifest.
# staging / identity: the `identity` module.

include "root" {
  path = find_in_parent_folders("root.hcl")
}

terraform {
  # `//`: Terragrunt copies all of infra/modules, so a module can call its siblings (../bucket).
  source = "${get_repo_root()}/infra/modules//identity"
}

inputs = {
  callback_url        = "https://api.staging.billpay.example.com/v1/auth/oidc/callback"
  deletion_protection = false
  mail_domain         = "staging.billpay.example.com"
  name                = "billpay-staging"
}
