module "identity" {
  source = "../.."

  name         = "billpay-prod"
  mail_domain  = "billpay.example.com"
  callback_url = "https://api.billpay.example.com/v1/auth/oidc/callback"

  oidc_secret_name = "billpay/billpay-backend/oidc"
  kms_key_arn      = "arn:aws:kms:us-east-1:333333333333:key/00000000-0000-0000-0000-000000000000"
}
