module "frontend" {
  source = "../.."

  name                   = "billpay-frontend-a"
  bucket_name            = "billpay-frontend-a-dev"
  log_bucket_domain_name = "billpay-dev-logs.s3.amazonaws.com"
}
