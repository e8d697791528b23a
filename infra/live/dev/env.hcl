# Rendered by `billpayctl infra generate` from platform.toml. Do not edit: change the manifest.

locals {
  environment = "dev"
  account_id  = "111111111111"
  region      = "us-east-1"
}
