# Rendered by `billpayctl infra generate` from platform.toml. Do not edit: change the manifest.

locals {
  environment = "staging"
  account_id  = "222222222222"
  region      = "us-east-1"
}
