# Rendered by `billpayctl infra generate` from platform.toml. Do not edit: change the manifest.
# staging / identity: the `identity` module.

include "root" {
  path = find_in_parent_folders("root.hcl")
}

terraform {
  # `//`: Terragrunt copies all of infra/modules, so a module can call its siblings (../bucket).
  source = "${get_repo_root()}/infra/modules//identity"
}

dependency "secrets" {
  config_path = "../secrets"

  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
  mock_outputs = {
    kms_key_arn = "arn:aws:kms:us-east-1:000000000000:key/00000000-0000-0000-0000-000000000000"
  }
}

inputs = {
  callback_url        = "https://api.staging.billpay.example.com/v1/auth/oidc/callback"
  deletion_protection = false
  kms_key_arn         = dependency.secrets.outputs.kms_key_arn
  mail_domain         = "staging.billpay.example.com"
  name                = "billpay-staging"
  oidc_secret_name    = "billpay/billpay-backend/oidc"
}
