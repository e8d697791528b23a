# Rendered by `billpayctl infra generate` from platform.toml. Do not edit: change the manifest.

locals {
  environment = "prod"
  account_id  = "333333333333"
  region      = "us-east-1"
}
