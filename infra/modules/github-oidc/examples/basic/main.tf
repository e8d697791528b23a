module "github_oidc" {
  source = "../.."

  name              = "billpay-dev"
  github_repository = "billpay/billpay"
  ecr_repositories  = ["billpay-backend"]
  frontend_buckets  = ["billpay-frontend-a-dev"]
  cluster_name      = "billpay-cluster"
  environment       = "dev"
  state_bucket      = "billpay-dev-tofu-state"
}
