module "state" {
  source = "../.."

  bucket_name = "billpay-dev-tofu-state"
}
