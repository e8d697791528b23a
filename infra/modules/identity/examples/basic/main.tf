module "identity" {
  source = "../.."

  name         = "billpay-prod"
  mail_domain  = "billpay.example.com"
  callback_url = "https://api.billpay.example.com/v1/auth/oidc/callback"
}
