module "observability" {
  source = "../.."

  name               = "billpay-dev"
  cluster_name       = "billpay-cluster"
  services           = ["billpay-backend"]
  monthly_budget_usd = 265
}
