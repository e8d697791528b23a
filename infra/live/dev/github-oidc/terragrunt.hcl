# Rendered by `billpayctl infra generate` from platform.toml. Do not edit: change the manifest.
# dev / github-oidc: the `github-oidc` module.

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
  environment       = "dev"
  frontend_buckets  = [
    "billpay-frontend-a",
    "billpay-frontend-b",
    "billpay-feature-flags",
    "billpay-biller-portal",
    "billpay-techdocs",
  ]
  github_repository = "billpay/billpay"
  name              = "billpay-dev"
  state_bucket      = "billpay-dev-tofu-state"
}
