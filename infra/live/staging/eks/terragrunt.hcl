# Rendered by `billpayctl infra generate` from platform.toml. Do not edit: change the manifest.
# staging / eks: the `eks` module.

include "root" {
  path = find_in_parent_folders("root.hcl")
}

terraform {
  # `//`: Terragrunt copies all of infra/modules, so a module can call its siblings (../bucket).
  source = "${get_repo_root()}/infra/modules//eks"
}

dependency "network" {
  config_path = "../network"

  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
  mock_outputs = {
    private_subnet_ids = [
      "subnet-00000000000000001",
      "subnet-00000000000000002",
    ]
    public_subnet_ids  = [
      "subnet-00000000000000003",
      "subnet-00000000000000004",
    ]
    vpc_cidr_block     = "10.1.0.0/16"
    vpc_id             = "vpc-00000000000000000"
  }
}

dependency "github_oidc" {
  config_path = "../github-oidc"

  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
  mock_outputs = {
    apply_role_arn   = "arn:aws:iam::000000000000:role/billpay-staging-github-apply"
    apply_role_name  = "billpay-staging-github-apply"
    deploy_role_arn  = "arn:aws:iam::000000000000:role/billpay-staging-github-deploy"
    deploy_role_name = "billpay-staging-github-deploy"
    plan_role_arn    = "arn:aws:iam::000000000000:role/billpay-staging-github-plan"
    plan_role_name   = "billpay-staging-github-plan"
  }
}

inputs = {
  ci_apply_role_name = dependency.github_oidc.outputs.apply_role_name
  ci_plan_role_name  = dependency.github_oidc.outputs.plan_role_name
  ci_role_name       = dependency.github_oidc.outputs.deploy_role_name
  cluster_name       = "billpay-cluster"
  desired_size       = 2
  disk_size_gb       = 20
  instance_types     = [
    "t3.medium",
  ]
  max_size           = 4
  min_size           = 2
  subnet_ids         = dependency.network.outputs.private_subnet_ids
  vpc_id             = dependency.network.outputs.vpc_id
}
