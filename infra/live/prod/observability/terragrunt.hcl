# Rendered by `billpayctl infra generate` from platform.toml. Do not edit: change the manifest.
# prod / observability: the `observability` module.

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
  monthly_budget_usd = 1200
  name               = "billpay-prod"
  services           = [
    "billpay-backend",
  ]
}
