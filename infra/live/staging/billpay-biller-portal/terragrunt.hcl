# Rendered by `billpayctl infra generate` from platform.toml. Do not edit: change the manifest.
# staging / billpay-biller-portal: the `frontend` module.

include "root" {
  path = find_in_parent_folders("root.hcl")
}

terraform {
  # `//`: Terragrunt copies all of infra/modules, so a module can call its siblings (../bucket).
  source = "${get_repo_root()}/infra/modules//frontend"
}

dependency "observability" {
  config_path = "../observability"

  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
  mock_outputs = {
    alarm_topic_arn        = "arn:aws:sns:us-east-1:000000000000:mock"
    kms_key_arn            = "arn:aws:kms:us-east-1:000000000000:key/00000000-0000-0000-0000-000000000000"
    log_bucket_domain_name = "mock-logs.s3.amazonaws.com"
    log_bucket_id          = "mock-logs"
  }
}

inputs = {
  api_origin             = "https://api.staging.billpay.example.com"
  bucket_name            = "billpay-biller-portal-staging"
  domain_name            = "billers.staging.billpay.example.com"
  log_bucket_domain_name = dependency.observability.outputs.log_bucket_domain_name
  name                   = "billpay-biller-portal"
  spa_fallback           = true
}
