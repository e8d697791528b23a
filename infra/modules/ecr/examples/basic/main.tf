module "ecr" {
  source = "../.."

  repositories = ["billpay-backend", "billpay-frontend-a", "billpay-frontend-b", "billpay-feature-flags"]
}
