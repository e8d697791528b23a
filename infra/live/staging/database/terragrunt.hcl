# Rendered by `billpayctl infra generate` from platform.toml. Do not edit: change the manifest.
# staging / database: the `database` module.

include "root" {
  path = find_in_parent_folders("root.hcl")
}

terraform {
  # `//`: Terragrunt copies all of infra/modules, so a module can call its siblings (../bucket).
  source = "${get_repo_root()}/infra/modules//database"
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
  alarm_topic_arn       = dependency.observability.outputs.alarm_topic_arn
  allocated_storage_gb  = 50
  allowed_cidr          = dependency.network.outputs.vpc_cidr_block
  backup_retention_days = 7
  deletion_protection   = false
  instance_class        = "db.t4g.small"
  multi_az              = false
  name                  = "billpay-staging"
  subnet_ids            = dependency.network.outputs.private_subnet_ids
  vpc_id                = dependency.network.outputs.vpc_id
}
