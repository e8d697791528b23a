module "secrets" {
  source = "../.."

  name         = "billpay-dev"
  secret_names = ["api"]
}
