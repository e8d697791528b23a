# Rendered by `billpayctl infra generate` from platform.toml. Do not edit: change the manifest.
# dev / network: the `network` module.

include "root" {
  path = find_in_parent_folders("root.hcl")
}

terraform {
  # `//`: Terragrunt copies all of infra/modules, so a module can call its siblings (../bucket).
  source = "${get_repo_root()}/infra/modules//network"
}

inputs = {
  azs                     = [
    "us-east-1a",
    "us-east-1b",
  ]
  cluster_name            = "billpay-cluster"
  flow_log_retention_days = 30
  name                    = "billpay-dev"
  private_subnets         = [
    "10.0.0.0/20",
    "10.0.16.0/20",
  ]
  public_subnets          = [
    "10.0.240.0/24",
    "10.0.241.0/24",
  ]
  single_nat_gateway      = true
  vpc_cidr                = "10.0.0.0/16"
}
