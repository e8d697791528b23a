# Rendered by `billpayctl infra generate` from platform.toml. Do not edit: change the manifest.
# staging / github-oidc: the `github-oidc` module.

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
  environment       = "staging"
  frontend_buckets  = [
    "billpay-frontend-a-staging",
    "billpay-frontend-b-staging",
    "billpay-feature-flags-staging",
    "billpay-biller-portal-staging",
    "billpay-techdocs-staging",
  ]
  github_repository = "billpay/billpay"
  name              = "billpay-staging"
  state_bucket      = "billpay-staging-tofu-state"
}
