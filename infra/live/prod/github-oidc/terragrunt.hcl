# Rendered by `billpayctl infra generate` from platform.toml. Do not edit: change the manifest.
# prod / github-oidc: the `github-oidc` module.

include "root" {
  path = find_in_parent_folders("root.hcl")
}

terraform {
  # `//`: Terragrunt copies all of infra/modules, so a module can call its siblings (../bucket).
  source = "${get_repo_root()}/infra/modules//github-oidc"
}

inputs = {
  cluster_name      = "billpay-cluster"
  ecr_repositories  = [
    "billpay-backend",
    "billpay-frontend-a",
    "billpay-frontend-b",
    "billpay-feature-flags",
  ]
  environment       = "prod"
  frontend_buckets  = [
    "billpay-frontend-a-prod",
    "billpay-frontend-b-prod",
    "billpay-feature-flags-prod",
    "billpay-biller-portal-prod",
    "billpay-techdocs-prod",
  ]
  github_repository = "billpay/billpay"
  name              = "billpay-prod"
  state_bucket      = "billpay-prod-tofu-state"
}
