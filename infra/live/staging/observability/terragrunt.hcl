# Rendered by `billpayctl infra generate` from platform.toml. Do not edit: change the manifest.
# staging / observability: the `observability` module.

include "root" {
  path = find_in_parent_folders("root.hcl")
}

terraform {
  # `//`: Terragrunt copies all of infra/modules, so a module can call its siblings (../bucket).
  source = "${get_repo_root()}/infra/modules//observability"
}

inputs = {
  alert_email        = "platform@billpay.example.com"
  cluster_name       = "billpay-cluster"
  log_retention_days = 30
  monthly_budget_usd = 400
  name               = "billpay-staging"
  services           = [
    "billpay-backend",
  ]
}
