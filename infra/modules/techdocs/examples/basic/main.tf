module "techdocs" {
  source = "../.."

  bucket_name = "billpay-techdocs"
}
