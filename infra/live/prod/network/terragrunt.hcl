# Rendered by `billpayctl infra generate` from platform.toml. Do not edit: change the manifest.
# prod / network: the `network` module.

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
    "us-east-1c",
  ]
  cluster_name            = "billpay-cluster"
  flow_log_retention_days = 30
  name                    = "billpay-prod"
  private_subnets         = [
    "10.2.0.0/20",
    "10.2.16.0/20",
    "10.2.32.0/20",
  ]
  public_subnets          = [
    "10.2.240.0/24",
    "10.2.241.0/24",
    "10.2.242.0/24",
  ]
  single_nat_gateway      = false
  vpc_cidr                = "10.2.0.0/16"
}
